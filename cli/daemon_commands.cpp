// The commands that talk to keybridged: status, unlock, lock, approve, permissions list/revoke.
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "cli/approval_view.h"
#include "cli/command.h"
#include "cli/daemon_client.h"
#include "cli/prompt.h"
#include "core/uint256.h"
#include "store/permissions/permission_store.h"

namespace keybridge::cli {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;
using core::Result;

constexpr std::chrono::seconds kUnlockTimeout{600};  // a standard-strength KDF can take a while
constexpr std::chrono::seconds kSocketCallTimeout{30};
constexpr int kRpcUnauthorized = 4100;

const OptionSpec kDaemonOption{
    "daemon", "HOST:PORT",
    std::string("keybridged's address (default ") + kDefaultDaemonAddress + ")"};

Result<DaemonClient> connect(const Context& ctx) {
    auto address = parse_daemon_address(ctx.args.value("daemon").value_or(kDefaultDaemonAddress));
    if (!address) return fail(address.error());
    return DaemonClient::open(ctx.datadir, *address);
}

// ---------------------------------------------------------------- status, unlock, lock

Result<Report> run_status(Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto status = client->call("keybridge_status", json::array{});
    if (!status) return fail(status.error());
    if (!status->is_object())
        return fail(ErrorCode::ProtocolError, "keybridge_status: not an object");
    const json::object& s = status->as_object();
    auto text_of = [&](std::string_view key) {
        const json::value* v = s.if_contains(key);
        if (v == nullptr) return std::string("?");
        return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
    };
    const json::value* unlocked = s.if_contains("unlocked");
    const bool is_unlocked = unlocked != nullptr && unlocked->is_bool() && unlocked->as_bool();
    std::string chain = text_of("defaultChainId");
    if (auto parsed = core::parse_u256(chain)) chain = core::u256_to_decimal(*parsed);

    Report report;
    report.data = s;
    report.data["daemon"] = client->address().authority();
    report.text = "keybridged " + text_of("version") + " is running at " +
                  client->address().authority() + "\n" +
                  "  vault:             " + (is_unlocked ? "unlocked" : "locked") + ", " +
                  text_of("accounts") + " accounts\n" +
                  "  pending approvals: " + text_of("pendingApprovals") + "\n" +
                  "  default chain:     " + chain + "\n";
    return report;
}

Result<Report> run_unlock(Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    // Ask for the password only once the daemon is known to be there.
    auto status = client->call("keybridge_status", json::array{});
    if (!status) return fail(status.error());
    core::Result<core::SecretBuffer> password =
        ctx.args.value("password-file") ? read_secret_file(*ctx.args.value("password-file"))
                                        : prompt_secret("Vault password: ", "password-file");
    if (!password) return fail(password.error());
    auto answer = client->call_with_secret("keybridge_unlock", *password, kUnlockTimeout);
    if (!answer) return fail(answer.error());
    if (answer->error) {
        if (answer->error->code == kRpcUnauthorized && answer->error->message == "wrong password") {
            return fail(ErrorCode::WrongPassword, "wrong password: the vault stays locked");
        }
        return fail(error_from_rpc(*answer->error));
    }
    Report report;
    report.data["unlocked"] = true;
    report.text = "The vault is unlocked: keybridged can sign (each request still asks you).";
    return report;
}

Result<Report> run_lock(Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto locked = client->call("keybridge_lock", json::array{});
    if (!locked) return fail(locked.error());
    Report report;
    report.data["locked"] = true;
    report.text = "The vault is locked: keybridged has forgotten the decrypted keys.";
    return report;
}

// ---------------------------------------------------------------- approve

// Lines from standard input, waited for together with the socket's notifications.
class LineInput {
  public:
    enum class Event { Line, Notification, End };

    // Waits for a complete line or a notification (wake_fd readable).
    Result<Event> wait(int wake_fd, std::string& line) {
        while (true) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                return Event::Line;
            }
            if (eof_) {
                if (buffer_.empty()) return Event::End;
                line = std::move(buffer_);
                buffer_.clear();
                return Event::Line;
            }
            pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_fd, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return fail(ErrorCode::IoError,
                            std::string("poll failed: ") + std::strerror(errno));
            }
            if (fds[1].revents & POLLIN) return Event::Notification;
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                char chunk[4096];
                const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && errno == EIO) {
                    eof_ = true;  // the terminal went away
                    continue;
                }
                if (n < 0) {
                    return fail(ErrorCode::IoError,
                                std::string("cannot read the answer: ") + std::strerror(errno));
                }
                if (n == 0) eof_ = true;
                buffer_.append(chunk, static_cast<std::size_t>(n));
            }
        }
    }

    // Drops whatever was typed ahead: an answer must come after its request was shown.
    void discard_typed_ahead() {
        buffer_.clear();
        if (::isatty(STDIN_FILENO)) ::tcflush(STDIN_FILENO, TCIFLUSH);
    }

    bool at_end() const { return eof_ && buffer_.empty(); }

  private:
    std::string buffer_;
    bool eof_ = false;
};

