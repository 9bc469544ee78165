#pragma once

#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/error.h"

namespace keybridge::daemon::rpc {

// JSON-RPC 2.0 and EIP-1193/1474 error numbers. A released number never changes meaning.
enum RpcErrorCode : int {
    kParseError = -32700,
    kInvalidRequest = -32600,
    kMethodNotFound = -32601,
    kInvalidParams = -32602,
    kInternalError = -32603,
    kLimitExceeded = -32005,  // EIP-1474: request rate or size limit
    // EIP-1474 "resource unavailable"; MetaMask's answer to a second eth_requestAccounts while
    // the first is pending, and ours.
    kResourceUnavailable = -32002,
    kUserRejected = 4001,  // EIP-1193
    kUnauthorized = 4100,
    kUnsupportedMethod = 4200,
    kDisconnected = 4900,
    kChainDisconnected = 4901,
    kUnrecognizedChain = 4902,  // wallet_switchEthereumChain: add the chain first
};

struct RpcError {
    int code = kInternalError;
    std::string message;
    std::optional<boost::json::value> data;
};

// The one table from core::ErrorCode to RPC error numbers.
RpcError to_rpc_error(const core::Error& error);

// One call of a request or batch, validated.
struct Call {
    std::optional<boost::json::value> id;  // absent for a notification
    // The id as the answer must echo it: JSON text, numbers spelled exactly as the request wrote
    // them (an id beyond double range such as 1e400 has no other valid rendering).
    std::string id_text = "null";
    std::string method;
    // Array, object, or null when absent; in the storage it was parsed into (parse_payload:
    // core::wiping_json_storage(), because params may carry a password).
    boost::json::value params;
    bool is_notification() const { return !id.has_value(); }
};

struct ParseLimits {
    std::size_t max_bytes = 1024 * 1024;
    std::size_t max_depth = 64;
    std::size_t max_batch = 100;
};

// A parsed payload: either one call or a batch. An element that is not a valid call becomes an
// error entry to answer in place (the rest of the batch still runs).
struct Payload {
    bool is_batch = false;
    struct Entry {
        std::optional<Call> call;
        std::optional<RpcError> error;  // set when the entry itself is invalid
        boost::json::value error_id;    // id to echo with that error (null when unknown)
        std::string id_text = "null";   // error_id as JSON text, numbers spelled as written
    };
    std::vector<Entry> entries;
};

// Parses text into a payload. A payload-level failure (not JSON, too deep, too large, empty
// batch, batch too long, not an object or array) is returned as the error to send with id null.
[[nodiscard]] std::variant<Payload, RpcError> parse_payload(std::string_view text,
                                                            const ParseLimits& limits);

boost::json::object make_result(const boost::json::value& id, boost::json::value result);
boost::json::object make_error(const boost::json::value& id, const RpcError& error);
// The same responses as JSON text, with the id given as JSON text (Call::id_text).
std::string result_text(std::string_view id_text, const boost::json::value& result);
std::string error_text(std::string_view id_text, const RpcError& error);
boost::json::object make_notification(std::string_view method, boost::json::value params);

}  // namespace keybridge::daemon::rpc
