// Insight in keybridged end to end (docs/INSIGHT.md): what the node says while filling a
// transaction reaches the explanation (no-code-at-recipient), and the config file's insight
// settings (known-address, phishing-block) change what is said.
#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"
#include "tests/daemon/e2e/scripted_node.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

using InsightE2e = DaemonTest;

constexpr const char* kContract = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

std::vector<std::string> warning_ids(const json::object& explained) {
    std::vector<std::string> ids;
    for (const auto& w : explained.at("warnings").as_array())
        ids.emplace_back(w.at("id").as_string());
    return ids;
}

json::object explain_call(const RpcClient& client, const std::string& to) {
    return client
        .result("keybridge_explainRequest",
                json::array{
                    json::object{{"method", "eth_signTransaction"},
                                 {"params", json::array{json::object{{"from", kFirstAccount},
                                                                     {"to", to},
                                                                     {"gas", "0x5208"},
                                                                     {"gasPrice", "0x3b9aca00"},
                                                                     {"nonce", "0x0"},
                                                                     {"data", "0xd0e30db0"}}}}}})
        .as_object();
}

TEST_F(InsightE2e, DataToAnAddressWithoutCodeIsReported) {
    ScriptedNode node(1);
    node.serve_defaults();
    node.answer("eth_getCode", "0x");
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url()}));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    EXPECT_EQ(warning_ids(explain_call(local(), kContract)),
              std::vector<std::string>{"no-code-at-recipient"});
    EXPECT_EQ(node.calls("eth_getCode"), 1u);
    node.answer("eth_getCode", "0x6080604052");
    const json::object with_code = explain_call(local(), kContract);
    EXPECT_EQ(warning_ids(with_code), std::vector<std::string>{});
    EXPECT_EQ(with_code.at("details").at("call").at("function"), json::value("deposit()"));
}

// The node pre-runs the transaction: a revert is predicted with its reason decoded (a Panic code's
// meaning, an ERC-6093 custom error with its arguments); a node that takes requests and never
// answers costs the explanation its chain facts after the lookups' deadline, never the request.
TEST_F(InsightE2e, RevertPredictionFromTheNode) {
    ScriptedNode node(1);
    node.serve_defaults();
    node.answer("eth_getCode", "0x6080604052");
    const std::string panic =
        "0x4e487b710000000000000000000000000000000000000000000000000000000000000011";
    auto reverting = [](std::string data) {
        return [data](const json::array&) {
            return ScriptedNode::Answer{
                nullptr,
                json::object{{"code", 3}, {"message", "execution reverted"}, {"data", data}},
                {}};
        };
    };
    node.on("eth_call", reverting(panic));
    node.on("eth_estimateGas", reverting(panic));
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url()}));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    json::object e = explain_call(local(), kContract);
    EXPECT_EQ(warning_ids(e), std::vector<std::string>{"predicted-revert"});
    EXPECT_NE(
        json::serialize(e.at("warnings")).find("panic 0x11: arithmetic overflow or underflow"),
        std::string::npos)
        << json::serialize(e.at("warnings"));
    EXPECT_EQ(e.at("details").at("simulation").at("reason").at("kind"), "Panic");
    EXPECT_GE(node.calls("eth_call"), 1u);
    EXPECT_GE(node.calls("eth_estimateGas"), 1u);

    // ERC20InsufficientBalance(sender, 5, 10).
    const std::string custom = "0xe450d38c" + std::string(24, '0') +
                               std::string(kFirstAccount).substr(2) + std::string(63, '0') + "5" +
                               std::string(63, '0') + "a";
    node.on("eth_call", reverting(custom));
    e = explain_call(local(), kContract);
    EXPECT_EQ(e.at("details").at("simulation").at("reason").at("name"), "ERC20InsufficientBalance");
    EXPECT_EQ(e.at("details").at("simulation").at("reason").at("arguments").at("needed"), "10");

    // The node takes the pre-run and never answers in time.
    node.answer("eth_call", "0x", std::chrono::seconds(6));
    node.answer("eth_estimateGas", "0x5208", std::chrono::seconds(6));
    const auto started = std::chrono::steady_clock::now();
    e = explain_call(local(), kContract);
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_LT(took, std::chrono::seconds(5));  // the lookups' deadline is 2.5 s
    EXPECT_EQ(warning_ids(e), std::vector<std::string>{});
    EXPECT_EQ(e.at("details").at("simulation").at("outcome"), "unknown");
    EXPECT_NE(
        std::string(e.at("details").at("simulation").at("note").as_string()).find("timed out"),
        std::string::npos);
}

TEST_F(InsightE2e, ConfigSettingsReachTheExplanation) {
    // A look-alike of the known address: same first and last four hex digits.
    const std::string known = "0xab5801a7d398351b8be11c439e05c5b3259aec9b";
    ASSERT_NO_FATAL_FAILURE(start({"--known-address", known, "--phishing-block", "evil.example"}));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    auto send_to = [&](const std::string& to) {
        return local()
            .result("keybridge_explainRequest",
                    json::array{
                        json::object{{"method", "eth_signTransaction"},
                                     {"params", json::array{json::object{{"from", kFirstAccount},
                                                                         {"to", to},
                                                                         {"gas", "0x5208"},
                                                                         {"gasPrice", "0x3b9aca00"},
                                                                         {"nonce", "0x0"},
                                                                         {"value", "0x1"}}}}}})
            .as_object();
    };
    EXPECT_EQ(warning_ids(send_to(known)), std::vector<std::string>{});
    EXPECT_EQ(warning_ids(send_to("0xab5801a7d398351b8be11c439e05c5b3259aec9b")),
              std::vector<std::string>{});
    EXPECT_EQ(warning_ids(send_to("0xab58111111111111111111111111111111eec9b1")),
              std::vector<std::string>{});  // ends in 9b1: not the same last four
    EXPECT_EQ(warning_ids(send_to("0xab58111111111111111111111111111111feec9b")),
              std::vector<std::string>{"address-poisoning"});
    // A page on the user's own phishing list: every request from it carries the danger.
    ASSERT_NO_FATAL_FAILURE(connect_account(page("https://app.evil.example")));
    const json::object message =
        local()
            .result("keybridge_explainRequest",
                    json::array{json::object{{"method", "personal_sign"},
                                             {"params", json::array{"0x6869", kFirstAccount}},
                                             {"origin", "https://app.evil.example"}}})
            .as_object();
    EXPECT_EQ(warning_ids(message), std::vector<std::string>{"site-phishing-list"});
}

}  // namespace
}  // namespace keybridge::test::e2e