class Approver {
  public:
    Approver(DaemonSocket& socket, bool json_mode, bool once)
        : socket_(socket), json_(json_mode), once_(once), color_(::isatty(STDOUT_FILENO)) {}

    Result<std::size_t> run() {
        auto subscribed =
            socket_.call("eth_subscribe", json::array{"keybridge_approvals"}, kSocketCallTimeout);
        if (!subscribed) return fail(subscribed.error());
        auto pending =
            socket_.call("keybridge_pendingApprovals", json::array{}, kSocketCallTimeout);
        if (!pending) return fail(pending.error());
        // Events that came with (or before) the list are applied after it, in order.
        if (pending->is_array()) {
            for (const auto& r : pending->as_array()) {
                if (r.is_object()) add(r.as_object());
            }
        }
        if (!json_) {
            std::printf("Waiting for requests to approve (Ctrl-C to stop)...\n");
            std::fflush(stdout);
        }
        while (true) {
            KEYBRIDGE_TRY_STATUS(drain_notifications());
            if (queue_.empty()) {
                std::string ignored;
                auto event = input_.wait(socket_.wake_fd(), ignored);
                if (!event) return fail(event.error());
                if (*event == LineInput::Event::End) return decided_;
                continue;  // a notification, or input typed while nothing was asked: ignored
            }
            const json::object request = queue_.begin()->second;
            auto answered = ask(request);
            if (!answered) return fail(answered.error());
            if (!*answered) return decided_;  // input ended
            if (once_ && decided_ > 0) return decided_;
        }
    }

  private:
    static std::optional<std::uint64_t> id_of(const json::object& request) {
        const json::value* id = request.if_contains("id");
        if (id == nullptr) return std::nullopt;
        if (id->is_uint64()) return id->as_uint64();
        if (id->is_int64() && id->as_int64() > 0) return static_cast<std::uint64_t>(id->as_int64());
        return std::nullopt;
    }

    void add(const json::object& request) {
        auto id = id_of(request);
        if (!id || gone_.count(*id) || seen_.count(*id)) return;
        seen_.insert(*id);
        queue_.emplace(*id, request);
    }

    void emit(json::object event) { std::cout << json::serialize(event) << "\n" << std::flush; }

    // Applies every notification that has arrived: added requests join the queue, removed ones
    // leave it. Disconnected (with the daemon's reason) when the connection has closed.
    core::Status drain_notifications() {
        while (true) {
            auto next = socket_.poll_notification();
            if (!next) return fail(next.error());
            if (!*next) return {};
            const json::object& n = **next;
            const json::value* method = n.if_contains("method");
            if (method != nullptr && method->is_string() &&
                method->as_string() == "keybridge_disconnect") {
                return fail(ErrorCode::Disconnected, "keybridged is shutting down");
            }
            const json::value* params = n.if_contains("params");
            const json::value* result = params != nullptr && params->is_object()
                                            ? params->as_object().if_contains("result")
                                            : nullptr;
            if (result == nullptr || !result->is_object()) continue;
            const json::object& event = result->as_object();
            const json::value* type = event.if_contains("type");
            const json::value* request = event.if_contains("request");
            if (type == nullptr || !type->is_string() || request == nullptr ||
                !request->is_object())
                continue;
            if (type->as_string() == "added") {
                add(request->as_object());
            } else if (type->as_string() == "removed") {
                if (auto id = id_of(request->as_object())) {
                    gone_.insert(*id);
                    queue_.erase(*id);
                }
            }
        }
    }

