#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/wiping_allocator.h"

namespace keybridge::daemon::net {

// Incoming bytes can carry secrets: the cookie token in the headers, and a password a client
// sends where it does not belong (the secret methods are served on the control socket only).
// Every buffer they pass through (the read buffer, the header fields, the body) uses
// core::WipingAllocator, so no copy outlives its buffer in freed memory, however the buffer grew.
// Out of reach: the last small frame Beast's WebSocket stream unmasked in its own buffer
// (docs/ARCHITECTURE.md, "Secrets").
using RequestBody = boost::beast::http::basic_string_body<char, std::char_traits<char>,
                                                          core::WipingAllocator<char>>;
using RequestFields = boost::beast::http::basic_fields<core::WipingAllocator<char>>;
using Request = boost::beast::http::request<RequestBody, RequestFields>;
using RequestParser = boost::beast::http::request_parser<RequestBody, core::WipingAllocator<char>>;
using ReadBuffer = boost::beast::basic_flat_buffer<core::WipingAllocator<char>>;

// A read buffer keeps consumed bytes in its storage until they are overwritten: wipes them now.
// When unread bytes remain (a pipelined request), they are moved to fresh storage and the old
// block is wiped as it is released.
inline void wipe_consumed(ReadBuffer& buffer) {
    if (buffer.size() == 0) {
        // Empty: the whole storage is writable from its start.
        auto all = buffer.prepare(buffer.capacity());
        core::secure_wipe(all.data(), all.size());
    } else {
        buffer.shrink_to_fit();
    }
}

}  // namespace keybridge::daemon::net
