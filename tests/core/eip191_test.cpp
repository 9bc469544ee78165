#include "core/eip191.h"

#include <string>

#include <gtest/gtest.h>

#include "core/hash.h"
#include "test_data.h"

namespace keybridge::core {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

PrivateKey key_from_hex(std::string_view hex) {
    return test::private_key_from_hex(hex);
}

TEST(Eip191, PersonalSignVectorsHashSignAndRecover) {
    auto doc = test::load_json("personal-sign-vectors.json");
    const auto& cases = doc.at("cases").as_array();
    std::size_t run = 0;
    for (const auto& value : cases) {
        const auto& c = value.as_object();
        SCOPED_TRACE(std::string(c.at("source").as_string()));
        auto message = hex_decode(c.at("message_hex").as_string());
        ASSERT_TRUE(message);
        if (const auto* utf8 = c.if_contains("message_utf8")) {
            EXPECT_EQ(hex_encode(*message), hex_encode(as_bytes(utf8->as_string())));
        }
        const auto& derived = c.at("derived").as_object();

        // The prefixed preimage and its hash.
        auto prefixed = hex_decode(derived.at("prefixedMessage_hex").as_string());
        ASSERT_TRUE(prefixed);
        const Hash32 hash = personal_message_hash(*message);
        EXPECT_EQ(hash, keccak256(*prefixed));
        const auto* expected_hash = c.if_contains("messageHash");
        if (!expected_hash) expected_hash = derived.if_contains("messageHash");
        ASSERT_NE(expected_hash, nullptr);
        EXPECT_EQ(hex_encode(hash), lower(expected_hash->as_string()));

        // RFC 6979 makes the signature byte-exact.
        auto key = key_from_hex(c.at("privateKey").as_string());
        const auto signature = sign_personal_message(key, *message).to_rsv();
        EXPECT_EQ(hex_encode(signature), lower(c.at("signature").as_string()));
        if (const auto* r = c.if_contains("r")) {
            EXPECT_EQ(hex_encode(ByteView(signature).first(32)), lower(r->as_string()));
            EXPECT_EQ(hex_encode(ByteView(signature).subspan(32, 32)),
                      lower(c.at("s").as_string()));
        }

        // Recovery from the published signature (not only from ours).
        auto published = hex_decode(c.at("signature").as_string());
        ASSERT_TRUE(published);
        auto signer = recover_personal_signer(*message, *published);
        ASSERT_TRUE(signer) << signer.error().to_string();
        EXPECT_EQ(signer->to_checksum_string(), std::string(derived.at("address").as_string()));
        if (const auto* address = c.if_contains("address")) {
            EXPECT_EQ(signer->to_lower_string(), lower(address->as_string()));
        }
        ++run;
    }
    EXPECT_EQ(run, 5u);
}

TEST(Eip191, HashUsesDecimalByteLength) {
    // 10 bytes: the length is written as the two characters "10", not as a byte.
    const Bytes message(10, 'a');
    const std::string preimage = std::string("\x19") + "Ethereum Signed Message:\n10aaaaaaaaaa";
    EXPECT_EQ(personal_message_hash(message), keccak256(as_bytes(preimage)));
    const std::string empty = std::string("\x19") + "Ethereum Signed Message:\n0";
    EXPECT_EQ(personal_message_hash({}), keccak256(as_bytes(empty)));
}

TEST(Eip191, RecoveryAcceptsZeroOneRecoveryByte) {
    auto key = key_from_hex("0x4545454545454545454545454545454545454545454545454545454545454545");
    const Bytes message = {1, 2, 3};
    auto signature = sign_personal_message(key, message).to_rsv();
    signature[64] = static_cast<std::uint8_t>(signature[64] - 27);
    auto signer = recover_personal_signer(message, signature);
    ASSERT_TRUE(signer);
    EXPECT_EQ(*signer, PublicKey::from_private(key).address());
}

TEST(Eip191, RecoveryOfOtherMessageGivesOtherSigner) {
    auto key = key_from_hex("0x4545454545454545454545454545454545454545454545454545454545454545");
    const Bytes message = {1, 2, 3};
    const auto signature = sign_personal_message(key, message).to_rsv();
    auto signer = recover_personal_signer(Bytes{1, 2, 4}, signature);
    // Recovery yields some key for almost any digest; it must just not be ours.
    if (signer) {
        EXPECT_NE(*signer, PublicKey::from_private(key).address());
    }
}

TEST(Eip191, RecoveryRejectsMalformedSignatures) {
    const Bytes message = {1};
    auto short_sig = recover_personal_signer(message, Bytes(64, 1));
    ASSERT_FALSE(short_sig);
    EXPECT_EQ(short_sig.error().code, ErrorCode::InvalidFormat);

    Bytes bad_v(65, 1);
    bad_v[64] = 29;
    auto v29 = recover_personal_signer(message, bad_v);
    ASSERT_FALSE(v29);
    EXPECT_EQ(v29.error().code, ErrorCode::InvalidFormat);

    Bytes zero_r(65, 0);
    zero_r[64] = 27;
    auto zero = recover_personal_signer(message, zero_r);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace keybridge::core
