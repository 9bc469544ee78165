#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/json.hpp>

#include "daemon/events/event_sink.h"

namespace keybridge::daemon {

// Server-pushed events over WebSocket (EIP-1193 accountsChanged / chainChanged, and approval
// requests for approvers). Clients subscribe with eth_subscribe; events arrive as
//   {"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x…","result":…}}
// Thread-safe; subscriptions of closed connections are dropped lazily.
class EventHub {
  public:
    enum class Topic { AccountsChanged, ChainChanged, Approvals };

    // Returns the subscription id ("0x" + 16 hex digits).
    std::string subscribe(std::weak_ptr<EventSink> sink, std::uint64_t connection_id,
                          std::string origin, Topic topic);
    bool unsubscribe(std::uint64_t connection_id, const std::string& id);
    // Subscriptions the connection holds here (for the per-connection limit).
    std::size_t count(std::uint64_t connection_id);

    // Sends result to every subscriber of topic whose origin is `origin` (empty origin = the
    // local token clients; for Approvals the origin is ignored).
    void publish(Topic topic, const std::string& origin, const boost::json::value& result);

    // How many live connections subscribe to `topic` (for Approvals: the approvers listening).
    std::size_t subscribers(Topic topic);

    static bool parse_topic(std::string_view name, Topic& out);

  private:
    struct Subscription {
        std::weak_ptr<EventSink> sink;
        std::uint64_t connection_id;
        std::string origin;
        Topic topic;
    };
    std::mutex mutex_;
    std::map<std::string, Subscription> subscriptions_;
    std::uint64_t counter_ = 0;
};

}  // namespace keybridge::daemon
