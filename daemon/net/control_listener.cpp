#include "daemon/net/control_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "daemon/log.h"
#include "daemon/net/control_session.h"

namespace keybridge::daemon::net {

namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {

// The peer's name for the audit log: "control#7 pid 1234 keybridge".
std::string session_name(std::uint64_t connection_id, pid_t pid) {
    std::string command;
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::getline(comm, command);
    std::string name = "control#" + std::to_string(connection_id) + " pid " + std::to_string(pid);
    if (!command.empty()) name += " " + command;
    return name;
}

}  // namespace

ControlListener::ControlListener(asio::io_context& ioc, ServerContext& ctx)
    : ioc_(ioc),
      acceptor_(asio::make_strand(ioc)),
      retry_timer_(acceptor_.get_executor()),
      ctx_(ctx),
      open_connections_(std::make_shared<std::atomic<std::size_t>>(0)) {}

core::Status ControlListener::open(const std::string& path) {
    // sockaddr_un holds 108 bytes with the terminating zero.
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return core::fail(core::ErrorCode::InvalidArgument,
                          "the control socket path " + path + " is longer than " +
                              std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                              " bytes; use a shorter --datadir");
    }
    ::unlink(path.c_str());
    boost::system::error_code ec;
    acceptor_.open(stream_protocol(), ec);
    if (!ec) {
        // Created 0600 from the start: no moment where another user could connect.
        const mode_t old_mask = ::umask(0177);
        acceptor_.bind(stream_protocol::endpoint(path), ec);
        ::umask(old_mask);
    }
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return core::fail(core::ErrorCode::IoError,
                          "cannot listen on the control socket " + path + ": " + ec.message());
    }
    path_ = path;
    return {};
}

void ControlListener::start() {
    do_accept();
}

void ControlListener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->retry_timer_.cancel();
        if (!self->path_.empty()) ::unlink(self->path_.c_str());
    });
}

void ControlListener::do_accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_),
        [self = shared_from_this()](boost::system::error_code ec, stream_protocol::socket socket) {
            self->on_accept(ec, std::move(socket));
        });
}

void ControlListener::on_accept(boost::system::error_code ec, stream_protocol::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
        log::warn("net", "control socket accept failed: " + ec.message());
        retry_timer_.expires_after(std::chrono::milliseconds(100));
        retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
            if (!wait_ec) self->do_accept();
        });
        return;
    }
    do_accept();
    if (ctx_.stopping.load()) return;
    ucred peer{};
    socklen_t size = sizeof peer;
    boost::system::error_code ignored;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
        log::warn("net", std::string("control socket: cannot read the peer's credentials: ") +
                             std::strerror(errno));
        socket.close(ignored);
        return;
    }
    // The folder is 0700 and the socket 0600, so only root could get here as someone else.
    if (peer.uid != ::geteuid()) {
        ctx_.refusals.info("net", "refused a control connection from uid " +
                                      std::to_string(peer.uid) + " (pid " +
                                      std::to_string(peer.pid) + "): not keybridged's user");
        socket.close(ignored);
        return;
    }
    if (open_connections_->fetch_add(1) >= kMaxConnections) {
        open_connections_->fetch_sub(1);
        ctx_.refusals.info("net", "refused a control connection: " +
                                      std::to_string(kMaxConnections) + " already open");
        socket.close(ignored);
        return;
    }
    rpc::Client client;
    client.token_authenticated = true;
    client.approver = true;
    client.connection_id = ctx_.next_connection_id.fetch_add(1);
    client.session = session_name(client.connection_id, peer.pid);
    std::make_shared<ControlSession>(std::move(socket), ctx_, std::move(client), open_connections_)
        ->run();
}

}  // namespace keybridge::daemon::net
