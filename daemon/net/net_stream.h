#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace keybridge::daemon::net {

// The TCP stream under a connection's SocketTransport (the socket is read and written directly;
// Beast's tcp_stream timeouts are not used: HttpSession and WsSession keep their own timers).
using NetStream = boost::beast::tcp_stream;

// Sends what writes with MSG_MORE left in the kernel: a TCP_CORK that comes off pushes the
// pending data, whether or not it was on.
inline void push_pending(int fd) {
    const int off = 0;
    ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
}

}  // namespace keybridge::daemon::net
