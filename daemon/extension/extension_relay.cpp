#include "daemon/extension/extension_relay.h"

#include <ctime>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "core/hash.h"
#include "core/secret_buffer.h"
#include "daemon/log.h"
#include "daemon/net/request_guard.h"
#include "daemon/rpc/params.h"

namespace keybridge::daemon::extension {

namespace json = boost::json;
using rpc::RpcError;

// What a page of one origin would receive on its own WebSocket, sent to the extension's current
// connection as keybridge_relayEvent {origin, event, data}: "accountsChanged" and
// "chainChanged" for the two subscriptions the relay makes for every page state, "message"
// (EIP-1193's {type: "eth_subscription", data}) for subscriptions the page made itself, and
// "requestStatus" (keybridge_requestStatus's params) for a request of the page that nobody can
// decide yet.
class OriginSink : public EventSink {
  public:
    explicit OriginSink(std::string origin) : origin_(std::move(origin)) {}

    void set_target(std::weak_ptr<EventSink> target) {
        std::lock_guard lock(mutex_);
        target_ = std::move(target);
    }
    void set_topics(std::string accounts, std::string chain) {
        std::lock_guard lock(mutex_);
        accounts_ = std::move(accounts);
        chain_ = std::move(chain);
    }

    void push(std::string text) override {
        json::error_code ec;
        json::value frame = json::parse(text, ec);
        if (ec || !frame.is_object()) return;
        const json::value* p = frame.as_object().if_contains("params");
        if (p == nullptr || !p->is_object()) return;
        const json::object& params = p->as_object();
        // keybridge_requestStatus (e.g. "no-approver" for a request waiting for a person): the
        // extension shows it, so it goes as the event "requestStatus" with the same params.
        const json::value* method = frame.as_object().if_contains("method");
        const bool status = method != nullptr && *method == "keybridge_requestStatus";
        std::string subscription;
        if (const json::value* s = params.if_contains("subscription"); s && s->is_string())
            subscription = std::string(s->as_string());
        std::shared_ptr<EventSink> target;
        json::object out{{"origin", origin_}};
        {
            std::lock_guard lock(mutex_);
            target = target_.lock();
            const json::value* result = params.if_contains("result");
            if (status) {
                out["event"] = "requestStatus";
                out["data"] = params;
            } else if (!subscription.empty() && subscription == accounts_ && result != nullptr) {
                out["event"] = "accountsChanged";
                out["data"] = *result;
            } else if (!subscription.empty() && subscription == chain_ && result != nullptr) {
                out["event"] = "chainChanged";
                out["data"] = *result;
            } else {
                out["event"] = "message";
                out["data"] = json::object{{"type", "eth_subscription"}, {"data", params}};
            }
        }
        // No connection of the extension open now (its worker was stopped): the event is lost,
        // as it would be for a page whose socket closed; the page reads the state again on
        // `connect`.
        if (!target) return;
        target->push(
            json::serialize(rpc::make_notification("keybridge_relayEvent", std::move(out))));
    }

    // The extension's own connection is what closes (the server closes it at shutdown).
    void close(int, std::string, std::string) override {}

