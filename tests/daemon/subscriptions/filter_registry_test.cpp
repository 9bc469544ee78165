#include "daemon/subscriptions/filter_registry.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace keybridge::daemon::subscriptions {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A clock the test moves by hand.
struct FakeClock {
    std::chrono::steady_clock::time_point now{};
    FilterRegistry::Clock clock() {
        return [this] { return now; };
    }
};

const FilterOwner kPageHttp{"https://a.example", 0};
const FilterOwner kPageWs{"https://a.example", 7};
const FilterOwner kOtherHttp{"https://b.example", 0};
const FilterOwner kOtherWs{"https://b.example", 8};
const std::string kNode = "http://127.0.0.1:8545";

class FilterRegistryTest : public ::testing::Test {
  protected:
    FilterRegistry::Settings settings() {
        FilterRegistry::Settings s;
        s.max_per_owner = 3;
        s.max_total = 5;
        s.idle_timeout = 300s;
        return s;
    }
    FakeClock time;
    FilterRegistry filters{settings(), time.clock()};

    std::string add(const FilterOwner& owner, std::uint64_t chain = 1,
                    const char* upstream = "0x1") {
        auto id = filters.add(owner, chain, kNode, json::value(upstream));
        EXPECT_TRUE(id.has_value());
        return id.value_or("");
    }
};

TEST_F(FilterRegistryTest, HandsOutUnguessableLocalIdsMappedToTheNodesFilter) {
    std::set<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        const std::string id = add(kPageWs, 31337, "0x1");  // the node may repeat ids per node
        EXPECT_EQ(id.size(), 34u);
        EXPECT_EQ(id.substr(0, 2), "0x");
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), 3u);
    auto filter = filters.use(kPageWs, *ids.begin());
    ASSERT_TRUE(filter);
    EXPECT_EQ(filter->chain_id, 31337u);
    EXPECT_EQ(filter->node_url, kNode);
    EXPECT_EQ(filter->upstream_id, json::value("0x1"));
}

TEST_F(FilterRegistryTest, AnotherOwnerCanNeitherReadNorRemoveAFilter) {
    const std::string id = add(kPageWs);
    // Another origin, the same origin over HTTP, and another connection of the same origin.
    for (const auto& stranger :
         {kOtherWs, kOtherHttp, kPageHttp, FilterOwner{"https://a.example", 9}}) {
        EXPECT_FALSE(filters.use(stranger, id)) << stranger.principal << stranger.connection_id;
        EXPECT_FALSE(filters.remove(stranger, id));
    }
    EXPECT_TRUE(filters.use(kPageWs, id));
    EXPECT_TRUE(filters.remove(kPageWs, id));
    EXPECT_FALSE(filters.use(kPageWs, id));
    EXPECT_FALSE(filters.remove(kPageWs, id));
}

TEST_F(FilterRegistryTest, HttpFiltersBelongToTheOrigin) {
    const std::string id = add(kPageHttp);
    EXPECT_TRUE(filters.use(FilterOwner{"https://a.example", 0}, id));
    EXPECT_FALSE(filters.use(kOtherHttp, id));
}

TEST_F(FilterRegistryTest, BoundsFiltersPerOwnerAndInTotal) {
    add(kPageWs);
    add(kPageWs);
    add(kPageWs);
    EXPECT_FALSE(filters.has_room(kPageWs));
    EXPECT_FALSE(filters.add(kPageWs, 1, kNode, json::value("0x9")));
    EXPECT_EQ(filters.count(kPageWs), 3u);
    // Others still have room, up to the total.
    add(kOtherWs);
    add(kPageHttp);
    EXPECT_FALSE(filters.has_room(kOtherHttp));
    EXPECT_FALSE(filters.add(kOtherHttp, 1, kNode, json::value("0x9")));
    EXPECT_EQ(filters.size(), 5u);
}

// One origin cannot multiply its filters by opening connections.
TEST(FilterRegistry, BoundsOneOriginsFiltersOverAllItsConnections) {
    FilterRegistry::Settings s;
    s.max_per_owner = 3;
    s.max_per_principal = 7;
    s.max_total = 100;
    FilterRegistry filters(s);
    std::size_t added = 0;
    for (std::uint64_t connection = 1; connection <= 5; ++connection) {
        for (int i = 0; i < 3; ++i) {
            if (filters.add(FilterOwner{"https://a.example", connection}, 1, kNode,
                            json::value("0x1")))
                ++added;
        }
    }
    EXPECT_EQ(added, 7u);
    EXPECT_EQ(filters.count_principal("https://a.example"), 7u);
    EXPECT_FALSE(filters.has_room(FilterOwner{"https://a.example", 0}));
    EXPECT_TRUE(filters.has_room(kOtherWs));
}

TEST_F(FilterRegistryTest, AClosedConnectionLosesItsFiltersOnly) {
    const std::string mine = add(kPageWs, 1, "0xa");
    add(kPageWs, 1, "0xb");
    const std::string http = add(kPageHttp);
    const std::string other = add(kOtherWs);
    auto removed = filters.remove_connection(7);
    ASSERT_EQ(removed.size(), 2u);
    EXPECT_EQ(removed[0].node_url, kNode);
    EXPECT_FALSE(filters.use(kPageWs, mine));
    EXPECT_TRUE(filters.use(kPageHttp, http));
    EXPECT_TRUE(filters.use(kOtherWs, other));
    EXPECT_TRUE(filters.remove_connection(0).empty());  // 0 is no connection
}

TEST_F(FilterRegistryTest, ChainSwitchRemovesTheOriginsFiltersOnOtherChains) {
    const std::string old_ws = add(kPageWs, 1);
    const std::string old_http = add(kPageHttp, 1);
    const std::string same_chain = add(kPageWs, 5);
    const std::string other_origin = add(kOtherWs, 1);
    auto removed = filters.remove_other_chains("https://a.example", 5);
    EXPECT_EQ(removed.size(), 2u);
    EXPECT_FALSE(filters.use(kPageWs, old_ws));
    EXPECT_FALSE(filters.use(kPageHttp, old_http));
    EXPECT_TRUE(filters.use(kPageWs, same_chain));
    EXPECT_TRUE(filters.use(kOtherWs, other_origin));
}

TEST_F(FilterRegistryTest, FiltersNobodyPolledExpireAfterTheIdleTimeout) {
    const std::string polled = add(kPageHttp);
    const std::string forgotten = add(kPageHttp);
    time.now += 200s;
    EXPECT_TRUE(filters.use(kPageHttp, polled));
    time.now += 99s;
    EXPECT_TRUE(filters.remove_idle().empty());
    time.now += 1s;  // 300 s after `forgotten` was made, 100 s after `polled` was read
    auto removed = filters.remove_idle();
    ASSERT_EQ(removed.size(), 1u);
    EXPECT_EQ(removed[0].local_id, forgotten);
    time.now += 200s;
    EXPECT_EQ(filters.remove_idle().size(), 1u);
    EXPECT_EQ(filters.size(), 0u);
}

TEST_F(FilterRegistryTest, ForgetAndRemoveAll) {
    const std::string id = add(kPageWs);
    add(kOtherHttp);
    filters.forget(id);
    EXPECT_FALSE(filters.use(kPageWs, id));
    EXPECT_EQ(filters.remove_all().size(), 1u);
    EXPECT_EQ(filters.size(), 0u);
}

}  // namespace
}  // namespace keybridge::daemon::subscriptions
