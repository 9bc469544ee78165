#include "daemon/approvals/transaction_cost.h"

#include <limits>

#include "daemon/approvals/warning_catalog.h"

namespace keybridge::daemon::approvals {
namespace {

const core::U256 kMax = std::numeric_limits<core::U256>::max();

}  // namespace

core::U256 saturating_add(const core::U256& a, const core::U256& b) {
    return b > kMax - a ? kMax : a + b;
}

core::U256 saturating_mul(const core::U256& a, const core::U256& b) {
    if (a == 0 || b == 0) return 0;
    return b > kMax / a ? kMax : a * b;
}

core::U256 max_fee_of(const core::Transaction& tx) {
    const core::U256& per_gas =
        tx.type == core::TxType::Eip1559 ? tx.max_fee_per_gas : tx.gas_price;
    return saturating_mul(core::U256(tx.gas_limit), per_gas);
}

std::vector<Warning> fee_warnings(const core::U256& value, const core::U256& max_fee) {
    std::vector<Warning> out;
    if (max_fee >= kLargeFeeWei) out.push_back(warnings::fee_large(format_coins(max_fee)));
    if (value > 0 && max_fee > value && max_fee >= kFeeAboveValueFloorWei)
        out.push_back(warnings::fee_above_value(format_coins(max_fee), format_coins(value)));
    return out;
}

std::string format_coins(const core::U256& wei) {
    std::string digits = core::u256_to_decimal(wei);
    if (digits.size() <= 18) digits.insert(0, 19 - digits.size(), '0');
    std::string whole = digits.substr(0, digits.size() - 18);
    std::string fraction = digits.substr(digits.size() - 18);
    while (!fraction.empty() && fraction.back() == '0')
        fraction.pop_back();
    return fraction.empty() ? whole : whole + "." + fraction;
}

}  // namespace keybridge::daemon::approvals
