// Unlocking a keystore (scrypt N=2^18, r=8, p=1) against the raw library KDF it wraps.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include "core/keystore.h"

namespace keybridge::core {
namespace {

const std::string kPassword = "correct horse battery staple";

// The floor: OpenSSL's scrypt with geth's standard parameters, nothing else.
void BM_RawOpenSslScryptStandard(benchmark::State& state) {
    Bytes salt(32, 0x5a);
    std::array<std::uint8_t, 32> out{};
    for (auto _ : state) {
        int ok = EVP_PBE_scrypt(kPassword.data(), kPassword.size(), salt.data(), salt.size(),
                                std::uint64_t{1} << 18, 8, 1, 300u * 1024 * 1024, out.data(),
                                out.size());
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(BM_RawOpenSslScryptStandard)->Unit(benchmark::kMillisecond)->Iterations(6);

// The whole unlock: JSON parse, parameter checks, scrypt, MAC, AES-128-CTR, key validation.
void BM_DecryptKeystoreStandard(benchmark::State& state) {
    Bytes key(32, 0x46);
    auto json = encrypt_keystore(key, as_bytes(kPassword), kScryptStandard);
    for (auto _ : state)
        benchmark::DoNotOptimize(decrypt_keystore(*json, as_bytes(kPassword)));
}
BENCHMARK(BM_DecryptKeystoreStandard)->Unit(benchmark::kMillisecond)->Iterations(6);

void BM_DecryptKeystoreLight(benchmark::State& state) {
    Bytes key(32, 0x46);
    auto json = encrypt_keystore(key, as_bytes(kPassword), kScryptLight);
    for (auto _ : state)
        benchmark::DoNotOptimize(decrypt_keystore(*json, as_bytes(kPassword)));
}
BENCHMARK(BM_DecryptKeystoreLight)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keybridge::core
