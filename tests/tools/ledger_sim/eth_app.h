#pragma once

// A device-side simulator of a Ledger running the Ethereum app, for tests. It answers APDUs the
// way the app does (facts from the app's public APDU documentation and from the vendor's host
// library @ledgerhq/hw-app-eth), signs with keybridge core, and asks a scripted User wherever the
// real device would wait for a button press. It deliberately shares no code with drivers/ledger:
// it exists to check that driver independently.
//
// Supported (CLA 0xE0 unless noted):
//   B0 01 get app and version (dashboard / other app / Ethereum app answer differently)
//   06 get app configuration   flags (bit 0: blind signing), major, minor, patch
//   02 get address             P1 0 silent / 1 display (the user confirms), P2 0 / 1 chain code;
//                              data: path (1..10 indices) [+ 8-byte chain id]
//   04 sign transaction        P1 0x00 first chunk (path first) / 0x80 more; legacy (EIP-155 or
//                              not), EIP-2930 (app >= 1.9.0), EIP-1559 (app >= 1.9.0); the RLP is
//                              followed as it streams in, with the app's known quirk: a legacy
//                              chunk that ends exactly before the v field ends the transaction
//                              (signed as pre-EIP-155, "chain id 0"); calldata needs blind
//                              signing (0x6A80 otherwise)
//   0A ERC-20 token descriptor   verified against Ledger's production token key; a described
//                              token's transfer/approve then signs without blind signing
//   08 sign personal message   P1 0x00 first (path, 4-byte BE length, data) / 0x80 more
//   0C sign EIP-712            P2 0x00 hashed (path, domain separator, message hash; app >=
//                              1.5.0), P2 0x01 full (path only, after 1A/1C; app >= 1.9.19)
//   1A EIP-712 struct definitions, 1C struct implementations (app >= 1.9.19, else 0x6D00)
//   1E EIP-712 filtering (activation, message info, raw / date-time / amount-join token and
//      value, discarded paths), every signature checked against Ledger's CAL key (production,
//      or also the CAL test key when Config::trust_cal_test_key) over the app's preimages
// Status words: 9000 ok, 6985 denied by the user (or a chunk out of sequence), 6A80 bad data /
// blind signing needed, 6501 transaction type not supported (EIP-4844, or typed on app < 1.9.0),
// 6B00 bad P1/P2, 6700 bad length, 6D00 unknown INS (also every E0 command on the dashboard), 6E00
// unknown CLA (also E0 commands while another app is open), 5515 locked.
//
// Thread-safety: exchange() is called by one thread at a time (the transport's); configuration
// setters and the User may be used from any other thread meanwhile.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bip32.h"
#include "core/bytes.h"
#include "core/result.h"

namespace keybridge::tests::ledger_sim {

using core::Bytes;
using core::ByteView;

struct AppVersion {
    int major = 1;
    int minor = 13;
    int patch = 0;

