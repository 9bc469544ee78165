#include "core/hash.h"

#include <cryptopp/keccak.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/assert.h"

namespace keybridge::core {

struct Keccak256::State {
    CryptoPP::Keccak_256 hash;
};

Keccak256::Keccak256() : state_(std::make_unique<State>()) {}
Keccak256::~Keccak256() = default;

Keccak256& Keccak256::update(ByteView data) {
    state_->hash.Update(data.data(), data.size());
    return *this;
}

Hash32 Keccak256::finish() {
    Hash32 out{};
    state_->hash.Final(out.data());  // Final() also restarts the hash
    return out;
}

Hash32 keccak256(ByteView data) {
    CryptoPP::Keccak_256 hash;
    Hash32 out{};
    hash.CalculateDigest(out.data(), data.data(), data.size());
    return out;
}

namespace {

template <std::size_t N>
std::array<std::uint8_t, N> evp_digest(const EVP_MD* md, ByteView data) {
    std::array<std::uint8_t, N> out{};
    unsigned int len = 0;
    // EVP_Digest only fails on allocation failure or a broken provider: continuing would hand
    // out a zero hash, which is unsafe.
    KEYBRIDGE_ASSERT(EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1);
    KEYBRIDGE_ASSERT(len == N);
    return out;
}

Result<SecretBuffer> pbkdf2(const EVP_MD* md, ByteView password, ByteView salt,
                            std::uint32_t iterations, std::size_t out_len) {
    if (iterations == 0 || iterations > 0x7fffffff) {
        return fail(ErrorCode::InvalidArgument, "pbkdf2 iteration count out of range");
    }
    SecretBuffer out(out_len);
    // An empty password is legal; OpenSSL wants a non-null pointer for it.
    static const char kEmpty = 0;
    const char* pw = password.empty() ? &kEmpty : reinterpret_cast<const char*>(password.data());
    if (PKCS5_PBKDF2_HMAC(pw, static_cast<int>(password.size()), salt.data(),
                          static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                          static_cast<int>(out_len), out.data()) != 1) {
        return fail(ErrorCode::CryptoFailure, "PBKDF2 failed");
    }
    return out;
}

}  // namespace

Hash32 sha256(ByteView data) {
    return evp_digest<32>(EVP_sha256(), data);
}
std::array<std::uint8_t, 28> sha224(ByteView data) {
    return evp_digest<28>(EVP_sha224(), data);
}
Hash64 sha512(ByteView data) {
    return evp_digest<64>(EVP_sha512(), data);
}
Hash20 ripemd160(ByteView data) {
    return evp_digest<20>(EVP_ripemd160(), data);
}

Hash64 hmac_sha512(ByteView key, ByteView data) {
    Hash64 out{};
    unsigned int len = 0;
    static const std::uint8_t kEmpty = 0;
    KEYBRIDGE_ASSERT(HMAC(EVP_sha512(), key.empty() ? &kEmpty : key.data(),
                          static_cast<int>(key.size()), data.data(), data.size(), out.data(),
                          &len) != nullptr);
    KEYBRIDGE_ASSERT(len == out.size());
    return out;
}

Result<SecretBuffer> pbkdf2_hmac_sha512(ByteView password, ByteView salt, std::uint32_t iterations,
                                        std::size_t out_len) {
    return pbkdf2(EVP_sha512(), password, salt, iterations, out_len);
}

Result<SecretBuffer> pbkdf2_hmac_sha256(ByteView password, ByteView salt, std::uint32_t iterations,
                                        std::size_t out_len) {
    return pbkdf2(EVP_sha256(), password, salt, iterations, out_len);
}

Status random_bytes(std::span<std::uint8_t> out) {
    if (out.empty()) return {};
    if (RAND_priv_bytes(out.data(), static_cast<int>(out.size())) != 1) {
        return fail(ErrorCode::CryptoFailure, "the OS random number generator failed");
    }
    return {};
}

}  // namespace keybridge::core
