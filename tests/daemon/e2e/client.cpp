#include "tests/daemon/e2e/client.h"
#include "tests/daemon/e2e/tcp_segments.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cctype>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

namespace keybridge::test::e2e {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

namespace {

// Runs the io_context until the operation started by `start` completes; the tcp_stream's
// deadline (set by the caller) bounds it.
template <typename Start>
error_code run_one(asio::io_context& ioc, Start&& start) {
    error_code result = asio::error::would_block;
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
}

tcp::endpoint loopback(std::uint16_t port) {
    return {asio::ip::make_address("127.0.0.1"), port};
}

error_code connect(asio::io_context& ioc, beast::tcp_stream& stream, std::uint16_t port,
                   std::chrono::milliseconds timeout) {
    stream.expires_after(timeout);
    return run_one(ioc, [&](auto handler) { stream.async_connect(loopback(port), handler); });
}

http::request<http::string_body> build(const HttpRequest& r, std::uint16_t port) {
    http::request<http::string_body> req;
    const http::verb verb = http::string_to_verb(r.method);
    if (verb == http::verb::unknown)
        req.method_string(r.method);
    else
        req.method(verb);
    req.target(r.target);
    req.version(r.version);
    if (!r.host)
        req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    else if (!r.host->empty())
        req.set(http::field::host, *r.host);
    if (!r.content_type.empty()) req.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers)
        req.insert(name, value);
    req.body() = r.body;
    req.prepare_payload();
    return req;
}

HttpResponse convert(const http::response<http::string_body>& res) {
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
        std::string name = lower(field.name_string());
        auto& slot = out.headers[name];
        slot = slot.empty() ? std::string(field.value()) : slot + ", " + std::string(field.value());
    }
    out.body = res.body();
    out.keep_alive = res.keep_alive();
    return out;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
    auto it = headers.find(lower(name));
    return it == headers.end() ? std::string() : it->second;
}

bool HttpResponse::has_header(std::string_view name) const {
    return headers.count(lower(name)) != 0;
}

json::value HttpResponse::json() const {
    json::error_code ec;
    json::value v = json::parse(body, ec);
    return ec ? json::value(nullptr) : v;
}

// ------------------------------------------------------------------------------------ HTTP

HttpConnection::HttpConnection(std::uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout), stream_(ioc_) {
    error_code ec = connect(ioc_, stream_, port, timeout);
    connected_ = !ec;
    if (ec) connect_error_ = ec.message();
}

HttpConnection::~HttpConnection() {
    error_code ignored;
    stream_.socket().close(ignored);
}

HttpResponse HttpConnection::send(const HttpRequest& request) {
    HttpResponse out;
    if (!connected_) {
        out.error = "not connected: " + connect_error_;
        return out;
    }
    auto req = build(request, port_);
    stream_.expires_after(timeout_);
    error_code ec = run_one(ioc_, [&](auto handler) { http::async_write(stream_, req, handler); });
    // A server that refuses early may close before reading everything: still read its answer.
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    if (request.method == "HEAD") parser.skip(true);
    stream_.expires_after(timeout_);
    error_code read_ec =
        run_one(ioc_, [&](auto handler) { http::async_read(stream_, buffer_, parser, handler); });
    if (read_ec) {
        out.error =
            (ec ? "write: " + ec.message() + "; " : std::string()) + "read: " + read_ec.message();
        connected_ = false;
        return out;
    }
    out = convert(parser.get());
    if (!out.keep_alive) connected_ = false;
    return out;
}

bool HttpConnection::closed_by_peer(std::chrono::milliseconds wait) {
    char byte = 0;
    stream_.expires_after(wait);
    error_code ec = run_one(
        ioc_, [&](auto handler) { stream_.async_read_some(asio::buffer(&byte, 1), handler); });
    return ec == asio::error::eof || ec == asio::error::connection_reset;
}

HttpResponse http_request(std::uint16_t port, const HttpRequest& request,
                          std::chrono::milliseconds timeout) {
    HttpConnection connection(port, timeout);
    return connection.send(request);
}

// ------------------------------------------------------------------------------ JSON-RPC

HttpRequest RpcClient::request(std::string body) const {
    HttpRequest r;
    r.body = std::move(body);
    if (!caller_.token.empty()) {
        if (caller_.token_in_query)
            r.target = "/?token=" + caller_.token;
        else
            r.headers.emplace_back("Authorization", "Bearer " + caller_.token);
    }
    if (!caller_.origin.empty()) r.headers.emplace_back("Origin", caller_.origin);
    return r;
}

HttpResponse RpcClient::post(std::string body, std::string content_type) const {
    HttpRequest r = request(std::move(body));
    r.content_type = std::move(content_type);
    return http_request(port_, r, timeout_);
}

