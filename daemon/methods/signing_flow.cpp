// The one signing flow: check account → fill → explain → approve → sign on the lane → send →
// audit. Each step is a named function; the request is an immutable snapshot from the moment it
// is filled, and its origin's chain switching cancels it (PendingSignings).
#include "daemon/methods/signing_flow.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <unicode/utf8.h>

#include "daemon/approvals/transaction_cost.h"
#include "daemon/approvals/warning_catalog.h"
#include "daemon/log.h"
#include "daemon/methods/approval_prompter.h"
#include "daemon/methods/chain_facts.h"
#include "daemon/methods/transaction_filler.h"
#include "daemon/services.h"
#include "insight/insight.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;
using Shared = std::shared_ptr<const SigningRequest>;
// The approval entry of a request, made once and shared by the steps: copying its decoded
// details (a whole typed-data document) at each step cost more than the rest of a personal_sign
// besides the signature.
using Approval = std::shared_ptr<const approvals::ApprovalRequest>;
using Ticket = PendingSignings::TicketPtr;

// 4901: the origin selected another chain while its request was pending (EIP-1193: the
// provider is not connected to the chain the request was made for). `data` says which chains.
RpcError chain_changed_error(std::uint64_t made_for, std::uint64_t now) {
    return RpcError{rpc::kChainDisconnected,
                    "the chain changed while the request was pending: it was made for chain " +
                        std::to_string(made_for) + " and the origin now uses chain " +
                        std::to_string(now) + "; it was cancelled and nothing was signed",
                    json::value(json::object{{"reason", "chainChanged"},
                                             {"requestChainId", rpc::quantity(made_for)},
                                             {"chainId", rpc::quantity(now)}})};
}

RpcError chain_changed_error(const PendingSignings::Ticket& ticket) {
    return chain_changed_error(ticket.chain_id(), ticket.switched_to());
}

// Ends a cancelled request's entry in the approval queue if it waits for a decision or input.
void withdraw_for_chain_change(Services& s, std::uint64_t approval_id) {
    s.approvals.withdraw(approval_id,
                         core::Error{core::ErrorCode::Disconnected,
                                     "the chain changed while the request was pending"},
                         "chain changed");
}

// ---- step: check account

enum class Readiness { Ready, NeedsUnlock };

// A request for an account whose device is not connected fails at once (4900, with what to
// connect); approvers hear of it too, as an "unavailable" event on keybridge_approvals, so the
// person at the approver learns which device to plug in (docs/RPC.md).
void announce_unavailable(Services& s, const SigningRequest& r, const core::Error& why) {
    const json::object event{{"type", "unavailable"},
                             {"request", json::object{{"origin", r.origin},
                                                      {"method", r.method},
                                                      {"account", r.account.to_checksum_string()},
                                                      {"chainId", rpc::quantity(r.chain_id)}}},
                             {"message", why.detail}};
    s.events.publish(EventHub::Topic::Approvals, "", event);
    log::info("devices", r.method + " for " + r.account.to_checksum_string() + " from " + r.origin +
                             " refused: " + why.detail);
}

