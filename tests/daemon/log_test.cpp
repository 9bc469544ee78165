#include "daemon/log.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::daemon::log {
namespace {

using namespace std::chrono_literals;

struct Captured {
    std::vector<std::string> lines;
    LimitedLog::Writer writer() {
        return [this](Level, std::string_view category, std::string_view message) {
            lines.push_back(std::string(category) + ": " + std::string(message));
        };
    }
};

TEST(LimitedLog, WritesUpToTheLimitPerSecondAndCountsTheRest) {
    Captured out;
    LimitedLog limited(3, out.writer());
    const auto t0 = LimitedLog::Clock::time_point{} + 100s;
    for (int i = 0; i < 10; ++i)
        limited.info("net", "refused " + std::to_string(i), t0 + i * 10ms);
    EXPECT_EQ(out.lines,
              (std::vector<std::string>{"net: refused 0", "net: refused 1", "net: refused 2"}));
    // The next second: the count of what was dropped, then the line.
    limited.info("net", "refused 10", t0 + 1s);
    ASSERT_EQ(out.lines.size(), 5u);
    EXPECT_EQ(out.lines[3], "net: suppressed 7 similar lines");
    EXPECT_EQ(out.lines[4], "net: refused 10");
    // The count starts again.
    limited.info("net", "refused 11", t0 + 1s + 1ms);
    limited.info("net", "refused 12", t0 + 1s + 2ms);
    limited.info("net", "refused 13", t0 + 1s + 3ms);
    limited.info("net", "refused 14", t0 + 2500ms);
    ASSERT_EQ(out.lines.size(), 9u);
    EXPECT_EQ(out.lines[7], "net: suppressed 1 similar lines");
    EXPECT_EQ(out.lines[8], "net: refused 14");
}

TEST(LimitedLog, AFloodWritesABoundedNumberOfLines) {
    Captured out;
    LimitedLog limited(20, out.writer());
    const auto t0 = LimitedLog::Clock::time_point{} + 100s;
    // 100,000 refusals over 10 seconds.
    for (int i = 0; i < 100000; ++i)
        limited.info("net", "refused", t0 + i * 100us);
    EXPECT_LE(out.lines.size(), 10u * 21u);
    limited.info("net", "refused", t0 + 11s);  // brings the count of the last second
    std::size_t counted = 0;
    std::size_t written = 0;
    for (const auto& line : out.lines) {
        if (line.rfind("net: suppressed ", 0) == 0)
            counted += std::stoul(line.substr(16));
        else
            ++written;
    }
    // Every refusal is either written or counted.
    EXPECT_EQ(counted + written, 100001u);
}

TEST(RedactUrl, KeepsOnlySchemeHostAndPort) {
    EXPECT_EQ(redact_url("https://mainnet.infura.io/v3/0123456789abcdef"),
              "https://mainnet.infura.io");
    EXPECT_EQ(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    EXPECT_EQ(redact_url("http://127.0.0.1:8545/"), "http://127.0.0.1:8545");
    EXPECT_EQ(redact_url("https://user:pa:ss@node.example:8443/path?apikey=1#x"),
              "https://node.example:8443");
    EXPECT_EQ(redact_url("https://node.example?apikey=1"), "https://node.example");
    EXPECT_EQ(redact_url("http://[::1]:8545/rpc"), "http://[::1]:8545");
    EXPECT_EQ(redact_url("node.example/key"), "(not a URL)");
}

}  // namespace
}  // namespace keybridge::daemon::log
