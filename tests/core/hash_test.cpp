#include "core/hash.h"

#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

TEST(Keccak256, MatchesKnownDigests) {
    // Ethereum's empty-input hash (also the code hash of an account without code).
    EXPECT_EQ(hex_encode(keccak256({})),
              "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    EXPECT_EQ(hex_encode(keccak256(as_bytes("hello world"))),
              "0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad");
    // Not SHA3-256: that would be 0xa7ffc6f8bf1ed766... for the empty input.
}

TEST(Keccak256, IncrementalEqualsOneShot) {
    Keccak256 h;
    h.update(as_bytes("hello ")).update(as_bytes("world"));
    EXPECT_EQ(h.finish(), keccak256(as_bytes("hello world")));
    // finish() resets the state.
    EXPECT_EQ(h.finish(), keccak256({}));
}

TEST(Sha2, MatchesFips180Examples) {
    // FIPS 180-2 appendix: SHA-224("abc").
    EXPECT_EQ(hex_encode(sha224(as_bytes("abc"))),
              "0x23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
    EXPECT_EQ(hex_encode(sha256(as_bytes("abc"))),
              "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_encode(sha512(as_bytes("abc"))).substr(0, 34),
              "0xddaf35a193617abacc417349ae204131");
    EXPECT_EQ(hex_encode(ripemd160(as_bytes("abc"))), "0x8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
}

TEST(Hmac, Rfc4231Case2) {
    auto mac = hmac_sha512(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"));
    EXPECT_EQ(hex_encode(mac).substr(0, 34), "0x164b7a7bfcf819e2e395fbe73b56e0a3");
}

TEST(Pbkdf2, Rfc6070StyleVectorForSha256) {
    // PBKDF2-HMAC-SHA256("password", "salt", 1, 32), widely published.
    auto key = pbkdf2_hmac_sha256(as_bytes("password"), as_bytes("salt"), 1, 32);
    ASSERT_TRUE(key);
    EXPECT_EQ(hex_encode(key->view()),
              "0x120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
    EXPECT_FALSE(pbkdf2_hmac_sha256(as_bytes("p"), as_bytes("s"), 0, 32));
}

TEST(Random, FillsAndDiffers) {
    std::array<std::uint8_t, 32> a{}, b{};
    ASSERT_TRUE(random_bytes(a));
    ASSERT_TRUE(random_bytes(b));
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace keybridge::core
