#include "daemon/net/ws_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "daemon/log.h"
#include "daemon/thread_scheduling.h"
#include "daemon/turn_end.h"

namespace keybridge::daemon::net {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

WsSession::WsSession(SocketTransport transport, ServerContext& ctx, ConnectionSlot slot,
                     rpc::Client client)
    : ws_(std::move(transport)),
      ctx_(ctx),
      slot_(std::move(slot)),
      client_(std::make_shared<rpc::Client>(std::move(client))),
      outbox_(ctx.outbound_limits(), ctx.outbound_bytes) {}

WsSession::~WsSession() {
    std::lock_guard lock(ctx_.sinks_mutex);
    ctx_.sinks.erase(client_->connection_id);
}

void WsSession::run(Request upgrade) {
    client_->sink = weak_from_this();
    // The tcp_stream's own timer would fight the WebSocket timeouts; hand timing to the latter.
    beast::get_lowest_layer(ws_).expires_never();
    // Beast times the opening and closing handshakes; idleness is watch_idle()'s: Beast's idle
    // timeout re-arms a timer for every read, two timer operations and a cancelled wait's
    // handler per request (8 % of an eth_chainId's instructions).
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(ctx_.config.handshake_timeout_s);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.read_message_max(ctx_.config.max_request_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "keybridged"); }));
    ws_.async_accept(upgrade, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
    if (ec) {
        log::debug("net", "WebSocket handshake failed: " + ec.message());
        return;
    }
    open_ = true;
    // What the HTTP session read (the upgrade request) is not a WebSocket message.
    bytes_handled_ = ws_.next_layer().bytes_read();
    {
        std::lock_guard lock(ctx_.sinks_mutex);
        ctx_.sinks[client_->connection_id] = weak_from_this();
    }
    if (ctx_.stopping.load()) {
        return do_close(
            websocket::close_reason(websocket::close_code::going_away, "shutting down"));
    }
    idle_seen_bytes_ = ws_.next_layer().bytes_read();
    idle_timer_.emplace(ws_.get_executor());
    watch_idle();
    do_read();
}

void WsSession::watch_idle() {
    // Half the timeout per check: silent for one half, pinged; silent for the other, closed.
    idle_timer_->expires_after(std::chrono::milliseconds(ctx_.config.idle_timeout_s * 500));
    // Weak: an idle timer must not keep a finished session alive for minutes.
    idle_timer_->async_wait([weak = weak_from_this()](beast::error_code ec) {
        if (ec) return;
        if (auto self = weak.lock()) self->on_idle_check();
    });
}

void WsSession::on_idle_check() {
    if (!open_ || closing_) return;  // the closing handshake has Beast's timeout
    // Any byte from the client counts (a request, a pong, part of a frame), as in Beast's own
    // idle timeout.
    const std::uint64_t read = ws_.next_layer().bytes_read();
    if (read != idle_seen_bytes_) {
        idle_seen_bytes_ = read;
        idle_pinged_ = false;
        return watch_idle();
    }
    if (!idle_pinged_) {
        idle_pinged_ = true;
        if (!writing_) {  // a write in flight waits for the client anyway: no ping beside it
            writing_ = true;
            ws_.async_ping({}, [self = shared_from_this()](beast::error_code ec) {
                self->on_write(ec, 0, /*was_ping=*/true);
            });
        }
        return watch_idle();
    }
    log::debug("net", "closing a WebSocket connection idle for " +
                          std::to_string(ctx_.config.idle_timeout_s) + " s");
    // As Beast's idle timeout does: the socket closes; the pending read ends the session.
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

void WsSession::do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t) {
    if (ec) connection_ended();  // every error below ends the read loop
    if (ec == websocket::error::closed || ec == beast::error::timeout ||
        ec == boost::asio::error::operation_aborted || ec == boost::asio::error::eof ||
        ec == boost::asio::error::connection_reset) {
        open_ = false;
        return;
    }
    if (ec == websocket::error::message_too_big) {
        return do_close(websocket::close_reason(websocket::close_code::too_big,
                                                "message larger than the limit"));
    }
    if (ec) {
        log::debug("net", "WebSocket read failed: " + ec.message());
        open_ = false;
        return;
    }
    if (!ws_.got_text()) {
        connection_ended();
        buffer_.consume(buffer_.size());
        wipe_consumed(buffer_);
        return do_close(websocket::close_reason(websocket::close_code::bad_payload,
                                                "JSON-RPC needs text frames"));
    }
    ++messages_read_;
    const bool more_buffered = more_requests_buffered(buffer_.size());
    network_scheduling::note_request(more_buffered);
    // Parsed in place (a flat buffer is contiguous), then wiped: the message may carry a
    // password (request_buffers.h).
    auto parsed = rpc::parse_payload(
        std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()),
        ctx_.parse_limits());
    buffer_.consume(buffer_.size());
    wipe_consumed(buffer_);
    if (auto* error = std::get_if<rpc::RpcError>(&parsed)) {
        send(json::serialize(rpc::make_error(nullptr, *error)));
        return read_more();
    }
    auto& payload = std::get<rpc::Payload>(parsed);
    if (!ctx_.admit(*client_, payload.entries.size())) {
        ctx_.refusals.info("net",
                           "refused WebSocket request (rate limit) from origin " + client_->origin);
        send(json::serialize(rpc::make_error(
            nullptr, rpc::RpcError{rpc::kLimitExceeded, "request rate limit exceeded", {}})));
        return read_more();
    }
    ++in_flight_;
    hold_writes_ = more_buffered;
    if (more_buffered) ++holds_;
    const std::size_t calls = payload.entries.size();
    calls_in_flight_ += calls;
    ctx_.dispatcher.dispatch(client_, std::move(payload),
                             [self = shared_from_this(), calls](std::optional<std::string> body) {
                                 // Answered inline (on this session's network thread, most are)
                                 // the reply is written at once, before the next read starts; from
                                 // another thread it is queued to that thread's event loop.
                                 boost::asio::dispatch(
                                     self->ws_.get_executor(),
                                     [self, calls, body = std::move(body)]() mutable {
                                         self->on_reply(std::move(body), calls);
                                     });
                             });
    read_more();  // requests are answered as they complete, possibly out of order (ids match)
    if (hold_writes_) {
        hold_writes_ = false;
        // A signature's answer comes at the end of the turn (turn_end.h), after its audit line.
        if (!outbox_.empty() || turn_end::pending()) schedule_flush();
    }
}

