#pragma once

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

// Parses "debug", "info", "warn", "error".
bool parse_level(std::string_view text, Level& out);

}  // namespace keybridge::daemon::log
