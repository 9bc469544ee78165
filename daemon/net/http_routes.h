#pragma once

#include <cstdint>
#include <ostream>  // boost/beast/http/verb.hpp streams a verb without including it
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace keybridge::daemon::net {

// What a request has proven about its sender, worked out once per request from its headers
// (HttpSession) before the route table is consulted. Each route names the one it requires.
enum class Capability : std::uint8_t {
    None,    // nothing: anyone that passed the Host check (health, preflights, the page's login)
    Caller,  // a page known by its Origin, or a local client with the cookie token (JSON-RPC)
    Token,   // the cookie token
    // The approval page: the page cookie that the page secret was exchanged for, sent from a
    // document of keybridged's own origin (http://127.0.0.1:PORT and its loopback aliases).
    // Grants the approver role (rpc::Client::approver) to the page's WebSocket.
    Approver,
};

std::string_view to_string(Capability capability);

// The capabilities one request holds.
struct Capabilities {
    bool caller = false;
    bool token = false;
    bool approver = false;

    // Whether a route requiring `required` may be served.
    bool grant(Capability required) const;
};

// One row of the HTTP route table: which requests it serves (verb and exact path, "*" for any
// path; `upgrade` rows only WebSocket upgrades, the others never), what the sender must hold, and
// the handler (HttpSession supplies its own handler type, so the table is tested without sockets).
template <class Handler>
struct Route {
    boost::beast::http::verb verb;
    std::string path;
    Capability required = Capability::None;
    bool upgrade = false;
    Handler handler;
};

// The routes in the order they were added; the first row that matches wins.
template <class Handler>
class RouteTable {
  public:
    void add(Route<Handler> route) { routes_.push_back(std::move(route)); }

    struct Match {
        const Route<Handler>* route = nullptr;  // null: no row serves this request
        bool path_known = false;                // some row has this path (405 rather than 404)
    };

    Match find(boost::beast::http::verb verb, std::string_view path, bool upgrade) const {
        Match match;
        for (const auto& r : routes_) {
            const bool path_matches = r.path == "*" || r.path == path;
            if (!path_matches) continue;
            if (r.path != "*") match.path_known = true;
            if (r.verb == verb && r.upgrade == upgrade) {
                match.route = &r;
                return match;
            }
        }
        return match;
    }

    const std::vector<Route<Handler>>& routes() const { return routes_; }

  private:
    std::vector<Route<Handler>> routes_;
};

}  // namespace keybridge::daemon::net
