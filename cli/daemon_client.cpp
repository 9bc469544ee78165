#include "cli/daemon_client.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <span>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "cli/approval_view.h"
#include "store/vault/secure_file.h"

namespace keybridge::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::ip::tcp;
using core::ErrorCode;
using core::fail;

constexpr std::chrono::seconds kConnectTimeout{5};
constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;
constexpr const char* kUserAgent = "keybridge-cli/0.1.0";

// JSON-RPC error numbers the tool reacts to (daemon/rpc/jsonrpc.h holds the full table).
constexpr int kInvalidParams = -32602;
constexpr int kMethodNotFound = -32601;
constexpr int kUserRejected = 4001;
constexpr int kUnsupportedMethod = 4200;
constexpr int kDisconnected = 4900;

core::Error not_running(const DaemonAddress& address, const std::string& why) {
    return {ErrorCode::Disconnected,
            "keybridged is not running at " + address.authority() + " (" + why +
                "); start it with 'keybridged' or 'systemctl --user start keybridged', or "
                "pass --daemon HOST:PORT"};
}

core::Error socket_error(const DaemonAddress& address, const beast::error_code& ec,
                         const std::string& what) {
    if (ec == beast::error::timeout) {
        return {ErrorCode::Timeout,
                "keybridged at " + address.authority() + " did not answer " + what + " in time"};
    }
    if (ec == asio::error::connection_refused) return not_running(address, "connection refused");
    return {ErrorCode::IoError, "talking to keybridged at " + address.authority() + " (" + what +
                                    ") failed: " + ec.message()};
}

// Runs the asynchronous operations queued on ioc to completion. Every operation is bounded by
// its stream's timer, so this returns within the timeouts set on the streams.
void run_all(asio::io_context& ioc) {
    ioc.run();
    ioc.restart();
}

// Parses a JSON-RPC response object into an answer.
core::Result<RpcAnswer> parse_answer(const json::value& value, const std::string& from) {
    const json::object* o = value.if_object();
    if (o == nullptr) return fail(ErrorCode::ProtocolError, from + " is not a JSON-RPC response");
    RpcAnswer answer;
    if (const json::value* error = o->if_contains("error")) {
        const json::object* e = error->if_object();
        const json::value* code = e ? e->if_contains("code") : nullptr;
        const json::value* message = e ? e->if_contains("message") : nullptr;
        if (code == nullptr || !code->is_int64() || message == nullptr || !message->is_string()) {
            return fail(ErrorCode::ProtocolError, from + " has a malformed error object");
        }
        answer.error =
            RpcErrorAnswer{static_cast<int>(code->as_int64()), std::string(message->as_string())};
        return answer;
    }
    const json::value* result = o->if_contains("result");
    if (result == nullptr) return fail(ErrorCode::ProtocolError, from + " has no result");
    answer.result = *result;
    return answer;
}

// Size of text as a JSON string literal (quotes included).
std::size_t json_string_size(std::string_view text) {
    std::size_t n = 2;
    for (unsigned char c : text) {
        if (c == '"' || c == '\\')
            n += 2;
        else if (c < 0x20)
            n += 6;
        else
            n += 1;
    }
    return n;
}

// Writes text as a JSON string literal at out; returns the position after it.
char* write_json_string(char* out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    *out++ = '"';
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = static_cast<char>(c);
        } else if (c < 0x20) {
            std::memcpy(out, "\\u00", 4);
            out[4] = kHex[c >> 4];
            out[5] = kHex[c & 0xf];
            out += 6;
        } else {
            *out++ = static_cast<char>(c);
        }
    }
    *out++ = '"';
    return out;
}

