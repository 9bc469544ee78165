#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "daemon/net/inq_receive.h"
#include "daemon/net/net_stream.h"

namespace keybridge::daemon::net {

// The stream of a connection, HTTP first and WebSocket after an upgrade (HttpSession hands it
// to WsSession): the TCP stream, read and written on its socket directly. Reads count the bytes
// they take from the socket (a WebSocket session compares them with the frames it handled:
// WsSession::more_requests_buffered). While `more` is set, writes
// leave with MSG_MORE: the kernel holds what they wrote until a write without it, so a batch of
// answers leaves in one segment, as under TCP_CORK but without two setsockopt calls per batch.
//
// Read-ahead: Beast reads a frame header into a 1.5 KiB buffer, so while a client keeps several
// kilobyte requests queued every request cost a read of its own. After a read fills the buffer
// it was given (more was probably waiting), reads scatter into the caller's buffer and then into
// a held area of kHeldBytes owned by the transport; later reads are served from it without a
// system call. A connection that never filled a read (an idle or lightly used one) never
// allocates it. Served bytes are wiped: a request may carry a secret (request_buffers.h).
//
// Socket reads tell the reactor when they emptied the socket (inq_receive.h), so the read after
// an answer waits for the next request instead of finding nothing first. (Waiting for
// readability explicitly saves nothing: Asio re-arms the socket with epoll_ctl for every wait
// it queues, one system call for another.)
class SocketTransport {
  public:
    using executor_type = NetStream::executor_type;
    using next_layer_type = NetStream;

    static constexpr std::size_t kHeldBytes = 16 * 1024;

    explicit SocketTransport(NetStream stream)
        : stream_(std::move(stream)), receiver_(stream_.socket()) {}
    SocketTransport(SocketTransport&&) noexcept = default;
    SocketTransport& operator=(SocketTransport&&) = delete;
    ~SocketTransport();

    executor_type get_executor() noexcept { return stream_.get_executor(); }
    NetStream& next_layer() noexcept { return stream_; }
    const NetStream& next_layer() const noexcept { return stream_; }
    boost::asio::ip::tcp::socket& socket() noexcept { return stream_.socket(); }

    // The bytes taken from the socket so far, served or held (the session compares them with
    // the frames it handled).
    std::uint64_t bytes_read() const { return bytes_read_; }
    // Socket reads that found nothing (QueueReportingReceiver::empty_reads).
    std::uint64_t empty_reads() const { return receiver_.empty_reads(); }
    // Bytes read ahead and not yet served.
    std::size_t held_bytes() const { return held_end_ - held_begin_; }
    // Whether the writes that follow leave with MSG_MORE (the last of a batch must not).
    void set_more(bool more) { more_ = more; }

