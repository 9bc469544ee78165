// Insight: explanation time per request, without upstream calls (docs/BENCHMARKS.md, "Insight").
// Each iteration is one whole explanation as the daemon asks for it: decoding, recognisers,
// token and phishing lists, and the site checks of the request's origin.
#include <benchmark/benchmark.h>

#include "core/address.h"
#include "core/bytes.h"
#include "insight/insight.h"

namespace keybridge::insight {
namespace {

namespace json = boost::json;

const core::Address kUser = *core::Address::parse("0x1111111111111111111111111111111111111111");
const core::Address kUsdc = *core::Address::parse("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");

Context context(std::string origin) {
    Context c;
    c.chain_id = 1;
    c.origin = std::move(origin);
    c.account = kUser;
    c.now = 1764921600;
    for (int i = 0; i < 50; ++i) {  // an address book of 50 entries
        core::Address::Raw raw{};
        raw[0] = static_cast<std::uint8_t>(i + 1);
        raw[19] = static_cast<std::uint8_t>(i * 7);
        c.known_addresses.emplace_back(raw);
    }
    return c;
}

std::string word(std::string_view hex) {
    return std::string(64 - hex.size(), '0') + std::string(hex);
}

void BM_InsightPlainMessage(benchmark::State& state) {
    const Context c = context("https://app.uniswap.org");
    const std::string text = "Welcome to the app! Sign to accept the terms of service.";
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_message(core::as_bytes(text), c));
}
BENCHMARK(BM_InsightPlainMessage);

void BM_InsightSiwe(benchmark::State& state) {
    const Context c = context("https://app.uniswap.org");
    const std::string text =
        "app.uniswap.org wants you to sign in with your Ethereum account:\n"
        "0x1111111111111111111111111111111111111111\n\nSign in.\n\nURI: https://app.uniswap.org\n"
        "Version: 1\nChain ID: 1\nNonce: 32891756\nIssued At: 2025-12-05T07:00:00Z\n"
        "Expiration Time: 2025-12-06T07:00:00Z";
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_message(core::as_bytes(text), c));
}
BENCHMARK(BM_InsightSiwe);

void BM_InsightPermit(benchmark::State& state) {
    const Context c = context("https://app.uniswap.org");
    const json::object domain = json::parse(R"({"name":"USD Coin","version":"2","chainId":1,
        "verifyingContract":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"})")
                                    .as_object();
    const json::object message =
        json::parse(R"({"owner":"0x1111111111111111111111111111111111111111",
        "spender":"0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad","value":"1000000","nonce":"0",
        "deadline":"1765000000"})")
            .as_object();
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_typed_data("Permit", domain, message, c));
}
BENCHMARK(BM_InsightPermit);

void BM_InsightErc20Transfer(benchmark::State& state) {
    const Context c = context("https://app.uniswap.org");
    core::Transaction tx;
    tx.chain_id = 1;
    tx.to = kUsdc;
    tx.gas_limit = 60000;
    tx.max_fee_per_gas = 30'000'000'000ULL;
    tx.data = *core::hex_decode("0xa9059cbb" + word("ab5801a7d398351b8be11c439e05c5b3259aec9b") +
                                word("bebc20"));
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_transaction(tx, c));
}
BENCHMARK(BM_InsightErc20Transfer);

void BM_InsightMulticallOfApprovals(benchmark::State& state) {
    const Context c = context("https://app.uniswap.org");
    // multicall(bytes[]) of 8 unlimited approvals.
    const std::string approve =
        "095ea7b3" + word("3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad") + std::string(64, 'f');
    const std::size_t n = 8;
    std::string data = "ac9650d8" + word("20") + word(std::to_string(n));
    for (std::size_t i = 0; i < n; ++i) {
        char offset[17];
        std::snprintf(offset, sizeof offset, "%zx", n * 32 + i * 128);
        data += word(offset);
    }
    for (std::size_t i = 0; i < n; ++i)
        data += word("44") + approve + std::string(56, '0');
    core::Transaction tx;
    tx.chain_id = 1;
    tx.to = kUsdc;
    tx.gas_limit = 300000;
    tx.max_fee_per_gas = 30'000'000'000ULL;
    tx.data = *core::hex_decode("0x" + data);
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_transaction(tx, c));
}
BENCHMARK(BM_InsightMulticallOfApprovals);

