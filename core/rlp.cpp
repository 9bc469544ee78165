#include "core/rlp.h"

#include <string>
#include <utility>

#include "core/assert.h"

namespace keybridge::core::rlp {
namespace {

constexpr std::uint8_t kStringShort = 0x80;  // 0x80..0xb7: string of 0..55 bytes
constexpr std::uint8_t kStringLong = 0xb7;   // 0xb8..0xbf: 1..8 length bytes follow
constexpr std::uint8_t kListShort = 0xc0;    // 0xc0..0xf7: list payload of 0..55 bytes
constexpr std::uint8_t kListLong = 0xf7;     // 0xf8..0xff: 1..8 length bytes follow
constexpr std::size_t kShortLimit = 56;      // lengths from here on need the long form

// Writes the header for a payload of `length` bytes; `short_base` is 0x80 or 0xc0.
void append_header(Bytes& out, std::uint8_t short_base, std::size_t length) {
    if (length < kShortLimit) {
        out.push_back(static_cast<std::uint8_t>(short_base + length));
        return;
    }
    std::uint8_t be[sizeof(std::size_t)];
    std::size_t n = 0;
    for (std::size_t v = length; v != 0; v >>= 8) {
        be[n++] = static_cast<std::uint8_t>(v & 0xff);
    }
    // short_base + 55 is 0xb7 / 0xf7; adding the count of length bytes gives 0xb8.. / 0xf8..
    out.push_back(static_cast<std::uint8_t>(short_base + kShortLimit - 1 + n));
    while (n > 0) {
        out.push_back(be[--n]);
    }
}

void append_string(Bytes& out, ByteView bytes) {
    if (bytes.size() == 1 && bytes[0] < kStringShort) {
        out.push_back(bytes[0]);
        return;
    }
    append_header(out, kStringShort, bytes.size());
    out.insert(out.end(), bytes.begin(), bytes.end());
}

Bytes minimal_be(std::uint64_t value) {
    Bytes out;
    for (int shift = 56; shift >= 0; shift -= 8) {
        auto b = static_cast<std::uint8_t>((value >> shift) & 0xff);
        if (b != 0 || !out.empty()) out.push_back(b);
    }
    return out;
}

void append_item(Bytes& out, const Item& item) {
    if (!item.is_list) {
        append_string(out, item.bytes);
        return;
    }
    Bytes payload;
    for (const Item& child : item.items) {
        append_item(payload, child);
    }
    append_header(out, kListShort, payload.size());
    out.insert(out.end(), payload.begin(), payload.end());
}

std::string at(std::size_t offset) {
    return " at byte " + std::to_string(offset);
}

// Walks the input once, building the tree. Every length is checked against the end of the
// region it must stay inside (the input, or the enclosing list's payload) before it is used, so
// a hostile length can neither overflow the arithmetic nor read past the buffer.
class Decoder {
  public:
    Decoder(ByteView input, const Limits& limits, std::size_t base)
        : in_(input), limits_(limits), base_(base) {}

    Result<Item> item(std::size_t& pos, std::size_t end, std::size_t depth) {
        const std::size_t start = pos;
        if (++count_ > limits_.max_items) {
            return fail(ErrorCode::InvalidFormat,
                        "more than " + std::to_string(limits_.max_items) + " items" + at(start));
        }
        const std::uint8_t prefix = in_[pos];
        if (prefix < kStringShort) {
            ++pos;
            return located(Item::string(in_.subspan(start, 1)), start);
        }
        const bool is_list = prefix >= kListShort;
        auto length = payload_length(pos, end);
        if (!length) return fail(length.error());
        const std::size_t payload_start = pos;
        const std::size_t payload_end = pos + *length;
        pos = payload_end;

        if (!is_list) {
            if (*length == 1 && in_[payload_start] < kStringShort) {
                return fail(ErrorCode::InvalidFormat,
                            "single byte below 0x80 must be encoded as itself" + at(start));
            }
            return located(Item::string(in_.subspan(payload_start, *length)), start);
        }
        if (depth + 1 > limits_.max_depth) {
            return fail(
                ErrorCode::InvalidFormat,
                "lists nested deeper than " + std::to_string(limits_.max_depth) + at(start));
        }
        Item list = located(Item::list({}), start);
        std::size_t child = payload_start;
        while (child < payload_end) {
            auto element = item(child, payload_end, depth + 1);
            if (!element) return element;
            list.items.push_back(std::move(*element));
        }
        return list;
    }

  private:
    // Reads the header at pos (which is < end), leaves pos at the payload and returns its length.
    Result<std::size_t> payload_length(std::size_t& pos, std::size_t end) {
        const std::size_t start = pos;
        const std::uint8_t prefix = in_[pos++];
        const std::uint8_t short_base = prefix >= kListShort ? kListShort : kStringShort;
        const std::uint8_t long_base = prefix >= kListShort ? kListLong : kStringLong;
        // 64 bits even where size_t is narrower, so that a huge declared length cannot wrap
        // before it is compared with what is left.
        std::uint64_t length = 0;
        if (prefix <= long_base) {
            length = prefix - short_base;
        } else {
            const std::size_t length_bytes = prefix - long_base;  // 1..8
            if (length_bytes > end - pos) {
                return fail(ErrorCode::InvalidFormat,
                            "length field" + at(start) + " runs past " + region_name(end));
            }
            if (in_[pos] == 0) {
                return fail(ErrorCode::InvalidFormat, "length has a leading zero byte" + at(start));
            }
            for (std::size_t i = 0; i < length_bytes; ++i) {
                length = (length << 8) | in_[pos++];
            }
            if (length < kShortLimit) {
                return fail(ErrorCode::InvalidFormat, "long form used for length " +
                                                          std::to_string(length) + " (below 56)" +
                                                          at(start));
            }
        }
        if (length > end - pos) {
            return fail(ErrorCode::InvalidFormat, "declared length " + std::to_string(length) +
                                                      at(start) + " runs past " + region_name(end));
        }
        return static_cast<std::size_t>(length);
    }

