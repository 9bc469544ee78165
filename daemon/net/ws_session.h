#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "daemon/events/event_sink.h"
#include "daemon/net/net_stream.h"
#include "daemon/net/socket_transport.h"
#include "daemon/net/request_buffers.h"
#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// A WebSocket connection: JSON-RPC over text frames, server-pushed events, at most one write in
// flight with a queue behind it bounded in messages and bytes (OutboundQueue). Back-pressure: while
// the queue is over its pause threshold, or max-calls-in-flight calls are being answered, the
// session reads no more requests, and reads again once they have drained; a client that lets it
// grow past a limit all the same (answers to earlier requests, events) is closed with 1008 and the
// limit as the reason, its unsent messages dropped at once. Runs on the network thread of the HTTP
// session it came from.
class WsSession : public EventSink, public std::enable_shared_from_this<WsSession> {
  public:
    WsSession(SocketTransport transport, ServerContext& ctx, ConnectionSlot slot,
              rpc::Client client);
    ~WsSession() override;

    void run(Request upgrade);

    // EventSink: thread-safe.
    void push(std::string text) override;
    void close(int code, std::string reason, std::string last_message = {}) override;

  private:
    void on_accept(boost::beast::error_code ec);
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    // The next read, unless the outbound queue or the calls in flight ask to wait (then on_write
    // or on_reply resumes it).
    void read_more();
    bool reading_should_wait() const;
    void resume_reading();
    // The dispatcher's answer to one payload (nothing for notifications), on the session's thread.
    void on_reply(std::optional<std::string> body, std::size_t calls);
    // The read loop stopped for good: reports the connection as closed (once).
    void connection_ended();
    void send(std::string text);
    // Whether bytes read from the socket hold another request after the message of
    // `payload_bytes` just read (counted by SocketTransport; see the .cpp).
    bool more_requests_buffered(std::size_t payload_bytes);
    // Writes the answers held back by on_read, after the buffered requests were read.
    void schedule_flush();
    void post_flush(unsigned delays);
    void do_write();
    // A message (or, was_ping, watch_idle's ping) was written.
    void on_write(boost::beast::error_code ec, std::size_t bytes, bool was_ping);
    // Idle connections: every half idle-timeout, a client that sent nothing since the last
    // check is pinged, one that sent nothing after the ping either is closed.
    void watch_idle();
    void on_idle_check();
    // The client let its unsent replies pass a limit: drop them and close (1008, `why`).
    void overflow(const std::string& why);
    void do_close(boost::beast::websocket::close_reason reason);
    // The deferred close of close(): the last message, then the close frame.
    void finish_close();
    void start_close();

    boost::beast::websocket::stream<SocketTransport> ws_;
    ReadBuffer buffer_;  // wiped after each message and as released (request_buffers.h)
    ServerContext& ctx_;
    ConnectionSlot slot_;
    std::shared_ptr<rpc::Client> client_;
    OutboundQueue outbox_;
    bool read_paused_ = false;  // back-pressure: no read pending until the queue drains
    // After an overflow: the socket is closed when the close frame cannot go out in time.
    std::optional<boost::asio::steady_timer> close_deadline_;
    bool writing_ = false;  // a message or a ping in flight (one write at a time)
    std::optional<boost::asio::steady_timer> idle_timer_;
    std::uint64_t idle_seen_bytes_ = 0;  // bytes read at the last idle check
    bool idle_pinged_ = false;
    // Write coalescing: while on_read knows that more requests wait in the read buffer, the
    // answers it produces are held (hold_writes_) until a posted flush (flush_posted_), which
    // runs after those requests were read and writes the answers with MSG_MORE but the last
    // (SocketTransport::set_more), so that they leave as one segment.
    bool hold_writes_ = false;
    bool flush_posted_ = false;
    std::size_t batch_left_ = 0;  // answers of the flushed batch still to write
    std::uint64_t holds_ = 0;     // answers held by on_read so far
    static constexpr unsigned kMaxFlushDelays = 16;
    std::uint64_t bytes_handled_ = 0;  // socket bytes of the messages read so far (estimated)
    std::uint64_t messages_read_ = 0;
    bool closing_ = false;
    bool open_ = false;
    std::optional<boost::beast::websocket::close_reason> pending_close_;
    bool ended_ = false;
    std::size_t in_flight_ = 0;        // payloads dispatched and not yet answered
    std::size_t calls_in_flight_ = 0;  // the calls in them (a batch counts each)
    // A close() waiting for in_flight_ to reach 0, and the message to send just before it.
    std::optional<boost::beast::websocket::close_reason> close_when_answered_;
    std::string last_message_;
};

}  // namespace keybridge::daemon::net