// Chain facts already fetched (the daemon's second explanation, after the node answered): a
// token outside the list described by the node, code at every address, the nonce, the base fee
// and a pre-run that reverted with OpenZeppelin's ERC20InsufficientBalance, decoded each time.
class AnsweredChain final : public ChainLookup {
  public:
    std::optional<bool> has_code(const core::Address&) const override { return true; }
    std::optional<std::uint64_t> pending_nonce(const core::Address&) const override { return 0; }
    std::optional<core::U256> base_fee() const override { return core::U256(10'000'000'000ULL); }
    std::optional<TokenInfo> token(const core::Address&) const override {
        return TokenInfo{"KBT", 6, false};
    }
    std::optional<Simulation> simulation() const override { return sim; }
    Simulation sim;
};

void BM_InsightTransferWithChainFacts(benchmark::State& state) {
    Context c = context("https://app.uniswap.org");
    AnsweredChain chain;
    chain.sim.outcome = Simulation::Outcome::Reverts;
    chain.sim.revert_data = *core::hex_decode(
        "0xe450d38c" + word("1111111111111111111111111111111111111111") + word("5") + word("a"));
    c.chain = &chain;
    core::Transaction tx;
    tx.chain_id = 1;
    tx.to = *core::Address::parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");
    tx.gas_limit = 60000;
    tx.max_fee_per_gas = 30'000'000'000ULL;
    tx.data = *core::hex_decode("0xa9059cbb" + word("ab5801a7d398351b8be11c439e05c5b3259aec9b") +
                                word("bebc20"));
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_transaction(tx, c));
}
BENCHMARK(BM_InsightTransferWithChainFacts);

// The same ERC-20 approval judged against a long history: 4096 addresses from the audit log
// (AuditLog::kMaxCounterparties per chain) for approval-to-new-address and address poisoning.
void BM_InsightApprovalWithLongHistory(benchmark::State& state) {
    Context c = context("https://app.uniswap.org");
    for (int i = 0; i < 4096; ++i) {
        core::Address::Raw raw{};
        raw[0] = static_cast<std::uint8_t>(i >> 8);
        raw[1] = static_cast<std::uint8_t>(i);
        raw[19] = static_cast<std::uint8_t>(i * 13);
        c.known_addresses.emplace_back(raw);
    }
    core::Transaction tx;
    tx.chain_id = 1;
    tx.to = kUsdc;
    tx.gas_limit = 60000;
    tx.max_fee_per_gas = 30'000'000'000ULL;
    tx.data = *core::hex_decode("0x095ea7b3" + word("3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad") +
                                word("bebc20"));
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_transaction(tx, c));
}
BENCHMARK(BM_InsightApprovalWithLongHistory);

// A Uniswap V3 exactInputSingle (a tuple argument) from the router ABIs.
void BM_InsightUniswapSwap(benchmark::State& state) {
    const Context c = context("https://app.uniswap.org");
    core::Transaction tx;
    tx.chain_id = 1;
    tx.to = *core::Address::parse("0xe592427a0aece92de3edee1f18e0157c05861564");
    tx.gas_limit = 200000;
    tx.max_fee_per_gas = 30'000'000'000ULL;
    tx.data = *core::hex_decode("0x414bf389" + word("a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48") +
                                word("c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2") + word("1f4") +
                                word("ab5801a7d398351b8be11c439e05c5b3259aec9b") +
                                word("6955b900") + word("3b9aca00") + word("1") + word("0"));
    for (auto _ : state)
        benchmark::DoNotOptimize(explain_transaction(tx, c));
}
BENCHMARK(BM_InsightUniswapSwap);

void BM_InsightSiteChecksLookalike(benchmark::State& state) {
    const Settings settings;
    for (auto _ : state)
        benchmark::DoNotOptimize(site_warnings("https://xn--pensea-vqf.io", settings));
}
BENCHMARK(BM_InsightSiteChecksLookalike);

}  // namespace
}  // namespace keybridge::insight
