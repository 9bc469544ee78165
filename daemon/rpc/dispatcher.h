#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/json.hpp>
#include <tl/expected.hpp>

#include "daemon/events/event_sink.h"
#include "daemon/rpc/jsonrpc.h"

namespace keybridge::daemon::rpc {

// The name of a caller without an Origin (it presented the cookie token) wherever a name is
// needed: permissions, rate limits, approvals, the audit log, policy rules (origin=local).
inline constexpr std::string_view kLocalPrincipal = "local";

// Who is calling. Set by the connection (from its HTTP headers, or from the peer credentials of
// the control socket); never changes afterwards.
struct Client {
    std::string origin;  // the browser page's Origin, empty for non-browser clients
    bool token_authenticated =
        false;  // presented the cookie token (or came over the control socket)
    // Came over the control socket in the data folder from a process of the daemon's own user
    // (SO_PEERCRED): the only connections that may see and decide approvals or send the vault
    // password. The cookie token is handed to scripts; this role is not.
    bool approver = false;
    std::string session;  // who the approver is, for the audit log ("control#7 pid 1234 keybridge")
    std::uint64_t connection_id = 0;
    std::weak_ptr<EventSink> sink;  // set for WebSocket and control clients (server-pushed events)

    // The paired browser extension that relayed the request, proven by the extension's own
    // credential (the browser issue sets it); empty for every other client. An Origin header
    // alone is only a claim any local program can make, so what is granted through the extension
    // is kept under a principal of its own: a program posing as the page cannot use it.
    std::string channel;

    bool is_browser() const { return !origin.empty(); }
    // The key that permissions, chain choices, events and rate limits are kept under.
    std::string principal() const {
        if (!is_browser()) return std::string(kLocalPrincipal);
        return channel.empty() ? origin : origin + " via " + channel;
    }
};

using Outcome = tl::expected<boost::json::value, RpcError>;

// How a method answers: called once with the outcome, from any thread. A handle: its copies
// share one callable. A reply travels through every step of a request (the signing flow keeps a
// copy in each continuation), and a std::function holding a capturing lambda allocates and copies
// the captures on every copy: 15 allocations of a personal_sign were copies of its reply.
class Reply {
  public:
    Reply() = default;
    Reply(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): as std::function
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Reply> &&
                                                std::is_invocable_v<F&, Outcome>>>
    Reply(F callable)  // NOLINT(google-explicit-constructor): any callable, as std::function
        : shared_(std::make_shared<Holder<F>>(std::move(callable))) {}

    void operator()(Outcome outcome) const { shared_->call(std::move(outcome)); }
    explicit operator bool() const { return shared_ != nullptr; }

  private:
    struct Callable {
        virtual ~Callable() = default;
        virtual void call(Outcome outcome) = 0;
    };
    template <class F>
    struct Holder final : Callable {
        explicit Holder(F f) : callable(std::move(f)) {}
        void call(Outcome outcome) override { callable(std::move(outcome)); }
        F callable;
    };
    std::shared_ptr<Callable> shared_;
};

// A method handler: validates params, does its work (possibly asynchronously), then calls reply
// exactly once, from any thread.
using Handler = std::function<void(const std::shared_ptr<const Client>& client,
                                   const boost::json::value& params, Reply reply)>;

enum class Access {
    Anyone,        // any client that passed the connection checks
    TokenOnly,     // clients that proved who they are with the cookie token (scripts, the tool)
    ApproverOnly,  // the control socket only: approvals, and secrets sent to the daemon
};

// Whether `client` may call a method of this access class.
bool allowed(Access access, const Client& client);

struct MethodSpec {
    std::string name;
    std::string summary;  // shown by rpc_methods (discovery), generated from the table
    Access access = Access::Anyone;
    Handler handler;
};

// The method table. Each area registers its rows in one function; discovery is generated from it.
class Dispatcher {
  public:
    void add(MethodSpec spec);
    const MethodSpec* find(std::string_view name) const;
    std::vector<const MethodSpec*> methods() const;
    // Handles every call of a method the table lacks (open to anyone; the handler decides what
    // exists). Without one, such calls are answered -32601. Discovery does not list it.
    using Fallback =
        std::function<void(const std::shared_ptr<const Client>& client, const std::string& method,
                           const boost::json::value& params, Reply reply)>;
    void set_fallback(Fallback fallback);

    // Runs every call of the payload; `done` receives the response text, or nothing when the
    // payload held only notifications. Exceptions from handlers become -32603 and are logged.
    void dispatch(const std::shared_ptr<const Client>& client, Payload payload,
                  std::function<void(std::optional<std::string>)> done) const;

    // Runs one call as `client` (access checks included), answering through `reply`: for a
    // method that calls others on behalf of someone (keybridge_relay of the browser extension).
    void call(const std::shared_ptr<const Client>& client, const Call& call, Reply reply) const {
        run_call(client, call, std::move(reply));
    }

  private:
    void run_call(const std::shared_ptr<const Client>& client, const Call& call, Reply reply) const;
    std::map<std::string, MethodSpec, std::less<>> methods_;
    Fallback fallback_;
};

}  // namespace keybridge::daemon::rpc
