#pragma once

#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// One TCP connection speaking HTTP/1.1: GET /health, CORS preflights, POST / with JSON-RPC, and
// the upgrade to a WebSocket (handed to WsSession). Runs on its own strand. Every request passes
// the Host check first, then the Origin / token rule, before any JSON is read.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(boost::asio::ip::tcp::socket socket, ServerContext& ctx, std::uint16_t port,
                ConnectionSlot slot);
    void run();

  private:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;
    using Response = boost::beast::http::response<boost::beast::http::string_body>;

    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    void handle(Request request);
    void handle_rpc(Request request, std::shared_ptr<const rpc::Client> client);
    // Sends the response; closes afterwards unless keep_alive.
    void send(Response response);
    void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
    void send_error(boost::beast::http::status status, std::string_view message, bool close,
                    const std::string& origin = {});
    void do_close();

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    ServerContext& ctx_;
    std::uint16_t port_;
    ConnectionSlot slot_;
    bool first_request_ = true;
};

}  // namespace keybridge::daemon::net
