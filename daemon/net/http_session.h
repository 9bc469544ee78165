#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/net/http_routes.h"
#include "daemon/net/socket_transport.h"
#include "daemon/net/request_buffers.h"
#include "daemon/net/server_context.h"

namespace keybridge::daemon::net {

// One TCP connection speaking HTTP/1.1. Runs on one network thread (see Listener). Every request
// passes the Host check first, then the Origin check; then its capabilities (http_routes.h) are
// worked out from the token and the page cookie, and the route table (routes()) picks the handler:
// GET /health, CORS preflights, POST / with JSON-RPC, the upgrade to a WebSocket (handed to
// WsSession), and the approval page (its files, /ui/login, its WebSocket /ui/ws). A route whose
// capability the request lacks is refused before any JSON is read.
//
// While a JSON-RPC request is being answered (it may wait minutes for the user's approval) a
// read stays pending, so a client that goes away is noticed at once: its queued approvals are
// dropped (ServerContext::connection_closed), its connection slot is released and nothing more
// is written. Bytes that arrive meanwhile (a pipelined next request) are kept in the buffer, up
// to 64 KiB (kWatchBufferLimit), and parsed only after the reply. TCP cannot tell a half-close (the
// client shut down its sending side but still reads) from a close until we send: on end of
// stream the session sends an interim "102 Processing" response (HTTP/1.1 clients must accept
// unexpected 1xx responses) and checks whether the client's system answered it with a reset.
// A half-closed client thus still gets its answer; one that closed is treated as gone. The
// probe is repeated while the answer is outstanding, so a half-closed client that closes later
// is noticed too. HTTP/1.0 forbids 1xx responses: there, end of stream counts as gone.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(boost::asio::ip::tcp::socket socket, ServerContext& ctx, std::uint16_t port,
                ConnectionSlot slot);
    void run();

  private:
    using Response = boost::beast::http::response<boost::beast::http::string_body>;

    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    // What the route handlers get besides the request.
    struct Caller {
        std::string origin;  // the Origin header ("null" only on routes that accept it)
        Capabilities capabilities;
    };
    using RouteHandler = void (HttpSession::*)(Request request, const Caller& caller);
    static const RouteTable<RouteHandler>& routes();

    void handle(Request request);
    // The routes (see routes()).
    void serve_preflight(Request request, const Caller& caller);
    void serve_health(Request request, const Caller& caller);
    void serve_rpc(Request request, const Caller& caller);
    void serve_websocket(Request request, const Caller& caller);
    void serve_page_file(Request request, const Caller& caller);
    void serve_page_login(Request request, const Caller& caller);
    // GET /ui/login-code?code=CODE: a one-time code a paired extension was given
    // (keybridge_pageLogin) buys the page cookie, as the launcher's secret does.
    void serve_page_code_login(Request request, const Caller& caller);
    void serve_page_socket(Request request, const Caller& caller);
    // After a login: the page cookie, and a small document that moves on to /ui/.
    void send_page_cookie_and_move_on(const Request& req);
    // A refusal for a request that lacks the route's capability.
    void refuse_capability(Capability required, const Caller& caller, bool presented_token);
    std::shared_ptr<rpc::Client> make_client(const Caller& caller) const;
    void handle_rpc(Request request, std::shared_ptr<const rpc::Client> client);
    // Sends the response; closes afterwards unless keep_alive.
    void send(Response response);
    // Writes a response already serialised; closes afterwards when `close`.
    void send_text(std::shared_ptr<std::string> text, bool close);
    void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
    // Pipelined requests: while the next request is already in buffer_, an answer is sent at
    // once with MSG_MORE (true when all of it went); what is held goes out with the next answer
    // or once a read has to wait for the client (see the .cpp).
    bool send_held(std::string& text, bool close);
    void push_held();
    void push_when_reading_waits();
    // Logs a refused request with its HTTP status and reason (rate-limited, see ServerContext).
    void refused(int status, const std::string& reason);
    void send_error(boost::beast::http::status status, std::string_view message, bool close,
                    const std::string& origin = {});
    void do_close();

    // What follows a reply that was written while the watch read was pending.
    enum class AfterReply { None, Read, Close };
    // The answer is still being made: what is held goes out, the socket is watched for the
    // client leaving.
    void watch_while_answering();
    void start_watch();
    void on_watch(boost::beast::error_code ec, std::size_t bytes);
    void on_write_done(bool close);
    void send_probe();
    void on_probe_written(boost::beast::error_code ec);
    void on_probe_timer(boost::beast::error_code ec);
    // The client reset or closed the connection while its request was being answered.
    void client_gone();
    // Deadlines of the request being read (the first within handshake-timeout, against
    // slowloris; later ones within idle-timeout) and of the answer being written (idle-timeout):
    // one timer per session checks every quarter of the timeout and closes the connection once
    // an operation has waited between 1 and 1.5 times it. (Beast's tcp_stream timeouts cost a
    // timer operation per read and write: 3.2k of an HTTP eth_chainId's 27.8k instructions.)
    void start_deadline(unsigned timeout_s);
    void arm_deadline_check(std::uint64_t period_ms);
    void check_deadline();

    SocketTransport stream_;
    ReadBuffer buffer_;  // wiped as released and after each request (request_buffers.h)
    std::optional<RequestParser> parser_;
    ServerContext& ctx_;
    std::uint16_t port_;
    ConnectionSlot slot_;
    bool first_request_ = true;
    bool reading_ = false;  // a read of the next request is outstanding
    bool held_ = false;     // an answer went with MSG_MORE and nothing has pushed it out yet
    std::uint64_t reads_started_ = 0;  // the push check of the latest read acts, no other

    // State of the request being answered (see the class comment); all touched on the session's
    // thread.
    bool answering_ = false;                     // dispatched, the reply not produced yet
    std::uint64_t answer_connection_ = 0;        // its rpc::Client::connection_id
    unsigned answer_version_ = 11;               // its HTTP version (10 or 11)
    bool watching_ = false;                      // the watch read is pending
    AfterReply after_reply_ = AfterReply::None;  // set when the reply is out while watching_
    bool writing_ = false;                       // a write (probe or reply) is in flight
    // A reply produced while the probe was being written: sent when it completes.
    std::optional<std::pair<std::shared_ptr<std::string>, bool>> queued_reply_;
    bool gone_ = false;        // nothing more is written
    bool peer_eof_ = false;    // the watch read the client's end of stream
    bool probe_sent_ = false;  // the timer checks a probe (else it sends the next)
    boost::asio::steady_timer probe_timer_;
    boost::asio::steady_timer deadline_timer_;
    std::uint64_t deadline_op_ = 0;       // ++ per timed read or write
    std::uint64_t deadline_seen_op_ = 0;  // the operation the last check saw
    std::uint64_t deadline_timeout_ms_ = 0;
    std::uint64_t deadline_period_ms_ = 0;
    std::uint64_t deadline_waited_ms_ = 0;   // checks of deadline_seen_op_ so far, in ms
    std::uint64_t deadline_generation_ = 0;  // a re-armed timer's older wait is stale
    bool deadline_armed_ = false;
};

}  // namespace keybridge::daemon::net
