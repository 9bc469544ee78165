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

// A synchronous client for the keybridged of a data folder, over its control socket
// (<datadir>/keybridged.sock, one JSON text per line). Every call opens its own connection and is
// bounded by a timeout. Before anything is sent the peer must be a process of our own user
// (SO_PEERCRED): the socket file sits in our 0700 folder, so that holds unless root intervened,
// and it means a password never goes to a program that merely took keybridged's TCP port.
//
// Failures: Disconnected when keybridged is not running (no socket, nothing accepting on it, or
// files left by a daemon that crashed) with a message saying how to start it; Timeout; IoError
// for other socket failures; ProtocolError for an answer that is not JSON-RPC or a peer that is
// not ours.
class DaemonClient {
  public:
    static constexpr std::chrono::seconds kDefaultTimeout{30};

    [[nodiscard]] static core::Result<DaemonClient> open(const std::string& datadir);

    const std::string& socket_path() const { return socket_path_; }

    // One call. Transport failures are errors; an RPC error answer is returned in
    // RpcAnswer::error.
    [[nodiscard]] core::Result<RpcAnswer> call_raw(std::string_view method,
                                                   const boost::json::value& params,
                                                   std::chrono::seconds timeout = kDefaultTimeout);
    // As call_raw, with an RPC error answer turned into an error (error_from_rpc).
    [[nodiscard]] core::Result<boost::json::value> call(
        std::string_view method, const boost::json::value& params,
        std::chrono::seconds timeout = kDefaultTimeout);

    // A call whose params are [secret] (keybridge_unlock): the request is assembled in a
    // SecretBuffer and sent from there, so the secret is never copied into an ordinary string.
    [[nodiscard]] core::Result<RpcAnswer> call_with_secret(std::string_view method,
                                                           const core::SecretBuffer& secret,
                                                           std::chrono::seconds timeout);

    // A lasting connection, for approval events and calls in between.
    [[nodiscard]] core::Result<std::unique_ptr<DaemonSocket>> open_socket();

  private:
    DaemonClient(std::string datadir, std::string socket_path)
        : datadir_(std::move(datadir)), socket_path_(std::move(socket_path)) {}

    // Sends one request line and reads the answer line.
    [[nodiscard]] core::Result<RpcAnswer> exchange(std::string_view request,
                                                   std::chrono::seconds timeout);

    std::string datadir_;
    std::string socket_path_;
    std::uint64_t next_id_ = 1;
};

// One lasting connection to keybridged's control socket. A background thread reads continuously
// and sorts what arrives into answers to our calls and server-pushed notifications. All methods
// are for one user thread.
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
    // As call_raw for params written as `params_head` + the JSON string of `secret` +
    // `params_tail` (`[7,{"password":` … `}]`): the request is built in locked memory, so the
    // secret is never copied into an ordinary string.
    [[nodiscard]] core::Result<RpcAnswer> call_with_secret(std::string_view method,
                                                           std::string_view params_head,
                                                           std::string_view secret,
                                                           std::string_view params_tail,
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

    core::Result<std::uint64_t> take_id();
    // Writes one request line and waits for the answer with that id.
    core::Result<RpcAnswer> send_and_wait(std::uint64_t id, std::string_view method,
                                          std::string_view line, std::chrono::seconds timeout);
    void read_loop();  // reader thread
    void on_message(std::string_view text);
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
