#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "daemon/events/event_sink.h"
#include "daemon/subscriptions/chain_poller.h"
#include "daemon/subscriptions/client_filters.h"
#include "daemon/subscriptions/log_filter.h"
#include "daemon/upstream/upstream_client.h"

namespace keybridge::daemon::subscriptions {

// The eth_subscribe "newHeads" and "logs" feeds: each subscription is bound to one chain (the
// origin's chain when it subscribed); each chain with at least one subscriber has one
// ChainPoller, made with the first subscription and stopped with the last (unsubscribe or the
// connection closing). Results go out as geth sends them:
//   {"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x…","result":…}}
// newHeads: each new block's header object as the node returned it (eth_getBlockByNumber(n,
// false), so it also lists the transaction hashes), in block order; logs: each matching log
// object of those blocks, after that block's header went to the newHeads subscribers. Logs
// whose block is no longer the one emitted at that height (a reorg during the poll) are held
// back; the blocks are emitted again, with their logs, once the reorg is seen. Logs removed by
// a reorg are not sent again with "removed": true.
// newPendingTransactions: each hash the chain's pending-transaction filter reports (one filter
// per chain, shared by its subscribers; see ChainPoller), polled on the same cadence.
// It also holds the clients' eth_newFilter family (client_filters()), which a closing
// connection and shutdown clean up together with the subscriptions.
// Thread-safe.
class ChainFeeds {
  public:
    enum class Kind { NewHeads, Logs, PendingTransactions };
    // The subscription id, or why it could not start.
    using Started = tl::expected<std::string, rpc::RpcError>;

    struct Settings {
        std::chrono::milliseconds poll_interval{1000};
        std::chrono::milliseconds max_backoff{30000};
        std::size_t window = 64;  // catch-up and reorg depth, in blocks
        // Subscriptions of one origin (principal) over all its connections: each connection
        // has its own cap (max-subscriptions), this one keeps a page from multiplying them.
        std::size_t max_per_origin = 256;
        FilterRegistry::Settings filters;
    };

    // node_url(chain) gives the chain's node now (nullopt or "" when none).
    ChainFeeds(boost::asio::any_io_executor executor, upstream::UpstreamClient& upstream,
               std::function<std::optional<std::string>(std::uint64_t)> node_url,
               Settings settings);
    ~ChainFeeds();
    ChainFeeds(const ChainFeeds&) = delete;
    ChainFeeds& operator=(const ChainFeeds&) = delete;

    // Adds a subscription and calls done(id) once the chain's poller knows the current head
    // (events then cover every block after it) or, for PendingTransactions, once the node's
    // pending-transaction filter exists. done(error) when it could not start: 4900 when it was
    // cancelled first (unsubscribed, connection closed, shutdown); for PendingTransactions 4200
    // when the node refused the filter (the message says what the node answered), 4901 when it
    // could not be reached; -32005 at once when `principal` (the page's origin, or "local")
    // already holds max_per_origin subscriptions here. `filter` is used for Logs.
    void subscribe(std::weak_ptr<EventSink> sink, std::uint64_t connection_id,
                   const std::string& principal, std::uint64_t chain_id, Kind kind,
                   LogFilter filter, std::function<void(Started)> done);
    // True when the connection had that subscription; its events stop at once.
    bool unsubscribe(std::uint64_t connection_id, const std::string& id);
    // Removes every subscription and filter of a closed connection.
    void drop_connection(std::uint64_t connection_id);
    // Subscriptions the connection holds here.
    std::size_t count(std::uint64_t connection_id) const;
    // Subscriptions the origin holds here, over all its connections.
    std::size_t count_for_origin(const std::string& principal) const;
    // Chains being polled now.
    std::size_t active_pollers() const;
    // Shutdown: stops every poller and forgets every subscription and filter.
    void stop_all();
    // The eth_newFilter family of the clients.
    ClientFilters& client_filters() { return client_filters_; }

  private:
    struct Subscription {
        std::weak_ptr<EventSink> sink;
        std::uint64_t connection_id = 0;
        std::string principal;
        std::uint64_t chain_id = 0;
        Kind kind = Kind::NewHeads;
        LogFilter filter;
        std::string filter_key;
        bool active = false;  // after its eth_subscribe answer went out
    };

    struct PollerEntry {
        std::shared_ptr<ChainPoller> poller;
        std::uint64_t generation = 0;  // tells a stopped poller's late delivery from the new one's
    };

    std::size_t count_for_origin_locked(const std::string& principal) const;
    std::vector<LogFilter> filters_of(std::uint64_t chain_id);
    bool wants_pending(std::uint64_t chain_id);
    // Removes a subscription that could not start.
    void discard(const std::string& id);
    void deliver(std::uint64_t chain_id, std::uint64_t generation, const PollBatch& batch);
    void activate(const std::string& id);
    // Stops the chain's poller if nobody listens any more. Caller holds mutex_.
    void release_chain_locked(std::uint64_t chain_id);

    boost::asio::any_io_executor executor_;
    upstream::UpstreamClient& upstream_;
    std::function<std::optional<std::string>(std::uint64_t)> node_url_;
    Settings settings_;

    mutable std::mutex mutex_;
    std::map<std::string, Subscription> subscriptions_;
    std::map<std::uint64_t, PollerEntry> pollers_;
    std::uint64_t generations_ = 0;

    ClientFilters client_filters_;
};

}  // namespace keybridge::daemon::subscriptions
