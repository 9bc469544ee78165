#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/signer.h"
#include "drivers/ledger/apdu_channel.h"
#include "drivers/ledger/eth_app.h"
#include "drivers/ledger/models.h"

namespace keybridge::drivers::ledger {

// What a Ledger is doing, as far as keybridge can tell without a person.
struct LedgerState {
    enum class State {
        Unknown,       // not probed yet
        Ready,         // the Ethereum app is open
        Locked,        // PIN needed
        Dashboard,     // no app open
        WrongApp,      // another app is open
        Unresponsive,  // no answer in time (often: a prompt is waiting on the screen)
        Disconnected,  // unplugged / the emulator went away (final for this signer)
    };
    State state = State::Unknown;
    std::string app_name;               // "Ethereum", "BOLOS" (the dashboard), "Bitcoin", ...
    std::string app_version;            // "1.10.3"
    std::optional<bool> blind_signing;  // the Ethereum app's setting, when it is open
    std::string detail;  // plain words: what is wrong and what to do, or notes when Ready
};

std::string_view to_string(LedgerState::State state);  // "ready", "locked", ...

// What LedgerSigner::probe() reports, for a channel that has no signer yet: the app's name and
// version (B0 01), then the Ethereum app's settings (E0 06); a device that does not answer is
// Unresponsive, one that went away Disconnected. Never fails: the state says what happened.
LedgerState probe_ledger(ApduChannel& channel, std::stop_token stop = {},
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// "ledger:" and the first 8 hex digits (lower case) of the address the device derives at
// m/44'/60'/0'/0/0: the same seed gives the same identity on any device and transport, and it
// reveals nothing a dApp could not learn anyway once an account is shared. Errors as the
// channel's and eth::status_error (a locked device, the app not open).
[[nodiscard]] core::Result<std::string> ledger_identity(
    ApduChannel& channel, std::stop_token stop = {},
    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// A Ledger running the Ethereum app, behind the signer contract. Each call is a few APDU
// exchanges on the channel; the ones that wait for the person's buttons use the long timeout and
// give up when the request's stop token fires.
//
// Before every signature the signer asks the device for the address at the key's path and
// refuses (DeviceNotFound, naming the account) unless it is the key's address: a device with
// another seed or passphrase never signs for an account it does not hold. Every signature is
// then checked by recovery against that address (ProtocolError otherwise), so a wrong v, a chain
// id the app mangled, or a reply that lies never reaches the caller.
//
// EIP-712: full mode (the device shows the fields) on app 1.9.19 and later, hashed mode (domain
// and message hashes) on older apps, when the app answers 0x6D00 to the first struct definition
// (Nano S), or for documents full mode cannot carry (see eth::eip712_full_apdus). eth_sign and
// legacy eth_signTypedData (v1) are NotSupported: the app signs neither.
//
// Thread-safety: one signing call at a time (the daemon's lane); keys(), ready(), info(),
// set_keys(), state() and probe() may be called from any thread. probe() does not wait for a
// call in progress: it then returns the last known state.
class LedgerSigner final : public core::Signer {
  public:
    struct Options {
        // Exchanges that need no person (get address, configuration, data chunks).
        std::chrono::milliseconds command_timeout{5000};
        // Exchanges that wait for the buttons (the last chunk of a request).
        std::chrono::milliseconds user_timeout{std::chrono::minutes(10)};
        // Before an ERC-20 transfer/approve/transferFrom of a token Ledger publishes a signed
        // descriptor for (erc20_descriptors.h), hand it to the app so that the device shows
        // token and amount. An app that refuses it (another signing key) is signed on without.
        bool provide_token_descriptors = true;
    };

    LedgerSigner(std::unique_ptr<ApduChannel> channel, std::string identity, Model model);
    LedgerSigner(std::unique_ptr<ApduChannel> channel, std::string identity, Model model,
                 Options options);

    // The vault's records for this device: the keys keys() lists and it signs with.
    void set_keys(std::vector<core::KeyRef> keys);
    // Reads app name, version and settings from the device and updates the state ready() and
    // info() report.
    LedgerState probe(std::stop_token stop = {});
    LedgerState state() const;
    Model model() const { return model_; }
    // Where the device is ("hid:/dev/hidraw3", "speculos:127.0.0.1:9999"): logs only.
    std::string describe() const;

    std::string id() const override { return identity_; }
    core::SignerInfo info() const override;
    std::vector<core::KeyRef> keys() const override;
    // NotFound for a key the vault did not record for this device; DeviceNotFound when the
    // device went away, is locked or is not in the Ethereum app (as last seen), with what to do.
    [[nodiscard]] core::Status ready(const core::KeyRef& key) const override;

    [[nodiscard]] core::Result<core::Address> address_at(const core::SignContext& context,
                                                         std::string_view path) override;
    // Shows the address on the device and waits for the person to confirm it.
    [[nodiscard]] core::Result<core::Address> confirm_address(const core::SignContext& context,
                                                              std::string_view path);
    [[nodiscard]] core::Result<core::RecoverableSignature> sign_personal_message(
        const core::SignContext& context, const core::KeyRef& key, core::ByteView message) override;
    [[nodiscard]] core::Result<core::RecoverableSignature> sign_typed_data(
        const core::SignContext& context, const core::KeyRef& key,
        const core::eip712::HashedTypedData& typed) override;
    [[nodiscard]] core::Result<core::RecoverableSignature> sign_typed_data_v1(
        const core::SignContext& context, const core::KeyRef& key,
        const boost::json::value& typed) override;
    [[nodiscard]] core::Result<core::RecoverableSignature> sign_digest(
        const core::SignContext& context, const core::KeyRef& key,
        const core::Hash32& digest) override;
    [[nodiscard]] core::Result<core::SignedTransaction> sign_transaction(
        const core::SignContext& context, const core::KeyRef& key,
        const core::Transaction& tx) override;

  private:
    enum class Wait { Command, User };
    [[nodiscard]] core::Result<core::Bytes> call(const core::Bytes& apdu, Wait wait,
                                                 const std::stop_token& stop, eth::Request request);
    [[nodiscard]] core::Result<ApduReply> exchange(const core::Bytes& apdu, Wait wait,
                                                   const std::stop_token& stop);
    [[nodiscard]] core::Status begin(const core::KeyRef& key);
    [[nodiscard]] core::Status check_address(const core::SignContext& context,
                                             const core::KeyRef& key);
    [[nodiscard]] core::Result<core::Address> get_address(const core::SignContext& context,
                                                          std::string_view path, bool display);
    [[nodiscard]] core::Result<core::RecoverableSignature> finish_message_signature(
        const core::Bytes& reply, const core::Hash32& digest, const core::KeyRef& key);
    [[nodiscard]] core::Result<core::RecoverableSignature> sign_typed_hashed(
        const core::SignContext& context, const core::KeyRef& key,
        const core::eip712::HashedTypedData& typed);
    void note_status(std::uint16_t status);
    std::optional<bool> blind_signing() const;

    std::unique_ptr<ApduChannel> channel_;
    const std::string identity_;
    const Model model_;
    const Options options_;

    std::mutex device_mutex_;  // one exchange sequence at a time on channel_
    mutable std::mutex state_mutex_;
    std::vector<core::KeyRef> keys_;
    LedgerState state_;
};

}  // namespace keybridge::drivers::ledger
