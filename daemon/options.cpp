#include "daemon/options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "core/text.h"
#include "store/vault/vault.h"

namespace keybridge::daemon {
namespace {

using core::ErrorCode;
using core::fail;

const std::string kDefaultListen = "127.0.0.1:" + std::to_string(kDefaultPort);
constexpr std::size_t kMaxConfigBytes = 1 << 20;

// "1.5" (ether, up to 18 decimals) → wei.
core::Result<core::U256> parse_ether(const std::string& name, const std::string& text) {
    const auto dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
    auto digits_only = [](const std::string& d) {
        return std::all_of(d.begin(), d.end(), [](unsigned char ch) { return std::isdigit(ch); });
    };
    if ((whole.empty() && fraction.empty()) || !digits_only(whole) || !digits_only(fraction) ||
        fraction.size() > 18 || whole.size() > 40) {
        return fail(ErrorCode::InvalidArgument,
                    "--" + name + " takes an amount in ether, e.g. 1.5 (got '" + text + "')");
    }
    fraction.append(18 - fraction.size(), '0');
    return core::parse_u256_decimal((whole.empty() ? "0" : whole) + fraction);
}

bool valid_host(const std::string& host) {
    return !host.empty() && host.size() <= 253 &&
           std::all_of(host.begin(), host.end(), [](unsigned char ch) {
               return std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_';
           });
}

core::Result<std::uint64_t> parse_uint(const std::string& name, const std::string& text,
                                       std::uint64_t min, std::uint64_t max) {
    if (text.empty() || text.size() > 19 ||
        !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return fail(ErrorCode::InvalidArgument, "--" + name + " must be a whole number");
    }
    const std::uint64_t v = std::stoull(text);
    if (v < min || v > max) {
        return fail(ErrorCode::InvalidArgument, "--" + name + " must be between " +
                                                    std::to_string(min) + " and " +
                                                    std::to_string(max));
    }
    return v;
}

// "4096", "64K", "16M", "1G" (powers of 1024) → bytes, between min and max.
core::Result<std::uint64_t> parse_size(const std::string& name, const std::string& text,
                                       std::uint64_t min, std::uint64_t max) {
    static constexpr std::string_view kSuffixes = "KMG";
    std::string digits = text;
    unsigned shift = 0;
    if (!digits.empty()) {
        const auto at = kSuffixes.find(
            static_cast<char>(std::toupper(static_cast<unsigned char>(digits.back()))));
        if (at != std::string_view::npos) {
            shift = 10 * static_cast<unsigned>(at + 1);
            digits.pop_back();
        }
    }
    const std::string range = "between " + std::to_string(min) + " and " + std::to_string(max) +
                              " bytes (a K, M or G suffix multiplies by 1024, 1024^2, 1024^3)";
    auto v = parse_uint(name, digits, 0, max >> shift);
    if (!v || (*v << shift) < min) {
        return fail(ErrorCode::InvalidArgument, "--" + name + " must be " + range);
    }
    return *v << shift;
}

// "1=https://rpc.example/,Ethereum" (no quoting needed on a command line) or
// "1=https://rpc.example/ Ethereum" → chain 1 with that URL and name. Without a space, the name
// is what follows the last comma unless that holds a '/', '=' or '&' or only digits (then it is
// part of the URL's path or query, "?ids=1,2"); such a name takes the space form.
core::Result<ChainConfig> parse_chain(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        return fail(ErrorCode::InvalidArgument, "--chain must look like ID=URL[,NAME]");
    }
    auto id =
        parse_uint("chain", std::string(core::trim_space(std::string_view(text).substr(0, eq))), 1,
                   (std::uint64_t{1} << 53) - 1);
    if (!id) return fail(id.error());
    std::string rest(core::trim_space(std::string_view(text).substr(eq + 1)));
    ChainConfig chain;
    chain.chain_id = *id;
    auto split = rest.find(' ');
    if (split == std::string::npos) {
        const auto comma = rest.rfind(',');
        if (comma != std::string::npos) {
            const std::string after = rest.substr(comma + 1);
            const bool part_of_url = after.find_first_of("/=&") != std::string::npos ||
                                     std::all_of(after.begin(), after.end(), [](unsigned char ch) {
                                         return std::isdigit(ch) != 0;
                                     });
            if (!part_of_url) split = comma;
        }
    }
    chain.rpc_url = rest.substr(0, split);
    chain.name = split == std::string::npos
                     ? ""
                     : std::string(core::trim_space(std::string_view(rest).substr(split + 1)));
    if (!chain.rpc_url.empty() && chain.rpc_url.rfind("http://", 0) != 0 &&
        chain.rpc_url.rfind("https://", 0) != 0) {
        return fail(ErrorCode::InvalidArgument, "--chain URL must start with http:// or https://");
    }
    if (chain.name.empty()) chain.name = "Chain " + std::to_string(chain.chain_id);
    return chain;
}

// Applies one option's value to the config.
core::Status apply(Config& c, const std::string& name, const std::string& value) {
    auto set_size = [&](std::size_t& field, std::uint64_t min, std::uint64_t max) -> core::Status {
        auto v = parse_uint(name, value, min, max);
        if (!v) return fail(v.error());
        field = static_cast<std::size_t>(*v);
        return {};
    };
    auto set_unsigned = [&](unsigned& field, std::uint64_t min, std::uint64_t max) -> core::Status {
        auto v = parse_uint(name, value, min, max);
        if (!v) return fail(v.error());
        field = static_cast<unsigned>(*v);
        return {};
    };
    if (name == "datadir")
        c.datadir = value;
    else if (name == "listen") {
        auto endpoint = parse_listen(value);
        if (!endpoint) return fail(endpoint.error());
        c.listen.push_back(value);
    } else if (name == "password-file")
        c.password_file = value;
    else if (name == "policy")
        c.policy_file = value;
    else if (name == "threads")
        return set_unsigned(c.threads, 1, 64);
    else if (name == "signing-worker") {
        if (value != "auto" && value != "off")
            return fail(ErrorCode::InvalidArgument, "--signing-worker must be auto or off");
        c.signing_worker = value == "auto";
    } else if (name == "network-scheduling") {
        if (value == "adaptive")
            c.network_scheduling = NetworkScheduling::Adaptive;
        else if (value == "batch")
            c.network_scheduling = NetworkScheduling::Batch;
        else if (value == "normal")
            c.network_scheduling = NetworkScheduling::Normal;
        else
            return fail(ErrorCode::InvalidArgument,
                        "--network-scheduling must be adaptive, batch or normal");
    } else if (name == "max-request-bytes")
        return set_size(c.max_request_bytes, 1024, 64 << 20);
    else if (name == "max-batch")
        return set_size(c.max_batch, 1, 10000);
    else if (name == "max-depth")
        return set_size(c.max_depth, 4, 1000);
    else if (name == "max-connections")
        return set_size(c.max_connections, 1, 1 << 20);
    else if (name == "rate-limit" || name == "rate-burst") {
        auto v = parse_uint(name, value, 1, 1000000);
        if (!v) return fail(v.error());
        (name == "rate-limit" ? c.rate_limit : c.rate_burst) = static_cast<double>(*v);
    } else if (name == "max-pending-approvals")
        return set_size(c.max_pending_approvals, 1, 100000);
    else if (name == "max-pending-per-origin")
        return set_size(c.max_pending_per_origin, 1, 100000);
    else if (name == "max-pending-local")
        return set_size(c.max_pending_local, 1, 100000);
    else if (name == "approval-timeout")
        return set_unsigned(c.approval_timeout_s, 1, 86400);
    else if (name == "idle-timeout")
        return set_unsigned(c.idle_timeout_s, 1, 86400);
    else if (name == "handshake-timeout")
        return set_unsigned(c.handshake_timeout_s, 1, 3600);
    else if (name == "max-outbound-queue")
        return set_size(c.max_outbound_queue, 1, 1 << 20);
    else if (name == "max-calls-in-flight")
        return set_size(c.max_calls_in_flight, 1, 100000);
    else if (name == "max-outbound-bytes" || name == "max-outbound-total") {
        auto v = parse_size(name, value, 64 * 1024, std::uint64_t{1} << 40);
        if (!v) return fail(v.error());
        (name == "max-outbound-bytes" ? c.max_outbound_bytes : c.max_outbound_total) = *v;
    } else if (name == "max-subscriptions")
        return set_size(c.max_subscriptions, 1, 100000);
    else if (name == "poll-interval")
        return set_unsigned(c.poll_interval_ms, 10, 3600000);
    else if (name == "audit-max-size") {
        auto v = parse_size(name, value, 1024, std::uint64_t{1} << 40);
        if (!v) return fail(v.error());
        c.audit_max_bytes = *v;
    } else if (name == "audit-keep")
        return set_unsigned(c.audit_keep, 1, 1000);
    else if (name == "chain-id") {
        auto v = parse_uint(name, value, 1, (std::uint64_t{1} << 53) - 1);
        if (!v) return fail(v.error());
        c.default_chain_id = *v;
    } else if (name == "chain") {
        auto chain = parse_chain(value);
        if (!chain) return fail(chain.error());
        auto same = std::find_if(c.chains.begin(), c.chains.end(), [&](const ChainConfig& x) {
            return x.chain_id == chain->chain_id;
        });
        if (same != c.chains.end())
            *same = *chain;
        else
            c.chains.push_back(*chain);
    } else if (name == "enable-eth-sign")
        c.enable_eth_sign = true;
    else if (name == "speculos") {
        auto endpoint = parse_speculos(value);
        if (!endpoint) return fail(endpoint.error());
        if (std::find(c.speculos.begin(), c.speculos.end(), value) == c.speculos.end())
            c.speculos.push_back(value);
    } else if (name == "trezor-emulator") {
        auto endpoint = parse_trezor_emulator(value);
        if (!endpoint) return fail(endpoint.error());
        if (std::find(c.trezor_emulators.begin(), c.trezor_emulators.end(), value) ==
            c.trezor_emulators.end())
            c.trezor_emulators.push_back(value);
    } else if (name == "desktop-notifications") {
        if (value != "on" && value != "off")
            return fail(ErrorCode::InvalidArgument, "--desktop-notifications must be on or off");
        c.desktop_notifications = value == "on";
    } else if (name == "usb") {
        if (value != "on" && value != "off")
            return fail(ErrorCode::InvalidArgument, "--usb must be on or off");
        c.usb_devices = value == "on";
    } else if (name == "warn-value" || name == "warn-fee") {
        auto wei = parse_ether(name, value);
        if (!wei) return fail(wei.error());
        (name == "warn-value" ? c.insight.value_warning_wei : c.insight.fee_warning_wei) = *wei;
    } else if (name == "warn-deadline-days") {
        auto days = parse_uint(name, value, 1, 36500);
        if (!days) return fail(days.error());
        c.insight.far_deadline_days = *days;
    } else if (name == "phishing-block" || name == "phishing-allow") {
        std::string host = value;
        std::transform(host.begin(), host.end(), host.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (!valid_host(host)) {
            return fail(
                ErrorCode::InvalidArgument,
                "--" + name + " takes a host name such as evil.example (got '" + value + "')");
        }
        (name == "phishing-block" ? c.insight.phishing_block : c.insight.phishing_allow)
            .push_back(host);
    } else if (name == "known-address") {
        auto address = core::Address::parse(value);
        if (!address) {
            return fail(ErrorCode::InvalidArgument,
                        "--known-address takes an address (0x and 40 hex digits): " +
                            address.error().detail);
        }
        c.known_addresses.push_back(*address);
    } else if (name == "log-level") {
        if (value != "debug" && value != "info" && value != "warn" && value != "error") {
            return fail(ErrorCode::InvalidArgument,
                        "--log-level must be debug, info, warn or error");
        }
        c.log_level = value;
    } else
        return fail(ErrorCode::InvalidArgument, "unknown option --" + name);
    return {};
}

const OptionDecl* find_decl(const std::string& name) {
    for (const auto& d : option_table()) {
        if (d.name == name) return &d;
    }
    return nullptr;
}

// One setting read from the config file, with "FILE:LINE" for error messages.
struct FileSetting {
    std::string key;
    std::string value;
    std::string where;
};

// The file's text, if it is private to us. It may hold RPC URLs with API keys in them, and
// whoever can write it chooses the nodes, the policy file and the listen addresses: like ssh with
// its keys and config, refuse it unless we (or root) own it and no one else may read or write it.
core::Result<std::string> read_private_config(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(ErrorCode::IoError,
                    "cannot read config file " + path + ": " + std::strerror(errno));
    }
    struct FdCloser {
        int fd;
        ~FdCloser() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return fail(ErrorCode::IoError, "config file " + path + " is not a regular file");
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
        return fail(ErrorCode::InvalidArgument,
                    "config file " + path + " belongs to another user (uid " +
                        std::to_string(st.st_uid) + "): it would choose keybridged's nodes");
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return fail(ErrorCode::InvalidArgument,
                    "config file " + path + " is open to other users (mode " + mode +
                        "): it may hold RPC URLs with API keys; run chmod 600 " + path);
    }
    std::string text;
    char chunk[4096];
    while (true) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return fail(ErrorCode::IoError,
                        "cannot read config file " + path + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > kMaxConfigBytes) {
            return fail(ErrorCode::InvalidArgument, "config file " + path + " is larger than " +
                                                        std::to_string(kMaxConfigBytes) + " bytes");
        }
        text.append(chunk, static_cast<std::size_t>(n));
    }
    return text;
}

