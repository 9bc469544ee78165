#include "daemon/methods/fee_suggestion.h"

#include <algorithm>
#include <limits>

#include "daemon/approvals/transaction_cost.h"

namespace keybridge::daemon {

namespace json = boost::json;
// Node answers are up to 2^256-1 each: their sums saturate rather than throw.
using approvals::saturating_add;

namespace {

std::optional<core::U256> quantity(const json::value* v) {
    if (v == nullptr || !v->is_string()) return std::nullopt;
    auto q = core::parse_u256_hex(v->as_string());
    if (!q) return std::nullopt;
    return *q;
}

}  // namespace

std::optional<std::string> read_block(const json::value& block, ChainFees& out) {
    const json::object* o = block.if_object();
    if (o == nullptr) return "the node has no latest block";
    auto limit = quantity(o->if_contains("gasLimit"));
    if (!limit || *limit == 0 || *limit > core::U256(std::numeric_limits<std::uint64_t>::max()))
        return "the node's latest block has no valid gasLimit";
    out.block_gas_limit = static_cast<std::uint64_t>(*limit);
    out.base_fee = quantity(o->if_contains("baseFeePerGas")).value_or(0);
    return std::nullopt;
}

void read_fee_history(const json::value& history, ChainFees& out) {
    const json::object* o = history.if_object();
    if (o == nullptr) return;
    if (const json::value* bases = o->if_contains("baseFeePerGas");
        bases != nullptr && bases->is_array() && !bases->as_array().empty()) {
        if (auto next = quantity(&bases->as_array().back())) out.next_base_fee = *next;
    }
    if (const json::value* rewards = o->if_contains("reward");
        rewards != nullptr && rewards->is_array()) {
        for (const json::value& block : rewards->as_array()) {
            if (!block.is_array() || block.as_array().empty()) continue;
            if (auto r = quantity(&block.as_array()[0])) out.rewards.push_back(*r);
        }
    }
}

core::U256 planned_base_fee(const ChainFees& chain) {
    const core::U256& latest = chain.base_fee;
    const core::U256 highest = saturating_add(latest, latest / 8 + (latest % 8 != 0 ? 1 : 0));
    const core::U256 lowest = latest - latest / 8;
    if (!chain.next_base_fee) return latest;
    return std::clamp(*chain.next_base_fee, lowest, highest);
}

core::U256 priority_fee_ceiling(const core::U256& planned_base) {
    return std::max(planned_base, kPriorityFeeCeilingFloor);
}

DynamicFees suggest_dynamic_fees(const ChainFees& chain) {
    const core::U256 base = planned_base_fee(chain);
    core::U256 tip = kDefaultPriorityFee;
    if (!chain.rewards.empty()) {
        std::vector<core::U256> sorted = chain.rewards;
        std::sort(sorted.begin(), sorted.end());
        tip = std::max(sorted[sorted.size() / 2], core::U256(1));
    }
    tip = std::min(tip, priority_fee_ceiling(base));
    return DynamicFees{saturating_add(saturating_add(base, base), tip), tip};
}

std::optional<core::U256> gas_price_ceiling(const ChainFees& chain) {
    if (chain.london()) {
        const core::U256 base = planned_base_fee(chain);
        // A node's gasPrice is its base fee plus its own tip suggestion, which may be above
        // ours: twice the most a block needs (base + tip ceiling) still stops absurd prices.
        const core::U256 per_gas = saturating_add(base, priority_fee_ceiling(base));
        return saturating_add(per_gas, per_gas);
    }
    if (chain.rewards.empty()) return std::nullopt;
    const core::U256 highest = *std::max_element(chain.rewards.begin(), chain.rewards.end());
    if (highest == 0) return std::nullopt;
    return saturating_add(highest, highest);
}

}  // namespace keybridge::daemon
