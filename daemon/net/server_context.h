#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/json.hpp>

#include "daemon/events/event_sink.h"
#include "daemon/net/rate_limiter.h"
#include "daemon/options.h"
#include "daemon/rpc/dispatcher.h"

namespace keybridge::daemon::net {

// What every connection shares. Owned by the Server; outlives all sessions.
struct ServerContext {
    const Config& config;
    const rpc::Dispatcher& dispatcher;
    std::string cookie_token;
    RateLimiter limiter;
    std::atomic<std::size_t> connections{0};
    std::atomic<std::uint64_t> next_connection_id{1};
    std::atomic<bool> stopping{false};
    std::function<boost::json::object()> health;  // body of GET /health
    // Called when a client can no longer receive answers, with the connection id its requests
    // carry: a WebSocket that ended, or an HTTP client that went away while its request was
    // being answered. Its requests still waiting for approval are dropped.
    std::function<void(std::uint64_t)> connection_closed;

    // Live WebSocket sessions, closed with 1001 at shutdown.
    std::mutex sinks_mutex;
    std::unordered_map<std::uint64_t, std::weak_ptr<EventSink>> sinks;

    ServerContext(const Config& c, const rpc::Dispatcher& d, std::string token)
        : config(c),
          dispatcher(d),
          cookie_token(std::move(token)),
          limiter(c.rate_limit, c.rate_burst) {}

    rpc::ParseLimits parse_limits() const {
        return rpc::ParseLimits{config.max_request_bytes, config.max_depth, config.max_batch};
    }
};

// Decrements the connection count when a session ends.
class ConnectionSlot {
  public:
    explicit ConnectionSlot(ServerContext& ctx) : ctx_(&ctx) {}
    ConnectionSlot(ConnectionSlot&& o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ConnectionSlot(const ConnectionSlot&) = delete;
    ~ConnectionSlot() { release(); }
    // Gives the slot back early (the client is gone though the session object lives on until
    // its pending work completes). Idempotent.
    void release() {
        if (ctx_ != nullptr) ctx_->connections.fetch_sub(1);
        ctx_ = nullptr;
    }

  private:
    ServerContext* ctx_;
};

}  // namespace keybridge::daemon::net
