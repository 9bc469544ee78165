#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/local/stream_protocol.hpp>

#include "core/wiping_allocator.h"
#include "daemon/events/event_sink.h"
#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// One connection on the control socket: JSON-RPC payloads (a call or a batch), one per line,
// answered one per line as they complete (ids match them), plus server-pushed notifications
// (approval events) as lines. Runs on its own strand.
class ControlSession : public EventSink, public std::enable_shared_from_this<ControlSession> {
  public:
    ControlSession(boost::asio::local::stream_protocol::socket socket, ServerContext& ctx,
                   rpc::Client client, std::shared_ptr<std::atomic<std::size_t>> open_count);
    ~ControlSession() override;

    void run();

    // EventSink: thread-safe.
    void push(std::string text) override;
    void close(int code, std::string reason, std::string last_message = {}) override;

  private:
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t line_end);
    void handle_line(std::string_view line);
    void on_reply(std::optional<std::string> body);
    void send(std::string text);
    void do_write();
    void on_write(boost::system::error_code ec);
    void finish_close();
    void shut();
    void connection_ended();

    boost::asio::local::stream_protocol::socket socket_;
    ServerContext& ctx_;
    std::shared_ptr<rpc::Client> client_;
    std::shared_ptr<std::atomic<std::size_t>> open_count_;
    // The vault password of keybridge_unlock arrives here: wiped as it is consumed and released
    // (daemon/net/request_buffers.h).
    core::WipingString inbox_;
    std::deque<std::string> outbox_;
    bool writing_ = false;
    bool open_ = true;
    bool ended_ = false;
    std::size_t in_flight_ = 0;
    bool close_when_answered_ = false;
    bool shut_after_write_ = false;
    std::string last_message_;
};

}  // namespace keybridge::daemon::net
