#include "store/permissions/recent_chains.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::permissions {
namespace {

TEST(RecentChains, KeepsAtMostItsCapacityForgettingTheLeastRecentlyUsed) {
    RecentChains chains(3);
    chains.set("a", 1);
    chains.set("b", 2);
    chains.set("c", 3);
    EXPECT_EQ(chains.find("a"), 1u);  // a use: "b" is now the least recent
    chains.set("d", 4);
    EXPECT_EQ(chains.size(), 3u);
    EXPECT_FALSE(chains.find("b"));
    EXPECT_EQ(chains.find("a"), 1u);
    EXPECT_EQ(chains.find("c"), 3u);
    EXPECT_EQ(chains.find("d"), 4u);
}

TEST(RecentChains, ReplacingAChainDoesNotGrowNorEvict) {
    RecentChains chains(2);
    chains.set("a", 1);
    chains.set("b", 2);
    chains.set("a", 10);  // "a" is the most recent now
    EXPECT_EQ(chains.size(), 2u);
    chains.set("c", 3);
    EXPECT_FALSE(chains.find("b"));
    EXPECT_EQ(chains.find("a"), 10u);
}

TEST(RecentChains, TakeRemovesTheOrigin) {
    RecentChains chains(2);
    chains.set("a", 1);
    EXPECT_EQ(chains.take("a"), 1u);
    EXPECT_FALSE(chains.take("a"));
    EXPECT_EQ(chains.size(), 0u);
    chains.set("b", 2);
    chains.set("c", 3);
    EXPECT_EQ(chains.size(), 2u);
}

TEST(RecentChains, AFloodOfNamesStaysBounded) {
    RecentChains chains;
    for (int i = 0; i < 20000; ++i)
        chains.set("http://o" + std::to_string(i) + ".example", 1);
    EXPECT_EQ(chains.size(), RecentChains::kDefaultCapacity);
    EXPECT_EQ(chains.find("http://o19999.example"), 1u);
    EXPECT_FALSE(chains.find("http://o0.example"));
}

TEST(RecentChains, ACapacityOfZeroStillKeepsTheLatest) {
    RecentChains chains(0);
    chains.set("a", 1);
    EXPECT_EQ(chains.capacity(), 1u);
    EXPECT_EQ(chains.find("a"), 1u);
}

}  // namespace
}  // namespace keybridge::permissions
