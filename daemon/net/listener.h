#pragma once

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

#include "core/result.h"
#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// Accepts connections on one loopback endpoint and starts an HttpSession for each, refusing
// (closing at once) connections beyond --max-connections. Each network thread runs its own
// io_context (`sessions`, one per --threads): connections are handed to them in turn and stay on
// that thread for their whole life, so the threads never wait for each other's event loop. Only
// one thread runs each io_context: a session's handlers are serialised by that, without a strand.
class Listener : public std::enable_shared_from_this<Listener> {
  public:
    // Accepts on `ioc`; sessions run on `sessions` (in turn), or on `ioc` when it is empty.
    Listener(boost::asio::io_context& ioc, ServerContext& ctx,
             std::vector<boost::asio::io_context*> sessions = {});

    // Binds and listens; port 0 picks a free port (see port()).
    [[nodiscard]] core::Status open(const boost::asio::ip::tcp::endpoint& endpoint);
    std::uint16_t port() const { return port_; }
    void start();
    void stop();

  private:
    void do_accept();
    void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& next_session_context();

    boost::asio::io_context& ioc_;
    std::vector<boost::asio::io_context*> sessions_;
    std::size_t next_session_ = 0;  // only touched on the acceptor's strand
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    ServerContext& ctx_;
    std::uint16_t port_ = 0;
};

}  // namespace keybridge::daemon::net
