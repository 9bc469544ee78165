#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/result.h"
#include "daemon/thread_scheduling.h"
#include "insight/insight.h"

namespace keybridge::daemon {

// Every setting of keybridged, declared once: `--help`, the config file reader and the docs are
// generated from or checked against this table.
struct OptionDecl {
    std::string name;        // long option and config-file key
    std::string value_name;  // empty for a flag
    std::string default_value;
    std::string help;
    bool repeatable = false;
    // Never echoed: chain (a node's URL often holds an API key; logs show it redacted).
    // Passwords and keys are never options: they come from files.
    bool sensitive = false;
};

const std::vector<OptionDecl>& option_table();
std::string help_text();

struct ChainConfig {
    std::uint64_t chain_id = 1;
    std::string name;
    std::string rpc_url;  // http:// or https://; empty = no upstream
    // Where the chain comes from (keybridge_chains shows it): the configuration (chain, rpc-url),
    // the user (the approval page or `keybridge chain add`; kept in <datadir>/chains.json), or a
    // dApp's approved wallet_addEthereumChain (this run only).
    enum class Source : std::uint8_t { Config, User, Dapp };
    Source source = Source::Config;
    // A configured chain's node as the configuration names it; rpc_url differs when the user
    // chose another one (keybridge_setUpstream, kept in chains.json).
    std::string configured_url;
};

// min(cores, 2); more only with --threads N (not measured on larger machines).
unsigned default_network_threads();

struct Config {
    std::string datadir;
    std::vector<std::string> listen;  // "127.0.0.1:8645", "[::1]:8645"
    std::string password_file;
    std::string policy_file;
    // Two where there are two cores: measured side by side with anvil on 2 cores
    // (docs/BENCHMARKS.md), one event loop per thread serves 1.3-2x what one thread does.
    unsigned threads = default_network_threads();
    // Software signing moves to a worker thread while a network thread is saturated (auto);
    // off keeps it on the network threads.
    bool signing_worker = false;  // measured: the hand-over costs more than it gains on 2 cores
    // SCHED_BATCH while a thread's clients pipeline: fewer, fuller reads and writes under load
    // (thread_scheduling.h).
    NetworkScheduling network_scheduling = NetworkScheduling::Adaptive;

    std::size_t max_request_bytes = 1024 * 1024;
    std::size_t max_batch = 100;
    std::size_t max_depth = 64;
    std::size_t max_connections = 4096;
    double rate_limit = 200;  // requests per second per origin
    double rate_burst = 400;
    std::size_t max_pending_approvals = 64;  // all origins together
    std::size_t max_pending_per_origin = 4;  // each page origin (one connect request at most)
    std::size_t max_pending_local = 16;      // the token caller
    unsigned approval_timeout_s = 300;
    unsigned idle_timeout_s = 300;
    unsigned handshake_timeout_s = 10;
    std::size_t max_outbound_queue = 256;  // messages queued to one WebSocket client
    // Unsent bytes: one WebSocket client (past it, one that does not read is closed; reading
    // from it pauses at a sixteenth) and all connections together (reading pauses at half).
    std::uint64_t max_outbound_bytes = std::uint64_t{64} << 20;
    std::uint64_t max_outbound_total = std::uint64_t{256} << 20;
    std::size_t max_calls_in_flight = 32;  // per WebSocket connection; reading pauses at it
    std::size_t max_subscriptions = 64;    // eth_subscribe subscriptions per connection
    unsigned poll_interval_ms = 1000;      // newHeads/logs: how often a chain's node is polled
    std::uint64_t audit_max_bytes = std::uint64_t{16} << 20;  // audit.log is rotated at this size
    unsigned audit_keep = 4;  // rotated audit logs kept: audit.log.1 … audit.log.N

    std::uint64_t default_chain_id = 1;
    std::vector<ChainConfig> chains;
    bool enable_eth_sign = false;
    // Hardware wallets: Speculos emulators to attach as if plugged in ("127.0.0.1:9999", their
    // APDU port; loopback only), and whether to look for devices on USB (hidraw).
    std::vector<std::string> speculos;
    // Trezor emulators to attach as if plugged in (--trezor-emulator: "127.0.0.1:21324", their
    // UDP port; loopback only).
    std::vector<std::string> trezor_emulators;
    bool usb_devices = true;
    bool desktop_notifications = true;  // Notify over the session D-Bus (desktop_notifier.h)
    std::string log_level = "info";

    // Insight (docs/INSIGHT.md): the user's warning thresholds, own phishing entries and chain
    // names (from `chain`), and the addresses the user knows (known-address).
    insight::Settings insight;
    std::vector<core::Address> known_addresses;
};

// Parses argv (after the program name). Options come from, in increasing priority: defaults, the
// config file, the command line. The config file: --config FILE; else, with --datadir DIR on the
// command line, DIR/keybridged.conf when present; else default_config_path() when present, and
// failing that the default data folder's keybridged.conf (read with a notice: its old place).
// InvalidArgument naming the option (or "FILE:LINE") for anything malformed; a listen address that
// is not loopback is refused.
struct ParsedCommandLine {
    bool show_help = false;
    bool show_version = false;
    Config config;
    // Remarks for the log at start (a config file read from its old place).
    std::vector<std::string> notices;
};

// $XDG_CONFIG_HOME/keybridge/keybridged.conf, or ~/.config/keybridge/keybridged.conf; empty when
// neither variable holds an absolute path.
std::string default_config_path();
[[nodiscard]] core::Result<ParsedCommandLine> parse_command_line(
    const std::vector<std::string>& args);

// "127.0.0.1:8645" → host, port; hosts must be loopback (127.0.0.0/8, ::1, localhost).
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
};
[[nodiscard]] core::Result<Endpoint> parse_listen(const std::string& text);
// --speculos HOST:PORT: as parse_listen (loopback only: APDUs never leave this computer), with
// messages naming --speculos.
[[nodiscard]] core::Result<Endpoint> parse_speculos(const std::string& text);
// --trezor-emulator HOST:PORT: the same rules, with messages naming --trezor-emulator.
[[nodiscard]] core::Result<Endpoint> parse_trezor_emulator(const std::string& text);

inline constexpr std::uint16_t kDefaultPort = 8645;
inline constexpr const char* kVersion = "0.1.0";

}  // namespace keybridge::daemon
