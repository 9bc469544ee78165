#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "daemon/rpc/params.h"

namespace keybridge::daemon::subscriptions {

// The filter of an eth_subscribe ["logs", filter] subscription: {address, topics} as in geth.
//   address: a 20-byte hex address or an array of them (any of them); absent, null or [] = any.
//   topics:  up to 4 positions, each null (any), a 32-byte hex topic, or an array of those (any
//            of them; an array that is empty or holds a null matches anything).
// Nothing else is accepted (fromBlock/toBlock/blockHash make no sense for a live feed).
// Values are kept in lower case, so equal filters have equal keys.
struct LogFilter {
    std::vector<std::string> addresses;                           // empty = any address
    std::vector<std::optional<std::vector<std::string>>> topics;  // nullopt = any topic there

    // {"address": [...], "topics": [...]} (either left out when unrestricted), the part of the
    // eth_getLogs parameter object that selects logs.
    boost::json::object to_json() const;
    // Canonical text of the filter: subscriptions with the same key share one eth_getLogs.
    std::string key() const;
    // geth's rule for one log object (address and topics compared without regard to case): the
    // address is one of `addresses` (if any), the log has at least as many topics as the filter
    // has positions, and each restricted position holds one of its topics. The node's eth_getLogs
    // already selects, but nodes differ on the topic count (anvil ignores it), so the daemon
    // applies the rule itself too. A log that is not an object of that shape does not match.
    bool matches(const boost::json::value& log) const;
};

// Bounds on one filter, so a single subscription cannot make each poll's upstream request huge.
inline constexpr std::size_t kMaxFilterAddresses = 256;
inline constexpr std::size_t kMaxTopicPositions = 4;
inline constexpr std::size_t kMaxTopicAlternatives = 256;

// Validates value (the second parameter of eth_subscribe "logs"; null or absent = everything).
// Errors are -32602 and name the field: "params[1].address[2]: must be 20-byte hex (0x + 40 hex
// digits)". `where` is the prefix used in messages ("params[1]").
rpc::ParamResult<LogFilter> parse_log_filter(const boost::json::value* value,
                                             std::string_view where);

}  // namespace keybridge::daemon::subscriptions
