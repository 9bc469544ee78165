#include "daemon/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <utility>

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

void LimitedLog::info(std::string_view category, std::string_view message, Clock::time_point now) {
    if (!enabled(Level::Info)) return;
    std::size_t suppressed = 0;
    {
        std::lock_guard lock(mutex_);
        if (now - window_start_ >= std::chrono::seconds(1)) {
            window_start_ = now;
            written_in_window_ = 0;
        }
        if (written_in_window_ >= lines_per_second_) {
            ++suppressed_;
            return;
        }
        ++written_in_window_;
        suppressed = std::exchange(suppressed_, 0);
    }
    // Written outside the lock: the writer takes the log's own lock.
    if (suppressed > 0) {
        writer_(Level::Info, category,
                "suppressed " + std::to_string(suppressed) + " similar lines");
    }
    writer_(Level::Info, category, message);
}

std::string redact_url(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return "(not a URL)";
    std::string_view authority = url.substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority = authority.substr(at + 1);
    return std::string(url.substr(0, scheme_end)) + "://" + std::string(authority);
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
