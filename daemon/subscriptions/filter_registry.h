#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace keybridge::daemon::subscriptions {

// Who a filter belongs to. A WebSocket connection owns the filters it made (connection_id set);
// HTTP clients have no lasting connection, so their filters belong to their origin (the
// principal: the page's Origin, or "local-client" for token clients), connection_id 0.
struct FilterOwner {
    std::string principal;
    std::uint64_t connection_id = 0;  // 0: an HTTP origin

    bool operator==(const FilterOwner&) const = default;
};

// One eth_new*Filter a client made: the node's filter id is global on the node, so clients only
// ever see a local id of ours, and only their own.
struct ClientFilter {
    std::string local_id;
    FilterOwner owner;
    std::uint64_t chain_id = 0;
    std::string node_url;            // the node that holds it (where uninstall must go)
    boost::json::value upstream_id;  // as the node returned it
    std::chrono::steady_clock::time_point last_used;
};

// The ownership map from local filter ids to (chain, node filter) per owner. Pure: no I/O;
// what it removes is returned so the caller uninstalls it on the node. Not thread-safe.
class FilterRegistry {
  public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    struct Settings {
        std::size_t max_per_owner = 64;
        // One origin's filters over all its connections and HTTP requests together.
        std::size_t max_per_principal = 256;
        std::size_t max_total = 4096;
        // Nodes drop a filter that nobody polled for 5 minutes (geth, anvil); so do we.
        std::chrono::seconds idle_timeout{300};
    };

    explicit FilterRegistry(Settings settings, Clock clock = &std::chrono::steady_clock::now);

    // False when the owner already holds max_per_owner filters, its principal
    // max_per_principal, or the daemon max_total.
    bool has_room(const FilterOwner& owner) const;
    // Records a node filter and returns its new local id ("0x" + 32 hex digits, unguessable),
    // or nullopt when there is no room (has_room is false).
    std::optional<std::string> add(const FilterOwner& owner, std::uint64_t chain_id,
                                   std::string node_url, boost::json::value upstream_id);
    // The owner's filter with that id, marked as used now; nullopt when the id is unknown or
    // belongs to someone else (a node says "filter not found" then, and so do we).
    std::optional<ClientFilter> use(const FilterOwner& owner, const std::string& local_id);
    // Removes the owner's filter; nullopt as for use.
    std::optional<ClientFilter> remove(const FilterOwner& owner, const std::string& local_id);
    // Forgets a filter the node no longer has (whoever owns it).
    void forget(const std::string& local_id);
    // Removes every filter of a WebSocket connection that closed.
    std::vector<ClientFilter> remove_connection(std::uint64_t connection_id);
    // The principal selected another chain: removes its filters (HTTP and WebSocket) on the
    // other chains, as a wallet resets its filters when the network changes.
    std::vector<ClientFilter> remove_other_chains(const std::string& principal,
                                                  std::uint64_t chain_id);
    // The filters of chain_id made on another node than `node_url` (the chain's node changed).
    std::vector<ClientFilter> remove_other_nodes(std::uint64_t chain_id,
                                                 const std::string& node_url);
    // Removes the filters nobody used for idle_timeout.
    std::vector<ClientFilter> remove_idle();
    // Removes everything (shutdown).
    std::vector<ClientFilter> remove_all();

    std::size_t count(const FilterOwner& owner) const;
    std::size_t count_principal(const std::string& principal) const;
    std::size_t size() const { return filters_.size(); }
    const Settings& settings() const { return settings_; }

  private:
    template <typename Pred>
    std::vector<ClientFilter> remove_if(Pred pred);

    Settings settings_;
    Clock clock_;
    std::map<std::string, ClientFilter> filters_;
};

}  // namespace keybridge::daemon::subscriptions
