#include "daemon/rpc/jsonrpc.h"

#include "core/json_text.h"
#include "daemon/rpc/json_reader.h"

namespace keybridge::daemon::rpc {
namespace {

namespace json = boost::json;
using core::ErrorCode;

RpcError invalid_request(std::string message) {
    return RpcError{kInvalidRequest, std::move(message), std::nullopt};
}

// The id as JSON text for the answer: a number as the request spelled it when known.
std::string id_text_of(const json::value& id, const std::optional<std::string>& number_spelling) {
    if (id.is_number() && number_spelling) return *number_spelling;
    return json::serialize(id);
}

// Validates one element of a payload (EIP-1474 and the JSON-RPC 2.0 specification).
// `number_spelling` is the source text of its id when that is a number. The call takes the
// params out of `v` (moved, not copied: a typed-data document can be kilobytes).
Payload::Entry parse_call(json::value& v, const std::optional<std::string>& number_spelling) {
    Payload::Entry entry;
    entry.error_id = nullptr;
    if (!v.is_object()) {
        entry.error = invalid_request("a request must be a JSON object");
        return entry;
    }
    json::object& o = v.as_object();
    // The id is echoed even in an error about other fields, when it is of a valid type.
    const json::value* id = o.if_contains("id");
    if (id != nullptr) {
        if (id->is_string() || id->is_number() || id->is_null()) {
            entry.error_id = *id;
            entry.id_text = id_text_of(*id, number_spelling);
        } else {
            entry.error = invalid_request("id must be a string, a number or null");
            return entry;
        }
    }
    const json::value* version = o.if_contains("jsonrpc");
    if (version == nullptr || !version->is_string() || version->as_string() != "2.0") {
        entry.error = invalid_request("jsonrpc must be \"2.0\"");
        return entry;
    }
    const json::value* method = o.if_contains("method");
    if (method == nullptr || !method->is_string() || method->as_string().empty()) {
        entry.error = invalid_request("method must be a non-empty string");
        return entry;
    }
    json::value* params = o.if_contains("params");
    if (params != nullptr && !params->is_array() && !params->is_object()) {
        entry.error = invalid_request("params must be an array or an object");
        return entry;
    }
    // params is move-constructed: it keeps the parse's wiping storage (a password may be in it)
    // without a copy; assigning it to a value of another storage would copy it into ordinary
    // memory.
    Call call{.id = std::nullopt,
              .id_text = "null",
              .method = std::string(method->as_string()),
              .params = params != nullptr ? std::move(*params) : json::value(nullptr)};
    if (id != nullptr) {
        call.id = *id;
        call.id_text = entry.id_text;
    }
    entry.call = std::move(call);
    return entry;
}

}  // namespace

RpcError to_rpc_error(const core::Error& error) {
    switch (error.code) {
        case ErrorCode::InvalidArgument:
        case ErrorCode::InvalidFormat:
        case ErrorCode::InvalidChecksum:
        case ErrorCode::OutOfRange:
            return {kInvalidParams, error.detail, std::nullopt};
        case ErrorCode::LimitExceeded:
            return {kLimitExceeded, error.detail, std::nullopt};
        case ErrorCode::AlreadyExists:
            return {kResourceUnavailable, error.detail, std::nullopt};
        case ErrorCode::NotSupported:
            return {kUnsupportedMethod, error.detail, std::nullopt};
        case ErrorCode::UserCancelled:
            // "User denied" is what ethers' JsonRpcProvider (and MetaMask's wording) look for to
            // report ACTION_REJECTED: plain JSON-RPC clients read the message, not the code.
            return {kUserRejected,
                    error.detail.empty() ? std::string("User denied the request.")
                                         : "User denied the request: " + error.detail,
                    std::nullopt};
        case ErrorCode::NotFound:
        case ErrorCode::VaultLocked:
        case ErrorCode::WrongPassword:  // a wrong vault password or device PIN: not our fault
            return {kUnauthorized, error.detail, std::nullopt};
        case ErrorCode::Disconnected:
        case ErrorCode::DeviceNotFound:
            return {kDisconnected, error.detail, std::nullopt};
        case ErrorCode::ProtocolError:
        case ErrorCode::Timeout:
        case ErrorCode::DeviceBusy:
        case ErrorCode::PinRequired:
        case ErrorCode::CryptoFailure:
        case ErrorCode::IoError:
            return {kInternalError, error.detail, std::nullopt};
        case ErrorCode::Internal:
            return {kInternalError, "internal error", std::nullopt};
    }
    return {kInternalError, "internal error", std::nullopt};
}

std::variant<Payload, RpcError> parse_payload(std::string_view text, const ParseLimits& limits) {
    if (text.size() > limits.max_bytes) {
        return RpcError{kLimitExceeded,
                        "request larger than " + std::to_string(limits.max_bytes) + " bytes",
                        std::nullopt};
    }
    json::parse_options options;
    options.max_depth = limits.max_depth;
    json::error_code ec;
    ReadJson read = read_json(text, ec, options);
    json::value& root = read.root;
    auto spelling = [&read](std::size_t index) -> const std::optional<std::string>& {
        static const std::optional<std::string> none;
        return index < read.number_ids.size() ? read.number_ids[index] : none;
    };
    if (ec) {
        if (ec == json::error::too_deep) {
            return RpcError{
                kParseError,
                "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels",
                std::nullopt};
        }
        return RpcError{kParseError, "invalid JSON: " + ec.message(), std::nullopt};
    }
    Payload payload;
    if (root.is_array()) {
        json::array& batch = root.as_array();
        if (batch.empty()) return invalid_request("empty batch");
        if (batch.size() > limits.max_batch) {
            return RpcError{kLimitExceeded,
                            "batch longer than " + std::to_string(limits.max_batch) + " calls",
                            std::nullopt};
        }
        payload.is_batch = true;
        for (std::size_t i = 0; i < batch.size(); ++i)
            payload.entries.push_back(parse_call(batch[i], spelling(i)));
        return payload;
    }
    if (!root.is_object()) return invalid_request("a request must be a JSON object or array");
    payload.entries.push_back(parse_call(root, spelling(0)));
    return payload;
}

json::object make_result(const json::value& id, json::value result) {
    json::object o;
    o["jsonrpc"] = "2.0";
    o["id"] = id;
    o["result"] = std::move(result);
    return o;
}

json::object make_error(const json::value& id, const RpcError& error) {
    json::object e;
    e["code"] = error.code;
    e["message"] = error.message;
    if (error.data) e["data"] = *error.data;
    json::object o;
    o["jsonrpc"] = "2.0";
    o["id"] = id;
    o["error"] = std::move(e);
    return o;
}

std::string result_text(std::string_view id_text, const json::value& result) {
    std::string text = R"({"jsonrpc":"2.0","id":)";
    text.reserve(text.size() + id_text.size() + 16 +
                 (result.is_string() ? result.get_string().size() + 2 : 0));
    text.append(id_text).append(R"(,"result":)");
    // Most results are one string (a signature, a hash, a quantity): written in place.
    if (result.is_string())
        core::append_json_string(text, result.get_string());
    else
        text.append(json::serialize(result));
    text.append("}");
    return text;
}

std::string error_text(std::string_view id_text, const RpcError& error) {
    json::object e;
    e["code"] = error.code;
    e["message"] = error.message;
    if (error.data) e["data"] = *error.data;
    std::string text = R"({"jsonrpc":"2.0","id":)";
    text.append(id_text).append(R"(,"error":)").append(json::serialize(e)).append("}");
    return text;
}

json::object make_notification(std::string_view method, json::value params) {
    json::object o;
    o["jsonrpc"] = "2.0";
    o["method"] = method;
    o["params"] = std::move(params);
    return o;
}

}  // namespace keybridge::daemon::rpc
