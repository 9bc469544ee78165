// The filler against a scripted node: what it takes from the node's answers, and which hostile
// answers it refuses or bounds (gas above the block's gas limit, fees far above recent blocks).
#include "daemon/methods/transaction_filler.h"

#include <limits>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "daemon/methods/fee_suggestion.h"
#include "tests/daemon/e2e/scripted_node.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using test::e2e::ScriptedNode;

const core::U256 kMax = std::numeric_limits<core::U256>::max();
const core::Address kFrom = *core::Address::parse("0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");

std::string hex(const core::U256& v) {
    return core::u256_to_quantity(v);
}

// A fee history of `blocks` blocks, every base fee `base` and the next one `next`, every
// block's median reward `reward`.
json::object history(const core::U256& base, const core::U256& next, const core::U256& reward,
                     int blocks = 10) {
    json::array bases, rewards, ratios;
    for (int i = 0; i < blocks; ++i) {
        bases.push_back(json::string(hex(base)));
        rewards.push_back(json::array{json::string(hex(reward))});
        ratios.push_back(0.5);
    }
    bases.push_back(json::string(hex(next)));
    return json::object{{"oldestBlock", "0x7"},
                        {"baseFeePerGas", bases},
                        {"gasUsedRatio", ratios},
                        {"reward", rewards}};
}

json::object block(std::uint64_t gas_limit, std::optional<core::U256> base_fee) {
    json::object b{{"number", "0x10"}, {"gasLimit", rpc::quantity(gas_limit)}, {"gasUsed", "0x0"}};
    if (base_fee) b["baseFeePerGas"] = hex(*base_fee);
    return b;
}

class FillerTest : public ::testing::Test {
  protected:
    FillerTest() : node_(1) { node_.serve_defaults(); }

    tl::expected<core::Transaction, rpc::RpcError> fill(rpc::TransactionRequest request) {
        boost::asio::io_context io;
        upstream::UpstreamClient upstream(io.get_executor(), std::chrono::seconds(5));
        std::optional<tl::expected<core::Transaction, rpc::RpcError>> result;
        auto filler = std::make_shared<TransactionFiller>(
            upstream, node_.url(), std::move(request), kFrom, 1,
            [&](tl::expected<core::Transaction, rpc::RpcError> tx) { result = std::move(tx); });
        filler->start();
        io.run();
        if (!result) return tl::unexpected(rpc::RpcError{0, "the filler never answered", {}});
        return std::move(*result);
    }

    static rpc::TransactionRequest transfer() {
        rpc::TransactionRequest r;
        r.from = kFrom;
        r.to = kFrom;
        return r;
    }

    ScriptedNode node_;
};

TEST_F(FillerTest, FillsFromAnHonestNode) {
    auto tx = fill(transfer());
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->type, core::TxType::Eip1559);
    EXPECT_EQ(tx->nonce, 5u);
    EXPECT_EQ(tx->gas_limit, 21000u + 4200u);
    EXPECT_EQ(tx->max_priority_fee_per_gas, kGwei);
    EXPECT_EQ(tx->max_fee_per_gas, 3 * kGwei);  // 2 × 1 gwei base + 1 gwei
}

TEST_F(FillerTest, RefusesAGasEstimateAboveTheBlockGasLimit) {
    node_.answer("eth_estimateGas", "0x1c9c381");  // 30,000,001 > 30,000,000
    auto tx = fill(transfer());
    ASSERT_FALSE(tx);
    EXPECT_EQ(tx.error().code, rpc::kChainDisconnected);
    EXPECT_NE(tx.error().message.find("above the latest block's gas limit 30000000"),
              std::string::npos)
        << tx.error().message;
    // A node estimate far beyond 64 bits is refused the same way, without a throw.
    node_.answer("eth_estimateGas", json::string(hex(kMax)));
    EXPECT_FALSE(fill(transfer()));
}

TEST_F(FillerTest, TheMarginStopsAtTheBlockGasLimit) {
    node_.answer("eth_estimateGas", "0x1c9c380");  // exactly the limit
    auto tx = fill(transfer());
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->gas_limit, 30000000u);
}

TEST_F(FillerTest, RefusesAGivenGasAboveTheBlockGasLimit) {
    auto request = transfer();
    request.gas = 30000001;
    request.max_fee_per_gas = kGwei;
    request.max_priority_fee_per_gas = kGwei;
    auto tx = fill(request);
    ASSERT_FALSE(tx);
    EXPECT_EQ(tx.error().code, rpc::kInvalidParams);
    EXPECT_NE(tx.error().message.find("gas 30000001 is above"), std::string::npos);
    request.gas = 30000000;
    EXPECT_TRUE(fill(request));
}

