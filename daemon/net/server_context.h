#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/json.hpp>

#include "daemon/events/event_sink.h"
#include "daemon/log.h"
#include "daemon/net/outbound_queue.h"
#include "daemon/net/page_access.h"
#include "daemon/net/page_login_codes.h"
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
    // Refused connections and requests, each with its reason: at info level, but a flood of
    // them writes at most this many lines a second (log::LimitedLog).
    log::LimitedLog refusals{20};
    std::atomic<std::size_t> connections{0};
    // WebSockets of clients without the token (pages, or anything claiming to be one). They
    // may hold at most page_socket_limit() of the connections, so that a flood of idle sockets
    // leaves room for token clients (the tool has the control socket besides).
    std::atomic<std::size_t> page_sockets{0};
    std::atomic<std::uint64_t> next_connection_id{1};
    std::atomic<bool> stopping{false};
    // Bytes queued to WebSocket clients and not yet written, over all connections.
    std::atomic<std::uint64_t> outbound_bytes{0};
    std::function<boost::json::object()> health;  // body of GET /health
    // The approval page's secret and cookie (page_access.h); null: the page is not served.
    std::shared_ptr<const PageAccess> page;
    // One-time codes that buy the page cookie (keybridge_pageLogin); null with `page`.
    std::shared_ptr<PageLoginCodes> login_codes;
    // Whether a connection is a paired browser extension's: its keybridge_relay calls are
    // admitted per page origin (ExtensionRelay), not under the extension's own bucket.
    std::function<bool(std::uint64_t)> relays_pages;
    // Called when a client can no longer receive answers, with the connection id its requests
    // carry: a WebSocket that ended, or an HTTP client that went away while its request was
    // being answered. Its requests still waiting for approval are dropped.
    std::function<void(std::uint64_t)> connection_closed;
    // Called when an HTTP request's answer is made: its connection id (each HTTP request has
    // its own) is never used again, and what was kept for it goes.
    std::function<void(std::uint64_t)> request_answered;

    // Live WebSocket sessions, closed with 1001 at shutdown.
    std::mutex sinks_mutex;
    std::unordered_map<std::uint64_t, std::weak_ptr<EventSink>> sinks;

    ServerContext(const Config& c, const rpc::Dispatcher& d, std::string token)
        : config(c),
          dispatcher(d),
          cookie_token(std::move(token)),
          limiter(c.rate_limit, c.rate_burst) {}

    // Whether `client` may run `calls` more calls now. Pages (known by their Origin alone) share
    // a token bucket per origin; a paired extension's connection is not limited here, its relayed
    // calls are, each in the bucket of its page's principal (ExtensionRelay::relay), so one noisy
    // site cannot use up the others' share. Token clients are not limited (docs/RPC.md, Limits):
    // they proved they run as the user, who could stop the daemon anyway, and a limit would only
    // cap scripts and test suites that sign in bulk.
    bool admit(const rpc::Client& client, std::size_t calls) {
        if (client.token_authenticated) return true;
        if (relays_pages && relays_pages(client.connection_id)) return true;
        return limiter.allow(client.principal(), static_cast<double>(calls));
    }

    std::size_t page_socket_limit() const {
        const std::size_t reserve = std::max<std::size_t>(1, config.max_connections / 8);
        return config.max_connections > reserve ? config.max_connections - reserve : 1;
    }

    OutboundLimits outbound_limits() const {
        return OutboundLimits{config.max_outbound_queue, config.max_outbound_bytes,
                              config.max_outbound_total};
    }

    rpc::ParseLimits parse_limits() const {
        return rpc::ParseLimits{config.max_request_bytes, config.max_depth, config.max_batch};
    }
};

// Decrements the connection count when a session ends.
class ConnectionSlot {
  public:
    explicit ConnectionSlot(ServerContext& ctx) : ctx_(&ctx) {}
    ConnectionSlot(ConnectionSlot&& o) noexcept : ctx_(o.ctx_), page_(o.page_) {
        o.ctx_ = nullptr;
        o.page_ = false;
    }
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ConnectionSlot(const ConnectionSlot&) = delete;
    ~ConnectionSlot() { release(); }
    // Gives the slot back early (the client is gone though the session object lives on until
    // its pending work completes). Idempotent.
    void release() {
        if (ctx_ != nullptr) {
            ctx_->connections.fetch_sub(1);
            if (page_) ctx_->page_sockets.fetch_sub(1);
        }
        ctx_ = nullptr;
    }
    // Counts this connection among the token-less WebSockets; false (nothing counted) when
    // they already hold their share.
    bool claim_page_share() {
        if (ctx_ == nullptr || page_) return page_;
        if (ctx_->page_sockets.fetch_add(1) >= ctx_->page_socket_limit()) {
            ctx_->page_sockets.fetch_sub(1);
            return false;
        }
        page_ = true;
        return true;
    }

  private:
    ServerContext* ctx_;
    bool page_ = false;
};

}  // namespace keybridge::daemon::net
