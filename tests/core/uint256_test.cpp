#include "core/uint256.h"

#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

const std::string kMax =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

TEST(U256, ParsesDecimalUpToTheMaximum) {
    EXPECT_EQ(*parse_u256_decimal("0"), 0);
    EXPECT_EQ(*parse_u256_decimal("000123"), 123);
    auto max = parse_u256_decimal(kMax);
    ASSERT_TRUE(max);
    EXPECT_EQ(u256_to_decimal(*max), kMax);
    auto over = parse_u256_decimal(
        "115792089237316195423570985008687907853269984665640564039457584007913129639936");
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, ErrorCode::OutOfRange);
    EXPECT_FALSE(parse_u256_decimal(""));
    EXPECT_FALSE(parse_u256_decimal("-1"));
    EXPECT_FALSE(parse_u256_decimal("1e3"));
}

// The decimal parser reads 19 digits at a time: every length around a chunk boundary must agree
// with digit-by-digit arithmetic, leading zeros included.
TEST(U256, DecimalChunksAgreeWithDigitByDigit) {
    for (std::size_t length = 1; length <= kMax.size(); ++length) {
        for (const char fill : {'9', '1', '7'}) {
            std::string digits(length, fill);
            if (length == kMax.size()) digits = kMax;
            U256 expected = 0;
            for (const char c : digits)
                expected = expected * 10 + static_cast<unsigned>(c - '0');
            auto parsed = parse_u256_decimal(digits);
            ASSERT_TRUE(parsed) << digits;
            EXPECT_EQ(*parsed, expected) << digits;
            EXPECT_EQ(*parse_u256_decimal("000" + digits), expected) << digits;
        }
    }
}

TEST(U256, ParsesHexUpTo64Digits) {
    EXPECT_EQ(*parse_u256_hex("0x00ff"), 255);
    EXPECT_TRUE(parse_u256_hex("0x" + std::string(64, 'f')));
    EXPECT_TRUE(parse_u256_hex("0x0000" + std::string(64, 'f')));  // leading zeros are fine
    auto over = parse_u256_hex("0x1" + std::string(64, '0'));
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, ErrorCode::OutOfRange);
    EXPECT_FALSE(parse_u256_hex("0x"));
    EXPECT_FALSE(parse_u256_hex("ff"));
    EXPECT_FALSE(parse_u256_hex("0xfg"));
}

TEST(U256, QuantityIsStrict) {
    EXPECT_EQ(*parse_quantity("0x0"), 0);
    EXPECT_EQ(*parse_quantity("0x1a"), 26);
    EXPECT_FALSE(parse_quantity("0x"));
    EXPECT_FALSE(parse_quantity("0x01"));
    EXPECT_FALSE(parse_quantity("0x00"));
    EXPECT_FALSE(parse_quantity("26"));
    EXPECT_EQ(u256_to_quantity(0), "0x0");
    EXPECT_EQ(u256_to_quantity(26), "0x1a");
    EXPECT_EQ(u256_to_quantity(256), "0x100");
}

TEST(U256, BigEndianConversions) {
    EXPECT_TRUE(u256_to_minimal_be(0).empty());
    EXPECT_EQ(u256_to_minimal_be(0x0400), (Bytes{0x04, 0x00}));
    Hash32 be = u256_to_be32(1);
    EXPECT_EQ(be[31], 1);
    EXPECT_EQ(be[0], 0);
    EXPECT_EQ(*u256_from_be(Bytes{0x01, 0x00}), 256);
    EXPECT_EQ(*u256_from_be(Bytes{}), 0);
    EXPECT_EQ(*u256_from_be(Bytes{0x00, 0x00, 0x05}), 5);
    EXPECT_FALSE(u256_from_be(Bytes(33, 1)));

    EXPECT_EQ(u256_to_be32(0), Hash32{});
    Hash32 all_ones;
    all_ones.fill(0xff);
    const U256 max = *parse_u256_decimal(kMax);
    EXPECT_EQ(u256_to_be32(max), all_ones);
    EXPECT_EQ(*u256_from_be(all_ones), max);
    // Every byte position round-trips, and lands where big-endian puts it.
    for (std::size_t i = 0; i < 32; ++i) {
        Hash32 word{};
        word[i] = static_cast<std::uint8_t>(i + 1);
        const U256 value = *u256_from_be(word);
        EXPECT_EQ(value, U256(i + 1) << (8 * (31 - i)));
        EXPECT_EQ(u256_to_be32(value), word);
    }
}

}  // namespace
}  // namespace keybridge::core
