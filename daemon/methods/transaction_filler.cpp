#include "daemon/methods/transaction_filler.h"

#include <algorithm>

#include "daemon/approvals/transaction_cost.h"
#include "daemon/log.h"
#include "insight/abi.h"

namespace keybridge::daemon {

namespace json = boost::json;
using rpc::RpcError;

namespace {

tl::expected<core::U256, RpcError> quantity_of(const json::value& v, std::string_view what) {
    if (!v.is_string()) {
        return tl::unexpected(RpcError{rpc::kChainDisconnected,
                                       std::string(what) + ": the node answered a non-quantity",
                                       std::nullopt});
    }
    auto q = core::parse_u256_hex(v.as_string());
    if (!q)
        return tl::unexpected(RpcError{rpc::kChainDisconnected,
                                       std::string(what) + ": " + q.error().detail, std::nullopt});
    return *q;
}

RpcError node_error(std::string message) {
    return RpcError{rpc::kChainDisconnected, std::move(message), std::nullopt};
}

// The node's estimate failed because the transaction reverts (geth and anvil: code 3 with the
// revert data): the message gains the decoded reason (Error(string), Panic, a known custom
// error) so the caller reads why; code and data stay the node's, for clients that decode them.
RpcError with_revert_reason(RpcError error) {
    if (error.code != 3 || !error.data) return error;
    const json::value* v = &*error.data;
    if (v->is_object()) v = v->as_object().if_contains("data");
    if (v == nullptr || !v->is_string()) return error;
    auto bytes = core::hex_decode(std::string_view(v->as_string()));
    if (!bytes || bytes->empty()) return error;
    const auto reason = insight::abi::decode_revert(*bytes);
    if (reason.kind == insight::abi::RevertReason::Kind::Empty) return error;
    error.message =
        "the transaction would fail: " + reason.text + " (eth_estimateGas: " + error.message + ")";
    return error;
}

// For log lines: 1500000000 → "1.5 gwei".
std::string gwei_text(const core::U256& wei) {
    std::string digits = core::u256_to_decimal(wei);
    if (digits.size() < 10) digits.insert(0, 10 - digits.size(), '0');
    digits.insert(digits.size() - 9, ".");
    while (digits.back() == '0')
        digits.pop_back();
    if (digits.back() == '.') digits.pop_back();
    return digits + " gwei";
}

}  // namespace

tl::expected<core::Transaction, RpcError> build_transaction(const rpc::TransactionRequest& r,
                                                            std::uint64_t chain_id) {
    core::Transaction tx;
    const bool dynamic = r.max_fee_per_gas || r.max_priority_fee_per_gas;
    int type = r.type.value_or(dynamic ? 2 : (r.access_list ? 1 : 0));
    if (type != 2 && dynamic) {
        return tl::unexpected(
            rpc::invalid_params_error("maxFeePerGas/maxPriorityFeePerGas need type 0x2"));
    }
    if (type == 2 && r.gas_price) {
        return tl::unexpected(
            rpc::invalid_params_error("gasPrice cannot be combined with type 0x2 fees"));
    }
    std::vector<std::string> missing;
    if (!r.nonce) missing.push_back("nonce");
    if (!r.gas) missing.push_back("gas");
    if (type == 2 && (!r.max_fee_per_gas || !r.max_priority_fee_per_gas))
        missing.push_back("maxFeePerGas/maxPriorityFeePerGas");
    if (type != 2 && !r.gas_price) missing.push_back("gasPrice");
    if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing)
            list += (list.empty() ? "" : ", ") + m;
        return tl::unexpected(
            rpc::invalid_params_error("missing " + list + " (no RPC node to fill them from)"));
    }
    tx.type = static_cast<core::TxType>(type);
    tx.chain_id = chain_id;
    tx.eip155 = true;
    tx.nonce = *r.nonce;
    tx.gas_limit = *r.gas;
    tx.to = r.to;
    tx.value = r.value;
    tx.data = r.data;
    if (type == 2) {
        tx.max_fee_per_gas = *r.max_fee_per_gas;
        tx.max_priority_fee_per_gas = *r.max_priority_fee_per_gas;
        if (tx.max_priority_fee_per_gas > tx.max_fee_per_gas) {
            return tl::unexpected(
                rpc::invalid_params_error("maxPriorityFeePerGas is above maxFeePerGas"));
        }
    } else {
        tx.gas_price = *r.gas_price;
    }
    if (type != 0) tx.access_list = r.access_list.value_or(core::AccessList{});
    if (!tx.to && tx.data.empty()) {
        return tl::unexpected(rpc::invalid_params_error(
            "a transaction without 'to' creates a contract and needs data"));
    }
    return tx;
}

TransactionFiller::TransactionFiller(upstream::UpstreamClient& upstream, std::string rpc_url,
                                     rpc::TransactionRequest request, core::Address from,
                                     std::uint64_t chain_id, Done done)
    : upstream_(upstream),
      rpc_url_(std::move(rpc_url)),
      request_(std::move(request)),
      from_(from),
      chain_id_(chain_id),
      done_(std::move(done)) {}

void TransactionFiller::start() {
    if (rpc_url_.empty()) return finish();  // build_transaction names what is missing
    fill_nonce();
}

void TransactionFiller::fail(RpcError error) {
    done_(tl::unexpected(std::move(error)));
}

