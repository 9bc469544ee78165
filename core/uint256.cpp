#include "core/uint256.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace keybridge::core {
namespace {

constexpr std::size_t kMaxHexDigits = 64;
// 2^256 - 1 has 78 decimal digits.
constexpr std::string_view kMaxDecimal =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

std::string_view strip_leading_zeros(std::string_view digits) {
    std::size_t i = 0;
    while (i + 1 < digits.size() && digits[i] == '0')
        ++i;
    return digits.substr(i);
}

}  // namespace

Result<U256> u256_from_be(ByteView bytes) {
    if (bytes.size() > 32) {
        return fail(ErrorCode::OutOfRange, "integer longer than 32 bytes");
    }
    U256 value = 0;
    if (!bytes.empty()) boost::multiprecision::import_bits(value, bytes.begin(), bytes.end(), 8);
    return value;
}

Hash32 u256_to_be32(const U256& value) {
    // export_bits writes the significant bytes only (at least one), most significant first.
    Hash32 significant{};
    const auto end = boost::multiprecision::export_bits(value, significant.begin(), 8);
    const auto count = static_cast<std::size_t>(end - significant.begin());
    Hash32 out{};
    std::copy_n(significant.begin(), count, out.end() - static_cast<std::ptrdiff_t>(count));
    return out;
}

Bytes u256_to_minimal_be(const U256& value) {
    Hash32 full = u256_to_be32(value);
    auto first = std::find_if(full.begin(), full.end(), [](std::uint8_t b) { return b != 0; });
    return Bytes(first, full.end());
}

Result<U256> parse_u256_decimal(std::string_view text) {
    if (text.empty()) return fail(ErrorCode::InvalidFormat, "empty decimal number");
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return fail(ErrorCode::InvalidFormat,
                        "invalid decimal digit at position " + std::to_string(i));
        }
    }
    std::string_view digits = strip_leading_zeros(text);
    if (digits.size() > kMaxDecimal.size() ||
        (digits.size() == kMaxDecimal.size() && digits > kMaxDecimal)) {
        return fail(ErrorCode::OutOfRange, "decimal number exceeds 2^256-1");
    }
    // Up to 19 digits at a time in 64 bits, then one 256-bit multiply-add per chunk.
    constexpr std::size_t kChunk = 19;
    static constexpr auto kPowersOfTen = [] {
        std::array<std::uint64_t, kChunk + 1> powers{};
        powers[0] = 1;
        for (std::size_t i = 1; i < powers.size(); ++i)
            powers[i] = powers[i - 1] * 10;
        return powers;
    }();
    U256 value = 0;
    for (std::size_t at = 0; at < digits.size(); at += kChunk) {
        const std::string_view chunk = digits.substr(at, kChunk);
        std::uint64_t part = 0;
        for (const char c : chunk)
            part = part * 10 + static_cast<std::uint64_t>(c - '0');
        value = value * kPowersOfTen[chunk.size()] + part;
    }
    return value;
}

Result<U256> parse_u256_hex(std::string_view text) {
    if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        return fail(ErrorCode::InvalidFormat, "hex number must start with 0x");
    }
    std::string_view digits = text.substr(2);
    if (digits.empty()) return fail(ErrorCode::InvalidFormat, "hex number has no digits");
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (!std::isxdigit(static_cast<unsigned char>(digits[i]))) {
            return fail(ErrorCode::InvalidFormat,
                        "invalid hex digit at position " + std::to_string(i + 2));
        }
    }
    digits = strip_leading_zeros(digits);
    if (digits.size() > kMaxHexDigits) {
        return fail(ErrorCode::OutOfRange, "hex number exceeds 2^256-1");
    }
    U256 value = 0;
    for (char c : digits) {
        const unsigned d = std::isdigit(static_cast<unsigned char>(c))
                               ? static_cast<unsigned>(c - '0')
                               : static_cast<unsigned>(std::tolower(c) - 'a' + 10);
        value = (value << 4) | d;
    }
    return value;
}

Result<U256> parse_u256(std::string_view text) {
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        return parse_u256_hex(text);
    }
    return parse_u256_decimal(text);
}

Result<U256> parse_quantity(std::string_view text) {
    if (text.size() < 3 || text[0] != '0' || text[1] != 'x') {
        return fail(ErrorCode::InvalidFormat, "quantity must be 0x followed by hex digits");
    }
    if (text.size() > 3 && text[2] == '0') {
        return fail(ErrorCode::InvalidFormat, "quantity has leading zeros");
    }
    return parse_u256_hex(text);
}

std::string u256_to_decimal(const U256& value) {
    return value.str();
}

std::string u256_to_quantity(const U256& value) {
    if (value == 0) return "0x0";
    std::string hex = hex_encode(u256_to_minimal_be(value), false);
    if (hex[0] == '0') hex.erase(0, 1);
    return "0x" + hex;
}

}  // namespace keybridge::core
