#include "daemon/subscriptions/client_filters.h"

#include <algorithm>
#include <cctype>

#include "daemon/log.h"

namespace keybridge::daemon::subscriptions {

namespace json = boost::json;

namespace {

// What geth and anvil answer for a filter id they do not know.
constexpr int kFilterNotFoundCode = -32000;

rpc::RpcError filter_not_found() {
    return rpc::RpcError{kFilterNotFoundCode, "filter not found", std::nullopt};
}

// The node no longer has the filter (it expired there, or the node restarted).
bool node_lost_filter(const rpc::RpcError& error) {
    if (error.code == rpc::kChainDisconnected) return false;  // unreachable: it may still have it
    std::string message = error.message;
    std::transform(message.begin(), message.end(), message.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return message.find("not found") != std::string::npos;
}

}  // namespace

ClientFilters::ClientFilters(boost::asio::any_io_executor executor,
                             upstream::UpstreamClient& upstream, FilterRegistry::Settings settings)
    : executor_(executor), upstream_(upstream), sweep_timer_(executor), registry_(settings) {}

ClientFilters::~ClientFilters() {
    stop();
}

void ClientFilters::create(const FilterOwner& owner, std::uint64_t chain_id,
                           const std::string& node_url, const std::string& method,
                           const json::value& params, rpc::Reply reply) {
    {
        std::lock_guard lock(mutex_);
        if (!registry_.has_room(owner)) {
            return reply(tl::unexpected(rpc::RpcError{
                rpc::kLimitExceeded,
                "too many filters: at most " + std::to_string(registry_.settings().max_per_owner) +
                    " per connection or HTTP origin (max-subscriptions), " +
                    std::to_string(registry_.settings().max_per_principal) +
                    " per origin over all its connections; remove some with eth_uninstallFilter",
                std::nullopt}));
        }
    }
    upstream_.call(
        node_url, method, params,
        [this, owner, chain_id, node_url, method, reply](rpc::Outcome out) {
            if (!out) return reply(std::move(out));
            std::optional<std::string> id;
            {
                std::lock_guard lock(mutex_);
                // Another create of the same owner may have taken the last place.
                if (!stopped_) id = registry_.add(owner, chain_id, node_url, *out);
                if (id) arm_sweep_locked();
            }
            if (!id) {
                uninstall_upstream({ClientFilter{"", owner, chain_id, node_url, *out, {}}});
                return reply(tl::unexpected(
                    rpc::RpcError{rpc::kLimitExceeded, "too many filters", std::nullopt}));
            }
            log::debug("filters", method + " on chain " + std::to_string(chain_id) + ": " + *id);
            reply(json::value(*id));
        });
}

void ClientFilters::query(const FilterOwner& owner, const std::string& local_id,
                          const std::string& method, rpc::Reply reply) {
    std::optional<ClientFilter> filter;
    {
        std::lock_guard lock(mutex_);
        filter = registry_.use(owner, local_id);
    }
    if (!filter) return reply(tl::unexpected(filter_not_found()));
    upstream_.call(filter->node_url, method, json::array{filter->upstream_id},
                   [this, local_id, reply](rpc::Outcome out) {
                       if (!out && node_lost_filter(out.error())) {
                           std::lock_guard lock(mutex_);
                           registry_.forget(local_id);
                       }
                       reply(std::move(out));
                   });
}

void ClientFilters::uninstall(const FilterOwner& owner, const std::string& local_id,
                              rpc::Reply reply) {
    std::optional<ClientFilter> filter;
    {
        std::lock_guard lock(mutex_);
        filter = registry_.remove(owner, local_id);
    }
    if (!filter) return reply(json::value(false));
    // Ours is gone whatever the node answers (it may have expired the filter already).
    uninstall_upstream({std::move(*filter)});
    reply(json::value(true));
}

void ClientFilters::drop_connection(std::uint64_t connection_id) {
    std::vector<ClientFilter> removed;
    {
        std::lock_guard lock(mutex_);
        removed = registry_.remove_connection(connection_id);
    }
    uninstall_upstream(std::move(removed));
}

void ClientFilters::chain_selected(const std::string& principal, std::uint64_t chain_id) {
    std::vector<ClientFilter> removed;
    {
        std::lock_guard lock(mutex_);
        removed = registry_.remove_other_chains(principal, chain_id);
    }
    uninstall_upstream(std::move(removed));
}

void ClientFilters::node_changed(std::uint64_t chain_id, const std::string& node_url) {
    std::vector<ClientFilter> removed;
    {
        std::lock_guard lock(mutex_);
        removed = registry_.remove_other_nodes(chain_id, node_url);
    }
    uninstall_upstream(std::move(removed));
}

void ClientFilters::stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    registry_.remove_all();
    sweep_timer_.cancel();
    sweep_armed_ = false;
}

std::size_t ClientFilters::count(const FilterOwner& owner) const {
    std::lock_guard lock(mutex_);
    return registry_.count(owner);
}

void ClientFilters::uninstall_upstream(std::vector<ClientFilter> removed) {
    for (auto& filter : removed) {
        log::debug("filters", "uninstalling " +
                                  (filter.local_id.empty() ? "a filter" : filter.local_id) +
                                  " on chain " + std::to_string(filter.chain_id));
        upstream_.call(filter.node_url, "eth_uninstallFilter", json::array{filter.upstream_id},
                       [](rpc::Outcome) {});
    }
}

void ClientFilters::arm_sweep_locked() {
    if (sweep_armed_ || stopped_ || registry_.size() == 0) return;
    sweep_armed_ = true;
    // A filter lives between idle_timeout and idle_timeout plus one tenth of it.
    const auto period = std::max<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(registry_.settings().idle_timeout) /
            10,
        std::chrono::milliseconds(100));
    sweep_timer_.expires_after(period);
    sweep_timer_.async_wait([this](boost::system::error_code ec) { on_sweep(ec); });
}

void ClientFilters::on_sweep(boost::system::error_code ec) {
    if (ec) return;  // cancelled: stop() reset the state
    std::vector<ClientFilter> removed;
    {
        std::lock_guard lock(mutex_);
        sweep_armed_ = false;
        if (stopped_) return;
        removed = registry_.remove_idle();
        arm_sweep_locked();
    }
    uninstall_upstream(std::move(removed));
}

}  // namespace keybridge::daemon::subscriptions
