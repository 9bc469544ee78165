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
        auto waiting = std::move(self->waiting_);
        self->waiting_.clear();
        for (auto& ready : waiting)
            ready(false);
    });
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
    batch_ = {};
    set_ready();  // subscribers are answered even while the node is down; they get blocks later
    schedule(delay);
}

void ChainPoller::poll() {
    if (stopped_) return;
    auto url = hooks_.node_url();
    if (!url || url->empty()) return fail("no RPC node is configured for the chain");
    url_ = std::move(*url);
    batch_ = {};
    if (!tracker_.has_baseline()) {
        return call("eth_getBlockByNumber", json::array{"latest", false},
                    [this](json::value header) {
                        auto ref = block_ref_of(header);
                        if (!ref) return fail("latest block: " + ref.error().detail);
                        tracker_.reset(std::move(*ref));
                        failures_ = 0;
                        set_ready();
                        schedule(settings_.interval);
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
    if (!range) {
        failures_ = 0;
        return schedule(settings_.interval);
    }
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
    filters_ = hooks_.filters();
    batch_.logs.clear();
    fetch_logs(0);
}

void ChainPoller::fetch_logs(std::size_t index) {
    if (index >= filters_.size()) return finish_poll();
    json::object params = filters_[index].to_json();
    params["fromBlock"] = rpc::quantity(batch_.refs.front().number);
    params["toBlock"] = rpc::quantity(batch_.refs.back().number);
    call("eth_getLogs", json::array{std::move(params)}, [this, index](json::value logs) {
        if (!logs.is_array()) return fail("eth_getLogs answered something that is not an array");
        json::array matching;
        for (auto& log : logs.as_array()) {
            if (filters_[index].matches(log)) matching.push_back(std::move(log));
        }
        batch_.logs.emplace_back(filters_[index].key(), std::move(matching));
        fetch_logs(index + 1);
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
