#include "cli/daemon_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/approval_view.h"
#include "store/datadir/daemon_files.h"
#include "store/vault/secure_file.h"

namespace keybridge::cli {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;

// JSON-RPC error numbers the tool reacts to (daemon/rpc/jsonrpc.h holds the full table).
constexpr int kInvalidParams = -32602;
constexpr int kMethodNotFound = -32601;
constexpr int kUserRejected = 4001;
constexpr int kUnsupportedMethod = 4200;
constexpr int kDisconnected = 4900;

core::Error not_running(const std::string& datadir, const std::string& why) {
    return {ErrorCode::Disconnected,
            "keybridged is not running with the data folder " + datadir + " (" + why +
                "); start it with 'keybridged' or 'systemctl --user start keybridged'"};
}

// Why nothing answers on the socket: a daemon that crashed leaves its files but not its lock.
core::Error explain_absence(const std::string& datadir, const std::string& path,
                            const std::string& what) {
    auto running = datadir::daemon_running(datadir);
    if (running && !*running) {
        const bool leftovers =
            vault::path_exists(path) || vault::path_exists(datadir::cookie_path(datadir));
        return not_running(datadir, leftovers ? what +
                                                    "; the socket and .cookie there were "
                                                    "left by a keybridged that stopped "
                                                    "without cleaning up, and are ignored"
                                              : what);
    }
    if (running && *running) {
        return {ErrorCode::Disconnected,
                "keybridged holds the data folder " + datadir + " but its control socket " + path +
                    " does not answer (" + what + "); is it still starting?"};
    }
    return not_running(datadir, what);
}

// A connected control socket, or why not. The peer must run as our user.
core::Result<int> connect_control(const std::string& datadir, const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        return fail(ErrorCode::InvalidArgument,
                    "the control socket path " + path + " is too long for a Unix socket");
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(ErrorCode::IoError, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd);
        if (error == ENOENT || error == ECONNREFUSED) {
            return fail(explain_absence(
                datadir, path, error == ENOENT ? "no " + path : "nothing accepts on " + path));
        }
        return fail(ErrorCode::IoError, "cannot connect to " + path + ": " + std::strerror(error));
    }
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != ::geteuid()) {
        ::close(fd);
        return fail(ErrorCode::ProtocolError,
                    "the control socket " + path + " is served by another user's program (uid " +
                        std::to_string(peer.uid) + "), not by your keybridged: nothing was sent");
    }
    return fd;
}

// Writes all of `bytes`, waiting at most until `deadline`.
core::Status write_all(int fd, std::string_view bytes, Clock::time_point deadline) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0)
                return fail(ErrorCode::Timeout, "keybridged did not read in time");
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, static_cast<int>(left.count()));
            continue;
        }
        return fail(ErrorCode::Disconnected,
                    std::string("keybridged closed the connection: ") + std::strerror(errno));
    }
    return {};
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

// ---------------------------------------------------------------- errors

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

// ---------------------------------------------------------------- single calls

core::Result<DaemonClient> DaemonClient::open(const std::string& datadir) {
    return DaemonClient(datadir, datadir::control_socket_path(datadir));
}

core::Result<RpcAnswer> DaemonClient::exchange(std::string_view request,
                                               std::chrono::seconds timeout) {
    auto fd = connect_control(datadir_, socket_path_);
    if (!fd) return fail(fd.error());
    const auto deadline = Clock::now() + timeout;
    auto sent = write_all(*fd, request, deadline);
    if (sent) sent = write_all(*fd, "\n", deadline);
    if (!sent) {
        ::close(*fd);
        return fail(sent.error());
    }
    std::string answer;
    char chunk[16384];
    while (answer.find('\n') == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{*fd, POLLIN, 0};
        const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            ::close(*fd);
            return fail(ErrorCode::Timeout, "keybridged did not answer in time");
        }
        const ssize_t n = ::recv(*fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(*fd);
            return fail(ErrorCode::Disconnected,
                        "keybridged closed the connection before answering");
        }
        answer.append(chunk, static_cast<std::size_t>(n));
        if (answer.size() > kMaxAnswerBytes) {
            ::close(*fd);
            return fail(ErrorCode::ProtocolError, "keybridged's answer is larger than the limit");
        }
    }
    ::close(*fd);
    answer.resize(answer.find('\n'));
    json::error_code jec;
    json::value value = json::parse(answer, jec);
    if (jec) return fail(ErrorCode::ProtocolError, "the answer of keybridged is not JSON");
    return parse_answer(value, "the answer of keybridged");
}

core::Result<RpcAnswer> DaemonClient::call_raw(std::string_view method, const json::value& params,
                                               std::chrono::seconds timeout) {
    return exchange(request_text(next_id_++, method, params), timeout);
}

core::Result<json::value> DaemonClient::call(std::string_view method, const json::value& params,
                                             std::chrono::seconds timeout) {
    auto answer = call_raw(method, params, timeout);
    if (!answer) return fail(answer.error());
    if (answer->error) return fail(error_from_rpc(*answer->error));
    return std::move(answer->result);
}

