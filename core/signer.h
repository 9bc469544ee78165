#pragma once

#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/address.h"
#include "core/bytes.h"
#include "core/eip712.h"
#include "core/result.h"
#include "core/secp256k1.h"
#include "core/secret_buffer.h"
#include "core/transaction.h"

namespace keybridge::core {

// The signer contract, version 2: one interface for the software keystore and every hardware
// wallet. The daemon routes each request to the signer that holds the account, and one
// conformance suite (tests/drivers/signer_conformance_test.cpp) runs against every
// implementation.
//
// Argument order, as in libsecp256k1: the context comes first, then the key, then the inputs in
// the order a person reads them. Results are returned, never written through out-parameters.
// Signatures travel as RecoverableSignature from the signer to the RPC edge, which alone turns
// them into hex (r || s || v).

enum class SignerFamily { Software, Ledger, Trezor };

std::string_view to_string(SignerFamily family);  // "software", "ledger", "trezor"

// A key as a signer is asked for it: the address, and for keys derived from a seed (the vault's
// phrase, or a device) the BIP32 path. Devices sign by path; the address is what the account
// is known by and what the signer checks the path against.
struct KeyRef {
    Address address;
    std::string path;  // "m/44'/60'/0'/0/0"; empty for an imported key

    friend bool operator==(const KeyRef&, const KeyRef&) = default;
};

// What the daemon may know about a signer without asking it to sign.
struct SignerInfo {
    SignerFamily family = SignerFamily::Software;
    std::string model;     // "software keystore", "Nano S Plus", "Trezor One"
    std::string firmware;  // the device's firmware / app version; empty for software
    // Calls may wait for a person or a device: the daemon gives such a signer a thread of its
    // own. A non-blocking signer is called inline on the requesting thread.
    bool blocking = false;
};

// How a signer reaches the person, implemented by the daemon (it shows up in the approver as a
// stage of the request). Calls come from the signer's thread; the ones returning a Result block
// until the person answers, cancels (UserCancelled), the time runs out (Timeout) or the
// request's stop token fires (Disconnected).
class Prompter {
  public:
    virtual ~Prompter() = default;
    // The device shows the request and waits for its buttons; `what` says what to check there.
    virtual void on_device(std::string_view what) = 0;
    // The device is done (whatever was pressed).
    virtual void device_done() = 0;
    // Trezor One's scrambled PIN matrix: the positions (digits 1–9) the person chose.
    [[nodiscard]] virtual Result<SecretBuffer> pin_matrix(std::string_view prompt) = 0;
    [[nodiscard]] virtual Result<SecretBuffer> passphrase(std::string_view prompt) = 0;
};

// Passed to every call. `stop` fires when the client left, the request timed out or the daemon
// is stopping: a signer waiting on a device gives up with Disconnected (or Timeout) promptly.
struct SignContext {
    std::stop_token stop;
    Prompter& prompter;
};

// Errors every implementation uses the same way:
//   NotFound        the signer does not hold this key
//   VaultLocked     the software keystore is locked (or the key needs 'keybridge unlock')
//   DeviceNotFound  the device holding the key is not connected
//   NotSupported    a capability this family lacks (e.g. eth_sign on a device that refuses
//                   opaque hashes)
//   UserCancelled   rejected on the device or at a prompt
//   Disconnected, Timeout, DeviceBusy, PinRequired, ProtocolError (garbage from a device)
// Never a fake success. Implementations are thread-compatible: the daemon makes one call at a
// time per blocking signer (its lane); a non-blocking signer must be thread-safe.
class Signer {
  public:
    virtual ~Signer() = default;

    // Opaque and stable for the life of the process: "software", "ledger:<serial>".
    virtual std::string id() const = 0;
    virtual SignerInfo info() const = 0;
    // The keys the signer can be asked to sign with (a device: those the vault recorded for it).
    virtual std::vector<KeyRef> keys() const = 0;
    // Whether key can sign now (unlocked? device present and in the right app?); otherwise the
    // reason, with the error codes above. Cheap: no device round trip.
    [[nodiscard]] virtual Status ready(const KeyRef& key) const = 0;

    // The address of the key at path ("what is the address at this path?").
    [[nodiscard]] virtual Result<Address> address_at(const SignContext& context,
                                                     std::string_view path) = 0;

    // EIP-191 version 0x45 (personal_sign).
    [[nodiscard]] virtual Result<RecoverableSignature> sign_personal_message(
        const SignContext& context, const KeyRef& key, ByteView message) = 0;
    // personal_sign when the caller has already computed `digest`, the message's EIP-191 hash
    // (the daemon hashes it once, for the approval and the audit log): a signer that signs the
    // hash itself signs `digest` rather than hashing the message again; a device, which shows
    // the message and hashes it on board, gets the message. Default: sign_personal_message.
    [[nodiscard]] virtual Result<RecoverableSignature> sign_personal_message_hashed(
        const SignContext& context, const KeyRef& key, ByteView message, const Hash32& /*digest*/) {
        return sign_personal_message(context, key, message);
    }
    // EIP-712 (v3 or v4 semantics). `typed` is the parsed document with its hashes, computed
    // once by the daemon: sign typed.digest(), send typed.domain_separator() and
    // typed.message_hash() to a device that signs from those, or walk typed.typed() on a device
    // that shows the structure. Do not hash the document again.
    [[nodiscard]] virtual Result<RecoverableSignature> sign_typed_data(
        const SignContext& context, const KeyRef& key, const eip712::HashedTypedData& typed) = 0;
    // Legacy eth_signTypedData (v1 array form).
    [[nodiscard]] virtual Result<RecoverableSignature> sign_typed_data_v1(
        const SignContext& context, const KeyRef& key, const boost::json::value& typed) = 0;
    // A raw 32-byte digest (eth_sign). Dangerous: the daemon has already warned the person.
    [[nodiscard]] virtual Result<RecoverableSignature> sign_digest(const SignContext& context,
                                                                   const KeyRef& key,
                                                                   const Hash32& digest) = 0;
    [[nodiscard]] virtual Result<SignedTransaction> sign_transaction(const SignContext& context,
                                                                     const KeyRef& key,
                                                                     const Transaction& tx) = 0;
};

}  // namespace keybridge::core
