#include "core/address.h"

#include <gtest/gtest.h>

#include "test_data.h"

namespace keybridge::core {
namespace {

TEST(Address, Eip55OfficialVectors) {
    auto doc = test::load_json("eip55-checksum.json");
    const auto& cases = doc.at("cases").as_array();
    ASSERT_EQ(cases.size(), 8u);
    for (const auto& c : cases) {
        const std::string lower(c.at("lowercase").as_string());
        const std::string expected(c.at("checksummed").as_string());
        auto parsed = Address::parse(lower);
        ASSERT_TRUE(parsed) << lower;
        EXPECT_EQ(parsed->to_checksum_string(), expected);
        EXPECT_EQ(parsed->to_lower_string(), lower);
        EXPECT_TRUE(is_eip55_checksummed(expected));
        auto again = Address::parse(expected);
        ASSERT_TRUE(again) << expected;
        EXPECT_EQ(*again, *parsed);
    }
}

TEST(Address, RejectsWrongChecksumInMixedCase) {
    // One letter of a valid checksummed address flipped to the other case.
    auto r = Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidChecksum);
    EXPECT_FALSE(is_eip55_checksummed("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
}

TEST(Address, AllUpperCaseCarriesNoChecksum) {
    EXPECT_TRUE(Address::parse("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"));
}

TEST(Address, RejectsMalformedInputWithClearErrors) {
    EXPECT_EQ(Address::parse("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").error().detail,
              "address must start with 0x");
    EXPECT_EQ(Address::parse("0x1234").error().detail, "address must have 40 hex digits, got 4");
    EXPECT_EQ(Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg").error().code,
              ErrorCode::InvalidFormat);
}

TEST(Address, FromPublicKeyOfScalarOne) {
    // G's coordinates; the address of private key 1 is a well-known constant.
    auto xy = hex_decode(
        "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
        "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
    ASSERT_TRUE(xy);
    EXPECT_EQ(Address::from_public_key_xy(*xy).to_checksum_string(),
              "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
}

}  // namespace
}  // namespace keybridge::core
