// RLP, transaction and BIP32 benchmarks.
#include <benchmark/benchmark.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/rlp.h"
#include "core/transaction.h"

namespace keybridge::core {
namespace {

Transaction sample_transaction() {
    Transaction tx;
    tx.type = TxType::Eip1559;
    tx.chain_id = 1;
    tx.nonce = 42;
    tx.max_priority_fee_per_gas = 1'500'000'000;
    tx.max_fee_per_gas = 30'000'000'000ULL;
    tx.gas_limit = 65'000;
    tx.to = *Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    tx.value = 0;
    tx.data = Bytes(68, 0x11);  // an ERC-20 transfer's calldata size
    return tx;
}

void BM_RlpEncodeTransaction(benchmark::State& state) {
    Transaction tx = sample_transaction();
    for (auto _ : state)
        benchmark::DoNotOptimize(encode_unsigned(tx));
}
BENCHMARK(BM_RlpEncodeTransaction);

void BM_RlpDecodeSignedTransaction(benchmark::State& state) {
    auto key = PrivateKey::from_bytes(Bytes(32, 0x46));
    auto signed_tx = sign(sample_transaction(), *key);
    const Bytes& raw = signed_tx->raw;
    for (auto _ : state)
        benchmark::DoNotOptimize(rlp::decode(ByteView(raw).subspan(1)));
}
BENCHMARK(BM_RlpDecodeSignedTransaction);

void BM_DecodeSignedTransactionWithSender(benchmark::State& state) {
    auto key = PrivateKey::from_bytes(Bytes(32, 0x46));
    auto signed_tx = sign(sample_transaction(), *key);
    for (auto _ : state)
        benchmark::DoNotOptimize(decode_signed(signed_tx->raw));
}
BENCHMARK(BM_DecodeSignedTransactionWithSender);

void BM_SignTransaction(benchmark::State& state) {
    auto key = PrivateKey::from_bytes(Bytes(32, 0x46));
    Transaction tx = sample_transaction();
    for (auto _ : state)
        benchmark::DoNotOptimize(sign(tx, *key));
}
BENCHMARK(BM_SignTransaction);

// One BIP44 account below an already-computed master key: five child derivations.
void BM_Bip32DeriveBip44Account(benchmark::State& state) {
    auto seed = bip39::seed_from_mnemonic("all all all all all all all all all all all all");
    auto master = bip32::ExtendedKey::from_seed(seed->view());
    auto path = bip32::parse_path("m/44'/60'/0'/0/0");
    for (auto _ : state)
        benchmark::DoNotOptimize(master->derive_path(*path));
}
BENCHMARK(BM_Bip32DeriveBip44Account);

void BM_Bip32DeriveOneHardenedChild(benchmark::State& state) {
    auto seed = bip39::seed_from_mnemonic("all all all all all all all all all all all all");
    auto master = bip32::ExtendedKey::from_seed(seed->view());
    for (auto _ : state)
        benchmark::DoNotOptimize(master->derive_child(bip32::kHardened + 44));
}
BENCHMARK(BM_Bip32DeriveOneHardenedChild);

void BM_Bip39SeedFromMnemonic(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            bip39::seed_from_mnemonic("all all all all all all all all all all all all"));
    }
}
BENCHMARK(BM_Bip39SeedFromMnemonic);

}  // namespace
}  // namespace keybridge::core
