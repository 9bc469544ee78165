#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keybridge::daemon::net {

// The HTTP response that carries a JSON-RPC answer, as the bytes to write: "200 OK" with the
// JSON body, or "204 No Content" when the payload held only notifications (body empty). Fields,
// in this order: Server, Content-Type (with a body), the CORS pair when `cors_origin` is not
// empty (the caller has checked it), "Connection: keep-alive" (HTTP/1.0 kept alive, daemon not
// stopping), Content-Length (0 on a 204), "Connection: close" (HTTP/1.1 closing: the client
// asked, or the daemon is stopping). These are the bytes the generic path (a Beast response,
// prepare_payload, then HttpSession::send's serialisation) wrote; built directly, without a
// field container, they cost a fraction of it (tests/daemon/net/http_reply_test.cpp compares
// both).
std::string rpc_reply_text(unsigned version, const std::optional<std::string>& body,
                           std::string_view cors_origin, bool keep_alive, bool stopping);

}  // namespace keybridge::daemon::net
