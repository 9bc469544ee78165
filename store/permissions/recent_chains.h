#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace keybridge::permissions {

// The chain choice of origins the user has granted nothing, kept in memory only and for at most
// `capacity` origins: when one more arrives, the one used least recently is forgotten (it falls
// back to the default chain). An Origin header is only a header, so any local process can name
// a thousand origins a second; their choices must cost neither disk writes nor unbounded memory.
// Not thread-safe (PermissionStore holds its lock around every call).
class RecentChains {
  public:
    static constexpr std::size_t kDefaultCapacity = 4096;

    explicit RecentChains(std::size_t capacity = kDefaultCapacity);

    // The origin's chain, which counts as a use (it becomes the most recent).
    std::optional<std::uint64_t> find(const std::string& origin);
    // Records (or replaces) the origin's chain as the most recent, forgetting the least recent
    // origin when the capacity is reached.
    void set(const std::string& origin, std::uint64_t chain_id);
    // Removes the origin and returns its chain (the origin was granted: it is persisted now).
    std::optional<std::uint64_t> take(const std::string& origin);

    std::size_t size() const { return index_.size(); }
    std::size_t capacity() const { return capacity_; }

  private:
    using Order = std::list<std::pair<std::string, std::uint64_t>>;  // front: most recent

    std::size_t capacity_;
    Order order_;
    std::unordered_map<std::string, Order::iterator> index_;
};

}  // namespace keybridge::permissions
