#pragma once

#include <chrono>
#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json.hpp>

#include "core/result.h"
#include "daemon/rpc/dispatcher.h"

namespace keybridge::daemon::upstream {

// Forwards JSON-RPC calls to a chain's node over HTTP or HTTPS (certificate and host name
// verified against the system's trust store). Each call is one short-lived connection with a
// deadline, so a dead or slow node costs that request a timeout and nobody else anything.
// Results: the node's "result", the node's own JSON-RPC error passed through unchanged, or
// 4901 (chain disconnected) with a clear message when the node cannot be reached or answers
// garbage. Thread-safe; callbacks run on the executor.
class UpstreamClient {
  public:
    explicit UpstreamClient(boost::asio::any_io_executor executor,
                            std::chrono::milliseconds timeout = std::chrono::seconds(15));

    // `timeout`: this call's own deadline instead of the client's (insight's lookups use a
    // short one: a slow node costs the explanation its chain facts, not the request its time).
    void call(const std::string& url, std::string method, boost::json::value params,
              std::function<void(rpc::Outcome)> done,
              std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  private:
    // The TLS context, made on the first https call: loading the system's trust store parses
    // every CA certificate (~150), which took ~25 ms of the daemon's start and ~1 MB of memory
    // that a daemon without an https node never needs. Null if OpenSSL cannot make a context.
    std::shared_ptr<boost::asio::ssl::context> tls_context();

    boost::asio::any_io_executor executor_;
    std::chrono::milliseconds timeout_;
    std::mutex tls_mutex_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::shared_ptr<std::atomic<std::uint64_t>> next_id_;
};

// Splits "https://host:port/path" (port defaults by scheme). InvalidArgument otherwise.
struct Url {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;
};
[[nodiscard]] core::Result<Url> parse_url(const std::string& url);

}  // namespace keybridge::daemon::upstream
