#include "core/rfc6979.h"

#include <gtest/gtest.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "core/hash.h"
#include "core/secp256k1.h"

namespace keybridge::core {
namespace {

using Block = std::array<std::uint8_t, 32>;

// A reproducible stream of 32-byte inputs: keccak256 of a label and a counter.
Block input(std::string_view label, std::uint32_t counter) {
    std::string text(label);
    text += std::to_string(counter);
    return keccak256(as_bytes(text));
}

Block library_nonce(const Block& msg, const Block& key, const unsigned char* algo16, void* data,
                    unsigned int attempt) {
    Block out{};
    EXPECT_EQ(
        secp256k1_nonce_function_rfc6979(out.data(), msg.data(), key.data(), algo16, data, attempt),
        1);
    return out;
}

Block our_nonce(const Block& msg, const Block& key, const unsigned char* algo16, void* data,
                unsigned int attempt) {
    Block out{};
    EXPECT_EQ(rfc6979_nonce(out.data(), msg.data(), key.data(), algo16, data, attempt), 1);
    return out;
}

TEST(Rfc6979, SameNoncesAsTheLibraryForManyKeysMessagesAndAttempts) {
    for (std::uint32_t i = 0; i < 2000; ++i) {
        const Block key = input("key", i);
        const Block msg = input("message", i);
        const unsigned int attempt = i % 4;
        ASSERT_EQ(our_nonce(msg, key, nullptr, nullptr, attempt),
                  library_nonce(msg, key, nullptr, nullptr, attempt))
            << "input " << i << ", attempt " << attempt;
    }
}

TEST(Rfc6979, AttemptsGiveDifferentNonces) {
    const Block key = input("key", 1);
    const Block msg = input("message", 1);
    EXPECT_NE(our_nonce(msg, key, nullptr, nullptr, 0), our_nonce(msg, key, nullptr, nullptr, 1));
    EXPECT_NE(our_nonce(msg, key, nullptr, nullptr, 1), our_nonce(msg, key, nullptr, nullptr, 2));
}

TEST(Rfc6979, DigestsAtOrAboveTheOrderAreReducedAsTheLibraryDoes) {
    // n - 1, n, n + 1, a value with a borrow across every byte, and 2^256 - 1.
    const char* digests[] = {
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142",
        "ffffffffffffffffffffffffffffffff00000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    const Block key = input("key", 7);
    for (const char* hex : digests) {
        auto msg = hex_decode_fixed<32>(hex);
        ASSERT_TRUE(msg);
        EXPECT_EQ(our_nonce(*msg, key, nullptr, nullptr, 0),
                  library_nonce(*msg, key, nullptr, nullptr, 0))
            << hex;
    }
    // n and 0 reduce to the same seed, so they give the same nonce.
    auto n =
        hex_decode_fixed<32>("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    EXPECT_EQ(our_nonce(*n, key, nullptr, nullptr, 0),
              our_nonce(Block{}, key, nullptr, nullptr, 0));
}

TEST(Rfc6979, ExtraDataAndAlgorithmNameEnterTheSeedAsInTheLibrary) {
    const Block key = input("key", 3);
    const Block msg = input("message", 3);
    Block extra = input("extra", 3);
    const unsigned char algo16[16] = {'E', 'C', 'D', 'S', 'A', '/', 't', 'e',
                                      's', 't', ' ', ' ', ' ', ' ', ' ', ' '};
    EXPECT_EQ(our_nonce(msg, key, nullptr, extra.data(), 0),
              library_nonce(msg, key, nullptr, extra.data(), 0));
    EXPECT_EQ(our_nonce(msg, key, algo16, nullptr, 1), library_nonce(msg, key, algo16, nullptr, 1));
    EXPECT_EQ(our_nonce(msg, key, algo16, extra.data(), 2),
              library_nonce(msg, key, algo16, extra.data(), 2));
    EXPECT_NE(our_nonce(msg, key, nullptr, extra.data(), 0),
              our_nonce(msg, key, nullptr, nullptr, 0));
}

TEST(Rfc6979, SignDigestGivesTheLibrarysDefaultSignature) {
    const secp256k1_context* ctx = secp256k1_ctx();
    for (std::uint32_t i = 0; i < 200; ++i) {
        auto key = PrivateKey::from_bytes(input("signing key", i));
        ASSERT_TRUE(key);
        const Block digest = input("digest", i);
        secp256k1_ecdsa_recoverable_signature lib_sig;
        ASSERT_EQ(secp256k1_ecdsa_sign_recoverable(ctx, &lib_sig, digest.data(), key->data(),
                                                   nullptr, nullptr),
                  1);
        std::array<std::uint8_t, 64> compact{};
        int recid = -1;
        secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact.data(), &recid,
                                                                &lib_sig);
        const RecoverableSignature ours = sign_digest(*key, digest);
        EXPECT_EQ(0, std::memcmp(ours.r.data(), compact.data(), 32)) << i;
        EXPECT_EQ(0, std::memcmp(ours.s.data(), compact.data() + 32, 32)) << i;
        EXPECT_EQ(ours.recovery_id, recid) << i;
    }
}

}  // namespace
}  // namespace keybridge::core
