#include "daemon/net/rate_limiter.h"

#include <algorithm>

namespace keybridge::daemon::net {

bool RateLimiter::allow(const std::string& principal, double cost, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (now - last_sweep_ > std::chrono::seconds(60)) {
        // A bucket untouched for a minute is full again: dropping it changes nothing.
        for (auto it = buckets_.begin(); it != buckets_.end();) {
            it = (now - it->second.updated > std::chrono::seconds(60)) ? buckets_.erase(it) : ++it;
        }
        last_sweep_ = now;
    }
    auto [it, inserted] = buckets_.try_emplace(principal, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!inserted) {
        const double elapsed = std::chrono::duration<double>(now - b.updated).count();
        b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
        b.updated = now;
    }
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
}

}  // namespace keybridge::daemon::net
