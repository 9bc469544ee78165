#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/bytes.h"
#include "core/result.h"

namespace keybridge::insight::abi {

// One Solidity ABI type: uintN, intN, address, bool, bytesN, bytes, string, T[], T[k], tuples.
struct Type {
    enum class Kind {
        Uint,
        Int,
        Address,
        Bool,
        FixedBytes,
        Bytes,
        String,
        Array,
        FixedArray,
        Tuple
    };
    Kind kind = Kind::Uint;
    unsigned size = 256;             // bits (Uint, Int), bytes (FixedBytes), length (FixedArray)
    std::vector<Type> children;      // Array/FixedArray: the element; Tuple: the components
    std::vector<std::string> names;  // Tuple: component names ("" when unnamed)

    bool dynamic() const;
    std::string canonical() const;  // "uint256", "(address,uint160)[]"
};

// Parses "name:type,name:type" (the generated table's form; tuples as "(name:type,...)").
[[nodiscard]] core::Result<Type> parse_params(std::string_view text);

// Decodes ABI-encoded data as the tuple `type` into JSON: addresses as EIP-55 strings, integers
// as decimal strings, bytes as 0x hex, tuples as objects by component name (or "0", "1", ...
// when unnamed). InvalidFormat for data that does not fit (offsets out of range, lengths beyond
// the data, dirty padding of addresses and bools, more than kMaxElements array elements).
inline constexpr std::size_t kMaxElements = 1024;
[[nodiscard]] core::Result<boost::json::object> decode(const Type& tuple, core::ByteView data);

// One entry of the bundled selector table (insight/generated/abi_table.inc).
struct Function {
    std::uint32_t selector = 0;
    std::string_view family;  // "ERC-20", "ERC-721", "ERC-1155", "WETH", "Permit2", "Safe", ...
    std::string_view name;
    std::string_view params;  // "name:type,..."
    Type type;                // params parsed

    std::string signature() const;  // "transfer(address,uint256)"
};

// The table's function for a selector, or nullptr (unknown: shown as such, never guessed).
const Function* find(std::uint32_t selector);
const std::vector<Function>& table();

}  // namespace keybridge::insight::abi
