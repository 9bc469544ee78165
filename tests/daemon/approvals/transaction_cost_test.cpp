#include "daemon/approvals/transaction_cost.h"

#include <limits>

#include <gtest/gtest.h>

namespace keybridge::daemon::approvals {
namespace {

const core::U256 kMax = std::numeric_limits<core::U256>::max();
const core::U256 kOneEth = core::U256(1000000000000000000ULL);

TEST(TransactionCost, SaturatingArithmeticNeverThrows) {
    EXPECT_EQ(saturating_add(1, 2), 3);
    EXPECT_EQ(saturating_add(kMax - 1, 1), kMax);
    EXPECT_EQ(saturating_add(kMax, 1), kMax);
    EXPECT_EQ(saturating_add(kMax, kMax), kMax);
    EXPECT_EQ(saturating_mul(21000, 3), 63000);
    EXPECT_EQ(saturating_mul(0, kMax), 0);
    EXPECT_EQ(saturating_mul(kMax, 1), kMax);
    EXPECT_EQ(saturating_mul(kMax / 2, 2), kMax - 1);
    EXPECT_EQ(saturating_mul(kMax / 2 + 1, 2), kMax);
    EXPECT_EQ(saturating_mul(std::numeric_limits<std::uint64_t>::max(), kMax), kMax);
}

TEST(TransactionCost, MaxFeeIsGasTimesTheFeeCapOfTheType) {
    core::Transaction tx;
    tx.gas_limit = 21000;
    tx.type = core::TxType::Eip1559;
    tx.max_fee_per_gas = 3000000ULL * 1000000000ULL;  // 3,000,000 gwei
    tx.max_priority_fee_per_gas = 1;
    tx.gas_price = 7;  // ignored by type 2
    EXPECT_EQ(max_fee_of(tx), 63 * kOneEth);
    tx.type = core::TxType::Legacy;
    EXPECT_EQ(max_fee_of(tx), 21000 * 7);
    tx.type = core::TxType::Eip2930;
    EXPECT_EQ(max_fee_of(tx), 21000 * 7);
    tx.gas_price = kMax;  // a dApp may ask for anything
    EXPECT_EQ(max_fee_of(tx), kMax);
    tx.gas_limit = 0;
    EXPECT_EQ(max_fee_of(tx), 0);
}

std::vector<std::string> ids(const std::vector<Warning>& warnings) {
    std::vector<std::string> out;
    for (const auto& w : warnings) {
        EXPECT_EQ(w.severity, Severity::Danger) << w.id;
        out.push_back(w.id);
    }
    return out;
}

TEST(TransactionCost, FeeWarnings) {
    using V = std::vector<std::string>;
    // Ordinary: a transfer at 30 gwei, a swap at 100 gwei (0.03 ETH on 0 value).
    EXPECT_EQ(ids(fee_warnings(kOneEth, 21000 * core::U256(30000000000ULL))), V{});
    EXPECT_EQ(ids(fee_warnings(0, 300000 * core::U256(100000000000ULL))), V{});
    // Large in absolute terms, whatever the value.
    EXPECT_EQ(ids(fee_warnings(0, kLargeFeeWei)), V{"fee-large"});
    EXPECT_EQ(ids(fee_warnings(0, kLargeFeeWei - 1)), V{});
    EXPECT_EQ(ids(fee_warnings(1000 * kOneEth, 180 * kOneEth)), V{"fee-large"});
    EXPECT_EQ(ids(fee_warnings(1, 180 * kOneEth)), (V{"fee-large", "fee-above-value"}));
    // Above a payment's value, once the fee is not small change.
    EXPECT_EQ(ids(fee_warnings(kOneEth / 1000, kFeeAboveValueFloorWei)), V{"fee-above-value"});
    EXPECT_EQ(ids(fee_warnings(kOneEth / 1000, kFeeAboveValueFloorWei - 1)), V{});
    EXPECT_EQ(ids(fee_warnings(kFeeAboveValueFloorWei, kFeeAboveValueFloorWei)), V{});
    EXPECT_EQ(ids(fee_warnings(kMax, kMax)), V{"fee-large"});

    const auto w = fee_warnings(kOneEth / 1000, 63 * kOneEth);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_NE(w[0].detail.find("63 ETH"), std::string::npos) << w[0].detail;
    EXPECT_NE(w[1].detail.find("0.001 ETH"), std::string::npos) << w[1].detail;
}

TEST(TransactionCost, FormatCoins) {
    EXPECT_EQ(format_coins(0), "0");
    EXPECT_EQ(format_coins(1), "0.000000000000000001");
    EXPECT_EQ(format_coins(kOneEth), "1");
    EXPECT_EQ(format_coins(63 * kOneEth), "63");
    EXPECT_EQ(format_coins(core::U256(1500000000000000ULL)), "0.0015");
    EXPECT_EQ(format_coins(kOneEth * 12 + kOneEth / 4), "12.25");
    EXPECT_EQ(format_coins(kMax),
              "115792089237316195423570985008687907853269984665640564039457.584007913129639935");
}

}  // namespace
}  // namespace keybridge::daemon::approvals