TEST_F(FillerTest, RefusesAMissingBlockGasLimit) {
    node_.answer("eth_getBlockByNumber", json::object{{"number", "0x10"}});
    auto tx = fill(transfer());
    ASSERT_FALSE(tx);
    EXPECT_NE(tx.error().message.find("gasLimit"), std::string::npos) << tx.error().message;
}

// The hostile node: its fee history announces a next base fee of 1,500,000 gwei, which
// a latest block at 1 gwei cannot reach, and tips of 1,000,000 gwei (a 63 ETH fee cap on a
// 21000-gas transfer with the old filler).
TEST_F(FillerTest, BoundsHostileFeeHistoryByTheLatestBlock) {
    node_.answer("eth_feeHistory", history(kGwei, 1500000 * kGwei, 1000000 * kGwei));
    auto tx = fill(transfer());
    ASSERT_TRUE(tx) << tx.error().message;
    // Next base fee at most 1.125 gwei; priority fee at most max(base, 2 gwei).
    EXPECT_EQ(tx->max_priority_fee_per_gas, 2 * kGwei);
    EXPECT_EQ(tx->max_fee_per_gas, 2 * (kGwei + kGwei / 8) + 2 * kGwei);
    EXPECT_LT(core::U256(tx->gas_limit) * tx->max_fee_per_gas, core::U256(1000000000000000ULL));
}

TEST_F(FillerTest, HostileHistoryWithoutEvenABlockBaseFeeIsNotTakenAsLondon) {
    node_.answer("eth_getBlockByNumber", block(30000000, std::nullopt));
    node_.answer("eth_feeHistory", history(kGwei, 1500000 * kGwei, kGwei));
    node_.answer("eth_gasPrice", json::string(hex(3000000 * kGwei)));
    auto tx = fill(transfer());
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->type, core::TxType::Legacy);
    // Twice what recent blocks paid per gas.
    EXPECT_EQ(tx->gas_price, 2 * kGwei);
}

TEST_F(FillerTest, BoundsAHostileGasPriceOnALondonChain) {
    node_.answer("eth_gasPrice", json::string(hex(3000000 * kGwei)));
    auto request = transfer();
    request.type = 0;
    auto tx = fill(request);
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->type, core::TxType::Legacy);
    EXPECT_EQ(tx->gas_price, 2 * (kGwei + 2 * kGwei));  // 2 × (base + priority fee ceiling)
    // An honest price is taken as it is, even with a tip above ours (anvil's 3.4 gwei at a
    // 0.67 gwei base fee).
    node_.answer("eth_gasPrice", json::string(hex(5 * kGwei)));
    tx = fill(request);
    ASSERT_TRUE(tx);
    EXPECT_EQ(tx->gas_price, 5 * kGwei);
}

TEST_F(FillerTest, NodeWithoutFeeHistoryOnALondonChain) {
    node_.on("eth_feeHistory", [](const json::array&) {
        ScriptedNode::Answer a;
        a.error = json::object{{"code", -32601}, {"message", "the method does not exist"}};
        return a;
    });
    node_.answer("eth_getBlockByNumber", block(30000000, 10 * kGwei));
    auto tx = fill(transfer());
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->type, core::TxType::Eip1559);
    EXPECT_EQ(tx->max_priority_fee_per_gas, kGwei);
    EXPECT_EQ(tx->max_fee_per_gas, 21 * kGwei);
}

TEST_F(FillerTest, LegacyChainWithoutFeeHistoryTakesTheGasPrice) {
    node_.on("eth_feeHistory", [](const json::array&) {
        ScriptedNode::Answer a;
        a.error = json::object{{"code", -32601}, {"message", "the method does not exist"}};
        return a;
    });
    node_.answer("eth_getBlockByNumber", block(8000000, std::nullopt));
    node_.answer("eth_gasPrice", json::string(hex(20 * kGwei)));
    auto tx = fill(transfer());
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->type, core::TxType::Legacy);
    EXPECT_EQ(tx->gas_price, 20 * kGwei);  // nothing to compare with: the approval judges it
    // EIP-1559 fees cannot be filled there.
    auto dynamic = transfer();
    dynamic.type = 2;
    EXPECT_FALSE(fill(dynamic));
}

