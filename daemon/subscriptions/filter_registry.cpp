#include "daemon/subscriptions/filter_registry.h"

#include <algorithm>
#include <array>

#include "core/bytes.h"
#include "core/hash.h"

namespace keybridge::daemon::subscriptions {

FilterRegistry::FilterRegistry(Settings settings, Clock clock)
    : settings_(settings), clock_(std::move(clock)) {}

std::size_t FilterRegistry::count(const FilterOwner& owner) const {
    return static_cast<std::size_t>(
        std::count_if(filters_.begin(), filters_.end(),
                      [&](const auto& entry) { return entry.second.owner == owner; }));
}

std::size_t FilterRegistry::count_principal(const std::string& principal) const {
    return static_cast<std::size_t>(std::count_if(
        filters_.begin(), filters_.end(),
        [&](const auto& entry) { return entry.second.owner.principal == principal; }));
}

bool FilterRegistry::has_room(const FilterOwner& owner) const {
    return filters_.size() < settings_.max_total && count(owner) < settings_.max_per_owner &&
           count_principal(owner.principal) < settings_.max_per_principal;
}

std::optional<std::string> FilterRegistry::add(const FilterOwner& owner, std::uint64_t chain_id,
                                               std::string node_url,
                                               boost::json::value upstream_id) {
    if (!has_room(owner)) return std::nullopt;
    // Random rather than counted: an id says nothing about other clients' filters, and one
    // client cannot reach another's by guessing (ownership is checked anyway).
    std::string id;
    do {
        std::array<std::uint8_t, 16> random{};
        (void)core::random_bytes(random);
        id = core::hex_encode(random);
    } while (filters_.count(id) != 0);
    filters_.emplace(id, ClientFilter{id, owner, chain_id, std::move(node_url),
                                      std::move(upstream_id), clock_()});
    return id;
}

std::optional<ClientFilter> FilterRegistry::use(const FilterOwner& owner,
                                                const std::string& local_id) {
    auto it = filters_.find(local_id);
    if (it == filters_.end() || !(it->second.owner == owner)) return std::nullopt;
    it->second.last_used = clock_();
    return it->second;
}

std::optional<ClientFilter> FilterRegistry::remove(const FilterOwner& owner,
                                                   const std::string& local_id) {
    auto it = filters_.find(local_id);
    if (it == filters_.end() || !(it->second.owner == owner)) return std::nullopt;
    ClientFilter removed = std::move(it->second);
    filters_.erase(it);
    return removed;
}

void FilterRegistry::forget(const std::string& local_id) {
    filters_.erase(local_id);
}

template <typename Pred>
std::vector<ClientFilter> FilterRegistry::remove_if(Pred pred) {
    std::vector<ClientFilter> removed;
    for (auto it = filters_.begin(); it != filters_.end();) {
        if (pred(it->second)) {
            removed.push_back(std::move(it->second));
            it = filters_.erase(it);
        } else {
            ++it;
        }
    }
    return removed;
}

std::vector<ClientFilter> FilterRegistry::remove_connection(std::uint64_t connection_id) {
    if (connection_id == 0) return {};  // 0 names HTTP origins, never a connection
    return remove_if([&](const ClientFilter& f) { return f.owner.connection_id == connection_id; });
}

std::vector<ClientFilter> FilterRegistry::remove_other_chains(const std::string& principal,
                                                              std::uint64_t chain_id) {
    return remove_if([&](const ClientFilter& f) {
        return f.owner.principal == principal && f.chain_id != chain_id;
    });
}

std::vector<ClientFilter> FilterRegistry::remove_other_nodes(std::uint64_t chain_id,
                                                             const std::string& node_url) {
    return remove_if(
        [&](const ClientFilter& f) { return f.chain_id == chain_id && f.node_url != node_url; });
}

std::vector<ClientFilter> FilterRegistry::remove_idle() {
    const auto now = clock_();
    return remove_if(
        [&](const ClientFilter& f) { return now - f.last_used >= settings_.idle_timeout; });
}

std::vector<ClientFilter> FilterRegistry::remove_all() {
    return remove_if([](const ClientFilter&) { return true; });
}

}  // namespace keybridge::daemon::subscriptions
