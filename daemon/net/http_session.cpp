#include "daemon/net/http_session.h"

#include <poll.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>

#include "daemon/log.h"
#include "daemon/thread_scheduling.h"
#include "daemon/turn_end.h"
#include "daemon/net/http_reply.h"
#include "daemon/net/page_access.h"
#include "daemon/net/request_guard.h"
#include "daemon/net/ui_assets.h"
#include "daemon/net/ws_session.h"

namespace keybridge::daemon::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr const char* kServerName = "keybridged";
constexpr std::string_view kPageSocketPath = "/ui/ws";
// Where a paired extension's one-time code is exchanged for the page cookie (keybridge_pageLogin).
constexpr std::string_view kPageCodeLoginPath = "/ui/login-code";

// Bytes read ahead while a request is being answered (a pipelining client's next requests).
// Beyond this the watch read stops and TCP flow control holds the rest; a client that goes
// away after filling it is then only noticed when its reply is written.
constexpr std::size_t kWatchBufferLimit = 64 * 1024;
constexpr std::size_t kWatchChunk = 16 * 1024;
// What a request read asks the socket for at least (most requests fit).
constexpr std::size_t kReadChunk = 2048;
// The interim response that tells a half-closed client from a closed one (see the header).
constexpr std::string_view kProbe = "HTTP/1.1 102 Processing\r\n\r\n";
// After a probe is written: how long the client's system may take to answer it with a reset.
// Listeners are loopback only, where the reset comes back within microseconds.
constexpr auto kProbeSettle = std::chrono::milliseconds(100);
// While a half-closed client waits: how often it is probed again.
constexpr auto kProbeInterval = std::chrono::seconds(5);

// True when the peer has reset the connection (POLLERR/POLLHUP): after it closed, the probe
// made its system answer with a reset. A half-closed peer shows only POLLIN (end of stream).
bool peer_reset(int fd) {
    pollfd p{};
    p.fd = fd;
    p.events = POLLIN;
    if (::poll(&p, 1, 0) < 0) return false;
    return (p.revents & (POLLERR | POLLHUP)) != 0;
}

// CORS: answers name the requesting origin, never "*", and only for well-formed origins.
void add_cors(http::response<http::string_body>& res, const std::string& origin) {
    if (origin.empty() || !origin_valid(origin)) return;
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::vary, "Origin");
}

// A client-supplied header value for the log: bounded, control characters replaced.
std::string printable(std::string_view text) {
    std::string out(text.substr(0, 100));
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return text.size() > 100 ? out + "..." : out;
}

std::string rpc_error_body(int code, std::string_view message) {
    return json::serialize(rpc::make_error(nullptr, rpc::RpcError{code, std::string(message), {}}));
}

}  // namespace

HttpSession::HttpSession(boost::asio::ip::tcp::socket socket, ServerContext& ctx,
                         std::uint16_t port, ConnectionSlot slot)
    : stream_(NetStream(std::move(socket))),
      ctx_(ctx),
      port_(port),
      slot_(std::move(slot)),
      probe_timer_(stream_.get_executor()),
      deadline_timer_(stream_.get_executor()) {}

void HttpSession::start_deadline(unsigned timeout_s) {
    ++deadline_op_;
    deadline_timeout_ms_ = std::uint64_t{timeout_s} * 1000;
    const std::uint64_t period = std::max<std::uint64_t>(deadline_timeout_ms_ / 4, 1);
    // Already checking often enough: nothing to do (the common case, no timer operation).
    if (deadline_armed_ && deadline_period_ms_ <= period) return;
    arm_deadline_check(period);
}

void HttpSession::arm_deadline_check(std::uint64_t period_ms) {
    deadline_armed_ = true;
    deadline_period_ms_ = period_ms;
    deadline_timer_.expires_after(std::chrono::milliseconds(period_ms));
    // Weak: the timer must not keep a finished session (or one handed to a WebSocket) alive.
    deadline_timer_.async_wait(
        [weak = weak_from_this(), generation = ++deadline_generation_](beast::error_code ec) {
            auto self = weak.lock();
            if (!self || ec || generation != self->deadline_generation_) return;
            self->check_deadline();
        });
}

