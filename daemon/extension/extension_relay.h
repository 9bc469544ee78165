#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/rpc/dispatcher.h"
#include "daemon/services.h"
#include "store/pairing/pairing_store.h"

namespace keybridge::daemon::extension {

class OriginSink;

// The browser extension's side of keybridged (docs/RPC.md, "The browser extension").
//
// An extension connects over WebSocket with its own Origin (chrome-extension://ID) and pairs:
// keybridge_pair with the secret handed to it at its first pairing, or, without a valid one, an
// approval of kind "pairing" that an approver decides (on approval a new secret is generated,
// only its SHA-256 is stored in the PairingStore, the secret itself goes back to the extension
// once). A paired connection may then relay the calls of the pages it serves with
// keybridge_relay, each tagged with the page's origin. Every (extension, page origin) pair has
// its own rpc::Client, kept here and not on the connection: its principal is
// "ORIGIN via chrome-extension://ID", it has its own connection id (approvals, subscriptions,
// filters and signer jobs are kept under it) and an event sink that wraps what the page would
// have received as keybridge_relayEvent notifications to the extension's current connection.
//
// The extension's background worker is stopped by the browser when idle, which closes its
// WebSocket. So that no answer is lost, the page state outlives the connection: a relayed call
// with a `key` whose connection went away keeps running, and its answer is kept (for
// kParkedAnswerLife) until a connection of the same extension relays the same key again. Only
// when no connection of the extension has been open for `grace` is its page state dropped (as
// if each page had disconnected: its pending approvals leave the queue).
//
// Thread-safe; handlers may run on any thread.
class ExtensionRelay {
  public:
    // `origin_closed` is what the server does for a connection that ended (approvals, signer
    // jobs, feeds); it is called with the connection id of each page state that is dropped.
    ExtensionRelay(boost::asio::any_io_executor executor, Services& services,
                   const rpc::Dispatcher& dispatcher, pairing::PairingStore& store,
                   std::function<void(std::uint64_t)> origin_closed,
                   std::chrono::seconds grace = std::chrono::seconds(120));
    ~ExtensionRelay();

    // keybridge_pair, keybridge_relay, keybridge_pairings, keybridge_revokePairing.
    void register_methods(rpc::Dispatcher& dispatcher);

    // Whether the connection is a paired extension's (keybridge_pair succeeded on it).
    bool paired(std::uint64_t connection_id);

    // The event sink of the page state with this connection id (what the page would receive,
    // wrapped as keybridge_relayEvent), or null when no page state has it.
    std::shared_ptr<EventSink> origin_sink(std::uint64_t connection_id);

    // Asked before each relayed call runs, with the page's client: false refuses the call with
    // -32005 (the server's per-principal rate limit). Unset: every call runs.
    void set_admission(std::function<bool(const rpc::Client&)> admit) { admit_ = std::move(admit); }

    // A WebSocket ended: if it was a paired extension's, its waiting relays keep their answers
    // for the next connection, and the grace period starts when it was the extension's last.
    void connection_closed(std::uint64_t connection_id);

    // How many answers one extension may have parked or waiting, and how long a parked answer
    // is kept.
    static constexpr std::size_t kMaxPending = 256;
    static constexpr std::chrono::minutes kParkedAnswerLife{10};
    // How many page origins one extension may hold state for at once.
    static constexpr std::size_t kMaxOrigins = 512;

  private:
    struct OriginState {
        std::shared_ptr<rpc::Client> client;
        std::shared_ptr<OriginSink> sink;
    };
    struct Pending {
        std::uint64_t connection = 0;  // whose reply waits; 0 once that connection is gone
        rpc::Reply reply;
        std::optional<rpc::Outcome> outcome;  // the answer, parked until fetched
        std::chrono::steady_clock::time_point parked_at{};
    };
    struct Channel {
        std::string extension_id;
        // The extension's own origin, as it paired: chrome-extension://ID or
        // moz-extension://UUID (Firefox).
        std::string extension_origin;
        std::map<std::string, OriginState> origins;
        // Paired connections open now, and the latest of them: where events go.
        std::map<std::uint64_t, std::weak_ptr<EventSink>> connections;
        std::weak_ptr<EventSink> sink;
        std::map<std::string, Pending> pending;  // by the extension's request key
        std::unique_ptr<boost::asio::steady_timer> grace_timer;
    };

    void pair(const std::shared_ptr<const rpc::Client>& client, const boost::json::value& params,
              rpc::Reply reply);
    void relay(const std::shared_ptr<const rpc::Client>& client, const boost::json::value& params,
               rpc::Reply reply);
    void revoke(const std::string& extension_id, rpc::Reply reply);
    // Marks the connection paired with the extension; the answer to keybridge_pair.
    boost::json::object attach(const rpc::Client& client, const std::string& extension_id);
    // The page state of `origin` (created on first use). Called with mutex_ held.
    OriginState* origin_state_locked(Channel& channel, const std::string& origin);
    // The answer of a relayed call with a key: to its waiting connection, or parked.
    void answered(const std::string& extension_id, const std::string& key, rpc::Outcome outcome);
    // Drops the page state of an extension (grace period over, or pairing revoked); returns
    // the connection ids to report closed (outside the lock).
    std::vector<std::uint64_t> drop_channel_locked(const std::string& extension_id);
    void start_grace_locked(Channel& channel);

    boost::asio::any_io_executor executor_;
    Services& services_;
    const rpc::Dispatcher& dispatcher_;
    pairing::PairingStore& store_;
    std::function<void(std::uint64_t)> origin_closed_;
    std::function<bool(const rpc::Client&)> admit_;
    std::chrono::seconds grace_;

    std::mutex mutex_;
    std::map<std::string, Channel> channels_;            // by extension id
    std::map<std::uint64_t, std::string> paired_;        // connection id -> extension id
    std::uint64_t next_origin_connection_ = 1ULL << 48;  // apart from the sessions' ids
};

// The extension id of a client whose Origin is chrome-extension://ID or moz-extension://ID,
// when that id is well-formed.
std::optional<std::string> extension_id_of(const rpc::Client& client);

// Whether `id` is what Firefox puts after moz-extension://: the extension's per-profile UUID
// (8-4-4-4-12 lowercase hex digits). Firefox extensions pair by that UUID.
bool firefox_extension_id_valid(std::string_view id);

}  // namespace keybridge::daemon::extension