json::value RpcClient::call(std::string_view method, json::value params, json::value id) const {
    json::object o{{"jsonrpc", "2.0"},
                   {"id", std::move(id)},
                   {"method", method},
                   {"params", std::move(params)}};
    HttpResponse res = post(json::serialize(o));
    json::value v = res.json();
    if (!v.is_object()) {
        ADD_FAILURE() << method << ": no JSON-RPC answer (HTTP " << res.status << ", " << res.error
                      << "): " << res.body;
        return nullptr;
    }
    return v;
}

json::value RpcClient::result(std::string_view method, json::value params) const {
    json::value v = call(method, std::move(params));
    if (!v.is_object()) return nullptr;
    if (const json::value* r = v.as_object().if_contains("result")) return *r;
    ADD_FAILURE() << method << " failed: " << json::serialize(v);
    return nullptr;
}

int RpcClient::error_code(std::string_view method, json::value params) const {
    json::value v = call(method, std::move(params));
    if (!v.is_object()) return 0;
    const json::value* e = v.as_object().if_contains("error");
    if (e == nullptr || !e->is_object() || !e->as_object().contains("code")) {
        ADD_FAILURE() << method << " did not fail: " << json::serialize(v);
        return 0;
    }
    return e->as_object().at("code").to_number<int>();
}

// ----------------------------------------------------------------------------- control socket

ControlConnection::ControlConnection(std::string socket_path, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path) {
        error_ = "path too long";
        return;
    }
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ >= 0 &&
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        error_ = std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
    }
}

ControlConnection::~ControlConnection() {
    if (fd_ >= 0) ::close(fd_);
}

