#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "core/transaction.h"
#include "daemon/upstream/upstream_client.h"
#include "insight/insight.h"

namespace keybridge::daemon {

// Insight's chain lookups answered by the chain's node. Used twice per request: first recording
// (every question insight asks while explaining is noted and answered "unknown"), then, once
// fetch_chain_facts has asked the node, answering from what it said. Insight itself never does
// I/O; this is where its questions become JSON-RPC calls:
//   has_code       eth_getCode(address, "latest")            (recipient, spender, operator,
//                                                              verifyingContract)
//   pending_nonce  eth_getTransactionCount(account, "pending")
//   base_fee       eth_getBlockByNumber("latest").baseFeePerGas
//   token          eth_call decimals() and symbol() on the token ("latest")
//   simulation     eth_call and eth_estimateGas of the transaction against "pending"
// Thread-safe (the answers arrive on the network threads).
class ChainFacts final : public insight::ChainLookup {
  public:
    std::optional<bool> has_code(const core::Address& address) const override;
    std::optional<std::uint64_t> pending_nonce(const core::Address& account) const override;
    std::optional<core::U256> base_fee() const override;
    std::optional<insight::TokenInfo> token(const core::Address& token) const override;
    std::optional<insight::Simulation> simulation() const override;

    // Whether insight asked anything while recording.
    bool asked_anything() const;

    // The node's answers (set by fetch_chain_facts; public for tests).
    void set_code(const core::Address& address, bool has_code);
    void set_nonce(std::uint64_t nonce);
    void set_base_fee(const core::U256& base_fee);
    void set_token(const core::Address& address, insight::TokenInfo info);
    void set_simulation(insight::Simulation simulation);

  private:
    friend void fetch_chain_facts(upstream::UpstreamClient&, const std::string&,
                                  const core::Transaction*, const core::Address&,
                                  std::shared_ptr<ChainFacts>, std::function<void()>);
    mutable std::mutex mutex_;
    // Questions (recorded whatever the answers).
    mutable std::set<core::Address> code_asked_;
    mutable std::set<core::Address> tokens_asked_;
    mutable std::optional<core::Address> nonce_asked_;
    mutable bool base_fee_asked_ = false;
    mutable bool simulation_asked_ = false;
    // Answers.
    std::map<core::Address, bool> code_;
    std::map<core::Address, insight::TokenInfo> tokens_;
    std::optional<std::uint64_t> nonce_;
    std::optional<core::U256> base_fee_;
    std::optional<insight::Simulation> simulation_;
};

// How long each lookup may take: the lookups run in parallel, so a node that does not answer
// delays the explanation by this much at most, and the request goes on without chain facts.
inline constexpr std::chrono::milliseconds kChainFactsTimeout{2500};
// At most this many addresses are looked up per request (code and token questions each).
inline constexpr std::size_t kMaxLookedUpAddresses = 8;

// Asks the node what `recorded` noted (its questions, from a recording explanation) and writes
// the answers into `facts`; `done` runs once every call has answered or failed. `tx`: the
// transaction to pre-run (nullptr for other requests). Never fails: what the node cannot answer
// stays unknown, and a simulation that could not run says why (Simulation::note).
void fetch_chain_facts(upstream::UpstreamClient& upstream, const std::string& url,
                       const core::Transaction* tx, const core::Address& account,
                       std::shared_ptr<ChainFacts> facts, std::function<void()> done);

// Turns the node's answers to eth_call / eth_estimateGas of a transaction into a simulation.
// Exposed for tests.
insight::Simulation simulation_from(const rpc::Outcome& call, const rpc::Outcome& estimate);
// symbol() may return a string or (old tokens such as MKR) a bytes32. Exposed for tests.
std::optional<std::string> token_symbol_from(const std::string& hex_result);

}  // namespace keybridge::daemon
