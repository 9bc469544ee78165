#include "daemon/subscriptions/chain_poller.h"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/uint256.h"
#include "daemon/log.h"
#include "daemon/rpc/params.h"

namespace keybridge::daemon::subscriptions {

namespace asio = boost::asio;
namespace json = boost::json;

ChainPoller::ChainPoller(asio::any_io_executor executor, upstream::UpstreamClient& upstream,
                         std::uint64_t chain_id, Settings settings, Hooks hooks)
    : strand_(asio::make_strand(std::move(executor))),
      timer_(strand_),
      upstream_(upstream),
      chain_id_(chain_id),
      settings_(settings),
      hooks_(std::move(hooks)),
      tracker_(settings.window) {}

void ChainPoller::start() {
    asio::post(strand_, [self = shared_from_this()] { self->poll(); });
}

void ChainPoller::stop() {
    if (stopped_.exchange(true)) return;
    asio::post(strand_, [self = shared_from_this()] {
        self->timer_.cancel();
        self->uninstall_pending();
        auto waiting = std::move(self->waiting_);
        self->waiting_.clear();
        for (auto& ready : waiting)
            ready(false);
        auto pending_waiting = std::move(self->pending_waiting_);
        self->pending_waiting_.clear();
        for (auto& ready : pending_waiting)
            ready(rpc::RpcError{rpc::kDisconnected, "the feed stopped", std::nullopt});
    });
}

void ChainPoller::when_pending_ready(std::function<void(std::optional<rpc::RpcError>)> ready) {
    asio::post(strand_, [self = shared_from_this(), ready = std::move(ready)]() mutable {
        if (self->stopped_)
            return ready(rpc::RpcError{rpc::kDisconnected, "the feed stopped", std::nullopt});
        if (self->pending_filter_) return ready(std::nullopt);
        self->pending_waiting_.push_back(std::move(ready));
        self->install_pending();
    });
}

void ChainPoller::install_pending() {
    if (pending_installing_) return;
    auto url = hooks_.node_url();
    if (!url || url->empty()) {
        auto waiting = std::move(pending_waiting_);
        pending_waiting_.clear();
        for (auto& ready : waiting)
            ready(rpc::RpcError{rpc::kChainDisconnected, "no RPC node is configured for the chain",
                                std::nullopt});
        return;
    }
    pending_installing_ = true;
    upstream_.call(
        *url, "eth_newPendingTransactionFilter", json::array{},
        [self = shared_from_this(), url = *url](rpc::Outcome out) {
            asio::post(self->strand_, [self, url, out = std::move(out)] {
                self->pending_installing_ = false;
                if (out && self->stopped_) {
                    // Stopped meanwhile: nobody will read it.
                    self->upstream_.call(url, "eth_uninstallFilter", json::array{*out},
                                         [](rpc::Outcome) {});
                    return;
                }
                std::optional<rpc::RpcError> error;
                if (out) {
                    self->pending_filter_ = *out;
                    self->pending_url_ = url;
                } else {
                    error = out.error();
                    log::debug("subscriptions",
                               "chain " + std::to_string(self->chain_id_) +
                                   ": eth_newPendingTransactionFilter failed: " + error->message);
                }
                auto waiting = std::move(self->pending_waiting_);
                self->pending_waiting_.clear();
                for (auto& ready : waiting)
                    ready(error);
            });
        });
}

void ChainPoller::uninstall_pending() {
    if (!pending_filter_) return;
    upstream_.call(pending_url_, "eth_uninstallFilter", json::array{*pending_filter_},
                   [](rpc::Outcome) {});
    pending_filter_.reset();
}

void ChainPoller::poll_pending(std::function<void()> next) {
    const bool wanted = hooks_.wants_pending && hooks_.wants_pending();
    if (!wanted) {
        uninstall_pending();
        return next();
    }
    if (!pending_filter_) {
        // Lost (or its first install failed): install it again for the next poll.
        install_pending();
        return next();
    }
    upstream_.call(pending_url_, "eth_getFilterChanges", json::array{*pending_filter_},
                   [self = shared_from_this(), next = std::move(next)](rpc::Outcome out) {
                       asio::post(self->strand_, [self, next, out = std::move(out)] {
                           if (self->stopped_) return;
                           if (out && out->is_array()) {
                               for (auto& hash : out->as_array()) {
                                   if (hash.is_string()) self->batch_.pending.push_back(hash);
                               }
                           } else if (!out && out.error().code != rpc::kChainDisconnected) {
                               // The node answered that it no longer has the filter (it expired
                               // there, or the node restarted): make a new one.
                               log::debug("subscriptions", "chain " +
                                                               std::to_string(self->chain_id_) +
                                                               ": pending filter lost (" +
                                                               out.error().message + ")");
                               self->pending_filter_.reset();
                           }
                           next();
                       });
                   });
}

void ChainPoller::finish_without_blocks() {
    failures_ = 0;
    if (!batch_.pending.empty()) {
        PollBatch batch;
        batch.pending = std::move(batch_.pending);
        batch_ = {};
        hooks_.deliver(std::move(batch));
    }
    schedule(settings_.interval);
}

void ChainPoller::when_ready(std::function<void(bool)> ready) {
    asio::post(strand_, [self = shared_from_this(), ready = std::move(ready)]() mutable {
        if (self->stopped_) return ready(false);
        if (self->ready_) return ready(true);
        self->waiting_.push_back(std::move(ready));
    });
}

void ChainPoller::set_ready() {
    if (ready_) return;
    ready_ = true;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& ready : waiting)
        ready(true);
}