// Config file: "key = value" per line (keys are the long option names), '#' starts a comment,
// flags are written "key = true".
core::Status load_config_file(const std::string& path, Config& c, std::vector<FileSetting>& out) {
    auto text = read_private_config(path);
    if (!text) return fail(text.error());
    std::istringstream in(*text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const std::string where = path + ":" + std::to_string(number);
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        line = std::string(core::trim_space(line));
        if (line.empty()) continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            return fail(ErrorCode::InvalidArgument, where + ": expected 'key = value'");
        }
        std::string key(core::trim_space(std::string_view(line).substr(0, eq)));
        std::string value(core::trim_space(std::string_view(line).substr(eq + 1)));
        const OptionDecl* decl = find_decl(key);
        if (decl == nullptr || key == "config" || key == "help" || key == "version") {
            return fail(ErrorCode::InvalidArgument, where + ": unknown setting '" + key + "'");
        }
        if (decl->value_name.empty()) {
            if (value != "true" && value != "false") {
                return fail(ErrorCode::InvalidArgument,
                            where + ": " + key + " must be true or false");
            }
            if (value == "false") continue;
        }
        out.push_back(FileSetting{key, value, where});
    }
    (void)c;
    return {};
}

}  // namespace

std::string default_config_path() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/keybridge/keybridged.conf";
    const char* home = std::getenv("HOME");
    if (home != nullptr && home[0] == '/')
        return std::string(home) + "/.config/keybridge/keybridged.conf";
    return "";
}

