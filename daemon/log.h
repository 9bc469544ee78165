#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace keybridge::daemon::log {

// Logging by category ("net", "rpc", "approvals", "upstream", "vault") and level, to stderr
// (journald picks it up under systemd). Never log secrets or whole payloads: method names, sizes,
// origins and error details only. Thread-safe.
enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_level(Level level);
bool enabled(Level level);

void write(Level level, std::string_view category, std::string_view message);
inline void debug(std::string_view c, std::string_view m) {
    if (enabled(Level::Debug)) write(Level::Debug, c, m);
}
inline void info(std::string_view c, std::string_view m) {
    write(Level::Info, c, m);
}
inline void warn(std::string_view c, std::string_view m) {
    write(Level::Warn, c, m);
}
inline void error(std::string_view c, std::string_view m) {
    write(Level::Error, c, m);
}

// The most recent lines (for bug reports), oldest first.
std::vector<std::string> recent_lines();

// For lines a client can trigger at will (a refused connection or request): at most
// `lines_per_second` lines per second are written; the rest are counted, and the first line
// written after them is preceded by "suppressed K similar lines", so a flood of bad requests
// cannot fill a disk and nothing goes unreported. Thread-safe.
class LimitedLog {
  public:
    using Clock = std::chrono::steady_clock;
    using Writer = std::function<void(Level, std::string_view category, std::string_view message)>;

    explicit LimitedLog(std::size_t lines_per_second, Writer writer = write)
        : lines_per_second_(lines_per_second), writer_(std::move(writer)) {}

    void info(std::string_view category, std::string_view message,
              Clock::time_point now = Clock::now());

  private:
    std::size_t lines_per_second_;
    Writer writer_;
    std::mutex mutex_;
    Clock::time_point window_start_{};
    std::size_t written_in_window_ = 0;
    std::size_t suppressed_ = 0;
};

// A URL for the log: "scheme://host[:port]" only. Credentials, path, query and fragment are
// dropped: node URLs often carry an API key there ("https://mainnet.infura.io/v3/KEY").
std::string redact_url(std::string_view url);

// Parses "debug", "info", "warn", "error".
bool parse_level(std::string_view text, Level& out);

}  // namespace keybridge::daemon::log