bool ControlConnection::send_line(std::string_view text) {
    if (fd_ < 0) return false;
    std::string line(text);
    line.push_back('\n');
    std::string_view rest = line;
    while (!rest.empty()) {
        const ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::optional<std::string> ControlConnection::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fd_ >= 0) {
        if (auto nl = pending_.find('\n'); nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return std::nullopt;
        pending_.append(chunk, static_cast<std::size_t>(n));
    }
    return std::nullopt;
}

json::value ControlConnection::call(std::string_view method, json::value params, std::int64_t id) {
    json::object o{
        {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
    if (!send_line(json::serialize(o))) {
        ADD_FAILURE() << method << ": cannot send on the control socket (" << error_ << ")";
        return nullptr;
    }
    while (auto line = read_line(timeout_)) {
        json::error_code ec;
        json::value v = json::parse(*line, ec);
        if (ec || !v.is_object()) {
            ADD_FAILURE() << method << ": not JSON on the control socket: " << *line;
            return nullptr;
        }
        const json::value* got = v.as_object().if_contains("id");
        if (got != nullptr && got->is_int64() && got->as_int64() == id) return v;
        notifications.push_back(std::move(v));
    }
    ADD_FAILURE() << method << ": no answer on the control socket";
    return nullptr;
}

json::value ControlConnection::next_notification(std::chrono::milliseconds timeout) {
    if (!notifications.empty()) {
        json::value next = std::move(notifications.front());
        notifications.pop_front();
        return next;
    }
    auto line = read_line(timeout);
    if (!line) return nullptr;
    json::error_code ec;
    json::value v = json::parse(*line, ec);
    return ec ? json::value(nullptr) : v;
}

json::value ControlClient::call(std::string_view method, json::value params) const {
    ControlConnection connection(path_, timeout_);
    if (!connection.connected()) {
        ADD_FAILURE() << "cannot connect to " << path_ << ": " << connection.error();
        return nullptr;
    }
    return connection.call(method, std::move(params));
}

json::value ControlClient::result(std::string_view method, json::value params) const {
    json::value v = call(method, std::move(params));
    if (!v.is_object()) return nullptr;
    if (const json::value* r = v.as_object().if_contains("result")) return *r;
    ADD_FAILURE() << method << " failed: " << json::serialize(v);
    return nullptr;
}

int ControlClient::error_code(std::string_view method, json::value params) const {
    json::value v = call(method, std::move(params));
    if (!v.is_object()) return 0;
    const json::value* e = v.as_object().if_contains("error");
    if (e == nullptr || !e->is_object() || !e->as_object().contains("code")) {
        ADD_FAILURE() << method << " did not fail: " << json::serialize(v);
        return 0;
    }
    return e->as_object().at("code").to_number<int>();
}

// ----------------------------------------------------------------------------- WebSocket

WsClient::WsClient(std::uint16_t port, const Caller& caller)
    : WsClient(port, [&] {
          Options o;
          if (!caller.token.empty()) {
              if (caller.token_in_query)
                  o.target = "/?token=" + caller.token;
              else
                  o.headers.emplace_back("Authorization", "Bearer " + caller.token);
          }
          if (!caller.origin.empty()) o.headers.emplace_back("Origin", caller.origin);
          return o;
      }()) {}

WsClient::WsClient(std::uint16_t port, Options options) : ws_(ioc_), timeout_(options.timeout) {
    auto& stream = ws_.next_layer();
    if (options.receive_buffer > 0) {
        error_code ec;
        stream.socket().open(tcp::v4(), ec);
        stream.socket().set_option(asio::socket_base::receive_buffer_size(options.receive_buffer),
                                   ec);
    }
    if (error_code ec = connect(ioc_, stream, port, timeout_); ec) {
        error_ = "connect: " + ec.message();
        return;
    }
    const bool no_host = options.host && options.host->empty();
    const std::string host =
        options.host && !no_host ? *options.host : "127.0.0.1:" + std::to_string(port);
    ws_.set_option(websocket::stream_base::decorator(
        [headers = options.headers, no_host](websocket::request_type& req) {
            for (const auto& [name, value] : headers)
                req.set(name, value);
            if (no_host) req.erase(http::field::host);
        }));
    ws_.read_message_max(256 * 1024 * 1024);
    websocket::response_type res;
    stream.expires_after(timeout_);
    error_code ec = run_one(
        ioc_, [&](auto handler) { ws_.async_handshake(res, host, options.target, handler); });
    if (ec) {
        error_ = "handshake: " + ec.message();
        refused_status_ = static_cast<int>(res.result_int());
        return;
    }
    open_ = true;
}

WsClient::~WsClient() {
    error_code ignored;
    ws_.next_layer().socket().close(ignored);
}

bool WsClient::send_text(std::string_view text) {
    if (!open_) return false;
    ws_.text(true);
    ws_.next_layer().expires_after(timeout_);
    error_code ec = run_one(ioc_, [&](auto handler) {
        ws_.async_write(asio::buffer(text.data(), text.size()), handler);
    });
    if (ec) open_ = false;
    return !ec;
}

bool WsClient::send_binary(std::string_view bytes) {
    if (!open_) return false;
    ws_.binary(true);
    ws_.next_layer().expires_after(timeout_);
    error_code ec = run_one(ioc_, [&](auto handler) {
        ws_.async_write(asio::buffer(bytes.data(), bytes.size()), handler);
    });
    if (ec) open_ = false;
    return !ec;
}

std::optional<std::string> WsClient::read(std::chrono::milliseconds timeout) {
    if (!open_) return std::nullopt;
    ws_.next_layer().expires_after(timeout);
    error_code ec = run_one(ioc_, [&](auto handler) { ws_.async_read(buffer_, handler); });
    if (ec) {
        open_ = false;
        note_close(ec);
        return std::nullopt;
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return text;
}

std::optional<std::string> WsClient::send_after_silence(std::chrono::milliseconds silence,
                                                        std::string_view text) {
    if (!open_) return std::nullopt;
    ws_.next_layer().expires_after(silence + timeout_);
    std::optional<error_code> read_result;
    ws_.async_read(buffer_, [&](error_code ec, std::size_t) { read_result = ec; });
    ioc_.restart();
    ioc_.run_for(silence);
    if (read_result) {  // the connection ended, or a message came, while silent
        open_ = false;
        if (*read_result) note_close(*read_result);
        return std::nullopt;
    }
    ws_.text(true);
    ws_.async_write(asio::buffer(text.data(), text.size()), [](error_code, std::size_t) {});
    ioc_.restart();
    while (!read_result && ioc_.run_one() > 0) {
    }
    if (!read_result || *read_result) {
        open_ = false;
        if (read_result) note_close(*read_result);
        return std::nullopt;
    }
    std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return message;
}

std::optional<json::value> WsClient::read_json(std::chrono::milliseconds timeout) {
    auto text = read(timeout);
    if (!text) return std::nullopt;
    json::error_code ec;
    json::value v = json::parse(*text, ec);
    if (ec) {
        ADD_FAILURE() << "the server sent a message that is not JSON: " << *text;
        return std::nullopt;
    }
    return v;
}

std::optional<json::value> WsClient::read_response(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return std::nullopt;
        auto v = read_json(left);
        if (!v) return std::nullopt;
        if (v->is_object() && v->as_object().contains("method") && !v->as_object().contains("id")) {
            notifications_.push_back(std::move(*v));
            continue;
        }
        return v;
    }
}

json::value WsClient::call(std::string_view method, json::value params,
                           std::chrono::milliseconds timeout) {
    const std::int64_t id = next_id_++;
    json::object o{
        {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
    if (!send_text(json::serialize(o))) return nullptr;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return nullptr;
        auto v = read_json(left);
        if (!v) return nullptr;
        if (v->is_object() && v->as_object().contains("method")) {
            notifications_.push_back(std::move(*v));
            continue;
        }
        if (v->is_object() && v->as_object().contains("id") &&
            v->as_object().at("id") == json::value(id))
            return *v;
        ADD_FAILURE() << "unexpected message while waiting for " << method << ": "
                      << json::serialize(*v);
    }
}

json::value WsClient::next_notification(std::chrono::milliseconds timeout) {
    if (!notifications_.empty()) {
        json::value v = std::move(notifications_.front());
        notifications_.pop_front();
        return v;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return nullptr;
        auto v = read_json(left);
        if (!v) return nullptr;
        if (v->is_object() && v->as_object().contains("method")) return *v;
        ADD_FAILURE() << "unexpected message while waiting for a notification: "
                      << json::serialize(*v);
    }
}

bool WsClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (open_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return false;
        ws_.next_layer().expires_after(left);
        error_code ec = run_one(ioc_, [&](auto handler) { ws_.async_read(buffer_, handler); });
        buffer_.consume(buffer_.size());
        if (!ec) continue;
        open_ = false;
        note_close(ec);
        return ec != beast::error::timeout;
    }
    return true;
}

void WsClient::note_close(boost::system::error_code ec) {
    end_error_ = ec.message();
    // A close frame may have arrived even when answering it failed (the server had gone).
    if (ws_.reason().code != websocket::close_code::none) {
        close_code_ = static_cast<int>(ws_.reason().code);
        close_reason_ = std::string(ws_.reason().reason.c_str());
    }
}

void WsClient::close() {
    if (!open_) return;
    ws_.next_layer().expires_after(timeout_);
    run_one(ioc_, [&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); });
    open_ = false;
}

// ------------------------------------------------------------------------------- raw TCP

RawConnection::RawConnection(std::uint16_t port) : stream_(ioc_) {
    connected_ = !connect(ioc_, stream_, port, kDefaultTimeout);
}

RawConnection::~RawConnection() {
    close();
}

bool RawConnection::write(std::string_view bytes, std::chrono::milliseconds timeout) {
    if (!connected_) return false;
    stream_.expires_after(timeout);
    error_code ec = run_one(ioc_, [&](auto handler) {
        asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), handler);
    });
    return !ec;
}