void HttpSession::check_deadline() {
    deadline_armed_ = false;
    if (gone_ || (!reading_ && !writing_)) return;  // the next timed operation re-arms
    if (deadline_op_ != deadline_seen_op_) {
        deadline_seen_op_ = deadline_op_;
        deadline_waited_ms_ = 0;
    }
    deadline_waited_ms_ += deadline_period_ms_;
    // The operation started within a period before its first check: past timeout + period, it
    // has waited at least the timeout.
    if (deadline_waited_ms_ >= deadline_timeout_ms_ + deadline_period_ms_) {
        log::debug("net", std::string("closing an HTTP connection: ") +
                              (reading_ ? "no complete request" : "the client reads no answer") +
                              " within " + std::to_string(deadline_timeout_ms_ / 1000) + " s");
        // As Beast's timeout did: the pending read or write ends with an error, which closes.
        beast::error_code ignored;
        stream_.socket().close(ignored);
        return;
    }
    arm_deadline_check(deadline_period_ms_);
}

void HttpSession::run() {
    boost::asio::dispatch(stream_.get_executor(),
                          beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
    parser_.emplace();
    parser_->body_limit(ctx_.config.max_request_bytes);
    parser_->header_limit(kHeaderLimit);
    if (peer_eof_) {
        // The watch read the client's end of stream (it half-closed): what it sent before is in
        // buffer_ and nothing more can come, so this read cannot block. An asynchronous read
        // would never complete: the reactor already delivered the socket's last readiness
        // event (to the watch) and waits for another.
        beast::error_code ec;
        http::read(stream_, buffer_, *parser_, ec);
        return on_read(ec, 0);
    }
    // Room for a whole request in one read: Beast reads max(512, free capacity) bytes at a
    // time, so a 1.4 KB typed-data request took three recvmsg calls. (Each request wipes the
    // whole capacity afterwards: 2 KiB, not more.)
    if (buffer_.capacity() < kReadChunk) buffer_.reserve(kReadChunk);
    // The first request must arrive quickly (slowloris); later ones may idle longer.
    start_deadline(first_request_ ? ctx_.config.handshake_timeout_s : ctx_.config.idle_timeout_s);
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
    if (held_) push_when_reading_waits();
}

// Pipelined requests (a client that sends the next request before the answer to the last one,
// as HTTP/1.1 allows) are answered one after the other, each answer in a write of its own. While
// the next request is already in buffer_, the answer is sent with MSG_MORE: the kernel holds it
// until the next answer's write, so that the answers to requests read together go out together,
// in one segment. What is held is pushed out as soon as a read has to wait for the client:
// Beast completes a read from a buffer that holds a whole request by posting it, so a check
// posted right after starting the read runs after that completion, and finds the read still
// outstanding only when the request was not all there.
bool HttpSession::send_held(std::string& text, bool close) {
    if (close || buffer_.size() == 0) return false;
    // An answer nearly always fits the socket's buffer at once; what does not goes out by the
    // asynchronous write (without MSG_MORE, which pushes what was held).
    const ssize_t sent = ::send(stream_.socket().native_handle(), text.data(), text.size(),
                                MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent <= 0) return false;  // EAGAIN, or an error the asynchronous write will report
    held_ = true;
    if (static_cast<std::size_t>(sent) < text.size()) {
        text.erase(0, static_cast<std::size_t>(sent));
        return false;
    }
    return true;
}

void HttpSession::push_held() {
    if (!held_) return;
    held_ = false;
    push_pending(stream_.socket().native_handle());
}

void HttpSession::push_when_reading_waits() {
    boost::asio::post(stream_.get_executor(), [self = shared_from_this(), read = ++reads_started_] {
        if (read != self->reads_started_ || !self->reading_ || self->gone_) return;
        self->push_held();
    });
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == boost::asio::error::connection_reset || ec == boost::asio::error::operation_aborted) {
        return do_close();
    }
    if (ec == http::error::body_limit) {
        return send_error(
            http::status::payload_too_large,
            rpc_error_body(rpc::kLimitExceeded, "request body larger than " +
                                                    std::to_string(ctx_.config.max_request_bytes) +
                                                    " bytes"),
            true);
    }
    if (ec == http::error::header_limit) {
        return send_error(http::status::request_header_fields_too_large, "headers too large", true);
    }
    if (ec) {
        log::debug("net", "bad HTTP request: " + ec.message());
        return send_error(http::status::bad_request, "malformed HTTP request", true);
    }
    first_request_ = false;
    wipe_consumed(buffer_);  // the request's raw bytes; the parser copied what it needs
    // Bytes left in the buffer: the client sent its next request before this answer.
    network_scheduling::note_request(buffer_.size() != 0);
    handle(parser_->release());
}

