#pragma once

// A small client for the end-to-end tests of keybridged: HTTP/1.1 (Boost.Beast), WebSocket, and
// raw TCP for malformed traffic. Every operation has a deadline, so a daemon that stops answering
// fails the test instead of hanging it. All calls are blocking and meant for one thread each.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>

namespace keybridge::test::e2e {

using namespace std::chrono_literals;

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::milliseconds kDefaultTimeout = 10s;

// ASCII lower case: header names, addresses compared without their EIP-55 checksum case.
std::string lower(std::string_view text);

struct HttpRequest {
    std::string method = "POST";
    std::string target = "/";
    // The Host header: "127.0.0.1:PORT" when unset; an empty string sends no Host at all.
    std::optional<std::string> host;
    std::string content_type = "application/json";  // empty: no Content-Type
    Headers headers;
    std::string body;
    unsigned version = 11;
};

struct HttpResponse {
    int status = 0;                              // 0 when no response arrived
    std::string error;                           // why no response arrived (closed, timeout, ...)
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    bool keep_alive = false;

    // The header's value, "" when absent.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    // The body parsed as JSON; null when it is not JSON.
    boost::json::value json() const;
};

// One TCP connection that speaks HTTP/1.1 and may carry several requests (keep-alive).
class HttpConnection {
  public:
    explicit HttpConnection(std::uint16_t port,
                            std::chrono::milliseconds timeout = kDefaultTimeout);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    bool connected() const { return connected_; }
    const std::string& connect_error() const { return connect_error_; }
    HttpResponse send(const HttpRequest& request);
    // True when the server has closed the connection (reads end of stream within `wait`).
    bool closed_by_peer(std::chrono::milliseconds wait = 2s);

  private:
    std::uint16_t port_;
    std::chrono::milliseconds timeout_;
    boost::asio::io_context ioc_;
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    bool connected_ = false;
    std::string connect_error_;
};

// One request on a fresh connection.
HttpResponse http_request(std::uint16_t port, const HttpRequest& request,
                          std::chrono::milliseconds timeout = kDefaultTimeout);

// Who calls: a local client with the cookie token, a web page with an Origin, or both/neither.
struct Caller {
    std::string token;            // empty: none presented
    std::string origin;           // empty: no Origin header
    bool token_in_query = false;  // ?token= instead of Authorization: Bearer
};

// JSON-RPC over HTTP POST as one caller; every call uses a fresh connection.
class RpcClient {
  public:
    RpcClient(std::uint16_t port, Caller caller,
              std::chrono::milliseconds timeout = kDefaultTimeout)
        : port_(port), caller_(std::move(caller)), timeout_(timeout) {}

    // Posts a raw body; the request carries the caller's headers.
    HttpResponse post(std::string body, std::string content_type = "application/json") const;
    // The whole JSON-RPC response object (null when the answer is not JSON).
    boost::json::value call(std::string_view method,
                            boost::json::value params = boost::json::array{},
                            boost::json::value id = 1) const;
    // The result; records a test failure when the call answered an error.
    boost::json::value result(std::string_view method,
                              boost::json::value params = boost::json::array{}) const;
    // The error code (0 with a test failure when the call succeeded).
    int error_code(std::string_view method, boost::json::value params = boost::json::array{}) const;

    HttpRequest request(std::string body) const;
    const Caller& caller() const { return caller_; }

  private:
    std::uint16_t port_;
    Caller caller_;
    std::chrono::milliseconds timeout_;
};

// One connection to keybridged's control socket (<datadir>/keybridged.sock): JSON-RPC, one JSON
// text per line, answers and notifications as lines. Blocking, with deadlines.
class ControlConnection {
  public:
    explicit ControlConnection(std::string socket_path,
                               std::chrono::milliseconds timeout = kDefaultTimeout);
    ~ControlConnection();
    ControlConnection(const ControlConnection&) = delete;
    ControlConnection& operator=(const ControlConnection&) = delete;

    bool connected() const { return fd_ >= 0; }
    // Why connecting failed ("" when connected).
    const std::string& error() const { return error_; }
    bool send_line(std::string_view text);
    // The next line (without its newline); nullopt on timeout or close.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    // Sends a call and returns its answer (lines in between are kept in `notifications`); null
    // with a test failure when none arrives.
    boost::json::value call(std::string_view method,
                            boost::json::value params = boost::json::array{}, std::int64_t id = 1);
    // The next server-pushed notification (kept ones first); null when none comes in time.
    boost::json::value next_notification(std::chrono::milliseconds timeout = kDefaultTimeout);
    std::deque<boost::json::value> notifications;