// The account must be connected to this caller and routed to a signer. A locked vault is not an
// error here: the request waits for an unlock as a stage of its approval.
tl::expected<Readiness, RpcError> check_account(Services& s, const rpc::Client& client,
                                                const SigningRequest& request, bool announce) {
    const core::Address& account = request.account;
    // Visible to this caller: granted to it, and still an account of the vault (a route).
    auto not_connected = [&] {
        return tl::unexpected(
            RpcError{rpc::kUnauthorized,
                     "the account " + account.to_checksum_string() +
                         " is not connected to this origin (call eth_requestAccounts)",
                     std::nullopt});
    };
    if (!s.permissions.granted(client.principal(), account)) return not_connected();
    auto route = s.signers.route(account);
    if (!route && route.error().code == core::ErrorCode::NotFound) return not_connected();
    core::Status ready = route ? route->signer->ready(route->key) : core::fail(route.error());
    if (ready) return Readiness::Ready;
    if (ready.error().code == core::ErrorCode::VaultLocked) return Readiness::NeedsUnlock;
    if (ready.error().code == core::ErrorCode::DeviceNotFound && s.devices != nullptr &&
        ready.error().detail.find("(trezor:") != std::string::npos) {
        // A Trezor plugged in but in bootloader mode serves nothing: say that rather than
        // "connect your Trezor".
        const std::string mode = s.devices->blocked_by_mode(core::SignerFamily::Trezor);
        if (!mode.empty())
            ready = core::fail(core::ErrorCode::DeviceNotFound, mode + ". " + ready.error().detail);
    }
    if (announce && ready.error().code == core::ErrorCode::DeviceNotFound)
        announce_unavailable(s, request, ready.error());
    return tl::unexpected(rpc::to_rpc_error(ready.error()));
}

// ---- step: fill (transactions)

insight::Explanation insight_explanation(Services& s, const SigningRequest& r,
                                         const insight::ChainLookup* chain);

// Insight's questions about the chain, answered by the chain's node: insight explains the
// request once with a recording lookup, the node is asked what it wanted to know (in parallel,
// each call at most kChainFactsTimeout), and the request keeps the answers for the explanation
// the approver sees. Without a node, or when insight asks nothing, no call is made.
void look_up_chain_facts(Services& s, const std::shared_ptr<SigningRequest>& request,
                         std::function<void()> then) {
    std::string url = request->upstream_url;
    if (url.empty()) {
        auto config = s.chains.find(request->chain_id);
        if (config) url = config->rpc_url;
    }
    if (url.empty()) return then();
    auto facts = std::make_shared<ChainFacts>();
    (void)insight_explanation(s, *request, facts.get());
    if (!facts->asked_anything()) return then();
    const core::Transaction* tx =
        request->kind == SigningRequest::Kind::Transaction ? &request->tx : nullptr;
    fetch_chain_facts(s.upstream, url, tx, request->account, facts,
                      [request, facts, then = std::move(then)] {
                          request->chain_facts = facts;
                          then();
                      });
}

void fill(Services& s, std::shared_ptr<SigningRequest> request,
          std::function<void(tl::expected<Shared, RpcError>)> done) {
    if (request->kind != SigningRequest::Kind::Transaction) {
        return look_up_chain_facts(s, request, [request, done = std::move(done)] {
            done(Shared(request));  // from here on the request never changes
        });
    }
    auto filler = std::make_shared<TransactionFiller>(
        s.upstream, request->upstream_url, *request->unfilled, request->account, request->chain_id,
        [&s, request, done = std::move(done)](tl::expected<core::Transaction, RpcError> tx) {
            if (!tx) return done(tl::unexpected(tx.error()));
            request->tx = std::move(*tx);
            request->digest = core::signing_hash(request->tx);
            look_up_chain_facts(s, request, [request, done] {
                done(Shared(request));  // from here on the request never changes
            });
        });
    filler->start();
}

// ---- step: explain

bool is_utf8_text(core::ByteView bytes) {
    for (std::size_t i = 0; i < bytes.size();) {
        UChar32 c = 0;
        U8_NEXT(bytes.data(), i, bytes.size(), c);
        if (c < 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) return false;
    }
    return true;
}

void explain_message(const SigningRequest& r, Explanation& out) {
    if (r.message.size() == 32 && !is_utf8_text(r.message)) {
        out.warnings.push_back(approvals::warnings::binary_32_byte_message());
    }
}

void explain_typed(const SigningRequest& r, Explanation& out) {
    const auto& typed = r.typed->typed();
    if (const json::value* chain = typed.domain().if_contains("chainId")) {
        auto id = core::parse_u256(chain->is_string() ? std::string(chain->as_string())
                                                      : json::serialize(*chain));
        if (id && *id != core::U256(r.chain_id)) {
            out.warnings.push_back(approvals::warnings::typed_data_chain_mismatch(
                core::u256_to_decimal(*id), r.chain_id));
        }
    }
}

