#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <stop_token>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "daemon/approvals/approval_queue.h"
#include "daemon/approvals/connect_choices.h"
#include "daemon/devices/device_manager.h"
#include "daemon/events/event_hub.h"
#include "daemon/methods/pending_signings.h"
#include "daemon/options.h"
#include "daemon/read_mostly.h"
#include "daemon/rpc/dispatcher.h"
#include "daemon/serial_queue.h"
#include "daemon/signers/signer_registry.h"
#include "daemon/subscriptions/chain_feeds.h"
#include "daemon/upstream/upstream_client.h"
#include "insight/insight.h"
#include "store/chains/chain_store.h"
#include "store/permissions/permission_store.h"
#include "store/vault/vault.h"

namespace keybridge::daemon {

// The chains the daemon knows: from the configuration, the user's (chains.json, see
// apply_saved_chains), plus those added with wallet_addEthereumChain (for this run).
// Thread-safe. Every caller looks the node up per call, so a change applies at once.
class ChainRegistry {
  public:
    using Names = std::map<std::uint64_t, std::string>;

    explicit ChainRegistry(std::vector<ChainConfig> chains, std::uint64_t default_chain);
    std::optional<ChainConfig> find(std::uint64_t chain_id) const;
    bool known(std::uint64_t chain_id) const;  // as find(), without copying the chain
    // Adds the chain or replaces the known one with that id (a dApp's replacement keeps the
    // known chain's source and configured node).
    void add(ChainConfig chain);
    // Whether the chain was known (and is gone now).
    bool remove(std::uint64_t chain_id);
    // Every known chain, by chain id.
    std::vector<ChainConfig> all() const;
    std::uint64_t default_chain() const { return default_chain_; }
    // The names the user gave the chains they added (Source::User: keybridge_addChain,
    // chains.json, a dApp's chain the user kept by choosing its node), by chain id, for
    // insight's chain names. A dApp's own names are not among them (a page could call its chain
    // "Ethereum"). A new map after every add() or remove(): a different pointer means a change.
    std::shared_ptr<const Names> user_names() const;

  private:
    // Every request reads it (eth_chainId, a signature's chain) and it changes when the user or a
    // dApp adds or removes a chain: read-mostly (read_mostly.h).
    struct State {
        std::vector<ChainConfig> chains;
        std::shared_ptr<const Names> user_names;
    };
    static std::shared_ptr<const State> make_state(std::vector<ChainConfig> chains);

    std::mutex write_mutex_;  // one writer at a time: copy, change, publish
    ReadMostly<State> state_;
    std::uint64_t default_chain_;
};

// The configured chains with the user's saved ones applied (store/chains/chain_store.h): a
// saved chain of the configuration gets the user's node, any other saved chain is added as the
// user's. A configured chain keeps its configured node in configured_url.
std::vector<ChainConfig> apply_saved_chains(std::vector<ChainConfig> configured,
                                            const std::vector<chains::SavedChain>& saved);

// One stop source per connection with signing work in flight: a client that leaves stops its
// queued and running signer jobs (a device stops waiting for its button). Thread-safe.
class ConnectionStops {
  public:
    std::stop_token token_for(std::uint64_t connection_id);
    // The connection closed: its jobs' tokens fire.
    void closed(std::uint64_t connection_id);
    // The connection's work is over (an HTTP request, whose connection id is its own, was
    // answered): its source goes without firing. Without this every HTTP signature left one
    // behind (~80 bytes each, for the daemon's life).
    void release(std::uint64_t connection_id);
    // Shutdown: every token fires. Returns how many connections had one.
    std::size_t stop_all();
    // Connections with a source now.
    std::size_t tracked();

  private:
    // Sharded by connection: every signature asks for its connection's token, and the network
    // threads serve different connections, so they rarely take the same lock.
    static constexpr std::size_t kShards = 16;
    struct alignas(64) Shard {
        std::mutex mutex;
        std::map<std::uint64_t, std::stop_source> sources;
    };
    Shard& shard_of(std::uint64_t connection_id) { return shards_[connection_id % kShards]; }

    std::array<Shard, kShards> shards_;
    std::atomic<bool> stopping_{false};  // set before stop_all() empties the shards
};

// The registry's routes for the vault's accounts: seed and imported ones to the software signer,
// hardware ones to the device the vault recorded.
std::vector<signers::AccountRoute> account_routes(const std::vector<vault::Account>& accounts);

// Everything the RPC methods use, wired once by the Server. The members outlive every request.
struct Services {
    Services(const Config& c, boost::asio::any_io_executor e, boost::asio::thread_pool& b,
             permissions::PermissionStore& p, approvals::ApprovalQueue& a,
             signers::SignerRegistry& sg, EventHub& ev, upstream::UpstreamClient& u,
             ChainRegistry& ch, subscriptions::ChainFeeds& f)
        : config(c),
          executor(std::move(e)),
          blocking(b),
          permissions(p),
          approvals(a),
          signers(sg),
          events(ev),
          upstream(u),
          chains(ch),
          feeds(f) {}

