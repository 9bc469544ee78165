#include "core/bytes.h"

#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

TEST(Hex, DecodesWithAndWithoutPrefix) {
    EXPECT_EQ(*hex_decode("0x00ff10"), (Bytes{0x00, 0xff, 0x10}));
    EXPECT_EQ(*hex_decode("00FF10"), (Bytes{0x00, 0xff, 0x10}));
    EXPECT_EQ(*hex_decode("0X0a"), (Bytes{0x0a}));
    EXPECT_TRUE(hex_decode("0x")->empty());
    EXPECT_TRUE(hex_decode("")->empty());
}

TEST(Hex, RejectsOddLengthNamingTheCount) {
    auto r = hex_decode("0xabc");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat);
    EXPECT_NE(r.error().detail.find("odd"), std::string::npos);
}

TEST(Hex, RejectsBadDigitNamingThePosition) {
    auto r = hex_decode("0x12g4");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "invalid hex digit at position 4");
    auto r2 = hex_decode("1 ");
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().detail, "invalid hex digit at position 1");
}

TEST(Hex, EnforcesPrefixMode) {
    EXPECT_FALSE(hex_decode("abcd", HexPrefix::Required));
    EXPECT_TRUE(hex_decode("0xabcd", HexPrefix::Required));
    EXPECT_FALSE(hex_decode("0xabcd", HexPrefix::Forbidden));
    EXPECT_TRUE(hex_decode("abcd", HexPrefix::Forbidden));
    // "0x" followed by nothing is a valid empty string when a prefix is allowed.
    EXPECT_TRUE(hex_decode("0x", HexPrefix::Required));
}

TEST(Hex, FixedLengthChecksSize) {
    EXPECT_TRUE(hex_decode_fixed<2>("0xbeef"));
    auto r = hex_decode_fixed<4>("0xbeef");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "expected 4 bytes of hex, got 2");
}

TEST(Hex, EncodeRoundTripsEveryByte) {
    Bytes all(256);
    for (int i = 0; i < 256; ++i)
        all[i] = static_cast<std::uint8_t>(i);
    std::string text = hex_encode(all);
    EXPECT_EQ(text.substr(0, 8), "0x000102");
    EXPECT_EQ(*hex_decode(text), all);
    EXPECT_EQ(hex_encode(Bytes{0xab}, false), "ab");
}

}  // namespace
}  // namespace keybridge::core
