#pragma once

// A chain node for the end-to-end tests whose answers the test writes: a loopback HTTP
// JSON-RPC server that answers each method from a handler, optionally after a delay, and
// counts the calls. It plays the hostile, slow or inconsistent node that a real anvil cannot
// (fees of 63 ETH, a nonce that moves between two reads, an answer that takes a second).
// Handlers run on the server's own threads, one per upstream connection.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

namespace keybridge::test::e2e {

class ScriptedNode {
  public:
    // The handler's answer: a result, or a JSON-RPC error object when `error` is set.
    struct Answer {
        boost::json::value result;
        std::optional<boost::json::object> error;
        std::chrono::milliseconds delay{0};
    };
    using Handler = std::function<Answer(const boost::json::array& params)>;

    // Answers eth_chainId with `chain_id`; every other method is -32601 until given a handler.
    explicit ScriptedNode(std::uint64_t chain_id);
    ~ScriptedNode();
    ScriptedNode(const ScriptedNode&) = delete;
    ScriptedNode& operator=(const ScriptedNode&) = delete;

    // Sets (or replaces) the handler of `method`; safe while the node serves.
    void on(const std::string& method, Handler handler);
    // The same answer every time.
    void answer(const std::string& method, boost::json::value result,
                std::chrono::milliseconds delay = std::chrono::milliseconds(0));

    // "http://127.0.0.1:PORT/", for keybridged's --chain ID=URL.
    std::string url() const;
    // How many calls of `method` arrived so far.
    std::size_t calls(const std::string& method) const;

    // Answers for a plain funded account on a London chain: nonce, balance, gas estimate,
    // latest block with a base fee, fee history, gas price, sendRawTransaction (returns the
    // keccak of the raw bytes). Tests replace what they want hostile.
    void serve_defaults();

  private:
    void accept_loop();
    void serve(boost::asio::ip::tcp::socket socket);
    boost::json::value dispatch(const boost::json::value& request);

    std::uint64_t chain_id_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::map<std::string, Handler> handlers_;
    std::map<std::string, std::size_t> calls_;
    std::thread acceptor_thread_;
    std::vector<std::thread> connections_;
};

}  // namespace keybridge::test::e2e
