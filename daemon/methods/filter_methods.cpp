#include "daemon/methods/filter_methods.h"

#include "daemon/rpc/params.h"
#include "daemon/services.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;

// A WebSocket client owns its filters itself; an HTTP client's belong to its origin, since
// its next request may come on another connection.
subscriptions::FilterOwner filter_owner(const rpc::Client& client) {
    const std::weak_ptr<EventSink> none;
    const bool websocket = client.sink.owner_before(none) || none.owner_before(client.sink);
    return {client.principal(), websocket ? client.connection_id : 0};
}

// A filter is made on the chain the origin has selected now.
void create_filter(Services& s, const std::shared_ptr<const rpc::Client>& client,
                   const std::string& method, const json::value& params, rpc::Reply reply) {
    const std::uint64_t chain = s.chain_for(*client);
    auto config = s.chains.find(chain);
    if (!config || config->rpc_url.empty()) return reply(tl::unexpected(no_upstream_error(chain)));
    s.feeds.client_filters().create(filter_owner(*client), chain, config->rpc_url, method,
                                    params.is_null() ? json::value(json::array{}) : params,
                                    std::move(reply));
}

// [filterId] → the id, checked to be a short string (ids we hand out are 34 characters).
rpc::ParamResult<std::string> filter_id_of(const json::value& params) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) return tl::unexpected(p.error());
    auto id = rpc::string_at(**p, 0, "filter id");
    if (!id) return tl::unexpected(id.error());
    if (id->size() > 66)
        return tl::unexpected(rpc::invalid_params_error("params[0] (filter id): too long"));
    return id;
}

}  // namespace

void register_filter_methods(rpc::Dispatcher& d, Services& s) {
    d.add({"eth_newFilter", "a logs filter on the selected chain's node, for this client only",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               if (!(**p)[0].is_object()) {
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("params[0] (filter): must be an object")));
               }
               create_filter(s, client, "eth_newFilter", params, std::move(reply));
           }});
    for (const char* method : {"eth_newBlockFilter", "eth_newPendingTransactionFilter"}) {
        d.add({method, "a filter on the selected chain's node, for this client only",
               rpc::Access::Anyone,
               [&s, name = std::string(method)](const auto& client, const json::value& params,
                                                rpc::Reply reply) {
                   auto p = rpc::positional(params, 0, 0);
                   if (!p) return reply(tl::unexpected(p.error()));
                   create_filter(s, client, name, params, std::move(reply));
               }});
    }
    for (const char* method : {"eth_getFilterChanges", "eth_getFilterLogs"}) {
        d.add({method, "what this client's filter saw, from the chain's node", rpc::Access::Anyone,
               [&s, name = std::string(method)](const auto& client, const json::value& params,
                                                rpc::Reply reply) {
                   auto id = filter_id_of(params);
                   if (!id) return reply(tl::unexpected(id.error()));
                   s.feeds.client_filters().query(filter_owner(*client), *id, name,
                                                  std::move(reply));
               }});
    }
    d.add({"eth_uninstallFilter", "remove this client's filter (false if it has no such filter)",
           rpc::Access::Anyone,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto id = filter_id_of(params);
               if (!id) return reply(tl::unexpected(id.error()));
               s.feeds.client_filters().uninstall(filter_owner(*client), *id, std::move(reply));
           }});
}

}  // namespace keybridge::daemon
