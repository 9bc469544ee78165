#include "core/base58.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

Bytes from_hex(std::string_view hex) {
    auto bytes = hex_decode(hex, HexPrefix::Forbidden);
    EXPECT_TRUE(bytes);
    return bytes ? *bytes : Bytes{};
}

// Expected texts were computed independently (big-integer conversion in Python).
struct Case {
    std::string_view hex;
    std::string_view text;
};
constexpr Case kCases[] = {
    {"", ""},
    {"00", "1"},
    {"0000", "11"},
    {"61", "2g"},
    {"626262", "a3gV"},
    {"636363", "aPEr"},
    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
    {"516b6fcd0f", "ABnLTmg"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
    {"572e4794", "3EFU7m"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
    {"10c8511e", "Rt5zm"},
    {"00000000000000000000", "1111111111"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG"},
};

TEST(Base58, EncodesAndDecodesKnownValues) {
    std::size_t run = 0;
    for (const auto& c : kCases) {
        const Bytes data = from_hex(c.hex);
        EXPECT_EQ(base58_encode(data), c.text) << c.hex;
        EXPECT_EQ(base58_encode_secret(data).text(), c.text) << c.hex;
        auto decoded = base58_decode(c.text);
        ASSERT_TRUE(decoded) << c.text;
        EXPECT_EQ(hex_encode(decoded->view(), false), c.hex);
        ++run;
    }
    EXPECT_EQ(run, 15u);
}

TEST(Base58, RejectsCharactersOutsideTheAlphabet) {
    for (const auto& [text, detail] :
         std::initializer_list<std::pair<std::string_view, std::string>>{
             {"abc0", "character '0' at position 3 is not in the Base58 alphabet"},
             {"O", "character 'O' at position 0 is not in the Base58 alphabet"},
             {"1I", "character 'I' at position 1 is not in the Base58 alphabet"},
             {"l11", "character 'l' at position 0 is not in the Base58 alphabet"},
             {"ab c", "character byte 0x20 at position 2 is not in the Base58 alphabet"},
             {"a\xc3\xa9", "character byte 0xc3 at position 1 is not in the Base58 alphabet"}}) {
        auto decoded = base58_decode(text);
        ASSERT_FALSE(decoded) << text;
        EXPECT_EQ(decoded.error().code, ErrorCode::InvalidFormat);
        EXPECT_EQ(decoded.error().detail, detail);
    }
}

TEST(Base58, RejectsOverlongInput) {
    auto decoded = base58_decode(std::string(kMaxBase58Length + 1, '2'));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, ErrorCode::InvalidFormat);
}

TEST(Base58Check, RoundTripsAndAppendsDoubleSha256Checksum) {
    const Bytes payload = from_hex("00f54a5851e9372b87810a8e60cdd2e7cfd80b6e31");
    EXPECT_EQ(base58check_encode(payload), "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs");
    EXPECT_EQ(base58check_encode_secret(payload).text(), "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs");
    auto decoded = base58check_decode("1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs");
    ASSERT_TRUE(decoded);
    EXPECT_EQ(hex_encode(decoded->view(), false), "00f54a5851e9372b87810a8e60cdd2e7cfd80b6e31");

    const Bytes empty;
    auto round = base58check_decode(base58check_encode(empty));
    ASSERT_TRUE(round);
    EXPECT_TRUE(round->empty());
}

TEST(Base58Check, RejectsBadChecksumAndShortInput) {
    auto bad = base58check_decode("1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAt");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidChecksum);

    auto short_input = base58check_decode("2g");  // one byte
    ASSERT_FALSE(short_input);
    EXPECT_EQ(short_input.error().code, ErrorCode::InvalidFormat);
    EXPECT_EQ(short_input.error().detail,
              "Base58Check text decodes to 1 bytes, fewer than its 4-byte checksum");
}

}  // namespace
}  // namespace keybridge::core
