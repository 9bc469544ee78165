#include "core/kdf.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/hash.h"

namespace keybridge::core {
namespace {

KdfParams scrypt(std::uint64_t n, std::uint64_t r, std::uint64_t p, std::uint64_t dklen = 32) {
    return KdfParams{ScryptParams{n, r, p}, Bytes(32, 0x5a), dklen};
}

void expect_out_of_range(const KdfParams& params, const std::string& fragment,
                         const KdfLimits& limits = {}) {
    auto status = check_kdf_params(params, limits);
    ASSERT_FALSE(status) << "expected a refusal mentioning " << fragment;
    EXPECT_EQ(status.error().code, ErrorCode::OutOfRange) << status.error().to_string();
    EXPECT_NE(status.error().detail.find(fragment), std::string::npos) << status.error().detail;
    // derive_key refuses the same way, without running anything.
    auto key = derive_key(params, as_bytes("pw"), limits);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code, ErrorCode::OutOfRange);
}

TEST(KdfLimits, DefaultsAcceptEveryParameterSetSeenInTheWild) {
    EXPECT_TRUE(check_kdf_params(scrypt(kScryptStandard.n, kScryptStandard.r, kScryptStandard.p)));
    EXPECT_TRUE(check_kdf_params(scrypt(kScryptLight.n, kScryptLight.r, kScryptLight.p)));
    EXPECT_TRUE(check_kdf_params(scrypt(1 << 18, 1, 8)));  // spec vector (test2)
    EXPECT_TRUE(check_kdf_params(scrypt(1 << 10, 4, 2)));  // ethers wallet_random3
    EXPECT_TRUE(check_kdf_params(scrypt(2, 8, 1)));        // geth 31/30-byte vectors
    EXPECT_TRUE(check_kdf_params(scrypt(1 << 20, 8, 1)));  // the largest: exactly 1 GiB, 2^23 work
    EXPECT_TRUE(check_kdf_params(scrypt(1 << 12, 8, 1, 64)));
    EXPECT_TRUE(check_kdf_params(KdfParams{Pbkdf2Params{262144}, Bytes(32, 1), 32}));
    EXPECT_TRUE(check_kdf_params(KdfParams{Pbkdf2Params{10'000'000}, Bytes(1, 1), 32}));
}

TEST(KdfLimits, EachViolationIsOutOfRangeNamingTheParameter) {
    expect_out_of_range(scrypt(0, 8, 1), "kdfparams.n must be a power of two");
    expect_out_of_range(scrypt(1, 8, 1), "kdfparams.n must be a power of two");
    expect_out_of_range(scrypt(3, 8, 1), "kdfparams.n must be a power of two");
    expect_out_of_range(scrypt((1 << 18) + 1, 8, 1), "kdfparams.n must be a power of two");
    expect_out_of_range(scrypt(1 << 21, 1, 1),
                        "kdfparams.n = 2097152 exceeds the limit of 1048576");
    expect_out_of_range(scrypt(std::uint64_t{1} << 63, 1, 1), "kdfparams.n");
    expect_out_of_range(scrypt(1 << 10, 0, 1), "kdfparams.r must be at least 1");
    expect_out_of_range(scrypt(1 << 10, 1, 0), "kdfparams.p must be at least 1");
    expect_out_of_range(scrypt(1 << 10, 1025, 1), "kdfparams.r * kdfparams.p");
    expect_out_of_range(scrypt(1 << 10, 32, 33), "kdfparams.r * kdfparams.p");
    expect_out_of_range(scrypt(1 << 10, ~std::uint64_t{0}, 2), "kdfparams.r * kdfparams.p");
    expect_out_of_range(scrypt(1 << 20, 16, 1), "scrypt memory");  // 2 GiB
    expect_out_of_range(scrypt(1 << 20, 8, 4), "scrypt work");     // 2^25
    expect_out_of_range(scrypt(1 << 12, 8, 1, 31), "kdfparams.dklen");
    expect_out_of_range(scrypt(1 << 12, 8, 1, 65), "kdfparams.dklen");
    expect_out_of_range(KdfParams{Pbkdf2Params{0}, Bytes(1, 1), 32},
                        "kdfparams.c must be at least 1");
    expect_out_of_range(KdfParams{Pbkdf2Params{10'000'001}, Bytes(1, 1), 32},
                        "kdfparams.c = 10000001 exceeds the limit of 10000000");
}

TEST(KdfLimits, CallerLimitsAreHonoured) {
    KdfLimits fuzz;
    fuzz.max_scrypt_n = 1 << 10;
    fuzz.max_pbkdf2_iterations = 1000;
    EXPECT_TRUE(check_kdf_params(scrypt(1 << 10, 8, 1), fuzz));
    expect_out_of_range(scrypt(1 << 11, 8, 1), "kdfparams.n = 2048 exceeds the limit of 1024",
                        fuzz);
    EXPECT_TRUE(check_kdf_params(KdfParams{Pbkdf2Params{1000}, Bytes(1, 1), 32}, fuzz));
    expect_out_of_range(KdfParams{Pbkdf2Params{1001}, Bytes(1, 1), 32}, "kdfparams.c", fuzz);

    KdfLimits small_memory;
    small_memory.max_scrypt_memory_bytes = 128 * 1024 * 8 - 1;
    expect_out_of_range(scrypt(1 << 10, 8, 1), "scrypt memory", small_memory);
}

TEST(KdfLimits, EmptySaltIsInvalidFormat) {
    auto status = check_kdf_params(KdfParams{ScryptParams{16, 1, 1}, Bytes{}, 32});
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::InvalidFormat);
    EXPECT_NE(status.error().detail.find("kdfparams.salt"), std::string::npos);
}

