#include "core/rfc6979.h"

#include <cryptopp/hmac.h>
#include <cryptopp/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <utility>

#include "core/secret_buffer.h"

namespace keybridge::core {
namespace {

using Block = std::array<std::uint8_t, 32>;

// The secp256k1 group order n, big-endian.
constexpr Block kOrder = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                          0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

// RFC 6979 section 2.3.4 (bits2octets): a digest at or above n enters the generator as
// digest - n. One subtraction suffices: 2^256 < 2n. The digest is public, so no constant time.
Block reduce_mod_order(const unsigned char* msg32) {
    Block out;
    std::memcpy(out.data(), msg32, out.size());
    if (std::memcmp(out.data(), kOrder.data(), out.size()) < 0) return out;
    int borrow = 0;
    for (std::size_t i = out.size(); i-- > 0;) {
        const int difference = int{out[i]} - int{kOrder[i]} - borrow;
        borrow = difference < 0 ? 1 : 0;
        out[i] = static_cast<std::uint8_t>(difference + (borrow << 8));
    }
    return out;
}

// K and V of RFC 6979 section 3.2, as libsecp256k1's generator keeps them, and an HMAC object
// keyed with the current K: consecutive MACs under one K share it.
class Generator {
  public:
    Generator() = default;
    Generator(const Generator&) = delete;
    Generator& operator=(const Generator&) = delete;
    ~Generator() { secure_wipe(&state_, sizeof state_); }  // the HMAC object wipes its own

    // Steps 3.2.b to 3.2.g with the seed as the key-and-message input.
    void seed(const std::uint8_t* seed, std::size_t size) {
        state_.v.fill(0x01);
        state_.k.fill(0x00);
        rekey();
        mac_into(state_.k, {{state_.v.data(), 32}, {&kZero, 1}, {seed, size}});
        rekey();
        mac_into(state_.v, {{state_.v.data(), 32}});
        mac_into(state_.k, {{state_.v.data(), 32}, {&kOne, 1}, {seed, size}});
        rekey();
        mac_into(state_.v, {{state_.v.data(), 32}});
    }

    // Step 3.2.h for a 32-byte output; every round after the first moves K and V on first.
    void next(std::uint8_t* out32) {
        if (retry_) {
            mac_into(state_.k, {{state_.v.data(), 32}, {&kZero, 1}});
            rekey();
            mac_into(state_.v, {{state_.v.data(), 32}});
        }
        mac_into(state_.v, {{state_.v.data(), 32}});
        std::memcpy(out32, state_.v.data(), 32);
        retry_ = true;
    }

  private:
    static constexpr std::uint8_t kZero = 0x00;
    static constexpr std::uint8_t kOne = 0x01;
    using Part = std::pair<const std::uint8_t*, std::size_t>;

    void rekey() { hmac_.emplace(state_.k.data(), state_.k.size()); }

    // out = HMAC-SHA256 under the last rekey()'s K over the parts (read before out is written).
    void mac_into(Block& out, std::initializer_list<Part> parts) {
        for (const auto& [bytes, size] : parts)
            hmac_->Update(bytes, size);
        hmac_->Final(out.data());  // and restarts under the same key
    }

    struct State {
        Block k;
        Block v;
    } state_{};
    bool retry_ = false;
    std::optional<CryptoPP::HMAC<CryptoPP::SHA256>> hmac_;
};

}  // namespace

int rfc6979_nonce(unsigned char* nonce32, const unsigned char* msg32, const unsigned char* key32,
                  const unsigned char* algo16, void* data, unsigned int attempt) {
    // key || msg mod n || data || algo16: fixed lengths, so no two argument sets share a seed.
    std::array<std::uint8_t, 32 + 32 + 32 + 16> seed{};
    ScopedWipe wipe_seed(seed);
    std::size_t size = 0;
    std::memcpy(seed.data(), key32, 32);
    size += 32;
    const Block msg = reduce_mod_order(msg32);
    std::memcpy(seed.data() + size, msg.data(), msg.size());
    size += msg.size();
    if (data != nullptr) {
        std::memcpy(seed.data() + size, data, 32);
        size += 32;
    }
    if (algo16 != nullptr) {
        std::memcpy(seed.data() + size, algo16, 16);
        size += 16;
    }

    Generator generator;
    generator.seed(seed.data(), size);
    for (unsigned int round = 0; round <= attempt; ++round)
        generator.next(nonce32);
    return 1;
}

}  // namespace keybridge::core