    const Config& config;
    boost::asio::any_io_executor executor;
    boost::asio::thread_pool& blocking;  // KDF work and other CPU-heavy or blocking calls
    permissions::PermissionStore& permissions;
    approvals::ApprovalQueue& approvals;
    signers::SignerRegistry& signers;  // the account list, and who signs for each account
    EventHub& events;
    upstream::UpstreamClient& upstream;
    ChainRegistry& chains;
    subscriptions::ChainFeeds& feeds;  // eth_subscribe newHeads / logs

    // Hardware wallets found on USB or configured (--speculos); set by the Server at start.
    devices::DeviceManager* devices = nullptr;

    ConnectionStops stops;

    // insight_settings(): the last settings made, and the user names they were made from.
    struct InsightMade {
        std::shared_ptr<const ChainRegistry::Names> from;  // kept, so its address stays unique
        std::shared_ptr<const insight::Settings> settings;
    };
    mutable std::mutex insight_mutex;
    mutable ReadMostly<InsightMade> insight_made{std::make_shared<const InsightMade>()};
    // Set while the --password-file unlock at start runs: requests wait for it instead of
    // asking the person to unlock.
    std::atomic<bool> startup_unlock_pending{false};
    // How long a signing request's explanation waits for the audit history while keybridged
    // reads it after the start (signing_flow.cpp, after_history); past it, the explanation
    // carries the audit-history-loading warning and no approve rule matches it.
    std::chrono::milliseconds history_wait{std::chrono::seconds(10)};

    drivers::software::SoftwareSigner& software() { return signers.software(); }

    // The approver's answers to connect requests, from keybridge_decide to the waiting request.
    approvals::ConnectChoices connect_choices;

    // Signing requests in flight by origin and chain: a chain switch cancels the old chain's.
    PendingSignings pending_signings;

    // eth_sendTransaction: from approval to broadcast, one transaction at a time per chain and
    // account (see SerialQueue).
    SerialQueue send_queue;

    // The config's insight settings (Config::insight) with the names of the user's chains
    // (ChainRegistry::user_names) over them: what explanations are judged with, so that a
    // chain added with keybridge_addChain is named as the user named it, and a removed one no
    // longer. Rebuilt on the first call after a chain change. Thread-safe.
    std::shared_ptr<const insight::Settings> insight_settings() const;

    std::uint64_t chain_for(const rpc::Client& client) const;
    // Accounts the client may see: the granted ones that still exist.
    std::vector<core::Address> visible_accounts(const rpc::Client& client);
    // The vault's accounts (known even while locked), in the vault's order.
    std::vector<core::Address> all_accounts();
    // Sends accountsChanged to the origin's subscribers.
    void notify_accounts(const std::string& principal_origin);
};

// 4901 for a chain without a configured RPC node.
rpc::RpcError no_upstream_error(std::uint64_t chain);

// eth_subscribe ["newHeads"] and ["logs", filter] (daemon/methods/chain_subscriptions.cpp):
// validates, binds the subscription to the client's chain, replies with its id.
void subscribe_chain_feed(Services& services, const std::shared_ptr<const rpc::Client>& client,
                          const std::string& name, const boost::json::array& params,
                          rpc::Reply reply);

// Each area registers its rows in one function (daemon/methods/*.cpp).
void register_chain_methods(rpc::Dispatcher& dispatcher, Services& services);
void register_account_methods(rpc::Dispatcher& dispatcher, Services& services);
void register_signing_methods(rpc::Dispatcher& dispatcher, Services& services);
void register_admin_methods(rpc::Dispatcher& dispatcher, Services& services);
void register_device_methods(rpc::Dispatcher& dispatcher, Services& services);
// The approval page's management views (daemon/methods/page_methods.cpp).
void register_page_methods(rpc::Dispatcher& dispatcher, Services& services,
                           approvals::AuditLog& audit);
// The approval page's chains view and `keybridge chain` (daemon/methods/chain_admin_methods.cpp):
// keybridge_chains, keybridge_addChain, keybridge_setUpstream, keybridge_removeChain.
void register_chain_admin_methods(rpc::Dispatcher& dispatcher, Services& services,
                                  chains::ChainStore& store);

// Decrypts the vault off the network threads and hands the keys (and the BIP39 seed, for
// accounts derived later) to the software signer; requests held at the "unlock" stage move on.
// Wrong passwords are logged (never the password).
void unlock_vault(Services& services, core::SecretBuffer password,
                  std::function<void(core::Status)> done);

// Re-reads the vault's account list (the keybridge tool may have changed it); when the
// addresses differ from vault_accounts, updates it and the software signer (see
// SoftwareSigner::sync_accounts), and sends accountsChanged to the origins whose granted
// accounts appeared or disappeared. Reads files under the vault's lock: call it on the blocking
// thread (services.blocking), which also keeps it in order with unlock_vault.
void reload_vault_accounts(Services& services);

}  // namespace keybridge::daemon
