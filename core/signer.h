#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/bytes.h"
#include "core/eip712.h"
#include "core/result.h"
#include "core/transaction.h"

namespace keybridge::core {

// What the daemon knows about a signer without touching it.
enum class SignerKind { Software, Ledger, Trezor };

using Signature65 = std::array<std::uint8_t, 65>;  // r || s || v, v = 27 + recovery id

// One signer: the software keystore, or one hardware wallet. The daemon routes each request to
// the signer that holds the account and cannot tell the families apart; one conformance suite
// runs against every implementation.
//
// Calls may block (a hardware wallet waits for its button); the daemon runs them on the
// signer's own queue, never on a network thread. Errors: NotFound (the signer does not hold the
// account), NotSupported (a capability this family lacks, e.g. eth_sign on a device that
// refuses opaque hashes), UserCancelled (rejected on the device), Disconnected, Timeout,
// DeviceBusy, PinRequired; never a fake success. Implementations are thread-compatible: the
// queue makes one call at a time.
class Signer {
  public:
    virtual ~Signer() = default;

    // Opaque and stable for the life of the process ("software", "ledger:3f2a…").
    virtual std::string id() const = 0;
    virtual SignerKind kind() const = 0;
    virtual std::vector<Address> accounts() const = 0;

    // EIP-191 version 0x45 (personal_sign).
    [[nodiscard]] virtual Result<Signature65> sign_personal_message(const Address& account,
                                                                    ByteView message) = 0;
    // EIP-712 (v3 or v4 semantics). `typed` is the parsed document with its version and its
    // hashes, computed once by the caller (eip712::hash_typed_data): sign typed.digest(), send
    // typed.domain_separator() and typed.message_hash() to a device that signs from those, or
    // walk typed.typed() on a device that shows the structure. Do not hash the document again.
    [[nodiscard]] virtual Result<Signature65> sign_typed_data(
        const Address& account, const eip712::HashedTypedData& typed) = 0;
    // Legacy eth_signTypedData (v1 array form).
    [[nodiscard]] virtual Result<Signature65> sign_typed_data_v1(
        const Address& account, const boost::json::value& typed) = 0;
    // A raw 32-byte digest (eth_sign). Dangerous: the caller has already warned the user.
    [[nodiscard]] virtual Result<Signature65> sign_digest(const Address& account,
                                                          const Hash32& digest) = 0;
    [[nodiscard]] virtual Result<SignedTransaction> sign_transaction(const Address& account,
                                                                     const Transaction& tx) = 0;
};

}  // namespace keybridge::core
