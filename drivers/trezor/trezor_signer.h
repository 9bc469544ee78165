#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/signer.h"
#include "drivers/trezor/link.h"
#include "drivers/trezor/report_device.h"

namespace keybridge::drivers::trezor {

// What Features said when the session started.
struct TrezorFeatures {
    std::string model;       // as reported: "1", "T", "Safe 3", ...
    std::string model_name;  // "Trezor One", "Trezor Model T", "Trezor Safe 3", ...
    std::string firmware;    // "2.8.1"
    std::string label;
    std::string device_id;
    bool initialized = false;
    bool bootloader_mode = false;
    bool pin_protection = false;
    bool passphrase_protection = false;
    bool passphrase_entry_on_device = false;  // Capability_PassphraseEntry
    // Features.unlocked (pin_cached on older firmware): the PIN is not needed now. A device
    // that does not say is taken as unlocked unless it is PIN protected.
    bool unlocked = true;
};

// "Trezor One" for "1", "Trezor Model T" for "T", "Trezor Safe 3" for "Safe 3", "Trezor <m>"
// otherwise.
std::string model_name(const std::string& model);

// A Trezor (One, Model T, Safe 3/5, or an emulator) speaking protocol v1, as a core::Signer.
//  - connect() starts a session (Initialize -> Features) and keeps its session id, so that a
//    passphrase entered once serves the following requests. After a flow that ended early, the
//    next request re-initialises with that id first (ending what the device was still doing).
//  - Every flow answers the device's ButtonRequests with ButtonAck and tells the person through
//    prompter.on_device("Confirm on your Trezor ...") (device_done() when the flow ends, however
//    it ends); PinMatrixRequest -> prompter.pin_matrix (the positions on the device's scrambled
//    grid); PassphraseRequest -> entry on the device when it can (Capability_PassphraseEntry),
//    else prompter.passphrase (the text goes to the device and is wiped from our buffers).
//  - Before each signature the address at key.path is asked again and must be key.address
//    (another device, or another passphrase's hidden wallet, is refused naming both addresses);
//    every signature is recovered and checked against key.address before it is returned.
//  - When context.stop fires while the device waits, Cancel is sent and Disconnected returned.
//  - Device failures: ActionCancelled/PinCancelled -> UserCancelled, PinInvalid ->
//    WrongPassword, PinExpected -> PinRequired, DataError -> InvalidArgument, Busy ->
//    DeviceBusy, UnexpectedMessage -> NotSupported (this firmware lacks the feature),
//    NotInitialized -> NotSupported; anything else -> ProtocolError with the device's text.
//  - sign_digest and the v1 typed-data form: NotSupported (a Trezor signs no opaque hashes).
//  - EIP-712: the full struct/value protocol, except on the Trezor One, which signs from the
//    domain separator and message hash (EthereumSignTypedHash).
//  - Transactions: legacy with EIP-155 (chain ids up to 2^64 - 1; the recovery id is read from
//    v whatever the firmware's convention for large chain ids) and EIP-1559 with access lists;
//    data goes in the chunks the device asks for. Pre-EIP-155 and EIP-2930 transactions:
//    NotSupported.
// Thread-compatible: one call at a time (the daemon's lane); keys()/ready()/set_present() may be
// called from other threads.
class TrezorSigner final : public core::Signer {
  public:
    struct Options {
        // A reply the device gives without a person (Features, a data request).
        std::chrono::milliseconds device_timeout{10'000};
        // A reply that waits for the person's buttons, PIN or passphrase.
        std::chrono::milliseconds person_timeout{300'000};
    };

    // Opens a session on the device. Timeout / Disconnected when nothing answers,
    // ProtocolError when the answer is not Features.
    [[nodiscard]] static core::Result<std::unique_ptr<TrezorSigner>> connect(
        std::unique_ptr<ReportDevice> device, Options options);
    [[nodiscard]] static core::Result<std::unique_ptr<TrezorSigner>> connect(
        std::unique_ptr<ReportDevice> device) {
        return connect(std::move(device), Options{});
    }

    const TrezorFeatures& features() const { return features_; }
    // Whether the device needs no PIN now: from Features at connect(), true once a PIN was
    // accepted, and as refresh_features() last heard. Thread-safe.
    bool unlocked() const { return unlocked_.load(); }
    // Asks the device its Features again (GetFeatures, no person involved) and keeps what can
    // change while it is plugged in (unlocked). Timeout / Disconnected when it does not answer.
    [[nodiscard]] core::Status refresh_features(const std::stop_token& stop);
    // The vault's records for this device.
    void set_keys(std::vector<core::KeyRef> keys);
    // false: unplugged (ready() reports DeviceNotFound, calls fail with it).
    void set_present(bool present);

    // The address at path shown on the device for the person to compare (ButtonRequest).
    [[nodiscard]] core::Result<core::Address> display_address(const core::SignContext& context,
                                                              std::string_view path);

    std::string id() const override;  // "trezor:<device id>"
    core::SignerInfo info() const override;
    std::vector<core::KeyRef> keys() const override;
    [[nodiscard]] core::Status ready(const core::KeyRef& key) const override;
    [[nodiscard]] core::Result<core::Address> address_at(const core::SignContext& context,
                                                         std::string_view path) override;
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
    class Flow;
    TrezorSigner(std::unique_ptr<Link> link, Options options, TrezorFeatures features,
                 std::string session_id);

    [[nodiscard]] core::Status usable() const;
    [[nodiscard]] core::Status check_key(const core::SignContext& context, const core::KeyRef& key);
    [[nodiscard]] core::Result<core::Address> get_address(const core::SignContext& context,
                                                          std::string_view path, bool show);
    [[nodiscard]] core::Status restart_session(const std::stop_token& stop);

    std::unique_ptr<Link> link_;
    Options options_;
    TrezorFeatures features_;
    std::string session_id_;
    bool session_broken_ = false;
    std::atomic<bool> unlocked_{true};
    mutable std::mutex mutex_;  // guards keys_ and present_
    std::vector<core::KeyRef> keys_;
    bool present_ = true;
};

}  // namespace keybridge::drivers::trezor
