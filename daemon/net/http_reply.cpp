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
    // As the client asked: HTTP/1.1 stays open unless told, HTTP/1.0 closes unless told.
    if (!http10 && !keep_alive) text.append("Connection: close\r\n");
    // HTTP/1.0 kept alive, but the daemon is stopping: the connection closes with nothing said.
    if (http10 && keep_alive && !stopping) text.append("Connection: keep-alive\r\n");
    if (body) {
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, body->size()).ptr;
        text.append("Content-Length: ").append(digits, end).append("\r\n");
    }
    if (!http10 && keep_alive && stopping) text.append("Connection: close\r\n");
    text.append("\r\n");
    if (body) text.append(*body);
    return text;
}

}  // namespace keybridge::daemon::net
