// Insight's chain questions, asked of the chain's node in parallel with a short deadline.
#include "daemon/methods/chain_facts.h"

#include <algorithm>
#include <atomic>
#include <cctype>

#include "core/text.h"
#include "daemon/rpc/params.h"
#include "insight/abi.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;

// Runs `done` once the last holder lets go: every lookup's callback holds one.
class Join {
  public:
    explicit Join(std::function<void()> done) : done_(std::move(done)) {}
    Join(const Join&) = delete;
    Join& operator=(const Join&) = delete;
    ~Join() {
        if (done_) done_();
    }

  private:
    std::function<void()> done_;
};

std::optional<core::Bytes> hex_result(const rpc::Outcome& out) {
    if (!out || !out->is_string()) return std::nullopt;
    auto bytes = core::hex_decode(std::string_view(out->as_string()));
    if (!bytes) return std::nullopt;
    return std::move(*bytes);
}

std::optional<core::U256> quantity_result(const rpc::Outcome& out) {
    if (!out || !out->is_string()) return std::nullopt;
    auto n = core::parse_u256_hex(out->as_string());
    if (!n) return std::nullopt;
    return *n;
}

// A node's error that means "this transaction fails" rather than "I cannot tell": geth and
// anvil answer code 3 with the revert data; others only say so in words.
bool is_failure(const rpc::RpcError& e) {
    if (e.code == 3) return true;
    if (e.code == rpc::kChainDisconnected) return false;
    const std::string m = core::ascii_lower(e.message);
    for (std::string_view word : {"revert", "out of gas", "insufficient funds", "invalid opcode",
                                  "gas required exceeds", "intrinsic gas", "gas too low"})
        if (m.find(word) != std::string::npos) return true;
    return false;
}

// The revert data in an error's "data": a hex string, or an object holding one under "data".
core::Bytes revert_data(const rpc::RpcError& e) {
    if (!e.data) return {};
    const json::value* v = &*e.data;
    if (v->is_object()) v = v->as_object().if_contains("data");
    if (v == nullptr || !v->is_string()) return {};
    auto bytes = core::hex_decode(std::string_view(v->as_string()));
    return bytes ? std::move(*bytes) : core::Bytes{};
}

json::object call_object(const core::Transaction& tx, const core::Address& from, bool with_gas) {
    json::object o;
    o["from"] = from.to_lower_string();
    if (tx.to) o["to"] = tx.to->to_lower_string();
    if (!tx.data.empty()) o["data"] = core::hex_encode(tx.data);
    o["value"] = core::u256_to_quantity(tx.value);
    if (with_gas && tx.gas_limit > 0) o["gas"] = rpc::quantity(tx.gas_limit);
    return o;
}

std::optional<unsigned> decimals_from(const rpc::Outcome& out) {
    auto bytes = hex_result(out);
    if (!bytes || bytes->size() != 32) return std::nullopt;
    auto n = core::u256_from_be(*bytes);
    if (!n || *n > core::U256(36)) return std::nullopt;  // no real token has more
    return static_cast<unsigned>(*n);
}

}  // namespace

// ---- ChainFacts

std::optional<bool> ChainFacts::has_code(const core::Address& address) const {
    std::lock_guard lock(mutex_);
    code_asked_.insert(address);
    if (auto it = code_.find(address); it != code_.end()) return it->second;
    return std::nullopt;
}

std::optional<std::uint64_t> ChainFacts::pending_nonce(const core::Address& account) const {
    std::lock_guard lock(mutex_);
    nonce_asked_ = account;
    return nonce_;
}

std::optional<core::U256> ChainFacts::base_fee() const {
    std::lock_guard lock(mutex_);
    base_fee_asked_ = true;
    return base_fee_;
}

std::optional<insight::TokenInfo> ChainFacts::token(const core::Address& token) const {
    std::lock_guard lock(mutex_);
    tokens_asked_.insert(token);
    if (auto it = tokens_.find(token); it != tokens_.end()) return it->second;
    return std::nullopt;
}

