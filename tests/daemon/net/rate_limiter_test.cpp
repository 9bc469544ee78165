#include "daemon/net/rate_limiter.h"

#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A fake clock: the limiter takes the time as an argument.
class RateLimiterTest : public ::testing::Test {
  protected:
    RateLimiter::Clock::time_point t0_ = RateLimiter::Clock::time_point(seconds(1000));

    // How many single requests pass at `now` before the first refusal (at most `limit`).
    static int drain(RateLimiter& limiter, const std::string& who,
                     RateLimiter::Clock::time_point now, int limit = 1000) {
        int passed = 0;
        while (passed < limit && limiter.allow(who, 1.0, now))
            ++passed;
        return passed;
    }
};

TEST_F(RateLimiterTest, BurstThenRefuses) {
    RateLimiter limiter(5, 5);
    EXPECT_EQ(drain(limiter, "a", t0_), 5);
    EXPECT_FALSE(limiter.allow("a", 1.0, t0_));
}

TEST_F(RateLimiterTest, RefillsAtTheRate) {
    RateLimiter limiter(5, 5);
    EXPECT_EQ(drain(limiter, "a", t0_), 5);
    EXPECT_FALSE(limiter.allow("a", 1.0, t0_ + milliseconds(100)));  // half a token
    EXPECT_TRUE(limiter.allow("a", 1.0, t0_ + milliseconds(200)));   // one token since t0
    EXPECT_FALSE(limiter.allow("a", 1.0, t0_ + milliseconds(200)));
    EXPECT_EQ(drain(limiter, "a", t0_ + milliseconds(800)), 3);
}

TEST_F(RateLimiterTest, NeverHoldsMoreThanTheBurst) {
    RateLimiter limiter(5, 5);
    EXPECT_TRUE(limiter.allow("a", 1.0, t0_));
    EXPECT_EQ(drain(limiter, "a", t0_ + seconds(30)), 5);
    EXPECT_EQ(drain(limiter, "a", t0_ + seconds(3600)), 5);  // after the idle sweep, too
}

TEST_F(RateLimiterTest, PrincipalsHaveSeparateBuckets) {
    RateLimiter limiter(1, 2);
    EXPECT_EQ(drain(limiter, "https://a.example", t0_), 2);
    EXPECT_EQ(drain(limiter, "https://b.example", t0_), 2);
    EXPECT_EQ(drain(limiter, "local", t0_), 2);
    EXPECT_FALSE(limiter.allow("https://a.example", 1.0, t0_));
}

TEST_F(RateLimiterTest, CostTakesSeveralTokens) {
    RateLimiter limiter(10, 10);
    EXPECT_TRUE(limiter.allow("a", 7.0, t0_));
    EXPECT_FALSE(limiter.allow("a", 4.0, t0_));  // refused whole: nothing taken
    EXPECT_TRUE(limiter.allow("a", 3.0, t0_));
    EXPECT_FALSE(limiter.allow("a", 1.0, t0_));
    // A batch larger than the burst can never pass.
    EXPECT_FALSE(limiter.allow("b", 11.0, t0_ + seconds(100)));
    EXPECT_TRUE(limiter.allow("b", 10.0, t0_ + seconds(100)));
}

TEST_F(RateLimiterTest, ClockGoingBackwardsGivesNothingExtra) {
    RateLimiter limiter(5, 5);
    EXPECT_EQ(drain(limiter, "a", t0_ + seconds(10)), 5);
    EXPECT_EQ(drain(limiter, "a", t0_ + seconds(9)), 0);
    EXPECT_EQ(drain(limiter, "a", t0_ + seconds(10)), 0);
}

TEST_F(RateLimiterTest, SweepKeepsBusyBuckets) {
    RateLimiter limiter(1, 3);
    EXPECT_EQ(drain(limiter, "busy", t0_), 3);
    // Another principal triggers the sweep 61 s later; "busy" refilled meanwhile anyway.
    EXPECT_TRUE(limiter.allow("other", 1.0, t0_ + seconds(61)));
    EXPECT_EQ(drain(limiter, "busy", t0_ + seconds(61)), 3);
    EXPECT_EQ(drain(limiter, "busy", t0_ + seconds(62)), 1);
}

}  // namespace
}  // namespace keybridge::daemon::net