// Well-formed UTF-8 (JSON text must be); checked without copying the secret anywhere.
bool is_utf8(std::string_view text) {
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    while (i < text.size()) {
        const unsigned char c = byte(i);
        std::size_t extra = 0;
        std::uint32_t min = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (extra > text.size() - i - 1) return false;  // truncated sequence
        for (std::size_t k = 1; k <= extra; ++k) {
            if ((byte(i + k) & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (byte(i + k) & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

std::string request_text(std::uint64_t id, std::string_view method, const json::value& params) {
    return json::serialize(
        json::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
}

}  // namespace

// ---------------------------------------------------------------- addresses and errors

std::string DaemonAddress::authority() const {
    const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return name + ":" + std::to_string(port);
}

core::Result<DaemonAddress> parse_daemon_address(std::string_view text) {
    const std::string given(text);
    auto bad = [&](const std::string& why) {
        return fail(ErrorCode::InvalidArgument, "--daemon " + given + ": " + why);
    };
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return bad("expected [::1]:PORT");
        }
        host = std::string(text.substr(1, close - 1));
        port = std::string(text.substr(close + 2));
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad("expected HOST:PORT");
        host = std::string(text.substr(0, colon));
        port = std::string(text.substr(colon + 1));
    }
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return bad("the port must be a number");
    }
    const unsigned long number = std::stoul(port);
    if (number == 0 || number > 65535) return bad("the port must be between 1 and 65535");
    if (host != "localhost") {
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(host, ec);
        if (ec || !address.is_loopback()) {
            return bad("keybridged listens on loopback only (127.0.0.1, [::1], localhost)");
        }
    }
    return DaemonAddress{host, static_cast<std::uint16_t>(number)};
}

core::Error error_from_rpc(const RpcErrorAnswer& answer) {
    ErrorCode code = ErrorCode::ProtocolError;
    switch (answer.code) {
        case kUserRejected:
            code = ErrorCode::UserCancelled;
            break;
        case kInvalidParams:
            code = ErrorCode::InvalidArgument;
            break;
        case kMethodNotFound:
        case kUnsupportedMethod:
            code = ErrorCode::NotSupported;
            break;
        case kDisconnected:
            code = ErrorCode::Disconnected;
            break;
        default:
            break;
    }
    // Printed on the user's terminal: whatever answered on that port cannot send escapes there.
    return {code, "keybridged: " + terminal_safe(answer.message) + " (error " +
                      std::to_string(answer.code) + ")"};
}

// ---------------------------------------------------------------- HTTP calls

core::Result<DaemonClient> DaemonClient::open(const std::string& datadir,
                                              const DaemonAddress& address) {
    const std::string cookie = datadir + "/.cookie";
    if (!vault::path_exists(cookie)) {
        return fail(not_running(address, "no " + cookie));
    }
    auto token = vault::read_file(cookie, 4096);
    if (!token) return fail(token.error());
    std::string trimmed = *token;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
        trimmed.pop_back();
    }
    if (trimmed.empty()) return fail(ErrorCode::InvalidFormat, cookie + " is empty");
    return DaemonClient(datadir, address, std::move(trimmed));
}

core::Result<RpcAnswer> DaemonClient::post(std::string_view body, std::chrono::seconds timeout) {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(address_.host, std::to_string(address_.port), ec);
    if (ec) return fail(socket_error(address_, ec, "resolving the address"));

    beast::tcp_stream stream(ioc);
    stream.expires_after(kConnectTimeout);
    stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run_all(ioc);
    if (ec) return fail(socket_error(address_, ec, "the connection"));

    http::request<http::span_body<const char>> request{http::verb::post, "/", 11};
    request.set(http::field::host, address_.authority());
    request.set(http::field::user_agent, kUserAgent);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::authorization, "Bearer " + token_);
    request.body() = std::span<const char>(body.data(), body.size());
    request.keep_alive(false);
    request.prepare_payload();

    stream.expires_after(timeout);
    http::async_write(stream, request, [&](beast::error_code e, std::size_t) { ec = e; });
    run_all(ioc);
    if (ec) return fail(socket_error(address_, ec, "sending the request"));

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBytes);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run_all(ioc);
    if (ec) return fail(socket_error(address_, ec, "the request"));
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    const auto& response = parser.get();
    const std::string from = "the answer of keybridged at " + address_.authority();
    if (response.result() == http::status::unauthorized) {
        return fail(ErrorCode::ProtocolError,
                    "keybridged at " + address_.authority() + " did not accept the token in " +
                        datadir_ + "/.cookie (is it running with another data folder?)");
    }
    if (response.result() != http::status::ok) {
        std::string text = response.body().substr(0, 300);
        while (!text.empty() && text.back() == '\n')
            text.pop_back();
        return fail(ErrorCode::ProtocolError,
                    "keybridged at " + address_.authority() + " answered HTTP " +
                        std::to_string(response.result_int()) + ": " + terminal_safe(text));
    }
    json::error_code jec;
    json::value value = json::parse(response.body(), jec);
    if (jec) return fail(ErrorCode::ProtocolError, from + " is not JSON");
    return parse_answer(value, from);
}

