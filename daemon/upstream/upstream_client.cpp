#include "daemon/upstream/upstream_client.h"

#include <atomic>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "daemon/log.h"

namespace keybridge::daemon::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxResponseBytes = 32 * 1024 * 1024;

rpc::RpcError disconnected(const std::string& why) {
    return rpc::RpcError{rpc::kChainDisconnected, "the chain's RPC node is unreachable: " + why,
                         std::nullopt};
}

// Turns the node's HTTP response into an outcome.
rpc::Outcome interpret(const http::response<http::string_body>& res) {
    if (res.result() != http::status::ok) {
        return tl::unexpected(disconnected("HTTP " + std::to_string(res.result_int())));
    }
    json::error_code ec;
    json::value v = json::parse(res.body(), ec);
    if (ec || !v.is_object()) return tl::unexpected(disconnected("the answer is not JSON-RPC"));
    const json::object& o = v.as_object();
    if (const json::value* error = o.if_contains("error"); error && error->is_object()) {
        const json::object& e = error->as_object();
        rpc::RpcError out;
        out.code = e.contains("code") && e.at("code").is_int64()
                       ? static_cast<int>(e.at("code").as_int64())
                       : rpc::kInternalError;
        out.message = e.contains("message") && e.at("message").is_string()
                          ? std::string(e.at("message").as_string())
                          : "upstream error";
        if (e.contains("data")) out.data = e.at("data");
        return tl::unexpected(std::move(out));
    }
    if (!o.contains("result")) return tl::unexpected(disconnected("the answer has no result"));
    return o.at("result");
}

// One request/response exchange; Stream is a tcp_stream or an ssl_stream over one.
template <typename Stream>
class Exchange : public std::enable_shared_from_this<Exchange<Stream>> {
  public:
    Exchange(std::unique_ptr<Stream> stream, Url url, std::string body,
             std::chrono::milliseconds timeout, std::function<void(rpc::Outcome)> done)
        : stream_(std::move(stream)),
          resolver_(beast::get_lowest_layer(*stream_).get_executor()),
          url_(std::move(url)),
          timeout_(timeout),
          done_(std::move(done)) {
        request_.method(http::verb::post);
        request_.target(url_.target);
        request_.version(11);
        request_.set(http::field::host, url_.host);
        request_.set(http::field::content_type, "application/json");
        request_.set(http::field::user_agent, "keybridged");
        request_.body() = std::move(body);
        request_.prepare_payload();
        parser_.body_limit(kMaxResponseBytes);
    }

    void start() {
        resolver_.async_resolve(
            url_.host, url_.port,
            beast::bind_front_handler(&Exchange::on_resolve, this->shared_from_this()));
    }