std::optional<insight::Simulation> ChainFacts::simulation() const {
    std::lock_guard lock(mutex_);
    simulation_asked_ = true;
    return simulation_;
}

bool ChainFacts::asked_anything() const {
    std::lock_guard lock(mutex_);
    return !code_asked_.empty() || !tokens_asked_.empty() || nonce_asked_ || base_fee_asked_ ||
           simulation_asked_;
}

void ChainFacts::set_code(const core::Address& address, bool has_code) {
    std::lock_guard lock(mutex_);
    code_[address] = has_code;
}
void ChainFacts::set_nonce(std::uint64_t nonce) {
    std::lock_guard lock(mutex_);
    nonce_ = nonce;
}
void ChainFacts::set_base_fee(const core::U256& base_fee) {
    std::lock_guard lock(mutex_);
    base_fee_ = base_fee;
}
void ChainFacts::set_token(const core::Address& address, insight::TokenInfo info) {
    std::lock_guard lock(mutex_);
    tokens_[address] = std::move(info);
}
void ChainFacts::set_simulation(insight::Simulation simulation) {
    std::lock_guard lock(mutex_);
    simulation_ = std::move(simulation);
}

// ---- answers

insight::Simulation simulation_from(const rpc::Outcome& call, const rpc::Outcome& estimate) {
    insight::Simulation sim;
    auto reverts = [&](const rpc::RpcError& e) {
        sim.outcome = insight::Simulation::Outcome::Reverts;
        sim.revert_data = revert_data(e);
        sim.node_message = e.message;
    };
    if (auto gas = quantity_result(estimate); gas && *gas <= core::U256(UINT64_MAX))
        sim.gas_needed = static_cast<std::uint64_t>(*gas);
    if (call) {
        if (!estimate && is_failure(estimate.error())) {
            reverts(estimate.error());
        } else {
            sim.outcome = insight::Simulation::Outcome::Succeeds;
        }
        return sim;
    }
    if (is_failure(call.error())) {
        reverts(call.error());
        return sim;
    }
    if (!estimate && is_failure(estimate.error())) {
        reverts(estimate.error());
        return sim;
    }
    if (estimate) {
        // The call could not run here, but the estimate did: it succeeds given enough gas
        // (insight compares the estimate with the transaction's limit).
        sim.outcome = insight::Simulation::Outcome::Succeeds;
        return sim;
    }
    sim.outcome = insight::Simulation::Outcome::Unknown;
    sim.note = "the node could not pre-run the transaction: " + call.error().message;
    return sim;
}

std::optional<std::string> token_symbol_from(const std::string& hex) {
    auto bytes = core::hex_decode(hex);
    if (!bytes) return std::nullopt;
    std::string symbol;
    if (bytes->size() == 32) {
        // bytes32, zero-padded on the right.
        symbol.assign(bytes->begin(), bytes->end());
        symbol.erase(symbol.find_last_not_of('\0') + 1);
    } else {
        static const insight::abi::Type string_tuple = *insight::abi::parse_params("symbol:string");
        auto decoded = insight::abi::decode(string_tuple, *bytes);
        if (!decoded) return std::nullopt;
        symbol = std::string(decoded->at("symbol").as_string());
    }
    // What a token says about itself is the token's word: printable ASCII only, so that a
    // look-alike made of other scripts cannot pass for a known symbol.
    if (symbol.empty() || symbol.size() > 16) return std::nullopt;
    for (unsigned char c : symbol)
        if (c < 0x21 || c > 0x7e) return std::nullopt;
    return symbol;
}