  private:
    const std::string origin_;
    std::mutex mutex_;
    std::weak_ptr<EventSink> target_;
    std::string accounts_;
    std::string chain_;
};

bool firefox_extension_id_valid(std::string_view id) {
    // 8-4-4-4-12 lowercase hex digits, as Firefox writes the UUIDs of moz-extension:// origins.
    if (id.size() != 36) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

std::optional<std::string> extension_id_of(const rpc::Client& client) {
    for (std::string_view scheme : {"chrome-extension://", "moz-extension://"}) {
        if (client.origin.rfind(scheme, 0) != 0) continue;
        std::string id = client.origin.substr(scheme.size());
        if (!pairing::extension_id_valid(id)) return std::nullopt;
        // Firefox: the id is the per-profile UUID of the extension's origin (nothing else
        // appears there, so nothing else pairs).
        if (scheme == "moz-extension://" && !firefox_extension_id_valid(id)) return std::nullopt;
        return id;
    }
    return std::nullopt;
}

namespace {

RpcError unauthorized(std::string message) {
    return RpcError{rpc::kUnauthorized, std::move(message), std::nullopt};
}

bool is_page_origin(const std::string& origin) {
    return (origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0) &&
           net::origin_valid(origin);
}

}  // namespace

ExtensionRelay::ExtensionRelay(boost::asio::any_io_executor executor, Services& services,
                               const rpc::Dispatcher& dispatcher, pairing::PairingStore& store,
                               std::function<void(std::uint64_t)> origin_closed,
                               std::chrono::seconds grace)
    : executor_(std::move(executor)),
      services_(services),
      dispatcher_(dispatcher),
      store_(store),
      origin_closed_(std::move(origin_closed)),
      grace_(grace) {}

ExtensionRelay::~ExtensionRelay() = default;

void ExtensionRelay::register_methods(rpc::Dispatcher& d) {
    d.add({"keybridge_pair",
           "a browser extension pairs its connection (its secret, or the user's approval)",
           rpc::Access::Anyone,
           [this](const auto& client, const json::value& params, rpc::Reply reply) {
               pair(client, params, std::move(reply));
           }});
    d.add({"keybridge_relay",
           "a paired extension relays one call of a page, tagged with its origin",
           rpc::Access::Anyone,
           [this](const auto& client, const json::value& params, rpc::Reply reply) {
               relay(client, params, std::move(reply));
           }});
    d.add({"keybridge_pairings", "the paired browser extensions", rpc::Access::TokenOnly,
           [this](const auto&, const json::value& params, rpc::Reply reply) {
               if (auto p = rpc::positional(params, 0, 0); !p)
                   return reply(tl::unexpected(p.error()));
               json::array out;
               std::lock_guard lock(mutex_);
               for (const auto& p : store_.all()) {
                   auto it = channels_.find(p.extension_id);
                   json::array origins;
                   if (it != channels_.end()) {
                       for (const auto& [origin, state] : it->second.origins)
                           origins.push_back(json::string(origin));
                   }
                   out.push_back(json::object{
                       {"extensionId", p.extension_id},
                       {"name", p.name},
                       {"pairedAt", p.paired_at},
                       {"connected", it != channels_.end() && !it->second.connections.empty()},
                       {"origins", std::move(origins)}});
               }
               reply(json::value(std::move(out)));
           }});
    d.add({"keybridge_revokePairing",
           "forget a paired browser extension (its connections close, its pages' state goes)",
           rpc::Access::TokenOnly,
           [this](const auto&, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 1);
               if (!p) return reply(tl::unexpected(p.error()));
               auto id = rpc::string_at(**p, 0, "extension id");
               if (!id) return reply(tl::unexpected(id.error()));
               revoke(*id, std::move(reply));
           }});
}

void ExtensionRelay::pair(const std::shared_ptr<const rpc::Client>& client,
                          const json::value& params, rpc::Reply reply) {
    auto id = extension_id_of(*client);
    if (!id) {
        return reply(tl::unexpected(unauthorized(
            "keybridge_pair is for browser extensions (an Origin chrome-extension://ID or "
            "moz-extension://ID)")));
    }
    if (client->sink.expired()) {
        return reply(
            tl::unexpected(unauthorized("keybridge_pair needs a WebSocket: a pairing holds for the "
                                        "connection it was made on")));
    }
    auto p = rpc::positional(params, 0, 1);
    if (!p) return reply(tl::unexpected(p.error()));
    std::string name = "browser extension";
    std::optional<core::SecretBuffer> secret;
    if (!(*p)->empty()) {
        const json::object* o = (**p)[0].if_object();
        if (o == nullptr)
            return reply(tl::unexpected(rpc::invalid_params_error("params[0] must be an object")));
        if (const json::value* n = o->if_contains("name"); n != nullptr) {
            if (!n->is_string() || n->as_string().empty() || n->as_string().size() > 64)
                return reply(tl::unexpected(
                    rpc::invalid_params_error("name must be a string of 1 to 64 characters")));
            name = std::string(n->as_string());
        }
        if (const json::value* s = o->if_contains("secret"); s != nullptr) {
            if (!s->is_string())
                return reply(tl::unexpected(rpc::invalid_params_error("secret must be hex")));
            auto bytes = core::hex_decode(s->as_string());
            if (!bytes)
                return reply(tl::unexpected(rpc::invalid_params_error("secret must be hex")));
            secret = core::SecretBuffer::copy_of(core::ByteView(*bytes));
            core::secure_wipe(bytes->data(), bytes->size());
        }
    }
    if (secret && store_.verify(*id, secret->view()))
        return reply(json::value(attach(*client, *id)));

    // The user decides. A wrong secret is no reason to refuse: an extension that lost its
    // storage (reinstalled) asks this way; the approver sees that the id was paired before.
    const auto existing = store_.find(*id);
    approvals::ApprovalRequest request;
    request.origin = client->origin;
    request.authenticated = false;  // never decided by a policy rule
    request.connection_id = client->connection_id;
    request.method = "keybridge_pair";
    request.details = json::object{{"kind", "pairing"},
                                   {"extensionId", *id},
                                   {"name", name},
                                   {"pairedBefore", existing.has_value()}};
    if (existing) {
        request.warnings.push_back(approvals::Warning{
            "pairing-replaced", approvals::Severity::Warning, "This extension id was paired before",
            "Approving gives it a new secret and the old one stops working. An extension asks "
            "again this way after it lost its storage; if you did not reinstall it, another "
            "program may be posing as it."});
    }
    log::info("extension", "pairing asked by extension " + *id);
    services_.approvals.submit(
        std::move(request), [this, client, id = *id, name, reply](core::Status status) {
            if (!status) return reply(tl::unexpected(rpc::to_rpc_error(status.error())));
            auto fresh = std::make_shared<core::SecretBuffer>(32);
            if (auto random = core::random_bytes(fresh->span()); !random)
                return reply(tl::unexpected(rpc::to_rpc_error(random.error())));
            pairing::Pairing record;
            record.extension_id = id;
            record.name = name;
            record.paired_at = static_cast<std::int64_t>(std::time(nullptr));
            record.secret_hash = core::sha256(fresh->view());
            // The file is written off the network threads; the answer waits for it, so a secret
            // the extension holds is always one the file knows.
            boost::asio::post(services_.blocking, [this, client, id, record, fresh, reply]() {
                if (auto added = store_.add(record); !added) {
                    log::error("extension", "cannot store the pairing: " + added.error().detail);
                    return reply(tl::unexpected(rpc::to_rpc_error(added.error())));
                }
                log::info("extension", "paired extension " + id);
                json::object answer = attach(*client, id);
                answer["secret"] = core::hex_encode(fresh->view(), false);
                reply(json::value(std::move(answer)));
            });
        });
}

json::object ExtensionRelay::attach(const rpc::Client& client, const std::string& extension_id) {
    std::lock_guard lock(mutex_);
    Channel& channel = channels_[extension_id];
    channel.extension_id = extension_id;
    channel.extension_origin = client.origin;
    const bool resumed = !channel.origins.empty();
    if (!client.sink.expired()) {
        paired_[client.connection_id] = extension_id;
        channel.connections[client.connection_id] = client.sink;
        channel.sink = client.sink;
        for (auto& [origin, state] : channel.origins)
            state.sink->set_target(client.sink);
        channel.grace_timer.reset();  // cancels it
    }
    return json::object{{"paired", true}, {"extensionId", extension_id}, {"resumed", resumed}};
}

ExtensionRelay::OriginState* ExtensionRelay::origin_state_locked(Channel& channel,
                                                                 const std::string& origin) {
    auto it = channel.origins.find(origin);
    if (it != channel.origins.end()) return &it->second;
    if (channel.origins.size() >= kMaxOrigins) return nullptr;
    OriginState state;
    state.client = std::make_shared<rpc::Client>();
    state.client->origin = origin;
    // "ORIGIN via chrome-extension://ID", or via moz-extension://UUID for Firefox.
    state.client->channel = channel.extension_origin;
    state.client->connection_id = next_origin_connection_++;
    state.sink = std::make_shared<OriginSink>(origin);
    state.sink->set_target(channel.sink);
    state.client->sink = state.sink;
    // The page's EIP-1193 events, as if it had subscribed itself.
    const std::string principal = state.client->principal();
    state.sink->set_topics(services_.events.subscribe(state.sink, state.client->connection_id,
                                                      principal, EventHub::Topic::AccountsChanged),
                           services_.events.subscribe(state.sink, state.client->connection_id,
                                                      principal, EventHub::Topic::ChainChanged));
    return &channel.origins.emplace(origin, std::move(state)).first->second;
}

void ExtensionRelay::relay(const std::shared_ptr<const rpc::Client>& client,
                           const json::value& params, rpc::Reply reply) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) return reply(tl::unexpected(p.error()));
    const json::object* o = (**p)[0].if_object();
    if (o == nullptr)
        return reply(tl::unexpected(rpc::invalid_params_error("params[0] must be an object")));
    const json::value* origin_value = o->if_contains("origin");
    const json::value* method_value = o->if_contains("method");
    if (origin_value == nullptr || !origin_value->is_string() ||
        !is_page_origin(std::string(origin_value->as_string()))) {
        return reply(tl::unexpected(rpc::invalid_params_error(
            "origin must be a page's origin (http:// or https://, host and port only)")));
    }
    if (method_value == nullptr || !method_value->is_string() || method_value->as_string().empty())
        return reply(tl::unexpected(rpc::invalid_params_error("method must be a string")));
    json::value inner_params;
    if (const json::value* ip = o->if_contains("params"); ip != nullptr) {
        if (!ip->is_array() && !ip->is_object() && !ip->is_null())
            return reply(
                tl::unexpected(rpc::invalid_params_error("params must be an array or an object")));
        inner_params = *ip;
    }
    std::string key;
    if (const json::value* k = o->if_contains("key"); k != nullptr) {
        if (!k->is_string() || k->as_string().empty() || k->as_string().size() > 100)
            return reply(tl::unexpected(
                rpc::invalid_params_error("key must be a string of 1 to 100 characters")));
        key = std::string(k->as_string());
    }
    const std::string origin(origin_value->as_string());

    std::shared_ptr<const rpc::Client> page;
    std::string extension_id;
    rpc::Reply superseded;
    {
        std::lock_guard lock(mutex_);
        auto paired = paired_.find(client->connection_id);
        if (paired == paired_.end()) {
            return reply(tl::unexpected(
                unauthorized("keybridge_relay needs a connection paired with keybridge_pair")));
        }
        extension_id = paired->second;
        Channel& channel = channels_[extension_id];
        if (OriginState* state = origin_state_locked(channel, origin); state != nullptr)
            page = state->client;
    }
    // Each page origin has the rate limit a page of its own would have: the extension's
    // connection is not limited itself, so one noisy site cannot use up the others' share.
    if (page && admit_ && !admit_(*page)) {
        return reply(tl::unexpected(RpcError{
            rpc::kLimitExceeded, "request rate limit exceeded for " + origin, std::nullopt}));
    }
    page.reset();
    {
        std::lock_guard lock(mutex_);
        auto paired = paired_.find(client->connection_id);
        if (paired == paired_.end()) {
            return reply(tl::unexpected(
                unauthorized("keybridge_relay needs a connection paired with keybridge_pair")));
        }
        extension_id = paired->second;
        Channel& channel = channels_[extension_id];
        if (!key.empty()) {
            auto it = channel.pending.find(key);
            if (it != channel.pending.end()) {
                if (it->second.outcome) {
                    // Asked again after the connection that asked first went away: the answer
                    // kept for it.
                    rpc::Outcome outcome = std::move(*it->second.outcome);
                    channel.pending.erase(it);
                    return reply(std::move(outcome));
                }
                // Still running: the answer goes to this connection instead.
                if (it->second.connection != 0) superseded = std::move(it->second.reply);
                it->second.connection = client->connection_id;
                it->second.reply = std::move(reply);
                if (superseded)
                    superseded(tl::unexpected(
                        RpcError{rpc::kResourceUnavailable,
                                 "the same request (key) was relayed again: the answer goes there",
                                 std::nullopt}));
                return;
            }
            // Answers nobody came back for are dropped after a while.
            const auto now = std::chrono::steady_clock::now();
            for (auto i = channel.pending.begin(); i != channel.pending.end();) {
                if (i->second.outcome && now - i->second.parked_at > kParkedAnswerLife)
                    i = channel.pending.erase(i);
                else
                    ++i;
            }
            if (channel.pending.size() >= kMaxPending) {
                return reply(tl::unexpected(RpcError{
                    rpc::kLimitExceeded,
                    "too many relayed requests waiting (" + std::to_string(kMaxPending) + ")",
                    std::nullopt}));
            }
        }
        OriginState* state = origin_state_locked(channel, origin);
        if (state == nullptr) {
            return reply(tl::unexpected(RpcError{
                rpc::kLimitExceeded,
                "the extension relays for too many origins (" + std::to_string(kMaxOrigins) + ")",
                std::nullopt}));
        }
        page = state->client;
        if (!key.empty()) {
            Pending& pending = channel.pending[key];
            pending.connection = client->connection_id;
            pending.reply = reply;
        }
    }

    rpc::Call call;
    call.id = json::value(0);
    call.id_text = "0";
    call.method = std::string(method_value->as_string());
    call.params = std::move(inner_params);
    if (key.empty()) return dispatcher_.call(page, call, std::move(reply));
    dispatcher_.call(page, call, [this, extension_id, key](rpc::Outcome outcome) {
        answered(extension_id, key, std::move(outcome));
    });
}