void explain_transaction(const SigningRequest& r, Explanation& out) {
    out.value = r.tx.value;
    if (!r.tx.to) out.warnings.push_back(approvals::warnings::contract_creation());
    out.max_fee = approvals::max_fee_of(r.tx);
    for (auto& w : approvals::fee_warnings(out.value, out.max_fee))
        out.warnings.push_back(std::move(w));
}

// The request decoded for the approver: the daemon's fields (message text and hex, the
// typed-data tree, the transaction's fields), then insight's beside them (the daemon's keys win).
// A function of the immutable request only: equal every time it is made.
json::object decoded_details(const SigningRequest& r, const json::object& insight_details) {
    json::object details;
    switch (r.kind) {
        case SigningRequest::Kind::PersonalMessage: {
            const bool utf8 = is_utf8_text(r.message);
            details["length"] = r.message.size();
            details["messageHex"] = core::hex_encode(r.message);
            details["message"] = utf8 ? json::value(std::string(r.message.begin(), r.message.end()))
                                      : json::value(nullptr);
            break;
        }
        case SigningRequest::Kind::Digest:
            details["hash"] = core::hex_encode(r.digest);
            break;
        case SigningRequest::Kind::TypedData: {
            const auto& typed = r.typed->typed();
            details["primaryType"] = typed.primary_type();
            details["domain"] = typed.domain();
            details["message"] = typed.message();
            break;
        }
        case SigningRequest::Kind::TypedDataV1:
            details["fields"] = r.typed_v1;
            break;
        case SigningRequest::Kind::Transaction:
            details = rpc::transaction_json(r.tx, r.account);
            details["maxFeeWei"] = core::u256_to_decimal(approvals::max_fee_of(r.tx));
            break;
    }
    for (const auto& [key, value] : insight_details)
        if (!details.contains(key)) details[key] = value;
    return details;
}

approvals::ApprovalRequest approval_for(const Shared& request, Explanation explanation) {
    const SigningRequest& r = *request;
    approvals::ApprovalRequest a;
    a.origin = r.origin;
    a.channel = r.channel;
    a.authenticated = r.authenticated;
    a.connection_id = r.connection_id;
    a.method = r.method;
    a.account = r.account;
    a.chain_id = r.chain_id;
    a.value = explanation.value;
    a.max_fee = explanation.max_fee;
    a.signing_hash = r.digest;
    if (r.kind == SigningRequest::Kind::Transaction)
        a.counterparties = insight::counterparties(r.tx);
    a.summary = std::move(explanation.summary);
    a.details_maker = [request, extra = std::move(explanation.insight_details)] {
        return decoded_details(*request, extra);
    };
    a.warnings = std::move(explanation.warnings);
    return a;
}

// ---- step: sign on the signer's lane

struct Signed {
    json::value result;              // what the caller gets (hex signature or raw transaction)
    core::Hash32 audited{};          // the digest (or transaction hash) the audit log records
    std::optional<core::Bytes> raw;  // a signed transaction, for broadcasting
};
using SignOutcome = tl::expected<Signed, RpcError>;

