#include "daemon/subscriptions/chain_feeds.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>
#include <vector>

#include "core/text.h"
#include "core/bytes.h"
#include "core/hash.h"
#include "daemon/log.h"
#include "daemon/rpc/jsonrpc.h"

namespace keybridge::daemon::subscriptions {

namespace json = boost::json;

namespace {

std::string notification(const std::string& id, const json::value& result) {
    json::object params;
    params["subscription"] = id;
    params["result"] = result;
    return json::serialize(rpc::make_notification("eth_subscription", std::move(params)));
}

}  // namespace

ChainFeeds::ChainFeeds(boost::asio::any_io_executor executor, upstream::UpstreamClient& upstream,
                       std::function<std::optional<std::string>(std::uint64_t)> node_url,
                       Settings settings)
    : executor_(std::move(executor)),
      upstream_(upstream),
      node_url_(std::move(node_url)),
      settings_(settings),
      client_filters_(executor_, upstream, settings.filters) {}

ChainFeeds::~ChainFeeds() {
    stop_all();
}

void ChainFeeds::subscribe(std::weak_ptr<EventSink> sink, std::uint64_t connection_id,
                           const std::string& principal, std::uint64_t chain_id, Kind kind,
                           LogFilter filter, std::function<void(Started)> done) {
    std::shared_ptr<ChainPoller> poller;
    std::string id;
    {
        std::unique_lock lock(mutex_);
        if (const std::size_t held = count_for_origin_locked(principal);
            held >= settings_.max_per_origin) {
            lock.unlock();
            return done(tl::unexpected(rpc::RpcError{
                rpc::kLimitExceeded,
                "this origin already has " + std::to_string(held) +
                    " newHeads/logs/newPendingTransactions subscriptions over its connections "
                    "(at most " +
                    std::to_string(settings_.max_per_origin) +
                    " per origin); cancel some with eth_unsubscribe",
                std::nullopt}));
        }
        // Unguessable ids, as EventHub's: one connection cannot cancel another's by counting.
        do {
            std::array<std::uint8_t, 8> random{};
            (void)core::random_bytes(random);
            id = core::hex_encode(random);
        } while (subscriptions_.count(id) != 0);
        Subscription sub;
        sub.sink = std::move(sink);
        sub.connection_id = connection_id;
        sub.principal = principal;
        sub.chain_id = chain_id;
        sub.kind = kind;
        sub.filter_key = filter.key();
        sub.filter = std::move(filter);
        subscriptions_.emplace(id, std::move(sub));

        auto& entry = pollers_[chain_id];
        if (!entry.poller) {
            const std::uint64_t generation = ++generations_;
            ChainPoller::Hooks hooks;
            // The hooks run on the poller's strand while the io_context runs; the Server keeps
            // this object alive until after that.
            hooks.node_url = [this, chain_id] { return node_url_(chain_id); };
            hooks.filters = [this, chain_id] { return filters_of(chain_id); };
            hooks.deliver = [this, chain_id, generation](PollBatch batch) {
                deliver(chain_id, generation, batch);
            };
            hooks.wants_pending = [this, chain_id] { return wants_pending(chain_id); };
            ChainPoller::Settings poller_settings;
            poller_settings.interval = settings_.poll_interval;
            poller_settings.max_backoff = settings_.max_backoff;
            poller_settings.window = settings_.window;
            entry.poller = std::make_shared<ChainPoller>(executor_, upstream_, chain_id,
                                                         poller_settings, std::move(hooks));
            entry.generation = generation;
            entry.poller->start();
            log::debug("subscriptions", "chain " + std::to_string(chain_id) + ": polling");
        }
        poller = entry.poller;
    }
    // Answered and activated on the poller's strand, where deliveries also run: no event can
    // reach the client before the answer that names its subscription.
    const rpc::RpcError cancelled{
        rpc::kDisconnected,
        "the subscription ended before it started (connection closed or keybridged shutting down)",
        std::nullopt};
    if (kind == Kind::PendingTransactions) {
        poller->when_pending_ready([this, id, chain_id, cancelled,
                                    done = std::move(done)](std::optional<rpc::RpcError> error) {
            if (error) {
                discard(id);
                if (error->code == rpc::kDisconnected) return done(tl::unexpected(cancelled));
                if (error->code == rpc::kChainDisconnected) return done(tl::unexpected(*error));
                return done(tl::unexpected(rpc::RpcError{
                    rpc::kUnsupportedMethod,
                    "newPendingTransactions is not available on chain " + std::to_string(chain_id) +
                        ": its node does not offer pending-transaction filters "
                        "(eth_newPendingTransactionFilter: " +
                        error->message + ")",
                    std::nullopt}));
            }
            {
                std::lock_guard lock(mutex_);
                if (subscriptions_.count(id) == 0) return done(tl::unexpected(cancelled));
            }
            done(id);
            activate(id);
        });
        return;
    }
    poller->when_ready([this, id, cancelled, done = std::move(done)](bool running) {
        if (!running) return done(tl::unexpected(cancelled));
        {
            std::lock_guard lock(mutex_);
            if (subscriptions_.count(id) == 0) return done(tl::unexpected(cancelled));
        }
        done(id);
        activate(id);
    });
}

void ChainFeeds::discard(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    const std::uint64_t chain_id = it->second.chain_id;
    subscriptions_.erase(it);
    release_chain_locked(chain_id);
}

bool ChainFeeds::wants_pending(std::uint64_t chain_id) {
    std::lock_guard lock(mutex_);
    return std::any_of(subscriptions_.begin(), subscriptions_.end(), [&](const auto& entry) {
        return entry.second.chain_id == chain_id && entry.second.kind == Kind::PendingTransactions;
    });
}

void ChainFeeds::activate(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it != subscriptions_.end()) it->second.active = true;
}

