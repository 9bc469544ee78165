#pragma once

#include <string>
#include <vector>

#include "core/transaction.h"
#include "core/uint256.h"
#include "daemon/approvals/approval.h"

namespace keybridge::daemon::approvals {

// What a transaction can cost its sender, for policy limits and fee warnings. All amounts are
// wei of the chain's native coin. The arithmetic saturates at 2^256-1 instead of throwing: a
// dApp may send any 256-bit maxFeePerGas, and a cost that does not fit is above every limit.

// a + b, or 2^256-1 when it does not fit.
core::U256 saturating_add(const core::U256& a, const core::U256& b);
// a × b, or 2^256-1 when it does not fit.
core::U256 saturating_mul(const core::U256& a, const core::U256& b);

// The most the transaction can pay in fees: gas × maxFeePerGas (type 2) or gas × gasPrice
// (types 0 and 1).
core::U256 max_fee_of(const core::Transaction& tx);

// The fee warnings (docs/POLICY.md, "Fees"): the maximum fee is at least kLargeFeeWei
// (fee-large), or the transaction moves ether and its maximum fee is above that value and at
// least kFeeAboveValueFloorWei (fee-above-value). Both are danger.
inline const core::U256 kLargeFeeWei = core::U256(100'000'000'000'000'000ULL);           // 0.1
inline const core::U256 kFeeAboveValueFloorWei = core::U256(10'000'000'000'000'000ULL);  // 0.01
std::vector<Warning> fee_warnings(const core::U256& value, const core::U256& max_fee);

// Wei as a decimal number of coins without trailing zeros: 63000000000000000000 → "63",
// 1500000000000000 → "0.0015".
std::string format_coins(const core::U256& wei);

}  // namespace keybridge::daemon::approvals