    template <class MutableBuffers, class Handler>
    auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
            ReadOp<MutableBuffers>{*this, buffers}, handler, stream_.socket());
    }

    // A read that must not wait (HttpSession's, after the client's end of stream): what is held
    // first, else the socket's.
    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
        ec = {};
        if (held_bytes() > 0) return serve_held(buffers);
        const std::size_t n = stream_.socket().read_some(buffers, ec);
        bytes_read_ += n;
        return n;
    }
    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers) {
        boost::system::error_code ec;
        const std::size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

    template <class ConstBuffers, class Handler>
    auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        return stream_.socket().async_send(buffers, more_ ? MSG_MORE : 0,
                                           std::forward<Handler>(handler));
    }

  private:
    // At most this many of the caller's buffers in a scattered read (Beast passes one or two);
    // a longer sequence is read without read-ahead.
    static constexpr std::size_t kMaxScatter = 7;
    using Scatter = std::array<boost::asio::mutable_buffer, kMaxScatter + 1>;

    template <class MutableBuffers>
    struct ReadOp {
        enum class Stage { Start, FromSocket, FromHeld };
        SocketTransport& t;
        MutableBuffers buffers;
        Stage stage = Stage::Start;
        std::size_t wanted = 0;  // the caller's size, when the read scattered into the held area

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
            switch (stage) {
                case Stage::Start: {
                    if (t.held_bytes() > 0) {
                        stage = Stage::FromHeld;
                        const std::size_t served = t.serve_held(buffers);
                        // Never complete inside the initiating call (Beast's ops rely on it).
                        auto executor = t.get_executor();
                        return boost::asio::post(executor,
                                                 [self = std::move(self), served]() mutable {
                                                     self(boost::system::error_code{}, served);
                                                 });
                    }
                    stage = Stage::FromSocket;
                    if (t.held_ && t.scatter_into(buffers, wanted)) {
                        return t.receiver_.async_receive(
                            t.stream_.socket(),
                            std::span<const boost::asio::mutable_buffer>(t.scatter_.data(),
                                                                         t.scatter_count_),
                            std::move(self));
                    }
                    return t.receiver_.async_receive(t.stream_.socket(), buffers, std::move(self));
                }
                case Stage::FromSocket:
                    t.bytes_read_ += n;
                    if (wanted > 0) {
                        n = t.keep_overflow(n, wanted);
                    } else if (n > 0 && n == boost::asio::buffer_size(buffers)) {
                        t.start_reading_ahead();
                    }
                    return self.complete(ec, n);
                case Stage::FromHeld:
                    return self.complete(ec, n);
            }
        }
    };

    template <class MutableBuffers>
    std::size_t serve_held(const MutableBuffers& buffers) {
        const std::size_t served = boost::asio::buffer_copy(
            buffers, boost::asio::const_buffer(held_.get() + held_begin_, held_bytes()));
        release_held(served);
        return served;
    }

    // The caller's buffers, then the held area (empty now), into scatter_ (the socket reads
    // from it after this returns; one read at a time); false when the caller asked for nothing
    // or passed more buffers than kMaxScatter.
    template <class MutableBuffers>
    bool scatter_into(const MutableBuffers& buffers, std::size_t& wanted) {
        auto it = boost::asio::buffer_sequence_begin(buffers);
        const auto end = boost::asio::buffer_sequence_end(buffers);
        std::size_t count = 0;
        std::size_t size = 0;
        for (; it != end; ++it) {
            if (count == kMaxScatter) return false;
            const boost::asio::mutable_buffer buffer(*it);
            scatter_[count++] = buffer;
            size += buffer.size();
        }
        if (size == 0) return false;
        scatter_[count++] = boost::asio::mutable_buffer(held_.get(), kHeldBytes);
        scatter_count_ = count;
        wanted = size;
        return true;
    }

    // After a scattered read of n bytes: what went past the caller's `wanted` bytes stays held.
    std::size_t keep_overflow(std::size_t n, std::size_t wanted) {
        if (n <= wanted) return n;
        held_begin_ = 0;
        held_end_ = n - wanted;
        return wanted;
    }

    void start_reading_ahead();
    void release_held(std::size_t served);

    NetStream stream_;
    QueueReportingReceiver receiver_;
    std::uint64_t bytes_read_ = 0;
    bool more_ = false;
    std::unique_ptr<char[]> held_;  // kHeldBytes once reading ahead, else null
    Scatter scatter_{};
    std::size_t scatter_count_ = 0;
    std::size_t held_begin_ = 0;
    std::size_t held_end_ = 0;
};

// Beast closes a WebSocket through these (found by argument-dependent lookup): the TCP stream's.
inline void teardown(boost::beast::role_type role, SocketTransport& transport,
                     boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, transport.next_layer().socket(), ec);
}

template <class Handler>
void async_teardown(boost::beast::role_type role, SocketTransport& transport, Handler&& handler) {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, transport.next_layer().socket(), std::forward<Handler>(handler));
}

}  // namespace keybridge::daemon::net
