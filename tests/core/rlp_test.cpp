#include "core/rlp.h"

#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_data.h"

namespace keybridge::core::rlp {
namespace {

namespace json = boost::json;

Bytes unhex(std::string_view text) {
    auto bytes = hex_decode(text);
    EXPECT_TRUE(bytes) << text;
    return bytes ? *bytes : Bytes{};
}

// rlptest.json inputs: a string (its bytes), an integer, "#<decimal>" (a big integer, which may
// exceed 256 bits: "bigint" is 2^256) or a list. Integers become their minimal big-endian bytes.
Bytes json_integer_bytes(const json::value& in) {
    boost::multiprecision::cpp_int value;
    if (in.is_int64()) {
        value = in.as_int64();
    } else if (in.is_uint64()) {
        value = in.as_uint64();
    } else {
        value = boost::multiprecision::cpp_int(std::string(in.as_string()).substr(1));
    }
    Bytes out;
    if (value != 0) boost::multiprecision::export_bits(value, std::back_inserter(out), 8);
    return out;
}

bool is_integer(const json::value& in) {
    return in.is_int64() || in.is_uint64() || (in.is_string() && in.as_string().starts_with("#"));
}

// Encodes through the public helpers (encode_string / encode_uint / encode_list).
Bytes encode_json(const json::value& in) {
    if (in.is_array()) {
        std::vector<Bytes> items;
        for (const auto& element : in.as_array()) {
            items.push_back(encode_json(element));
        }
        return encode_list(items);
    }
    if (is_integer(in)) {
        const Bytes bytes = json_integer_bytes(in);
        auto value = u256_from_be(bytes);
        return value ? encode_uint(*value) : encode_string(bytes);  // beyond 256 bits
    }
    return encode_string(as_bytes(std::string_view(in.as_string())));
}

// The tree decode() must return for that input.
Item item_json(const json::value& in) {
    if (in.is_array()) {
        std::vector<Item> items;
        for (const auto& element : in.as_array()) {
            items.push_back(item_json(element));
        }
        return Item::list(std::move(items));
    }
    if (is_integer(in)) return Item::string(json_integer_bytes(in));
    return Item::string(as_bytes(std::string_view(in.as_string())));
}

void expect_invalid(ByteView input, std::string_view detail_part, const Limits& limits = {}) {
    auto decoded = decode(input, limits);
    ASSERT_FALSE(decoded) << hex_encode(input);
    EXPECT_EQ(decoded.error().code, ErrorCode::InvalidFormat);
    EXPECT_NE(decoded.error().detail.find(detail_part), std::string::npos)
        << decoded.error().detail;
}

// depth lists, each holding the next; the innermost is empty.
Bytes nested_lists(std::size_t depth) {
    Bytes out = encode_list_payload({});
    for (std::size_t i = 1; i < depth; ++i) {
        out = encode_list_payload(out);
    }
    return out;
}

TEST(Rlp, EncodesAndDecodesEveryValidVector) {
    auto doc = test::load_json("rlptest.json");
    std::size_t count = 0;
    std::size_t integers = 0;
    for (const auto& [name, test] : doc.as_object()) {
        SCOPED_TRACE(std::string(name));
        const Bytes expected = unhex(test.at("out").as_string());
        const json::value& in = test.at("in");
        EXPECT_EQ(hex_encode(encode_json(in)), hex_encode(expected));

        const Item tree = item_json(in);
        EXPECT_EQ(hex_encode(encode(tree)), hex_encode(expected));
        auto decoded = decode(expected);
        ASSERT_TRUE(decoded) << decoded.error().detail;
        EXPECT_TRUE(*decoded == tree);
        if (is_integer(in)) {
            // decode_uint takes what fits in 256 bits and refuses the 33-byte "bigint".
            const Bytes bytes = json_integer_bytes(in);
            auto value = decode_uint(*decoded, "in");
            ASSERT_EQ(value.has_value(), bytes.size() <= 32);
            if (value) {
                EXPECT_EQ(u256_to_minimal_be(*value), bytes);
            }
            ++integers;
        }
        ++count;
    }
    EXPECT_EQ(count, 28u);
    EXPECT_EQ(integers, 11u);
}

TEST(Rlp, RejectsEveryInvalidVector) {
    auto doc = test::load_json("invalidRLPTest.json");
    std::size_t count = 0;
    for (const auto& [name, test] : doc.as_object()) {
        SCOPED_TRACE(std::string(name));
        EXPECT_EQ(test.at("in").as_string(), "INVALID");
        const Bytes input = unhex(test.at("out").as_string());
        auto decoded = decode(input);
        ASSERT_FALSE(decoded);
        EXPECT_EQ(decoded.error().code, ErrorCode::InvalidFormat);
        ++count;
    }
    EXPECT_EQ(count, 26u);
}

TEST(Rlp, RejectsSingleByteWrittenWithAHeader) {
    expect_invalid(unhex("8100"), "single byte below 0x80 must be encoded as itself at byte 0");
    expect_invalid(unhex("c2817f"), "at byte 1");
    EXPECT_TRUE(decode(unhex("8180")));  // 0x80 and above do need the header
}

TEST(Rlp, RejectsLongFormForShortLengths) {
    expect_invalid(unhex("b801ff"), "long form used for length 1 (below 56) at byte 0");
    expect_invalid(unhex("f80180"), "long form used for length 1");
    Bytes ok = unhex("b838");
    ok.resize(2 + 56, 'a');
    EXPECT_TRUE(decode(ok));
}

TEST(Rlp, RejectsLengthsWithLeadingZeroBytes) {
    Bytes input = unhex("b90038");
    input.resize(3 + 56, 'a');
    expect_invalid(input, "length has a leading zero byte at byte 0");
    expect_invalid(unhex("f800"), "leading zero");
}

TEST(Rlp, RejectsLengthsBeyondTheInput) {
    expect_invalid(unhex("83616263"
                         "00"),
                   "1 trailing bytes after the item at byte 4");
    expect_invalid(unhex("84616263"), "declared length 4 at byte 0 runs past the end of the input");
    expect_invalid(unhex("b9ffff00"), "declared length 65535 at byte 0 runs past");
    expect_invalid(unhex("bf"
                         "ffffffffffffffff"),
                   "runs past the end of the input");
    expect_invalid(unhex("b9ff"), "length field at byte 0 runs past the end of the input");
    expect_invalid(Bytes{}, "empty input");
}

TEST(Rlp, RejectsListPayloadNotExactlyConsumed) {
    // The list declares 2 payload bytes; its element declares 3.
    expect_invalid(unhex("c2836162"
                         "63"),
                   "runs past the end of the enclosing list (byte 3)");
    // Element fits the input but not the list.
    expect_invalid(unhex("c3c3010203"), "at byte 1 runs past the end of the enclosing list");
}

TEST(Rlp, CapsNestingDepth) {
    Limits limits;
    EXPECT_TRUE(decode(nested_lists(limits.max_depth), limits));
    expect_invalid(nested_lists(limits.max_depth + 1), "lists nested deeper than 64 at byte");
    limits.max_depth = 2;
    EXPECT_TRUE(decode(unhex("c1c0"), limits));
    expect_invalid(unhex("c2c1c0"), "deeper than 2", limits);
}

TEST(Rlp, CapsInputSizeAndItemCount) {
    Limits limits;
    limits.max_input_size = 4;
    EXPECT_TRUE(decode(unhex("83616263"), limits));
    expect_invalid(unhex("8461626364"), "input of 5 bytes exceeds the limit of 4", limits);

    limits = Limits{};
    limits.max_items = 3;
    EXPECT_TRUE(decode(unhex("c20102"), limits));  // the list and two strings
    expect_invalid(unhex("c3010203"), "more than 3 items at byte 3", limits);
}

TEST(Rlp, StopsAtTheItemCapOnAHugeFlatList) {
    Bytes input = unhex("fa010000");  // a list of 65536 empty lists: 65537 items
    input.resize(4 + 0x10000, 0xc0);
    expect_invalid(input, "more than 65536 items at byte 65539");
    Bytes at_cap = unhex("f9ffff");  // 65535 empty lists: exactly 65536 items
    at_cap.resize(3 + 0xffff, 0xc0);
    EXPECT_TRUE(decode(at_cap));
}

TEST(Rlp, RecordsOffsets) {
    auto item = decode(unhex("c88363617483646f67"));
    ASSERT_TRUE(item);
    EXPECT_EQ(item->offset, 0u);
    ASSERT_EQ(item->items.size(), 2u);
    EXPECT_EQ(item->items[0].offset, 1u);
    EXPECT_EQ(item->items[1].offset, 5u);
    EXPECT_EQ(item->items[1].bytes, Bytes({'d', 'o', 'g'}));
}

TEST(Rlp, AddsBaseOffsetToOffsetsAndErrors) {
    auto item = decode(unhex("c88363617483646f67"), {}, 10);
    ASSERT_TRUE(item);
    EXPECT_EQ(item->offset, 10u);
    EXPECT_EQ(item->items[1].offset, 15u);
    auto bad = decode(unhex("c3c3010203"), {}, 1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail,
              "declared length 3 at byte 2 runs past the end of the enclosing list (byte 5)");
    auto trailing = decode(unhex("8000"), {}, 1);
    ASSERT_FALSE(trailing);
    EXPECT_EQ(trailing.error().detail, "1 trailing bytes after the item at byte 2");
}

TEST(Rlp, DecodesIntegersStrictly) {
    auto zero = decode(unhex("80"));
    ASSERT_TRUE(zero);
    EXPECT_EQ(*decode_uint(*zero, "nonce"), 0);
    EXPECT_EQ(*decode_uint64(*zero, "nonce"), 0u);

    auto leading = decode_uint(Item::string(unhex("0001")), "gasPrice");
    ASSERT_FALSE(leading);
    EXPECT_EQ(leading.error().code, ErrorCode::InvalidFormat);
    EXPECT_EQ(leading.error().detail, "gasPrice: integer has a leading zero byte at byte 0");
    EXPECT_FALSE(decode_uint(Item::string(unhex("00")), "x"));  // zero is the empty string

    EXPECT_TRUE(decode_uint(Item::string(Bytes(32, 0xff)), "value"));
    auto wide = decode_uint(Item::string(Bytes(33, 0xff)), "value");
    ASSERT_FALSE(wide);
    EXPECT_EQ(wide.error().detail, "value: integer longer than 32 bytes at byte 0");

    EXPECT_EQ(*decode_uint64(Item::string(Bytes(8, 0xff)), "gas"), ~std::uint64_t{0});
    auto nine = decode_uint64(Item::string(Bytes(9, 0x01)), "gas");
    ASSERT_FALSE(nine);
    EXPECT_EQ(nine.error().detail, "gas: integer longer than 8 bytes at byte 0");

    auto list = decode(unhex("c3c20102"));
    ASSERT_TRUE(list);
    auto not_int = decode_uint(list->items[0], "nonce");
    ASSERT_FALSE(not_int);
    EXPECT_EQ(not_int.error().detail, "nonce: expected a string, got a list at byte 1");
}

TEST(Rlp, DecodesFixedSizeStrings) {
    EXPECT_TRUE(decode_fixed<3>(Item::string(unhex("010203")), "key"));
    auto short_key = decode_fixed<4>(Item::string(unhex("010203")), "key");
    ASSERT_FALSE(short_key);
    EXPECT_EQ(short_key.error().detail, "key: expected 4 bytes, got 3 at byte 0");
    EXPECT_FALSE(decode_bytes(Item::list({}), "data"));
    EXPECT_EQ(*decode_bytes(Item::string(unhex("ab")), "data"), unhex("ab"));
}

TEST(Rlp, EncodesIntegersMinimally) {
    EXPECT_EQ(hex_encode(encode_uint(std::uint64_t{0})), "0x80");
    EXPECT_EQ(hex_encode(encode_uint(std::uint64_t{0x7f})), "0x7f");
    EXPECT_EQ(hex_encode(encode_uint(std::uint64_t{0x80})), "0x8180");
    EXPECT_EQ(hex_encode(encode_uint(~std::uint64_t{0})), "0x88ffffffffffffffff");
    EXPECT_EQ(hex_encode(encode_uint(U256(0x0400))), "0x820400");
}

TEST(Rlp, ListBuilderMatchesEncodeList) {
    const Bytes inner = ListBuilder().add_string(as_bytes("cat")).finish();
    ListBuilder builder;
    builder.add_uint(std::uint64_t{1}).add_uint(U256(1000)).add_string({}).add_encoded(inner);
    const std::vector<Bytes> items = {encode_uint(std::uint64_t{1}), encode_uint(U256(1000)),
                                      encode_string({}), inner};
    EXPECT_EQ(builder.finish(), encode_list(items));
    EXPECT_EQ(hex_encode(builder.finish()), "0xca018203e880c483636174");
}

TEST(Rlp, EncodesLongPayloadHeaders) {
    EXPECT_EQ(hex_encode(encode_string(Bytes(55, 'a'))).substr(0, 4), "0xb7");
    EXPECT_EQ(hex_encode(encode_string(Bytes(56, 'a'))).substr(0, 6), "0xb838");
    EXPECT_EQ(hex_encode(encode_string(Bytes(0x10000, 'a'))).substr(0, 10), "0xba010000");
    EXPECT_EQ(hex_encode(encode_list_payload(Bytes(55, 1))).substr(0, 4), "0xf7");
    EXPECT_EQ(hex_encode(encode_list_payload(Bytes(256, 1))).substr(0, 8), "0xf90100");
    const Bytes big = encode_string(Bytes(0x10000, 'a'));
    auto decoded = decode(big);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->bytes.size(), 0x10000u);
}

}  // namespace
}  // namespace keybridge::core::rlp
