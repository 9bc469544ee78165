#include "daemon/net/page_login_codes.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

using namespace std::chrono_literals;
using Clock = PageLoginCodes::Clock;

TEST(PageLoginCodes, ACodeWorksOnceAndOnlyAsIssued) {
    PageLoginCodes codes;
    const auto now = Clock::now();
    auto code = codes.issue(now);
    ASSERT_TRUE(code);
    const std::string text(code->text());
    ASSERT_EQ(text.size(), 64u);
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), std::string::npos);
    // A forged code (one digit off, a prefix, nothing) buys nothing and does not use it up.
    std::string forged = text;
    forged[10] = forged[10] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(codes.redeem(forged, now));
    EXPECT_FALSE(codes.redeem(text.substr(0, 63), now));
    EXPECT_FALSE(codes.redeem("", now));
    EXPECT_TRUE(codes.redeem(text, now + 1s));
    // Used once: gone.
    EXPECT_FALSE(codes.redeem(text, now + 2s));
}

TEST(PageLoginCodes, ACodeExpires) {
    PageLoginCodes codes;
    const auto now = Clock::now();
    auto code = codes.issue(now);
    ASSERT_TRUE(code);
    EXPECT_FALSE(codes.redeem(code->text(), now + PageLoginCodes::kLife));
    auto second = codes.issue(now);
    ASSERT_TRUE(second);
    EXPECT_TRUE(codes.redeem(second->text(), now + PageLoginCodes::kLife - 1s));
}

TEST(PageLoginCodes, CodesAreFreshAndTheOldestGoBeyondTheLimit) {
    PageLoginCodes codes;
    const auto now = Clock::now();
    std::vector<std::string> issued;
    std::set<std::string> distinct;
    for (std::size_t i = 0; i < PageLoginCodes::kMaxLive + 1; ++i) {
        auto code = codes.issue(now);
        ASSERT_TRUE(code);
        issued.emplace_back(code->text());
        distinct.insert(issued.back());
    }
    EXPECT_EQ(distinct.size(), issued.size());
    EXPECT_FALSE(codes.redeem(issued.front(), now));  // pushed out by the newest
    EXPECT_TRUE(codes.redeem(issued[1], now));
    EXPECT_TRUE(codes.redeem(issued.back(), now));
}

}  // namespace
}  // namespace keybridge::daemon::net
