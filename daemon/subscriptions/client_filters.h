#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "daemon/rpc/dispatcher.h"
#include "daemon/subscriptions/filter_registry.h"
#include "daemon/upstream/upstream_client.h"

namespace keybridge::daemon::subscriptions {

// The eth_newFilter family on behalf of clients: each filter lives on the chain's node, under a
// local id that only its owner (FilterRegistry) can read or uninstall. Filters are uninstalled
// on the node when their owner uninstalls them, when their WebSocket closes, when their origin
// selects another chain, and when nobody polled them for the idle timeout (checked by a timer
// that runs only while filters exist). Thread-safe; replies run on the executor.
class ClientFilters {
  public:
    ClientFilters(boost::asio::any_io_executor executor, upstream::UpstreamClient& upstream,
                  FilterRegistry::Settings settings);
    ~ClientFilters();
    ClientFilters(const ClientFilters&) = delete;
    ClientFilters& operator=(const ClientFilters&) = delete;

    // eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter: `method` is called on
    // node_url with `params`; replies with the new local id, the node's error unchanged, or
    // -32005 when the owner holds too many filters.
    void create(const FilterOwner& owner, std::uint64_t chain_id, const std::string& node_url,
                const std::string& method, const boost::json::value& params, rpc::Reply reply);
    // eth_getFilterChanges, eth_getFilterLogs on the owner's filter: the node's answer; -32000
    // "filter not found" when the id is not the owner's (or the node lost it).
    void query(const FilterOwner& owner, const std::string& local_id, const std::string& method,
               rpc::Reply reply);
    // eth_uninstallFilter: true when the owner had it (it is uninstalled on the node too),
    // false otherwise, as a node answers.
    void uninstall(const FilterOwner& owner, const std::string& local_id, rpc::Reply reply);

    // A WebSocket connection closed: its filters go.
    void drop_connection(std::uint64_t connection_id);
    // The principal selected chain_id: its filters on other chains go.
    void chain_selected(const std::string& principal, std::uint64_t chain_id);
    // The chain's node is `node_url` now: its filters made on another node go (uninstalled
    // there; their owners read "filter not found" next, as from a node that lost them).
    void node_changed(std::uint64_t chain_id, const std::string& node_url);
    // Shutdown: forgets every filter (the nodes expire them) and stops the timer.
    void stop();

    std::size_t count(const FilterOwner& owner) const;

  private:
    // Uninstalls removed filters on their nodes; the answers do not matter.
    void uninstall_upstream(std::vector<ClientFilter> removed);
    // Arms the idle check if filters exist and it is not armed. Caller holds mutex_.
    void arm_sweep_locked();
    void on_sweep(boost::system::error_code ec);

    boost::asio::any_io_executor executor_;
    upstream::UpstreamClient& upstream_;
    boost::asio::steady_timer sweep_timer_;

    mutable std::mutex mutex_;
    FilterRegistry registry_;
    bool sweep_armed_ = false;
    bool stopped_ = false;
};

}  // namespace keybridge::daemon::subscriptions