std::string RawConnection::read_until_close(std::chrono::milliseconds timeout) {
    std::string out;
    if (!connected_) return out;
    stream_.expires_after(timeout);
    char chunk[4096];
    for (;;) {
        std::size_t got = 0;
        error_code ec = run_one(ioc_, [&](auto handler) {
            stream_.async_read_some(asio::buffer(chunk),
                                    [&got, handler](error_code e, std::size_t n) mutable {
                                        got = n;
                                        handler(e);
                                    });
        });
        out.append(chunk, got);
        if (!ec) continue;
        if (ec == asio::error::eof || ec == asio::error::connection_reset) peer_closed_ = true;
        connected_ = false;
        return out;
    }
}

std::string RawConnection::read_until(std::string_view delimiter,
                                      std::chrono::milliseconds timeout) {
    std::string out;
    if (!connected_) return out;
    stream_.expires_after(timeout);
    char byte = 0;
    while (out.size() < delimiter.size() ||
           out.compare(out.size() - delimiter.size(), delimiter.size(), delimiter) != 0) {
        error_code ec = run_one(
            ioc_, [&](auto handler) { stream_.async_read_some(asio::buffer(&byte, 1), handler); });
        if (ec) {
            if (ec == asio::error::eof || ec == asio::error::connection_reset) peer_closed_ = true;
            connected_ = false;
            break;
        }
        out += byte;
    }
    return out;
}

std::string RawConnection::read_some(std::chrono::milliseconds timeout) {
    if (!connected_) return {};
    stream_.expires_after(timeout);
    char chunk[65536];
    std::size_t got = 0;
    error_code ec = run_one(ioc_, [&](auto handler) {
        stream_.async_read_some(asio::buffer(chunk),
                                [&got, handler](error_code e, std::size_t n) mutable {
                                    got = n;
                                    handler(e);
                                });
    });
    if (ec) {
        if (ec == asio::error::eof || ec == asio::error::connection_reset) peer_closed_ = true;
        connected_ = false;
    }
    return std::string(chunk, got);
}

std::uint32_t RawConnection::data_segments_received() {
    return tcp_data_segments_received(stream_.socket().native_handle());
}

void RawConnection::shutdown_send() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void RawConnection::close() {
    error_code ignored;
    stream_.socket().close(ignored);
    connected_ = false;
}

void RawConnection::reset() {
    error_code ignored;
    stream_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
    close();
}

}  // namespace keybridge::test::e2e