void fetch_chain_facts(upstream::UpstreamClient& upstream, const std::string& url,
                       const core::Transaction* tx, const core::Address& account,
                       std::shared_ptr<ChainFacts> facts, std::function<void()> done) {
    std::vector<core::Address> code;
    std::vector<core::Address> tokens;
    std::optional<core::Address> nonce_for;
    bool base_fee = false;
    bool simulate = false;
    {
        std::lock_guard lock(facts->mutex_);
        code.assign(facts->code_asked_.begin(), facts->code_asked_.end());
        tokens.assign(facts->tokens_asked_.begin(), facts->tokens_asked_.end());
        nonce_for = facts->nonce_asked_;
        base_fee = facts->base_fee_asked_;
        simulate = facts->simulation_asked_ && tx != nullptr;
    }
    if (code.size() > kMaxLookedUpAddresses) code.resize(kMaxLookedUpAddresses);
    if (tokens.size() > kMaxLookedUpAddresses) tokens.resize(kMaxLookedUpAddresses);
    auto join = std::make_shared<Join>(std::move(done));
    const auto timeout = kChainFactsTimeout;

    for (const core::Address& address : code) {
        upstream.call(
            url, "eth_getCode", json::array{json::string(address.to_lower_string()), "latest"},
            [facts, address, join](rpc::Outcome out) {
                if (auto bytes = hex_result(out)) facts->set_code(address, !bytes->empty());
            },
            timeout);
    }
    for (const core::Address& token : tokens) {
        // Both answers are needed; the second callback to arrive writes the token.
        struct Pair {
            std::mutex mutex;
            std::optional<unsigned> decimals;
            std::optional<std::string> symbol;
            int answered = 0;
        };
        auto pair = std::make_shared<Pair>();
        auto finish = [facts, token, pair] {
            if (++pair->answered < 2) return;
            if (pair->decimals && pair->symbol)
                facts->set_token(token, insight::TokenInfo{*pair->symbol, *pair->decimals, true});
        };
        auto ask = [&](std::string_view selector, std::function<void(const rpc::Outcome&)> take) {
            json::object call;
            call["to"] = token.to_lower_string();
            call["data"] = std::string(selector);
            upstream.call(
                url, "eth_call", json::array{std::move(call), "latest"},
                [pair, take = std::move(take), finish, join](rpc::Outcome out) {
                    std::lock_guard lock(pair->mutex);
                    take(out);
                    finish();
                },
                timeout);
        };
        ask("0x313ce567", [pair](const rpc::Outcome& out) { pair->decimals = decimals_from(out); });
        ask("0x95d89b41", [pair](const rpc::Outcome& out) {
            if (out && out->is_string())
                pair->symbol = token_symbol_from(std::string(out->as_string()));
        });
    }
    if (nonce_for) {
        upstream.call(
            url, "eth_getTransactionCount",
            json::array{json::string(nonce_for->to_lower_string()), "pending"},
            [facts, join](rpc::Outcome out) {
                if (auto n = quantity_result(out); n && *n <= core::U256(UINT64_MAX))
                    facts->set_nonce(static_cast<std::uint64_t>(*n));
            },
            timeout);
    }
    if (base_fee) {
        upstream.call(
            url, "eth_getBlockByNumber", json::array{"latest", false},
            [facts, join](rpc::Outcome out) {
                if (!out || !out->is_object()) return;
                const json::value* fee = out->as_object().if_contains("baseFeePerGas");
                if (fee != nullptr && fee->is_string())
                    if (auto n = core::parse_u256_hex(fee->as_string())) facts->set_base_fee(*n);
            },
            timeout);
    }
    if (simulate) {
        struct Runs {
            std::mutex mutex;
            std::optional<rpc::Outcome> call;
            std::optional<rpc::Outcome> estimate;
        };
        auto runs = std::make_shared<Runs>();
        auto settle = [facts, runs] {
            if (!runs->call || !runs->estimate) return;
            facts->set_simulation(simulation_from(*runs->call, *runs->estimate));
        };
        upstream.call(
            url, "eth_call", json::array{call_object(*tx, account, true), "pending"},
            [runs, settle, join](rpc::Outcome out) {
                std::lock_guard lock(runs->mutex);
                runs->call = std::move(out);
                settle();
            },
            timeout);
        upstream.call(
            url, "eth_estimateGas", json::array{call_object(*tx, account, false), "pending"},
            [runs, settle, join](rpc::Outcome out) {
                std::lock_guard lock(runs->mutex);
                runs->estimate = std::move(out);
                settle();
            },
            timeout);
    }
}

}  // namespace keybridge::daemon
