#include "core/address.h"

#include <cctype>

#include "core/hash.h"

namespace keybridge::core {
namespace {

// EIP-55: a hex letter is upper case when the matching nibble of keccak(lower-hex) is >= 8.
std::string checksum_case(std::string_view lower_hex40) {
    const Hash32 digest = keccak256(as_bytes(lower_hex40));
    std::string out(lower_hex40);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const std::uint8_t nibble = (i % 2 == 0) ? (digest[i / 2] >> 4) : (digest[i / 2] & 0x0f);
        if (nibble >= 8)
            out[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i])));
    }
    return out;
}

}  // namespace

Address Address::from_public_key_xy(ByteView xy64) {
    const Hash32 digest = keccak256(xy64);
    Raw raw{};
    std::copy(digest.begin() + 12, digest.end(), raw.begin());
    return Address(raw);
}

Result<Address> Address::parse(std::string_view text) {
    if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        return fail(ErrorCode::InvalidFormat, "address must start with 0x");
    }
    if (text.size() != 42) {
        return fail(ErrorCode::InvalidFormat,
                    "address must have 40 hex digits, got " + std::to_string(text.size() - 2));
    }
    auto raw = hex_decode_fixed<20>(text, HexPrefix::Required);
    if (!raw) return fail(ErrorCode::InvalidFormat, "address: " + raw.error().detail);

    std::string_view digits = text.substr(2);
    bool has_lower = false, has_upper = false;
    for (char c : digits) {
        has_lower |= (c >= 'a' && c <= 'f');
        has_upper |= (c >= 'A' && c <= 'F');
    }
    Address address(*raw);
    if (has_lower && has_upper && address.to_checksum_string().substr(2) != digits) {
        return fail(ErrorCode::InvalidChecksum, "address has an invalid EIP-55 checksum");
    }
    return address;
}

std::string Address::to_checksum_string() const {
    return "0x" + checksum_case(hex_encode(raw_, false));
}

std::string Address::to_lower_string() const {
    return hex_encode(raw_, true);
}

bool is_eip55_checksummed(std::string_view text) {
    auto parsed = Address::parse(text);
    return parsed && parsed->to_checksum_string() == text;
}

}  // namespace keybridge::core
