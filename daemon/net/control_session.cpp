#include "daemon/net/control_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "daemon/log.h"

namespace keybridge::daemon::net {

namespace asio = boost::asio;
namespace json = boost::json;

ControlSession::ControlSession(asio::local::stream_protocol::socket socket, ServerContext& ctx,
                               rpc::Client client,
                               std::shared_ptr<std::atomic<std::size_t>> open_count)
    : socket_(std::move(socket)),
      ctx_(ctx),
      client_(std::make_shared<rpc::Client>(std::move(client))),
      open_count_(std::move(open_count)) {}

ControlSession::~ControlSession() {
    {
        std::lock_guard lock(ctx_.sinks_mutex);
        ctx_.sinks.erase(client_->connection_id);
    }
    open_count_->fetch_sub(1);
}

void ControlSession::run() {
    client_->sink = weak_from_this();
    {
        std::lock_guard lock(ctx_.sinks_mutex);
        ctx_.sinks[client_->connection_id] = weak_from_this();
    }
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void ControlSession::do_read() {
    // One line at most max_request_bytes (plus its newline): the same limit as the other
    // transports.
    asio::async_read_until(socket_, asio::dynamic_buffer(inbox_, ctx_.config.max_request_bytes + 1),
                           '\n',
                           [self = shared_from_this()](boost::system::error_code ec,
                                                       std::size_t n) { self->on_read(ec, n); });
}

void ControlSession::on_read(boost::system::error_code ec, std::size_t line_end) {
    if (ec == asio::error::not_found) {
        // No newline within the limit: answer once, then hang up (the stream cannot resync).
        send(json::serialize(rpc::make_error(
            nullptr, rpc::RpcError{rpc::kLimitExceeded, "request larger than the limit", {}})));
        connection_ended();
        shut_after_write_ = true;
        if (!writing_) shut();
        return;
    }
    if (ec) {
        connection_ended();
        open_ = false;
        return;
    }
    core::WipingString line = inbox_.substr(0, line_end - 1);
    inbox_.erase(0, line_end);
    // erase leaves the consumed bytes beyond the new end, inside the capacity: overwrite them.
    const std::size_t kept = inbox_.size();
    inbox_.resize(inbox_.capacity());
    core::secure_wipe(inbox_.data() + kept, inbox_.size() - kept);
    inbox_.resize(kept);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) handle_line(line);
    do_read();
}

void ControlSession::handle_line(std::string_view line) {
    auto parsed = rpc::parse_payload(line, ctx_.parse_limits());
    if (auto* error = std::get_if<rpc::RpcError>(&parsed)) {
        send(json::serialize(rpc::make_error(nullptr, *error)));
        return;
    }
    ++in_flight_;
    ctx_.dispatcher.dispatch(client_, std::move(std::get<rpc::Payload>(parsed)),
                             [self = shared_from_this()](std::optional<std::string> body) {
                                 asio::dispatch(self->socket_.get_executor(),
                                                [self, body = std::move(body)]() mutable {
                                                    self->on_reply(std::move(body));
                                                });
                             });
}

void ControlSession::on_reply(std::optional<std::string> body) {
    --in_flight_;
    if (body) send(std::move(*body));
    if (in_flight_ == 0 && close_when_answered_) finish_close();
}

void ControlSession::connection_ended() {
    if (ended_) return;
    ended_ = true;
    if (ctx_.connection_closed) ctx_.connection_closed(client_->connection_id);
}

void ControlSession::push(std::string text) {
    asio::dispatch(socket_.get_executor(),
                   [self = shared_from_this(), text = std::move(text)]() mutable {
                       self->send(std::move(text));
                   });
}

void ControlSession::send(std::string text) {
    if (!open_) return;
    if (outbox_.size() >= ctx_.config.max_outbound_queue) {
        // An approver that stopped reading: drop it rather than grow without bound.
        log::warn("net", "dropping a control client that does not read its replies");
        open_ = false;
        outbox_.clear();
        boost::system::error_code ignored;
        socket_.close(ignored);
        return;
    }
    text.push_back('\n');
    outbox_.push_back(std::move(text));
    if (!writing_) do_write();
}

void ControlSession::do_write() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(outbox_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          self->on_write(ec);
                      });
}

void ControlSession::on_write(boost::system::error_code ec) {
    writing_ = false;
    if (ec) {
        open_ = false;
        outbox_.clear();
        return;
    }
    outbox_.pop_front();
    if (!outbox_.empty()) return do_write();
    if (shut_after_write_) shut();
}

void ControlSession::close(int, std::string, std::string last_message) {
    asio::post(socket_.get_executor(),
               [self = shared_from_this(), last_message = std::move(last_message)]() mutable {
                   self->close_when_answered_ = true;
                   self->last_message_ = std::move(last_message);
                   // Answers still coming (the 4900s of pending approvals at shutdown) go out
                   // first.
                   if (self->in_flight_ == 0) self->finish_close();
               });
}

void ControlSession::finish_close() {
    close_when_answered_ = false;
    if (!last_message_.empty()) send(std::move(last_message_));
    last_message_.clear();
    shut_after_write_ = true;
    if (!writing_) shut();
}

void ControlSession::shut() {
    if (!open_) return;
    open_ = false;
    boost::system::error_code ignored;
    socket_.shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace keybridge::daemon::net
