#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "tests/tools/trezor_sim/sim_wire.h"

// A Trezor as the host sees it, for tests: the management messages (Initialize, GetFeatures,
// Ping, Cancel), PIN through a scrambled matrix, passphrase (host or device entry), and the
// Ethereum flows (addresses, legacy/EIP-155 and EIP-1559 transactions with data requested in
// chunks, personal messages, EIP-712 through the struct/value protocol on Model T-like models
// and the typed-hash form on model "1"). Signing is done with keybridge's core over the BIP39
// seed. The "person" at the device is scripted: approve, reject, or take some time.
namespace keybridge::trezor_sim {

struct SimConfig {
    std::string mnemonic = "all all all all all all all all all all all all";
    std::string pin;  // empty: no PIN protection
    // The PIN is typed on the device (touch screen models): ButtonRequest(PinEntry), and the
    // person's answer decides (approve: the right PIN, reject: cancelled); else the matrix.
    bool pin_on_device = false;
    bool passphrase_protection = false;
    std::string device_passphrase;  // what the person types when entry is on the device
    std::string model = "T";        // "1" (Trezor One), "T", "Safe 3", "Safe 5"
    std::string label = "keybridge simulator";
    std::string device_id = "KBSIM0000000001";
    std::uint32_t major = 2, minor = 8, patch = 1;
    bool bootloader_mode = false;
    // A model that speaks only the encrypted Trezor-Host Protocol: every protocol v1 message is
    // answered with Failure(InvalidProtocol), as such firmware refuses the old codec.
    bool thp_only = false;
    // Buttons are pressed through DebugLink, as on the vendor's emulator: after a ButtonAck the
    // device waits for a DebugLinkDecision (SimServer's control port) instead of the scripted
    // answer.
    bool debuglink_buttons = false;
    // The device's PIN back-off: after n wrong PINs the next check waits 2^(n-1) units.
    std::chrono::milliseconds pin_backoff_unit{20};
};

enum class UserAnswer { Approve, Reject };

// What the device sends back for one message, after `delay` (a slow person). A Cancel arriving
// during the delay replaces the replies with Failure(ActionCancelled).
struct SimStep {
    std::vector<SimMessage> replies;
    std::chrono::milliseconds delay{0};
};

// Thread-safe: the server thread calls handle(), tests script the person from theirs.
class SimDevice {
  public:
    explicit SimDevice(SimConfig config);

    SimStep handle(const SimMessage& message);
    // A DebugLinkDecision (yes: confirm, no: reject) with debuglink_buttons; one that arrives
    // before the screen waits for it is kept for that screen.
    SimStep decision(bool yes);
    // Ends any flow (a Cancel, or the host went away): Failure(ActionCancelled).
    SimMessage cancel();

    // The device locks and forgets its session's passphrase (as after its auto-lock and a
    // restart): the next request asks for the PIN and the passphrase again.
    void lock();
    void set_answer(UserAnswer answer);
    void set_delay(std::chrono::milliseconds delay);
    // The digits shown at matrix positions 1..9 (position 1 bottom-left, 9 top-right, as a
    // numeric keypad); tests read them as DebugLink reads the screen.
    std::string matrix() const;
    // The positions to type for `pin` on the current matrix.
    std::string positions_for(const std::string& pin) const;
    int button_requests() const;
    int wrong_pins() const;
    // Names of the messages received, in order ("EthereumSignTx", ...).
    std::vector<std::string> received() const;

  private:
    using Continuation = std::function<SimStep()>;
    enum class Waiting { Nothing, Button, Decision, Pin, Passphrase, TxData, Struct, Value };

    SimStep dispatch(const SimMessage& message);
    SimStep press(bool yes);
    SimStep with_unlock(Continuation run);
    SimStep after_passphrase_check(Continuation run);
    SimStep ask_button(std::uint32_t code, Continuation on_approve);
    SimStep fail(int code, const std::string& text);
    SimStep features();
    void reset_flow();
    void new_matrix();
    std::optional<std::string> derive_path(const std::vector<std::uint32_t>& path,
                                           std::string* address_out,
                                           std::vector<std::uint8_t>* key_out);

    SimStep get_address(const std::string& payload);
    SimStep sign_message(const std::string& payload);
    SimStep start_tx(const SimMessage& message);
    SimStep tx_data(const std::string& payload);
    SimStep finish_tx();
    SimStep sign_typed_hash(const std::string& payload);
    SimStep start_typed_data(const std::string& payload);
    SimStep struct_ack(const std::string& payload);
    SimStep next_typed_step();
    SimStep value_ack(const std::string& payload);
    SimStep finish_typed_data();

    mutable std::mutex mutex_;
    SimConfig config_;
    std::mt19937 random_;
    UserAnswer answer_ = UserAnswer::Approve;
    std::chrono::milliseconds delay_{0};
    bool unlocked_ = false;
    std::optional<std::string> passphrase_;  // cached for the session once entered
    std::string session_id_;
    std::array<int, 9> matrix_{};
    int wrong_pins_ = 0;
    int button_requests_ = 0;
    std::vector<std::string> received_;

    Waiting waiting_ = Waiting::Nothing;
    std::deque<bool> decisions_;
    Continuation continuation_;

    // Transaction in progress.
    struct Tx {
        bool eip1559 = false;
        std::string request;  // the serialized EthereumSignTx / EthereumSignTxEIP1559
        std::vector<std::uint32_t> path;
        std::string data;
        std::uint32_t data_length = 0;
        std::uint32_t asked = 0;
    } tx_;

    // EIP-712 walk in progress.
    struct Member {
        std::string type;  // the Solidity type string rebuilt from the field type
        std::string name;
    };
    using PathKey = std::vector<std::variant<std::string, std::size_t>>;
    struct Task {
        std::vector<std::uint32_t> member_path;
        std::string type;
        PathKey target;
        bool have_length = false;
    };
    struct Typed {
        std::vector<std::uint32_t> path;
        std::string primary_type;
        std::map<std::string, std::vector<Member>> types;
        std::deque<std::string> struct_queue;
        bool primary_queued = false;
        std::deque<Task> tasks;
        std::string requested_struct;
        boost::json::object root;  // {"domain": {...}, "message": {...}}
        bool confirmed = false;
    } typed_;
};

}  // namespace keybridge::trezor_sim
