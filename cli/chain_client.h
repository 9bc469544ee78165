#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/result.h"

namespace keybridge::cli {

// A small synchronous JSON-RPC client for a chain's node (http:// or https://, the certificate
// and host name checked against the system's trust store), one short connection per call with
// a deadline. For the tool's account discovery; the daemon has its own asynchronous client.
class ChainClient {
  public:
    // InvalidArgument for a URL that is not http(s)://host[:port][/path].
    [[nodiscard]] static core::Result<ChainClient> create(
        const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(15));

    // The call's "result". IoError (naming the host, never the path, which may hold an API
    // key) when the node cannot be reached, times out or answers garbage; ProtocolError with
    // the node's message for a JSON-RPC error.
    [[nodiscard]] core::Result<boost::json::value> call(const std::string& method,
                                                        boost::json::array params);

    const std::string& host() const { return host_; }

  private:
    bool tls_ = false;
    std::string host_;
    std::string port_;
    std::string target_;
    std::chrono::milliseconds timeout_{};
    std::uint64_t next_id_ = 1;
};

// True when the address has sent a transaction (eth_getTransactionCount at "latest" > 0) or
// holds a balance (eth_getBalance > 0) on the node's chain.
[[nodiscard]] core::Result<bool> address_in_use(ChainClient& client, const core::Address& address);

// The gap-limit walk of account discovery (BIP44's rule, as MetaMask and Ledger Live use it):
// indices are looked at in order, and the walk ends after `gap` unused ones in a row.
class GapWalk {
  public:
    explicit GapWalk(std::uint32_t gap) : gap_(gap) {}
    // Records whether an index is in use; false when the walk is over.
    bool record(bool used) {
        unused_in_a_row_ = used ? 0 : unused_in_a_row_ + 1;
        return unused_in_a_row_ < gap_;
    }

  private:
    std::uint32_t gap_;
    std::uint32_t unused_in_a_row_ = 0;
};

}  // namespace keybridge::cli
