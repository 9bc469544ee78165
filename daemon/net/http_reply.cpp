#include "daemon/net/http_reply.h"

#include <charconv>

namespace keybridge::daemon::net {

std::string rpc_reply_text(unsigned version, const std::optional<std::string>& body,
                           std::string_view cors_origin, bool keep_alive, bool stopping) {
    const bool http10 = version == 10;
    std::string text;
    text.reserve(200 + cors_origin.size() + (body ? body->size() : 0));
    text.append(http10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    text.append(body ? "200 OK\r\n" : "204 No Content\r\n");
    text.append("Server: keybridged\r\n");
    if (body) text.append("Content-Type: application/json\r\n");
    if (!cors_origin.empty()) {
        text.append("Access-Control-Allow-Origin: ").append(cors_origin).append("\r\n");
        text.append("Vary: Origin\r\n");
    }
    // HTTP/1.0 kept alive says so (unless the daemon is stopping: then it closes unannounced).
    if (http10 && keep_alive && !stopping) text.append("Connection: keep-alive\r\n");
    // Content-Length always, 0 on a 204 too (as Beast's prepare_payload set it).
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, body ? body->size() : 0).ptr;
    text.append("Content-Length: ").append(digits, end).append("\r\n");
    // HTTP/1.1 closing: after Content-Length (the generic path set the field again there).
    if (!http10 && (!keep_alive || stopping)) text.append("Connection: close\r\n");
    text.append("\r\n");
    if (body) text.append(*body);
    return text;
}

}  // namespace keybridge::daemon::net