SignOutcome call_signer(core::Signer& signer, const core::SignContext& context,
                        const core::KeyRef& key, const SigningRequest& r) {
    auto signature_reply = [&](core::Result<core::RecoverableSignature> sig) -> SignOutcome {
        if (!sig) return tl::unexpected(rpc::to_rpc_error(sig.error()));
        return Signed{json::value(core::hex_encode(sig->to_rsv())), r.digest, std::nullopt};
    };
    switch (r.kind) {
        case SigningRequest::Kind::PersonalMessage:
            // r.digest is the message's EIP-191 hash (parse_personal_sign): the software
            // signer signs it as is, a device gets the message.
            return signature_reply(
                signer.sign_personal_message_hashed(context, key, r.message, r.digest));
        case SigningRequest::Kind::Digest:
            return signature_reply(signer.sign_digest(context, key, r.digest));
        case SigningRequest::Kind::TypedData:
            return signature_reply(signer.sign_typed_data(context, key, *r.typed));
        case SigningRequest::Kind::TypedDataV1:
            return signature_reply(signer.sign_typed_data_v1(context, key, r.typed_v1));
        case SigningRequest::Kind::Transaction: {
            auto signed_tx = signer.sign_transaction(context, key, r.tx);
            if (!signed_tx) return tl::unexpected(rpc::to_rpc_error(signed_tx.error()));
            return Signed{json::value(core::hex_encode(signed_tx->raw)), signed_tx->hash,
                          signed_tx->raw};
        }
    }
    return tl::unexpected(RpcError{rpc::kInternalError, "unknown request kind", std::nullopt});
}

// A stop token that fires when either of two does: the client leaving, or a chain switch that
// cancelled the request.
class EitherStop {
  public:
    EitherStop(const std::stop_token& a, const std::stop_token& b)
        : a_(a, Fire{&source_}), b_(b, Fire{&source_}) {}
    std::stop_token token() const { return source_.get_token(); }

  private:
    struct Fire {
        std::stop_source* source;
        void operator()() const { source->request_stop(); }
    };
    std::stop_source source_;  // before the callbacks, which may fire while constructed
    std::stop_callback<Fire> a_;
    std::stop_callback<Fire> b_;
};

// Runs the signer on its lane. A blocking signer's lane has its own thread: the outcome is
// posted back to the network threads. The software signer's lane runs inline (no thread hop)
// unless the network thread is saturated; on its worker, `done` runs there (what it calls —
// approvals, audit, tickets, the send queue, reply, upstream — is thread-safe).
// Signed is the point of no return: a chain switch cancels the request only until then.
void sign_on_lane(Services& s, Shared request, Approval approval, Ticket ticket,
                  std::function<void(SignOutcome)> done) {
    auto route = s.signers.check(request->account);
    if (!route) return done(tl::unexpected(rpc::to_rpc_error(route.error())));
    const bool hop = route->signer->info().blocking;
    // The approval's audit line may wait for the signature's only while both are written here.
    if (!route->lane->always_inline()) s.approvals.release_held_audit();
    auto stop = std::make_shared<EitherStop>(s.stops.token_for(request->connection_id),
                                             ticket->stop_token());
    // The job holds the signer, not the lane: a lane must never own itself through its jobs.
    route->lane->run(
        stop->token(), [&s, request, approval, ticket, stop, signer = route->signer,
                        key = route->key, hop, done = std::move(done)](std::stop_token token) {
            SignOutcome outcome;
            if (ticket->cancelled()) {
                outcome = tl::unexpected(chain_changed_error(*ticket));
            } else if (token.stop_requested()) {
                outcome = tl::unexpected(RpcError{rpc::kDisconnected,
                                                  "the request was cancelled before it was signed",
                                                  std::nullopt});
            } else {
                ApprovalPrompter prompter(s.approvals, *approval, token);
                const core::SignContext context{token, prompter};
                outcome = call_signer(*signer, context, key, *request);
                // A device stopped by the switch: say why.
                if (!outcome && ticket->cancelled())
                    outcome = tl::unexpected(chain_changed_error(*ticket));
            }
            if (!hop) return done(std::move(outcome));
            boost::asio::post(s.executor, [done, outcome = std::move(outcome)]() mutable {
                done(std::move(outcome));
            });
        });
}

// ---- step: audit (and the end of the approval entry's life)

void finish_signed(Services& s, const approvals::ApprovalRequest& approval, const Signed& out) {
    s.approvals.record_signed(approval, out.audited);
    s.approvals.complete(approval.id);
}

void approve(Services& s, Shared request, Approval approval, Ticket ticket, rpc::Reply reply);

// ---- step: send (eth_sendTransaction)

