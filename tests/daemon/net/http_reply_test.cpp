#include "daemon/net/http_reply.h"

#include <string>

#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

namespace http = boost::beast::http;

// What the session wrote for a JSON-RPC answer before the reply was built directly: a Beast
// response with its fields set one by one, prepare_payload, keep_alive(false) when stopping,
// then status line, fields and body written out in order.
std::string through_beast(unsigned version, const std::optional<std::string>& body,
                          const std::string& origin, bool keep_alive, bool stopping) {
    http::response<http::string_body> res{body ? http::status::ok : http::status::no_content,
                                          version};
    res.set(http::field::server, "keybridged");
    if (body) {
        res.set(http::field::content_type, "application/json");
        res.body() = *body;
    }
    if (!origin.empty()) {
        res.set(http::field::access_control_allow_origin, origin);
        res.set(http::field::vary, "Origin");
    }
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (!res.keep_alive() || stopping) res.keep_alive(false);
    std::string text = res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    text.append(std::to_string(res.result_int())).append(" ").append(res.reason()).append("\r\n");
    for (const auto& field : res.base()) {
        text.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    }
    return text.append("\r\n").append(res.body());
}

TEST(RpcReplyText, SameBytesAsTheBeastResponse) {
    const std::optional<std::string> bodies[] = {
        std::nullopt, std::string(R"({"jsonrpc":"2.0","id":1,"result":"0x1"})"), std::string(),
        std::string(70000, 'x')};
    int cases = 0;
    for (unsigned version : {10u, 11u}) {
        for (const auto& body : bodies) {
            for (const std::string origin : {"", "https://app.example:8443"}) {
                for (bool keep_alive : {false, true}) {
                    for (bool stopping : {false, true}) {
                        SCOPED_TRACE(std::to_string(version) + " body=" + (body ? "yes" : "no") +
                                     " origin=" + origin +
                                     " keep_alive=" + std::to_string(keep_alive) +
                                     " stopping=" + std::to_string(stopping));
                        EXPECT_EQ(rpc_reply_text(version, body, origin, keep_alive, stopping),
                                  through_beast(version, body, origin, keep_alive, stopping));
                        ++cases;
                    }
                }
            }
        }
    }
    EXPECT_EQ(cases, 64);
}

TEST(RpcReplyText, SpellsTheFields) {
    EXPECT_EQ(rpc_reply_text(11, std::string("{}"), "", true, false),
              "HTTP/1.1 200 OK\r\nServer: keybridged\r\nContent-Type: application/json\r\n"
              "Content-Length: 2\r\n\r\n{}");
    EXPECT_EQ(rpc_reply_text(11, std::nullopt, "http://a", false, false),
              "HTTP/1.1 204 No Content\r\nServer: keybridged\r\nAccess-Control-Allow-Origin: "
              "http://a\r\nVary: Origin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

}  // namespace
}  // namespace keybridge::daemon::net