const RouteTable<HttpSession::RouteHandler>& HttpSession::routes() {
    static const RouteTable<RouteHandler> table = [] {
        using http::verb;
        RouteTable<RouteHandler> t;
        // CORS and Private Network Access preflights, on any path.
        t.add({verb::options, "*", Capability::None, false, &HttpSession::serve_preflight});
        t.add({verb::get, "/health", Capability::None, false, &HttpSession::serve_health});
        t.add({verb::post, "/", Capability::Caller, false, &HttpSession::serve_rpc});
        t.add({verb::get, "/", Capability::Caller, true, &HttpSession::serve_websocket});
        // The approval page: its files need the page cookie, which the secret buys at /ui/login.
        for (const UiAsset& asset : ui_assets()) {
            t.add({verb::get, std::string(asset.path), Capability::Approver, false,
                   &HttpSession::serve_page_file});
        }
        t.add({verb::post, std::string(PageAccess::kLoginPath), Capability::None, false,
               &HttpSession::serve_page_login});
        t.add({verb::get, std::string(kPageCodeLoginPath), Capability::None, false,
               &HttpSession::serve_page_code_login});
        t.add({verb::get, std::string(kPageSocketPath), Capability::Approver, true,
               &HttpSession::serve_page_socket});
        return t;
    }();
    return table;
}

void HttpSession::handle(Request req) {
    // 0. One Host, Origin and Authorization each: the checks below read only the first.
    const IdentityHeaders headers = identity_headers(req.base());
    if (auto repeated = headers.repeated) {
        refused(400, "repeated " + std::string(*repeated) + " header");
        return send_error(http::status::bad_request,
                          "repeated " + std::string(*repeated) + " header", true);
    }
    // 1. DNS rebinding: refuse any Host that is not our loopback address, before anything else.
    if (!host_allowed(headers.host, port_)) {
        refused(403, "Host not allowed: '" + printable(headers.host) + "'");
        return send_error(http::status::forbidden,
                          "Host not allowed: keybridged answers only to "
                          "127.0.0.1, localhost or [::1] with its port",
                          true);
    }
    const std::string_view path = target_path(req.target());
    const bool upgrade = beast::websocket::is_upgrade(req);
    const auto match = routes().find(req.method(), path, upgrade);

    // 2. Origin: a well-formed one or none. "null" (a file:// page, a sandboxed frame) only where
    // what the request carries proves enough by itself: the launcher file posting the secret.
    Caller caller;
    caller.origin = std::string(headers.origin);
    const bool null_login = caller.origin == "null" && match.route != nullptr &&
                            match.route->handler == &HttpSession::serve_page_login;
    if (!caller.origin.empty() && !origin_valid(caller.origin) && !null_login) {
        refused(403, "Origin not allowed: '" + printable(caller.origin) + "'");
        return send_error(http::status::forbidden, "Origin not allowed", true);
    }
    const std::string& origin = caller.origin;

    // 3. What the request proves: the cookie token; the page cookie from our own origin.
    auto token = presented_token(headers.authorization, req.target());
    caller.capabilities.token = token && token_matches(*token, ctx_.cookie_token);
    caller.capabilities.caller =
        caller.capabilities.token || (!origin.empty() && origin_valid(origin));
    if (ctx_.page) {
        // Only the cookie named for our port: another keybridged's (same host) is not ours.
        auto cookie = cookie_value(req[http::field::cookie], PageAccess::cookie_name(port_));
        caller.capabilities.approver = cookie && ctx_.page->cookie_matches(*cookie) &&
                                       (origin.empty() || own_origin(origin, port_));
    }

    if (match.route == nullptr) {
        if (match.path_known && !upgrade) {
            return send_error(http::status::method_not_allowed,
                              path == "/" ? "use POST for JSON-RPC" : "method not allowed", false,
                              origin);
        }
        return send_error(http::status::not_found, "no such path", !match.path_known && upgrade,
                          origin);
    }
    if (!caller.capabilities.grant(match.route->required)) {
        return refuse_capability(match.route->required, caller, token.has_value());
    }
    (this->*(match.route->handler))(std::move(req), caller);
}