// Write coalescing. A client with several requests in flight on one connection (a dApp
// loading a page, a pipelining client) often has more than one in the read buffer at once;
// written as they were made, the first answer left in a segment of its own and Nagle's
// algorithm sent the others when the client acknowledged it: two deliveries and wake-ups of
// the client, and answers waiting for an acknowledgement. While more requests are buffered, on_read
// holds the answers back; the flush it posts runs after Beast has handed over the buffered requests
// (their read completions are posted before it) and writes everything queued, all but the
// last with MSG_MORE, which the kernel sends as one segment with the last write. A
// request alone in the buffer (one in flight: every 1x1 exchange) is answered at once as
// before, with no extra hop. Only the moment of the write depends on the estimate below;
// every answer is written in either case.
bool WsSession::more_requests_buffered(std::size_t payload_bytes) {
    // A client's frame is masked: 2 header bytes, 4 of mask, 2 or 8 more for a payload over
    // 125 or 65535 bytes. A message in several frames, or a ping, makes the estimate short of
    // what was read, so answers are held for a request that is not there: that costs one
    // posted flush, and the first flush that finds no request behind it resets the count.
    const std::uint64_t header = payload_bytes <= 125 ? 6 : payload_bytes <= 65535 ? 8 : 14;
    const std::uint64_t frame = header + payload_bytes;
    bytes_handled_ += frame;
    const std::uint64_t read = ws_.next_layer().bytes_read();
    if (bytes_handled_ >= read) {
        bytes_handled_ = read;
        return false;
    }
    // Fewer bytes than this request took are most likely the start of the next one, cut by the
    // end of a read (Beast reads 1.5 KiB at a time: large requests arrive in pieces). Holding
    // answers for it would keep them back across the reads of the rest.
    return read - bytes_handled_ >= frame;
}

void WsSession::schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    post_flush(0);
}

void WsSession::post_flush(unsigned delays) {
    boost::asio::post(ws_.get_executor(), [self = shared_from_this(), delays, read = messages_read_,
                                           held = holds_] {
        if (self->messages_read_ == read) {  // no whole request was behind (see above)
            self->bytes_handled_ = self->ws_.next_layer().bytes_read();
        }
        // The request read meanwhile held its answer too: more were buffered behind it. The
        // flush waits for them (a few turns at most: a read of Beast's takes 1.5 KiB), and for
        // the answers the end of this turn delivers (queued before the flush posted now).
        if ((self->holds_ != held || turn_end::pending()) && delays < kMaxFlushDelays)
            return self->post_flush(delays + 1);
        self->flush_posted_ = false;
        if (self->writing_ || self->outbox_.empty()) return;
        if (self->outbox_.size() >= 2) self->batch_left_ = self->outbox_.size();
        self->do_write();
    });
}

bool WsSession::reading_should_wait() const {
    // Answers still being made (a node's answer may be megabytes) will join the queue too.
    return outbox_.should_pause() || calls_in_flight_ >= ctx_.config.max_calls_in_flight;
}

void WsSession::read_more() {
    if (!open_ || closing_) return;
    if (reading_should_wait()) {
        // Back-pressure: a client that does not read its answers gets no new ones; TCP flow
        // control then holds its requests on its side.
        read_paused_ = true;
        return;
    }
    do_read();
}

