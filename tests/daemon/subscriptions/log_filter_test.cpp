#include "daemon/subscriptions/log_filter.h"

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::daemon::subscriptions {
namespace {

namespace json = boost::json;

const std::string kAddress = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const std::string kTopicA = "0x" + std::string(64, 'a');
const std::string kTopicB = "0x" + std::string(64, 'b');

rpc::ParamResult<LogFilter> parse(std::string_view text) {
    json::value v = json::parse(text);
    return parse_log_filter(&v, "params[1]");
}

// The error message of a filter that must be refused with -32602.
std::string refused(std::string_view text) {
    auto result = parse(text);
    if (result) return "accepted: " + std::string(text);
    EXPECT_EQ(result.error().code, rpc::kInvalidParams) << text;
    return result.error().message;
}

TEST(LogFilter, AbsentOrNullOrEmptyMatchesEverything) {
    auto absent = parse_log_filter(nullptr, "params[1]");
    ASSERT_TRUE(absent);
    EXPECT_TRUE(absent->addresses.empty());
    EXPECT_TRUE(absent->topics.empty());
    EXPECT_EQ(json::serialize(absent->to_json()), "{}");
    for (const char* text :
         {"null", "{}", R"({"address":null,"topics":null})", R"({"address":[],"topics":[]})"}) {
        auto f = parse(text);
        ASSERT_TRUE(f) << text;
        EXPECT_EQ(f->key(), "{}") << text;
    }
}

TEST(LogFilter, AcceptsOneAddressOrAListInAnyCase) {
    auto one = parse(R"({"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3"})");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->addresses, std::vector<std::string>{kAddress});
    auto list = parse(R"({"address":["0x5FbDB2315678afecb367f032d93F642f64180aa3",
                                     "0x0000000000000000000000000000000000000001",
                                     "0x5fbdb2315678afecb367f032d93f642f64180aa3"]})");
    ASSERT_TRUE(list);
    // Lower case, duplicates dropped, order kept.
    EXPECT_EQ(list->addresses,
              (std::vector<std::string>{kAddress, "0x0000000000000000000000000000000000000001"}));
    EXPECT_EQ(
        json::serialize(list->to_json()),
        R"({"address":[")" + kAddress + R"(","0x0000000000000000000000000000000000000001"]})");
}

TEST(LogFilter, RefusesBadAddressesNamingTheField) {
    EXPECT_EQ(refused(R"({"address":"0x1234"})"),
              "params[1].address: must be 20-byte hex (0x + 40 hex digits) or an array");
    EXPECT_EQ(refused(R"({"address":42})"),
              "params[1].address: must be 20-byte hex (0x + 40 hex digits) or an array");
    // 20 bytes without the prefix, 21 bytes, a non-hex digit, a 32-byte value.
    EXPECT_EQ(refused(R"({"address":["0x0000000000000000000000000000000000000001",
                                      "5fbdb2315678afecb367f032d93f642f64180aa3"]})"),
              "params[1].address[1]: must be 20-byte hex (0x + 40 hex digits)");
    EXPECT_EQ(refused(R"({"address":["0x5fbdb2315678afecb367f032d93f642f64180aa300"]})"),
              "params[1].address[0]: must be 20-byte hex (0x + 40 hex digits)");
    EXPECT_EQ(refused(R"({"address":["0x5fbdb2315678afecb367f032d93f642f64180aag"]})"),
              "params[1].address[0]: must be 20-byte hex (0x + 40 hex digits)");
    EXPECT_EQ(refused(R"({"address":[null]})"),
              "params[1].address[0]: must be 20-byte hex (0x + 40 hex digits)");
    EXPECT_EQ(refused(R"({"address":[")" + kTopicA + R"("]})"),
              "params[1].address[0]: must be 20-byte hex (0x + 40 hex digits)");
}

