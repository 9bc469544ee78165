#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace keybridge::daemon::net {

// A token bucket per principal (origin, or the local token holder): `rate` requests per second
// with bursts up to `burst`. Thread-safe; idle buckets are forgotten so the map stays small.
class RateLimiter {
  public:
    using Clock = std::chrono::steady_clock;

    RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}

    // Takes `cost` tokens if available.
    bool allow(const std::string& principal, double cost = 1.0,
               Clock::time_point now = Clock::now());

  private:
    struct Bucket {
        double tokens;
        Clock::time_point updated;
    };
    double rate_;
    double burst_;
    std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
    Clock::time_point last_sweep_{};
};

}  // namespace keybridge::daemon::net