  private:
    int fd_ = -1;
    std::string error_;
    std::string pending_;
    std::chrono::milliseconds timeout_;
};

// JSON-RPC over the control socket; every call uses a fresh connection (like RpcClient).
class ControlClient {
  public:
    explicit ControlClient(std::string socket_path,
                           std::chrono::milliseconds timeout = kDefaultTimeout)
        : path_(std::move(socket_path)), timeout_(timeout) {}
    boost::json::value call(std::string_view method,
                            boost::json::value params = boost::json::array{}) const;
    boost::json::value result(std::string_view method,
                              boost::json::value params = boost::json::array{}) const;
    int error_code(std::string_view method, boost::json::value params = boost::json::array{}) const;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    std::chrono::milliseconds timeout_;
};

// A WebSocket client. After a failed read (timeout or close) the connection is finished.
class WsClient {
  public:
    struct Options {
        std::string target = "/";
        std::optional<std::string> host;  // as HttpRequest::host
        Headers headers;
        std::chrono::milliseconds timeout = kDefaultTimeout;
        int receive_buffer = 0;  // SO_RCVBUF before connecting (0: system default)
    };

    WsClient(std::uint16_t port, Options options);
    WsClient(std::uint16_t port, const Caller& caller);
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    bool open() const { return open_; }
    // The handshake failure (HTTP status when the server refused the upgrade).
    const std::string& error() const { return error_; }
    int refused_status() const { return refused_status_; }

    bool send_text(std::string_view text);
    bool send_binary(std::string_view bytes);
    // The next message, or nullopt when the connection closed or the deadline passed.
    std::optional<std::string> read(std::chrono::milliseconds timeout = kDefaultTimeout);
    std::optional<boost::json::value> read_json(
        std::chrono::milliseconds timeout = kDefaultTimeout);
    // The next response (or batch), keeping notifications read meanwhile (a pending request's
    // keybridge_requestStatus, events) for next_notification(). nullopt as read_json.
    std::optional<boost::json::value> read_response(
        std::chrono::milliseconds timeout = kDefaultTimeout);

    // Sends a call and reads until its response; notifications read meanwhile are kept for
    // next_notification(). Null when the connection ended first.
    boost::json::value call(std::string_view method,
                            boost::json::value params = boost::json::array{},
                            std::chrono::milliseconds timeout = kDefaultTimeout);
    // The next server notification (method "eth_subscription" or other), or null.
    boost::json::value next_notification(std::chrono::milliseconds timeout = kDefaultTimeout);

    // Keeps a read pending for `silence` (answering the server's pings, as browsers do) with
    // nothing sent, then sends `text` and returns the next message; nullopt when the connection
    // ended, or a message came, during the silence.
    std::optional<std::string> send_after_silence(std::chrono::milliseconds silence,
                                                  std::string_view text);

    // After the server closed: its close code (0 when the connection ended without a close frame).
    int close_code() const { return close_code_; }
    const std::string& close_reason() const { return close_reason_; }
    bool closed() const { return !open_; }
    // How the connection ended ("" while open).
    const std::string& end_error() const { return end_error_; }
    // Reads until the connection ends (or the deadline): true when it ended.
    bool wait_closed(std::chrono::milliseconds timeout = kDefaultTimeout);
    void close();

  private:
    void note_close(boost::system::error_code ec);

    boost::asio::io_context ioc_;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer buffer_;
    std::chrono::milliseconds timeout_;
    bool open_ = false;
    std::string error_;
    int refused_status_ = 0;
    int close_code_ = 0;
    std::string close_reason_;
    std::string end_error_;
    std::int64_t next_id_ = 1;
    std::deque<boost::json::value> notifications_;
};

// Raw bytes over TCP, for traffic no well-behaved client would send.
class RawConnection {
  public:
    explicit RawConnection(std::uint16_t port);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool connected() const { return connected_; }
    bool write(std::string_view bytes, std::chrono::milliseconds timeout = kDefaultTimeout);
    // Reads until the peer closes the connection or the deadline passes; peer_closed() tells which.
    std::string read_until_close(std::chrono::milliseconds timeout = kDefaultTimeout);
    // Reads until `delimiter` has arrived (or the connection ends, or the deadline passes).
    std::string read_until(std::string_view delimiter,
                           std::chrono::milliseconds timeout = kDefaultTimeout);
    // One read: what has arrived, waiting up to `timeout` for it ("" when the connection ended
    // or nothing came).
    std::string read_some(std::chrono::milliseconds timeout = kDefaultTimeout);
    // Segments carrying data that this end has received so far (TCP_INFO tcpi_data_segs_in).
    std::uint32_t data_segments_received();
    bool peer_closed() const { return peer_closed_; }
    // Half-closes (shutdown of our sending side), then nothing more is written.
    void shutdown_send();
    void close();
    // Aborts the connection: the peer gets a reset (SO_LINGER with a zero timeout).
    void reset();

  private:
    boost::asio::io_context ioc_;
    boost::beast::tcp_stream stream_;
    bool connected_ = false;
    bool peer_closed_ = false;
};

}  // namespace keybridge::test::e2e
