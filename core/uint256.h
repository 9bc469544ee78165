#pragma once

#include <string>
#include <string_view>

#include <boost/multiprecision/cpp_int.hpp>

#include "core/bytes.h"

namespace keybridge::core {

// Unsigned 256-bit integer; arithmetic overflow throws, so use it for values that were already
// range-checked (parsing below never overflows: it reports OutOfRange instead).
using U256 = boost::multiprecision::checked_uint256_t;

// Big-endian bytes (at most 32) to U256. OutOfRange when longer than 32 bytes.
[[nodiscard]] Result<U256> u256_from_be(ByteView bytes);

// 32-byte big-endian, left-padded with zeros.
Hash32 u256_to_be32(const U256& value);

// Shortest big-endian form: no leading zero bytes, and empty for zero (RLP's integer encoding).
Bytes u256_to_minimal_be(const U256& value);

// Decimal digits only, no sign, no spaces. Leading zeros are accepted. Empty → InvalidFormat;
// above 2^256-1 → OutOfRange.
[[nodiscard]] Result<U256> parse_u256_decimal(std::string_view text);

// "0x" then at least one hex digit; leading zeros accepted (e.g. EIP-712 message values).
[[nodiscard]] Result<U256> parse_u256_hex(std::string_view text);

// Either form above, chosen by the "0x" prefix.
[[nodiscard]] Result<U256> parse_u256(std::string_view text);

// JSON-RPC QUANTITY (EIP-1474): "0x" and no leading zeros ("0x0" is zero; "0x", "0x00", "0x01"
// are InvalidFormat).
[[nodiscard]] Result<U256> parse_quantity(std::string_view text);

std::string u256_to_decimal(const U256& value);
// JSON-RPC QUANTITY form: "0x0", "0x1a", ...
std::string u256_to_quantity(const U256& value);

}  // namespace keybridge::core
