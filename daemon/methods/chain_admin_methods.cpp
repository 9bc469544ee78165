// The chains view of the approval page and `keybridge chain`: list the chains, add one, choose a
// chain's upstream node, remove a chain the user added. Approvers only (the page, the control
// socket). Changes apply at once (every call looks its chain's node up) and are kept in
// <datadir>/chains.json. Node URLs may hold an API key: answers and logs show them redacted.
#include <boost/asio/post.hpp>

#include "core/uint256.h"
#include "daemon/log.h"
#include "daemon/methods/signing_flow.h"
#include "daemon/rpc/params.h"
#include "daemon/services.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;

// How long the node of a new upstream may take to say which chain it serves.
constexpr std::chrono::seconds kProbeTimeout{5};

std::string_view source_name(ChainConfig::Source source) {
    switch (source) {
        case ChainConfig::Source::Config:
            return "config";
        case ChainConfig::Source::User:
            return "user";
        case ChainConfig::Source::Dapp:
            return "dapp";
    }
    return "config";
}

json::object chain_json(const ChainConfig& c, std::uint64_t default_chain) {
    return json::object{
        {"chainId", rpc::quantity(c.chain_id)},
        {"name", c.name},
        {"upstream",
         c.rpc_url.empty() ? json::value(nullptr) : json::value(log::redact_url(c.rpc_url))},
        {"source", source_name(c.source)},
        // A configured chain whose node the user replaced (setting it back undoes that).
        {"upstreamChanged",
         c.source == ChainConfig::Source::Config && c.rpc_url != c.configured_url},
        {"default", c.chain_id == default_chain},
        {"removable", c.source != ChainConfig::Source::Config && c.chain_id != default_chain}};
}

RpcError invalid(std::string message) {
    return rpc::invalid_params_error(std::move(message));
}

// params [{...}]: the one object, or why not.
tl::expected<const json::object*, RpcError> object_param(const json::value& params) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) return tl::unexpected(p.error());
    const json::object* o = (**p)[0].if_object();
    if (o == nullptr) return tl::unexpected(invalid("params[0] must be an object"));
    return o;
}

tl::expected<std::uint64_t, RpcError> chain_param(const json::object& o) {
    const json::value* v = o.if_contains("chainId");
    if (v == nullptr) return tl::unexpected(invalid("chainId is required"));
    auto chain = rpc::chain_id_of(*v, "params[0].chainId");
    if (!chain) return tl::unexpected(chain.error());
    return *chain;
}

// The node URL: checked as the file will be (chain_store.h) and as the upstream client needs.
// Messages never repeat the URL (it may hold a key).
tl::expected<std::string, RpcError> url_param(const json::object& o) {
    const json::value* v = o.if_contains("rpcUrl");
    if (v == nullptr || !v->is_string())
        return tl::unexpected(invalid("rpcUrl must be an http:// or https:// URL"));
    std::string url(v->as_string());
    if (auto ok = chains::check_rpc_url(url); !ok)
        return tl::unexpected(invalid(ok.error().detail));
    if (auto parsed = upstream::parse_url(url); !parsed)
        return tl::unexpected(invalid("rpcUrl: " + parsed.error().detail));
    return url;
}

RpcError unknown_chain(std::uint64_t chain) {
    return RpcError{
        rpc::kUnrecognizedChain,
        "chain " + std::to_string(chain) + " is not known (keybridge_chains lists them)",
        std::nullopt};
}

// Asks the node which chain it serves: done(nullopt) when it serves `chain` or could not be
// asked (the node may be down now; the user's choice stands and calls fail with 4901 until it
// answers), done(error) when it serves another chain.
void probe(Services& s, const std::string& url, std::uint64_t chain,
           std::function<void(std::optional<RpcError>, bool reachable)> done) {
    s.upstream.call(
        url, "eth_chainId", json::array{},
        [chain, url, done = std::move(done)](rpc::Outcome out) {
            if (!out) return done(std::nullopt, false);
            core::Result<core::U256> served =
                core::fail(core::ErrorCode::InvalidFormat, "not a quantity");
            if (out->is_string()) served = core::parse_quantity(out->as_string());
            if (!served) return done(std::nullopt, false);
            if (*served != core::U256(chain)) {
                return done(
                    invalid("the node at " + log::redact_url(url) + " serves chain " +
                            core::u256_to_decimal(*served) + ", not " + std::to_string(chain)),
                    true);
            }
            done(std::nullopt, true);
        },
        std::chrono::milliseconds(kProbeTimeout));
}

