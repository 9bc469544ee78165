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

    boost::json::object to_json() const;
};

enum class Decision { Approve, Reject };

}  // namespace keybridge::daemon::approvals
