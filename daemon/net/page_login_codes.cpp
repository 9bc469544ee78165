#include "daemon/net/page_login_codes.h"

#include <array>

#include "core/hash.h"

namespace keybridge::daemon::net {

core::Result<core::SecretBuffer> PageLoginCodes::issue(Clock::time_point now) {
    std::array<std::uint8_t, 32> bytes{};
    core::ScopedWipe wipe(bytes);
    KEYBRIDGE_TRY_STATUS(core::random_bytes(bytes));
    static constexpr char kHex[] = "0123456789abcdef";
    core::SecretBuffer code(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        code.data()[2 * i] = static_cast<std::uint8_t>(kHex[bytes[i] >> 4]);
        code.data()[2 * i + 1] = static_cast<std::uint8_t>(kHex[bytes[i] & 0x0f]);
    }
    std::lock_guard lock(mutex_);
    forget_expired_locked(now);
    if (live_.size() >= kMaxLive) live_.erase(live_.begin());
    live_.push_back(Live{core::sha256(code.view()), now + life_});
    return code;
}

bool PageLoginCodes::redeem(std::string_view presented, Clock::time_point now) {
    // Hashes of equal length compared in constant time: the time taken says nothing about how
    // close a guess came.
    const core::Hash32 hash = core::sha256(core::as_bytes(presented));
    std::lock_guard lock(mutex_);
    forget_expired_locked(now);
    for (auto it = live_.begin(); it != live_.end(); ++it) {
        if (core::constant_time_equal(core::ByteView(it->hash), core::ByteView(hash))) {
            live_.erase(it);
            return true;
        }
    }
    return false;
}

void PageLoginCodes::forget_expired_locked(Clock::time_point now) {
    std::erase_if(live_, [now](const Live& l) { return l.expires <= now; });
}

}  // namespace keybridge::daemon::net
