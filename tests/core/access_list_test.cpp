#include "core/access_list.h"

#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

Bytes bytes_from_hex(std::string_view text) {
    auto bytes = hex_decode(text);
    EXPECT_TRUE(bytes) << text;
    return bytes ? *bytes : Bytes{};
}

Address address_filled_with(std::uint8_t fill) {
    Address::Raw raw{};
    raw.fill(fill);
    return Address(raw);
}

Hash32 key_of(std::uint8_t last) {
    Hash32 key{};
    key[31] = last;
    return key;
}

// Decodes hand-written RLP and returns decode_access_list's error detail ("" on success).
std::string error_of(std::string_view hex) {
    auto item = rlp::decode(bytes_from_hex(hex));
    EXPECT_TRUE(item) << hex;
    if (!item) return "bad test input";
    auto list = decode_access_list(*item);
    if (list) return "";
    EXPECT_EQ(list.error().code, ErrorCode::InvalidFormat);
    return list.error().detail;
}

TEST(AccessList, EmptyListIsAnEmptyRlpList) {
    EXPECT_EQ(hex_encode(encode_access_list({})), "0xc0");
    auto item = rlp::decode(bytes_from_hex("c0"));
    ASSERT_TRUE(item);
    auto list = decode_access_list(*item);
    ASSERT_TRUE(list);
    EXPECT_TRUE(list->empty());
}

TEST(AccessList, RoundTripsEntriesAndKeys) {
    const AccessList list = {{address_filled_with(0x11), {key_of(3), key_of(7)}},
                             {address_filled_with(0x22), {}}};
    const Bytes encoded = encode_access_list(list);
    // [[0x11.., [key3, key7]], [0x22.., []]]
    EXPECT_EQ(hex_encode(encoded), "0xf872f85994" + std::string(40, '1') + "f842a0" +
                                       std::string(62, '0') + "03a0" + std::string(62, '0') +
                                       "07d694" + std::string(40, '2') + "c0");
    auto item = rlp::decode(encoded);
    ASSERT_TRUE(item);
    auto decoded = decode_access_list(*item);
    ASSERT_TRUE(decoded) << decoded.error().detail;
    EXPECT_EQ(*decoded, list);
}

TEST(AccessList, RejectsMalformedEntriesNamingTheIndex) {
    const std::string addr = "94" + std::string(40, '1');
    const std::string key = "a0" + std::string(64, '2');
    EXPECT_EQ(error_of("80"), "accessList: expected a list, got a string at byte 0");
    EXPECT_EQ(error_of("d6" + addr + "c0"),
              "accessList[0]: expected a list of [address, storageKeys] at byte 1");
    EXPECT_EQ(error_of("d6d5" + addr),
              "accessList[0]: expected a list of [address, storageKeys] "
              "at byte 1");
    EXPECT_EQ(error_of("d8d7" + addr + "c0c0"),
              "accessList[0]: expected a list of [address, storageKeys] at byte 1");
}

TEST(AccessList, RejectsWrongAddressAndKeySizes) {
    const std::string addr = "94" + std::string(40, '1');
    // Address of 21 and 19 bytes.
    EXPECT_EQ(error_of("d8d795" + std::string(42, '1') + "c0"),
              "accessList[0].address: expected 20 bytes, got 21 at byte 2");
    EXPECT_EQ(error_of("d6d593" + std::string(38, '1') + "c0"),
              "accessList[0].address: expected 20 bytes, got 19 at byte 2");
    // Second entry: its storage keys are a string, then a key of 31 and 33 bytes, then a list.
    const std::string good = "d6" + addr + "c0";
    EXPECT_EQ(error_of("ee" + good + "d6" + addr + "80"),
              "accessList[1].storageKeys: expected a list at byte 46");
    EXPECT_EQ(error_of("f84e" + good + "f6" + addr + "e09f" + std::string(62, '3')),
              "accessList[1].storageKeys[0]: expected 32 bytes, got 31 at byte 48");
    EXPECT_EQ(error_of("f851" + good + "f838" + addr + "e2a1" + std::string(66, '3')),
              "accessList[1].storageKeys[0]: expected 32 bytes, got 33 at byte 49");
    EXPECT_EQ(error_of("f851" + good + "f838" + addr + "e2e1a0" + std::string(64, '3')),
              "accessList[1].storageKeys[0]: expected a string, got a list at byte 49");
}

}  // namespace
}  // namespace keybridge::core