TEST(LogFilter, AcceptsTopicPositionsNullHashOrAlternatives) {
    auto f = parse(R"({"topics":[")" + kTopicA + R"(",null,[")" + kTopicB + R"(",")" + kTopicA +
                   R"("],null]})");
    ASSERT_TRUE(f);
    ASSERT_EQ(f->topics.size(), 4u);
    EXPECT_EQ(f->topics[0], std::vector<std::string>{kTopicA});
    EXPECT_FALSE(f->topics[1]);
    EXPECT_EQ(f->topics[2], (std::vector<std::string>{kTopicB, kTopicA}));
    EXPECT_FALSE(f->topics[3]);
    // Trailing null positions are kept: as in geth they require that many topics.
    EXPECT_EQ(json::serialize(f->to_json()), R"({"topics":[[")" + kTopicA + R"("],null,[")" +
                                                 kTopicB + R"(",")" + kTopicA + R"("],null]})");
}

TEST(LogFilter, AnAlternativeListWithNullOrNothingIsAWildcard) {
    auto f = parse(R"({"topics":[[null,")" + kTopicA + R"("],[]]})");
    ASSERT_TRUE(f);
    ASSERT_EQ(f->topics.size(), 2u);
    EXPECT_FALSE(f->topics[0]);
    EXPECT_FALSE(f->topics[1]);
}

TEST(LogFilter, UpperCaseTopicsAreLowered) {
    auto f = parse(R"({"topics":["0x)" + std::string(64, 'A') + R"("]})");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->topics[0], std::vector<std::string>{kTopicA});
}

TEST(LogFilter, RefusesBadTopicsNamingTheField) {
    EXPECT_EQ(refused(R"({"topics":"0x00"})"),
              "params[1].topics: must be an array of up to 4 topic positions");
    EXPECT_EQ(refused(R"({"topics":[null,null,null,null,null]})"),
              "params[1].topics: has 5 positions; a log has at most 4 topics");
    EXPECT_EQ(refused(R"({"topics":[null,"0x1234"]})"),
              "params[1].topics[1]: must be null or 32-byte hex (0x + 64 hex digits) or an array");
    EXPECT_EQ(refused(R"({"topics":[[")" + kTopicA + R"(",7]]})"),
              "params[1].topics[0][1]: must be null or 32-byte hex (0x + 64 hex digits)");
    EXPECT_EQ(refused(R"({"topics":[[[")" + kTopicA + R"("]]]})"),
              "params[1].topics[0][0]: must be null or 32-byte hex (0x + 64 hex digits)");
    // A bad entry after a null in the same list is still refused.
    EXPECT_EQ(refused(R"({"topics":[[null,"0xzz"]]})"),
              "params[1].topics[0][1]: must be null or 32-byte hex (0x + 64 hex digits)");
    EXPECT_EQ(refused(R"({"topics":[")" + kAddress + R"("]})"),
              "params[1].topics[0]: must be null or 32-byte hex (0x + 64 hex digits) or an array");
}

TEST(LogFilter, RefusesOtherFieldsAndNonObjects) {
    EXPECT_EQ(refused(R"({"fromBlock":"0x1"})"),
              "params[1].fromBlock: is not a logs subscription field (only address and topics)");
    EXPECT_EQ(refused(R"({"address":null,"blockHash":null})"),
              "params[1].blockHash: is not a logs subscription field (only address and topics)");
    EXPECT_EQ(refused(R"(["0x00"])"),
              "params[1]: the logs filter must be an object {address, topics}");
    EXPECT_EQ(refused(R"("logs")"),
              "params[1]: the logs filter must be an object {address, topics}");
}