TEST(Scrypt, OpenSslAcceptanceFollowsRfc7914Bound) {
    EXPECT_TRUE(openssl_accepts_scrypt({1 << 18, 8, 1}));
    EXPECT_TRUE(openssl_accepts_scrypt({1 << 15, 1, 1}));
    EXPECT_FALSE(openssl_accepts_scrypt({1 << 16, 1, 1}));
    EXPECT_FALSE(openssl_accepts_scrypt({1 << 18, 1, 8}));  // the spec vector geth accepts
    EXPECT_TRUE(openssl_accepts_scrypt({std::uint64_t{1} << 31, 2, 1}));
    EXPECT_FALSE(openssl_accepts_scrypt({std::uint64_t{1} << 32, 2, 1}));
    EXPECT_TRUE(openssl_accepts_scrypt({std::uint64_t{1} << 62, 4, 1}));
}

TEST(Scrypt, OpenSslEngineRefusesWhatOnlyCryptoPpComputes) {
    auto refused = derive_key(scrypt(1 << 16, 1, 1), as_bytes("pw"), {}, ScryptEngine::OpenSsl);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::NotSupported);
    auto crypto_pp = derive_key(scrypt(1 << 16, 1, 1), as_bytes("pw"), {}, ScryptEngine::CryptoPp);
    auto automatic = derive_key(scrypt(1 << 16, 1, 1), as_bytes("pw"), {}, ScryptEngine::Auto);
    ASSERT_TRUE(crypto_pp && automatic);
    EXPECT_EQ(crypto_pp->size(), 32u);
    EXPECT_TRUE(*crypto_pp == *automatic);
}

TEST(Scrypt, EnginesAgree) {
    const std::vector<KdfParams> cases = {
        scrypt(2, 8, 1),       scrypt(1 << 10, 8, 1), scrypt(1 << 10, 4, 2),
        scrypt(1 << 12, 1, 3), scrypt(16, 2, 1, 64),
    };
    int compared = 0;
    for (const auto& params : cases) {
        for (const std::string& password :
             std::vector<std::string>{"", "pw", std::string(200, 'x')}) {
            auto a = derive_key(params, as_bytes(password), {}, ScryptEngine::OpenSsl);
            auto b = derive_key(params, as_bytes(password), {}, ScryptEngine::CryptoPp);
            ASSERT_TRUE(a) << a.error().to_string();
            ASSERT_TRUE(b) << b.error().to_string();
            EXPECT_EQ(a->size(), params.dklen);
            EXPECT_TRUE(*a == *b) << "n=" << std::get<ScryptParams>(params.function).n;
            ++compared;
        }
    }
    EXPECT_EQ(compared, 15);
}

TEST(Scrypt, DifferentInputsGiveDifferentKeys) {
    auto base = derive_key(scrypt(16, 1, 1), as_bytes("pw"));
    auto other_password = derive_key(scrypt(16, 1, 1), as_bytes("pW"));
    KdfParams salted = scrypt(16, 1, 1);
    salted.salt[0] ^= 1;
    auto other_salt = derive_key(salted, as_bytes("pw"));
    auto other_n = derive_key(scrypt(32, 1, 1), as_bytes("pw"));
    ASSERT_TRUE(base && other_password && other_salt && other_n);
    EXPECT_FALSE(*base == *other_password);
    EXPECT_FALSE(*base == *other_salt);
    EXPECT_FALSE(*base == *other_n);
}

TEST(Scrypt, LongerDklenExtendsTheSameOutput) {
    // scrypt ends in PBKDF2, whose output blocks do not depend on the requested length.
    auto short_key = derive_key(scrypt(16, 1, 1, 32), as_bytes("pw"));
    auto long_key = derive_key(scrypt(16, 1, 1, 64), as_bytes("pw"));
    ASSERT_TRUE(short_key && long_key);
    ASSERT_EQ(long_key->size(), 64u);
    EXPECT_TRUE(constant_time_equal(short_key->view(), long_key->view().first(32)));
}

TEST(Pbkdf2, DeriveKeyIsPbkdf2HmacSha256) {
    // PBKDF2-HMAC-SHA256("password", "salt", c=1, 32), the widely published value.
    KdfParams params{Pbkdf2Params{1}, Bytes{'s', 'a', 'l', 't'}, 32};
    auto key = derive_key(params, as_bytes("password"));
    ASSERT_TRUE(key);
    EXPECT_EQ(hex_encode(key->view()),
              "0x120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
    params.function = Pbkdf2Params{1000};
    auto direct = pbkdf2_hmac_sha256(as_bytes("password"), params.salt, 1000, 32);
    auto via_kdf = derive_key(params, as_bytes("password"));
    ASSERT_TRUE(direct && via_kdf);
    EXPECT_TRUE(*direct == *via_kdf);
}

}  // namespace
}  // namespace keybridge::core
