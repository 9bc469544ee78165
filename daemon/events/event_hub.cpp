#include "daemon/events/event_hub.h"

#include <vector>

#include "core/bytes.h"
#include "core/hash.h"

namespace keybridge::daemon {

bool EventHub::parse_topic(std::string_view name, Topic& out) {
    if (name == "accountsChanged")
        out = Topic::AccountsChanged;
    else if (name == "chainChanged")
        out = Topic::ChainChanged;
    else if (name == "keybridge_approvals")
        out = Topic::Approvals;
    else
        return false;
    return true;
}

std::string EventHub::subscribe(std::weak_ptr<EventSink> sink, std::uint64_t connection_id,
                                std::string origin, Topic topic) {
    // Unguessable ids: one connection cannot cancel another's subscriptions by counting.
    std::array<std::uint8_t, 8> random{};
    (void)core::random_bytes(random);
    std::lock_guard lock(mutex_);
    std::string id = core::hex_encode(random);
    ++counter_;
    subscriptions_[id] = Subscription{std::move(sink), connection_id, std::move(origin), topic};
    return id;
}

bool EventHub::unsubscribe(std::uint64_t connection_id, const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end() || it->second.connection_id != connection_id) return false;
    subscriptions_.erase(it);
    return true;
}

std::size_t EventHub::count(std::uint64_t connection_id) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [id, sub] : subscriptions_) {
        if (sub.connection_id == connection_id) ++n;
    }
    return n;
}

void EventHub::publish(Topic topic, const std::string& origin, const boost::json::value& result) {
    std::vector<std::pair<std::shared_ptr<EventSink>, std::string>> targets;
    {
        std::lock_guard lock(mutex_);
        for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
            auto sink = it->second.sink.lock();
            if (!sink) {
                it = subscriptions_.erase(it);
                continue;
            }
            if (it->second.topic == topic &&
                (topic == Topic::Approvals || it->second.origin == origin)) {
                targets.emplace_back(std::move(sink), it->first);
            }
            ++it;
        }
    }
    for (auto& [sink, id] : targets) {
        // The EIP-1193 subscription frame, built here so that events need nothing from rpc/.
        boost::json::object frame{{"jsonrpc", "2.0"}, {"method", "eth_subscription"}};
        frame["params"] = boost::json::object{{"subscription", id}, {"result", result}};
        sink->push(boost::json::serialize(frame));
    }
}

std::size_t EventHub::subscribers(Topic topic) {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
        if (it->second.sink.expired()) {
            it = subscriptions_.erase(it);
            continue;
        }
        if (it->second.topic == topic) ++count;
        ++it;
    }
    return count;
}

}  // namespace keybridge::daemon