// Writes the change on the blocking thread (atomic and durable), then applies it on the
// executor: reply(error) when the file could not be written (nothing changed then).
void save_then(Services& s, std::function<core::Status()> write, std::function<void()> apply,
               rpc::Reply reply) {
    boost::asio::post(s.blocking, [&s, write = std::move(write), apply = std::move(apply),
                                   reply = std::move(reply)]() mutable {
        core::Status written = write();
        boost::asio::post(s.executor, [written = std::move(written), apply = std::move(apply),
                                       reply = std::move(reply)] {
            if (!written) {
                log::error("chains", "writing chains.json failed: " + written.error().detail);
                return reply(tl::unexpected(RpcError{
                    rpc::kInternalError, "could not save the change: " + written.error().detail,
                    std::nullopt}));
            }
            apply();
        });
    });
}

// The chain is gone: the granted origins (and the local clients) that used it move to the
// default chain as if they had switched (their signing requests there end, their filters go,
// chainChanged goes out). Origins without a grant fall back to the default chain silently.
void move_off_chain(Services& s, std::uint64_t gone) {
    const std::uint64_t fallback = s.chains.default_chain();
    std::vector<std::string> principals{std::string(rpc::kLocalPrincipal)};
    for (const auto& [origin, grant] : s.permissions.all())
        principals.push_back(origin);
    for (const auto& principal : principals) {
        if (s.permissions.selected_chain(principal) != gone) continue;
        cancel_signings_for_chain(s, principal, fallback);
        if (auto ok = s.permissions.select_chain(principal, fallback); !ok) {
            log::warn("chains",
                      "cannot record the chain of " + principal + ": " + ok.error().detail);
        }
        s.feeds.client_filters().chain_selected(principal, fallback);
        s.events.publish(EventHub::Topic::ChainChanged, principal,
                         json::value(rpc::quantity(fallback)));
    }
}

}  // namespace