// The node's nonce moved past the approved one while the transaction waited (another
// transaction of this account was sent meanwhile: a dApp's "approve, then swap"). Nothing
// approved is ever changed silently: the transaction with the new nonce is a new request,
// shown (with a warning) and decided again.
void ask_again_with_nonce(Services& s, const Shared& approved, std::uint64_t nonce, Ticket ticket,
                          rpc::Reply reply) {
    auto renewed = std::make_shared<SigningRequest>(*approved);
    renewed->tx.nonce = nonce;
    renewed->digest = core::signing_hash(renewed->tx);
    log::info("rpc", "nonce " + std::to_string(approved->tx.nonce) +
                         " was taken meanwhile; asking again with " + std::to_string(nonce));
    Explanation explanation = explain(s, *renewed);
    explanation.warnings.push_back(approvals::warnings::nonce_changed(approved->tx.nonce, nonce));
    auto entry = approval_for(renewed, std::move(explanation));
    entry.id = s.approvals.reserve_id();
    Approval approval = std::make_shared<const approvals::ApprovalRequest>(std::move(entry));
    if (!s.pending_signings.attach_approval(ticket, approval->id))
        return reply(tl::unexpected(chain_changed_error(*ticket)));
    approve(s, std::move(renewed), std::move(approval), std::move(ticket), std::move(reply));
}

// Signs and broadcasts one transaction of this account at a time, exactly as approved. The
// nonce filled before the approval may since have been taken by another transaction approved
// meanwhile: unless the dApp chose it, the node is asked again once the previous transaction has
// reached it, and a nonce that moved forward is asked about again (ask_again_with_nonce).
void sign_and_send(Services& s, Shared request, Approval approval, Ticket ticket,
                   rpc::Reply reply) {
    s.approvals.release_held_audit();  // the signature comes after a call to the node
    const std::string key =
        std::to_string(request->chain_id) + ":" + request->account.to_lower_string();
    s.send_queue.run(key, [&s, request, approval, ticket, reply](std::function<void()> done) {
        if (ticket->cancelled()) {
            done();
            s.approvals.complete(approval->id);
            return reply(tl::unexpected(chain_changed_error(*ticket)));
        }
        auto send = [&s, request, approval, ticket, reply, done] {
            sign_on_lane(s, request, approval, ticket,
                         [&s, request, approval, reply, done](SignOutcome out) {
                             if (!out) {
                                 done();
                                 s.approvals.complete(approval->id);
                                 return reply(tl::unexpected(out.error()));
                             }
                             finish_signed(s, *approval, *out);
                             const std::string hash = core::hex_encode(out->audited);
                             const json::array params{json::string(core::hex_encode(*out->raw))};
                             s.upstream.call(request->upstream_url, "eth_sendRawTransaction",
                                             params, [reply, hash, done](rpc::Outcome sent) {
                                                 done();
                                                 if (!sent)
                                                     return reply(tl::unexpected(sent.error()));
                                                 reply(json::value(hash));
                                             });
                         });
        };
        if (request->nonce_given) return send();
        const json::array params{json::string(request->account.to_lower_string()), "pending"};
        s.upstream.call(
            request->upstream_url, "eth_getTransactionCount", params,
            [&s, request, approval, ticket, reply, done, send](rpc::Outcome out) {
                // Without an answer send as approved: the node will say if the nonce is stale.
                std::optional<std::uint64_t> moved;
                if (out && out->is_string()) {
                    auto n = core::parse_u256_hex(out->as_string());
                    if (n && *n > core::U256(request->tx.nonce) && *n <= core::U256(UINT64_MAX))
                        moved = static_cast<std::uint64_t>(*n);
                }
                if (!moved) return send();
                done();  // the account's other transactions need not wait for the person
                s.approvals.complete(approval->id);
                ask_again_with_nonce(s, request, *moved, ticket, reply);
            });
    });
}

// ---- step: approve, then sign

