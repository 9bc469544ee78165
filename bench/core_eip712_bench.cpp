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
