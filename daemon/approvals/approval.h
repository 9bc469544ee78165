#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/bytes.h"
#include "core/uint256.h"

namespace keybridge::daemon::approvals {

// The one name of a caller without an Origin header (it presented the cookie token):
// ApprovalRequest::origin, the audit log, the permissions file and commands, and policy rules
// (origin=local) all call it this. Equal to rpc::kLocalPrincipal.
inline constexpr std::string_view kLocalClientOrigin = "local";

// How much a warning should worry the user. A policy never approves a request with a Danger
// warning unless its rule names that warning (docs/POLICY.md).
enum class Severity { Info = 0, Warning = 1, Danger = 2 };

std::string_view severity_name(Severity severity);  // "info", "warning", "danger"
std::optional<Severity> parse_severity(std::string_view text);

// Something the user should know before deciding. `id` is stable (policies and tools match on
// it; the list is in warning_catalog.h); `title` is one line, `detail` says what it means.
struct Warning {
    std::string id;
    Severity severity = Severity::Warning;
    std::string title;
    std::string detail;

    boost::json::object to_json() const;  // {id, severity, title, detail}
    bool operator==(const Warning&) const = default;
};

// Where a request is in its life. Entries stay visible to approvers until done:
//   needs-input (unlock, PIN, passphrase) → waiting (for the decision) → approved →
//   on-device (confirm on the hardware wallet) → removed when signed, sent or failed.
enum class Stage { NeedsInput, Waiting, Approved, OnDevice };

std::string_view to_string(Stage stage);  // "needs-input", "waiting", "approved", "on-device"

// One request waiting for the user's decision, as the approver shows it: who asks, what for, and
// the request decoded (message text or hex, typed data as a tree, transaction fields), with
// warnings. Never holds a secret.
struct ApprovalRequest {
    std::uint64_t id = 0;
    std::string origin;  // the page's origin, or kLocalClientOrigin
    // The paired extension that relayed the request (rpc::Client::channel), empty for a direct
    // caller: the per-origin limits count each apart, so a program claiming a site's Origin
    // cannot fill the share of the real site behind the extension.
    std::string channel;
    bool authenticated = false;  // the caller proved itself (cookie token): policy may decide
    std::uint64_t connection_id = 0;
    std::string method;  // eth_requestAccounts, personal_sign, eth_sendTransaction, ...
    std::optional<core::Address> account;
    std::uint64_t chain_id = 0;
    core::U256 value = 0;    // wei moved by a transaction (policy value limits)
    core::U256 max_fee = 0;  // the most a transaction can pay in fees, wei (max-fee, max-value)
    std::string summary;     // signing requests: the request in one sentence (insight)
    boost::json::object details;
    // Signing requests leave `details` empty and set this instead: the decoded request is made
    // when something shows the entry (an approver, keybridge_explainRequest, a device's stage),
    // not for every request. Most signatures are approved by policy and never shown, and
    // copying a typed-data document into `details` cost ~6 % of such a signature's CPU. It must
    // give the same object every time: the content digest is computed from it.
    std::function<boost::json::object()> details_maker;
    std::vector<Warning> warnings;
    std::int64_t created = 0;  // unix seconds
    Stage stage = Stage::Waiting;
    std::string input;       // needs-input: "unlock", "pin" or "passphrase"
    std::string stage_note;  // what the person should do now ("Confirm on your Ledger")
    // Signing requests: what the signer signs (the EIP-191 / EIP-712 digest, the hash, the
    // transaction's signing hash), shown and part of the content digest.
    std::optional<core::Hash32> signing_hash;
    // Transactions: the addresses it deals with (recipient, spender, operator), written to the
    // audit log's "signed" line as the user's history (insight's approval-to-new-address and
    // address-poisoning). Derived from what is shown; not part of the content digest.
    std::vector<core::Address> counterparties;

    // Keccak-256 of exactly what the approver is shown, in one canonical serialization: origin,
    // authenticated, method, summary (when there is one), account, chainId, value, details,
    // warnings and signingHash (not the
    // id, the time or the stage, which change nothing of what is decided). keybridge_decide must
    // name it: a decision whose digest differs is refused (docs/RPC.md, "Approval objects").
    core::Hash32 content_digest() const;

    // The decoded request as shown: details_maker() when it is set, else details.
    boost::json::object shown_details() const;

    boost::json::object to_json() const;  // with "digest": content_digest()
};

enum class Decision { Approve, Reject };

// The methods that create approval requests (the values a policy's method= may name).
inline constexpr std::string_view kApprovalMethods[] = {
    "eth_requestAccounts", "personal_sign",        "eth_sign",
    "eth_signTypedData",   "eth_signTypedData_v3", "eth_signTypedData_v4",
    "eth_signTransaction", "eth_sendTransaction",  "wallet_addEthereumChain"};

}  // namespace keybridge::daemon::approvals
