// Account exposure (EIP-1102 eth_requestAccounts, EIP-2255 permissions) and event subscriptions
// (the chain feeds newHeads and logs are in chain_subscriptions.cpp).
#include <algorithm>
#include <ctime>
#include <map>

#include <boost/asio/post.hpp>

#include "daemon/log.h"
#include "daemon/approvals/warning_catalog.h"
#include "daemon/rpc/params.h"
#include "daemon/services.h"
#include "store/vault/vault.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;

json::array address_array(const std::vector<core::Address>& accounts) {
    json::array out;
    for (const auto& a : accounts)
        out.push_back(json::string(a.to_lower_string()));
    return out;
}

// EIP-2255 permission object for eth_accounts.
json::array permissions_json(const rpc::Client& client, const std::vector<core::Address>& accounts,
                             std::int64_t granted_at) {
    if (accounts.empty()) return {};
    json::object caveat{{"type", "restrictReturnedAccounts"}, {"value", address_array(accounts)}};
    json::object permission{{"parentCapability", "eth_accounts"},
                            {"invoker", client.principal()},
                            {"caveats", json::array{caveat}},
                            {"date", granted_at * 1000}};
    return json::array{permission};
}

// Checks params of the EIP-2255 request/revoke form: [{"eth_accounts": {}}].
bool asks_eth_accounts(const json::value& params, std::string& error) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) {
        error = p.error().message;
        return false;
    }
    const json::value& arg = (**p)[0];
    if (!arg.is_object() || arg.as_object().empty()) {
        error = "params[0] must be an object like {\"eth_accounts\": {}}";
        return false;
    }
    for (const auto& [key, value] : arg.as_object()) {
        if (key != "eth_accounts") {
            error = "unknown permission '" + std::string(key) + "' (only eth_accounts exists)";
            return false;
        }
    }
    return true;
}

// Connecting. An origin that sees no account is asked to connect; a connected origin is asked
// again only when the vault holds an account it was never shown, that is neither granted to it
// nor listed in one of its connect requests that was decided (by the approver, approving or
// rejecting, or by a policy rule). Otherwise it gets its accounts at once.

using Accounts = std::vector<core::Address>;
using AccountsDone = std::function<void(tl::expected<Accounts, RpcError>)>;

bool contains(const Accounts& list, const core::Address& a) {
    return std::find(list.begin(), list.end(), a) != list.end();
}

bool has_unshown_account(const Accounts& vault_accounts, const permissions::Grant& grant) {
    return std::any_of(vault_accounts.begin(), vault_accounts.end(), [&](const auto& a) {
        return !contains(grant.accounts, a) && !contains(grant.offered, a);
    });
}

// The names the vault gives its accounts (none when it cannot be read: names are only shown).
// Reads the vault's files under its lock: call it on the blocking thread.
std::map<core::Address, std::string> read_account_names(const std::string& datadir) {
    std::map<core::Address, std::string> names;
    if (!vault::Vault::exists(datadir)) return names;
    auto opened = vault::Vault::open(datadir);
    if (!opened) {
        log::warn("vault", "cannot read the account names: " + opened.error().detail);
        return names;
    }
    for (const auto& a : opened->accounts()) {
        if (!a.name.empty()) names[a.address] = a.name;
    }
    return names;
}

// details of a connect request: every account of the vault, each with its name, whether the
// origin sees it already and whether an approval without a choice grants it.
json::object connect_details(const Accounts& candidates, const Accounts& visible,
                             const Accounts& defaults,
                             const std::map<core::Address, std::string>& names) {
    json::array accounts;
    for (const auto& a : candidates) {
        json::object entry{{"address", a.to_checksum_string()}};
        if (auto name = names.find(a); name != names.end()) entry["name"] = name->second;
        entry["granted"] = contains(visible, a);
        entry["default"] = contains(defaults, a);
        accounts.push_back(std::move(entry));
    }
    return json::object{{"accounts", std::move(accounts)}, {"again", !visible.empty()}};
}

