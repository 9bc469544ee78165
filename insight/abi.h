#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/bytes.h"
#include "core/result.h"
#include "core/uint256.h"

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

// Custom errors of the same ABIs (insight/generated/errors.inc), by selector.
const Function* find_error(std::uint32_t selector);
const std::vector<Function>& error_table();

// Why a call reverted, from its revert data: Error(string), Panic(uint256) with the panic code's
// meaning, a custom error of the bundled ABIs with its arguments, or unknown (never guessed).
inline constexpr std::uint32_t kErrorStringSelector = 0x08c379a0;  // Error(string)
inline constexpr std::uint32_t kPanicSelector = 0x4e487b71;        // Panic(uint256)
struct RevertReason {
    enum class Kind { Empty, Message, Panic, Custom, Unknown };
    Kind kind = Kind::Empty;
    std::optional<std::uint32_t> selector;
    std::string name;               // "Error", "Panic", "ERC20InsufficientBalance"
    std::string text;               // "panic 0x11: arithmetic overflow or underflow"
    boost::json::object arguments;  // decoded as decode() does
    std::optional<core::U256> panic_code;
};
RevertReason decode_revert(core::ByteView data);
std::string_view panic_meaning(const core::U256& code);

}  // namespace keybridge::insight::abi
