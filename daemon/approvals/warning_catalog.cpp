#include "daemon/approvals/warning_catalog.h"

#include <algorithm>
#include <array>

#include "insight/insight.h"

namespace keybridge::daemon::approvals::warnings {
namespace {

constexpr std::array<std::string_view, 11> kIds = {
    "connect-exposes-addresses", "binary-32-byte-message", "eth-sign-opaque-hash",
    "typed-data-chain-mismatch", "contract-creation",      "rpc-url-unencrypted",
    "rpc-url-replaced",          "nonce-changed",          "fee-large",
    "fee-above-value",           "audit-history-loading"};

Warning make(std::string_view id, Severity severity, std::string title, std::string detail) {
    return Warning{std::string(id), severity, std::move(title), std::move(detail)};
}

}  // namespace

Warning connect_exposes_addresses() {
    return make(kIds[0], Severity::Info, "The site will see your addresses",
                "Only connect to sites you trust: the site will see these addresses and their "
                "balances.");
}

Warning binary_32_byte_message() {
    return make(kIds[1], Severity::Warning, "The message is 32 bytes of binary data",
                "It may be a hash standing for something you cannot see.");
}

Warning eth_sign_opaque_hash() {
    return make(kIds[2], Severity::Danger, "eth_sign signs an opaque hash",
                "It can stand for a transaction that empties your account or any other "
                "authorization. Approve only if you computed this hash yourself.");
}

Warning typed_data_chain_mismatch(std::string_view typed_chain, std::uint64_t selected_chain) {
    return make(kIds[3], Severity::Danger, "The typed data is for another chain",
                "The typed data names chain " + std::string(typed_chain) +
                    ", not the selected chain " + std::to_string(selected_chain) + ".");
}

Warning contract_creation() {
    return make(kIds[4], Severity::Warning, "This transaction creates a contract",
                "It has no recipient: its data is the code of a new contract.");
}

Warning rpc_url_unencrypted() {
    return make(kIds[5], Severity::Warning, "The RPC URL is not encrypted (http://)",
                "The node operator and the network can read and alter what it returns.");
}

Warning rpc_url_replaced(std::string_view old_url) {
    return make(kIds[6], Severity::Warning, "This replaces the RPC URL of a chain you have",
                "The chain's RPC URL so far: " + std::string(old_url) + ".");
}

Warning nonce_changed(std::uint64_t approved, std::uint64_t now) {
    return make(kIds[7], Severity::Warning, "The nonce changed since you approved",
                "You approved this transaction with nonce " + std::to_string(approved) +
                    "; the node now expects " + std::to_string(now) +
                    " (another transaction of this account was sent meanwhile). Nothing was "
                    "signed: approve it again with the new nonce, or reject it.");
}

Warning fee_large(std::string_view max_fee) {
    return make(kIds[8], Severity::Danger, "The network fee can be very large",
                "This transaction may pay up to " + std::string(max_fee) +
                    " ETH (or the chain's own coin) in fees: gas × max fee per gas. Check the "
                    "gas and fee fields; a node that suggests such fees may be broken or "
                    "hostile.");
}

Warning fee_above_value(std::string_view max_fee, std::string_view value) {
    return make(kIds[9], Severity::Danger, "The network fee can be larger than the payment",
                "This transaction sends " + std::string(value) +
                    " ETH (or the chain's own coin) "
                    "and may pay up to " +
                    std::string(max_fee) + " in fees.");
}

Warning audit_history_loading() {
    return make(kIds[10], Severity::Warning, "Your signing history is still loading",
                "keybridged is still reading the audit log after its start, so this "
                "explanation cannot say whether you used these addresses before: a look-alike "
                "of an address you used (address poisoning) or a first-time recipient may go "
                "unnoticed. Ask again in a moment, or check the addresses yourself.");
}

std::span<const std::string_view> known_ids() {
    // The daemon's own ids, then insight's (docs/INSIGHT.md) that are not among them.
    static const std::vector<std::string_view> all = [] {
        std::vector<std::string_view> out(kIds.begin(), kIds.end());
        for (std::string_view id : insight::warning_ids())
            if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
        return out;
    }();
    return all;
}

bool is_known_id(std::string_view id) {
    const auto ids = known_ids();
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace keybridge::daemon::approvals::warnings