// Queues the connect request and applies the outcome: an approval grants the approver's choice
// (else the default: what the origin sees already, or the vault's first account); an approver's
// rejection leaves a connected origin what it sees, and any other failure is the answer.
void ask_to_connect(Services& s, const std::shared_ptr<const rpc::Client>& client,
                    const Accounts& visible, const Accounts& candidates,
                    const std::map<core::Address, std::string>& names, AccountsDone done) {
    const Accounts defaults = visible.empty() ? Accounts{candidates.front()} : visible;
    approvals::ApprovalRequest request;
    request.id = s.approvals.reserve_id();  // the key of the approver's choice
    request.origin =
        client->is_browser() ? client->origin : std::string(approvals::kLocalClientOrigin);
    request.channel = client->channel;
    request.authenticated = client->token_authenticated;
    request.connection_id = client->connection_id;
    request.method = approvals::kConnectMethod;
    request.chain_id = s.chain_for(*client);
    request.details = connect_details(candidates, visible, defaults, names);
    request.warnings.push_back(approvals::warnings::connect_exposes_addresses());
    const std::uint64_t id = request.id;
    s.approvals.submit(std::move(request), [&s, client, id, visible, candidates, defaults,
                                            done = std::move(done)](core::Status status) {
        const auto choice = s.connect_choices.take(id);
        const std::string principal = client->principal();
        if (status) {
            Accounts granted = choice && choice->accounts ? *choice->accounts : defaults;
            const bool changed = granted != s.visible_accounts(*client);
            if (auto ok = s.permissions.record_connect(principal, std::move(granted), candidates);
                !ok) {
                return done(tl::unexpected(rpc::to_rpc_error(ok.error())));
            }
            if (changed) s.notify_accounts(principal);
            // The page hears "connected" only once the grant is on disk (permission_store.h).
            return s.permissions.when_saved([&s, client, done](core::Status saved) {
                if (!saved) return done(tl::unexpected(rpc::to_rpc_error(saved.error())));
                done(s.visible_accounts(*client));
            });
        }
        const bool rejected_by_approver = choice &&
                                          choice->decision == approvals::Decision::Reject &&
                                          status.error().code == core::ErrorCode::UserCancelled;
        if (rejected_by_approver && !visible.empty()) {
            if (auto ok = s.permissions.record_declined(principal, candidates); !ok) {
                return done(tl::unexpected(rpc::to_rpc_error(ok.error())));
            }
            // Unless the grant was revoked meanwhile, the origin keeps what it sees.
            if (Accounts still = s.visible_accounts(*client); !still.empty()) return done(still);
        }
        done(tl::unexpected(rpc::to_rpc_error(status.error())));
    });
}

// Replies with the accounts the client may see, asking the approver first when it must.
void request_accounts(Services& s, const std::shared_ptr<const rpc::Client>& client,
                      AccountsDone done) {
    Accounts visible = s.visible_accounts(*client);
    Accounts candidates = s.all_accounts();
    if (!visible.empty()) {
        auto grant = s.permissions.grant(client->principal());
        if (grant && !has_unshown_account(candidates, *grant)) return done(std::move(visible));
    }
    if (candidates.empty()) {
        return done(tl::unexpected(
            RpcError{rpc::kUnauthorized, "the vault has no accounts yet (keybridge account derive)",
                     std::nullopt}));
    }
    boost::asio::post(s.blocking, [&s, client, visible = std::move(visible),
                                   candidates = std::move(candidates), done = std::move(done)] {
        auto names = read_account_names(s.config.datadir);
        boost::asio::post(s.executor,
                          [&s, client, visible, candidates, names = std::move(names), done] {
                              ask_to_connect(s, client, visible, candidates, names, done);
                          });
    });
}

}  // namespace

std::vector<core::Address> Services::visible_accounts(const rpc::Client& client) {
    auto granted = permissions.accounts(client.principal());
    auto known = all_accounts();
    std::vector<core::Address> out;
    for (const auto& a : granted) {
        if (std::find(known.begin(), known.end(), a) != known.end()) out.push_back(a);
    }
    return out;
}

void Services::notify_accounts(const std::string& principal) {
    auto granted = permissions.accounts(principal);
    auto known = all_accounts();
    json::array out;
    for (const auto& a : granted) {
        if (std::find(known.begin(), known.end(), a) != known.end())
            out.push_back(json::string(a.to_lower_string()));
    }
    events.publish(EventHub::Topic::AccountsChanged, principal, out);
}

