// Benchmarks of the core primitives, each next to the raw library call it wraps, so that the
// wrapper's overhead is visible in one run (docs/BENCHMARKS.md records the figures).
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "core/hash.h"
#include "core/secp256k1.h"

namespace keybridge::core {
namespace {

PrivateKey bench_key() {
    Bytes raw(32, 0x46);
    return std::move(*PrivateKey::from_bytes(raw));
}

void BM_Keccak256_32B(benchmark::State& state) {
    Bytes data(32, 0xab);
    for (auto _ : state)
        benchmark::DoNotOptimize(keccak256(data));
}
BENCHMARK(BM_Keccak256_32B);

void BM_Keccak256_1KiB(benchmark::State& state) {
    Bytes data(1024, 0xab);
    for (auto _ : state)
        benchmark::DoNotOptimize(keccak256(data));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_Keccak256_1KiB);

// The floor: libsecp256k1's recoverable signing call plus compact serialisation, nothing else.
void BM_RawSecp256k1SignRecoverable(benchmark::State& state) {
    PrivateKey key = bench_key();
    Hash32 digest = keccak256(as_bytes("benchmark"));
    const secp256k1_context* ctx = secp256k1_ctx();
    for (auto _ : state) {
        secp256k1_ecdsa_recoverable_signature sig;
        secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest.data(), key.data(), nullptr, nullptr);
        unsigned char compact[64];
        int recid = 0;
        secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, &recid, &sig);
        benchmark::DoNotOptimize(compact);
        benchmark::DoNotOptimize(recid);
    }
}
BENCHMARK(BM_RawSecp256k1SignRecoverable);

void BM_CoreSignDigest(benchmark::State& state) {
    PrivateKey key = bench_key();
    Hash32 digest = keccak256(as_bytes("benchmark"));
    for (auto _ : state)
        benchmark::DoNotOptimize(sign_digest(key, digest));
}
BENCHMARK(BM_CoreSignDigest);

void BM_RawSecp256k1Recover(benchmark::State& state) {
    PrivateKey key = bench_key();
    Hash32 digest = keccak256(as_bytes("benchmark"));
    const secp256k1_context* ctx = secp256k1_ctx();
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest.data(), key.data(), nullptr, nullptr);
    for (auto _ : state) {
        secp256k1_pubkey pub;
        benchmark::DoNotOptimize(secp256k1_ecdsa_recover(ctx, &pub, &sig, digest.data()));
        benchmark::DoNotOptimize(pub);
    }
}
BENCHMARK(BM_RawSecp256k1Recover);

void BM_CoreRecoverAddress(benchmark::State& state) {
    PrivateKey key = bench_key();
    Hash32 digest = keccak256(as_bytes("benchmark"));
    RecoverableSignature sig = sign_digest(key, digest);
    for (auto _ : state)
        benchmark::DoNotOptimize(recover_public_key(digest, sig)->address());
}
BENCHMARK(BM_CoreRecoverAddress);

}  // namespace
}  // namespace keybridge::core