    // Shows one request and decides it. False when the input ended before an answer.
    Result<bool> ask(const json::object& request) {
        const std::uint64_t id = *id_of(request);
        input_.discard_typed_ahead();
        if (json_) {
            emit(json::object{{"event", "request"}, {"request", request}});
        } else {
            std::printf("\n%s", render_approval(request, color_).c_str());
        }
        while (true) {
            if (!json_) {
                std::printf("Approve? [y/N] ");
                std::fflush(stdout);
            }
            std::string line;
            auto event = input_.wait(socket_.wake_fd(), line);
            if (!event) return fail(event.error());
            if (*event == LineInput::Event::End) {
                if (!json_)
                    std::printf("\n(input ended: request %llu left undecided)\n",
                                static_cast<unsigned long long>(id));
                return false;
            }
            if (*event == LineInput::Event::Notification) {
                KEYBRIDGE_TRY_STATUS(drain_notifications());
                if (queue_.count(id)) continue;  // still waiting; nothing new was printed
                if (json_) {
                    emit(json::object{{"event", "withdrawn"}, {"id", id}});
                } else {
                    std::printf(
                        "\nRequest %llu was withdrawn (it timed out, or another approver decided "
                        "it).\n",
                        static_cast<unsigned long long>(id));
                }
                return true;
            }
            std::optional<bool> approve = parse_answer(line);
            if (!approve) {
                if (json_) {
                    std::fprintf(stderr, "keybridge: answer 'approve' or 'reject'\n");
                    continue;
                }
                approve = false;  // [y/N]: anything but yes rejects
            }
            return decide(id, *approve);
        }
    }

    std::optional<bool> parse_answer(std::string line) const {
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.erase(0, 1);
        for (auto& c : line)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (json_) {
            if (line == "approve") return true;
            if (line == "reject") return false;
            return std::nullopt;
        }
        if (line == "y" || line == "yes") return true;
        return std::nullopt;
    }

    Result<bool> decide(std::uint64_t id, bool approve) {
        const char* verdict = approve ? "approve" : "reject";
        queue_.erase(id);
        auto answer =
            socket_.call_raw("keybridge_decide", json::array{id, verdict}, kSocketCallTimeout);
        if (!answer) return fail(answer.error());
        if (answer->error) {
            // Already decided elsewhere, or timed out just now: the request is simply gone.
            if (json_) {
                emit(json::object{
                    {"event", "stale"}, {"id", id}, {"message", answer->error->message}});
            } else {
                std::printf("Request %llu is no longer pending: %s\n",
                            static_cast<unsigned long long>(id),
                            terminal_safe(answer->error->message).c_str());
            }
            return true;
        }
        ++decided_;
        if (json_) {
            emit(json::object{{"event", "decided"}, {"id", id}, {"decision", verdict}});
        } else {
            std::printf("%s request %llu.\n", approve ? "Approved" : "Rejected",
                        static_cast<unsigned long long>(id));
            std::fflush(stdout);
        }
        return true;
    }

    DaemonSocket& socket_;
    bool json_;
    bool once_;
    bool color_;
    LineInput input_;
    std::map<std::uint64_t, json::object> queue_;  // oldest first
    std::set<std::uint64_t> seen_;
    std::set<std::uint64_t> gone_;
    std::size_t decided_ = 0;
};

Result<Report> run_approve(Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto socket = client->open_socket();
    if (!socket) return fail(socket.error());
    Approver approver(**socket, ctx.json, ctx.args.flag("once"));
    auto decided = approver.run();
    if (!decided) return fail(decided.error());
    Report report;
    report.data["decided"] = *decided;
    return report;
}

// ---------------------------------------------------------------- permissions

std::string time_text(std::int64_t unix_seconds) {
    if (unix_seconds <= 0) return "unknown time";
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return out;
}

// {origin: {accounts: [...], grantedAt: N}}, from the daemon or read from the file.
Report permissions_report(const json::object& grants, const std::string& source) {
    Report report;
    report.data["source"] = source;
    report.data["permissions"] = grants;
    if (grants.empty()) {
        report.text = "No origin has been granted access to accounts.";
        return report;
    }
    for (const auto& [origin, value] : grants) {
        const json::object* grant = value.if_object();
        std::int64_t granted_at = 0;
        std::string accounts;
        if (grant != nullptr) {
            if (const json::value* t = grant->if_contains("grantedAt");
                t != nullptr && t->is_int64()) {
                granted_at = t->as_int64();
            }
            if (const json::value* a = grant->if_contains("accounts");
                a != nullptr && a->is_array()) {
                for (const auto& address : a->as_array()) {
                    accounts +=
                        "\n    " + (address.is_string() ? terminal_safe(address.as_string()) : "?");
                }
            }
        }
        report.text += terminal_safe(origin) + "  (granted " + time_text(granted_at) + ")" +
                       (accounts.empty() ? "\n    no accounts" : accounts) + "\n";
    }
    return report;
}

