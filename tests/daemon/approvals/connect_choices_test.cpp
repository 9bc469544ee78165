#include "daemon/approvals/connect_choices.h"

#include <gtest/gtest.h>

namespace keybridge::daemon::approvals {
namespace {

namespace json = boost::json;

const core::Address kA = *core::Address::parse("0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");
const core::Address kB = *core::Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
const core::Address kOutsider = *core::Address::parse("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");

std::string choice_parse_error(const json::value& arg) {
    auto r = parse_account_choice(arg, {kA, kB});
    EXPECT_FALSE(r) << arg;
    if (r) return "";
    EXPECT_EQ(r.error().code, core::ErrorCode::InvalidArgument);
    return r.error().detail;
}

TEST(ParseAccountChoice, AcceptsVaultAccountsInTheOrderGivenInAnyCase) {
    auto r = parse_account_choice(
        json::object{{"accounts", json::array{json::string(kB.to_lower_string()),
                                              json::string(kA.to_checksum_string())}}},
        {kA, kB});
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(*r, (std::vector<core::Address>{kB, kA}));
}

TEST(ParseAccountChoice, RefusesWithTheFieldNamed) {
    EXPECT_EQ(choice_parse_error(json::array{}),
              "params[2] must be an object like {\"accounts\": [\"0x…\"]}");
    EXPECT_EQ(choice_parse_error(json::object{}),
              "params[2].accounts must be a non-empty array of the vault's addresses");
    EXPECT_EQ(choice_parse_error(json::object{{"accounts", json::array{}}}),
              "params[2].accounts must be a non-empty array of the vault's addresses");
    EXPECT_EQ(choice_parse_error(json::object{
                  {"accounts", json::array{json::string(kA.to_checksum_string())}}, {"extra", 1}}),
              "params[2]: unknown field 'extra' (only accounts)");
    EXPECT_EQ(choice_parse_error(json::object{
                  {"accounts", json::array{json::string(kA.to_checksum_string()), 7}}}),
              "params[2].accounts[1] must be a 20-byte hex address (0x + 40 hex digits)");
    EXPECT_EQ(choice_parse_error(json::object{
                  {"accounts", json::array{json::string(kOutsider.to_checksum_string())}}}),
              "params[2].accounts[0]: " + kOutsider.to_checksum_string() +
                  " is not an account of the vault");
    EXPECT_EQ(choice_parse_error(
                  json::object{{"accounts", json::array{json::string(kA.to_checksum_string()),
                                                        json::string(kA.to_lower_string())}}}),
              "params[2].accounts[1]: " + kA.to_checksum_string() + " is listed twice");
}

TEST(ConnectChoices, TheCallbackFindsTheChoiceOfTheDecisionThatSucceeded) {
    ConnectChoices choices;
    bool pending = true;
    // The queue accepts the first decision only.
    const auto decide_in_queue = [&pending]() -> core::Status {
        if (!pending) return core::fail(core::ErrorCode::NotFound, "no pending request 4");
        pending = false;
        return {};
    };
    ASSERT_TRUE(
        choices.decide(4, ConnectChoice{Decision::Approve, std::vector{kB}}, decide_in_queue));
    // A second approver, too late: refused, and the first choice stays for the callback.
    EXPECT_FALSE(choices.decide(4, ConnectChoice{Decision::Reject, std::nullopt}, decide_in_queue));
    auto taken = choices.take(4);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->decision, Decision::Approve);
    EXPECT_EQ(taken->accounts, (std::vector{kB}));
    EXPECT_FALSE(choices.take(4));
}

TEST(ConnectChoices, AFailedDecisionLeavesNoChoiceBehind) {
    ConnectChoices choices;
    auto gone = [] { return core::Status(core::fail(core::ErrorCode::NotFound, "gone")); };
    EXPECT_FALSE(choices.decide(5, ConnectChoice{Decision::Approve, std::vector{kA}}, gone));
    EXPECT_FALSE(choices.take(5));  // a policy or timeout answer finds nothing
}

}  // namespace
}  // namespace keybridge::daemon::approvals
