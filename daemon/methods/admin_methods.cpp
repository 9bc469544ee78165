// keybridge_* methods for the tool and the approver (cookie token only), and rpc_methods.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>

#include "daemon/log.h"
#include "daemon/rpc/params.h"
#include "daemon/services.h"
#include "store/vault/vault.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;

constexpr std::size_t kMaxPasswordBytes = 64 * 1024;

// The pending request `id`, or nullopt when none waits with that id.
std::optional<approvals::ApprovalRequest> pending_request(Services& s, std::uint64_t id) {
    for (auto& r : s.approvals.pending()) {
        if (r.id == id) return std::move(r);
    }
    return std::nullopt;
}

// keybridge_decide's third argument: the accounts a connect request shares, checked against the
// request (pending, a connect request, approved) and the vault's accounts.
tl::expected<std::vector<core::Address>, RpcError> accounts_to_share(
    Services& s, std::uint64_t id, const std::optional<std::string>& method,
    approvals::Decision decision, const json::value& arg) {
    if (!method) {
        return tl::unexpected(RpcError{rpc::kInvalidParams,
                                       "no pending request " + std::to_string(id), std::nullopt});
    }
    if (*method != approvals::kConnectMethod) {
        return tl::unexpected(rpc::invalid_params_error(
            "params[2]: request " + std::to_string(id) + " is " + *method +
            "; only connect requests (eth_requestAccounts) take accounts"));
    }
    if (decision != approvals::Decision::Approve) {
        return tl::unexpected(
            rpc::invalid_params_error("params[2]: accounts go only with \"approve\""));
    }
    auto chosen = approvals::parse_account_choice(arg, s.all_accounts());
    if (!chosen) return tl::unexpected(rpc::invalid_params_error(chosen.error().detail));
    return std::move(*chosen);
}

// keybridge_decide's third argument: {"digest": "0x…"} (the content digest of the request as
// the approver showed it), and for a connect request "accounts" too. The digest is required: a
// decision never lands on a request the approver did not show.
struct DecisionTerms {
    core::Hash32 digest{};
    std::optional<json::value> accounts;
};

tl::expected<DecisionTerms, RpcError> decision_terms(const json::value& arg) {
    if (arg.is_null())
        return tl::unexpected(rpc::invalid_params_error(
            "params[2] {\"digest\": \"0x…\"} is required: the digest of the request as shown "
            "(keybridge_pendingApprovals)"));
    const json::object* o = arg.if_object();
    if (o == nullptr)
        return tl::unexpected(rpc::invalid_params_error(
            "params[2] must be an object {\"digest\": \"0x…\"} naming the request as shown"));
    DecisionTerms terms;
    for (const auto& [key, value] : *o) {
        if (key == "accounts") {
            terms.accounts = value;
        } else if (key != "digest") {
            return tl::unexpected(rpc::invalid_params_error(
                "params[2]: unknown field '" + std::string(key) + "' (digest, accounts)"));
        }
    }
    const json::value* digest = o->if_contains("digest");
    if (digest == nullptr)
        return tl::unexpected(rpc::invalid_params_error(
            "params[2].digest is required: the digest of the request as shown "
            "(keybridge_pendingApprovals)"));
    auto bytes =
        digest->is_string()
            ? core::hex_decode(std::string_view(digest->as_string()), core::HexPrefix::Required)
            : core::Result<core::Bytes>(core::fail(core::ErrorCode::InvalidFormat, "not a string"));
    if (!bytes || bytes->size() != terms.digest.size())
        return tl::unexpected(rpc::invalid_params_error(
            "params[2].digest must be 0x and 64 hex digits (the request's \"digest\")"));
    std::copy(bytes->begin(), bytes->end(), terms.digest.begin());
    return terms;
}

bool same_addresses(std::vector<core::Address> a, std::vector<core::Address> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

// The work of unlock_vault, on the blocking thread.
void unlock_vault_now(Services& s, const core::SecretBuffer& password,
                      const std::function<void(core::Status)>& done) {
    auto vault = vault::Vault::open(s.config.datadir);
    if (!vault) return done(core::fail(vault.error()));
    auto unlocked = vault->unlock_with_seed(password);
    if (!unlocked) {
        // What was tried is never logged, only that it failed.
        if (unlocked.error().code == core::ErrorCode::WrongPassword)
            log::warn("vault", "unlock refused: wrong password");
        else
            log::warn("vault", "unlock failed: " + unlocked.error().detail);
        return done(core::fail(unlocked.error()));
    }
    std::vector<drivers::software::SoftwareSigner::Key> held;
    std::vector<core::Address> addresses;
    for (auto& k : unlocked->accounts) {
        addresses.push_back(k.address);
        held.push_back({k.address, std::move(k.key)});
    }
    // The seed stays with the signer (locked memory, wiped at lock) so that accounts the
    // tool derives while we run can sign without asking for the password again.
    std::vector<drivers::software::SoftwareSigner::AccountRef> refs;
    for (const auto& a : vault->accounts()) {
        if (a.source != vault::AccountSource::Hardware)
            refs.push_back({a.address, a.source == vault::AccountSource::Seed ? a.path : ""});
    }
    s.software().set_keys(std::move(held), std::move(unlocked->seed));
    s.software().sync_accounts(refs);
    s.signers.set_accounts(account_routes(vault->accounts()));
    log::info("vault", "unlocked: " + std::to_string(addresses.size()) + " accounts (" +
                           std::to_string(core::secure_heap_used()) +
                           " bytes of locked memory in use)");
    // Requests that waited for the vault go on to their approval.
    s.approvals.input_done_all("unlock");
    done({});
}

}  // namespace

