// Chain selection and read-only chain methods (forwarded to the selected chain's node).
#include <algorithm>

#include "core/hash.h"
#include "daemon/approvals/warning_catalog.h"
#include "daemon/log.h"
#include "daemon/methods/filter_methods.h"
#include "daemon/methods/forward_rules.h"
#include "daemon/methods/signing_flow.h"
#include "daemon/rpc/params.h"
#include "daemon/services.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::Outcome;
using rpc::RpcError;

// Read-only methods that dApps and libraries call, listed by rpc_methods. Every other method
// the table lacks is forwarded too unless forward_rules.h denies it (the fallback below); these
// rows only make the common ones discoverable.
constexpr std::string_view kForwarded[] = {
    "eth_blockNumber",
    "eth_getBalance",
    "eth_call",
    "eth_estimateGas",
    "eth_gasPrice",
    "eth_feeHistory",
    "eth_maxPriorityFeePerGas",
    "eth_getTransactionCount",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getLogs",
    "eth_syncing",
    "web3_clientVersion",
    "eth_getBlockTransactionCountByNumber",
    "eth_getProof",
    "eth_getBlockReceipts",
    "eth_createAccessList",
    "eth_blobBaseFee",
    "eth_simulateV1",
};

// Forwards a read-only call to the node of the client's selected chain (4901 without one).
void forward(Services& s, const rpc::Client& client, const std::string& method,
             const json::value& params, rpc::Reply reply) {
    const std::uint64_t chain = s.chain_for(client);
    auto config = s.chains.find(chain);
    if (!config || config->rpc_url.empty()) return reply(tl::unexpected(no_upstream_error(chain)));
    if (!params.is_null() && !params.is_array()) {
        return reply(tl::unexpected(rpc::invalid_params_error("params must be an array")));
    }
    s.upstream.call(config->rpc_url, method, params, std::move(reply));
}

// A method the table lacks: forwarded when forward_rules.h allows it.
void forward_unhandled(Services& s, const rpc::Client& client, const std::string& method,
                       const json::value& params, rpc::Reply reply) {
    const ForwardDecision decision = classify_unhandled_method(method);
    switch (decision.verdict) {
        case ForwardVerdict::Forward:
            return forward(s, client, method, params, std::move(reply));
        case ForwardVerdict::NotAMethodName:
            return reply(tl::unexpected(RpcError{rpc::kMethodNotFound,
                                                 "the method does not exist: " + decision.reason,
                                                 std::nullopt}));
        case ForwardVerdict::OwnNamespace:
            return reply(tl::unexpected(RpcError{
                rpc::kMethodNotFound, "the method " + method + " does not exist / is not available",
                std::nullopt}));
        case ForwardVerdict::Denied:
            return reply(
                tl::unexpected(RpcError{rpc::kUnsupportedMethod, decision.reason, std::nullopt}));
    }
}

// The origin now uses `chain`: its signing requests for the chain it left are cancelled (4901,
// before chainChanged, as MetaMask drops pending confirmations on a switch), its filters there
// are uninstalled (a filter reports one chain's events), and chainChanged goes out.
void chain_selected(Services& s, const rpc::Client& client, std::uint64_t chain) {
    cancel_signings_for_chain(s, client.principal(), chain);
    s.feeds.client_filters().chain_selected(client.principal(), chain);
    s.events.publish(EventHub::Topic::ChainChanged, client.principal(),
                     json::value(rpc::quantity(chain)));
}

}  // namespace

RpcError no_upstream_error(std::uint64_t chain) {
    return RpcError{rpc::kChainDisconnected,
                    "no RPC node is configured for chain " + std::to_string(chain) +
                        " (start keybridged with --chain " + std::to_string(chain) + "=URL)",
                    std::nullopt};
}

std::shared_ptr<const ChainRegistry::State> ChainRegistry::make_state(
    std::vector<ChainConfig> chains) {
    auto names = std::make_shared<Names>();
    for (const auto& c : chains)
        if (c.source == ChainConfig::Source::User && !c.name.empty()) (*names)[c.chain_id] = c.name;
    return std::make_shared<const State>(State{std::move(chains), std::move(names)});
}

ChainRegistry::ChainRegistry(std::vector<ChainConfig> chains, std::uint64_t default_chain)
    : state_(make_state(std::move(chains))), default_chain_(default_chain) {}

std::shared_ptr<const ChainRegistry::Names> ChainRegistry::user_names() const {
    auto state = state_.get();
    const Names* names = state->user_names.get();
    return std::shared_ptr<const Names>(std::move(state), names);
}