void HttpSession::refuse_capability(Capability required, const Caller& caller,
                                    bool presented_token) {
    if (required == Capability::Approver) {
        refused(403, "approval page without its cookie (or from another origin)");
        // Nothing of the page: no file, no socket, only how to get in.
        return send_error(http::status::forbidden,
                          "the approval page opens with `keybridge ui` (its secret changes at "
                          "every start of keybridged)",
                          true);
    }
    refused(401, presented_token ? "wrong token (a stale .cookie? it changes at every start)"
                                 : "no Origin and no token");
    send_error(http::status::unauthorized,
               rpc_error_body(rpc::kUnauthorized,
                              "clients without an Origin must present the token from "
                              "the .cookie file (Authorization: Bearer or ?token=)"),
               false, caller.origin);
}

std::shared_ptr<rpc::Client> HttpSession::make_client(const Caller& caller) const {
    auto client = std::make_shared<rpc::Client>();
    client->origin = caller.origin;
    client->connection_id = ctx_.next_connection_id.fetch_add(1);
    client->token_authenticated = caller.capabilities.token;
    return client;
}

void HttpSession::serve_preflight(Request req, const Caller& caller) {
    Response res{http::status::no_content, req.version()};
    res.set(http::field::server, kServerName);
    add_cors(res, caller.origin);
    if (!caller.origin.empty()) {
        res.set(http::field::access_control_allow_methods, "POST, GET, OPTIONS");
        res.set(http::field::access_control_allow_headers, "Content-Type, Authorization");
        res.set(http::field::access_control_max_age, "600");
        // Private Network Access: a public page may reach us on purpose (that is what a
        // wallet provider is for); every sensitive call still needs the user's approval.
        if (req["Access-Control-Request-Private-Network"] == "true") {
            res.set("Access-Control-Allow-Private-Network", "true");
        }
    }
    res.keep_alive(req.keep_alive());
    send(std::move(res));
}

void HttpSession::serve_health(Request req, const Caller& caller) {
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, kServerName);
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    add_cors(res, caller.origin);
    // Any page may ask whether keybridged is there; whether the vault is unlocked (and the
    // rest) only the token's holder learns.
    const bool detailed = caller.capabilities.token && ctx_.health;
    res.body() = json::serialize(detailed ? ctx_.health() : json::object{{"status", "up"}});
    res.keep_alive(req.keep_alive());
    send(std::move(res));
}

void HttpSession::serve_websocket(Request req, const Caller& caller) {
    auto client = make_client(caller);
    if (!client->token_authenticated && !slot_.claim_page_share()) {
        refused(503, "WebSocket without the token: pages hold their share of " +
                         std::to_string(ctx_.config.max_connections) + " connections");
        return send_error(http::status::service_unavailable,
                          "too many WebSocket connections from pages; try again later", true);
    }
    parser_.reset();
    push_held();  // the 101 goes out now, whatever follows
    auto ws =
        std::make_shared<WsSession>(std::move(stream_), ctx_, std::move(slot_), std::move(*client));
    ws->run(std::move(req));
}

void HttpSession::serve_rpc(Request req, const Caller& caller) {
    // A JSON content type makes browsers preflight, so a page cannot post here blindly.
    auto content_type = req[http::field::content_type];
    if (!content_type_is_json(content_type)) {
        refused(415, "Content-Type '" + printable(content_type) + "' is not application/json");
        return send_error(http::status::unsupported_media_type,
                          "Content-Type must be application/json", false, caller.origin);
    }
    handle_rpc(std::move(req), make_client(caller));
}