core::Result<RpcAnswer> DaemonClient::call_raw(std::string_view method, const json::value& params,
                                               std::chrono::seconds timeout) {
    return post(request_text(next_id_++, method, params), timeout);
}

core::Result<json::value> DaemonClient::call(std::string_view method, const json::value& params,
                                             std::chrono::seconds timeout) {
    auto answer = call_raw(method, params, timeout);
    if (!answer) return fail(answer.error());
    if (answer->error) return fail(error_from_rpc(*answer->error));
    return std::move(answer->result);
}

core::Result<RpcAnswer> DaemonClient::call_with_secret(std::string_view method,
                                                       const core::SecretBuffer& secret,
                                                       std::chrono::seconds timeout) {
    if (!is_utf8(secret.text())) {
        return fail(ErrorCode::InvalidFormat,
                    "the password is not UTF-8 text, so it cannot be sent to keybridged as JSON");
    }
    const std::string head = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(next_id_++) +
                             ",\"method\":" + json::serialize(json::string(method)) +
                             ",\"params\":[";
    const std::string tail = "]}";
    core::SecretBuffer body(head.size() + json_string_size(secret.text()) + tail.size());
    char* out = reinterpret_cast<char*>(body.data());
    std::memcpy(out, head.data(), head.size());
    out = write_json_string(out + head.size(), secret.text());
    std::memcpy(out, tail.data(), tail.size());
    return post(body.text(), timeout);
}

// ---------------------------------------------------------------- WebSocket

struct DaemonSocket::Impl {
    asio::io_context ioc;
    websocket::stream<beast::tcp_stream> ws{ioc};
    beast::flat_buffer buffer;
    std::deque<std::string> outbox;  // touched on the io thread only
    bool writing = false;
    bool open = false;
};

DaemonSocket::DaemonSocket() : impl_(std::make_unique<Impl>()) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

DaemonSocket::~DaemonSocket() {
    if (thread_.joinable()) {
        asio::post(impl_->ioc, [this] {
            if (!impl_->open) return;
            impl_->open = false;
            impl_->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
        });
        {
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, std::chrono::seconds(1), [this] { return closed_; });
        }
        impl_->ioc.stop();
        thread_.join();
    }
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void DaemonSocket::wake() {
    const std::uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof one) < 0) {
        // The counter cannot overflow here; a failed write only delays the user thread's poll.
    }
}

void DaemonSocket::drain_wake() {
    std::uint64_t count = 0;
    if (::read(wake_fd_, &count, sizeof count) < 0) {
        // EAGAIN: nothing to drain.
    }
}

void DaemonSocket::on_message(std::string text) {
    json::error_code ec;
    json::value value = json::parse(text, ec);
    std::lock_guard lock(mutex_);
    if (ec || !value.is_object()) return;  // not ours to interpret; the daemon only sends JSON
    json::object& o = value.as_object();
    if (o.contains("method")) {
        notifications_.push_back(std::move(o));
        wake();
    } else if (const json::value* id = o.if_contains("id"); id && id->is_int64()) {
        auto answer = parse_answer(value, "a WebSocket answer of keybridged");
        if (!answer) {
            answer = RpcAnswer{nullptr, RpcErrorAnswer{0, answer.error().detail}};
        }
        answers_[static_cast<std::uint64_t>(id->as_int64())] = std::move(*answer);
    }
    changed_.notify_all();
}

void DaemonSocket::on_closed(std::string reason) {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    close_reason_ = std::move(reason);
    wake();
    changed_.notify_all();
}

core::Result<RpcAnswer> DaemonSocket::call_raw(std::string_view method, const json::value& params,
                                               std::chrono::seconds timeout) {
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return fail(ErrorCode::Disconnected,
                        "keybridged closed the connection: " + close_reason_);
        id = next_id_++;
    }
    std::string text = request_text(id, method, params);
    asio::post(impl_->ioc, [this, text = std::move(text)]() mutable {
        if (!impl_->open) return;
        impl_->outbox.push_back(std::move(text));
        if (!impl_->writing) write_loop();
    });
    std::unique_lock lock(mutex_);
    const bool done =
        changed_.wait_for(lock, timeout, [&] { return answers_.count(id) || closed_; });
    if (auto it = answers_.find(id); it != answers_.end()) {
        RpcAnswer answer = std::move(it->second);
        answers_.erase(it);
        return answer;
    }
    if (!done) {
        return fail(ErrorCode::Timeout,
                    "keybridged did not answer " + std::string(method) + " in time");
    }
    return fail(ErrorCode::Disconnected, "keybridged closed the connection: " + close_reason_);
}