void ChainPoller::call(std::string method, json::value params, Next next) {
    upstream_.call(url_, method, std::move(params),
                   [self = shared_from_this(), method, next = std::move(next)](rpc::Outcome out) {
                       asio::post(self->strand_, [self, method, next, out = std::move(out)] {
                           if (self->stopped_) return;
                           if (!out) return self->fail(method + ": " + out.error().message);
                           next(*out);
                       });
                   });
}

void ChainPoller::schedule(std::chrono::milliseconds delay) {
    if (stopped_) return;
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->stopped_) return;
        self->poll();
    });
}

void ChainPoller::fail(const std::string& why) {
    ++failures_;
    // interval × 2^failures, capped; the shift is bounded so it cannot overflow.
    const unsigned shift = std::min(failures_, 16u);
    const auto delay =
        std::min(settings_.interval * (std::int64_t{1} << shift), settings_.max_backoff);
    log::debug("subscriptions", "chain " + std::to_string(chain_id_) + ": poll failed (" + why +
                                    "); retrying in " + std::to_string(delay.count()) + " ms");
    if (!batch_.pending.empty()) {  // read from the node already: not read again
        PollBatch pending;
        pending.pending = std::move(batch_.pending);
        hooks_.deliver(std::move(pending));
    }
    batch_ = {};
    set_ready();  // subscribers are answered even while the node is down; they get blocks later
    schedule(delay);
}

void ChainPoller::poll() {
    if (stopped_) return;
    auto url = hooks_.node_url();
    if (!url || url->empty()) return fail("no RPC node is configured for the chain");
    // The user chose another node for the chain (keybridge_setUpstream): the pending filter
    // lives on the old one; a new one is made on the new node. Blocks carry on from the same
    // height (the same chain).
    if (pending_filter_ && pending_url_ != *url) uninstall_pending();
    url_ = std::move(*url);
    batch_ = {};
    poll_pending([this] { poll_blocks(); });
}

void ChainPoller::poll_blocks() {
    if (!tracker_.has_baseline()) {
        return call("eth_getBlockByNumber", json::array{"latest", false},
                    [this](json::value header) {
                        auto ref = block_ref_of(header);
                        if (!ref) return fail("latest block: " + ref.error().detail);
                        tracker_.reset(std::move(*ref));
                        set_ready();
                        finish_without_blocks();
                    });
    }
    call("eth_blockNumber", json::array{}, [this](json::value result) {
        core::Result<core::U256> head = core::fail(core::ErrorCode::InvalidFormat, "not a string");
        if (result.is_string()) head = core::parse_quantity(result.as_string());
        if (!head || *head > core::U256(UINT64_MAX))
            return fail("eth_blockNumber answered something that is not a block number");
        on_head(static_cast<std::uint64_t>(*head));
    });
}

void ChainPoller::on_head(std::uint64_t head) {
    auto range = tracker_.range_after(head);
    if (!range) return finish_without_blocks();
    // One after another, in order: each is a short exchange, and the window bounds how many
    // one poll makes.
    fetch_block(range->first, range->last);
}

void ChainPoller::fetch_block(std::uint64_t number, std::optional<std::uint64_t> last) {
    call("eth_getBlockByNumber", json::array{rpc::quantity(number), false},
         [this, number, last](json::value header) {
             auto ref = block_ref_of(header);
             if (!ref || ref->number != number) {
                 return fail("block " + std::to_string(number) + ": " +
                             (ref ? "the node answered another block" : ref.error().detail));
             }
             if (last) {  // walking forward to the head
                 batch_.refs.push_back(std::move(*ref));
                 batch_.headers.push_back(std::move(header));
                 if (number < *last) return fetch_block(number + 1, last);
             } else {  // walking back to the fork point
                 batch_.refs.insert(batch_.refs.begin(), std::move(*ref));
                 batch_.headers.insert(batch_.headers.begin(), std::move(header));
             }
             link_segment();
         });
}

void ChainPoller::link_segment() {
    switch (tracker_.link(batch_.refs)) {
        case HeadTracker::Link::NeedParent:
            log::debug("subscriptions", "chain " + std::to_string(chain_id_) +
                                            ": reorg below block " +
                                            std::to_string(batch_.refs.front().number));
            return fetch_block(batch_.refs.front().number - 1, std::nullopt);
        case HeadTracker::Link::Inconsistent:
            // The node changed its chain while we read it: read again next time.
            return fail("the chain changed during the poll");
        case HeadTracker::Link::Unanchored:
        case HeadTracker::Link::Extends:
            break;
    }
    fanout_ = LogFanout(hooks_.filters());
    fetched_logs_.clear();
    batch_.logs.clear();
    if (fanout_.empty()) return finish_poll();
    fetch_logs(batch_.refs.front().number);
}

void ChainPoller::fetch_logs(std::uint64_t from) {
    const std::uint64_t last = batch_.refs.back().number;
    std::uint64_t to = last;
    if (const std::size_t span = fanout_.max_blocks(); span > 0 && last - from >= span) {
        to = from + span - 1;
    }
    json::object params = fanout_.merged().to_json();
    params["fromBlock"] = rpc::quantity(from);
    params["toBlock"] = rpc::quantity(to);
    call("eth_getLogs", json::array{std::move(params)}, [this, to, last](json::value logs) {
        if (!logs.is_array()) return fail("eth_getLogs answered something that is not an array");
        for (auto& log : logs.as_array())
            fetched_logs_.push_back(std::move(log));
        if (to < last) return fetch_logs(to + 1);
        batch_.logs = fanout_.split(fetched_logs_);
        fetched_logs_.clear();
        finish_poll();
    });
}

void ChainPoller::finish_poll() {
    tracker_.commit(batch_.refs);
    failures_ = 0;
    PollBatch batch = std::move(batch_);
    batch_ = {};
    hooks_.deliver(std::move(batch));
    schedule(settings_.interval);
}

}  // namespace keybridge::daemon::subscriptions
