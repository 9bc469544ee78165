#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::daemon::net {

// One-time login codes for the approval page (docs/RPC.md, keybridge_pageLogin). A paired
// browser extension asks for one when its popup's button is clicked and opens
// /ui/login-code?code=CODE in a tab, where the code buys the page cookie that the launcher file's
// secret buys (PageAccess). A code is 32 random bytes as 64 hex digits; only its SHA-256 is kept,
// it works once, and only for `life` after it was issued. Thread-safe.
class PageLoginCodes {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kLife{60};
    // Codes alive at once; issuing more forgets the oldest.
    static constexpr std::size_t kMaxLive = 16;

    explicit PageLoginCodes(Clock::duration life = kLife) : life_(life) {}

    // A fresh code (the text the extension is given), in a buffer wiped when it goes.
    [[nodiscard]] core::Result<core::SecretBuffer> issue(Clock::time_point now = Clock::now());

    // True when `presented` is a code issued less than `life` ago and not used yet; it is used
    // up then. Expired codes are forgotten on the way.
    bool redeem(std::string_view presented, Clock::time_point now = Clock::now());

  private:
    struct Live {
        core::Hash32 hash;
        Clock::time_point expires;
    };
    void forget_expired_locked(Clock::time_point now);

    Clock::duration life_;
    std::mutex mutex_;
    std::vector<Live> live_;  // oldest first
};

}  // namespace keybridge::daemon::net
