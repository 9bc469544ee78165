#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace keybridge::daemon::net {

// The TCP stream of an HTTP session (Beast's tcp_stream: timeouts), which the WebSocket session
// it may become takes over (WsTransport).
using NetStream = boost::beast::tcp_stream;

// TCP_CORK on a session's socket: while it is on, the kernel holds what is written and sends
// it as one segment when it comes off (or a segment fills, or after 200 ms), so answers written
// back to back reach the client in one delivery and one wake-up. Only a change costs a system
// call; a failure costs the coalescing, nothing else.
class Cork {
  public:
    void set(int fd, bool on) {
        if (on_ == on) return;
        on_ = on;
        const int value = on ? 1 : 0;
        ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
    }
    bool on() const { return on_; }

  private:
    bool on_ = false;
};

}  // namespace keybridge::daemon::net