// Decrypts the vault's keys off the network threads and hands them to the software signer.
void unlock_vault(Services& s, core::SecretBuffer password,
                  std::function<void(core::Status)> done) {
    auto shared_password = std::make_shared<core::SecretBuffer>(std::move(password));
    boost::asio::post(s.blocking, [&s, shared_password, done = std::move(done)] {
        // An exception would end the blocking thread: a full secure heap is answered instead.
        try {
            unlock_vault_now(s, *shared_password, done);
        } catch (const core::SecureMemoryExhausted&) {
            log::error("vault", "unlock failed: the locked memory for secrets is full (" +
                                    std::to_string(core::secure_heap_used() / 1024) +
                                    " KiB in use)");
            done(core::fail(core::ErrorCode::LimitExceeded,
                            "the locked memory for secrets is full: too many keys to hold"));
        }
    });
}

void reload_vault_accounts(Services& s) {
    std::vector<vault::Account> listed;
    std::string generation;  // for the log
    if (vault::Vault::exists(s.config.datadir)) {
        auto vault = vault::Vault::open(s.config.datadir);
        if (!vault) {
            log::warn("vault", "cannot re-read the vault: " + vault.error().detail);
            return;
        }
        generation = vault->generation();
        listed = vault->accounts();
    }
    std::vector<drivers::software::SoftwareSigner::AccountRef> refs;
    std::vector<core::Address> after;
    for (const auto& a : listed) {
        if (a.source != vault::AccountSource::Hardware)
            refs.push_back({a.address, a.source == vault::AccountSource::Seed ? a.path : ""});
        after.push_back(a.address);
    }
    // Same addresses, same keys (an address is its key's): nothing to do, e.g. after a rename.
    // Comparing the list rather than the snapshot's name also catches a vault deleted and
    // created again, whose generations start over.
    if (same_addresses(s.all_accounts(), after)) return;
    // The signer first: an account must not be listed before its key is ready.
    std::vector<core::Address> without_key;
    try {
        without_key = s.software().sync_accounts(refs);
    } catch (const core::SecureMemoryExhausted&) {
        // On the blocking thread an exception would end it; the list stays as it was.
        log::error("vault",
                   "cannot derive the new accounts' keys: the locked memory for "
                   "secrets is full");
        return;
    }
    const std::vector<core::Address> before = s.all_accounts();
    s.signers.set_accounts(account_routes(listed));
    // A device's signer learns its accounts (keybridge account add --ledger) at once.
    if (s.devices != nullptr) s.devices->wake();
    std::vector<core::Address> changed;
    for (const auto& a : before) {
        if (std::find(after.begin(), after.end(), a) == after.end()) changed.push_back(a);
    }
    const std::size_t removed = changed.size();
    // What waits for approval with a removed account could never be signed.
    for (std::size_t i = 0; i < removed; ++i)
        s.approvals.cancel_account(changed[i]);
    for (const auto& a : after) {
        if (std::find(before.begin(), before.end(), a) == before.end()) changed.push_back(a);
    }
    log::info("vault", "account list changed (" + (generation.empty() ? "no vault" : generation) +
                           "): " + std::to_string(after.size()) + " accounts, " +
                           std::to_string(changed.size() - removed) + " new, " +
                           std::to_string(removed) + " removed" +
                           (without_key.empty() ? std::string()
                                                : ", " + std::to_string(without_key.size()) +
                                                      " need 'keybridge unlock' to sign"));
    if (changed.empty()) return;
    // Grants keep naming removed accounts (a restored vault brings them back), but
    // visible_accounts() only shows listed ones: tell the origins whose view changed.
    for (const auto& [origin, grant] : s.permissions.all()) {
        const bool affected = std::any_of(
            grant.accounts.begin(), grant.accounts.end(),
            [&](auto& a) { return std::find(changed.begin(), changed.end(), a) != changed.end(); });
        if (affected) s.notify_accounts(origin);
    }
}