bool ExtensionRelay::paired(std::uint64_t connection_id) {
    std::lock_guard lock(mutex_);
    return paired_.count(connection_id) != 0;
}

std::shared_ptr<EventSink> ExtensionRelay::origin_sink(std::uint64_t connection_id) {
    std::lock_guard lock(mutex_);
    for (const auto& [id, channel] : channels_) {
        for (const auto& [origin, state] : channel.origins) {
            if (state.client->connection_id == connection_id) return state.sink;
        }
    }
    return nullptr;
}

void ExtensionRelay::answered(const std::string& extension_id, const std::string& key,
                              rpc::Outcome outcome) {
    rpc::Reply target;
    {
        std::lock_guard lock(mutex_);
        auto channel = channels_.find(extension_id);
        if (channel == channels_.end()) return;  // dropped (grace over, or revoked)
        auto it = channel->second.pending.find(key);
        if (it == channel->second.pending.end()) return;
        if (it->second.connection != 0 && it->second.reply) {
            target = std::move(it->second.reply);
            channel->second.pending.erase(it);
        } else {
            it->second.outcome = std::move(outcome);
            it->second.parked_at = std::chrono::steady_clock::now();
            return;
        }
    }
    target(std::move(outcome));
}

void ExtensionRelay::connection_closed(std::uint64_t connection_id) {
    std::lock_guard lock(mutex_);
    auto paired = paired_.find(connection_id);
    if (paired == paired_.end()) return;
    auto channel = channels_.find(paired->second);
    paired_.erase(paired);
    if (channel == channels_.end()) return;
    Channel& c = channel->second;
    c.connections.erase(connection_id);
    for (auto& [key, pending] : c.pending) {
        if (pending.connection != connection_id) continue;
        // Nobody reads this connection any more: the answer waits for the next one.
        pending.connection = 0;
        pending.reply = nullptr;
    }
    if (!c.connections.empty()) {
        c.sink = c.connections.rbegin()->second;
        for (auto& [origin, state] : c.origins)
            state.sink->set_target(c.sink);
        return;
    }
    c.sink.reset();
    start_grace_locked(c);
}

