#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace keybridge::core {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using Hash32 = std::array<std::uint8_t, 32>;

// Whether a hex string must, may or must not start with "0x"/"0X".
enum class HexPrefix { Required, Optional, Forbidden };

// Strict hex decoding: an even number of digits [0-9a-fA-F], prefix as requested. Errors
// (InvalidFormat) name the offending position: odd length, bad digit, missing or unexpected 0x.
[[nodiscard]] Result<Bytes> hex_decode(std::string_view text,
                                       HexPrefix prefix = HexPrefix::Optional);

// Like hex_decode, but the result must be exactly N bytes (InvalidFormat otherwise).
template <std::size_t N>
[[nodiscard]] Result<std::array<std::uint8_t, N>> hex_decode_fixed(
    std::string_view text, HexPrefix prefix = HexPrefix::Optional);

// Lower-case hex, with "0x" in front when with_prefix.
std::string hex_encode(ByteView bytes, bool with_prefix = true);

inline ByteView as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

inline Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    std::size_t total = 0;
    for (auto p : parts)
        total += p.size();
    out.reserve(total);
    for (auto p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

// ---- implementation of the template ----
Error hex_fixed_length_error(std::size_t expected, std::size_t got);

template <std::size_t N>
Result<std::array<std::uint8_t, N>> hex_decode_fixed(std::string_view text, HexPrefix prefix) {
    auto bytes = hex_decode(text, prefix);
    if (!bytes) return fail(bytes.error());
    if (bytes->size() != N) return fail(hex_fixed_length_error(N, bytes->size()));
    std::array<std::uint8_t, N> out{};
    std::copy(bytes->begin(), bytes->end(), out.begin());
    return out;
}

}  // namespace keybridge::core