namespace {

// A request whose params are `params_head` + the JSON string of `secret` + `params_tail`, built
// in locked memory so the secret is never copied into an ordinary string. Ends with a newline
// when `newline` (the control socket's framing).
core::Result<core::SecretBuffer> secret_request_text(std::uint64_t id, std::string_view method,
                                                     std::string_view params_head,
                                                     std::string_view secret,
                                                     std::string_view params_tail, bool newline) {
    if (!is_utf8(secret)) {
        return fail(ErrorCode::InvalidFormat,
                    "the secret is not UTF-8 text, so it cannot be sent to keybridged as JSON");
    }
    const std::string head = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) +
                             ",\"method\":" + json::serialize(json::string(method)) +
                             ",\"params\":" + std::string(params_head);
    const std::string tail = std::string(params_tail) + (newline ? "}\n" : "}");
    core::SecretBuffer body(head.size() + json_string_size(secret) + tail.size());
    char* out = reinterpret_cast<char*>(body.data());
    std::memcpy(out, head.data(), head.size());
    out = write_json_string(out + head.size(), secret);
    std::memcpy(out, tail.data(), tail.size());
    return body;
}

}  // namespace

core::Result<RpcAnswer> DaemonClient::call_with_secret(std::string_view method,
                                                       const core::SecretBuffer& secret,
                                                       std::chrono::seconds timeout) {
    auto body = secret_request_text(next_id_++, method, "[", secret.text(), "]", false);
    if (!body) return fail(body.error());
    return exchange(body->text(), timeout);
}

// ---------------------------------------------------------------- lasting connection

struct DaemonSocket::Impl {
    int fd = -1;
    int stop_fd = -1;  // eventfd: tells the reader to end
    std::mutex write_mutex;
};

DaemonSocket::DaemonSocket() : impl_(std::make_unique<Impl>()) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    impl_->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

DaemonSocket::~DaemonSocket() {
    if (thread_.joinable()) {
        const std::uint64_t one = 1;
        if (::write(impl_->stop_fd, &one, sizeof one) < 0) {
            // Cannot fail for an eventfd below its maximum; the shutdown below ends it anyway.
        }
        ::shutdown(impl_->fd, SHUT_RDWR);
        thread_.join();
    }
    if (impl_->fd >= 0) ::close(impl_->fd);
    if (impl_->stop_fd >= 0) ::close(impl_->stop_fd);
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

void DaemonSocket::on_message(std::string_view text) {
    json::error_code ec;
    json::value value = json::parse(text, ec);
    std::lock_guard lock(mutex_);
    if (ec || !value.is_object()) return;  // not ours to interpret; the daemon only sends JSON
    json::object& o = value.as_object();
    if (o.contains("method")) {
        notifications_.push_back(std::move(o));
        wake();
    } else if (const json::value* id = o.if_contains("id"); id && id->is_int64()) {
        auto answer = parse_answer(value, "an answer of keybridged");
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
    auto id = take_id();
    if (!id) return fail(id.error());
    return send_and_wait(*id, method, request_text(*id, method, params) + "\n", timeout);
}

core::Result<RpcAnswer> DaemonSocket::call_with_secret(std::string_view method,
                                                       std::string_view params_head,
                                                       std::string_view secret,
                                                       std::string_view params_tail,
                                                       std::chrono::seconds timeout) {
    auto id = take_id();
    if (!id) return fail(id.error());
    auto body = secret_request_text(*id, method, params_head, secret, params_tail, true);
    if (!body) return fail(body.error());
    return send_and_wait(*id, method, body->text(), timeout);
}

core::Result<std::uint64_t> DaemonSocket::take_id() {
    std::lock_guard lock(mutex_);
    if (closed_)
        return fail(ErrorCode::Disconnected, "keybridged closed the connection: " + close_reason_);
    return next_id_++;
}

core::Result<RpcAnswer> DaemonSocket::send_and_wait(std::uint64_t id, std::string_view method,
                                                    std::string_view line,
                                                    std::chrono::seconds timeout) {
    {
        std::lock_guard lock(impl_->write_mutex);
        auto sent = write_all(impl_->fd, line, Clock::now() + timeout);
        if (!sent) return fail(sent.error());
    }
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

// The reader runs until the connection ends, handing every line to the user thread's side.
void DaemonSocket::read_loop() {
    std::string pending;
    char chunk[16384];
    for (;;) {
        pollfd fds[2] = {{impl_->fd, POLLIN, 0}, {impl_->stop_fd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return on_closed(std::string("poll failed: ") + std::strerror(errno));
        }
        if (fds[1].revents != 0) return on_closed("closed by the tool");
        const ssize_t n = ::recv(impl_->fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return on_closed(n == 0 ? "keybridged ended the connection" : std::strerror(errno));
        pending.append(chunk, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (auto end = pending.find('\n'); end != std::string::npos;
             end = pending.find('\n', start)) {
            on_message(std::string_view(pending).substr(start, end - start));
            start = end + 1;
        }
        pending.erase(0, start);
        if (pending.size() > kMaxAnswerBytes) return on_closed("a message larger than the limit");
    }
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
    if (socket->wake_fd_ < 0 || socket->impl_->stop_fd < 0) {
        return fail(ErrorCode::IoError, std::string("eventfd failed: ") + std::strerror(errno));
    }
    auto fd = connect_control(datadir_, socket_path_);
    if (!fd) return fail(fd.error());
    socket->impl_->fd = *fd;
    DaemonSocket* self = socket.get();
    socket->thread_ = std::thread([self] { self->read_loop(); });
    return socket;
}

}  // namespace keybridge::cli