void register_account_methods(rpc::Dispatcher& d, Services& s) {
    d.add({"eth_accounts", "accounts this origin may see (empty until approved)",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 0, 0);
               if (!p) return reply(tl::unexpected(p.error()));
               reply(json::value(address_array(s.visible_accounts(*client))));
           }});
    d.add({"eth_requestAccounts", "ask the user to expose accounts to this origin",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 0, 0);
               if (!p) return reply(tl::unexpected(p.error()));
               request_accounts(s, client, [reply](auto result) {
                   if (!result) return reply(tl::unexpected(result.error()));
                   reply(json::value(address_array(*result)));
               });
           }});
    d.add({"wallet_requestPermissions", "EIP-2255: request eth_accounts", rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               std::string error;
               if (!asks_eth_accounts(params, error))
                   return reply(tl::unexpected(rpc::invalid_params_error(error)));
               request_accounts(s, client, [&s, client, reply](auto result) {
                   if (!result) return reply(tl::unexpected(result.error()));
                   auto grant = s.permissions.grant(client->principal());
                   reply(json::value(
                       permissions_json(*client, *result, grant ? grant->granted_at : 0)));
               });
           }});
    d.add({"wallet_getPermissions", "EIP-2255: the permissions of this origin", rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 0, 0);
               if (!p) return reply(tl::unexpected(p.error()));
               auto grant = s.permissions.grant(client->principal());
               reply(json::value(permissions_json(*client, s.visible_accounts(*client),
                                                  grant ? grant->granted_at : 0)));
           }});
    d.add({"wallet_revokePermissions", "EIP-2255: revoke eth_accounts for this origin",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               std::string error;
               if (!asks_eth_accounts(params, error))
                   return reply(tl::unexpected(rpc::invalid_params_error(error)));
               auto revoked = s.permissions.revoke(client->principal());
               if (!revoked) return reply(tl::unexpected(rpc::to_rpc_error(revoked.error())));
               if (*revoked) s.notify_accounts(client->principal());
               // Answered once the revocation is on disk: a crash must not bring it back.
               s.permissions.when_saved([reply](core::Status saved) {
                   if (!saved) return reply(tl::unexpected(rpc::to_rpc_error(saved.error())));
                   reply(json::value(nullptr));
               });
           }});
    d.add({"eth_subscribe",
           "WebSocket events: accountsChanged, chainChanged, newHeads, logs, "
           "newPendingTransactions (keybridge_approvals for approvers)",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 2);
               if (!p) return reply(tl::unexpected(p.error()));
               auto name = rpc::string_at(**p, 0, "event");
               if (!name) return reply(tl::unexpected(name.error()));
               const bool chain_feed =
                   *name == "newHeads" || *name == "logs" || *name == "newPendingTransactions";
               EventHub::Topic topic{};
               if (!chain_feed && !EventHub::parse_topic(*name, topic)) {
                   return reply(tl::unexpected(
                       RpcError{rpc::kUnsupportedMethod,
                                "unknown subscription '" + *name +
                                    "' (accountsChanged, chainChanged, newHeads, logs, "
                                    "newPendingTransactions)",
                                std::nullopt}));
               }
               if (!chain_feed && topic == EventHub::Topic::Approvals && !client->approver) {
                   return reply(tl::unexpected(
                       RpcError{rpc::kUnauthorized,
                                "keybridge_approvals is for approvers: subscribe on the control "
                                "socket in keybridged's data folder",
                                std::nullopt}));
               }
               if (client->sink.expired()) {
                   return reply(tl::unexpected(RpcError{rpc::kUnsupportedMethod,
                                                        "subscriptions need a WebSocket connection",
                                                        std::nullopt}));
               }
               const std::size_t held =
                   s.events.count(client->connection_id) + s.feeds.count(client->connection_id);
               if (held >= s.config.max_subscriptions) {
                   return reply(tl::unexpected(RpcError{
                       rpc::kLimitExceeded,
                       "this connection already has " + std::to_string(held) +
                           " subscriptions (max-subscriptions); cancel some with eth_unsubscribe",
                       std::nullopt}));
               }
               if (chain_feed) return subscribe_chain_feed(s, client, *name, **p, reply);
               if ((*p)->size() != 1) {
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("'" + *name + "' takes no further parameters")));
               }
               reply(json::value(s.events.subscribe(client->sink, client->connection_id,
                                                    client->principal(), topic)));
           }});
    d.add({"eth_unsubscribe", "cancel a subscription of this connection", rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               auto id = rpc::string_at(**p, 0, "subscription id");
               if (!id) return reply(tl::unexpected(id.error()));
               const bool removed = s.events.unsubscribe(client->connection_id, *id) ||
                                    s.feeds.unsubscribe(client->connection_id, *id);
               reply(json::value(removed));
           }});
}

}  // namespace keybridge::daemon
