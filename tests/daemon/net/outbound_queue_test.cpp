#include "daemon/net/outbound_queue.h"

#include <optional>

#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

// Small limits: 8 messages, 1600 bytes per connection (pause above 100), 4000 in total (pause
// above 2000).
OutboundLimits limits() {
    return OutboundLimits{8, 1600, 4000};
}

std::string bytes(std::size_t n) {
    return std::string(n, 'x');
}

TEST(OutboundQueue, TakesAnyMessageWhenNothingIsUnsent) {
    std::atomic<std::uint64_t> total{0};
    OutboundQueue q(limits(), total);
    // One answer larger than every limit still goes to a client that has read everything.
    ASSERT_TRUE(q.push(bytes(10000)));
    EXPECT_EQ(q.bytes(), 10000u);
    EXPECT_EQ(total.load(), 10000u);
    // Behind it, nothing more: the client has not read it yet.
    auto refused = q.push(bytes(1));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::ErrorCode::LimitExceeded);
    EXPECT_EQ(q.size(), 1u);
}

TEST(OutboundQueue, RefusesPastItsBytesWhileMessagesAreUnsent) {
    std::atomic<std::uint64_t> total{0};
    OutboundQueue q(limits(), total);
    ASSERT_TRUE(q.push(bytes(1000)));
    ASSERT_TRUE(q.push(bytes(600)));  // exactly 1600
    auto refused = q.push(bytes(1));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().detail.find("max-outbound-bytes"), std::string::npos)
        << refused.error().detail;
    EXPECT_EQ(q.bytes(), 1600u);
    EXPECT_EQ(total.load(), 1600u);
}

TEST(OutboundQueue, RefusesPastItsMessageCount) {
    std::atomic<std::uint64_t> total{0};
    OutboundQueue q(limits(), total);
    for (int i = 0; i < 8; ++i)
        ASSERT_TRUE(q.push(bytes(1)));
    auto refused = q.push(bytes(1));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().detail.find("max-outbound-queue"), std::string::npos);
}

TEST(OutboundQueue, RefusesPastTheTotalOfAllConnections) {
    std::atomic<std::uint64_t> total{0};
    OutboundQueue a(limits(), total);
    OutboundQueue b(limits(), total);
    OutboundQueue c(limits(), total);
    ASSERT_TRUE(a.push(bytes(1500)));
    ASSERT_TRUE(b.push(bytes(1500)));
    ASSERT_TRUE(c.push(bytes(900)));
    EXPECT_EQ(total.load(), 3900u);
    // Under its own limit, but past the total.
    auto refused = c.push(bytes(200));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().detail.find("max-outbound-total"), std::string::npos)
        << refused.error().detail;
    // A connection with nothing unsent is still answered.
    OutboundQueue d(limits(), total);
    EXPECT_TRUE(d.push(bytes(200)));
}

TEST(OutboundQueue, PausesReadingAboveItsThresholdUntilDrained) {
    std::atomic<std::uint64_t> total{0};
    OutboundQueue q(limits(), total);
    EXPECT_FALSE(q.should_pause());
    ASSERT_TRUE(q.push(bytes(60)));
    ASSERT_TRUE(q.push(bytes(40)));
    EXPECT_FALSE(q.should_pause());  // 100: at the threshold
    ASSERT_TRUE(q.push(bytes(1)));
    EXPECT_TRUE(q.should_pause());
    q.pop_front();
    EXPECT_FALSE(q.should_pause());
}

TEST(OutboundQueue, PausesOnMessageCountAtHalfTheLimit) {
    std::atomic<std::uint64_t> total{0};
    OutboundQueue q(limits(), total);
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(q.push(bytes(1)));
    EXPECT_FALSE(q.should_pause());
    ASSERT_TRUE(q.push(bytes(1)));
    EXPECT_TRUE(q.should_pause());
}

TEST(OutboundQueue, HighTotalPausesOnlyConnectionsWithUnsentBytes) {
    std::atomic<std::uint64_t> total{0};
    OutboundQueue big(limits(), total);
    ASSERT_TRUE(big.push(bytes(2500)));  // total 2500 > 2000
    OutboundQueue idle(limits(), total);
    EXPECT_FALSE(idle.should_pause());
    OutboundQueue small(limits(), total);
    ASSERT_TRUE(small.push(bytes(10)));
    EXPECT_TRUE(small.should_pause());
    big.pop_front();
    EXPECT_FALSE(small.should_pause());
}

TEST(OutboundQueue, GivesItsBytesBackToTheTotal) {
    std::atomic<std::uint64_t> total{0};
    {
        OutboundQueue q(limits(), total);
        ASSERT_TRUE(q.push(bytes(100)));
        ASSERT_TRUE(q.push(bytes(200)));
        ASSERT_TRUE(q.push(bytes(300)));
        q.drop_unsent();  // keeps the front (being written)
        EXPECT_EQ(q.size(), 1u);
        EXPECT_EQ(q.bytes(), 100u);
        EXPECT_EQ(total.load(), 100u);
        q.pop_front();
        EXPECT_EQ(total.load(), 0u);
        ASSERT_TRUE(q.push(bytes(50)));
        ASSERT_TRUE(q.push(bytes(50)));
        q.clear();
        EXPECT_EQ(total.load(), 0u);
        ASSERT_TRUE(q.push(bytes(70)));
    }
    EXPECT_EQ(total.load(), 0u);  // the destructor gave back the rest
}

}  // namespace
}  // namespace keybridge::daemon::net
