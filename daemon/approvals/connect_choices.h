#pragma once

// The approver's answer to a connect request (eth_requestAccounts or wallet_requestPermissions):
// which accounts the origin may see. keybridge_decide records it; the waiting request reads it
// when the queue answers it.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/result.h"
#include "daemon/approvals/approval.h"

namespace keybridge::daemon::approvals {

// ApprovalRequest::method of every connect request, whichever method the origin called.
inline constexpr std::string_view kConnectMethod = "eth_requestAccounts";

struct ConnectChoice {
    Decision decision = Decision::Approve;
    // The accounts to grant when approved; nullopt: the default (account_methods.cpp).
    std::optional<std::vector<core::Address>> accounts;
};

// Reads keybridge_decide's third argument, {"accounts": [address, …]}: a non-empty list of
// distinct addresses, each one of `vault_accounts`. InvalidArgument whose detail names the
// offending field ("params[2].accounts[1]: …") otherwise.
[[nodiscard]] core::Result<std::vector<core::Address>> parse_account_choice(
    const boost::json::value& arg, const std::vector<core::Address>& vault_accounts);

// Choices of the approver, by approval id, from keybridge_decide until the request's callback
// takes them. An entry lives only between a decision that succeeded and its callback. Thread-safe.
class ConnectChoices {
  public:
    // Records `choice` for the request, then runs `decide_in_queue` (the ApprovalQueue's
    // decision, which answers the request later on an executor thread). Decisions run one at a
    // time, so that when two approvers decide the same request the choice kept is the one of the
    // decision that succeeded. The result is decide_in_queue's; on failure (the request was no
    // longer pending) the choice is dropped. NotFound without calling it when the request was
    // decided already and its callback has not run yet.
    [[nodiscard]] core::Status decide(std::uint64_t request_id, ConnectChoice choice,
                                      const std::function<core::Status()>& decide_in_queue);
    // Removes and returns the choice; nullopt when no approver decided the request (a policy
    // rule, the timeout, the client leaving or the shutdown did).
    std::optional<ConnectChoice> take(std::uint64_t request_id);

  private:
    std::mutex deciding_;  // one decision at a time; taken before mutex_
    std::mutex mutex_;     // choices_
    std::map<std::uint64_t, ConnectChoice> choices_;
};

}  // namespace keybridge::daemon::approvals