void TransactionFiller::fill_nonce() {
    if (request_.nonce) return read_latest_block();
    upstream_.call(rpc_url_, "eth_getTransactionCount",
                   json::array{json::string(from_.to_lower_string()), "pending"},
                   [self = shared_from_this()](rpc::Outcome out) {
                       if (!out) return self->fail(out.error());
                       auto n = quantity_of(*out, "eth_getTransactionCount");
                       if (!n) return self->fail(n.error());
                       if (*n > core::U256(UINT64_MAX))
                           return self->fail(RpcError{rpc::kChainDisconnected, "nonce out of range",
                                                      std::nullopt});
                       self->request_.nonce = static_cast<std::uint64_t>(*n);
                       self->read_latest_block();
                   });
}

// The latest block's gas limit bounds the gas, and its base fee anchors the fees: read it even
// when the caller gave every field.
void TransactionFiller::read_latest_block() {
    upstream_.call(rpc_url_, "eth_getBlockByNumber", json::array{"latest", false},
                   [self = shared_from_this()](rpc::Outcome out) {
                       if (!out) return self->fail(out.error());
                       if (auto bad = read_block(*out, self->chain_); bad)
                           return self->fail(node_error("eth_getBlockByNumber: " + *bad));
                       self->fill_gas();
                   });
}

void TransactionFiller::fill_gas() {
    const std::uint64_t limit = chain_.block_gas_limit;
    if (request_.gas) {
        if (*request_.gas > limit) {
            return fail(rpc::invalid_params_error(
                "gas " + std::to_string(*request_.gas) + " is above the latest block's gas limit " +
                std::to_string(limit) + ": no block can include this transaction"));
        }
        return fill_fees();
    }
    json::object call{{"from", from_.to_lower_string()},
                      {"value", core::u256_to_quantity(request_.value)},
                      {"data", core::hex_encode(request_.data)}};
    if (request_.to) call["to"] = request_.to->to_lower_string();
    upstream_.call(rpc_url_, "eth_estimateGas", json::array{call},
                   [self = shared_from_this(), limit](rpc::Outcome out) {
                       if (!out) return self->fail(with_revert_reason(out.error()));
                       auto g = quantity_of(*out, "eth_estimateGas");
                       if (!g) return self->fail(g.error());
                       if (*g > core::U256(limit)) {
                           return self->fail(node_error(
                               "eth_estimateGas: the node's estimate " + core::u256_to_decimal(*g) +
                               " is above the latest block's gas limit " + std::to_string(limit)));
                       }
                       // A margin: state may change between estimate and inclusion; never past what
                       // a block holds.
                       const auto estimate = static_cast<std::uint64_t>(*g);
                       self->request_.gas = std::min(estimate + estimate / 5, limit);
                       self->fill_fees();
                   });
}

void TransactionFiller::fill_fees() {
    const bool fees_known =
        request_.gas_price || (request_.max_fee_per_gas && request_.max_priority_fee_per_gas);
    // Fees the caller gave are its choice, kept as given; the approval's fee warnings judge them.
    if (fees_known) return finish();
    upstream_.call(
        rpc_url_, "eth_feeHistory",
        json::array{core::u256_to_quantity(kFeeHistoryBlocks), "latest", json::array{50}},
        [self = shared_from_this()](rpc::Outcome out) {
            // A node without eth_feeHistory: the latest block's base fee and the
            // default priority fee (London), or eth_gasPrice unchecked (before).
            if (out) read_fee_history(*out, self->chain_);
            self->choose_fees();
        });
}

void TransactionFiller::choose_fees() {
    const bool dynamic_requested = request_.max_fee_per_gas || request_.max_priority_fee_per_gas ||
                                   (request_.type && *request_.type == 2);
    const bool legacy_requested = request_.gas_price || (request_.type && *request_.type != 2);
    if (legacy_requested || !chain_.london()) {
        if (dynamic_requested) {
            return fail(rpc::invalid_params_error(
                "the chain's latest block has no base fee: give gasPrice (type 0x0), not "
                "EIP-1559 fees"));
        }
        request_.type = request_.type.value_or(request_.access_list ? 1 : 0);
        return fill_gas_price();
    }
    const DynamicFees suggested = suggest_dynamic_fees(chain_);
    const core::U256 base = planned_base_fee(chain_);
    if (chain_.next_base_fee && *chain_.next_base_fee != base) {
        log::warn("upstream", "the node's next base fee " + gwei_text(*chain_.next_base_fee) +
                                  " is out of reach from the latest block's " +
                                  gwei_text(chain_.base_fee) + "; using " + gwei_text(base));
    }
    if (!request_.max_priority_fee_per_gas) {
        request_.max_priority_fee_per_gas =
            request_.max_fee_per_gas
                ? std::min(suggested.max_priority_fee_per_gas, *request_.max_fee_per_gas)
                : suggested.max_priority_fee_per_gas;
    }
    if (!request_.max_fee_per_gas) {
        request_.max_fee_per_gas = approvals::saturating_add(approvals::saturating_add(base, base),
                                                             *request_.max_priority_fee_per_gas);
    }
    request_.type = 2;
    finish();
}

void TransactionFiller::fill_gas_price() {
    upstream_.call(
        rpc_url_, "eth_gasPrice", json::array{}, [self = shared_from_this()](rpc::Outcome out) {
            if (!out) return self->fail(out.error());
            auto price = quantity_of(*out, "eth_gasPrice");
            if (!price) return self->fail(price.error());
            // The node's suggestion, at most what recent blocks support.
            if (auto ceiling = gas_price_ceiling(self->chain_); ceiling && *price > *ceiling) {
                log::warn("upstream", "the node's gas price " + gwei_text(*price) +
                                          " is far above what recent blocks paid; using " +
                                          gwei_text(*ceiling));
                *price = *ceiling;
            }
            self->request_.gas_price = *price;
            self->finish();
        });
}

void TransactionFiller::finish() {
    done_(build_transaction(request_, chain_id_));
}

}  // namespace keybridge::daemon