  private:
    void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) return finish(tl::unexpected(disconnected("cannot resolve " + url_.host)));
        beast::get_lowest_layer(*stream_).expires_after(timeout_);
        beast::get_lowest_layer(*stream_).async_connect(
            results, beast::bind_front_handler(&Exchange::on_connect, this->shared_from_this()));
    }

    void on_connect(beast::error_code ec, const tcp::endpoint&) {
        if (ec)
            return finish(tl::unexpected(
                disconnected(ec == beast::error::timeout ? "timed out" : ec.message())));
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            stream_->async_handshake(
                asio::ssl::stream_base::client,
                beast::bind_front_handler(&Exchange::on_handshake, this->shared_from_this()));
        } else {
            on_handshake({});
        }
    }

    void on_handshake(beast::error_code ec) {
        if (ec)
            return finish(tl::unexpected(disconnected("TLS handshake failed: " + ec.message())));
        http::async_write(*stream_, request_,
                          beast::bind_front_handler(&Exchange::on_write, this->shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec) return finish(tl::unexpected(disconnected(ec.message())));
        http::async_read(*stream_, buffer_, parser_,
                         beast::bind_front_handler(&Exchange::on_read, this->shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec)
            return finish(tl::unexpected(
                disconnected(ec == beast::error::timeout ? "timed out" : ec.message())));
        finish(interpret(parser_.get()));
        beast::error_code ignored;
        beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    void finish(rpc::Outcome outcome) {
        if (!done_) return;
        auto done = std::move(done_);
        done_ = nullptr;
        done(std::move(outcome));
    }

    std::unique_ptr<Stream> stream_;
    tcp::resolver resolver_;
    Url url_;
    std::chrono::milliseconds timeout_;
    std::function<void(rpc::Outcome)> done_;
    http::request<http::string_body> request_;
    beast::flat_buffer buffer_;
    http::response_parser<http::string_body> parser_;
};

}  // namespace

core::Result<Url> parse_url(const std::string& url) {
    Url out;
    std::string rest;
    if (url.rfind("https://", 0) == 0) {
        out.tls = true;
        rest = url.substr(8);
    } else if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else {
        return core::fail(core::ErrorCode::InvalidArgument,
                          "URL must start with http:// or https://");
    }
    const auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    out.target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (authority.empty() || authority.find('@') != std::string::npos) {
        return core::fail(core::ErrorCode::InvalidArgument, "URL has no host (or has credentials)");
    }
    std::string host = authority;
    std::string port = out.tls ? "443" : "80";
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string::npos)
            return core::fail(core::ErrorCode::InvalidArgument, "bad IPv6 host in URL");
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':')
                return core::fail(core::ErrorCode::InvalidArgument, "bad port in URL");
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos) {
        return core::fail(core::ErrorCode::InvalidArgument, "bad host or port in URL");
    }
    out.host = host;
    out.port = port;
    return out;
}

UpstreamClient::UpstreamClient(asio::any_io_executor executor, std::chrono::milliseconds timeout)
    : executor_(std::move(executor)),
      timeout_(timeout),
      next_id_(std::make_shared<std::atomic<std::uint64_t>>(1)) {}

std::shared_ptr<asio::ssl::context> UpstreamClient::tls_context() {
    std::lock_guard lock(tls_mutex_);
    if (tls_) return tls_;
    try {
        auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        boost::system::error_code ec;
        context->set_default_verify_paths(ec);
        // Without a trust store every handshake fails verification: loud, never insecure.
        if (ec) log::warn("upstream", "cannot load the system's CA certificates: " + ec.message());
        context->set_verify_mode(asio::ssl::verify_peer, ec);
        if (ec) return nullptr;
        tls_ = std::move(context);
    } catch (const boost::system::system_error& e) {
        log::error("upstream", std::string("cannot create a TLS context: ") + e.what());
    }
    return tls_;
}

void UpstreamClient::call(const std::string& url_text, std::string method, json::value params,
                          std::function<void(rpc::Outcome)> done,
                          std::optional<std::chrono::milliseconds> timeout) {
    const std::chrono::milliseconds deadline = timeout.value_or(timeout_);
    auto url = parse_url(url_text);
    if (!url) {
        return done(tl::unexpected(disconnected("bad upstream URL: " + url.error().detail)));
    }
    json::object request;
    request["jsonrpc"] = "2.0";
    request["id"] = next_id_->fetch_add(1);
    request["method"] = method;
    request["params"] = params.is_null() ? json::value(json::array{}) : std::move(params);
    std::string body = json::serialize(request);
    auto strand = asio::make_strand(executor_);
    if (url->tls) {
        auto tls = tls_context();
        if (!tls) return done(tl::unexpected(disconnected("TLS is unavailable (see the log)")));
        auto stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(strand, *tls);
        // SNI and host name verification.
        if (!SSL_set_tlsext_host_name(stream->native_handle(), url->host.c_str())) {
            return done(tl::unexpected(disconnected("cannot set TLS server name")));
        }
        stream->set_verify_callback(asio::ssl::host_name_verification(url->host));
        std::make_shared<Exchange<beast::ssl_stream<beast::tcp_stream>>>(
            std::move(stream), *url, std::move(body), deadline, std::move(done))
            ->start();
    } else {
        auto stream = std::make_unique<beast::tcp_stream>(strand);
        std::make_shared<Exchange<beast::tcp_stream>>(std::move(stream), *url, std::move(body),
                                                      deadline, std::move(done))
            ->start();
    }
}

}  // namespace keybridge::daemon::upstream
