#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/uint256.h"

// Recursive Length Prefix (RLP), Ethereum's serialisation (Yellow Paper, appendix B).
//
// An RLP item is either a byte string or a list of items. Encoding always produces the canonical
// form; decoding accepts only the canonical form, so that every accepted input re-encodes to the
// same bytes (a transaction hash is taken over those bytes).
namespace keybridge::core::rlp {

// ---- Encoding ----

// A byte string: one byte below 0x80 stands for itself; otherwise a length header, then the bytes.
Bytes encode_string(ByteView bytes);

// An unsigned integer: its minimal big-endian bytes as a string (zero is the empty string, 0x80).
Bytes encode_uint(const U256& value);
Bytes encode_uint(std::uint64_t value);

// A list whose payload is the concatenation of already-encoded items.
Bytes encode_list_payload(ByteView payload);
// A list of already-encoded items.
Bytes encode_list(std::span<const Bytes> items);

// Builds a list field by field:
//   Bytes out = ListBuilder().add_uint(nonce).add_string(to).add_encoded(inner).finish();
class ListBuilder {
  public:
    ListBuilder& add_string(ByteView bytes);
    ListBuilder& add_uint(const U256& value);
    ListBuilder& add_uint(std::uint64_t value);
    // Appends an item that is already RLP (e.g. a nested list from another builder).
    ListBuilder& add_encoded(ByteView item);
    // The encoded list; the builder keeps its contents and may be finished again.
    Bytes finish() const;

  private:
    Bytes payload_;
};

// ---- Decoding ----

// One decoded item. A string has is_list == false and its payload in `bytes` (items empty); a
// list has is_list == true and its elements in `items` (bytes empty). `offset` is where the item's
// first byte sits in the decoded input (0 for items built by hand), for error messages.
// Equality compares kind and contents, not offsets.
struct Item {
    bool is_list = false;
    Bytes bytes;
    std::vector<Item> items;
    std::size_t offset = 0;

    static Item string(ByteView payload);
    static Item list(std::vector<Item> elements);

    friend bool operator==(const Item& a, const Item& b) {
        return a.is_list == b.is_list && a.bytes == b.bytes && a.items == b.items;
    }
};

// Bounds that keep decoding of hostile input cheap. Depth counts enclosing lists: a top-level
// list is at depth 1, so `c0` needs depth 1 and `c1c0` depth 2.
struct Limits {
    std::size_t max_input_size = 1 << 20;  // bytes
    std::size_t max_depth = 64;            // nested lists
    std::size_t max_items = 1 << 16;       // strings and lists, all levels together
};

// Strict decoding of exactly one item spanning the whole input. InvalidFormat, with the byte
// offset, for: empty input, trailing bytes, a declared length running past the input or past the
// enclosing list, a single byte below 0x80 written as 0x81xx, the long form used for a length
// below 56, a length with leading zero bytes, and any limit exceeded.
// base_offset is added to every offset reported (in errors and Item::offset), for input that sits
// inside a larger buffer, e.g. after a transaction type byte.
[[nodiscard]] Result<Item> decode(ByteView input, const Limits& limits = {},
                                  std::size_t base_offset = 0);

// Canonical encoding of a tree; decode(encode(item)) == item for any tree within the limits.
Bytes encode(const Item& item);

// ---- Field helpers (errors name `field`, e.g. "nonce", and the item's byte offset) ----

// An integer field: a string of at most 32 bytes without leading zero bytes (so zero must be the
// empty string). InvalidFormat for a list, a leading zero, or more than 32 bytes.
[[nodiscard]] Result<U256> decode_uint(const Item& item, std::string_view field);
// The same for fields limited to 64 bits (nonce, gas limit): at most 8 bytes.
[[nodiscard]] Result<std::uint64_t> decode_uint64(const Item& item, std::string_view field);
// A string field of any length (e.g. calldata). InvalidFormat for a list.
[[nodiscard]] Result<Bytes> decode_bytes(const Item& item, std::string_view field);
// A string field of exactly N bytes (addresses, storage keys). InvalidFormat for a list or any
// other length.
template <std::size_t N>
[[nodiscard]] Result<std::array<std::uint8_t, N>> decode_fixed(const Item& item,
                                                               std::string_view field);

// ---- implementation of the template ----
[[nodiscard]] Status check_string_size(const Item& item, std::size_t size, std::string_view field);

template <std::size_t N>
Result<std::array<std::uint8_t, N>> decode_fixed(const Item& item, std::string_view field) {
    KEYBRIDGE_TRY_STATUS(check_string_size(item, N, field));
    std::array<std::uint8_t, N> out{};
    std::copy(item.bytes.begin(), item.bytes.end(), out.begin());
    return out;
}

}  // namespace keybridge::core::rlp
