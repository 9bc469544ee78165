#include "daemon/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>

namespace keybridge::daemon::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::mutex g_mutex;
std::deque<std::string> g_recent;
constexpr std::size_t kRecentLines = 256;

const char* level_name(Level level) {
    switch (level) {
        case Level::Debug:
            return "debug";
        case Level::Info:
            return "info";
        case Level::Warn:
            return "warn";
        case Level::Error:
            return "error";
    }
    return "?";
}

}  // namespace

void set_level(Level level) {
    g_level.store(static_cast<int>(level));
}
bool enabled(Level level) {
    return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view category, std::string_view message) {
    if (!enabled(level)) return;
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string line = std::string(stamp) + "." + std::to_string(1000 + millis).substr(1) + "Z " +
                       level_name(level) + " " + std::string(category) + ": " +
                       std::string(message);
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%s\n", line.c_str());
    g_recent.push_back(std::move(line));
    if (g_recent.size() > kRecentLines) g_recent.pop_front();
}

std::vector<std::string> recent_lines() {
    std::lock_guard lock(g_mutex);
    return {g_recent.begin(), g_recent.end()};
}

bool parse_level(std::string_view text, Level& out) {
    if (text == "debug")
        out = Level::Debug;
    else if (text == "info")
        out = Level::Info;
    else if (text == "warn")
        out = Level::Warn;
    else if (text == "error")
        out = Level::Error;
    else
        return false;
    return true;
}

}  // namespace keybridge::daemon::log
