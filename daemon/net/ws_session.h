#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "daemon/events/event_sink.h"
#include "daemon/net/request_buffers.h"
#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// A WebSocket connection: JSON-RPC over text frames, server-pushed events, at most one write in
// flight with a bounded queue behind it (a client that stops reading is disconnected rather than
// allowed to grow our memory). Runs on the strand of the HTTP session it came from.
class WsSession : public EventSink, public std::enable_shared_from_this<WsSession> {
  public:
    WsSession(boost::beast::tcp_stream stream, ServerContext& ctx, ConnectionSlot slot,
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
    // The dispatcher's answer to one payload (nothing for notifications), on the strand.
    void on_reply(std::optional<std::string> body);
    // The read loop stopped for good: reports the connection as closed (once).
    void connection_ended();
    void send(std::string text);
    void do_write();
    void on_write(boost::beast::error_code ec, std::size_t bytes);
    void do_close(boost::beast::websocket::close_reason reason);
    // The deferred close of close(): the last message, then the close frame.
    void finish_close();
    void start_close();

    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    ReadBuffer buffer_;  // wiped after each message and as released (request_buffers.h)
    ServerContext& ctx_;
    ConnectionSlot slot_;
    std::shared_ptr<rpc::Client> client_;
    std::deque<std::string> outbox_;
    bool writing_ = false;
    bool closing_ = false;
    bool open_ = false;
    std::optional<boost::beast::websocket::close_reason> pending_close_;
    bool ended_ = false;
    std::size_t in_flight_ = 0;  // payloads dispatched and not yet answered
    // A close() waiting for in_flight_ to reach 0, and the message to send just before it.
    std::optional<boost::beast::websocket::close_reason> close_when_answered_;
    std::string last_message_;
};

}  // namespace keybridge::daemon::net