namespace {

// The headers of everything the approval page is made of: its own files only (no inline script,
// no other site), never framed, never cached, never sniffed. `host` is the request's Host (checked:
// a loopback name with our port), the one address the page's WebSocket may reach.
void add_page_headers(http::response<http::string_body>& res, std::string_view host) {
    const std::string ws = "ws://" + std::string(host);
    res.set("Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self' " +
                ws + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.set("Cross-Origin-Resource-Policy", "same-origin");
    res.set("Cross-Origin-Opener-Policy", "same-origin");
    res.set(http::field::cache_control, "no-store");
}

}  // namespace

void HttpSession::serve_page_file(Request req, const Caller&) {
    const std::string_view path = target_path(req.target());
    for (const UiAsset& asset : ui_assets()) {
        if (asset.path != path) continue;
        Response res{http::status::ok, req.version()};
        res.set(http::field::server, kServerName);
        const bool text = asset.content_type.substr(0, 5) == "text/";
        res.set(http::field::content_type,
                std::string(asset.content_type) + (text ? "; charset=utf-8" : ""));
        add_page_headers(res, req[http::field::host]);
        res.body() = std::string(asset.body);
        res.keep_alive(req.keep_alive());
        return send(std::move(res));
    }
    send_error(http::status::not_found, "no such path", false);
}

void HttpSession::serve_page_login(Request req, const Caller&) {
    if (!ctx_.page) return send_error(http::status::not_found, "no such path", true);
    auto content_type = req[http::field::content_type];
    const bool form =
        content_type.substr(0, content_type.find(';')) == "application/x-www-form-urlencoded";
    auto secret = form ? form_value(req.body(), "secret") : std::nullopt;
    if (!secret || !ctx_.page->secret_matches(*secret)) {
        refused(403, secret ? "wrong page secret" : "page login without a secret");
        return send_error(http::status::forbidden,
                          "wrong or missing page secret: open the page with `keybridge ui` (the "
                          "secret changes at every start of keybridged)",
                          true);
    }
    send_page_cookie_and_move_on(req);
}

void HttpSession::serve_page_code_login(Request req, const Caller&) {
    if (!ctx_.page || !ctx_.login_codes)
        return send_error(http::status::not_found, "no such path", true);
    // The code is in the query (the extension opens this address in a tab); it is hex.
    const std::string_view target = req.target();
    const auto query = target.find('?');
    auto code = query == std::string_view::npos ? std::nullopt
                                                : form_value(target.substr(query + 1), "code");
    if (!code || !ctx_.login_codes->redeem(*code)) {
        refused(403,
                code ? "used, expired or unknown page login code" : "page login without a code");
        return send_error(http::status::forbidden,
                          "this approval page link was used already or has expired: click the "
                          "button in the keybridge extension again, or open the page with "
                          "`keybridge ui`",
                          true);
    }
    send_page_cookie_and_move_on(req);  // the used code also leaves the address bar
}

void HttpSession::send_page_cookie_and_move_on(const Request& req) {
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, kServerName);
    res.set(http::field::content_type, "text/html; charset=utf-8");
    add_page_headers(res, req[http::field::host]);
    res.set(http::field::set_cookie, ctx_.page->set_cookie_header(port_));
    // A document of our own origin moves on to the page: the cookie is SameSite=Strict, and a
    // navigation that started elsewhere (the launcher file, the extension) would not carry it.
    res.body() =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"refresh\" content=\"0;url=/ui/\"><title>keybridge</title></head>\n"
        "<body><p><a href=\"/ui/\">Open the keybridge approval page</a></p></body></html>\n";
    res.keep_alive(req.keep_alive());
    send(std::move(res));
}

void HttpSession::serve_page_socket(Request req, const Caller& caller) {
    // Browsers always send Origin on a WebSocket: the page's, never another program's page on
    // another loopback port (which the host-scoped cookie would reach too).
    if (!own_origin(caller.origin, port_)) {
        refused(403, "approval page socket from origin '" + printable(caller.origin) + "'");
        return send_error(http::status::forbidden, "the approval page's socket is its own", true);
    }
    auto client = std::make_shared<rpc::Client>();
    client->connection_id = ctx_.next_connection_id.fetch_add(1);
    // The page is the user's own tool, like the keybridge tool on the control socket: an
    // approver, with the token's rights, and not a dApp (no origin).
    client->token_authenticated = true;
    client->approver = true;
    client->session = "page#" + std::to_string(client->connection_id);
    parser_.reset();
    push_held();  // the 101 goes out now, whatever follows
    auto ws =
        std::make_shared<WsSession>(std::move(stream_), ctx_, std::move(slot_), std::move(*client));
    ws->run(std::move(req));
}