std::optional<ChainConfig> ChainRegistry::find(std::uint64_t chain_id) const {
    const auto state = state_.get();
    for (const auto& c : state->chains) {
        if (c.chain_id == chain_id) return c;
    }
    return std::nullopt;
}

bool ChainRegistry::known(std::uint64_t chain_id) const {
    const auto state = state_.get();
    return std::any_of(state->chains.begin(), state->chains.end(),
                       [&](const ChainConfig& c) { return c.chain_id == chain_id; });
}

std::vector<ChainConfig> ChainRegistry::all() const {
    std::vector<ChainConfig> out = state_.get()->chains;
    std::sort(out.begin(), out.end(),
              [](const ChainConfig& a, const ChainConfig& b) { return a.chain_id < b.chain_id; });
    return out;
}

void ChainRegistry::add(ChainConfig chain) {
    std::lock_guard lock(write_mutex_);
    std::vector<ChainConfig> chains = state_.get()->chains;
    auto it = std::find_if(chains.begin(), chains.end(),
                           [&](const ChainConfig& c) { return c.chain_id == chain.chain_id; });
    if (it == chains.end()) {
        chains.push_back(std::move(chain));
    } else {
        if (chain.source == ChainConfig::Source::Dapp) {
            chain.source = it->source;
            chain.configured_url = it->configured_url;
        }
        *it = std::move(chain);
    }
    state_.publish(make_state(std::move(chains)));
}

bool ChainRegistry::remove(std::uint64_t chain_id) {
    std::lock_guard lock(write_mutex_);
    std::vector<ChainConfig> chains = state_.get()->chains;
    auto it = std::find_if(chains.begin(), chains.end(),
                           [&](const ChainConfig& c) { return c.chain_id == chain_id; });
    if (it == chains.end()) return false;
    chains.erase(it);
    state_.publish(make_state(std::move(chains)));
    return true;
}

std::vector<ChainConfig> apply_saved_chains(std::vector<ChainConfig> configured,
                                            const std::vector<chains::SavedChain>& saved) {
    for (auto& c : configured)
        c.configured_url = c.rpc_url;
    for (const auto& s : saved) {
        auto it = std::find_if(configured.begin(), configured.end(),
                               [&](const ChainConfig& c) { return c.chain_id == s.chain_id; });
        if (it != configured.end()) {
            it->rpc_url = s.rpc_url;
        } else {
            configured.push_back(
                ChainConfig{s.chain_id, s.name, s.rpc_url, ChainConfig::Source::User, ""});
        }
    }
    return configured;
}

std::shared_ptr<const insight::Settings> Services::insight_settings() const {
    std::shared_ptr<const ChainRegistry::Names> names = chains.user_names();
    auto made = insight_made.get();
    if (made->from.get() != names.get()) {
        std::lock_guard lock(insight_mutex);  // one rebuild at a time
        made = insight_made.get();
        if (made->from.get() != names.get()) {
            auto settings = std::make_shared<insight::Settings>(config.insight);
            for (const auto& [chain_id, name] : *names)
                settings->chain_names[chain_id] = name;
            insight_made.publish(std::make_shared<const InsightMade>(
                InsightMade{std::move(names), std::move(settings)}));
            made = insight_made.get();
        }
    }
    const insight::Settings* settings = made->settings.get();
    return std::shared_ptr<const insight::Settings>(std::move(made), settings);
}

std::uint64_t Services::chain_for(const rpc::Client& client) const {
    auto selected = permissions.selected_chain(client.principal());
    if (selected && chains.known(*selected)) return *selected;
    return chains.default_chain();
}

