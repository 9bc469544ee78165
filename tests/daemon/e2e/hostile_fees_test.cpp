// keybridged end to end against a node that suggests ruinous fees (issue 9, "Fees outside the
// policy and unchecked"): the documented payment-bot policy never signs such a transaction
// unattended, a person sees a danger warning, and fees the node's own answers contradict are
// bounded before anyone sees them.
#include <fstream>
#include <limits>
#include <mutex>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "core/transaction.h"
#include "tests/daemon/e2e/daemon_process.h"
#include "tests/daemon/e2e/scripted_node.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

using HostileFees = DaemonTest;

const core::U256 kGwei = 1000000000ULL;
const core::U256 kEth = core::U256(1000000000000000000ULL);

std::string hex(const core::U256& v) {
    return core::u256_to_quantity(v);
}

// The payment bot's ```policy block of docs/POLICY.md, as documented.
std::string documented_payment_bot_policy() {
    std::ifstream in(std::string(KEYBRIDGE_TEST_DATA_DIR) + "/../../docs/POLICY.md");
    std::stringstream text;
    text << in.rdbuf();
    const std::string doc = text.str();
    const std::regex block("```policy\n([^`]*)```");
    for (std::sregex_iterator it(doc.begin(), doc.end(), block), end; it != end; ++it) {
        const std::string rules = (*it)[1].str();
        if (rules.find("method=eth_sendTransaction account=") != std::string::npos &&
            rules.find("max-value=") != std::string::npos) {
            return rules;
        }
    }
    ADD_FAILURE() << "docs/POLICY.md has no payment-bot policy block";
    return "";
}

// A node whose every answer agrees on a base fee of `base` per gas (latest block and fee
// history) and whose recent blocks paid no tip: the filler has no contradiction to catch.
void consistent_base_fee(ScriptedNode& node, const core::U256& base) {
    json::object block{{"number", "0x10"},
                       {"hash", "0x" + std::string(64, '1')},
                       {"gasLimit", "0x1c9c380"},  // 30,000,000
                       {"gasUsed", "0x0"},
                       {"baseFeePerGas", hex(base)}};
    node.answer("eth_getBlockByNumber", block);
    json::array bases, rewards, ratios;
    for (int i = 0; i < 10; ++i) {
        bases.push_back(json::string(hex(base)));
        rewards.push_back(json::array{"0x0"});
        ratios.push_back(0.5);
    }
    bases.push_back(json::string(hex(base)));
    node.answer("eth_feeHistory", json::object{{"oldestBlock", "0x7"},
                                               {"baseFeePerGas", bases},
                                               {"gasUsedRatio", ratios},
                                               {"reward", rewards}});
}

json::value send(const RpcClient& client, const core::U256& value, const char* gas) {
    return client.call(
        "eth_sendTransaction",
        json::array{json::object{{"from", kFirstAccount},
                                 {"to", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
                                 {"value", hex(value)},
                                 {"gas", gas}}});
}

// The warning of `id` the approver saw on `request`, or null.
const json::object* warning_of(const json::object& request, std::string_view id) {
    for (const json::value& w : request.at("warnings").as_array()) {
        if (w.at("id") == json::value(id)) return &w.as_object();
    }
    return nullptr;
}

// The reproduction: 0 ETH with a 63 ETH fee cap (21000 gas × 3,000,000 gwei, the node's base
// fee 1,500,000 gwei everywhere). The bot's rule allows 0.1 ETH; it used to sign this unattended.
TEST_F(HostileFees, PaymentBotPolicyDoesNotAutoSignA63EthFee) {
    ScriptedNode node(1);
    node.serve_defaults();
    consistent_base_fee(node, 1500000 * kGwei);
    const std::string policy = tmp_.write("policy", documented_payment_bot_policy());
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url(), "--policy", policy}));
    EXPECT_EQ(local().result("eth_requestAccounts").as_array().size(), 1u);  // the policy's

    Approver person(control_path(), [](const json::object&) { return std::string("reject"); });
    json::value sent = send(local(), 0, "0x5208");
    ASSERT_TRUE(sent.as_object().contains("error")) << "signed unattended: " << sent;
    EXPECT_EQ(sent.at("error").at("code"), json::value(4001)) << sent;
    EXPECT_EQ(node.calls("eth_sendRawTransaction"), 0u);
    person.stop();  // it records a request after deciding it
    const auto decided = person.seen();
    ASSERT_EQ(decided.size(), 1u);
    const json::object& seen = decided[0];
    EXPECT_EQ(seen.at("details").at("maxFeeWei"),
              json::value(core::u256_to_decimal(63 * kEth + 21000)));
    const json::object* large = warning_of(seen, "fee-large");
    ASSERT_NE(large, nullptr) << seen;
    EXPECT_EQ(large->at("severity"), json::value("danger"));
}