    std::string region_name(std::size_t end) const {
        if (end == in_.size()) return "the end of the input";
        return "the end of the enclosing list (byte " + std::to_string(base_ + end) + ")";
    }

    // Offsets as reported to the caller.
    std::string at(std::size_t pos) const { return " at byte " + std::to_string(base_ + pos); }
    Item located(Item item, std::size_t pos) const {
        item.offset = base_ + pos;
        return item;
    }

    ByteView in_;
    const Limits& limits_;
    std::size_t base_;
    std::size_t count_ = 0;
};

Status expect_string(const Item& item, std::string_view field) {
    if (item.is_list) {
        return fail(ErrorCode::InvalidFormat,
                    std::string(field) + ": expected a string, got a list" + at(item.offset));
    }
    return {};
}

Result<ByteView> integer_bytes(const Item& item, std::string_view field, std::size_t max_size) {
    KEYBRIDGE_TRY_STATUS(expect_string(item, field));
    // Leading zeros first: "00ff..ff" (33 bytes) is a badly written 32-byte value, and saying so
    // is more useful than calling it too long.
    if (!item.bytes.empty() && item.bytes[0] == 0) {
        return fail(ErrorCode::InvalidFormat,
                    std::string(field) + ": integer has a leading zero byte" + at(item.offset));
    }
    if (item.bytes.size() > max_size) {
        return fail(ErrorCode::InvalidFormat, std::string(field) + ": integer longer than " +
                                                  std::to_string(max_size) + " bytes" +
                                                  at(item.offset));
    }
    return ByteView(item.bytes);
}

}  // namespace

Bytes encode_string(ByteView bytes) {
    Bytes out;
    append_string(out, bytes);
    return out;
}

Bytes encode_uint(const U256& value) {
    return encode_string(u256_to_minimal_be(value));
}

Bytes encode_uint(std::uint64_t value) {
    return encode_string(minimal_be(value));
}

Bytes encode_list_payload(ByteView payload) {
    Bytes out;
    append_header(out, kListShort, payload.size());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Bytes encode_list(std::span<const Bytes> items) {
    Bytes payload;
    for (const Bytes& item : items) {
        payload.insert(payload.end(), item.begin(), item.end());
    }
    return encode_list_payload(payload);
}

ListBuilder& ListBuilder::add_string(ByteView bytes) {
    append_string(payload_, bytes);
    return *this;
}

ListBuilder& ListBuilder::add_uint(const U256& value) {
    return add_string(u256_to_minimal_be(value));
}

ListBuilder& ListBuilder::add_uint(std::uint64_t value) {
    return add_string(minimal_be(value));
}

ListBuilder& ListBuilder::add_encoded(ByteView item) {
    payload_.insert(payload_.end(), item.begin(), item.end());
    return *this;
}

Bytes ListBuilder::finish() const {
    return encode_list_payload(payload_);
}

Item Item::string(ByteView payload) {
    Item item;
    item.bytes.assign(payload.begin(), payload.end());
    return item;
}

Item Item::list(std::vector<Item> elements) {
    Item item;
    item.is_list = true;
    item.items = std::move(elements);
    return item;
}

Result<Item> decode(ByteView input, const Limits& limits, std::size_t base_offset) {
    if (input.empty()) return fail(ErrorCode::InvalidFormat, "empty input is not an RLP item");
    if (input.size() > limits.max_input_size) {
        return fail(ErrorCode::InvalidFormat, "input of " + std::to_string(input.size()) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(limits.max_input_size));
    }
    Decoder decoder(input, limits, base_offset);
    std::size_t pos = 0;
    auto item = decoder.item(pos, input.size(), 0);
    if (!item) return item;
    if (pos != input.size()) {
        return fail(ErrorCode::InvalidFormat, std::to_string(input.size() - pos) +
                                                  " trailing bytes after the item" +
                                                  at(base_offset + pos));
    }
    return item;
}

Bytes encode(const Item& item) {
    Bytes out;
    append_item(out, item);
    return out;
}

Result<U256> decode_uint(const Item& item, std::string_view field) {
    auto bytes = integer_bytes(item, field, 32);
    if (!bytes) return fail(bytes.error());
    auto value = u256_from_be(*bytes);
    KEYBRIDGE_ASSERT(value.has_value());  // the size was checked above
    return *value;
}

Result<std::uint64_t> decode_uint64(const Item& item, std::string_view field) {
    auto bytes = integer_bytes(item, field, 8);
    if (!bytes) return fail(bytes.error());
    std::uint64_t value = 0;
    for (std::uint8_t b : *bytes) {
        value = (value << 8) | b;
    }
    return value;
}

Result<Bytes> decode_bytes(const Item& item, std::string_view field) {
    KEYBRIDGE_TRY_STATUS(expect_string(item, field));
    return item.bytes;
}

Status check_string_size(const Item& item, std::size_t size, std::string_view field) {
    KEYBRIDGE_TRY_STATUS(expect_string(item, field));
    if (item.bytes.size() != size) {
        return fail(ErrorCode::InvalidFormat,
                    std::string(field) + ": expected " + std::to_string(size) + " bytes, got " +
                        std::to_string(item.bytes.size()) + at(item.offset));
    }
    return {};
}

}  // namespace keybridge::core::rlp