void HttpSession::handle_rpc(Request req, std::shared_ptr<const rpc::Client> client) {
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const std::string origin = client->origin;
    auto parsed = rpc::parse_payload(req.body(), ctx_.parse_limits());
    if (auto* error = std::get_if<rpc::RpcError>(&parsed)) {
        Response res{http::status::ok, version};
        res.set(http::field::server, kServerName);
        res.set(http::field::content_type, "application/json");
        add_cors(res, origin);
        res.body() = json::serialize(rpc::make_error(nullptr, *error));
        res.keep_alive(keep_alive);
        return send(std::move(res));
    }
    auto& payload = std::get<rpc::Payload>(parsed);
    if (!ctx_.admit(*client, payload.entries.size())) {
        refused(429, "request rate limit exceeded by origin " + origin);
        Response res{http::status::too_many_requests, version};
        res.set(http::field::server, kServerName);
        res.set(http::field::content_type, "application/json");
        res.set(http::field::retry_after, "1");
        add_cors(res, origin);
        res.body() = rpc_error_body(rpc::kLimitExceeded, "request rate limit exceeded");
        res.keep_alive(keep_alive);
        return send(std::move(res));
    }
    answering_ = true;
    answer_connection_ = client->connection_id;
    answer_version_ = version;
    ctx_.dispatcher.dispatch(
        client, std::move(payload),
        [self = shared_from_this(), version, keep_alive, origin,
         connection = client->connection_id](std::optional<std::string> body) {
            if (self->ctx_.request_answered) self->ctx_.request_answered(connection);
            // Inline when the handler answered on this session's thread, queued otherwise.
            boost::asio::dispatch(self->stream_.get_executor(), [self, version, keep_alive, origin,
                                                                 body = std::move(body)]() mutable {
                self->answering_ = false;
                self->probe_timer_.cancel();
                if (self->gone_) return;  // nobody to answer: the socket is closed
                const bool stopping = self->ctx_.stopping.load();
                const std::string_view cors =
                    !origin.empty() && origin_valid(origin) ? std::string_view(origin) : "";
                self->send_text(std::make_shared<std::string>(
                                    rpc_reply_text(version, body, cors, keep_alive, stopping)),
                                !keep_alive || stopping);
            });
        });
    // Answered inline (most methods): the reply is already being written. A signature's reply
    // comes at the end of this turn, after its audit line (turn_end.h): nothing to watch for
    // that long. Otherwise watch the connection until the answer comes (the answers before it
    // go out now).
    if (!answering_) return;
    if (turn_end::pending()) {
        turn_end::defer([self = shared_from_this()] { self->watch_while_answering(); });
        return;
    }
    watch_while_answering();
}

void HttpSession::watch_while_answering() {
    if (!answering_ || gone_) return;
    push_held();
    start_watch();
}

void HttpSession::send(Response res) {
    res.prepare_payload();
    const bool close = !res.keep_alive() || ctx_.stopping.load();
    if (close) res.keep_alive(false);
    // The message as one buffer: status line, the fields as prepare_payload and keep_alive left
    // them, the body. Beast's generic serializer took ~20k instructions per reply, more than
    // the rest of an eth_chainId; the bytes on the wire are the same.
    auto text = std::make_shared<std::string>();
    text->reserve(256 + res.body().size());
    text->append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    text->append(std::to_string(res.result_int())).append(" ").append(res.reason()).append("\r\n");
    for (const auto& field : res.base()) {
        text->append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    }
    text->append("\r\n").append(res.body());
    send_text(std::move(text), close);
}

void HttpSession::send_text(std::shared_ptr<std::string> text, bool close) {
    if (writing_) {
        // A probe is on its way: the reply follows it (on_probe_written).
        queued_reply_.emplace(std::move(text), close);
        return;
    }
    writing_ = true;
    if (send_held(*text, close)) {
        const std::size_t bytes = text->size();
        boost::asio::post(stream_.get_executor(), [self = shared_from_this(), close, bytes] {
            self->on_write(close, {}, bytes);
        });
        return;
    }
    held_ = false;  // a write without MSG_MORE sends what was held with it
    start_deadline(ctx_.config.idle_timeout_s);
    boost::asio::async_write(
        stream_, boost::asio::buffer(*text),
        [self = shared_from_this(), text, close](beast::error_code ec, std::size_t n) {
            self->on_write(close, ec, n);
        });
}

void HttpSession::on_write(bool close, beast::error_code ec, std::size_t) {
    writing_ = false;
    if (gone_) return;
    if (ec) close = true;
    if (watching_) {
        // The watch read must end before the parser reads again (one read at a time); a
        // connection to close must not linger on it either. Only that read is pending now.
        after_reply_ = close ? AfterReply::Close : AfterReply::Read;
        beast::error_code ignored;
        stream_.socket().cancel(ignored);
        return;
    }
    on_write_done(close);
}

void HttpSession::on_write_done(bool close) {
    if (close) return do_close();
    do_read();
}

