#include "core/base58.h"

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "core/assert.h"
#include "core/hash.h"

namespace keybridge::core {
namespace {

constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

// Digit value of each ASCII character, or -1.
constexpr std::array<std::int8_t, 128> make_digit_table() {
    std::array<std::int8_t, 128> table{};
    for (auto& v : table)
        v = -1;
    for (std::int8_t i = 0; i < 58; ++i)
        table[static_cast<std::size_t>(kAlphabet[i])] = i;
    return table;
}
constexpr auto kDigits = make_digit_table();

// Writes the Base58 text of data into a new SecretBuffer. The number is converted by repeated
// multiply-and-add into a little-endian base-58 digit array (schoolbook, O(n^2)).
SecretBuffer encode_into_secret(ByteView data) {
    std::size_t zeros = 0;
    while (zeros < data.size() && data[zeros] == 0)
        ++zeros;

    // log(256)/log(58) ~= 1.366, so 138/100 digits per byte (plus one) always suffice.
    const std::size_t capacity = (data.size() - zeros) * 138 / 100 + 1;
    SecretBuffer digits(capacity);
    std::size_t used = 0;  // digits in use, least significant first
    for (std::size_t i = zeros; i < data.size(); ++i) {
        std::uint32_t carry = data[i];
        for (std::size_t j = 0; j < used; ++j) {
            carry += static_cast<std::uint32_t>(digits.data()[j]) << 8;
            digits.data()[j] = static_cast<std::uint8_t>(carry % 58);
            carry /= 58;
        }
        while (carry != 0) {
            KEYBRIDGE_ASSERT(used < capacity);
            digits.data()[used++] = static_cast<std::uint8_t>(carry % 58);
            carry /= 58;
        }
    }

    SecretBuffer out(zeros + used);
    if (zeros != 0) std::memset(out.data(), '1', zeros);
    for (std::size_t j = 0; j < used; ++j) {
        out.data()[zeros + j] = static_cast<std::uint8_t>(kAlphabet[digits.data()[used - 1 - j]]);
    }
    return out;
}

SecretBuffer with_checksum(ByteView payload) {
    SecretBuffer buffer(payload.size() + 4);
    if (!payload.empty()) std::memcpy(buffer.data(), payload.data(), payload.size());
    Hash32 first = sha256(payload);
    const Hash32 second = sha256(first);
    secure_wipe(first.data(), first.size());
    std::memcpy(buffer.data() + payload.size(), second.data(), 4);
    return buffer;
}

std::string describe_char(unsigned char c) {
    if (c >= 0x21 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", c);
    return std::string("byte ") + hex;
}

}  // namespace

std::string base58_encode(ByteView data) {
    const SecretBuffer text = encode_into_secret(data);
    return std::string(text.text());
}

SecretBuffer base58_encode_secret(ByteView data) {
    return encode_into_secret(data);
}

Result<SecretBuffer> base58_decode(std::string_view text) {
    if (text.size() > kMaxBase58Length) {
        return fail(ErrorCode::InvalidFormat, "Base58 text is longer than " +
                                                  std::to_string(kMaxBase58Length) + " characters");
    }
    std::size_t ones = 0;
    while (ones < text.size() && text[ones] == '1')
        ++ones;

    // log(58)/log(256) ~= 0.732, so 733/1000 bytes per character (plus one) always suffice.
    const std::size_t capacity = (text.size() - ones) * 733 / 1000 + 1;
    SecretBuffer bytes(capacity);  // little-endian while accumulating
    std::size_t used = 0;
    for (std::size_t i = ones; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const int digit = c < 128 ? kDigits[c] : -1;
        if (digit < 0) {
            return fail(ErrorCode::InvalidFormat, "character " + describe_char(c) +
                                                      " at position " + std::to_string(i) +
                                                      " is not in the Base58 alphabet");
        }
        std::uint32_t carry = static_cast<std::uint32_t>(digit);
        for (std::size_t j = 0; j < used; ++j) {
            carry += static_cast<std::uint32_t>(bytes.data()[j]) * 58;
            bytes.data()[j] = static_cast<std::uint8_t>(carry & 0xff);
            carry >>= 8;
        }
        while (carry != 0) {
            KEYBRIDGE_ASSERT(used < capacity);
            bytes.data()[used++] = static_cast<std::uint8_t>(carry & 0xff);
            carry >>= 8;
        }
    }

    SecretBuffer out(ones + used);  // the leading '1's become zero bytes (already zero-filled)
    for (std::size_t j = 0; j < used; ++j)
        out.data()[ones + j] = bytes.data()[used - 1 - j];
    return out;
}

std::string base58check_encode(ByteView payload) {
    const SecretBuffer text = encode_into_secret(with_checksum(payload).view());
    return std::string(text.text());
}

SecretBuffer base58check_encode_secret(ByteView payload) {
    return encode_into_secret(with_checksum(payload).view());
}

Result<SecretBuffer> base58check_decode(std::string_view text) {
    auto decoded = base58_decode(text);
    if (!decoded) return fail(decoded.error());
    if (decoded->size() < 4) {
        return fail(ErrorCode::InvalidFormat, "Base58Check text decodes to " +
                                                  std::to_string(decoded->size()) +
                                                  " bytes, fewer than its 4-byte checksum");
    }
    const std::size_t payload_size = decoded->size() - 4;
    const ByteView payload = decoded->view().first(payload_size);
    Hash32 first = sha256(payload);
    const Hash32 second = sha256(first);
    secure_wipe(first.data(), first.size());
    if (!constant_time_equal(ByteView(second).first(4), decoded->view().subspan(payload_size))) {
        return fail(ErrorCode::InvalidChecksum, "Base58Check checksum does not match");
    }
    decoded->truncate(payload_size);
    return decoded;
}

}  // namespace keybridge::core
