#pragma once

#include <functional>
#include <memory>

#include "core/transaction.h"
#include "daemon/methods/fee_suggestion.h"
#include "daemon/rpc/params.h"
#include "daemon/upstream/upstream_client.h"

namespace keybridge::daemon {

// Completes an eth_sendTransaction request from the chain's node, one call at a time:
//   nonce  ← eth_getTransactionCount(from, "pending")
//   block  ← eth_getBlockByNumber("latest"): its gasLimit and baseFeePerGas (fee_suggestion.h)
//   gas    ← eth_estimateGas(...) + 20 % margin, at most the block's gas limit
//   fees   ← EIP-1559 from the block and eth_feeHistory (suggest_dynamic_fees), or legacy
//            gasPrice from eth_gasPrice, at most gas_price_ceiling, when the chain has no base fee
// A gas above the block's gas limit, given or estimated, is refused (a node estimating that is
// broken or hostile). Fields the caller gave are kept, fees included (the approval's fee warnings
// judge them). Without an upstream, missing fields are an error naming them.
class TransactionFiller : public std::enable_shared_from_this<TransactionFiller> {
  public:
    using Done = std::function<void(tl::expected<core::Transaction, rpc::RpcError>)>;

    TransactionFiller(upstream::UpstreamClient& upstream, std::string rpc_url,
                      rpc::TransactionRequest request, core::Address from, std::uint64_t chain_id,
                      Done done);
    void start();

  private:
    void fill_nonce();
    void read_latest_block();
    void fill_gas();
    void fill_fees();
    void choose_fees();
    void fill_gas_price();
    void finish();
    void fail(rpc::RpcError error);

    upstream::UpstreamClient& upstream_;
    std::string rpc_url_;
    rpc::TransactionRequest request_;
    core::Address from_;
    std::uint64_t chain_id_;
    ChainFees chain_;
    Done done_;
};

// Builds the transaction once every field is known (type chosen from the fields given).
tl::expected<core::Transaction, rpc::RpcError> build_transaction(const rpc::TransactionRequest& r,
                                                                 std::uint64_t chain_id);

}  // namespace keybridge::daemon
