#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "daemon/net/net_stream.h"

namespace keybridge::daemon::net {

// The stream under a WebSocket session: the session's TCP stream, read and written on its
// socket directly. Reads count the bytes they bring (the session compares them with the frames
// it handled: WsSession::more_requests_buffered). While `more` is set, writes leave with
// MSG_MORE: the kernel holds what they wrote until a write without it, so a batch of answers
// leaves in one segment, as under TCP_CORK but without two setsockopt calls per batch.
//
// (Waiting for readability before reading, to save the read that finds nothing after each
// request of a client with one in flight, saves nothing: Asio re-arms the socket with
// epoll_ctl for every wait it queues, one system call for another; docs/BENCHMARKS.md.)
class WsTransport {
  public:
    using executor_type = NetStream::executor_type;
    using next_layer_type = NetStream;

    explicit WsTransport(NetStream stream) : stream_(std::move(stream)) {}

    executor_type get_executor() noexcept { return stream_.get_executor(); }
    NetStream& next_layer() noexcept { return stream_; }
    const NetStream& next_layer() const noexcept { return stream_; }

    // The bytes read so far (the session compares them with the frames it handled).
    std::uint64_t bytes_read() const { return bytes_read_; }
    // Whether the writes that follow leave with MSG_MORE (the last of a batch must not).
    void set_more(bool more) { more_ = more; }

    template <class MutableBuffers, class Handler>
    auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
            ReadOp<MutableBuffers>{*this, buffers}, handler, stream_.socket());
    }

    template <class ConstBuffers, class Handler>
    auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        return stream_.socket().async_send(buffers, more_ ? MSG_MORE : 0,
                                           std::forward<Handler>(handler));
    }

  private:
    template <class MutableBuffers>
    struct ReadOp {
        WsTransport& t;
        MutableBuffers buffers;
        bool started = false;

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
            if (!started) {
                started = true;
                return t.stream_.socket().async_receive(buffers, std::move(self));
            }
            t.bytes_read_ += n;
            self.complete(ec, n);
        }
    };

    NetStream stream_;
    std::uint64_t bytes_read_ = 0;
    bool more_ = false;
};

// Beast closes a WebSocket through these (found by argument-dependent lookup): the TCP stream's.
inline void teardown(boost::beast::role_type role, WsTransport& transport,
                     boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, transport.next_layer().socket(), ec);
}

template <class Handler>
void async_teardown(boost::beast::role_type role, WsTransport& transport, Handler&& handler) {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, transport.next_layer().socket(), std::forward<Handler>(handler));
}

}  // namespace keybridge::daemon::net
