#include "daemon/net/listener.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

#include "daemon/log.h"
#include "daemon/net/http_session.h"

namespace keybridge::daemon::net {

namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(asio::io_context& ioc, ServerContext& ctx,
                   std::vector<asio::io_context*> sessions)
    : ioc_(ioc),
      sessions_(std::move(sessions)),
      acceptor_(asio::make_strand(ioc)),
      retry_timer_(acceptor_.get_executor()),
      ctx_(ctx) {}

core::Status Listener::open(const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    auto fail_with = [&](const char* what) {
        return core::fail(core::ErrorCode::IoError,
                          std::string("cannot ") + what + " " + endpoint.address().to_string() +
                              ":" + std::to_string(endpoint.port()) + ": " + ec.message());
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail_with("open");
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
    acceptor_.bind(endpoint, ec);
    if (ec == asio::error::address_in_use) {
        return core::fail(core::ErrorCode::AlreadyExists,
                          endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) +
                              " is already in use by another program (another keybridged with "
                              "another data folder?); stop it or choose another --listen port");
    }
    if (ec) return fail_with("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail_with("listen on");
    port_ = acceptor_.local_endpoint(ec).port();
    return {};
}

void Listener::start() {
    do_accept();
}

void Listener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->retry_timer_.cancel();
    });
}

asio::io_context& Listener::next_session_context() {
    if (sessions_.empty()) return ioc_;
    asio::io_context& next = *sessions_[next_session_];
    next_session_ = (next_session_ + 1) % sessions_.size();
    return next;
}

void Listener::do_accept() {
    // The socket belongs to the io_context (network thread) its session will run on. No strand:
    // exactly one thread runs each io_context, so a session's handlers never run at once, and a
    // strand would only add a lock and a queue to every completion (eth_chainId over WebSocket
    // at 64x4: 31.8k -> 25.9k instructions per request).
    acceptor_.async_accept(next_session_context(), boost::beast::bind_front_handler(
                                                       &Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
        // EMFILE and friends: keep serving the connections we have and try again shortly,
        // rather than spinning on an error that repeats until a descriptor is freed.
        log::warn("net", "accept failed: " + ec.message());
        retry_timer_.expires_after(std::chrono::milliseconds(100));
        retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
            if (!wait_ec) self->do_accept();
        });
        return;
    }
    if (ctx_.stopping.load()) return;
    if (ctx_.connections.fetch_add(1) >= ctx_.config.max_connections) {
        ctx_.connections.fetch_sub(1);
        ctx_.refusals.info("net", "refused a connection: --max-connections reached (" +
                                      std::to_string(ctx_.config.max_connections) + " open)");
        boost::system::error_code ignored;
        socket.close(ignored);
    } else {
        // The sessions decide when answers leave (MSG_MORE for the answers of one batch, pushed
        // with the last). Nagle's algorithm would also hold an answer back while an earlier one
        // is unacknowledged, and a client that has nothing to send acknowledges it only when its
        // delayed-ACK timer fires: an answer that came a few milliseconds after another one (a
        // node's answer after a local one) then waited ~40 ms more.
        boost::system::error_code nodelay_ec;
        socket.set_option(tcp::no_delay(true), nodelay_ec);
        std::make_shared<HttpSession>(std::move(socket), ctx_, port_, ConnectionSlot(ctx_))->run();
    }
    do_accept();
}

}  // namespace keybridge::daemon::net
