#include "store/permissions/recent_chains.h"

#include <algorithm>

namespace keybridge::permissions {

RecentChains::RecentChains(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

std::optional<std::uint64_t> RecentChains::find(const std::string& origin) {
    auto it = index_.find(origin);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
}

void RecentChains::set(const std::string& origin, std::uint64_t chain_id) {
    if (auto it = index_.find(origin); it != index_.end()) {
        it->second->second = chain_id;
        order_.splice(order_.begin(), order_, it->second);
        return;
    }
    if (index_.size() >= capacity_) {
        index_.erase(order_.back().first);
        order_.pop_back();
    }
    order_.emplace_front(origin, chain_id);
    index_.emplace(origin, order_.begin());
}

std::optional<std::uint64_t> RecentChains::take(const std::string& origin) {
    auto it = index_.find(origin);
    if (it == index_.end()) return std::nullopt;
    const std::uint64_t chain_id = it->second->second;
    order_.erase(it->second);
    index_.erase(it);
    return chain_id;
}

}  // namespace keybridge::permissions
