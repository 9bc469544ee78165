#pragma once

// Choosing the accounts a connect request shares (keybridge approve): the candidates a connect
// approval lists, and the approver's answer ("", "all", "1,3", addresses) turned into addresses.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/result.h"

namespace keybridge::cli {

// One account a connect request offers (its details.accounts entries), as the daemon sent it.
struct ConnectCandidate {
    std::string address;
    std::string name;         // empty when the vault has none
    bool granted = false;     // the requester sees it already
    bool is_default = false;  // an approval without a choice shares it
};

// The request's candidates, in order; entries that are not objects with an address are skipped.
std::vector<ConnectCandidate> connect_candidates(const boost::json::object& request);

// The 1-based numbers of the default candidates: "1", "1,3".
std::string default_selection(const std::vector<ConnectCandidate>& candidates);

// The addresses an answer selects, in the order given: "" → the defaults, "all" → every
// candidate, otherwise numbers from the list and/or addresses among the candidates, separated by
// commas or spaces. InvalidArgument saying what is wrong (unknown number, repeated, not listed).
[[nodiscard]] core::Result<std::vector<std::string>> select_accounts(
    std::string_view answer, const std::vector<ConnectCandidate>& candidates);

}  // namespace keybridge::cli