unsigned default_network_threads() {
    return std::clamp(std::thread::hardware_concurrency(), 1U, 2U);
}

const std::vector<OptionDecl>& option_table() {
    static const std::vector<OptionDecl> table = {
        {"datadir", "DIR", "$XDG_DATA_HOME/keybridge",
         "data folder: vault, permissions, cookie, audit log"},
        {"config", "FILE", "$XDG_CONFIG_HOME/keybridge/keybridged.conf",
         "read settings from FILE (key = value lines; must be yours and mode 0600 or stricter)"},
        {"listen", "HOST:PORT", "127.0.0.1:8645 and [::1]:8645",
         "loopback address to serve on; repeat for several", true},
        {"password-file", "FILE", "", "unlock the vault at start with the password in FILE"},
        {"policy", "FILE", "", "approval policy rules (see docs/POLICY.md)"},
        {"threads", "N", "2 (1 on one core)", "network threads (each its own event loop)"},
        {"signing-worker", "auto|off", "off",
         "sign on a worker thread while a network thread is saturated"},
        {"network-scheduling", "adaptive|batch|normal", "adaptive",
         "kernel scheduling of the network threads: batch (SCHED_BATCH: fuller reads and writes "
         "under load), normal, or adaptive (batch while a thread's clients pipeline)"},
        {"chain-id", "ID", "1", "chain selected for new origins"},
        {"chain", "ID=URL[,NAME]", "",
         "a chain and its upstream RPC URL (http or https), e.g. 1=https://node.example/,Ethereum; "
         "repeatable. On the command line the "
         "URL is visible to other local users (ps, /proc/PID/cmdline): put URLs holding API "
         "keys in the config file instead",
         true, true},
        {"enable-eth-sign", "", "off", "allow eth_sign (signs opaque hashes: dangerous)"},
        {"speculos", "HOST:PORT", "",
         "attach the Speculos emulator whose APDU port is HOST:PORT (loopback) as if it were a "
         "plugged-in Ledger; repeatable",
         true},
        {"trezor-emulator", "HOST:PORT", "",
         "attach the Trezor emulator whose UDP port is HOST:PORT (loopback; the emulator's "
         "default is 127.0.0.1:21324) as if it were a plugged-in Trezor; repeatable",
         true},
        {"usb", "on|off", "on", "look for Ledger and Trezor devices on USB (hidraw, WebUSB)"},
        {"desktop-notifications", "on|off", "on",
         "announce new approval requests on the desktop (freedesktop notifications over the "
         "session D-Bus, when there is one)"},
        {"warn-value", "ETHER", "", "warn about transactions sending more than this (in ether)"},
        {"warn-fee", "ETHER", "", "warn about transactions that may pay more fees than this"},
        {"warn-deadline-days", "DAYS", "30",
         "warn about permits and approvals valid for longer than this"},
        {"phishing-block", "HOST", "",
         "treat HOST and its subdomains as phishing sites; repeatable", true},
        {"phishing-allow", "HOST", "",
         "never warn that HOST or its subdomains are on the phishing list; repeatable", true},
        {"known-address", "ADDRESS", "",
         "an address you use (address book): approvals to others are flagged, look-alikes of it "
         "are reported as address poisoning; repeatable",
         true},
        {"max-request-bytes", "N", "1048576", "largest HTTP body or WebSocket message"},
        {"max-batch", "N", "100", "longest JSON-RPC batch"},
        {"max-depth", "N", "64", "deepest JSON nesting"},
        {"max-connections", "N", "4096", "open connections at once"},
        {"rate-limit", "N", "200",
         "requests per second per page origin (token bucket rate; token clients are not limited)"},
        {"rate-burst", "N", "400", "token bucket size per page origin"},
        {"max-pending-approvals", "N", "64", "approval requests waiting at once, all origins"},
        {"max-pending-per-origin", "N", "4",
         "approval requests waiting at once from one page origin (one connect request at most)"},
        {"max-pending-local", "N", "16", "approval requests waiting at once from the token caller"},
        {"approval-timeout", "SECONDS", "300", "how long a request waits for a decision"},
        {"idle-timeout", "SECONDS", "300", "close connections idle this long"},
        {"handshake-timeout", "SECONDS", "10", "time allowed to send the HTTP request headers"},
        {"max-outbound-queue", "N", "256", "messages queued to one slow WebSocket client"},
        {"max-outbound-bytes", "BYTES", "64M",
         "unsent bytes queued to one WebSocket client that does not read (K, M, G)"},
        {"max-outbound-total", "BYTES", "256M",
         "unsent bytes queued to all WebSocket clients together (K, M, G)"},
        {"max-calls-in-flight", "N", "32",
         "calls of one WebSocket connection answered at once; its next requests wait"},
        {"max-subscriptions", "N", "64", "eth_subscribe subscriptions per WebSocket connection"},
        {"poll-interval", "MS", "1000",
         "newHeads/logs subscriptions: milliseconds between polls of a chain's node"},
        {"audit-max-size", "BYTES", "16M",
         "rotate <datadir>/audit.log when it reaches this size (K, M, G: powers of 1024)"},
        {"audit-keep", "N", "4", "rotated audit logs kept (audit.log.1 ... audit.log.N)"},
        {"log-level", "LEVEL", "info", "debug, info, warn or error"},
        {"version", "", "", "print the version and exit"},
        {"help", "", "", "print this help and exit"},
    };
    return table;
}

