#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "daemon/approvals/approval.h"

namespace keybridge::daemon::approvals::warnings {

// Every warning keybridged attaches to approval requests, one function each, so that an id
// and its severity are written in one place. Ids are stable: policies (allow-warning=,
// warning=) and tools match on them.

// eth_requestAccounts: the page will see the addresses (info).
Warning connect_exposes_addresses();
// personal_sign of 32 bytes that are not text: maybe a hash of something unseen (warning).
Warning binary_32_byte_message();
// eth_sign: an opaque hash that can stand for any transaction (danger).
Warning eth_sign_opaque_hash();
// EIP-712 data whose domain names another chain than the caller's (danger).
Warning typed_data_chain_mismatch(std::string_view typed_chain, std::uint64_t selected_chain);
// A transaction without `to` (warning).
Warning contract_creation();
// wallet_addEthereumChain with an http:// RPC URL (warning).
Warning rpc_url_unencrypted();
// wallet_addEthereumChain replacing a known chain's RPC URL (warning).
Warning rpc_url_replaced(std::string_view old_url);
// eth_sendTransaction asked again: the node's nonce moved past the approved one (warning).
Warning nonce_changed(std::uint64_t approved, std::uint64_t now);
// A transaction whose maximum fee is large in absolute terms (danger). Amounts in coins, as
// format_coins (transaction_cost.h) writes them; thresholds there.
Warning fee_large(std::string_view max_fee);
// A transaction whose maximum fee is above the ether it moves (danger).
Warning fee_above_value(std::string_view max_fee, std::string_view value);
// The explanation was made while the audit history (the addresses used before) was still
// loading after the start, so history-based warnings may be missing (warning). No approve rule
// of a policy matches a request carrying it, even one that names it.
inline constexpr std::string_view kAuditHistoryLoading = "audit-history-loading";
Warning audit_history_loading();

// The ids above and insight's (insight::warning_ids), for validating policy files.
std::span<const std::string_view> known_ids();
bool is_known_id(std::string_view id);

}  // namespace keybridge::daemon::approvals::warnings
