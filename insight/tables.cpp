// The bundled token list, chain names, and number and date formatting.
#include <algorithm>
#include <array>
#include <ctime>

#include "insight/insight.h"

namespace keybridge::insight {
namespace {

struct TokenRow {
    std::uint64_t chain;
    std::string_view address;  // lower case
    std::string_view symbol;
    unsigned decimals;
};

constexpr TokenRow kTokens[] = {
#include "insight/generated/tokens.inc"
};

struct ChainRow {
    std::uint64_t id;
    std::string_view name;
    std::string_view symbol;
    unsigned decimals;
};

// viem's chain data (insight/generated/chains.inc), sorted by id.
constexpr ChainRow kChains[] = {
#include "insight/generated/chains.inc"
};

const ChainRow* find_chain(std::uint64_t id) {
    auto it = std::lower_bound(std::begin(kChains), std::end(kChains), id,
                               [](const ChainRow& row, std::uint64_t key) { return row.id < key; });
    return it != std::end(kChains) && it->id == id ? &*it : nullptr;
}

}  // namespace

std::string_view to_string(Severity severity) {
    switch (severity) {
        case Severity::Info:
            return "info";
        case Severity::Warning:
            return "warning";
        case Severity::Danger:
            return "danger";
    }
    return "warning";
}

bool Explanation::has(std::string_view id) const {
    return std::any_of(warnings.begin(), warnings.end(),
                       [&](const Warning& w) { return w.id == id; });
}

std::string chain_name(std::uint64_t chain_id, const Settings* settings) {
    if (settings != nullptr) {
        if (auto it = settings->chain_names.find(chain_id); it != settings->chain_names.end())
            return it->second;
    }
    if (const ChainRow* c = find_chain(chain_id)) return std::string(c->name);
    return "chain " + std::to_string(chain_id);
}

NativeCurrency native_currency(std::uint64_t chain_id) {
    if (const ChainRow* c = find_chain(chain_id)) return {c->symbol, c->decimals};
    return {};
}

std::optional<TokenInfo> find_token(std::uint64_t chain_id, const core::Address& token) {
    const std::string address = token.to_lower_string();
    auto it = std::lower_bound(std::begin(kTokens), std::end(kTokens), std::pair{chain_id, address},
                               [](const TokenRow& row, const auto& key) {
                                   if (row.chain != key.first) return row.chain < key.first;
                                   return row.address < std::string_view(key.second);
                               });
    if (it == std::end(kTokens) || it->chain != chain_id || it->address != address)
        return std::nullopt;
    return TokenInfo{std::string(it->symbol), it->decimals};
}

std::string format_units(const core::U256& amount, unsigned decimals) {
    std::string digits = core::u256_to_decimal(amount);
    if (decimals == 0) return digits;
    if (digits.size() <= decimals) digits.insert(0, decimals - digits.size() + 1, '0');
    std::string whole = digits.substr(0, digits.size() - decimals);
    std::string fraction = digits.substr(digits.size() - decimals);
    while (!fraction.empty() && fraction.back() == '0')
        fraction.pop_back();
    // Thousands separators in the whole part keep large amounts readable.
    std::string grouped;
    for (std::size_t i = 0; i < whole.size(); ++i) {
        if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
        grouped += whole[i];
    }
    return fraction.empty() ? grouped : grouped + "." + fraction;
}

std::string format_deadline(const core::U256& unix_seconds, std::int64_t now) {
    // Beyond year 9999 a date says nothing more than "never".
    if (unix_seconds > core::U256(253402300799ULL)) return "never (no practical expiry)";
    const auto t = static_cast<std::int64_t>(unix_seconds);
    std::tm tm{};
    const std::time_t tt = static_cast<std::time_t>(t);
    gmtime_r(&tt, &tm);
    std::array<char, 32> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M UTC", &tm);
    std::string out(buf.data());
    const std::int64_t delta = t - now;
    const std::int64_t magnitude = delta < 0 ? -delta : delta;
    std::string span;
    if (magnitude >= 2 * 86400)
        span = std::to_string(magnitude / 86400) + " days";
    else if (magnitude >= 2 * 3600)
        span = std::to_string(magnitude / 3600) + " hours";
    else if (magnitude >= 120)
        span = std::to_string(magnitude / 60) + " minutes";
    else
        span = std::to_string(magnitude) + " seconds";
    return out + (delta < 0 ? " (" + span + " ago)" : " (in " + span + ")");
}

}  // namespace keybridge::insight