// Below the danger threshold, the fee still counts: 0.09 ETH plus a 0.02 ETH fee cap is above
// the bot's 0.1 ETH, so a person decides; 0.05 ETH at ordinary fees is still signed unattended.
TEST_F(HostileFees, PaymentBotLimitCountsValuePlusMaximumFee) {
    ScriptedNode node(1);
    node.serve_defaults();
    consistent_base_fee(node, 400 * kGwei);  // 25000 gas × 800 gwei = 0.02 ETH
    const std::string policy = tmp_.write("policy", documented_payment_bot_policy());
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url(), "--policy", policy}));
    ASSERT_EQ(local().result("eth_requestAccounts").as_array().size(), 1u);

    {
        Approver person(control_path(), [](const json::object&) { return std::string("reject"); });
        json::value sent = send(local(), 9 * kEth / 100, "0x61a8");
        ASSERT_TRUE(sent.as_object().contains("error")) << "signed unattended: " << sent;
        EXPECT_EQ(sent.at("error").at("code"), json::value(4001)) << sent;
        person.stop();
        const auto decided = person.seen();
        ASSERT_EQ(decided.size(), 1u);
        EXPECT_EQ(decided[0].at("warnings"), json::array{}) << decided[0];
    }
    EXPECT_EQ(node.calls("eth_sendRawTransaction"), 0u);

    consistent_base_fee(node, kGwei);
    json::value paid = send(local(), 5 * kEth / 100, "0x5208");
    EXPECT_TRUE(paid.as_object().contains("result")) << paid;
    EXPECT_EQ(node.calls("eth_sendRawTransaction"), 1u);
}

// A node whose fee history contradicts its latest block (next base fee 1,500,000 gwei after a
// block at 1 gwei, tips of 1,000,000 gwei): the filler bounds the fees by the block, so the bot
// pays an ordinary fee instead of signing a 63 ETH cap.
TEST_F(HostileFees, ContradictoryFeeHistoryIsBoundedBeforeSigning) {
    ScriptedNode node(1);
    node.serve_defaults();
    json::array bases, rewards, ratios;
    for (int i = 0; i < 10; ++i) {
        bases.push_back(json::string(hex(kGwei)));
        rewards.push_back(json::array{json::string(hex(1000000 * kGwei))});
        ratios.push_back(0.5);
    }
    bases.push_back(json::string(hex(1500000 * kGwei)));
    node.answer("eth_feeHistory", json::object{{"oldestBlock", "0x7"},
                                               {"baseFeePerGas", bases},
                                               {"gasUsedRatio", ratios},
                                               {"reward", rewards}});
    std::mutex mutex;
    std::vector<std::string> raws;
    node.on("eth_sendRawTransaction", [&](const json::array& params) {
        std::lock_guard lock(mutex);
        raws.emplace_back(params.at(0).as_string());
        return ScriptedNode::Answer{json::string("0x" + std::string(64, 'a')), std::nullopt, {}};
    });
    const std::string policy = tmp_.write("policy", documented_payment_bot_policy());
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url(), "--policy", policy}));
    ASSERT_EQ(local().result("eth_requestAccounts").as_array().size(), 1u);

    json::value sent = send(local(), 0, "0x5208");
    ASSERT_TRUE(sent.as_object().contains("result")) << sent;
    std::lock_guard lock(mutex);
    ASSERT_EQ(raws.size(), 1u);
    auto raw = core::hex_decode(raws[0], core::HexPrefix::Required);
    ASSERT_TRUE(raw);
    auto signed_tx = core::decode_signed(*raw);
    ASSERT_TRUE(signed_tx);
    // At most 2 × 1.125 gwei + a 2 gwei priority fee.
    EXPECT_EQ(signed_tx->tx.max_priority_fee_per_gas, 2 * kGwei);
    EXPECT_EQ(signed_tx->tx.max_fee_per_gas, 2 * (kGwei + kGwei / 8) + 2 * kGwei);
    EXPECT_NE(daemon_.log().find("out of reach"), std::string::npos) << daemon_.log();
}