void ExtensionRelay::start_grace_locked(Channel& channel) {
    channel.grace_timer = std::make_unique<boost::asio::steady_timer>(executor_, grace_);
    channel.grace_timer->async_wait([this,
                                     id = channel.extension_id](boost::system::error_code ec) {
        if (ec) return;
        std::vector<std::uint64_t> closed;
        {
            std::lock_guard lock(mutex_);
            auto it = channels_.find(id);
            if (it == channels_.end() || !it->second.connections.empty()) return;
            log::info("extension", "extension " + id + " stayed away: its pages' state is dropped");
            closed = drop_channel_locked(id);
        }
        for (auto connection : closed)
            origin_closed_(connection);
    });
}

std::vector<std::uint64_t> ExtensionRelay::drop_channel_locked(const std::string& extension_id) {
    std::vector<std::uint64_t> closed;
    auto it = channels_.find(extension_id);
    if (it == channels_.end()) return closed;
    for (auto& [origin, state] : it->second.origins) {
        state.sink->set_target({});
        closed.push_back(state.client->connection_id);
    }
    for (const auto& [connection, sink] : it->second.connections)
        paired_.erase(connection);
    // The timer may be the one running this: destroying it from its own handler is allowed.
    channels_.erase(it);
    return closed;
}

void ExtensionRelay::revoke(const std::string& extension_id, rpc::Reply reply) {
    boost::asio::post(services_.blocking, [this, extension_id, reply]() {
        auto revoked = store_.revoke(extension_id);
        if (!revoked) return reply(tl::unexpected(rpc::to_rpc_error(revoked.error())));
        std::vector<std::uint64_t> closed;
        std::vector<std::shared_ptr<EventSink>> sockets;
        {
            std::lock_guard lock(mutex_);
            if (auto it = channels_.find(extension_id); it != channels_.end()) {
                for (const auto& [connection, sink] : it->second.connections) {
                    if (auto s = sink.lock()) sockets.push_back(std::move(s));
                }
                closed = drop_channel_locked(extension_id);
            }
        }
        // Pending relays of its pages are answered by the approval queue (Disconnected).
        for (auto connection : closed)
            origin_closed_(connection);
        for (auto& socket : sockets)
            socket->close(4100, "pairing revoked");
        if (*revoked) log::info("extension", "pairing of extension " + extension_id + " revoked");
        reply(json::value(*revoked));
    });
}

}  // namespace keybridge::daemon::extension
