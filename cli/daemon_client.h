#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <boost/json.hpp>

#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::cli {

// Where keybridged listens: "127.0.0.1:8645", "localhost:8645", "[::1]:8645". Only loopback
// hosts are accepted, as the daemon itself only listens there.
struct DaemonAddress {
    std::string host;  // "127.0.0.1", "::1" (no brackets), "localhost"
    std::uint16_t port = 0;

    // The Host header value and the text for messages: "127.0.0.1:8645", "[::1]:8645".
    std::string authority() const;
};

inline constexpr const char* kDefaultDaemonAddress = "127.0.0.1:8645";

// InvalidArgument naming --daemon for anything that is not a loopback HOST:PORT.
[[nodiscard]] core::Result<DaemonAddress> parse_daemon_address(std::string_view text);

// A JSON-RPC error object the daemon answered with.
struct RpcErrorAnswer {
    int code = 0;
    std::string message;
};

// Either the result or the error of one call.
struct RpcAnswer {
    boost::json::value result;
    std::optional<RpcErrorAnswer> error;
};

// The core error for an RPC error answer: 4001 → UserCancelled, -32602 → InvalidArgument,
// -32601/4200 → NotSupported, 4900 → Disconnected, anything else → ProtocolError. The detail is
// "keybridged: MESSAGE (error CODE)".
core::Error error_from_rpc(const RpcErrorAnswer& answer);

class DaemonSocket;

// A synchronous client for one keybridged, authenticated with the cookie token of a data folder.
// Every call opens its own connection and is bounded by a timeout.
//
// Failures: Disconnected when keybridged is not running (no <datadir>/.cookie, or nothing listens
// at the address) with a message saying how to start it; Timeout; IoError for other socket
// failures; ProtocolError for an HTTP refusal (e.g. the token was not accepted) or an answer that
// is not JSON-RPC.
class DaemonClient {
  public:
    static constexpr std::chrono::seconds kDefaultTimeout{30};

    // Reads the token from <datadir>/.cookie (Disconnected when it is absent).
    [[nodiscard]] static core::Result<DaemonClient> open(const std::string& datadir,
                                                         const DaemonAddress& address);

    const DaemonAddress& address() const { return address_; }

    // One call over HTTP POST with "Authorization: Bearer TOKEN". Transport failures are errors;
    // an RPC error answer is returned in RpcAnswer::error.
    [[nodiscard]] core::Result<RpcAnswer> call_raw(std::string_view method,
                                                   const boost::json::value& params,
                                                   std::chrono::seconds timeout = kDefaultTimeout);
    // As call_raw, with an RPC error answer turned into an error (error_from_rpc).
    [[nodiscard]] core::Result<boost::json::value> call(
        std::string_view method, const boost::json::value& params,
        std::chrono::seconds timeout = kDefaultTimeout);

    // A call whose params are [secret] (keybridge_unlock): the request body is assembled in a
    // SecretBuffer and sent from there, so the secret is never copied into an ordinary string.
    [[nodiscard]] core::Result<RpcAnswer> call_with_secret(std::string_view method,
                                                           const core::SecretBuffer& secret,
                                                           std::chrono::seconds timeout);

    // A WebSocket connection (token in the query string), for subscriptions and approvals.
    [[nodiscard]] core::Result<std::unique_ptr<DaemonSocket>> open_socket();

  private:
    DaemonClient(std::string datadir, DaemonAddress address, std::string token)
        : datadir_(std::move(datadir)), address_(std::move(address)), token_(std::move(token)) {}

    [[nodiscard]] core::Result<RpcAnswer> post(std::string_view body, std::chrono::seconds timeout);

    std::string datadir_;
    DaemonAddress address_;
    std::string token_;
    std::uint64_t next_id_ = 1;
};

// One WebSocket connection to keybridged. A background thread reads continuously (so the
// daemon's keep-alive pings are answered while the user thinks) and sorts what arrives into
// answers to our calls and server-pushed notifications. All methods are for one user thread.
class DaemonSocket {
  public:
    ~DaemonSocket();
    DaemonSocket(const DaemonSocket&) = delete;
    DaemonSocket& operator=(const DaemonSocket&) = delete;

    // Sends a call and waits for its answer; notifications arriving meanwhile are kept for
    // next_notification. Disconnected when the connection closes first; Timeout.
    [[nodiscard]] core::Result<RpcAnswer> call_raw(std::string_view method,
                                                   const boost::json::value& params,
                                                   std::chrono::seconds timeout);
    [[nodiscard]] core::Result<boost::json::value> call(std::string_view method,
                                                        const boost::json::value& params,
                                                        std::chrono::seconds timeout);

    // The oldest notification not yet taken (the whole {"method":…,"params":…} object), without
    // waiting. Once none is left and the connection has closed: Disconnected whose detail gives
    // the daemon's reason.
    [[nodiscard]] core::Result<std::optional<boost::json::object>> poll_notification();

    // A descriptor that polls readable whenever a notification or the close has arrived since
    // the last poll_notification that returned nothing; lets the user thread wait on it together
    // with its input.
    int wake_fd() const { return wake_fd_; }

  private:
    friend class DaemonClient;
    struct Impl;
    DaemonSocket();

    void read_loop();   // io thread
    void write_loop();  // io thread
    void on_message(std::string text);
    void on_closed(std::string reason);
    void wake();
    void drain_wake();

    std::unique_ptr<Impl> impl_;
    int wake_fd_ = -1;
    std::thread thread_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<boost::json::object> notifications_;
    std::map<std::uint64_t, RpcAnswer> answers_;
    bool closed_ = false;
    std::string close_reason_;
    std::uint64_t next_id_ = 1;
};

}  // namespace keybridge::cli