bool ChainFeeds::unsubscribe(std::uint64_t connection_id, const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end() || it->second.connection_id != connection_id) return false;
    const std::uint64_t chain_id = it->second.chain_id;
    subscriptions_.erase(it);
    release_chain_locked(chain_id);
    return true;
}

void ChainFeeds::drop_connection(std::uint64_t connection_id) {
    client_filters_.drop_connection(connection_id);
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> chains;
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
        if (it->second.connection_id == connection_id) {
            chains.push_back(it->second.chain_id);
            it = subscriptions_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto chain_id : chains)
        release_chain_locked(chain_id);
}

void ChainFeeds::release_chain_locked(std::uint64_t chain_id) {
    for (const auto& [id, sub] : subscriptions_) {
        if (sub.chain_id == chain_id) return;
    }
    auto it = pollers_.find(chain_id);
    if (it == pollers_.end()) return;
    it->second.poller->stop();
    pollers_.erase(it);
    log::debug("subscriptions",
               "chain " + std::to_string(chain_id) + ": no subscribers left, polling stopped");
}

std::size_t ChainFeeds::count(std::uint64_t connection_id) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        subscriptions_.begin(), subscriptions_.end(),
        [&](const auto& entry) { return entry.second.connection_id == connection_id; }));
}

std::size_t ChainFeeds::count_for_origin(const std::string& principal) const {
    std::lock_guard lock(mutex_);
    return count_for_origin_locked(principal);
}

std::size_t ChainFeeds::count_for_origin_locked(const std::string& principal) const {
    return static_cast<std::size_t>(
        std::count_if(subscriptions_.begin(), subscriptions_.end(),
                      [&](const auto& entry) { return entry.second.principal == principal; }));
}

std::size_t ChainFeeds::active_pollers() const {
    std::lock_guard lock(mutex_);
    return pollers_.size();
}

void ChainFeeds::stop_all() {
    client_filters_.stop();
    std::lock_guard lock(mutex_);
    for (auto& [chain_id, entry] : pollers_)
        entry.poller->stop();
    pollers_.clear();
    subscriptions_.clear();
}

std::vector<LogFilter> ChainFeeds::filters_of(std::uint64_t chain_id) {
    std::lock_guard lock(mutex_);
    std::vector<LogFilter> out;
    std::vector<std::string> keys;
    for (const auto& [id, sub] : subscriptions_) {
        if (sub.chain_id != chain_id || sub.kind != Kind::Logs) continue;
        if (std::find(keys.begin(), keys.end(), sub.filter_key) != keys.end()) continue;
        keys.push_back(sub.filter_key);
        out.push_back(sub.filter);
    }
    return out;
}

void ChainFeeds::deliver(std::uint64_t chain_id, std::uint64_t generation, const PollBatch& batch) {
    struct Target {
        std::shared_ptr<EventSink> sink;
        std::string id;
        Kind kind;
        std::string filter_key;
    };
    std::vector<Target> targets;
    {
        std::lock_guard lock(mutex_);
        auto current = pollers_.find(chain_id);
        if (current == pollers_.end() || current->second.generation != generation) return;
        bool dropped = false;
        for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
            if (it->second.chain_id != chain_id) {
                ++it;
                continue;
            }
            auto sink = it->second.sink.lock();
            if (!sink) {  // the connection is gone (drop_connection may not have run yet)
                it = subscriptions_.erase(it);
                dropped = true;
                continue;
            }
            if (it->second.active)
                targets.push_back(
                    Target{std::move(sink), it->first, it->second.kind, it->second.filter_key});
            ++it;
        }
        if (dropped) release_chain_locked(chain_id);
    }
    if (targets.empty()) return;

    // Each filter's logs by block hash, so each block's logs follow its header.
    std::map<std::string, std::unordered_map<std::string, std::vector<const json::value*>>>
        logs_by_block;
    for (const auto& [key, logs] : batch.logs) {
        auto& buckets = logs_by_block[key];
        for (const auto& log : logs) {
            const json::value* hash =
                log.is_object() ? log.as_object().if_contains("blockHash") : nullptr;
            if (hash == nullptr || !hash->is_string()) continue;
            buckets[core::ascii_lower(hash->as_string())].push_back(&log);
        }
    }
    // Pending hashes first: the node reported them before the blocks read after them.
    for (const auto& hash : batch.pending) {
        for (const auto& target : targets) {
            if (target.kind == Kind::PendingTransactions)
                target.sink->push(notification(target.id, hash));
        }
    }
    for (std::size_t i = 0; i < batch.headers.size(); ++i) {
        for (const auto& target : targets) {
            if (target.kind == Kind::NewHeads) {
                target.sink->push(notification(target.id, batch.headers[i]));
                continue;
            }
            if (target.kind != Kind::Logs) continue;
            auto by_key = logs_by_block.find(target.filter_key);
            if (by_key == logs_by_block.end()) continue;  // subscribed after the logs were read
            auto bucket = by_key->second.find(batch.refs[i].hash);
            if (bucket == by_key->second.end()) continue;
            for (const json::value* log : bucket->second)
                target.sink->push(notification(target.id, *log));
        }
    }
}

}  // namespace keybridge::daemon::subscriptions