core::Result<json::value> DaemonSocket::call(std::string_view method, const json::value& params,
                                             std::chrono::seconds timeout) {
    auto answer = call_raw(method, params, timeout);
    if (!answer) return fail(answer.error());
    if (answer->error) return fail(error_from_rpc(*answer->error));
    return std::move(answer->result);
}

// Writes go out one at a time, in order; each completion starts the next.
void DaemonSocket::write_loop() {
    Impl& s = *impl_;
    if (s.outbox.empty() || !s.open) {
        s.writing = false;
        return;
    }
    s.writing = true;
    s.ws.text(true);
    s.ws.async_write(asio::buffer(s.outbox.front()), [this](beast::error_code ec, std::size_t) {
        impl_->outbox.pop_front();
        if (ec) {
            impl_->writing = false;
            return;  // the reader reports the broken connection
        }
        write_loop();
    });
}

// The reader runs until the connection ends, handing every message to the user thread's side.
void DaemonSocket::read_loop() {
    impl_->ws.async_read(impl_->buffer, [this](beast::error_code ec, std::size_t) {
        Impl& s = *impl_;
        if (ec) {
            s.open = false;
            std::string reason;
            if (ec == websocket::error::closed) {
                const auto& r = s.ws.reason();
                reason = "close code " + std::to_string(r.code) +
                         (r.reason.empty() ? "" : ", " + std::string(r.reason.c_str()));
            } else {
                reason = ec.message();
            }
            on_closed(std::move(reason));
            return;
        }
        on_message(beast::buffers_to_string(s.buffer.data()));
        s.buffer.consume(s.buffer.size());
        read_loop();
    });
}

core::Result<std::optional<json::object>> DaemonSocket::poll_notification() {
    std::lock_guard lock(mutex_);
    if (!notifications_.empty()) {
        json::object next = std::move(notifications_.front());
        notifications_.pop_front();
        return std::optional<json::object>(std::move(next));
    }
    if (closed_)
        return fail(ErrorCode::Disconnected, "keybridged closed the connection: " + close_reason_);
    // Drained under the lock: a notification pushed after this point writes the fd again.
    drain_wake();
    return std::optional<json::object>();
}

core::Result<std::unique_ptr<DaemonSocket>> DaemonClient::open_socket() {
    std::unique_ptr<DaemonSocket> socket(new DaemonSocket());
    if (socket->wake_fd_ < 0) {
        return fail(ErrorCode::IoError, std::string("eventfd failed: ") + std::strerror(errno));
    }
    DaemonSocket::Impl& s = *socket->impl_;
    tcp::resolver resolver(s.ioc);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(address_.host, std::to_string(address_.port), ec);
    if (ec) return fail(socket_error(address_, ec, "resolving the address"));
    auto& lowest = beast::get_lowest_layer(s.ws);
    lowest.expires_after(kConnectTimeout);
    lowest.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run_all(s.ioc);
    if (ec) return fail(socket_error(address_, ec, "the connection"));

    // The WebSocket layer keeps time from here on (handshake limit; no idle limit: an approver
    // may wait a long time for requests, and the daemon's pings are answered by the reader).
    lowest.expires_never();
    s.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    s.ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(http::field::user_agent, kUserAgent); }));
    websocket::response_type response;
    s.ws.async_handshake(response, address_.authority(), "/?token=" + token_,
                         [&](beast::error_code e) { ec = e; });
    run_all(s.ioc);
    if (ec) {
        if (response.result() == http::status::unauthorized) {
            return fail(ErrorCode::ProtocolError,
                        "keybridged at " + address_.authority() + " did not accept the token in " +
                            datadir_ + "/.cookie (is it running with another data folder?)");
        }
        return fail(socket_error(address_, ec, "the WebSocket handshake"));
    }
    s.open = true;

    DaemonSocket* self = socket.get();
    self->read_loop();
    socket->thread_ = std::thread([self] {
        self->impl_->ioc.run();
        self->on_closed("the connection ended");
    });
    return socket;
}

}  // namespace keybridge::cli
