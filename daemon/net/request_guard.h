#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace keybridge::daemon::net {

// Checks applied to every HTTP request (and WebSocket upgrade) before any JSON is read. Pure
// functions over header values, so they are unit-tested without sockets.

// The headers the checks below read, taken in one pass over the request's fields (each lookup by
// name walked them again: ~1.5k instructions per request for five lookups). Each value is the
// first occurrence's, as fields[name] gives; empty when absent. Views into the fields.
struct IdentityHeaders {
    std::string_view host;
    std::string_view origin;
    std::string_view authorization;
    std::string_view content_type;
    // The name of the first of Host, Origin and Authorization that the request carries more than
    // once, or nullopt. Each decides who is calling; with two copies, this guard and whatever
    // else reads the request (a proxy, a browser's idea of the request, a later check) may each
    // believe a different one, so the request is refused (400) before any other check.
    std::optional<std::string_view> repeated;
};

// A template over the fields' allocator: the request's fields (request_buffers.h) are read where
// they are, never copied into ordinary memory (the token is among them).
template <class Allocator>
IdentityHeaders identity_headers(const boost::beast::http::basic_fields<Allocator>& headers) {
    namespace http = boost::beast::http;
    IdentityHeaders out;
    int hosts = 0;
    int origins = 0;
    int authorizations = 0;
    bool content_type_seen = false;
    // name() is the field's enumerator, matched case-insensitively when the field was parsed.
    for (const auto& f : headers) {
        switch (f.name()) {
            case http::field::host:
                if (hosts++ == 0) out.host = f.value();
                break;
            case http::field::origin:
                if (origins++ == 0) out.origin = f.value();
                break;
            case http::field::authorization:
                if (authorizations++ == 0) out.authorization = f.value();
                break;
            case http::field::content_type:
                if (!content_type_seen) out.content_type = f.value();
                content_type_seen = true;
                break;
            default:
                break;
        }
    }
    if (hosts > 1) {
        out.repeated = http::to_string(http::field::host);
    } else if (origins > 1) {
        out.repeated = http::to_string(http::field::origin);
    } else if (authorizations > 1) {
        out.repeated = http::to_string(http::field::authorization);
    }
    return out;
}

template <class Allocator>
std::optional<std::string_view> repeated_identity_header(
    const boost::beast::http::basic_fields<Allocator>& headers) {
    return identity_headers(headers).repeated;
}

// The Host header must name a loopback address with our port: 127.0.0.1:P, localhost:P, [::1]:P
// (DNS rebinding sends a foreign name that resolves to 127.0.0.1; we refuse it).
bool host_allowed(std::string_view host_header, std::uint16_t port);

// An Origin header value that identifies a web page: "scheme://host[:port]" with scheme http,
// https or an extension scheme (chrome-extension://, moz-extension://). "null" (sandboxed frames,
// file://) is refused: such a page cannot be told apart from any other.
bool origin_valid(std::string_view origin);

// The bearer token from "Authorization: Bearer T", else from the query "?token=T": a view into
// the argument it came from (the request's wiping fields or target), so the token is not copied
// into ordinary memory, and no allocation is made per request.
std::optional<std::string_view> presented_token(std::string_view authorization_header,
                                                std::string_view target);

// Constant-time comparison of the presented token with the cookie token.
bool token_matches(std::string_view presented, std::string_view expected);

// "application/json" with optional parameters ("; charset=utf-8"), case-insensitive.
bool content_type_is_json(std::string_view content_type);

// The path part of a request target ("/?token=x" → "/").
std::string_view target_path(std::string_view target);

}  // namespace keybridge::daemon::net
