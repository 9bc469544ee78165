#include <gtest/gtest.h>

#include "daemon/services.h"

namespace keybridge::daemon {
namespace {

// A connection's jobs share one source: its tokens fire when it closes.
TEST(ConnectionStops, AClosedConnectionStopsItsJobs) {
    ConnectionStops stops;
    const std::stop_token first = stops.token_for(7);
    const std::stop_token second = stops.token_for(7);
    const std::stop_token other = stops.token_for(8);
    EXPECT_EQ(stops.tracked(), 2u);
    stops.closed(7);
    EXPECT_TRUE(first.stop_requested());
    EXPECT_TRUE(second.stop_requested());
    EXPECT_FALSE(other.stop_requested());
    EXPECT_EQ(stops.tracked(), 1u);
}

// An answered HTTP request releases its connection's source without firing it, and nothing is
// kept for it afterwards: a daemon that answered a million HTTP signatures tracks none of them.
TEST(ConnectionStops, AReleasedConnectionKeepsNothingAndStopsNothing) {
    ConnectionStops stops;
    std::stop_token token;
    for (std::uint64_t id = 1; id <= 1000; ++id) {
        token = stops.token_for(id);
        stops.release(id);
    }
    EXPECT_EQ(stops.tracked(), 0u);
    EXPECT_FALSE(token.stop_requested());
    stops.release(5000);  // never seen: nothing happens
    EXPECT_EQ(stops.tracked(), 0u);
}

// Shutdown fires every token and says how many connections had one; later ones are born stopped.
TEST(ConnectionStops, StopAllFiresEveryTokenAndCountsTheConnections) {
    ConnectionStops stops;
    const std::stop_token a = stops.token_for(1);
    const std::stop_token b = stops.token_for(2);
    stops.token_for(2);
    EXPECT_EQ(stops.stop_all(), 2u);
    EXPECT_TRUE(a.stop_requested());
    EXPECT_TRUE(b.stop_requested());
    EXPECT_TRUE(stops.token_for(3).stop_requested());
}

}  // namespace
}  // namespace keybridge::daemon