std::string help_text() {
    std::ostringstream out;
    out << "Usage: keybridged [options]\n\n"
           "keybridged serves JSON-RPC 2.0 (EIP-1193/1474) over WebSocket and HTTP on loopback,\n"
           "asks for approval before anything is exposed or signed, and signs with the vault.\n\n"
           "Options (config-file keys have the same names):\n";
    std::size_t width = 0;
    for (const auto& d : option_table()) {
        width =
            std::max(width, d.name.size() + (d.value_name.empty() ? 0 : d.value_name.size() + 1));
    }
    for (const auto& d : option_table()) {
        std::string head = "--" + d.name + (d.value_name.empty() ? "" : " " + d.value_name);
        out << "  " << head << std::string(width + 4 - head.size(), ' ') << d.help;
        if (!d.default_value.empty()) out << " [default: " << d.default_value << "]";
        out << "\n";
    }
    return out.str();
}

core::Result<Endpoint> parse_listen(const std::string& text) {
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return fail(ErrorCode::InvalidArgument, "--listen must look like [::1]:PORT");
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            return fail(ErrorCode::InvalidArgument, "--listen must look like 127.0.0.1:PORT");
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host == "localhost") host = "127.0.0.1";
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(host, ec);
    if (ec || !address.is_loopback()) {
        return fail(ErrorCode::InvalidArgument,
                    "--listen " + text + ": keybridged listens on loopback addresses only");
    }
    auto number = parse_uint("listen", port, 0, 65535);
    if (!number) return fail(number.error());
    return Endpoint{host, static_cast<std::uint16_t>(*number)};
}

