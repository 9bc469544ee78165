// EIP-191 and EIP-712 benchmarks: parse + digest of typical requests.
#include <benchmark/benchmark.h>

#include "core/eip191.h"
#include "core/eip712.h"

namespace keybridge::core {
namespace {

// The EIP-712 specification's Mail example.
constexpr std::string_view kMail = R"({
  "types": {
    "EIP712Domain": [{"name":"name","type":"string"},{"name":"version","type":"string"},
                     {"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
    "Person": [{"name":"name","type":"string"},{"name":"wallet","type":"address"}],
    "Mail": [{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]
  },
  "primaryType": "Mail",
  "domain": {"name":"Ether Mail","version":"1","chainId":1,
             "verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
              "to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
              "contents":"Hello, Bob!"}
})";

// The document keybridge_loadgen signs (nested structs, a string, an array of uint256), as the
// daemon receives it: text, parsed, then hashed once into a HashedTypedData.
constexpr std::string_view kTransfer =
    R"({"types":{"EIP712Domain":[{"name":"name","type":"string"},)"
    R"({"name":"version","type":"string"},{"name":"chainId","type":"uint256"},)"
    R"({"name":"verifyingContract","type":"address"}],"Party":[{"name":"label","type":"string"},)"
    R"({"name":"account","type":"address"}],"Transfer":[{"name":"payer","type":"Party"},)"
    R"({"name":"payee","type":"Party"},{"name":"memo","type":"string"},)"
    R"({"name":"amounts","type":"uint256[]"},{"name":"deadline","type":"uint64"}]},)"
    R"("primaryType":"Transfer","domain":{"name":"keybridge load test","version":"1",)"
    R"("chainId":1,"verifyingContract":"0x1111111111111111111111111111111111111111"},)"
    R"("message":{"payer":{"label":"treasury","account":"0x2222222222222222222222222222222222222222"},)"
    R"("payee":{"label":"supplier","account":"0x3333333333333333333333333333333333333333"},)"
    R"("memo":"invoice 2024-117, second instalment",)"
    R"("amounts":["1000000000000000000","250000000000000000","42"],"deadline":1893456000}})";

void BM_Eip712ParseAndHashTransfer(benchmark::State& state) {
    for (auto _ : state) {
        auto typed = eip712::parse(kTransfer);
        auto hashed = eip712::hash_typed_data(std::move(*typed), eip712::Version::V4);
        benchmark::DoNotOptimize(hashed->digest());
    }
}
BENCHMARK(BM_Eip712ParseAndHashTransfer);

void BM_Eip712ParseTransfer(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(eip712::parse(kTransfer));
}
BENCHMARK(BM_Eip712ParseTransfer);

void BM_Eip712ParseAndDigestMail(benchmark::State& state) {
    for (auto _ : state) {
        auto typed = eip712::parse(kMail);
        benchmark::DoNotOptimize(eip712::signing_hash(*typed, eip712::Version::V4));
    }
}
BENCHMARK(BM_Eip712ParseAndDigestMail);

void BM_Eip712DigestMailParsed(benchmark::State& state) {
    auto typed = eip712::parse(kMail);
    for (auto _ : state)
        benchmark::DoNotOptimize(eip712::signing_hash(*typed, eip712::Version::V4));
}
BENCHMARK(BM_Eip712DigestMailParsed);

void BM_PersonalMessageHash64B(benchmark::State& state) {
    Bytes message(64, 'a');
    for (auto _ : state)
        benchmark::DoNotOptimize(personal_message_hash(message));
}
BENCHMARK(BM_PersonalMessageHash64B);

}  // namespace
}  // namespace keybridge::core