    // "1.9.19" -> {1, 9, 19}; InvalidFormat otherwise.
    [[nodiscard]] static core::Result<AppVersion> parse(std::string_view text);
    std::string to_string() const;
    friend auto operator<=>(const AppVersion&, const AppVersion&) = default;
};

enum class DeviceState {
    Ready,      // the Ethereum app is open and the device unlocked
    Locked,     // PIN screen: every APDU answers 0x5515
    Dashboard,  // no app open
    OtherApp,   // another app (Config::other_app) is open
};
std::string_view to_string(DeviceState state);

struct Config {
    AppVersion version;
    bool blind_signing = false;
    DeviceState state = DeviceState::Ready;
    std::string other_app = "Bitcoin";
    std::string other_app_version = "2.1.3";
    std::string firmware_version = "2.2.3";  // what B0 01 names on the dashboard ("BOLOS")
    // What the device answers outside the Ethereum app (firmware versions differ: older ones
    // answer 0x6982 when locked, some 0x6E00 or 0x6E01 on the dashboard).
    std::uint16_t locked_status = 0x5515;
    std::uint16_t dashboard_status = 0x6D00;  // E0 commands on the dashboard
    std::uint16_t other_app_status = 0x6E00;  // E0 commands while another app is open
    // Also accept ERC-20 descriptors and EIP-712 filters signed with Ledger's CAL test key (app
    // builds made for testing, which Ledger's emulator runs use), besides the production key.
    bool trust_cal_test_key = false;
};

enum class UserAnswer { Approve, Reject };
enum class UserMode {
    Approve,  // every prompt is approved at once
    Reject,   // every prompt is rejected at once
    Hold,     // prompts wait for press() (or cancel())
};

// The person in front of the device. Answers queued with press() are used first, in order (one
// per prompt); then the mode decides. Thread-safe.
class User {
  public:
    void set_mode(UserMode mode);
    UserMode mode() const;
    // Answers the prompt waiting now, or else the next one.
    void press(UserAnswer answer);
    // Ends a waiting prompt without an answer (the device was unplugged): confirm() returns
    // nullopt. Answers already queued are dropped.
    void cancel();

    // Called by the app: shows `text` and returns the user's answer, blocking in Hold mode;
    // nullopt when cancel() ended the wait.
    std::optional<UserAnswer> confirm(std::string text);

    // What the device showed, oldest first (for tests and the control protocol's "status").
    std::vector<std::string> prompts() const;
    bool waiting() const;
    // Waits until a prompt is waiting for an answer (Hold mode) and returns its text; nullopt
    // after `timeout`.
    std::optional<std::string> wait_for_prompt(std::chrono::milliseconds timeout);

  private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    UserMode mode_ = UserMode::Approve;
    std::deque<UserAnswer> queued_;
    std::vector<std::string> prompts_;
    bool waiting_ = false;
    std::uint64_t cancel_generation_ = 0;
};

struct AppSession;  // state kept across APDUs (multi-APDU signatures)

// The Ethereum app on a device holding one seed.
class EthApp {
  public:
    // seed: the 64-byte BIP39 seed. InvalidArgument if it is not a usable BIP32 seed.
    [[nodiscard]] static core::Result<std::unique_ptr<EthApp>> create(ByteView seed, User& user);
    // From a BIP39 phrase (and optional passphrase), as the device would be set up.
    [[nodiscard]] static core::Result<std::unique_ptr<EthApp>> from_mnemonic(
        std::string_view phrase, std::string_view passphrase, User& user);

    // One APDU in (CLA INS P1 P2 [Lc data]), the reply out: data || SW1 SW2. Never fails: every
    // problem becomes a status word, as on the device.
    Bytes exchange(ByteView apdu);

    // APDUs answered so far, and multi-APDU flows (transaction, message, typed data) that another
    // command cut short: what a host that interleaves two requests' APDUs would cause.
    std::uint64_t apdu_count() const { return apdus_.load(); }
    std::uint64_t interrupted_flows() const { return interrupted_.load(); }

    Config config() const;
    void set_config(const Config& config);
    // Applies a change to the configuration under the lock.
    template <typename F>
    void update_config(F&& change) {
        std::lock_guard lock(config_mutex_);
        change(config_);
    }

    ~EthApp();

  private:
    EthApp(core::bip32::ExtendedKey master, User& user);

    core::bip32::ExtendedKey master_;
    User& user_;
    mutable std::mutex config_mutex_;
    Config config_;
    std::atomic<std::uint64_t> apdus_{0};
    std::atomic<std::uint64_t> interrupted_{0};
    std::unique_ptr<AppSession> session_;  // state across APDUs; touched only by exchange()
};

// Speculos's default seed phrase (its documented test mnemonic), so that the simulator and a
// default Speculos derive the same addresses.
inline constexpr std::string_view kSpeculosDefaultPhrase =
    "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle "
    "enact monster seven myth punch hobby comfort wild raise skin";

}  // namespace keybridge::tests::ledger_sim
