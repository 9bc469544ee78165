#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace keybridge::daemon::net {

// Checks applied to every HTTP request (and WebSocket upgrade) before any JSON is read. Pure
// functions over header values, so they are unit-tested without sockets.

// The name of the first of Host, Origin and Authorization that the request carries more than once,
// or nullopt. Each decides who is calling; with two copies, this guard and whatever else reads the
// request (a proxy, a browser's idea of the request, a later check) may each believe a different
// one, so the request is refused (400) before any other check.
// A template over the fields' allocator: the request's fields (request_buffers.h) are read where
// they are, not copied into ordinary memory (the copy took ~1k instructions per request and left
// the token behind unwiped).
template <class Allocator>
std::optional<std::string_view> repeated_identity_header(
    const boost::beast::http::basic_fields<Allocator>& headers) {
    namespace http = boost::beast::http;
    for (const http::field field :
         {http::field::host, http::field::origin, http::field::authorization}) {
        if (headers.count(field) > 1) return http::to_string(field);
    }
    return std::nullopt;
}

// The Host header must name a loopback address with our port: 127.0.0.1:P, localhost:P, [::1]:P
// (DNS rebinding sends a foreign name that resolves to 127.0.0.1; we refuse it).
bool host_allowed(std::string_view host_header, std::uint16_t port);

// An Origin header value that identifies a web page: "scheme://host[:port]" with scheme http,
// https or an extension scheme (chrome-extension://, moz-extension://). "null" (sandboxed frames,
// file://) is refused: such a page cannot be told apart from any other.
bool origin_valid(std::string_view origin);

// The bearer token from "Authorization: Bearer T", else from the query "?token=T".
std::optional<std::string> presented_token(std::string_view authorization_header,
                                           std::string_view target);

// Constant-time comparison of the presented token with the cookie token.
bool token_matches(std::string_view presented, std::string_view expected);

// "application/json" with optional parameters ("; charset=utf-8"), case-insensitive.
bool content_type_is_json(std::string_view content_type);

// The path part of a request target ("/?token=x" → "/").
std::string_view target_path(std::string_view target);

}  // namespace keybridge::daemon::net
