#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "core/eip712.h"
#include "core/transaction.h"
#include "daemon/approvals/approval.h"
#include "daemon/rpc/dispatcher.h"
#include "daemon/rpc/params.h"
#include "insight/insight.h"

namespace keybridge::daemon {

struct Services;

// One signing request, parsed once and then never changed: what the approver sees, what the
// policy judges, what the signer signs and what the audit log records are this object. Who asks
// and on which chain are fixed when it arrives; a transaction's fields are fixed once filled.
struct SigningRequest {
    enum class Kind { PersonalMessage, Digest, TypedData, TypedDataV1, Transaction };

    Kind kind = Kind::PersonalMessage;
    std::string method;  // the RPC method, as the approver and the audit log name it
    core::Address account;
    std::string origin;   // the page's origin, or approvals::kLocalClientOrigin
    std::string channel;  // rpc::Client::channel: the extension that relayed it, or empty
    bool authenticated = false;
    std::uint64_t connection_id = 0;
    std::uint64_t chain_id = 0;  // the origin's chain when the request arrived

    core::Bytes message;                                         // PersonalMessage
    std::shared_ptr<const core::eip712::HashedTypedData> typed;  // TypedData
    boost::json::value typed_v1;                                 // TypedDataV1
    std::optional<rpc::TransactionRequest> unfilled;             // Transaction, as asked
    core::Transaction tx;                                        // Transaction, once filled
    bool broadcast = false;                                      // eth_sendTransaction
    bool nonce_given = false;                                    // the dApp chose the nonce
    std::string upstream_url;                                    // the chain's node (transactions)
    // What the chain's node said about insight's questions (code at the recipient, spender or
    // verifyingContract, the pending nonce, the base fee, unknown tokens, the transaction's
    // pre-run), asked once after filling (chain_facts.h); null without a node.
    std::shared_ptr<const insight::ChainLookup> chain_facts;

    // What is signed, computed once: the EIP-191 / EIP-712 / v1 digest or the 32-byte hash;
    // transactions: the signing hash once filled.
    core::Hash32 digest{};
};

using SigningResult = tl::expected<std::shared_ptr<const SigningRequest>, rpc::RpcError>;

// What the policy judges and the approver is shown besides the decoded request itself, which
// the approval entry makes only when something shows it (ApprovalRequest::details_maker).
struct Explanation {
    std::string summary;  // the request in one sentence (insight)
    // Insight's decoded fields (a decoded call, a permit), shown beside the daemon's own.
    boost::json::object insight_details;
    std::vector<approvals::Warning> warnings;
    core::U256 value = 0;    // wei moved (policy value limits)
    core::U256 max_fee = 0;  // the most a transaction can pay in fees (policy cost limits)
};

// The steps every signing method goes through, in this order:
//   parse (the method's own, in signing_methods.cpp) → check account → fill (transactions) →
//   explain → approve (after an unlock if the vault is locked) → sign on the signer's lane →
//   send (eth_sendTransaction) → audit.
// run_signing_flow takes the parsed request and replies exactly once.
void run_signing_flow(Services& s, const std::shared_ptr<const rpc::Client>& client,
                      SigningRequest request, rpc::Reply reply);

// The origin selected `chain_id`: its signing requests made for another chain are cancelled
// wherever they are (filling, waiting for input or a decision, on a device) and answered 4901
// with data {reason: "chainChanged", requestChainId, chainId}. Requests already signed go on.
void cancel_signings_for_chain(Services& s, const std::string& origin, std::uint64_t chain_id);

// The steps up to "explain", without approving or signing (keybridge_explainRequest): replies
// with the approval object it would produce (signingHash: what would be signed) or the error
// the flow would have given.
void explain_signing_request(Services& s, const std::shared_ptr<const rpc::Client>& client,
                             SigningRequest request, rpc::Reply reply);

// The request judged by the daemon (warnings of its own) and by insight (summary, decoded
// call, permits, site and request warnings), against the
// config's insight settings and known addresses plus the vault's accounts and the audit
// history's counterparties. Made while the audit history still loads, it carries the
// audit-history-loading warning (and no policy approve rule matches it).
Explanation explain(Services& s, const SigningRequest& request);

// Runs `next` once the audit history is loaded (at once, on this thread, when it is), or on
// s.executor once it is, or after s.history_wait at the latest: the explanation then says the
// history is still loading. Never blocks the calling thread.
void after_history(Services& s, std::function<void()> next);

}  // namespace keybridge::daemon
