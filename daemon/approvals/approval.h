#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/uint256.h"

namespace keybridge::daemon::approvals {

// ApprovalRequest::origin of a caller without an Origin header (it presented the cookie token).
// Policy rules name such callers origin=local.
inline constexpr std::string_view kLocalClientOrigin = "local client";

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
    std::string origin;          // the page's origin, or kLocalClientOrigin
    bool authenticated = false;  // the caller proved itself (cookie token): policy may decide
    std::uint64_t connection_id = 0;
    std::string method;  // eth_requestAccounts, personal_sign, eth_sendTransaction, ...
    std::optional<core::Address> account;
    std::uint64_t chain_id = 0;
    core::U256 value = 0;  // wei moved by a transaction (policy value limits)
    boost::json::object details;
    std::vector<std::string> warnings;
    std::int64_t created = 0;  // unix seconds
    Stage stage = Stage::Waiting;
    std::string input;       // needs-input: "unlock", "pin" or "passphrase"
    std::string stage_note;  // what the person should do now ("Confirm on your Ledger")

    boost::json::object to_json() const;
};

enum class Decision { Approve, Reject };

}  // namespace keybridge::daemon::approvals