void sign_approved(Services& s, Shared request, Approval approval, Ticket ticket,
                   rpc::Reply reply) {
    if (request->kind == SigningRequest::Kind::Transaction && request->broadcast)
        return sign_and_send(s, std::move(request), std::move(approval), std::move(ticket),
                             std::move(reply));
    sign_on_lane(s, request, approval, ticket, [&s, approval, reply](SignOutcome out) {
        if (!out) {
            s.approvals.complete(approval->id);
            return reply(tl::unexpected(out.error()));
        }
        // The reply waits for the signature's audit line, which on a network thread is written
        // at the end of the turn with the lines of the other signatures made in it.
        s.approvals.record_signed_then(
            *approval, out->audited,
            [&s, approval, reply, result = std::move(out->result)]() mutable {
                s.approvals.complete(approval->id);
                reply(std::move(result));
            });
    });
}

void approve(Services& s, Shared request, Approval approval, Ticket ticket, rpc::Reply reply) {
    const std::uint64_t id = approval->id;
    s.approvals.submit_tracked(
        *approval, [&s, request, approval, ticket, reply](core::Status status) mutable {
            if (ticket->cancelled()) {
                s.approvals.complete(approval->id);  // approved just before the switch
                return reply(tl::unexpected(chain_changed_error(*ticket)));
            }
            if (!status) return reply(tl::unexpected(rpc::to_rpc_error(status.error())));
            sign_approved(s, request, approval, ticket, reply);
        });
    // A switch whose withdrawal ran before the entry was queued.
    if (ticket->cancelled()) withdraw_for_chain_change(s, id);
}

// A locked vault: the request waits at an "unlock" stage (keybridge_respond with the password,
// or keybridge unlock), then goes on to its approval. During the --password-file unlock at start
// the same stage is released by that unlock.
void unlock_then_approve(Services& s, Shared request, Approval approval, Ticket ticket,
                         rpc::Reply reply) {
    auto on_answer = [&s](const json::object& answer, std::function<void(core::Status)> done) {
        const json::value* password = answer.if_contains("password");
        if (password == nullptr || !password->is_string()) {
            return done(core::fail(core::ErrorCode::InvalidArgument,
                                   "the answer must be {\"password\": \"…\"}"));
        }
        unlock_vault(s, core::SecretBuffer::copy_of(std::string_view(password->as_string())),
                     std::move(done));  // success releases every request at this stage
    };
    const std::string note = s.startup_unlock_pending.load()
                                 ? "keybridged is unlocking the vault (--password-file)"
                                 : "the vault is locked: unlock it to continue";
    const std::uint64_t id = approval->id;
    s.approvals.await_input(*approval, "unlock", note, std::move(on_answer),
                            [&s, request, approval, ticket, reply](core::Status status) {
                                if (ticket->cancelled())
                                    return reply(tl::unexpected(chain_changed_error(*ticket)));
                                if (!status)
                                    return reply(tl::unexpected(rpc::to_rpc_error(status.error())));
                                // Unlocked: the key may still be missing (an account imported after
                                // the unlock).
                                if (auto ready = s.signers.check(request->account); !ready)
                                    return reply(tl::unexpected(rpc::to_rpc_error(ready.error())));
                                approve(s, request, approval, ticket, reply);
                            });
    if (ticket->cancelled()) withdraw_for_chain_change(s, id);
}

// check → fill → explain, shared by the flow and keybridge_explainRequest.
// `announce`: a missing device is told to approvers (not for keybridge_explainRequest).
void prepare(Services& s, const std::shared_ptr<const rpc::Client>& client, SigningRequest request,
             bool announce,
             std::function<void(tl::expected<std::pair<Shared, Readiness>, RpcError>)> done) {
    auto readiness = check_account(s, *client, request, announce);
    if (!readiness) return done(tl::unexpected(readiness.error()));
    auto owned = std::make_shared<SigningRequest>(std::move(request));
    fill(s, owned, [done, ready = *readiness](tl::expected<Shared, RpcError> filled) {
        if (!filled) return done(tl::unexpected(filled.error()));
        done(std::pair{*filled, ready});
    });
}

