#pragma once

#include <functional>
#include <memory>

#include "core/transaction.h"
#include "daemon/rpc/params.h"
#include "daemon/upstream/upstream_client.h"

namespace keybridge::daemon {

// Completes an eth_sendTransaction request from the chain's node, one call at a time:
//   nonce  ← eth_getTransactionCount(from, "pending")
//   gas    ← eth_estimateGas(...) + 20 % margin
//   fees   ← EIP-1559 from eth_feeHistory (maxFee = 2·next base fee + tip, tip = median reward
//            of recent blocks, at least 1 gwei... unless the node reports lower), or legacy
//            gasPrice from eth_gasPrice when the chain has no base fee
// Fields the caller gave are kept. Without an upstream, missing fields are an error naming them.
class TransactionFiller : public std::enable_shared_from_this<TransactionFiller> {
  public:
    using Done = std::function<void(tl::expected<core::Transaction, rpc::RpcError>)>;

    TransactionFiller(upstream::UpstreamClient& upstream, std::string rpc_url,
                      rpc::TransactionRequest request, core::Address from, std::uint64_t chain_id,
                      Done done);
    void start();

  private:
    void fill_nonce();
    void fill_gas();
    void fill_fees();
    void finish();
    void fail(rpc::RpcError error);

    upstream::UpstreamClient& upstream_;
    std::string rpc_url_;
    rpc::TransactionRequest request_;
    core::Address from_;
    std::uint64_t chain_id_;
    Done done_;
};

// Builds the transaction once every field is known (type chosen from the fields given).
tl::expected<core::Transaction, rpc::RpcError> build_transaction(const rpc::TransactionRequest& r,
                                                                 std::uint64_t chain_id);

}  // namespace keybridge::daemon