TEST_F(FillerTest, FeesTheCallerGaveAreKept) {
    node_.answer("eth_feeHistory", history(kGwei, kGwei, kGwei));
    auto request = transfer();
    request.max_fee_per_gas = 3000000 * kGwei;
    request.max_priority_fee_per_gas = 3000000 * kGwei;
    auto tx = fill(request);
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->max_fee_per_gas, 3000000 * kGwei);
    EXPECT_EQ(node_.calls("eth_feeHistory"), 0u);
    // Only a fee cap: the suggested priority fee, never above that cap.
    request.max_priority_fee_per_gas.reset();
    request.max_fee_per_gas = kGwei / 2;
    tx = fill(request);
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->max_priority_fee_per_gas, kGwei / 2);
    // Only a priority fee: the cap is built on it.
    request.max_fee_per_gas.reset();
    request.max_priority_fee_per_gas = 5 * kGwei;
    tx = fill(request);
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->max_fee_per_gas, 7 * kGwei);
}

TEST(FeeSuggestion, PlannedBaseFeeStaysWithinOneBlockOfTheLatest) {
    ChainFees chain;
    chain.base_fee = 80 * kGwei;
    EXPECT_EQ(planned_base_fee(chain), 80 * kGwei);  // no history
    chain.next_base_fee = 85 * kGwei;
    EXPECT_EQ(planned_base_fee(chain), 85 * kGwei);
    chain.next_base_fee = 91 * kGwei;
    EXPECT_EQ(planned_base_fee(chain), 90 * kGwei);
    chain.next_base_fee = 1;
    EXPECT_EQ(planned_base_fee(chain), 70 * kGwei);
    chain.base_fee = 7;  // 7 + ceil(7/8) = 8
    chain.next_base_fee = kMax;
    EXPECT_EQ(planned_base_fee(chain), 8);
    chain.base_fee = kMax;  // saturates, never throws
    EXPECT_EQ(planned_base_fee(chain), kMax);
    const DynamicFees fees = suggest_dynamic_fees(chain);
    EXPECT_EQ(fees.max_fee_per_gas, kMax);
    EXPECT_EQ(gas_price_ceiling(chain), kMax);
}

TEST(FeeSuggestion, PriorityFeeIsTheMedianRewardWithinTheCeiling) {
    ChainFees chain;
    chain.base_fee = 10 * kGwei;
    EXPECT_EQ(suggest_dynamic_fees(chain).max_priority_fee_per_gas, kDefaultPriorityFee);
    chain.rewards = {3 * kGwei, 1, 2 * kGwei, 500 * kGwei, kGwei};
    EXPECT_EQ(suggest_dynamic_fees(chain).max_priority_fee_per_gas, 2 * kGwei);
    EXPECT_EQ(suggest_dynamic_fees(chain).max_fee_per_gas, 22 * kGwei);
    chain.rewards = {0, 0, 0};  // empty blocks
    EXPECT_EQ(suggest_dynamic_fees(chain).max_priority_fee_per_gas, 1);
    chain.rewards = {50 * kGwei, 50 * kGwei};
    EXPECT_EQ(suggest_dynamic_fees(chain).max_priority_fee_per_gas, 10 * kGwei);
    chain.base_fee = 1000;  // an L2's tiny base fee: the 2 gwei floor
    EXPECT_EQ(suggest_dynamic_fees(chain).max_priority_fee_per_gas, 2 * kGwei);
}

TEST(FeeSuggestion, GasPriceCeilingOfChainsWithoutABaseFee) {
    ChainFees chain;
    EXPECT_EQ(gas_price_ceiling(chain), std::nullopt);
    chain.rewards = {0, 0};
    EXPECT_EQ(gas_price_ceiling(chain), std::nullopt);
    chain.rewards = {kGwei, 3 * kGwei, 0};
    EXPECT_EQ(gas_price_ceiling(chain), 6 * kGwei);
}

TEST(FeeSuggestion, ReadsBlocksAndHistories) {
    ChainFees chain;
    EXPECT_TRUE(read_block(json::value("0x1"), chain));
    EXPECT_TRUE(read_block(json::object{{"gasLimit", "0x0"}}, chain));
    EXPECT_TRUE(read_block(json::object{{"gasLimit", "0x10000000000000000"}}, chain));
    EXPECT_TRUE(read_block(json::object{{"gasLimit", 30000000}}, chain));
    EXPECT_FALSE(
        read_block(json::object{{"gasLimit", "0x1c9c380"}, {"baseFeePerGas", "0x7"}}, chain));
    EXPECT_EQ(chain.block_gas_limit, 30000000u);
    EXPECT_EQ(chain.base_fee, 7);
    read_fee_history(json::object{{"baseFeePerGas", json::array{"0x1", "0x2"}},
                                  {"reward", json::array{json::array{"0x5"}, json::array{}, "junk",
                                                         json::array{"0x6"}}}},
                     chain);
    EXPECT_EQ(chain.next_base_fee, 2);
    EXPECT_EQ(chain.rewards, (std::vector<core::U256>{5, 6}));
}

}  // namespace
}  // namespace keybridge::daemon