void register_admin_methods(rpc::Dispatcher& d, Services& s) {
    d.add({"keybridge_status",
           "daemon state: version, vault lock, pending approvals, chains, granted origins",
           rpc::Access::TokenOnly, [&s](const auto&, const json::value&, rpc::Reply reply) {
               json::object o;
               o["version"] = kVersion;
               o["unlocked"] = s.software().unlocked();
               json::array signers;
               for (const auto& signer : s.signers.signers()) {
                   const core::SignerInfo info = signer->info();
                   signers.push_back(json::object{{"id", signer->id()},
                                                  {"family", core::to_string(info.family)},
                                                  {"model", info.model},
                                                  {"firmware", info.firmware}});
               }
               o["signers"] = std::move(signers);
               o["accounts"] = s.all_accounts().size();
               o["pendingApprovals"] = s.approvals.pending().size();
               o["defaultChainId"] = rpc::quantity(s.chains.default_chain());
               // Upstreams as scheme://host[:port]: a node URL's path often holds an API key.
               json::array chains;
               for (const auto& chain : s.chains.all()) {
                   chains.push_back(json::object{
                       {"chainId", rpc::quantity(chain.chain_id)},
                       {"name", chain.name},
                       {"upstream", chain.rpc_url.empty()
                                        ? json::value(nullptr)
                                        : json::value(log::redact_url(chain.rpc_url))}});
               }
               o["chains"] = std::move(chains);
               json::array origins;
               for (const auto& [origin, grant] : s.permissions.all()) {
                   origins.push_back(json::object{
                       {"origin", origin},
                       {"chainId", rpc::quantity(s.permissions.selected_chain(origin).value_or(
                                       s.chains.default_chain()))},
                       {"accounts", grant.accounts.size()}});
               }
               o["origins"] = std::move(origins);
               reply(json::value(std::move(o)));
           }});
    d.add({"keybridge_unlock", "unlock the vault: params [password]", rpc::Access::ApproverOnly,
           [&s](const auto&, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               if (!(**p)[0].is_string())
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("params[0] (password) must be a string")));
               // The tool reads at most 64 KiB for a password; more would only fill the locked
               // memory.
               const json::string& text = (**p)[0].as_string();
               if (text.size() > kMaxPasswordBytes)
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("params[0] (password) is longer than " +
                                                 std::to_string(kMaxPasswordBytes) + " bytes")));
               auto password = core::SecretBuffer::copy_of(std::string_view(text));
               unlock_vault(s, std::move(password), [reply](core::Status status) {
                   if (!status) {
                       auto e = status.error();
                       return reply(tl::unexpected(RpcError{
                           e.code == core::ErrorCode::WrongPassword ? rpc::kUnauthorized
                                                                    : rpc::kInternalError,
                           e.code == core::ErrorCode::WrongPassword ? "wrong password" : e.detail,
                           std::nullopt}));
                   }
                   reply(json::value(true));
               });
           }});
    d.add({"keybridge_lock", "forget the decrypted keys", rpc::Access::TokenOnly,
           [&s](const auto&, const json::value&, rpc::Reply reply) {
               s.software().lock();
               log::info("vault", "locked");
               reply(json::value(true));
           }});
    d.add({"keybridge_pendingApprovals", "requests waiting for a decision",
           rpc::Access::ApproverOnly, [&s](const auto&, const json::value&, rpc::Reply reply) {
               json::array out;
               for (const auto& r : s.approvals.pending())
                   out.push_back(r.to_json());
               reply(json::value(std::move(out)));
           }});
    d.add({"keybridge_decide",
           "decide a request as shown: params [id, \"approve\"|\"reject\", {\"digest\": \"0x…\"}] "
           "(a connect request also takes \"accounts\": [address, ...] with \"approve\")",
           rpc::Access::ApproverOnly,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 2, 3);
               if (!p) return reply(tl::unexpected(p.error()));
               const json::value& id = (**p)[0];
               if (!id.is_number() || !id.is_int64() || id.as_int64() <= 0) {
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("params[0] (id) must be a positive integer")));
               }
               auto verdict = rpc::string_at(**p, 1, "decision");
               if (!verdict || (*verdict != "approve" && *verdict != "reject")) {
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("params[1] must be \"approve\" or \"reject\"")));
               }
               auto shown = decision_terms((*p)->size() == 3 ? (**p)[2] : json::value());
               if (!shown) return reply(tl::unexpected(shown.error()));
               const auto request_id = static_cast<std::uint64_t>(id.as_int64());
               approvals::ConnectChoice choice;
               choice.decision = *verdict == "approve" ? approvals::Decision::Approve
                                                       : approvals::Decision::Reject;
               auto request = pending_request(s, request_id);
               // Whoever made a request cannot answer it: a script would approve itself.
               if (request && request->connection_id == client->connection_id) {
                   return reply(tl::unexpected(
                       RpcError{rpc::kUnauthorized,
                                "request " + std::to_string(request_id) +
                                    " was made on this connection; another approver must decide it",
                                std::nullopt}));
               }
               std::optional<std::string> method;
               if (request) method = request->method;
               const bool connect = method == approvals::kConnectMethod;
               if (shown->accounts) {
                   auto accounts = accounts_to_share(s, request_id, method, choice.decision,
                                                     json::object{{"accounts", *shown->accounts}});
                   if (!accounts) return reply(tl::unexpected(accounts.error()));
                   choice.accounts = std::move(*accounts);
               }
               const auto decide_in_queue = [&s, request_id, decision = choice.decision,
                                             digest = shown->digest, by = client->session] {
                   return s.approvals.decide(request_id, decision, digest, by);
               };
               // A connect request's callback reads the choice: it is recorded first.
               auto ok = connect ? s.connect_choices.decide(request_id, choice, decide_in_queue)
                                 : decide_in_queue();
               if (!ok)
                   return reply(tl::unexpected(
                       RpcError{rpc::kInvalidParams, ok.error().detail, std::nullopt}));
               reply(json::value(true));
           }});
    d.add(
        {"keybridge_respond",
         "answer a request waiting for input: params [id, {password|pin|passphrase|cancel}]",
         rpc::Access::ApproverOnly, [&s](const auto&, const json::value& params, rpc::Reply reply) {
             auto p = rpc::positional(params, 2, 2);
             if (!p) return reply(tl::unexpected(p.error()));
             const json::value& id = (**p)[0];
             if (!id.is_int64() || id.as_int64() <= 0) {
                 return reply(tl::unexpected(
                     rpc::invalid_params_error("params[0] (id) must be a positive integer")));
             }
             if (!(**p)[1].is_object()) {
                 return reply(tl::unexpected(rpc::invalid_params_error(
                     "params[1] must be an object: {\"password\"}, {\"pin\"}, "
                     "{\"passphrase\"} or {\"cancel\": true}")));
             }
             s.approvals.respond(static_cast<std::uint64_t>(id.as_int64()), (**p)[1].as_object(),
                                 [reply](core::Status status) {
                                     if (status) return reply(json::value(true));
                                     const auto& e = status.error();
                                     if (e.code == core::ErrorCode::WrongPassword)
                                         return reply(tl::unexpected(RpcError{
                                             rpc::kUnauthorized, "wrong password", std::nullopt}));
                                     if (e.code == core::ErrorCode::NotFound ||
                                         e.code == core::ErrorCode::InvalidArgument)
                                         return reply(tl::unexpected(RpcError{
                                             rpc::kInvalidParams, e.detail, std::nullopt}));
                                     reply(tl::unexpected(rpc::to_rpc_error(e)));
                                 });
         }});
    d.add({"keybridge_permissions", "every origin's grant", rpc::Access::TokenOnly,
           [&s](const auto&, const json::value&, rpc::Reply reply) {
               json::object out;
               for (const auto& [origin, grant] : s.permissions.all()) {
                   json::array accounts;
                   for (const auto& a : grant.accounts)
                       accounts.push_back(json::string(a.to_checksum_string()));
                   out[origin] = json::object{
                       {"accounts", accounts},
                       {"grantedAt", grant.granted_at},
                       {"chainId", rpc::quantity(s.permissions.selected_chain(origin).value_or(
                                       s.chains.default_chain()))}};
               }
               reply(json::value(std::move(out)));
           }});
    d.add({"keybridge_revokeOrigin", "revoke an origin's grant: params [origin]",
           rpc::Access::TokenOnly, [&s](const auto&, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               auto origin = rpc::string_at(**p, 0, "origin");
               if (!origin) return reply(tl::unexpected(origin.error()));
               auto revoked = s.permissions.revoke(*origin);
               if (!revoked) return reply(tl::unexpected(rpc::to_rpc_error(revoked.error())));
               if (*revoked) s.notify_accounts(*origin);
               // Answered once the revocation is on disk: a crash must not bring it back.
               s.permissions.when_saved([reply, had = *revoked](core::Status saved) {
                   if (!saved) return reply(tl::unexpected(rpc::to_rpc_error(saved.error())));
                   reply(json::value(had));
               });
           }});
    d.add({"rpc_methods", "the methods this daemon serves, from its method table",
           rpc::Access::Anyone, [&d](const auto& client, const json::value&, rpc::Reply reply) {
               json::array out;
               for (const rpc::MethodSpec* m : d.methods()) {
                   if (!rpc::allowed(m->access, *client)) continue;
                   out.push_back(json::object{{"name", m->name}, {"summary", m->summary}});
               }
               reply(json::value(std::move(out)));
           }});
}

}  // namespace keybridge::daemon
