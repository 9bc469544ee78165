// Hex and quantity parsers: must never crash, and whatever decodes must re-encode to the same
// value.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/address.h"
#include "core/bytes.h"
#include "core/uint256.h"

using namespace keybridge::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (auto mode : {HexPrefix::Required, HexPrefix::Optional, HexPrefix::Forbidden}) {
        auto decoded = hex_decode(text, mode);
        if (decoded) {
            auto again = hex_decode(hex_encode(*decoded, true), HexPrefix::Required);
            if (!again || *again != *decoded) std::abort();
        }
    }
    if (auto q = parse_quantity(text)) {
        // Quantities are canonical up to letter case.
        std::string lower(text);
        for (char& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (u256_to_quantity(*q) != lower) std::abort();
    }
    if (auto n = parse_u256(text)) {
        auto back = parse_u256_decimal(u256_to_decimal(*n));
        if (!back || *back != *n) std::abort();
    }
    if (auto a = Address::parse(text)) {
        auto back = Address::parse(a->to_checksum_string());
        if (!back || *back != *a) std::abort();
    }
    return 0;
}
