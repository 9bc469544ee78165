#include "core/secp256k1.h"

#include <gtest/gtest.h>

#include "core/hash.h"
#include "test_data.h"

namespace keybridge::core {
namespace {

PrivateKey key_of_hex(std::string_view hex) {
    return test::private_key_from_hex(hex);
}

TEST(PrivateKey, RejectsZeroOrderAndWrongLength) {
    EXPECT_FALSE(PrivateKey::from_bytes(Bytes(32, 0)));
    auto n = hex_decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    EXPECT_FALSE(PrivateKey::from_bytes(*n));
    EXPECT_FALSE(PrivateKey::from_bytes(Bytes(31, 1)));
    auto n_minus_1 = hex_decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
    EXPECT_TRUE(PrivateKey::from_bytes(*n_minus_1));
}

TEST(Secp256k1, SignsEip155ExampleDeterministically) {
    // The EIP-155 example's signing hash and key give r and s printed in the EIP (RFC 6979).
    auto doc = test::load_json("eip155-example.json");
    auto key = key_of_hex(doc.at("privateKey").as_string());
    auto digest = hex_decode_fixed<32>(doc.at("signingHash").as_string());
    ASSERT_TRUE(digest);
    RecoverableSignature sig = sign_digest(key, *digest);
    EXPECT_EQ(hex_encode(sig.r), doc.at("derived").at("r_hex").as_string());
    EXPECT_EQ(hex_encode(sig.s), doc.at("derived").at("s_hex").as_string());
    EXPECT_EQ(sig.recovery_id, 37 - 35 - 2 * 1);  // v = 35 + 2*chainId + recid
    EXPECT_EQ(sign_digest(key, *digest), sig);

    auto pub = recover_public_key(*digest, sig);
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->address().to_checksum_string(), doc.at("derived").at("sender").as_string());
    EXPECT_EQ(PublicKey::from_private(key), *pub);
}

TEST(Secp256k1, SignaturesAreLowSAndRecoverForManyDigests) {
    auto key = PrivateKey::generate();
    ASSERT_TRUE(key);
    const Address expected = PublicKey::from_private(*key).address();
    for (int i = 0; i < 64; ++i) {
        const Hash32 digest = keccak256(as_bytes(std::to_string(i)));
        RecoverableSignature sig = sign_digest(*key, digest);
        EXPECT_TRUE(is_low_s(sig.s));
        auto pub = recover_public_key(digest, sig);
        ASSERT_TRUE(pub);
        EXPECT_EQ(pub->address(), expected);
    }
}

TEST(Secp256k1, RecoveryRejectsHighSWhenAskedAndBadRecoveryIds) {
    auto key = key_of_hex("0x4646464646464646464646464646464646464646464646464646464646464646");
    const Hash32 digest = keccak256(as_bytes("x"));
    RecoverableSignature sig = sign_digest(key, digest);
    // s' = n - s flips the parity: the same signer with recovery id ^ 1, but high-s.
    auto n = *hex_decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    RecoverableSignature high = sig;
    int borrow = 0;
    for (int i = 31; i >= 0; --i) {
        int d = n[i] - sig.s[i] - borrow;
        borrow = d < 0;
        high.s[i] = static_cast<std::uint8_t>(d + (borrow ? 256 : 0));
    }
    high.recovery_id ^= 1;
    EXPECT_FALSE(is_low_s(high.s));
    EXPECT_FALSE(recover_public_key(digest, high, /*require_low_s=*/true));
    auto lenient = recover_public_key(digest, high, /*require_low_s=*/false);
    ASSERT_TRUE(lenient);
    EXPECT_EQ(*lenient, PublicKey::from_private(key));

    RecoverableSignature bad = sig;
    bad.recovery_id = 4;
    EXPECT_FALSE(recover_public_key(digest, bad));
    RecoverableSignature zero_r = sig;
    zero_r.r.fill(0);
    EXPECT_FALSE(recover_public_key(digest, zero_r));
}

TEST(RecoverableSignature, RsvRoundTripAndVRules) {
    RecoverableSignature sig;
    sig.r.fill(1);
    sig.s.fill(2);
    sig.recovery_id = 1;
    auto rsv = sig.to_rsv();
    EXPECT_EQ(rsv[64], 28);
    EXPECT_EQ(*RecoverableSignature::from_rsv(rsv), sig);
    rsv[64] = 1;
    EXPECT_EQ(*RecoverableSignature::from_rsv(rsv), sig);
    rsv[64] = 29;
    EXPECT_FALSE(RecoverableSignature::from_rsv(rsv));
    EXPECT_FALSE(RecoverableSignature::from_rsv(Bytes(64, 0)));
}

TEST(PublicKey, ParsesCompressedAndUncompressed) {
    auto key = key_of_hex("0x0000000000000000000000000000000000000000000000000000000000000001");
    PublicKey pub = PublicKey::from_private(key);
    auto c = pub.compressed();
    EXPECT_EQ(hex_encode(c),
              "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    EXPECT_EQ(*PublicKey::parse(c), pub);
    EXPECT_EQ(*PublicKey::parse(pub.uncompressed()), pub);
    EXPECT_FALSE(PublicKey::parse(Bytes(33, 0x05)));
    EXPECT_FALSE(PublicKey::parse(Bytes(65, 0x04)));
}

}  // namespace
}  // namespace keybridge::core
