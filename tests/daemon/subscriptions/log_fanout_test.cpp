#include "daemon/subscriptions/log_fanout.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::daemon::subscriptions {
namespace {

namespace json = boost::json;

std::string word(unsigned value, std::size_t digits) {
    std::string hex;
    for (std::size_t i = 0; i < digits; ++i) {
        hex.insert(hex.begin(), "0123456789abcdef"[value & 0xf]);
        value >>= 4;
    }
    return "0x" + hex;
}
std::string address(unsigned k) {
    return word(0xa000 + k, 40);
}
std::string topic(unsigned x) {
    return word(0x100 + x, 64);
}

LogFilter filter(std::string_view text) {
    json::value v = json::parse(text);
    auto parsed = parse_log_filter(&v, "params[1]");
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(LogFilter{});
}
std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

json::value log_of(unsigned k, std::vector<unsigned> topics, unsigned index) {
    json::array t;
    for (unsigned x : topics)
        t.emplace_back(topic(x));
    return json::object{{"address", address(k)},
                        {"topics", std::move(t)},
                        {"logIndex", word(index, 1)},
                        {"blockHash", word(1, 64)}};
}

TEST(LogFanout, MergesAddressesWhenEveryFilterNamesSome) {
    LogFanout fanout(
        {filter(R"({"address":)" + quoted(address(1)) + "}"),
         filter(R"({"address":[)" + quoted(address(2)) + "," + quoted(address(1)) + "]}")});
    EXPECT_EQ(fanout.merged().addresses, (std::vector<std::string>{address(1), address(2)}));
    EXPECT_TRUE(fanout.merged().topics.empty());
    EXPECT_EQ(fanout.max_blocks(), 0u);
}

TEST(LogFanout, AnyAddressWhenOneFilterTakesAnyAndThenBoundsTheRange) {
    LogFanout fanout({filter(R"({"address":)" + quoted(address(1)) + "}"),
                      filter(R"({"topics":[)" + quoted(topic(1)) + "]}")});
    EXPECT_TRUE(fanout.merged().addresses.empty());
    EXPECT_EQ(fanout.max_blocks(), LogFanout::kAnyAddressBlocks);
}

TEST(LogFanout, AnyAddressPastTheMergedBound) {
    std::vector<LogFilter> filters;
    for (unsigned i = 0; i < 5; ++i) {
        std::string list;
        for (unsigned j = 0; j < 250; ++j)
            list += (j ? "," : "") + quoted(address(i * 250 + j));
        filters.push_back(filter(R"({"address":[)" + list + "]}"));
    }
    LogFanout fanout(std::move(filters));  // 1,250 addresses together
    EXPECT_TRUE(fanout.merged().addresses.empty());
}

TEST(LogFanout, MergesTopicPositionsThatEveryFilterRestricts) {
    LogFanout fanout(
        {filter(R"({"topics":[)" + quoted(topic(1)) + ",null," + quoted(topic(5)) + "]}"),
         filter(R"({"topics":[[)" + quoted(topic(2)) + "," + quoted(topic(1)) + "]," +
                quoted(topic(3)) + "]}")});
    // Positions: the shorter filter's two; position 0 restricted by both, position 1 not.
    ASSERT_EQ(fanout.merged().topics.size(), 2u);
    EXPECT_EQ(fanout.merged().topics[0], (std::vector<std::string>{topic(1), topic(2)}));
    EXPECT_FALSE(fanout.merged().topics[1]);
}

TEST(LogFanout, NoTopicsWhenOneFilterHasNone) {
    LogFanout fanout({filter(R"({"topics":[)" + quoted(topic(1)) + "]}"), filter("{}")});
    EXPECT_TRUE(fanout.merged().topics.empty());
    EXPECT_TRUE(fanout.merged().addresses.empty());
}

// The split gives each filter what its own query and LogFilter::matches gave before, in the
// node's order, and the merged filter lets every one of those logs through.
TEST(LogFanout, EachFilterGetsExactlyWhatItMatchesInOrder) {
    std::vector<LogFilter> filters = {
        filter(R"({"address":)" + quoted(address(1)) + "}"),
        filter(R"({"address":[)" + quoted(address(1)) + "," + quoted(address(2)) +
               R"(],"topics":[null,)" + quoted(topic(7)) + "]}"),
        filter(R"({"topics":[)" + quoted(topic(3)) + "]}"),
        filter("{}"),
        filter(R"({"address":)" + quoted(address(3)) + R"(,"topics":[null,null,null]})"),
    };
    json::array logs;
    unsigned index = 0;
    for (unsigned k = 1; k <= 4; ++k) {
        logs.push_back(log_of(k, {3}, index++));
        logs.push_back(log_of(k, {1, 7}, index++));
        logs.push_back(log_of(k, {3, 7, 9}, index++));
        logs.push_back(log_of(k, {}, index++));
    }
    logs.push_back(json::value("not a log"));
    LogFanout fanout(filters);
    const auto split = fanout.split(logs);
    ASSERT_EQ(split.size(), filters.size());
    for (std::size_t i = 0; i < filters.size(); ++i) {
        json::array expected;
        for (const auto& log : logs) {
            if (filters[i].matches(log)) expected.push_back(log);
        }
        EXPECT_EQ(split[i].first, filters[i].key());
        EXPECT_EQ(split[i].second, expected) << "filter " << filters[i].key();
        for (const auto& log : expected)
            EXPECT_TRUE(fanout.merged().matches(log)) << json::serialize(log);
    }
    EXPECT_EQ(split[0].second.size(), 4u);  // address 1: all four of its logs
    EXPECT_EQ(split[3].second.size(), 16u);
}

TEST(LogFanout, EmptyWithoutFilters) {
    LogFanout fanout;
    EXPECT_TRUE(fanout.empty());
    EXPECT_TRUE(fanout.split(json::array{log_of(1, {}, 0)}).empty());
}

}  // namespace
}  // namespace keybridge::daemon::subscriptions