void register_chain_methods(rpc::Dispatcher& d, Services& s) {
    d.add({"eth_chainId", "the chain selected for this origin", rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 0, 0);
               if (!p) return reply(tl::unexpected(p.error()));
               reply(json::value(rpc::quantity(s.chain_for(*client))));
           }});
    d.add({"net_version", "the selected chain id in decimal", rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 0, 0);
               if (!p) return reply(tl::unexpected(p.error()));
               reply(json::value(std::to_string(s.chain_for(*client))));
           }});
    d.add({"wallet_switchEthereumChain", "select a known chain for this origin (4902 if unknown)",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               const json::value& arg = (**p)[0];
               if (!arg.is_object() || !arg.as_object().contains("chainId")) {
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("params[0] must be {\"chainId\": \"0x…\"}")));
               }
               auto chain = rpc::chain_id_of(arg.as_object().at("chainId"), "params[0].chainId");
               if (!chain) return reply(tl::unexpected(chain.error()));
               if (!s.chains.find(*chain)) {
                   return reply(tl::unexpected(
                       RpcError{rpc::kUnrecognizedChain,
                                "Unrecognized chain ID " + rpc::quantity(*chain) +
                                    ". Try adding the chain using wallet_addEthereumChain first.",
                                std::nullopt}));
               }
               const bool changed = s.chain_for(*client) != *chain;
               if (auto ok = s.permissions.select_chain(client->principal(), *chain); !ok) {
                   return reply(tl::unexpected(rpc::to_rpc_error(ok.error())));
               }
               if (changed) chain_selected(s, *client, *chain);
               reply(json::value(nullptr));
           }});
    d.add({"wallet_addEthereumChain", "propose a chain (needs approval); selects it when approved",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               const json::value& arg = (**p)[0];
               if (!arg.is_object())
                   return reply(
                       tl::unexpected(rpc::invalid_params_error("params[0] must be an object")));
               const json::object& o = arg.as_object();
               if (!o.contains("chainId"))
                   return reply(tl::unexpected(rpc::invalid_params_error("chainId is required")));
               auto chain = rpc::chain_id_of(o.at("chainId"), "params[0].chainId");
               if (!chain) return reply(tl::unexpected(chain.error()));
               const json::value* urls = o.if_contains("rpcUrls");
               if (urls == nullptr || !urls->is_array() || urls->as_array().empty() ||
                   !urls->as_array()[0].is_string()) {
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("rpcUrls must be a non-empty array of URLs")));
               }
               const std::string url(urls->as_array()[0].as_string());
               if (!upstream::parse_url(url)) {
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("rpcUrls[0] must be an http(s) URL")));
               }
               const json::value* name = o.if_contains("chainName");
               ChainConfig config{*chain,
                                  name && name->is_string() ? std::string(name->as_string())
                                                            : "Chain " + std::to_string(*chain),
                                  url, ChainConfig::Source::Dapp, ""};
               approvals::ApprovalRequest request;
               request.origin = client->is_browser() ? client->origin
                                                     : std::string(approvals::kLocalClientOrigin);
               request.channel = client->channel;
               request.authenticated = client->token_authenticated;
               request.connection_id = client->connection_id;
               request.method = "wallet_addEthereumChain";
               request.chain_id = *chain;
               request.details = json::object{
                   {"chainId", rpc::quantity(*chain)}, {"chainName", config.name}, {"rpcUrl", url}};
               if (url.rfind("http://", 0) == 0) {
                   request.warnings.push_back(approvals::warnings::rpc_url_unencrypted());
               }
               if (auto existing = s.chains.find(*chain); existing && existing->rpc_url != url) {
                   request.warnings.push_back(
                       approvals::warnings::rpc_url_replaced(existing->rpc_url));
               }
               s.approvals.submit(std::move(request), [&s, client, config,
                                                       reply](core::Status status) {
                   if (!status) return reply(tl::unexpected(rpc::to_rpc_error(status.error())));
                   s.chains.add(config);
                   const bool changed = s.chain_for(*client) != config.chain_id;
                   if (auto ok = s.permissions.select_chain(client->principal(), config.chain_id);
                       !ok) {
                       return reply(tl::unexpected(rpc::to_rpc_error(ok.error())));
                   }
                   if (changed) chain_selected(s, *client, config.chain_id);
                   reply(json::value(nullptr));
               });
           }});

    d.add({"web3_sha3", "Keccak-256 of the given hex data (answered by keybridged)",
           rpc::Access::Anyone, [](const auto&, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               auto data = rpc::hex_at(**p, 0, "data");
               if (!data) return reply(tl::unexpected(data.error()));
               reply(json::value(core::hex_encode(core::keccak256(*data))));
           }});
    d.add({"net_listening", "whether the selected chain has an RPC node (answered by keybridged)",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 0, 0);
               if (!p) return reply(tl::unexpected(p.error()));
               auto config = s.chains.find(s.chain_for(*client));
               reply(json::value(config && !config->rpc_url.empty()));
           }});

    for (std::string_view method : kForwarded) {
        d.add({std::string(method), "forwarded to the selected chain's RPC node",
               rpc::Access::Anyone,
               [&s, name = std::string(method)](const auto& client, const json::value& params,
                                                rpc::Reply reply) {
                   forward(s, *client, name, params, std::move(reply));
               }});
    }
    register_filter_methods(d, s);
    d.set_fallback([&s](const auto& client, const std::string& method, const json::value& params,
                        rpc::Reply reply) {
        forward_unhandled(s, *client, method, params, std::move(reply));
    });
}

}  // namespace keybridge::daemon