approvals::Severity to_severity(insight::Severity severity) {
    switch (severity) {
        case insight::Severity::Info:
            return approvals::Severity::Info;
        case insight::Severity::Warning:
            return approvals::Severity::Warning;
        case insight::Severity::Danger:
            return approvals::Severity::Danger;
    }
    return approvals::Severity::Warning;
}

// Insight's explanation of the request, judged with `chain` as its chain lookup (null: none).
insight::Explanation insight_explanation(Services& s, const SigningRequest& r,
                                         const insight::ChainLookup* chain) {
    // Held for the whole explanation: a chain change meanwhile makes new settings.
    const std::shared_ptr<const insight::Settings> settings = s.insight_settings();
    insight::Context context;
    context.chain_id = r.chain_id;
    context.origin = r.origin;
    context.account = r.account;
    context.now = static_cast<std::int64_t>(std::time(nullptr));
    context.settings = settings.get();
    context.known_addresses = s.config.known_addresses;
    for (const core::Address& own : s.all_accounts())
        context.known_addresses.push_back(own);
    if (const approvals::AuditLog* audit = s.approvals.audit_log()) {
        for (const core::Address& used : audit->counterparties(r.chain_id))
            context.known_addresses.push_back(used);
    }
    context.chain = chain;
    insight::Explanation seen;
    switch (r.kind) {
        case SigningRequest::Kind::PersonalMessage:
            seen = insight::explain_message(r.message, context);
            break;
        case SigningRequest::Kind::Digest:
            seen = insight::explain_digest(r.digest, context);
            break;
        case SigningRequest::Kind::TypedData: {
            const auto& typed = r.typed->typed();
            seen = insight::explain_typed_data(typed.primary_type(), typed.domain(),
                                               typed.message(), context);
            break;
        }
        case SigningRequest::Kind::TypedDataV1:
            seen.summary = "Sign legacy typed data (eth_signTypedData v1)";
            insight::add_site_warnings(seen, context);
            break;
        case SigningRequest::Kind::Transaction:
            seen = insight::explain_transaction(r.tx, context);
            break;
    }
    return seen;
}

// Insight's view of the request: summary, decoded details and warnings, merged into what the
// daemon decoded itself (its keys and warnings win: the approval format does not change).
void add_insight(Services& s, const SigningRequest& r, Explanation& out) {
    insight::Explanation seen = insight_explanation(s, r, r.chain_facts.get());
    out.summary = std::move(seen.summary);
    out.insight_details = std::move(seen.details);
    for (insight::Warning& w : seen.warnings) {
        if (std::any_of(out.warnings.begin(), out.warnings.end(),
                        [&](const approvals::Warning& have) { return have.id == w.id; }))
            continue;
        out.warnings.push_back(approvals::Warning{std::move(w.id), to_severity(w.severity),
                                                  std::move(w.title), std::move(w.detail)});
    }
}

}  // namespace

Explanation explain(Services& s, const SigningRequest& r) {
    Explanation out;
    // Read before the history itself (insight_explanation): a load finishing in between costs
    // a needless warning, never a missing one.
    const approvals::AuditLog* audit = s.approvals.audit_log();
    const bool history_partial = audit != nullptr && !audit->history_loaded();
    switch (r.kind) {
        case SigningRequest::Kind::PersonalMessage:
            explain_message(r, out);
            break;
        case SigningRequest::Kind::Digest:
            out.warnings.push_back(approvals::warnings::eth_sign_opaque_hash());
            break;
        case SigningRequest::Kind::TypedData:
            explain_typed(r, out);
            break;
        case SigningRequest::Kind::TypedDataV1:
            break;
        case SigningRequest::Kind::Transaction:
            explain_transaction(r, out);
            break;
    }
    add_insight(s, r, out);
    if (history_partial) out.warnings.push_back(approvals::warnings::audit_history_loading());
    return out;
}

