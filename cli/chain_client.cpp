#include "cli/chain_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace keybridge::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using core::ErrorCode;
using core::fail;

constexpr std::size_t kMaxResponse = 4 * 1024 * 1024;

// Sends the request and reads the answer on a connected (and for TLS, handshaken) stream;
// the stream's deadline bounds every step.
template <class Stream>
core::Result<std::string> exchange(asio::io_context& io, Stream& stream, beast::tcp_stream& tcp,
                                   http::request<http::string_body>& request,
                                   std::chrono::milliseconds timeout) {
    beast::error_code failure;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponse);
    beast::flat_buffer buffer;
    tcp.expires_after(timeout);
    http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
        if (ec) {
            failure = ec;
            return;
        }
        http::async_read(stream, buffer, parser,
                         [&](beast::error_code read_ec, std::size_t) { failure = read_ec; });
    });
    io.restart();
    io.run();
    if (failure) return fail(ErrorCode::IoError, failure.message());
    const auto& response = parser.get();
    if (response.result() != http::status::ok) {
        return fail(ErrorCode::IoError, "HTTP status " + std::to_string(response.result_int()));
    }
    return response.body();
}

}  // namespace

core::Result<ChainClient> ChainClient::create(const std::string& url,
                                              std::chrono::milliseconds timeout) {
    ChainClient client;
    std::string rest;
    if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else if (url.rfind("https://", 0) == 0) {
        client.tls_ = true;
        rest = url.substr(8);
    } else {
        return fail(ErrorCode::InvalidArgument,
                    "the node's URL must start with http:// or https://");
    }
    const auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    client.target_ = slash == std::string::npos ? "/" : rest.substr(slash);
    if (!authority.empty() && authority.front() == '[') {  // [::1]:8545
        const auto close = authority.find(']');
        if (close == std::string::npos) return fail(ErrorCode::InvalidArgument, "bad URL host");
        client.host_ = authority.substr(1, close - 1);
        if (close + 1 < authority.size() && authority[close + 1] == ':')
            client.port_ = authority.substr(close + 2);
    } else {
        const auto colon = authority.rfind(':');
        client.host_ = authority.substr(0, colon);
        if (colon != std::string::npos) client.port_ = authority.substr(colon + 1);
    }
    if (client.port_.empty()) client.port_ = client.tls_ ? "443" : "80";
    if (client.host_.empty() || client.host_.find('@') != std::string::npos) {
        return fail(ErrorCode::InvalidArgument, "the node's URL has no usable host");
    }
    client.timeout_ = timeout;
    return client;
}

core::Result<json::value> ChainClient::call(const std::string& method, json::array params) {
    json::object body{
        {"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", std::move(params)}};
    http::request<http::string_body> request{http::verb::post, target_, 11};
    request.set(http::field::host, host_);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::user_agent, "keybridge");
    request.body() = json::serialize(body);
    request.prepare_payload();

    const std::string where = "the node at " + host_ + ":" + port_;
    asio::io_context io;
    beast::error_code ec;
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return fail(ErrorCode::IoError, where + ": " + ec.message());
    core::Result<std::string> answer = fail(ErrorCode::Internal, "unreachable");
    if (tls_) {
        asio::ssl::context context(asio::ssl::context::tls_client);
        context.set_default_verify_paths(ec);
        context.set_verify_mode(asio::ssl::verify_peer);
        beast::ssl_stream<beast::tcp_stream> stream(io, context);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), host_.c_str())) {
            return fail(ErrorCode::IoError, where + ": cannot set the TLS host name");
        }
        stream.set_verify_callback(asio::ssl::host_name_verification(host_));
        beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
        tcp.expires_after(timeout_);
        beast::error_code step;
        tcp.async_connect(endpoints, [&](beast::error_code c, const auto&) {
            if (c) {
                step = c;
                return;
            }
            stream.async_handshake(asio::ssl::stream_base::client,
                                   [&](beast::error_code h) { step = h; });
        });
        io.run();
        if (step) return fail(ErrorCode::IoError, where + ": " + step.message());
        answer = exchange(io, stream, tcp, request, timeout_);
    } else {
        beast::tcp_stream tcp(io);
        tcp.expires_after(timeout_);
        beast::error_code step;
        tcp.async_connect(endpoints, [&](beast::error_code c, const auto&) { step = c; });
        io.run();
        if (step) return fail(ErrorCode::IoError, where + ": " + step.message());
        answer = exchange(io, tcp, tcp, request, timeout_);
    }
    if (!answer) return fail(ErrorCode::IoError, where + ": " + answer.error().detail);
    json::value parsed = json::parse(*answer, ec);
    if (ec || !parsed.is_object()) {
        return fail(ErrorCode::IoError, where + " did not answer with JSON-RPC");
    }
    const json::object& reply = parsed.as_object();
    if (const auto* error = reply.if_contains("error"); error != nullptr && !error->is_null()) {
        std::string message = "the node refused " + method;
        if (error->is_object()) {
            if (const auto* m = error->as_object().if_contains("message"); m && m->is_string())
                message += ": " + std::string(m->as_string());
        }
        return fail(ErrorCode::ProtocolError, message);
    }
    const auto* result = reply.if_contains("result");
    if (result == nullptr) return fail(ErrorCode::IoError, where + " answered without a result");
    return *result;
}

core::Result<bool> address_in_use(ChainClient& client, const core::Address& address) {
    // A hex quantity other than zero ("0x0", "0x", "0x00...").
    auto nonzero = [](const json::value& v, const char* what) -> core::Result<bool> {
        if (!v.is_string() || v.as_string().size() < 3 ||
            v.as_string().subview().substr(0, 2) != "0x") {
            return fail(ErrorCode::IoError,
                        std::string("the node's ") + what + " is not a hex number");
        }
        for (char c : v.as_string().subview().substr(2)) {
            if (!std::isxdigit(static_cast<unsigned char>(c))) {
                return fail(ErrorCode::IoError,
                            std::string("the node's ") + what + " is not a hex number");
            }
            if (c != '0') return true;
        }
        return false;
    };
    const std::string hex = address.to_checksum_string();
    auto count = client.call("eth_getTransactionCount", json::array{hex, "latest"});
    if (!count) return fail(count.error());
    auto sent = nonzero(*count, "transaction count");
    if (!sent) return fail(sent.error());
    if (*sent) return true;
    auto balance = client.call("eth_getBalance", json::array{hex, "latest"});
    if (!balance) return fail(balance.error());
    return nonzero(*balance, "balance");
}

}  // namespace keybridge::cli
