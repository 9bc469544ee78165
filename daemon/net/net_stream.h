#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/rate_policy.hpp>

namespace keybridge::daemon::net {

// Beast's "rate policy" slot used as a meter: it limits nothing (like unlimited_rate_policy)
// and counts the bytes read from the socket, so that a WebSocket session can tell whether the
// next request is already in Beast's read buffer (WsSession::more_requests_buffered).
class ReadMeter {
  public:
    std::uint64_t bytes_read() const { return bytes_read_; }

  private:
    friend class boost::beast::rate_policy_access;
    static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
    std::size_t available_read_bytes() const noexcept { return kUnlimited; }
    std::size_t available_write_bytes() const noexcept { return kUnlimited; }
    void transfer_read_bytes(std::size_t n) noexcept { bytes_read_ += n; }
    void transfer_write_bytes(std::size_t) const noexcept {}
    void on_timer() const noexcept {}

    std::uint64_t bytes_read_ = 0;
};

// The TCP stream of an HTTP session and of the WebSocket session it may become: Beast's
// tcp_stream (timeouts) with the ReadMeter.
using NetStream =
    boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::any_io_executor, ReadMeter>;

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