void after_history(Services& s, std::function<void()> next) {
    const approvals::AuditLog* audit = s.approvals.audit_log();
    if (audit == nullptr || audit->history_loaded()) return next();
    // Whichever comes first, the load or the deadline, continues the request on the executor;
    // the other finds `done` set.
    struct Wait {
        explicit Wait(const boost::asio::any_io_executor& executor) : timer(executor) {}
        std::atomic<bool> done{false};
        boost::asio::steady_timer timer;
        std::function<void()> next;
    };
    auto wait = std::make_shared<Wait>(s.executor);
    wait->next = std::move(next);
    wait->timer.expires_after(s.history_wait);
    wait->timer.async_wait([wait](boost::system::error_code) {
        if (wait->done.exchange(true)) return;
        log::warn("approvals", "the audit history is still loading: explaining without it");
        std::exchange(wait->next, nullptr)();
    });
    audit->when_history_loaded([&s, wait] {
        boost::asio::post(s.executor, [wait] {
            if (wait->done.exchange(true)) return;
            wait->timer.cancel();
            std::exchange(wait->next, nullptr)();
        });
    });
}

void run_signing_flow(Services& s, const std::shared_ptr<const rpc::Client>& client,
                      SigningRequest request, rpc::Reply reply) {
    Ticket ticket = s.pending_signings.open(request.origin, request.chain_id);
    reply = [&s, ticket, reply = std::move(reply)](rpc::Outcome out) {
        s.pending_signings.close(ticket);
        reply(std::move(out));
    };
    // A switch between the request's arrival and its ticket found nothing to cancel.
    if (const std::uint64_t now = s.chain_for(*client); now != request.chain_id)
        return reply(tl::unexpected(chain_changed_error(request.chain_id, now)));
    prepare(s, client, std::move(request), /*announce=*/true,
            [&s, ticket, reply](tl::expected<std::pair<Shared, Readiness>, RpcError> prepared) {
                if (!prepared) return reply(tl::unexpected(prepared.error()));
                auto [shared, readiness] = *prepared;
                after_history(s, [&s, ticket, reply, shared = shared, readiness = readiness] {
                    // Switched while the node filled the transaction: never shown, never judged.
                    if (ticket->cancelled())
                        return reply(tl::unexpected(chain_changed_error(*ticket)));
                    auto entry = approval_for(shared, explain(s, *shared));
                    entry.id = s.approvals.reserve_id();
                    Approval approval =
                        std::make_shared<const approvals::ApprovalRequest>(std::move(entry));
                    if (!s.pending_signings.attach_approval(ticket, approval->id))
                        return reply(tl::unexpected(chain_changed_error(*ticket)));
                    if (readiness == Readiness::NeedsUnlock)
                        return unlock_then_approve(s, shared, std::move(approval), ticket, reply);
                    approve(s, shared, std::move(approval), ticket, reply);
                });
            });
}

void cancel_signings_for_chain(Services& s, const std::string& origin, std::uint64_t chain_id) {
    for (std::uint64_t id : s.pending_signings.chain_selected(origin, chain_id))
        withdraw_for_chain_change(s, id);
}

void explain_signing_request(Services& s, const std::shared_ptr<const rpc::Client>& client,
                             SigningRequest request, rpc::Reply reply) {
    prepare(s, client, std::move(request), /*announce=*/false,
            [&s, reply](tl::expected<std::pair<Shared, Readiness>, RpcError> prepared) {
                if (!prepared) return reply(tl::unexpected(prepared.error()));
                auto [shared, readiness] = *prepared;
                after_history(s, [&s, reply, shared = shared, readiness = readiness] {
                    auto approval = approval_for(shared, explain(s, *shared));
                    json::object out = approval.to_json();
                    out.erase("id");
                    out.erase("created");
                    out.erase("stage");
                    out["vaultLocked"] = readiness == Readiness::NeedsUnlock;
                    reply(json::value(std::move(out)));
                });
            });
}

}  // namespace keybridge::daemon
