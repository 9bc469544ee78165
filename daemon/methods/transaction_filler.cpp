#include "daemon/methods/transaction_filler.h"

#include <algorithm>

namespace keybridge::daemon {

namespace json = boost::json;
using rpc::RpcError;

namespace {

const core::U256 kMinTip = 1'000'000'000;  // 1 gwei, a floor when the node suggests nothing

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
    if (request_.nonce) return fill_gas();
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
                       self->fill_gas();
                   });
}

void TransactionFiller::fill_gas() {
    if (request_.gas) return fill_fees();
    json::object call{{"from", from_.to_lower_string()},
                      {"value", core::u256_to_quantity(request_.value)},
                      {"data", core::hex_encode(request_.data)}};
    if (request_.to) call["to"] = request_.to->to_lower_string();
    upstream_.call(rpc_url_, "eth_estimateGas", json::array{call},
                   [self = shared_from_this()](rpc::Outcome out) {
                       if (!out) return self->fail(out.error());
                       auto g = quantity_of(*out, "eth_estimateGas");
                       if (!g) return self->fail(g.error());
                       if (*g > core::U256(UINT64_MAX / 2))
                           return self->fail(RpcError{rpc::kChainDisconnected,
                                                      "gas estimate out of range", std::nullopt});
                       // A margin: state may change between estimate and inclusion.
                       const auto estimate = static_cast<std::uint64_t>(*g);
                       self->request_.gas = estimate + estimate / 5;
                       self->fill_fees();
                   });
}

void TransactionFiller::fill_fees() {
    const bool legacy_requested = request_.gas_price || (request_.type && *request_.type != 2);
    const bool fees_known =
        request_.gas_price || (request_.max_fee_per_gas && request_.max_priority_fee_per_gas);
    if (fees_known) return finish();
    if (legacy_requested) {
        upstream_.call(rpc_url_, "eth_gasPrice", json::array{},
                       [self = shared_from_this()](rpc::Outcome out) {
                           if (!out) return self->fail(out.error());
                           auto price = quantity_of(*out, "eth_gasPrice");
                           if (!price) return self->fail(price.error());
                           self->request_.gas_price = *price;
                           self->finish();
                       });
        return;
    }
    upstream_.call(rpc_url_, "eth_feeHistory", json::array{"0x5", "latest", json::array{50}},
                   [self = shared_from_this()](rpc::Outcome out) {
                       std::optional<core::U256> next_base;
                       std::vector<core::U256> tips;
                       if (out && out->is_object()) {
                           const json::object& o = out->as_object();
                           if (const json::value* bases = o.if_contains("baseFeePerGas");
                               bases && bases->is_array() && !bases->as_array().empty()) {
                               auto b = quantity_of(bases->as_array().back(), "baseFeePerGas");
                               if (b && *b != 0) next_base = *b;
                           }
                           if (const json::value* rewards = o.if_contains("reward");
                               rewards && rewards->is_array()) {
                               for (const json::value& r : rewards->as_array()) {
                                   if (r.is_array() && !r.as_array().empty()) {
                                       if (auto t = quantity_of(r.as_array()[0], "reward"))
                                           tips.push_back(*t);
                                   }
                               }
                           }
                       }
                       if (!next_base) {
                           // No base fee: a pre-London chain (or a node without eth_feeHistory).
                           self->request_.type = self->request_.access_list ? 1 : 0;
                           return self->fill_fees();
                       }
                       core::U256 tip = kMinTip;
                       if (!tips.empty()) {
                           std::sort(tips.begin(), tips.end());
                           tip = std::max(tips[tips.size() / 2], core::U256(1));
                       }
                       if (!self->request_.max_priority_fee_per_gas)
                           self->request_.max_priority_fee_per_gas = tip;
                       if (!self->request_.max_fee_per_gas) {
                           self->request_.max_fee_per_gas =
                               *next_base * 2 + *self->request_.max_priority_fee_per_gas;
                       }
                       self->request_.type = 2;
                       self->finish();
                   });
}

void TransactionFiller::finish() {
    done_(build_transaction(request_, chain_id_));
}

}  // namespace keybridge::daemon
