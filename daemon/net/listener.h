#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

#include "core/result.h"
#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// Accepts connections on one loopback endpoint and starts an HttpSession for each, refusing
// (closing at once) connections beyond --max-connections.
class Listener : public std::enable_shared_from_this<Listener> {
  public:
    Listener(boost::asio::io_context& ioc, ServerContext& ctx);

    // Binds and listens; port 0 picks a free port (see port()).
    [[nodiscard]] core::Status open(const boost::asio::ip::tcp::endpoint& endpoint);
    std::uint16_t port() const { return port_; }
    void start();
    void stop();

  private:
    void do_accept();
    void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    ServerContext& ctx_;
    std::uint16_t port_ = 0;
};

}  // namespace keybridge::daemon::net
