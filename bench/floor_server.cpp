// keybridge_floor_server: the least a loopback JSON-RPC signer can do per request, as a yardstick
// for keybridged's own cost (docs/BENCHMARKS.md, "The floor").
//
// It answers keybridge_loadgen over HTTP/1.1 keep-alive and WebSocket on as many network threads
// as keybridged uses by default (two, one on a one-core machine; --threads N), each with its own
// event loop and its connections dealt in turn, as keybridged deals them, but does nothing a wallet
// must do: no JSON parsing (the id, method and message are found by scanning), no origin, token,
// Host or size checks, no approval, no audit log, one fixed key. personal_sign still really signs
// (EIP-191 over the request's message with core), so the CPU it spends per request is transport +
// signature, and nothing else.
//
// NOT a server to use: it signs for anyone. It binds 127.0.0.1 only and exists for benchmarks.
//
// Usage: keybridge_floor_server [--port N] [--threads N]   (port 0, the default, picks a free
//        port; the chosen one is printed as "listening on 127.0.0.1:PORT")

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "core/address.h"
#include "core/bytes.h"
#include "core/eip191.h"
#include "core/secp256k1.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace keybridge;

// The fixed signing key: the scalar 1 (its address is public knowledge; this is a benchmark).
const core::PrivateKey& signing_key() {
    static const core::PrivateKey key = [] {
        core::Bytes one(32, 0);
        one[31] = 1;
        return *core::PrivateKey::from_bytes(one);
    }();
    return key;
}

const std::string& signer_address() {
    static const std::string text =
        core::PublicKey::from_private(signing_key()).address().to_checksum_string();
    return text;
}

// The text after `key` up to (not including) `stop`, or nothing.
std::optional<std::string_view> scan(std::string_view body, std::string_view key, char stop) {
    const auto at = body.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    const auto from = at + key.size();
    const auto end = body.find(stop, from);
    if (end == std::string_view::npos) return std::nullopt;
    return body.substr(from, end - from);
}

// The JSON-RPC answer to one request body.
std::string answer(std::string_view body) {
    auto id = scan(body, "\"id\":", ',');
    auto method = scan(body, "\"method\":\"", '"');
    std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
    out.append(id ? *id : "null");
    if (method && *method == "personal_sign") {
        auto message_hex = scan(body, "\"params\":[\"", '"');
        auto message = message_hex ? core::hex_decode(*message_hex) : core::Bytes{};
        if (message) {
            const auto signature = core::sign_personal_message(signing_key(), *message).to_rsv();
            out.append(",\"result\":\"");
            out.append(core::hex_encode(signature));
            out.append("\"}");
            return out;
        }
    } else if (method && *method == "eth_chainId") {
        out.append(",\"result\":\"0x7a69\"}");
        return out;
    } else if (method && *method == "eth_requestAccounts") {
        out.append(",\"result\":[\"" + signer_address() + "\"]}");
        return out;
    }
    out.append(",\"error\":{\"code\":-32601,\"message\":\"not in the floor server\"}}");
    return out;
}

class WsSession : public std::enable_shared_from_this<WsSession> {
  public:
    explicit WsSession(tcp::socket socket) : ws_(std::move(socket)) {}

    void start(http::request<http::string_body> upgrade) {
        ws_.text(true);
        ws_.async_accept(upgrade, [self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->read();
        });
    }

  private:
    void read() {
        ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->out_ = answer(beast::buffers_to_string(self->in_.data()));
            self->in_.consume(self->in_.size());
            self->ws_.async_write(asio::buffer(self->out_),
                                  [self](beast::error_code wec, std::size_t) {
                                      if (!wec) self->read();
                                  });
        });
    }

    websocket::stream<tcp::socket> ws_;
    beast::flat_buffer in_;
    std::string out_;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    explicit HttpSession(tcp::socket socket) : socket_(std::move(socket)) {}

    void read() {
        request_ = {};
        http::async_read(socket_, buffer_, request_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return;
                             self->handle();
                         });
    }

  private:
    void handle() {
        if (websocket::is_upgrade(request_)) {
            std::make_shared<WsSession>(std::move(socket_))->start(std::move(request_));
            return;
        }
        const std::string body = answer(request_.body());
        out_ = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->read();
                          });
    }

    tcp::socket socket_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    std::string out_;
};

// Each new connection goes to the next event loop in turn and stays there.
class Acceptor {
  public:
    Acceptor(std::vector<std::unique_ptr<asio::io_context>>& loops, std::uint16_t port)
        : loops_(loops),
          acceptor_(*loops.front(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {}

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    void accept() {
        asio::io_context& loop = *loops_[next_++ % loops_.size()];
        acceptor_.async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
            if (!ec) std::make_shared<HttpSession>(std::move(socket))->read();
            accept();
        });
    }

  private:
    std::vector<std::unique_ptr<asio::io_context>>& loops_;
    tcp::acceptor acceptor_;
    std::size_t next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 0;
    unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1U, 2U);
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::stoul(argv[++i]));
        } else if (arg == "--threads" && i + 1 < argc) {
            threads = static_cast<unsigned>(std::clamp(std::stoul(argv[++i]), 1UL, 64UL));
        } else {
            std::cerr << "usage: keybridge_floor_server [--port N] [--threads N]\n";
            return 2;
        }
    }
    std::vector<std::unique_ptr<asio::io_context>> loops;
    for (unsigned i = 0; i < threads; ++i)
        loops.push_back(std::make_unique<asio::io_context>(1));
    Acceptor acceptor(loops, port);
    std::cerr << "listening on 127.0.0.1:" << acceptor.port() << " (" << threads
              << " network threads)" << std::endl;
    acceptor.accept();
    // The other loops have no work until a connection arrives: keep them running.
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep;
    std::vector<std::thread> workers;
    for (std::size_t i = 1; i < loops.size(); ++i) {
        keep.push_back(asio::make_work_guard(*loops[i]));
        workers.emplace_back([&loop = *loops[i]] { loop.run(); });
    }
    loops.front()->run();
    for (auto& w : workers)
        w.join();
    return 0;
}
