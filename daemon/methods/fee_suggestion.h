#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/uint256.h"

namespace keybridge::daemon {

// What the chain's node says about recent blocks, the reference against which the filler
// judges the fees and gas it fills (docs/POLICY.md, "Fees"). Every field is the node's word:
// the checks below catch a node whose answers disagree with each other or with what the
// protocol allows, not one that lies consistently (the approval's fee warnings and the
// policy's cost limits are there for that).
struct ChainFees {
    std::uint64_t block_gas_limit = 0;  // the latest block's gasLimit
    core::U256 base_fee = 0;            // the latest block's baseFeePerGas; 0: none (pre-London)
    std::optional<core::U256> next_base_fee;  // eth_feeHistory's base fee of the next block
    std::vector<core::U256> rewards;  // per recent block, the median priority fee paid in it

    bool london() const { return base_fee != 0; }
};

// Reads gasLimit and baseFeePerGas from an eth_getBlockByNumber answer; an error message
// when it has no usable gasLimit.
[[nodiscard]] std::optional<std::string> read_block(const boost::json::value& block,
                                                    ChainFees& out);
// Reads the next base fee and the rewards of an eth_feeHistory answer (percentile 50); an
// answer without them leaves `out` as it was (nodes without eth_feeHistory).
void read_fee_history(const boost::json::value& history, ChainFees& out);

inline constexpr unsigned kFeeHistoryBlocks = 10;
inline const core::U256 kGwei = core::U256(1'000'000'000);
inline const core::U256 kDefaultPriorityFee = kGwei;  // when no recent block says what it paid
inline const core::U256 kPriorityFeeCeilingFloor = 2 * kGwei;

// The base fee to plan with: the node's next base fee, kept within 12.5 % of the latest
// block's (EIP-1559 lets one block move it no further); the latest block's when the history
// has none. Requires london().
core::U256 planned_base_fee(const ChainFees& chain);

// The highest priority fee the filler uses: the planned base fee, or kPriorityFeeCeilingFloor
// when that is lower (tips are usually a fraction of the base fee; the floor leaves room on
// chains whose base fee is tiny).
core::U256 priority_fee_ceiling(const core::U256& planned_base);

struct DynamicFees {
    core::U256 max_fee_per_gas;
    core::U256 max_priority_fee_per_gas;
};
// EIP-1559 fees: priority fee = the median of the recent blocks' rewards (kDefaultPriorityFee
// without any, at least 1 wei), at most priority_fee_ceiling; max fee = 2 × planned base fee
// + priority fee (room for six full blocks in a row). Requires london().
DynamicFees suggest_dynamic_fees(const ChainFees& chain);

// The highest gasPrice the filler takes from eth_gasPrice: on a London chain
// 2 × (planned base fee + priority_fee_ceiling); otherwise twice the highest reward of recent
// blocks (what they paid per gas); nullopt when the node reported neither (nothing to compare
// with).
std::optional<core::U256> gas_price_ceiling(const ChainFees& chain);

}  // namespace keybridge::daemon
