#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/result.h"
#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// The control socket: a Unix stream socket in the data folder (mode 0600 in the 0700 folder)
// speaking JSON-RPC as one JSON text per line. It is the approver's channel, and the tool's:
//  - only processes of the daemon's own user get in (SO_PEERCRED, checked at accept), so the
//    role needs no secret that a script could be handed; such clients are approvers
//    (rpc::Client::approver) and token clients at once;
//  - the tool proves the daemon the same way from its side before sending a password: a
//    stale cookie cannot lure it to whoever took the TCP port;
//  - it has its own connection limit, so a flood of TCP connections cannot lock the user out.
class ControlListener : public std::enable_shared_from_this<ControlListener> {
  public:
    // Connections open at once; the tool uses one or two.
    static constexpr std::size_t kMaxConnections = 32;

    ControlListener(boost::asio::io_context& ioc, ServerContext& ctx);

    // Binds `path` (an old socket file there is removed first: the caller holds the data
    // folder's instance lock, so no live daemon owns it).
    [[nodiscard]] core::Status open(const std::string& path);
    void start();
    // Stops accepting and removes the socket file.
    void stop();
    // Sessions still open (shutdown waits for their goodbye to go out).
    std::size_t open_connections() const { return open_connections_->load(); }

  private:
    void do_accept();
    void on_accept(boost::system::error_code ec,
                   boost::asio::local::stream_protocol::socket socket);

    boost::asio::io_context& ioc_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    ServerContext& ctx_;
    std::string path_;
    std::shared_ptr<std::atomic<std::size_t>> open_connections_;
};

}  // namespace keybridge::daemon::net