void WsSession::resume_reading() {
    if (!read_paused_ || reading_should_wait()) return;
    read_paused_ = false;
    read_more();
}

void WsSession::connection_ended() {
    if (ended_) return;
    ended_ = true;
    if (ctx_.connection_closed) ctx_.connection_closed(client_->connection_id);
}

void WsSession::on_reply(std::optional<std::string> body, std::size_t calls) {
    --in_flight_;
    calls_in_flight_ -= calls;
    if (body) send(std::move(*body));
    if (in_flight_ == 0 && close_when_answered_) finish_close();
    resume_reading();
}

void WsSession::push(std::string text) {
    // A reply computed on this session's network thread (most are: the handler ran inline from
    // on_read) is sent at once; from any other thread it is queued to that thread's event loop.
    boost::asio::dispatch(ws_.get_executor(),
                          [self = shared_from_this(), text = std::move(text)]() mutable {
                              self->send(std::move(text));
                          });
}

void WsSession::send(std::string text) {
    if (!open_ || closing_) return;  // nothing new once a close was decided
    if (auto queued = outbox_.push(std::move(text)); !queued)
        return overflow(queued.error().detail);
    if (!writing_ && !hold_writes_ && !flush_posted_) do_write();
}

void WsSession::overflow(const std::string& why) {
    ctx_.refusals.info("net", "closing a WebSocket client that does not read its replies: " + why);
    // Its requests can no longer be answered: its approvals and subscriptions go now (the read
    // loop may be paused, so on_read would not report it). Posted: send() may run inside a
    // caller that is itself answering or notifying this connection.
    boost::asio::post(ws_.get_executor(),
                      [self = shared_from_this()] { self->connection_ended(); });
    outbox_.drop_unsent();  // the memory comes back now, not when the client reads
    do_close(websocket::close_reason(websocket::close_code::policy_error,
                                     "client does not read its replies: " + why));
    // The close frame waits behind the write in flight, which a client that never reads never
    // lets finish: then the socket is closed without it.
    close_deadline_.emplace(ws_.get_executor(),
                            std::chrono::seconds(ctx_.config.handshake_timeout_s));
    close_deadline_->async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec) return;
        // The write in flight then fails, and on_write lets go of what it was writing.
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
}

void WsSession::do_write() {
    writing_ = true;
    // All but the last answer of a batch leave with MSG_MORE: one segment for the batch.
    ws_.next_layer().set_more(batch_left_ > 1 && outbox_.size() > 1);
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(outbox_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                        self->on_write(ec, bytes, false);
                    });
}

void WsSession::on_write(beast::error_code ec, std::size_t, bool was_ping) {
    writing_ = false;
    if (ec) {
        open_ = false;
        outbox_.clear();
        // With reading paused, nothing else would notice that the client is gone.
        connection_ended();
        return;
    }
    if (!was_ping) {
        outbox_.pop_front();
        resume_reading();
        // The batch is the answers the flush found, not those queued since: each write waits a
        // turn of the event loop, and an answer held for more turns would wait for other
        // connections' requests too.
        if (batch_left_ > 0) --batch_left_;
    }
    if (!outbox_.empty()) return do_write();
    if (pending_close_) start_close();
}

void WsSession::close(int code, std::string reason, std::string last_message) {
    boost::asio::post(
        ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason),
                             last_message = std::move(last_message)]() mutable {
            self->close_when_answered_ =
                websocket::close_reason(static_cast<websocket::close_code>(code), reason);
            self->last_message_ = std::move(last_message);
            // Requests still being answered (at shutdown: the 4900 answers of pending approvals,
            // which reach this session after this close) go out before the last message and the
            // close frame: a client learns the fate of each request before it hears "goodbye".
            if (self->in_flight_ == 0) self->finish_close();
        });
}

void WsSession::finish_close() {
    auto reason = *close_when_answered_;
    close_when_answered_.reset();
    if (!last_message_.empty()) send(std::move(last_message_));
    last_message_.clear();
    do_close(reason);
}

void WsSession::do_close(websocket::close_reason reason) {
    if (!open_ || closing_) return;
    closing_ = true;
    // The close frame follows the replies already queued (e.g. the 4900 answers at shutdown):
    // if a write is in flight, on_write sends it once the queue is empty.
    pending_close_ = reason;
    if (writing_) return;
    if (outbox_.empty()) return start_close();
    do_write();  // answers held for a flush go first
}

void WsSession::start_close() {
    auto reason = *pending_close_;
    pending_close_.reset();
    ws_.async_close(reason, [self = shared_from_this()](beast::error_code) {
        self->open_ = false;
        if (self->close_deadline_) self->close_deadline_->cancel();
    });
}

}  // namespace keybridge::daemon::net
