// Insight's chain lookups as the daemon answers them (daemon/methods/chain_facts.h): the node's
// answers to eth_call / eth_estimateGas become a simulation, token symbols are read as strings or
// bytes32 and never taken when they are not plain ASCII, and the recording lookup notes what
// insight asked.
#include "daemon/methods/chain_facts.h"

#include <gtest/gtest.h>

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using insight::Simulation;

rpc::Outcome ok(std::string result) {
    return json::value(json::string(result));
}
rpc::Outcome node_error(int code, std::string message, std::optional<json::value> data = {}) {
    return tl::unexpected(rpc::RpcError{code, std::move(message), std::move(data)});
}

const std::string kPanic11 =
    "0x4e487b710000000000000000000000000000000000000000000000000000000000000011";

TEST(ChainFacts, SimulationFromTheNodesAnswers) {
    // Both ran: succeeds, with the estimate.
    Simulation s = simulation_from(ok("0x"), ok("0xc350"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Succeeds);
    EXPECT_EQ(s.gas_needed, 50000u);
    // geth / anvil: code 3 with the revert data.
    s = simulation_from(node_error(3, "execution reverted: panic", json::value(kPanic11)),
                        node_error(3, "execution reverted", json::value(kPanic11)));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Reverts);
    EXPECT_EQ(core::hex_encode(s.revert_data), kPanic11);
    EXPECT_EQ(s.node_message, "execution reverted: panic");
    // Data nested as {"data": …} and a node that only says it in words.
    s = simulation_from(node_error(-32000, "Reverted", json::object{{"data", kPanic11}}),
                        ok("0x1"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Reverts);
    EXPECT_EQ(core::hex_encode(s.revert_data), kPanic11);
    s = simulation_from(node_error(-32000, "insufficient funds for transfer"),
                        node_error(-32000, "insufficient funds for transfer"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Reverts);
    EXPECT_TRUE(s.revert_data.empty());
    // The call ran but the estimate fails: it would fail as sent.
    s = simulation_from(ok("0x"), node_error(-32000, "gas required exceeds allowance (30000000)"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Reverts);
    // A dead or limited node is no prediction, with why.
    s = simulation_from(
        node_error(rpc::kChainDisconnected, "the chain's RPC node is unreachable: timed out"),
        node_error(rpc::kChainDisconnected, "the chain's RPC node is unreachable: timed out"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Unknown);
    EXPECT_EQ(s.note,
              "the node could not pre-run the transaction: the chain's RPC node is "
              "unreachable: timed out");
    s = simulation_from(node_error(-32601, "method not found"), node_error(-32601, "no"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Unknown);
    // The call could not run but the estimate did: it succeeds given that much gas.
    s = simulation_from(node_error(-32601, "method not found"), ok("0x5208"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Succeeds);
    EXPECT_EQ(s.gas_needed, 21000u);
    // anvil, for a gas limit below the intrinsic cost.
    s = simulation_from(node_error(-32003, "intrinsic gas too high -- CallGasCostMoreThanGasLimit"),
                        ok("0xc350"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Reverts);
    // The call ran and the estimate is unavailable: succeeds, without a gas figure.
    s = simulation_from(ok("0x"), node_error(-32601, "method not found"));
    EXPECT_EQ(s.outcome, Simulation::Outcome::Succeeds);
    EXPECT_FALSE(s.gas_needed.has_value());
}

TEST(ChainFacts, TokenSymbolsAsStringsOrBytes32AndOnlyPlainAscii) {
    // ABI string "USDC".
    EXPECT_EQ(token_symbol_from("0x0000000000000000000000000000000000000000000000000000000000000020"
                                "0000000000000000000000000000000000000000000000000000000000000004"
                                "5553444300000000000000000000000000000000000000000000000000000000"),
              "USDC");
    // bytes32 "MKR" (Maker's token).
    EXPECT_EQ(
        token_symbol_from("0x4d4b520000000000000000000000000000000000000000000000000000000000"),
        "MKR");
    // "USDС" with a Cyrillic С: refused, the amount stays raw.
    EXPECT_EQ(token_symbol_from("0x0000000000000000000000000000000000000000000000000000000000000020"
                                "0000000000000000000000000000000000000000000000000000000000000005"
                                "555344d0a1000000000000000000000000000000000000000000000000000000"),
              std::nullopt);
    EXPECT_EQ(token_symbol_from("0x"), std::nullopt);
    EXPECT_EQ(
        token_symbol_from("0x0000000000000000000000000000000000000000000000000000000000000000"),
        std::nullopt);  // bytes32 of nothing
}

TEST(ChainFacts, RecordsInsightsQuestionsAndAnswersFromWhatTheNodeSaid) {
    const auto contract = *core::Address::parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");
    ChainFacts facts;
    EXPECT_FALSE(facts.asked_anything());
    EXPECT_EQ(facts.has_code(contract), std::nullopt);
    EXPECT_TRUE(facts.asked_anything());
    facts.set_code(contract, true);
    facts.set_token(contract, insight::TokenInfo{"KBT", 6, true});
    facts.set_nonce(7);
    EXPECT_EQ(facts.has_code(contract), true);
    EXPECT_EQ(facts.token(contract)->symbol, "KBT");
    EXPECT_EQ(facts.pending_nonce(contract), 7u);
    EXPECT_EQ(facts.base_fee(), std::nullopt);
    EXPECT_EQ(facts.simulation(), std::nullopt);
}

}  // namespace
}  // namespace keybridge::daemon