TEST(LogFilter, RefusesOversizedLists) {
    json::array addresses;
    for (std::size_t i = 0; i <= kMaxFilterAddresses; ++i) {
        std::string hex = std::to_string(i);
        addresses.emplace_back("0x" + std::string(40 - hex.size(), '0') + hex);
    }
    json::value v = json::object{{"address", addresses}};
    auto too_many = parse_log_filter(&v, "params[1]");
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().message, "params[1].address: more than 256 addresses");
    addresses.pop_back();
    v = json::object{{"address", addresses}};
    auto at_limit = parse_log_filter(&v, "params[1]");
    ASSERT_TRUE(at_limit);
    EXPECT_EQ(at_limit->addresses.size(), kMaxFilterAddresses);

    json::array alternatives(kMaxTopicAlternatives + 1, json::value(kTopicA));
    json::array topics;  // [alternatives]: json::array{alternatives} is a copy under clang
    topics.emplace_back(alternatives);
    v = json::object{{"topics", topics}};
    auto too_wide = parse_log_filter(&v, "params[1]");
    ASSERT_FALSE(too_wide);
    EXPECT_EQ(too_wide.error().message, "params[1].topics[0]: more than 256 alternatives");
}

TEST(LogFilter, EqualFiltersShareAKey) {
    auto a = parse(R"({"address":["0x0000000000000000000000000000000000000001",")" + kAddress +
                   R"("],"topics":[[")" + kTopicB + R"(",")" + kTopicA + R"("]]})");
    auto b = parse(R"({"topics":[[")" + kTopicA + R"(",")" + kTopicB + R"("]],"address":[")" +
                   kAddress + R"(","0x0000000000000000000000000000000000000001"]})");
    auto c = parse(R"({"topics":[[")" + kTopicA + R"("]]})");
    auto d = parse(R"({"topics":[[")" + kTopicA + R"("],null]})");
    ASSERT_TRUE(a && b && c && d);
    EXPECT_EQ(a->key(), b->key());
    EXPECT_NE(a->key(), c->key());
    EXPECT_NE(c->key(), d->key());  // one more required topic is another filter
}

json::value log_at(const std::string& address, std::vector<std::string> topics) {
    json::array t;
    for (auto& topic : topics)
        t.emplace_back(topic);
    return json::object{{"address", address}, {"topics", t}, {"data", "0x"}};
}

TEST(LogFilter, MatchesLikeGeth) {
    const std::string other = "0x0000000000000000000000000000000000000001";
    const auto one = log_at("0x5FbDB2315678afecb367f032d93F642f64180aa3", {kTopicA});
    const auto two = log_at(kAddress, {kTopicA, kTopicB});
    const auto none = log_at(kAddress, {});
    const std::string a = kTopicA, b = kTopicB;
    const std::vector<std::pair<std::string, std::array<bool, 3>>> cases = {
        {"{}", {true, true, true}},
        {R"({"address":")" + kAddress + R"("})", {true, true, true}},
        {R"({"address":")" + other + R"("})", {false, false, false}},
        {R"({"address":[")" + other + R"(",")" + kAddress + R"("]})", {true, true, true}},
        {R"({"topics":[")" + a + R"("]})", {true, true, false}},
        {R"({"topics":[")" + b + R"("]})", {false, false, false}},
        {R"({"topics":[null]})", {true, true, false}},  // one position: needs one topic
        {R"({"topics":[")" + a + R"(",null]})", {false, true, false}},  // needs two topics
        {R"({"topics":[null,")" + b + R"("]})", {false, true, false}},
        {R"({"topics":[[")" + b + R"(",")" + a + R"("],[")" + b + R"("]]})", {false, true, false}},
        {R"({"topics":[null,null,null]})", {false, false, false}},
    };
    std::size_t checked = 0;
    for (const auto& [text, expected] : cases) {
        auto f = parse(text);
        ASSERT_TRUE(f) << text;
        EXPECT_EQ(f->matches(one), expected[0]) << text;
        EXPECT_EQ(f->matches(two), expected[1]) << text;
        EXPECT_EQ(f->matches(none), expected[2]) << text;
        ++checked;
    }
    EXPECT_EQ(checked, 11u);
    // Not a log object: never a match.
    LogFilter any;
    EXPECT_FALSE(any.matches(json::value("0x")));
    EXPECT_FALSE(any.matches(json::object{{"address", kAddress}}));
    EXPECT_FALSE(any.matches(json::object{{"topics", json::array{}}}));
}

}  // namespace
}  // namespace keybridge::daemon::subscriptions
