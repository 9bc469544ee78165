#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "cli/terminal_text.h"  // terminal_safe, which every caller here uses too

namespace keybridge::cli {

// Renders one approval request, in the daemon's wire form (keybridge_pendingApprovals and the
// keybridge_approvals events: id, origin, authenticated, method, account, chainId, details,
// warnings), as text for a person to decide on: who asks, what for, and the payload decoded
// (message text or hex, typed data as an indented tree, a transaction's fields with amounts in
// ETH and wei), warnings last, the most serious first: "!! DANGER: title [id]", "!  WARNING: …",
// "i  INFO: …", each with its detail below. `color` makes danger bold red and warning bold
// yellow.
//
// Every string that came from the requester is escaped first (control characters, bidi and
// zero-width marks), so a dApp cannot move the cursor or reorder what the user reads.
std::string render_approval(const boost::json::object& request, bool color);

// Decimal digits of an integer amount in base units as a decimal number with `decimals`
// fractional digits, trailing zeros dropped: ("1500000000000000000", 18) → "1.5".
std::string format_units(std::string_view digits, unsigned decimals);

}  // namespace keybridge::cli
