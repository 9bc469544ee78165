#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>

#include "daemon/subscriptions/head_tracker.h"
#include "daemon/subscriptions/log_fanout.h"
#include "daemon/subscriptions/log_filter.h"
#include "daemon/upstream/upstream_client.h"

namespace keybridge::daemon::subscriptions {

// What one poll found, in block order: the headers as the node returned them (and what the
// tracker read from each), and for each distinct logs filter its logs of those blocks.
struct PollBatch {
    std::vector<boost::json::value> headers;
    std::vector<BlockRef> refs;
    std::vector<std::pair<std::string, boost::json::array>> logs;  // filter key → logs
    std::vector<boost::json::value> pending;                       // new pending transaction hashes
};

// Polls one chain's node over plain HTTP(S) for new blocks, on its own strand; never blocks.
//
// The first poll takes eth_getBlockByNumber("latest") as the baseline (nothing is emitted for
// it) and then runs the ready callbacks. Each later poll, every `interval`: eth_blockNumber;
// when it advanced, eth_getBlockByNumber(n, false) for each new block in order (at most
// `window`), back to the fork point after a reorg (HeadTracker); then, when there are logs
// subscribers, one eth_getLogs over those blocks for all of them (LogFanout's merged filter;
// several consecutive ranges of LogFanout::kAnyAddressBlocks when it selects any address),
// split locally into each distinct filter's logs; then `deliver` with all of it. A
// poll that fails anywhere delivers nothing, is logged at debug level and retried after a
// doubling delay (interval × 2, × 4, … up to max_backoff); the first success resets it.
//
// Pending transactions: while `wants_pending` is true the poller holds one pending-transaction
// filter on the node (eth_newPendingTransactionFilter, installed by when_pending_ready) and
// starts each poll with eth_getFilterChanges on it; the hashes go out in the poll's batch, also
// when the block part finds nothing new or fails. A filter the node lost is installed again on
// the next poll (hashes in between are missed); it is uninstalled once nobody wants it and when
// the poller stops.
class ChainPoller : public std::enable_shared_from_this<ChainPoller> {
  public:
    struct Settings {
        std::chrono::milliseconds interval{1000};
        std::chrono::milliseconds max_backoff{30000};
        std::size_t window = 64;
    };
    // Called on the poller's strand. They must stay callable until the io_context stops.
    struct Hooks {
        std::function<std::optional<std::string>()> node_url;  // nullopt: no node (a failure)
        std::function<std::vector<LogFilter>()> filters;       // distinct, for eth_getLogs
        std::function<void(PollBatch)> deliver;
        std::function<bool()> wants_pending;  // someone subscribed to pending transactions
    };

    ChainPoller(boost::asio::any_io_executor executor, upstream::UpstreamClient& upstream,
                std::uint64_t chain_id, Settings settings, Hooks hooks);

    // Starts polling at once. Call once.
    void start();
    // Thread-safe and idempotent: no poll starts and no hook runs on the strand after it.
    void stop();
    // Runs ready(true) on the strand once the baseline is known, or after the first poll
    // failed (the poller keeps trying): at once (posted) when that already happened. Runs
    // ready(false) instead when the poller is stopped first.
    void when_ready(std::function<void(bool)> ready);

    // Makes sure the node's pending-transaction filter exists, then runs ready(nullopt) on the
    // strand; ready(error) when the node refused it (its JSON-RPC error) or could not be
    // reached (4901), or 4900 when the poller is stopped first.
    void when_pending_ready(std::function<void(std::optional<rpc::RpcError>)> ready);

    std::uint64_t chain_id() const { return chain_id_; }

  private:
    using Next = std::function<void(boost::json::value)>;
    // One upstream call whose result comes back on the strand; errors end the poll (fail).
    void call(std::string method, boost::json::value params, Next next);
    void schedule(std::chrono::milliseconds delay);
    void poll();
    // The pending-transaction step of a poll, then `next` (the block step).
    void poll_pending(std::function<void()> next);
    void poll_blocks();
    void install_pending();
    void uninstall_pending();
    // Ends a poll that found no new block (or only the baseline): delivers pending hashes.
    void finish_without_blocks();
    void on_head(std::uint64_t head);
    // Fetches block `number`: appended when walking forward to `last`, put in front (walking
    // back to a fork point) when `last` is nullopt.
    void fetch_block(std::uint64_t number, std::optional<std::uint64_t> last);
    void link_segment();
    // eth_getLogs from block `from` (at most fanout_.max_blocks() of them), then the rest.
    void fetch_logs(std::uint64_t from);
    void finish_poll();
    void fail(const std::string& why);
    void set_ready();

    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::steady_timer timer_;
    upstream::UpstreamClient& upstream_;
    std::uint64_t chain_id_;
    Settings settings_;
    Hooks hooks_;
    std::atomic<bool> stopped_{false};

    // Strand state.
    std::string url_;  // the node for the poll under way
    HeadTracker tracker_;
    unsigned failures_ = 0;
    bool ready_ = false;
    std::vector<std::function<void(bool)>> waiting_;
    PollBatch batch_;                  // the poll under way
    LogFanout fanout_;                 // the logs subscribers of the poll under way
    boost::json::array fetched_logs_;  // its eth_getLogs answers so far
    std::optional<boost::json::value> pending_filter_;  // the node's filter id
    std::string pending_url_;                           // the node that holds it
    bool pending_installing_ = false;
    std::vector<std::function<void(std::optional<rpc::RpcError>)>> pending_waiting_;
};

}  // namespace keybridge::daemon::subscriptions
