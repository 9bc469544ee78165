// eth_subscribe "newHeads", "logs" and "newPendingTransactions": public chain data, so the same
// callers as the read-only chain methods; served by polling the chain's node
// (daemon/subscriptions/chain_feeds.h).
#include "daemon/rpc/params.h"
#include "daemon/services.h"
#include "daemon/subscriptions/log_filter.h"

namespace keybridge::daemon {

namespace json = boost::json;

void subscribe_chain_feed(Services& s, const std::shared_ptr<const rpc::Client>& client,
                          const std::string& name, const json::array& params, rpc::Reply reply) {
    subscriptions::LogFilter filter;
    auto kind = subscriptions::ChainFeeds::Kind::NewHeads;
    if (name == "logs") {
        kind = subscriptions::ChainFeeds::Kind::Logs;
        auto parsed =
            subscriptions::parse_log_filter(params.size() > 1 ? &params[1] : nullptr, "params[1]");
        if (!parsed) return reply(tl::unexpected(parsed.error()));
        filter = std::move(*parsed);
    } else if (params.size() > 1) {
        return reply(tl::unexpected(
            rpc::invalid_params_error("'" + name + "' takes no further parameters")));
    } else if (name == "newPendingTransactions") {
        kind = subscriptions::ChainFeeds::Kind::PendingTransactions;
    }
    // Bound to the chain selected now: a later chain switch does not move the subscription
    // (the page gets chainChanged and is expected to subscribe again, as with any provider).
    const std::uint64_t chain = s.chain_for(*client);
    auto config = s.chains.find(chain);
    if (!config || config->rpc_url.empty()) return reply(tl::unexpected(no_upstream_error(chain)));
    s.feeds.subscribe(client->sink, client->connection_id, client->principal(), chain, kind,
                      std::move(filter), [reply](subscriptions::ChainFeeds::Started started) {
                          if (!started) return reply(tl::unexpected(started.error()));
                          reply(json::value(*started));
                      });
}

}  // namespace keybridge::daemon