void HttpSession::start_watch() {
    if (gone_ || buffer_.size() >= kWatchBufferLimit) return;
    watching_ = true;
    // No deadline: the wait for an approval may be long (start_deadline is not armed for it).
    const std::size_t room = std::min(kWatchChunk, kWatchBufferLimit - buffer_.size());
    stream_.async_read_some(buffer_.prepare(room),
                            beast::bind_front_handler(&HttpSession::on_watch, shared_from_this()));
}

void HttpSession::on_watch(beast::error_code ec, std::size_t bytes) {
    watching_ = false;
    buffer_.commit(bytes);  // parsed once the reply is out
    if (gone_) return;
    if (ec == boost::asio::error::eof) peer_eof_ = true;
    if (after_reply_ != AfterReply::None) {
        // The reply is out and cancelled this read (or the read ended just before).
        const bool close = after_reply_ == AfterReply::Close;
        after_reply_ = AfterReply::None;
        if (ec && ec != boost::asio::error::operation_aborted && ec != boost::asio::error::eof) {
            return;  // reset: the session ends here
        }
        return on_write_done(close);  // at end of stream the parser meets it after the buffer
    }
    // The reply is being written: on_write decides what comes next (a reset fails that write).
    if (!answering_) return;
    if (!ec) return start_watch();
    if (ec == boost::asio::error::eof) {
        // Closed, or only half-closed: ask (see the header).
        if (answer_version_ < 11) return client_gone();
        return send_probe();
    }
    if (ec == boost::asio::error::operation_aborted) return;  // a write timed out and closed
    client_gone();  // reset or another error: nobody reads our answer
}

void HttpSession::send_probe() {
    if (writing_) return;  // a write is already on its way: its outcome tells as much
    writing_ = true;
    start_deadline(ctx_.config.idle_timeout_s);
    boost::asio::async_write(stream_, boost::asio::buffer(kProbe.data(), kProbe.size()),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 self->on_probe_written(ec);
                             });
}

void HttpSession::on_probe_written(beast::error_code ec) {
    writing_ = false;
    if (gone_) return;
    if (ec) {
        queued_reply_.reset();
        return client_gone();
    }
    if (queued_reply_) {
        auto [text, close] = std::move(*queued_reply_);
        queued_reply_.reset();
        writing_ = true;
        start_deadline(ctx_.config.idle_timeout_s);
        boost::asio::async_write(
            stream_, boost::asio::buffer(*text),
            [self = shared_from_this(), text = text, close = close](
                beast::error_code e, std::size_t n) { self->on_write(close, e, n); });
        return;
    }
    if (!answering_) return;
    probe_sent_ = true;
    probe_timer_.expires_after(kProbeSettle);
    probe_timer_.async_wait(
        beast::bind_front_handler(&HttpSession::on_probe_timer, shared_from_this()));
}

void HttpSession::on_probe_timer(beast::error_code ec) {
    if (ec || gone_ || !answering_) return;
    if (probe_sent_) {
        probe_sent_ = false;
        if (peer_reset(stream_.socket().native_handle())) return client_gone();
        // Half-closed: it still reads. Probe again later, in case it closes meanwhile.
        probe_timer_.expires_after(kProbeInterval);
        probe_timer_.async_wait(
            beast::bind_front_handler(&HttpSession::on_probe_timer, shared_from_this()));
        return;
    }
    send_probe();
}

void HttpSession::client_gone() {
    if (gone_) return;
    gone_ = true;
    log::debug("net", "HTTP client went away while its request was being answered");
    probe_timer_.cancel();
    queued_reply_.reset();
    // Its approvals disappear from the queue (approvers are told, as for a WebSocket).
    if (ctx_.connection_closed) ctx_.connection_closed(answer_connection_);
    // Frees the descriptor and ends pending operations; the session object lives on until the
    // dispatcher's answer (dropped) releases it.
    beast::error_code ignored;
    stream_.socket().close(ignored);
    slot_.release();
}

void HttpSession::refused(int status, const std::string& reason) {
    ctx_.refusals.info("net", "refused HTTP request (" + std::to_string(status) + "): " + reason);
}

void HttpSession::send_error(http::status status, std::string_view message, bool close,
                             const std::string& origin) {
    Response res{status, 11};
    res.set(http::field::server, kServerName);
    const bool is_json = !message.empty() && message.front() == '{';
    res.set(http::field::content_type, is_json ? "application/json" : "text/plain");
    res.body() = std::string(message) + (is_json ? "" : "\n");
    add_cors(res, origin);
    res.keep_alive(!close);
    send(std::move(res));
}

void HttpSession::do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace keybridge::daemon::net