core::Result<Endpoint> parse_speculos(const std::string& text) {
    auto endpoint = parse_listen(text);
    if (!endpoint) {
        return fail(ErrorCode::InvalidArgument,
                    "--speculos " + text +
                        ": expected HOST:PORT of the emulator's APDU port on a loopback address "
                        "(127.0.0.1:9999)");
    }
    if (endpoint->port == 0) {
        return fail(ErrorCode::InvalidArgument, "--speculos " + text + ": the port must not be 0");
    }
    return endpoint;
}

core::Result<Endpoint> parse_trezor_emulator(const std::string& text) {
    auto endpoint = parse_listen(text);
    if (!endpoint) {
        return fail(ErrorCode::InvalidArgument,
                    "--trezor-emulator " + text +
                        ": expected HOST:PORT of the emulator's UDP port on a loopback address "
                        "(127.0.0.1:21324)");
    }
    if (endpoint->port == 0) {
        return fail(ErrorCode::InvalidArgument,
                    "--trezor-emulator " + text + ": the port must not be 0");
    }
    return endpoint;
}

core::Result<ParsedCommandLine> parse_command_line(const std::vector<std::string>& args) {
    ParsedCommandLine out;
    std::vector<std::pair<std::string, std::string>> given;
    std::string config_file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg == "-h") arg = "--help";
        if (arg.rfind("--", 0) != 0) {
            return fail(ErrorCode::InvalidArgument,
                        "unexpected argument '" + arg + "' (see --help)");
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        const OptionDecl* decl = find_decl(name);
        if (decl == nullptr) return fail(ErrorCode::InvalidArgument, "unknown option --" + name);
        if (name == "help") out.show_help = true;
        if (name == "version") out.show_version = true;
        if (decl->value_name.empty()) {
            if (value) return fail(ErrorCode::InvalidArgument, "--" + name + " takes no value");
            given.emplace_back(name, "true");
            continue;
        }
        if (!value) {
            if (i + 1 >= args.size()) {
                return fail(ErrorCode::InvalidArgument, "--" + name + " needs " + decl->value_name);
            }
            value = args[++i];
        }
        if (name == "config")
            config_file = *value;
        else
            given.emplace_back(name, *value);
    }
    if (out.show_help || out.show_version) return out;

    Config& c = out.config;
    for (const auto& [k, v] : given) {
        if (k == "datadir") c.datadir = v;
    }
    const bool own_datadir = !c.datadir.empty();
    if (c.datadir.empty()) c.datadir = vault::Vault::default_datadir();
    if (config_file.empty()) {
        // Present but unreadable or open to others is an error, not a reason to skip it.
        auto exists = [](const std::string& path) {
            struct stat st {};
            return !path.empty() && ::stat(path.c_str(), &st) == 0;
        };
        const std::string in_datadir = c.datadir + "/keybridged.conf";
        const std::string standard = default_config_path();
        if (own_datadir) {
            // Another instance (--datadir): its settings sit with its data, not in the user's
            // config folder (which names the default instance's port and nodes).
            if (exists(in_datadir)) config_file = in_datadir;
        } else if (exists(standard)) {
            config_file = standard;
            if (exists(in_datadir))
                out.notices.push_back(in_datadir + " is not read: settings come from " + standard);
        } else if (exists(in_datadir)) {
            config_file = in_datadir;
            out.notices.push_back(
                "reading settings from " + in_datadir + "; their place is " +
                (standard.empty() ? std::string("~/.config/keybridge/") : standard) +
                " now (move the file there)");
        }
    }
    std::vector<FileSetting> settings;
    if (!config_file.empty()) KEYBRIDGE_TRY_STATUS(load_config_file(config_file, c, settings));
    // Command-line values override the file's: a repeatable option given on the command line
    // replaces the file's list rather than extending it.
    std::vector<std::string> cli_names;
    for (const auto& [k, v] : given)
        cli_names.push_back(k);
    for (const auto& s : settings) {
        if (std::find(cli_names.begin(), cli_names.end(), s.key) != cli_names.end()) continue;
        // A bad value in the file names the file and line, not only the option.
        if (auto applied = apply(c, s.key, s.value); !applied) {
            return fail(applied.error().code, s.where + ": " + applied.error().detail);
        }
    }
    for (const auto& [k, v] : given) {
        if (k == "help" || k == "version") continue;
        KEYBRIDGE_TRY_STATUS(apply(c, k, v));
    }
    if (c.listen.empty()) {
        c.listen = {kDefaultListen, "[::1]:" + std::to_string(kDefaultPort)};
    }
    if (std::none_of(c.chains.begin(), c.chains.end(),
                     [&](const ChainConfig& x) { return x.chain_id == c.default_chain_id; })) {
        c.chains.push_back(ChainConfig{
            c.default_chain_id,
            c.default_chain_id == 1 ? "Ethereum" : "Chain " + std::to_string(c.default_chain_id),
            "", ChainConfig::Source::Config, ""});
    }
    for (const ChainConfig& chain : c.chains)
        if (!chain.name.empty() && chain.name != "Chain " + std::to_string(chain.chain_id))
            c.insight.chain_names[chain.chain_id] = chain.name;
    return out;
}

}  // namespace keybridge::daemon