// A page's transaction on a node with a consistent 3000 gwei base fee and an estimate of the
// whole block: 30,000,000 gas × 6000 gwei = 180 ETH at most. A person sees it as danger.
TEST_F(HostileFees, PersonSeesADangerWarningForA180EthFee) {
    ScriptedNode node(1);
    node.serve_defaults();
    consistent_base_fee(node, 3000 * kGwei);
    node.answer("eth_estimateGas", "0x1c9c380");  // the block gas limit
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url()}));
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));

    Approver person(control_path(), [](const json::object&) { return std::string("reject"); });
    json::value sent =
        page().call("eth_sendTransaction",
                    json::array{json::object{
                        {"from", kFirstAccount}, {"to", kFirstAccount}, {"value", "0x1"}}});
    EXPECT_EQ(sent.at("error").at("code"), json::value(4001)) << sent;
    person.stop();
    const auto decided = person.seen();
    ASSERT_EQ(decided.size(), 1u);
    const json::object& seen = decided[0];
    EXPECT_EQ(seen.at("details").at("gas"), json::value("0x1c9c380"));  // margin stops at the limit
    const json::object* large = warning_of(seen, "fee-large");
    ASSERT_NE(large, nullptr) << seen;
    EXPECT_EQ(large->at("severity"), json::value("danger"));
    EXPECT_NE(std::string(large->at("detail").as_string()).find("180.00000000003 ETH"),
              std::string::npos)
        << *large;
    const json::object* above = warning_of(seen, "fee-above-value");
    ASSERT_NE(above, nullptr) << seen;
    EXPECT_EQ(above->at("severity"), json::value("danger"));
}

// A page may give any 256-bit fee cap: gas × cap does not fit 256 bits. The maximum fee saturates
// (above every limit, with the danger warning) instead of throwing inside the signing flow.
TEST_F(HostileFees, AFeeCapBeyond256BitsSaturates) {
    ScriptedNode node(1);
    node.serve_defaults();
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url()}));
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    Approver person(control_path(), [](const json::object&) { return std::string("reject"); });
    const std::string max = "0x" + std::string(64, 'f');
    json::value sent = page().call("eth_sendTransaction",
                                   json::array{json::object{{"from", kFirstAccount},
                                                            {"to", kFirstAccount},
                                                            {"gas", "0x5208"},
                                                            {"maxFeePerGas", max},
                                                            {"maxPriorityFeePerGas", "0x1"}}});
    EXPECT_EQ(sent.at("error").at("code"), json::value(4001)) << sent;
    person.stop();
    const auto decided = person.seen();
    ASSERT_EQ(decided.size(), 1u);
    EXPECT_EQ(decided[0].at("details").at("maxFeeWei"),
              json::value(core::u256_to_decimal(std::numeric_limits<core::U256>::max())));
    EXPECT_NE(warning_of(decided[0], "fee-large"), nullptr) << decided[0];
    EXPECT_EQ(local().result("eth_chainId"), json::value("0x1"));  // still serving
}

}  // namespace
}  // namespace keybridge::test::e2e
