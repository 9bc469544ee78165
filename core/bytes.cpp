#include "core/bytes.h"

namespace keybridge::core {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool has_hex_prefix(std::string_view text) {
    return text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
}

}  // namespace

Result<Bytes> hex_decode(std::string_view text, HexPrefix prefix) {
    const bool prefixed = has_hex_prefix(text);
    if (prefix == HexPrefix::Required && !prefixed) {
        return fail(ErrorCode::InvalidFormat, "hex string must start with 0x");
    }
    if (prefix == HexPrefix::Forbidden && prefixed) {
        return fail(ErrorCode::InvalidFormat, "hex string must not start with 0x");
    }
    const std::size_t offset = prefixed ? 2 : 0;
    std::string_view digits = text.substr(offset);
    if (digits.size() % 2 != 0) {
        return fail(ErrorCode::InvalidFormat,
                    "odd number of hex digits (" + std::to_string(digits.size()) + ")");
    }
    Bytes out(digits.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_value(digits[2 * i]);
        const int lo = hex_value(digits[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            const std::size_t bad = offset + 2 * i + (hi < 0 ? 0 : 1);
            return fail(ErrorCode::InvalidFormat,
                        "invalid hex digit at position " + std::to_string(bad));
        }
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return out;
}

std::string hex_encode(ByteView bytes, bool with_prefix) {
    static constexpr char kDigits[] = "0123456789abcdef";
    // Sized once and filled through a pointer: appending character by character checked the
    // capacity twice per byte (every signature, digest and address the daemon answers).
    const std::size_t prefix = with_prefix ? 2 : 0;
    std::string out(prefix + bytes.size() * 2, '0');
    char* p = out.data();
    if (with_prefix) p[1] = 'x';
    p += prefix;
    for (std::uint8_t b : bytes) {
        *p++ = kDigits[b >> 4];
        *p++ = kDigits[b & 0x0f];
    }
    return out;
}

Error hex_fixed_length_error(std::size_t expected, std::size_t got) {
    return Error{ErrorCode::InvalidFormat, "expected " + std::to_string(expected) +
                                               " bytes of hex, got " + std::to_string(got)};
}

}  // namespace keybridge::core