// The daemon when it runs; otherwise (no cookie, nothing listening) the file itself, so grants
// can always be managed. A running daemon must be asked: it keeps the grants in memory and
// would write its own copy back over a direct edit.
Result<std::optional<DaemonClient>> daemon_if_running(const Context& ctx) {
    auto client = connect(ctx);
    if (!client) {
        if (client.error().code == ErrorCode::Disconnected) return std::optional<DaemonClient>();
        return fail(client.error());
    }
    auto status = client->call("keybridge_status", json::array{});
    if (!status) {
        if (status.error().code != ErrorCode::Disconnected) return fail(status.error());
        std::fprintf(stderr,
                     "keybridge: note: %s/.cookie exists but nothing answers at %s; if keybridged "
                     "runs elsewhere, use --daemon HOST:PORT, or it will keep its own grants\n",
                     ctx.datadir.c_str(), client->address().authority().c_str());
        return std::optional<DaemonClient>();
    }
    return std::optional<DaemonClient>(std::move(*client));
}

json::object grants_json(const std::map<std::string, permissions::Grant>& grants) {
    json::object out;
    for (const auto& [origin, grant] : grants) {
        json::array accounts;
        for (const auto& a : grant.accounts)
            accounts.push_back(json::string(a.to_checksum_string()));
        out[origin] = json::object{{"accounts", accounts}, {"grantedAt", grant.granted_at}};
    }
    return out;
}

Result<Report> run_permissions_list(Context& ctx) {
    auto daemon = daemon_if_running(ctx);
    if (!daemon) return fail(daemon.error());
    if (*daemon) {
        auto grants = (*daemon)->call("keybridge_permissions", json::array{});
        if (!grants) return fail(grants.error());
        if (!grants->is_object())
            return fail(ErrorCode::ProtocolError, "keybridge_permissions: not an object");
        return permissions_report(grants->as_object(), "daemon");
    }
    auto store = permissions::PermissionStore::open(ctx.datadir);
    if (!store) return fail(store.error());
    return permissions_report(grants_json(store->all()), "file");
}

Result<Report> run_permissions_revoke(Context& ctx) {
    if (ctx.args.positionals.empty()) {
        return fail(ErrorCode::InvalidArgument,
                    "give the ORIGIN to revoke (see 'permissions list')");
    }
    const std::string origin = ctx.args.positionals.front();
    auto daemon = daemon_if_running(ctx);
    if (!daemon) return fail(daemon.error());
    bool revoked = false;
    std::string source;
    if (*daemon) {
        auto answer = (*daemon)->call("keybridge_revokeOrigin", json::array{json::string(origin)});
        if (!answer) return fail(answer.error());
        revoked = answer->is_bool() && answer->as_bool();
        source = "daemon";
    } else {
        auto store = permissions::PermissionStore::open(ctx.datadir);
        if (!store) return fail(store.error());
        auto done = store->revoke(origin);
        if (!done) return fail(done.error());
        revoked = *done;
        source = "file";
    }
    if (!revoked) {
        return fail(ErrorCode::NotFound, "no grant for origin '" + terminal_safe(origin) + "'");
    }
    Report report;
    report.data["revoked"] = origin;
    report.data["source"] = source;
    report.text =
        "Revoked " + terminal_safe(origin) + ": it sees no accounts until you approve it again.";
    return report;
}

}  // namespace

std::vector<Command> daemon_commands() {
    return {
        {"status",
         "keybridge status [--daemon HOST:PORT] [--json]",
         "show whether keybridged runs, whether the vault is unlocked, pending approvals",
         {kDaemonOption},
         run_status},
        {"unlock",
         "keybridge unlock [--password-file F] [--daemon HOST:PORT]",
         "unlock the vault in keybridged (password from the terminal or a file)",
         {{"password-file", "FILE", "read the vault password from FILE"}, kDaemonOption},
         run_unlock},
        {"lock",
         "keybridge lock [--daemon HOST:PORT]",
         "make keybridged forget the decrypted keys",
         {kDaemonOption},
         run_lock},
        {"approve",
         "keybridge approve [--once] [--json] [--daemon HOST:PORT]",
         "show each request decoded and ask y/N (--json: JSON lines out, approve/reject in)",
         {{"once", "", "exit after deciding one request"}, kDaemonOption},
         run_approve},
        {"permissions list",
         "keybridge permissions list [--json] [--daemon HOST:PORT]",
         "list the origins that may see accounts (from the file if keybridged is stopped)",
         {kDaemonOption},
         run_permissions_list},
        {"permissions revoke",
         "keybridge permissions revoke ORIGIN [--daemon HOST:PORT]",
         "withdraw an origin's access to accounts",
         {kDaemonOption},
         run_permissions_revoke,
         "ORIGIN"},
    };
}

}  // namespace keybridge::cli