void register_chain_admin_methods(rpc::Dispatcher& d, Services& s, chains::ChainStore& store) {
    d.add({"keybridge_chains",
           "the known chains: id, name, upstream (scheme://host[:port]), source, default",
           rpc::Access::ApproverOnly,
           [&s](const auto&, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 0, 0);
               if (!p) return reply(tl::unexpected(p.error()));
               json::array out;
               for (const auto& c : s.chains.all())
                   out.push_back(chain_json(c, s.chains.default_chain()));
               reply(json::value(std::move(out)));
           }});

    d.add(
        {"keybridge_addChain",
         "add a chain: params [{chainId, name, rpcUrl}]; kept across restarts",
         rpc::Access::ApproverOnly,
         [&s, &store](const auto&, const json::value& params, rpc::Reply reply) {
             auto o = object_param(params);
             if (!o) return reply(tl::unexpected(o.error()));
             auto chain = chain_param(**o);
             if (!chain) return reply(tl::unexpected(chain.error()));
             const json::value* name_value = (*o)->if_contains("name");
             if (name_value == nullptr || !name_value->is_string())
                 return reply(tl::unexpected(invalid("name must be a string")));
             std::string name(name_value->as_string());
             if (auto ok = chains::check_chain_name(name); !ok)
                 return reply(tl::unexpected(invalid(ok.error().detail)));
             auto url = url_param(**o);
             if (!url) return reply(tl::unexpected(url.error()));
             if (s.chains.find(*chain)) {
                 return reply(tl::unexpected(
                     invalid("chain " + std::to_string(*chain) +
                             " is known already: choose its node with keybridge_setUpstream")));
             }
             ChainConfig config{*chain, name, *url, ChainConfig::Source::User, ""};
             probe(
                 s, *url, *chain,
                 [&s, &store, config, reply](std::optional<RpcError> refused, bool reachable) {
                     if (refused) return reply(tl::unexpected(*refused));
                     save_then(
                         s,
                         [&store, config] {
                             return store.put({config.chain_id, config.name, config.rpc_url, true});
                         },
                         [&s, config, reachable, reply] {
                             s.chains.add(config);
                             log::info("chains", "chain " + std::to_string(config.chain_id) +
                                                     " added, upstream " +
                                                     log::redact_url(config.rpc_url));
                             json::object out = chain_json(config, s.chains.default_chain());
                             out["reachable"] = reachable;
                             reply(json::value(std::move(out)));
                         },
                         reply);
                 });
         }});

    d.add(
        {"keybridge_setUpstream",
         "choose a chain's RPC node: params [{chainId, rpcUrl}]; kept across restarts",
         rpc::Access::ApproverOnly,
         [&s, &store](const auto&, const json::value& params, rpc::Reply reply) {
             auto o = object_param(params);
             if (!o) return reply(tl::unexpected(o.error()));
             auto chain = chain_param(**o);
             if (!chain) return reply(tl::unexpected(chain.error()));
             auto url = url_param(**o);
             if (!url) return reply(tl::unexpected(url.error()));
             if (!s.chains.find(*chain)) return reply(tl::unexpected(unknown_chain(*chain)));
             const std::uint64_t id = *chain;
             const std::string new_url = *url;
             probe(
                 s, new_url, id,
                 [&s, &store, id, new_url, reply](std::optional<RpcError> refused, bool reachable) {
                     if (refused) return reply(tl::unexpected(*refused));
                     auto known = s.chains.find(id);
                     if (!known) return reply(tl::unexpected(unknown_chain(id)));
                     ChainConfig next = *known;
                     next.rpc_url = new_url;
                     // A dApp's chain the user keeps is the user's from now on.
                     if (next.source == ChainConfig::Source::Dapp)
                         next.source = ChainConfig::Source::User;
                     const bool back_to_configured = next.source == ChainConfig::Source::Config &&
                                                     new_url == next.configured_url;
                     save_then(
                         s,
                         [&store, next, back_to_configured]() -> core::Status {
                             if (back_to_configured) {
                                 auto removed = store.remove(next.chain_id);
                                 if (!removed) return core::fail(removed.error());
                                 return {};
                             }
                             return store.put({next.chain_id, next.name, next.rpc_url,
                                               next.source != ChainConfig::Source::Config});
                         },
                         [&s, next, reachable, reply] {
                             s.chains.add(next);
                             // Filters live on the node that made them: the clients' ones
                             // there go (they read "filter not found" and make new ones).
                             s.feeds.client_filters().node_changed(next.chain_id, next.rpc_url);
                             log::info("chains", "chain " + std::to_string(next.chain_id) +
                                                     " now uses " + log::redact_url(next.rpc_url));
                             json::object out = chain_json(next, s.chains.default_chain());
                             out["reachable"] = reachable;
                             reply(json::value(std::move(out)));
                         },
                         reply);
                 });
         }});

    d.add({"keybridge_removeChain",
           "remove a chain the user or a dApp added: params [{chainId}]; origins on it move to "
           "the default chain",
           rpc::Access::ApproverOnly,
           [&s, &store](const auto&, const json::value& params, rpc::Reply reply) {
               auto o = object_param(params);
               if (!o) return reply(tl::unexpected(o.error()));
               auto chain = chain_param(**o);
               if (!chain) return reply(tl::unexpected(chain.error()));
               auto known = s.chains.find(*chain);
               if (!known) return reply(tl::unexpected(unknown_chain(*chain)));
               if (known->source == ChainConfig::Source::Config ||
                   known->chain_id == s.chains.default_chain()) {
                   return reply(tl::unexpected(invalid(
                       "chain " + std::to_string(*chain) +
                       " comes from the configuration file (or is the default chain): change it "
                       "there, or choose another node with keybridge_setUpstream")));
               }
               const std::uint64_t id = *chain;
               save_then(
                   s,
                   [&store, id]() -> core::Status {
                       auto removed = store.remove(id);
                       if (!removed) return core::fail(removed.error());
                       return {};
                   },
                   [&s, id, reply] {
                       const bool removed = s.chains.remove(id);
                       if (removed) move_off_chain(s, id);
                       log::info("chains", "chain " + std::to_string(id) + " removed");
                       reply(json::value(removed));
                   },
                   reply);
           }});
}

}  // namespace keybridge::daemon
