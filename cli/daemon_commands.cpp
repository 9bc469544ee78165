// The commands that talk to keybridged: status, unlock, lock, approve, permissions list/revoke,
// pairing list/revoke, chain list/add/set-upstream/remove.
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "cli/account_choice.h"
#include "cli/progress.h"
#include "cli/approval_view.h"
#include "cli/command.h"
#include "cli/daemon_client.h"
#include "store/datadir/daemon_files.h"
#include "cli/prompt.h"
#include "core/secret_buffer.h"
#include "core/uint256.h"
#include "core/wiping_allocator.h"
#include "store/chains/chain_store.h"
#include "store/pairing/pairing_store.h"
#include "store/permissions/permission_store.h"
#include "store/vault/secure_file.h"

namespace keybridge::cli {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;
using core::Result;

constexpr std::chrono::seconds kUnlockTimeout{600};  // a standard-strength KDF can take a while
constexpr int kRpcUnauthorized = 4100;

// The tool finds keybridged through the control socket of its data folder (--datadir).
Result<DaemonClient> connect(const Context& ctx) {
    return DaemonClient::open(ctx.datadir);
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
    report.data["controlSocket"] = client->socket_path();
    report.data["datadir"] = ctx.datadir;
    report.text = "keybridged " + text_of("version") + " is running (" + client->socket_path() +
                  ")\n" + "  data folder:       " + ctx.datadir + "\n" +
                  "  vault:             " + (is_unlocked ? "unlocked" : "locked") + ", " +
                  text_of("accounts") + " accounts\n" +
                  "  pending approvals: " + text_of("pendingApprovals") + "\n" +
                  "  default chain:     " + chain + "\n";
    // "  chains:            1 Ethereum  https://node.example" and the next ones aligned below.
    auto listing = [&](std::string_view key, std::string_view heading,
                       const std::function<std::string(const json::object&)>& line) {
        const json::value* v = s.if_contains(key);
        if (v == nullptr || !v->is_array()) return;
        std::string label = std::string("  ") + std::string(heading) + ":";
        label.resize(21, ' ');
        if (v->as_array().empty()) report.text += label + "none\n";
        for (const auto& item : v->as_array()) {
            if (!item.is_object()) continue;
            report.text += label + line(item.as_object()) + "\n";
            label.assign(21, ' ');
        }
    };
    auto field = [](const json::object& o, std::string_view key) {
        const json::value* v = o.if_contains(key);
        if (v == nullptr || v->is_null()) return std::string();
        return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
    };
    auto decimal = [](std::string quantity) {
        if (auto parsed = core::parse_u256(quantity)) return core::u256_to_decimal(*parsed);
        return quantity;
    };
    listing("chains", "chains", [&](const json::object& c) {
        const std::string upstream = field(c, "upstream");
        return decimal(field(c, "chainId")) + " " + field(c, "name") + "  " +
               (upstream.empty() ? "(no upstream node)" : upstream);
    });
    listing("origins", "origins", [&](const json::object& o) {
        return field(o, "origin") + "  chain " + decimal(field(o, "chainId")) + ", " +
               field(o, "accounts") + " accounts";
    });
    // The requests waiting, oldest first (the control socket may list them; a daemon that
    // refuses is shown without the list).
    if (auto pending = client->call("keybridge_pendingApprovals", json::array{});
        pending && pending->is_array()) {
        report.data["pending"] = *pending;
        for (const auto& item : pending->as_array()) {
            if (!item.is_object()) continue;
            const json::object& r = item.as_object();
            report.text += "  waiting:           request " + field(r, "id") + ", " +
                           field(r, "method") + " from " + field(r, "origin") + " on chain " +
                           decimal(field(r, "chainId")) + "\n";
        }
    }
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
    // keybridged runs scrypt on the password: a spinner while it works (after half a second).
    auto answer = [&] {
        Progress progress(!ctx.json, kDerivingKey);
        return client->call_with_secret("keybridge_unlock", *password, kUnlockTimeout);
    }();
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

// The cookie token of the running keybridged (new at every start), for scripts that connect
// over TCP: asked only once the daemon answered on the control socket, so it is the current one.
Result<Report> run_token(Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto status = client->call("keybridge_status", json::array{});
    if (!status) return fail(status.error());
    const std::string path = datadir::cookie_path(ctx.datadir);
    std::FILE* f = std::fopen(path.c_str(), "re");
    if (f == nullptr) {
        return fail(ErrorCode::IoError, "cannot read " + path + ": " + std::strerror(errno));
    }
    char buffer[128] = {};
    const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
    std::fclose(f);
    std::string token(buffer, n);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
        token.pop_back();
    const bool well_formed =
        token.size() == 64 && std::all_of(token.begin(), token.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0;
        });
    if (!well_formed) {
        return fail(ErrorCode::ProtocolError, path + " does not hold a token (64 hex digits)");
    }
    Report report;
    report.data["token"] = token;
    report.data["cookie"] = path;
    report.text = token;
    return report;
}

// ---------------------------------------------------------------- ui

// Opens the approval page: keybridged names its launcher file (in the data folder, mode 0600,
// holding the page secret) and the browser opens that file, which posts the secret to the page.
// Only the file's path is on the opener's command line, never the secret.
Result<Report> run_ui(Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto page = client->call("keybridge_approvalPage", json::array{});
    if (!page) return fail(page.error());
    const json::object* o = page->if_object();
    if (o == nullptr || !o->contains("url") || !o->contains("launcher") ||
        !o->at("url").is_string() || !o->at("launcher").is_string()) {
        return fail(ErrorCode::ProtocolError, "keybridged answered keybridge_approvalPage oddly");
    }
    const std::string url(o->at("url").as_string());
    const std::string launcher(o->at("launcher").as_string());
    Report report;
    report.data["url"] = url;
    report.data["launcher"] = launcher;
    if (ctx.args.flag("no-open")) {
        report.text = "Open " + launcher + " in your browser (it logs in to " + url + ").";
        return report;
    }
    // $BROWSER (its first entry) when set, else the desktop's opener.
    std::string opener = "xdg-open";
    if (const char* browser = std::getenv("BROWSER"); browser != nullptr && *browser != 0) {
        opener = std::string(browser).substr(0, std::string(browser).find(':'));
    }
    std::vector<char*> argv{opener.data(), const_cast<char*>(launcher.c_str()), nullptr};
    pid_t pid = 0;
    if (const int error =
            ::posix_spawnp(&pid, opener.c_str(), nullptr, nullptr, argv.data(), environ);
        error != 0) {
        return fail(ErrorCode::NotFound, "cannot run " + opener + " (" + std::strerror(error) +
                                             "): open " + launcher + " in your browser");
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail(ErrorCode::IoError,
                    opener + " failed: open " + launcher + " in your browser yourself");
    }
    report.text = "Opened the approval page (" + url + ") in your browser.";
    return report;
}

// ---------------------------------------------------------------- approve

// Reconnecting after keybridged went away: the first attempt after kFirstRetry, then twice as
// long each time up to kLongestRetry.
constexpr std::chrono::milliseconds kFirstRetry{500};
constexpr std::chrono::milliseconds kLongestRetry{5000};

// Opens a lasting connection to keybridged's control socket.
using SocketOpener = std::function<Result<std::unique_ptr<DaemonSocket>>()>;

// Lines from standard input, waited for together with the socket's notifications.
class LineInput {
  public:
    enum class Event { Line, Notification, End, Timeout };

    // Waits for a complete line, a notification (wake_fd readable; -1 for none) or the end of
    // the input, at most `timeout` when one is given.
    Result<Event> wait(int wake_fd, core::WipingString& line,
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(kNoTimeout);
        while (true) {
            if (auto nl = buffer_.find('\n'); nl != core::WipingString::npos) {
                line = buffer_.substr(0, nl);
                consume(nl + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                return Event::Line;
            }
            if (eof_) {
                if (buffer_.empty()) return Event::End;
                line = std::move(buffer_);
                buffer_.clear();
                return Event::Line;
            }
            int wait_ms = -1;
            if (timeout) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left.count() <= 0) return Event::Timeout;
                wait_ms = static_cast<int>(left.count());
            }
            pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_fd, POLLIN, 0}};
            const int ready = ::poll(fds, 2, wait_ms);
            if (ready < 0) {
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
                core::secure_wipe(chunk, sizeof chunk);
            }
        }
    }

    // Drops whatever was typed ahead: an answer must come after its request was shown.
    void discard_typed_ahead() {
        consume(buffer_.size());
        if (::isatty(STDIN_FILENO)) ::tcflush(STDIN_FILENO, TCIFLUSH);
    }

  private:
    // Drops the first n bytes and overwrites what erase leaves behind in the capacity: a line
    // may be a password (the unlock stage).
    void consume(std::size_t n) {
        buffer_.erase(0, n);
        const std::size_t kept = buffer_.size();
        buffer_.resize(buffer_.capacity());
        core::secure_wipe(buffer_.data() + kept, buffer_.size() - kept);
        buffer_.resize(kept);
    }

    static constexpr std::chrono::hours kNoTimeout{24 * 365};
    // Wiped as it is released (core::WipingAllocator), like every line taken from it.
    core::WipingString buffer_;
    bool eof_ = false;
};

// The approver's answer to one request.
struct Verdict {
    bool approve = false;
    std::optional<std::vector<std::string>> accounts;  // for a connect request: what to share
};

// `keybridge approve`: shows each pending request and sends the user's decision. Runs until the
// input ends (or, with --once, after one decision); when keybridged goes away (restart, crash,
// dropped connection) it reconnects by itself and lists the pending requests again.
class Approver {
  public:
    Approver(SocketOpener open, std::string address, bool json_mode, bool once)
        : open_(std::move(open)),
          address_(std::move(address)),
          json_(json_mode),
          once_(once),
          color_(::isatty(STDOUT_FILENO)) {}

    // Serves over `socket`, the first connection (opened by the caller so that a daemon that is
    // not there at all is reported at once).
    Result<std::size_t> run(std::unique_ptr<DaemonSocket> socket) {
        socket_ = std::move(socket);
        while (true) {
            lost_ = false;
            auto served = serve();
            if (served) return decided_;  // the input ended, or --once is done
            if (!lost_) return fail(served.error());
            auto back = reconnect(served.error());
            if (!back) return fail(back.error());
            if (!*back) return decided_;  // the input ended while keybridged was away
        }
    }

  private:
    // What waiting for the user's next line ended with.
    enum class Answer { Line, Withdrawn, InputEnded };

    // Marks a failure of the connection (not of the terminal): run() then reconnects.
    core::Error lost(core::Error error) {
        lost_ = true;
        return error;
    }

    // Subscribes, lists what waits and asks about each request in turn. Ok when the input ended
    // (or --once is done); an error otherwise, with lost_ set when the connection failed.
    core::Status serve() {
        auto subscribed = socket_->call("eth_subscribe", json::array{"keybridge_approvals"},
                                        DaemonClient::kDefaultTimeout);
        if (!subscribed) return fail(lost(subscribed.error()));
        auto pending = socket_->call("keybridge_pendingApprovals", json::array{},
                                     DaemonClient::kDefaultTimeout);
        if (!pending) return fail(lost(pending.error()));
        // Events that came with (or before) the list are applied after it, in order.
        if (pending->is_array()) {
            for (const auto& r : pending->as_array()) {
                if (r.is_object()) add(r.as_object());
            }
        }
        if (!json_ && !announced_) {
            std::printf("Waiting for requests to approve (Ctrl-C to stop)...\n");
            std::fflush(stdout);
        }
        announced_ = true;
        while (true) {
            KEYBRIDGE_TRY_STATUS(drain_notifications());
            if (queue_.empty()) {
                core::WipingString ignored;
                auto event = input_.wait(socket_->wake_fd(), ignored);
                if (!event) return fail(event.error());
                if (*event == LineInput::Event::End) return {};
                continue;  // a notification, or input typed while nothing was asked: ignored
            }
            const json::object request = queue_.begin()->second;
            auto answered = ask(request);
            if (!answered) return fail(answered.error());
            if (!*answered) return {};  // input ended
            if (once_ && decided_ > 0) return {};
        }
    }

    // Waits until keybridged answers again, trying after 0.5 s, 1 s, 2 s, 4 s, then every 5 s.
    // True once connected, false when the input ended meanwhile.
    Result<bool> reconnect(const core::Error& why) {
        socket_.reset();
        // Whatever was queued went with the old connection, and a restarted keybridged numbers
        // its requests afresh: the list comes again once connected.
        queue_.clear();
        seen_.clear();
        gone_.clear();
        if (json_) {
            emit(json::object{{"event", "disconnected"}, {"message", why.detail}});
        } else {
            std::printf("\nkeybridged went away; reconnecting\xe2\x80\xa6\n");
            std::fflush(stdout);
        }
        std::chrono::milliseconds delay = kFirstRetry;
        while (true) {
            auto paused = pause(delay);
            if (!paused) return fail(paused.error());
            if (!*paused) return false;
            auto socket = open_();
            if (socket) {
                socket_ = std::move(*socket);
                if (json_) {
                    emit(json::object{{"event", "reconnected"}});
                } else {
                    std::printf("Reconnected to keybridged (%s).\n", address_.c_str());
                    std::fflush(stdout);
                }
                return true;
            }
            delay = std::min(delay * 2, kLongestRetry);
        }
    }

    // Sleeps for `duration` unless the input ends first (false); typed lines are dropped.
    Result<bool> pause(std::chrono::milliseconds duration) {
        const auto until = std::chrono::steady_clock::now() + duration;
        while (true) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return true;
            core::WipingString ignored;
            auto event = input_.wait(-1, ignored, left);
            if (!event) return fail(event.error());
            if (*event == LineInput::Event::End) return false;
            if (*event == LineInput::Event::Timeout) return true;
        }
    }

    static std::optional<std::uint64_t> id_of(const json::object& request) {
        const json::value* id = request.if_contains("id");
        if (id == nullptr) return std::nullopt;
        if (id->is_uint64()) return id->as_uint64();
        if (id->is_int64() && id->as_int64() > 0) return static_cast<std::uint64_t>(id->as_int64());
        return std::nullopt;
    }

    static std::string stage_of(const json::object& request) {
        const json::value* stage = request.if_contains("stage");
        return stage != nullptr && stage->is_string() ? std::string(stage->as_string())
                                                      : std::string("waiting");
    }
    // Waiting for a decision or for input: something to ask the person.
    static bool needs_person(const json::object& request) {
        const std::string stage = stage_of(request);
        return stage == "waiting" || stage == "needs-input";
    }

    void add(const json::object& request) {
        auto id = id_of(request);
        if (!id || gone_.count(*id) || seen_.count(*id)) return;
        seen_.insert(*id);
        if (needs_person(request)) queue_.emplace(*id, request);
    }

    // A request moved on: back in the queue when it asks something again (unlocked → waiting
    // for the decision; a device asking for its PIN), otherwise its progress is shown.
    void update(const json::object& request) {
        auto id = id_of(request);
        if (!id || gone_.count(*id)) return;
        seen_.insert(*id);
        if (needs_person(request)) {
            queue_[*id] = request;
            return;
        }
        queue_.erase(*id);
        // Approved requests are being signed: only a device waiting for its buttons is news.
        if (stage_of(request) != "on-device") return;
        if (json_) {
            emit(json::object{{"event", "on-device"}, {"id", *id}, {"note", request.at("note")}});
            return;
        }
        {
            const json::value* note = request.if_contains("note");
            std::printf("Request %llu: %s\n", static_cast<unsigned long long>(*id),
                        terminal_safe(note != nullptr && note->is_string()
                                          ? std::string(note->as_string())
                                          : std::string("confirm on the device"))
                            .c_str());
            std::fflush(stdout);
        }
    }

    // A request failed at once because the device holding its account is not connected: the
    // person here is the one who can plug it in.
    void unavailable(const json::object& request, const json::object& event) {
        const json::value* message = event.if_contains("message");
        const std::string text = message != nullptr && message->is_string()
                                     ? std::string(message->as_string())
                                     : std::string("its device is not connected");
        if (json_) {
            emit(json::object{{"event", "unavailable"}, {"request", request}, {"message", text}});
            return;
        }
        auto part = [&](std::string_view key) {
            const json::value* v = request.if_contains(key);
            return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string("?");
        };
        std::printf("\n%s from %s for %s could not be signed: %s\n",
                    terminal_safe(part("method")).c_str(), terminal_safe(part("origin")).c_str(),
                    terminal_safe(part("account")).c_str(), terminal_safe(text).c_str());
        std::fflush(stdout);
    }

    void emit(json::object event) {
        std::cout << json_for_terminal(json::serialize(event)) << "\n" << std::flush;
    }

    // Applies every notification that has arrived: added requests join the queue, removed ones
    // leave it. A lost connection (closed, or keybridged shutting down) is an error.
    core::Status drain_notifications() {
        while (true) {
            auto next = socket_->poll_notification();
            if (!next) return fail(lost(next.error()));
            if (!*next) return {};
            const json::object& n = **next;
            const json::value* method = n.if_contains("method");
            if (method != nullptr && method->is_string() &&
                method->as_string() == "keybridge_disconnect") {
                return fail(
                    lost(core::Error{ErrorCode::Disconnected, "keybridged is shutting down"}));
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
            } else if (type->as_string() == "updated") {
                update(request->as_object());
            } else if (type->as_string() == "removed") {
                if (auto id = id_of(request->as_object())) {
                    gone_.insert(*id);
                    queue_.erase(*id);
                }
            } else if (type->as_string() == "unavailable") {
                unavailable(request->as_object(), event);
            }
        }
    }

    // Waits for the user's next line about request `id`. Withdrawn when the request left the
    // queue meanwhile (timed out, decided elsewhere), InputEnded at the end of the input; each is
    // reported to the user here.
    Result<Answer> next_line(std::uint64_t id, core::WipingString& line) {
        while (true) {
            auto event = input_.wait(socket_->wake_fd(), line);
            if (!event) return fail(event.error());
            if (*event == LineInput::Event::End) {
                if (!json_)
                    std::printf("\n(input ended: request %llu left undecided)\n",
                                static_cast<unsigned long long>(id));
                return Answer::InputEnded;
            }
            if (*event == LineInput::Event::Line) return Answer::Line;
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
            return Answer::Withdrawn;
        }
    }

    // A request at a needs-input stage: asks for the password (unlock), the PIN (positions
    // on the device's scrambled matrix) or the passphrase, without echo on a terminal, and
    // answers with keybridge_respond. An empty line cancels the request. False at the end of
    // the input.
    Result<bool> ask_input(const json::object& request) {
        const std::uint64_t id = *id_of(request);
        const json::value* input_value = request.if_contains("input");
        const std::string input = input_value != nullptr && input_value->is_string()
                                      ? std::string(input_value->as_string())
                                      : std::string();
        const std::string field = input == "unlock" ? "password" : input;
        input_.discard_typed_ahead();
        if (json_) {
            emit(json::object{{"event", "input"}, {"request", request}});
        } else {
            std::printf("\n%s", render_approval(request, color_).c_str());
            if (input == "pin")
                std::printf(
                    "The digits are shown only on the device. Type the positions of your PIN's "
                    "digits on its grid:\n    7 8 9\n    4 5 6\n    1 2 3\n");
            std::printf("%s (empty to cancel the request): ", input == "unlock" ? "Vault password"
                                                              : input == "pin"  ? "PIN positions"
                                                                                : "Passphrase");
            std::fflush(stdout);
        }
        core::WipingString line;
        Answer answer;
        {
            EchoOff quiet(!json_);
            auto read = next_line(id, line);
            if (!read) return fail(read.error());
            answer = *read;
        }
        if (!json_) std::printf("\n");
        if (answer != Answer::Line) return answer == Answer::Withdrawn;
        queue_.erase(id);
        // The answer goes from the wiping line straight into a request built in locked memory.
        auto sent = line.empty()
                        ? socket_->call_raw("keybridge_respond",
                                            json::array{id, json::object{{"cancel", true}}},
                                            DaemonClient::kDefaultTimeout)
                        : socket_->call_with_secret("keybridge_respond",
                                                    "[" + std::to_string(id) + ",{" +
                                                        json::serialize(json::string(field)) + ":",
                                                    line, "}]", DaemonClient::kDefaultTimeout);
        if (!sent) return fail(lost(sent.error()));
        if (sent->error) {
            if (json_) {
                emit(json::object{
                    {"event", "refused"}, {"id", id}, {"message", sent->error->message}});
            } else {
                std::printf("Request %llu: %s\n", static_cast<unsigned long long>(id),
                            terminal_safe(sent->error->message).c_str());
            }
            // Still waiting for input (a wrong password): ask again.
            if (!gone_.count(id)) queue_[id] = request;
        }
        return true;
    }

    // Turns the terminal's echo off for as long as it lives (secrets typed at a prompt).
    class EchoOff {
      public:
        explicit EchoOff(bool wanted) {
            if (!wanted || ::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_) != 0)
                return;
            termios quiet = saved_;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
        }
        ~EchoOff() {
            if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
        }
        EchoOff(const EchoOff&) = delete;
        EchoOff& operator=(const EchoOff&) = delete;

      private:
        termios saved_{};
        bool active_ = false;
    };

    // Shows one request and decides it. False when the input ended before an answer.
    Result<bool> ask(const json::object& request) {
        if (stage_of(request) == "needs-input") return ask_input(request);
        const std::uint64_t id = *id_of(request);
        const json::value* method = request.if_contains("method");
        const bool connect = method != nullptr && *method == json::value("eth_requestAccounts");
        const std::vector<ConnectCandidate> candidates =
            connect ? connect_candidates(request) : std::vector<ConnectCandidate>{};
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
            core::WipingString line;
            auto answer = next_line(id, line);
            if (!answer) return fail(answer.error());
            if (*answer != Answer::Line) return *answer == Answer::Withdrawn;
            std::optional<Verdict> verdict =
                parse_answer(std::string(line.begin(), line.end()), candidates, digest_of(request));
            if (!verdict) {
                if (json_) {
                    std::fprintf(stderr,
                                 "keybridge: answer 'approve DIGEST' or 'reject DIGEST' with the "
                                 "request's digest (a connect request also takes 'approve DIGEST "
                                 "all' or 'approve DIGEST 1,3')\n");
                    continue;
                }
                verdict = Verdict{};  // [y/N]: anything but yes rejects
            }
            // More than one account to choose from: ask which (the terminal only; scripts say
            // it with their approve line).
            if (!json_ && verdict->approve && candidates.size() > 1) {
                std::vector<std::string> chosen;
                auto chose = choose_accounts(id, candidates, chosen);
                if (!chose) return fail(chose.error());
                if (*chose != Answer::Line) return *chose == Answer::Withdrawn;
                verdict->accounts = std::move(chosen);
            }
            return decide(request, *verdict);
        }
    }

    // "Accounts to share [1]: " until the answer selects accounts (select_accounts).
    Result<Answer> choose_accounts(std::uint64_t id,
                                   const std::vector<ConnectCandidate>& candidates,
                                   std::vector<std::string>& chosen) {
        const std::string defaults = default_selection(candidates);
        while (true) {
            std::printf("Accounts to share [%s] (numbers from the list, or all): ",
                        defaults.c_str());
            std::fflush(stdout);
            core::WipingString line;
            auto answer = next_line(id, line);
            if (!answer || *answer != Answer::Line) return answer;
            auto selected = select_accounts(line, candidates);
            if (selected) {
                chosen = std::move(*selected);
                return Answer::Line;
            }
            std::printf("%s\n", terminal_safe(selected.error().detail).c_str());
        }
    }

    // The request's digest as keybridged computed it ("" when absent).
    static std::string digest_of(const json::object& request) {
        const json::value* digest = request.if_contains("digest");
        return digest != nullptr && digest->is_string() ? std::string(digest->as_string())
                                                        : std::string();
    }

    // y/yes on the terminal; in --json mode "approve DIGEST", "reject DIGEST", or for a connect
    // request "approve DIGEST SELECTION" (as select_accounts reads it), where DIGEST is the
    // shown request's digest: a script's answer never lands on a request it did not read.
    // nullopt for anything else.
    std::optional<Verdict> parse_answer(std::string line,
                                        const std::vector<ConnectCandidate>& candidates,
                                        const std::string& digest) const {
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.erase(0, 1);
        const std::size_t space = line.find_first_of(" \t");
        std::string word = line.substr(0, space);
        for (auto& c : word)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
        if (!json_) {
            if (rest.empty() && (word == "y" || word == "yes")) return Verdict{true, std::nullopt};
            return std::nullopt;
        }
        if (word != "approve" && word != "reject") return std::nullopt;
        const std::size_t digest_end = rest.find_first_of(" \t");
        std::string named = rest.substr(0, digest_end);
        for (auto& c : named)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (named.empty() || named != digest) {
            std::fprintf(stderr, "keybridge: %s\n",
                         named.empty() ? "the answer must name the request's digest"
                                       : "that digest is not the shown request's: not decided");
            return std::nullopt;
        }
        rest = digest_end == std::string::npos ? "" : rest.substr(digest_end + 1);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
            rest.erase(0, 1);
        if (word == "reject" && rest.empty()) return Verdict{false, std::nullopt};
        if (word != "approve") return std::nullopt;
        if (rest.empty()) return Verdict{true, std::nullopt};
        if (candidates.empty()) return std::nullopt;  // only connect requests take accounts
        auto selected = select_accounts(rest, candidates);
        if (!selected) {
            std::fprintf(stderr, "keybridge: %s\n", terminal_safe(selected.error().detail).c_str());
            return std::nullopt;
        }
        return Verdict{true, std::move(*selected)};
    }

    // Sends the decision with the digest of the request as it was shown: keybridged refuses it
    // if the request under this id is not that one.
    Result<bool> decide(const json::object& request, const Verdict& verdict) {
        const std::uint64_t id = *id_of(request);
        const char* word = verdict.approve ? "approve" : "reject";
        json::object terms{{"digest", digest_of(request)}};
        json::array accounts;
        if (verdict.accounts) {
            for (const auto& a : *verdict.accounts)
                accounts.push_back(json::string(a));
            terms["accounts"] = accounts;
        }
        json::array params{id, word, std::move(terms)};
        queue_.erase(id);
        auto answer = socket_->call_raw("keybridge_decide", params, DaemonClient::kDefaultTimeout);
        if (!answer) return fail(lost(answer.error()));
        if (answer->error) {
            // Already decided elsewhere or timed out just now (the request is simply gone), or
            // no longer what was shown (its digest differs): nothing was decided.
            if (json_) {
                emit(json::object{
                    {"event", "stale"}, {"id", id}, {"message", answer->error->message}});
            } else {
                std::printf("Request %llu was not decided: %s\n",
                            static_cast<unsigned long long>(id),
                            terminal_safe(answer->error->message).c_str());
            }
            return true;
        }
        ++decided_;
        if (json_) {
            json::object event{{"event", "decided"}, {"id", id}, {"decision", word}};
            if (verdict.accounts) event["accounts"] = accounts;
            emit(std::move(event));
        } else {
            std::printf("%s request %llu.\n", verdict.approve ? "Approved" : "Rejected",
                        static_cast<unsigned long long>(id));
            if (verdict.accounts) {
                for (const auto& a : *verdict.accounts)
                    std::printf("  shared: %s\n", terminal_safe(a).c_str());
            }
            std::fflush(stdout);
        }
        return true;
    }

    SocketOpener open_;
    std::string address_;
    bool json_;
    bool once_;
    bool color_;
    std::unique_ptr<DaemonSocket> socket_;
    bool lost_ = false;       // the last failure was the connection's
    bool announced_ = false;  // "Waiting for requests" was printed
    LineInput input_;
    std::map<std::uint64_t, json::object> queue_;  // oldest first
    std::set<std::uint64_t> seen_;
    std::set<std::uint64_t> gone_;
    std::size_t decided_ = 0;
};

Result<std::unique_ptr<DaemonSocket>> open_approver_socket(const Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    return client->open_socket();
}

Result<Report> run_approve(Context& ctx) {
    auto socket = open_approver_socket(ctx);
    if (!socket) return fail(socket.error());
    Approver approver([&ctx] { return open_approver_socket(ctx); },
                      datadir::control_socket_path(ctx.datadir), ctx.json, ctx.args.flag("once"));
    auto decided = approver.run(std::move(*socket));
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
        std::string chain_text;
        if (grant != nullptr) {
            if (const json::value* c = grant->if_contains("chainId");
                c != nullptr && c->is_string()) {
                chain_text = std::string(c->as_string());
                if (auto parsed = core::parse_u256(chain_text))
                    chain_text = core::u256_to_decimal(*parsed);
                chain_text = "chain " + chain_text + ", ";
            }
        }
        report.text += terminal_safe(origin) + "  (" + terminal_safe(chain_text) + "granted " +
                       time_text(granted_at) + ")" +
                       (accounts.empty() ? "\n    no accounts" : accounts) + "\n";
    }
    return report;
}

// The daemon when it runs; otherwise (no control socket, or one left by a daemon that crashed)
// the file itself, so grants can always be managed. A running daemon must be asked: it keeps the
// grants in memory and would write its own copy back over a direct edit.
Result<std::optional<DaemonClient>> daemon_if_running(const Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto status = client->call("keybridge_status", json::array{});
    if (!status) {
        if (status.error().code != ErrorCode::Disconnected) return fail(status.error());
        return std::optional<DaemonClient>();
    }
    return std::optional<DaemonClient>(std::move(*client));
}

// The file's grants; an origin's chain when the file records one (otherwise keybridged gives it
// its default chain, which only the running daemon knows).
json::object grants_json(const permissions::PermissionStore& store) {
    json::object out;
    for (const auto& [origin, grant] : store.all()) {
        json::array accounts;
        for (const auto& a : grant.accounts)
            accounts.push_back(json::string(a.to_checksum_string()));
        json::object entry{{"accounts", accounts}, {"grantedAt", grant.granted_at}};
        if (auto chain = store.selected_chain(origin)) {
            char hex[24];
            std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(*chain));
            entry["chainId"] = hex;
        }
        out[origin] = std::move(entry);
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
    return permissions_report(grants_json(*store), "file");
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

// ---------------------------------------------------------------- pairing

// [{extensionId, name, pairedAt, connected?, origins?}], from the daemon or read from the file.
Report pairings_report(const json::array& pairings, const std::string& source) {
    Report report;
    report.data["source"] = source;
    report.data["pairings"] = pairings;
    if (pairings.empty()) {
        report.text = "No browser extension is paired.";
        return report;
    }
    for (const auto& value : pairings) {
        const json::object* p = value.if_object();
        if (p == nullptr) continue;
        auto text = [&](std::string_view key) {
            const json::value* v = p->if_contains(key);
            return v != nullptr && v->is_string() ? terminal_safe(v->as_string()) : std::string();
        };
        std::int64_t paired_at = 0;
        if (const json::value* t = p->if_contains("pairedAt"); t != nullptr && t->is_int64())
            paired_at = t->as_int64();
        std::string line =
            text("extensionId") + "  \"" + text("name") + "\"  (paired " + time_text(paired_at);
        if (const json::value* c = p->if_contains("connected"); c != nullptr && c->is_bool())
            line += c->as_bool() ? ", connected" : ", not connected";
        line += ")\n";
        if (const json::value* o = p->if_contains("origins"); o != nullptr && o->is_array()) {
            for (const auto& origin : o->as_array()) {
                if (origin.is_string())
                    line += "    relays for " + terminal_safe(origin.as_string()) + "\n";
            }
        }
        report.text += line;
    }
    return report;
}

json::array pairings_json(const pairing::PairingStore& store) {
    json::array out;
    for (const auto& p : store.all()) {
        out.push_back(json::object{
            {"extensionId", p.extension_id}, {"name", p.name}, {"pairedAt", p.paired_at}});
    }
    return out;
}

Result<Report> run_pairing_list(Context& ctx) {
    auto daemon = daemon_if_running(ctx);
    if (!daemon) return fail(daemon.error());
    if (*daemon) {
        auto list = (*daemon)->call("keybridge_pairings", json::array{});
        if (!list) return fail(list.error());
        if (!list->is_array())
            return fail(ErrorCode::ProtocolError, "keybridge_pairings: not an array");
        return pairings_report(list->as_array(), "daemon");
    }
    auto store = pairing::PairingStore::open(ctx.datadir);
    if (!store) return fail(store.error());
    return pairings_report(pairings_json(*store), "file");
}

Result<Report> run_pairing_revoke(Context& ctx) {
    if (ctx.args.positionals.empty()) {
        return fail(ErrorCode::InvalidArgument,
                    "give the extension ID to revoke (see 'pairing list')");
    }
    const std::string id = ctx.args.positionals.front();
    auto daemon = daemon_if_running(ctx);
    if (!daemon) return fail(daemon.error());
    bool revoked = false;
    std::string source;
    if (*daemon) {
        // The daemon forgets it and closes the extension's connections at once.
        auto answer = (*daemon)->call("keybridge_revokePairing", json::array{json::string(id)});
        if (!answer) return fail(answer.error());
        revoked = answer->is_bool() && answer->as_bool();
        source = "daemon";
    } else {
        auto store = pairing::PairingStore::open(ctx.datadir);
        if (!store) return fail(store.error());
        auto done = store->revoke(id);
        if (!done) return fail(done.error());
        revoked = *done;
        source = "file";
    }
    if (!revoked) {
        return fail(ErrorCode::NotFound, "no paired extension '" + terminal_safe(id) + "'");
    }
    Report report;
    report.data["revoked"] = id;
    report.data["source"] = source;
    report.text =
        "Unpaired " + terminal_safe(id) + ": it must be approved again before it relays any page.";
    return report;
}

// ---------------------------------------------------------------- chain

// "10" or "0xa" → "0xa", the form keybridged's methods take.
Result<std::string> chain_id_argument(const Context& ctx) {
    if (ctx.args.positionals.empty())
        return fail(ErrorCode::InvalidArgument, "give the chain id (see 'chain list')");
    auto id = core::parse_u256(ctx.args.positionals.front());
    if (!id || *id == 0 || *id > core::U256((std::uint64_t{1} << 53) - 1))
        return fail(ErrorCode::InvalidArgument, "the chain id must be 1 to 2^53-1");
    return core::u256_to_quantity(*id);
}

// The node's URL: from --url-file, else the first line of standard input. Never an argument:
// a hosted node's URL holds an API key, which a command line shows to every local user.
Result<std::string> node_url_argument(const Context& ctx) {
    std::string url;
    if (auto file = ctx.args.value("url-file")) {
        auto text = vault::read_secret_file(*file);
        if (!text) return fail(text.error());
        url = std::string(text->text());
    } else {
        if (have_terminal()) tell("Node URL (http:// or https://): ");
        std::getline(std::cin, url);
    }
    while (!url.empty() && (url.back() == ' ' || url.back() == '\r'))
        url.pop_back();
    if (auto ok = chains::check_rpc_url(url); !ok) return fail(ok.error());
    return url;
}

std::string chain_line(const json::object& c) {
    auto text = [&](std::string_view key) {
        const json::value* v = c.if_contains(key);
        return v != nullptr && v->is_string() ? terminal_safe(v->as_string()) : std::string();
    };
    auto flag = [&](std::string_view key) {
        const json::value* v = c.if_contains(key);
        return v != nullptr && v->is_bool() && v->as_bool();
    };
    std::string id = text("chainId");
    if (auto parsed = core::parse_u256(id)) id = core::u256_to_decimal(*parsed);
    std::string line = id + "  \"" + text("name") + "\"  " +
                       (text("upstream").empty() ? std::string("no node") : text("upstream"));
    line += "  (" + text("source");
    if (flag("upstreamChanged")) line += ", your node";
    if (flag("default")) line += ", default";
    return line + ")\n";
}

Result<Report> run_chain_list(Context& ctx) {
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto list = client->call("keybridge_chains", json::array{});
    if (!list) return fail(list.error());
    if (!list->is_array()) return fail(ErrorCode::ProtocolError, "keybridge_chains: not an array");
    Report report;
    report.data["chains"] = list->as_array();
    for (const auto& c : list->as_array())
        if (c.is_object()) report.text += chain_line(c.as_object());
    return report;
}

// keybridge_addChain / keybridge_setUpstream with the URL read as above.
Result<Report> change_chain(Context& ctx, bool add) {
    auto id = chain_id_argument(ctx);
    if (!id) return fail(id.error());
    json::object params{{"chainId", *id}};
    if (add) {
        auto name = ctx.args.value("name");
        if (!name) return fail(ErrorCode::InvalidArgument, "give the chain's --name");
        if (auto ok = chains::check_chain_name(*name); !ok) return fail(ok.error());
        params["name"] = *name;
    }
    auto url = node_url_argument(ctx);
    if (!url) return fail(url.error());
    params["rpcUrl"] = *url;
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto answer =
        client->call(add ? "keybridge_addChain" : "keybridge_setUpstream", json::array{params});
    if (!answer) return fail(answer.error());
    if (!answer->is_object()) return fail(ErrorCode::ProtocolError, "not a chain object");
    Report report;
    report.data = answer->as_object();
    report.text = (add ? "Added " : "Now ") + chain_line(answer->as_object());
    if (const json::value* r = answer->as_object().if_contains("reachable");
        r != nullptr && r->is_bool() && !r->as_bool()) {
        report.text += "The node did not answer yet: calls on this chain fail until it does.\n";
    }
    return report;
}

Result<Report> run_chain_add(Context& ctx) {
    return change_chain(ctx, true);
}
Result<Report> run_chain_set_upstream(Context& ctx) {
    return change_chain(ctx, false);
}

Result<Report> run_chain_remove(Context& ctx) {
    auto id = chain_id_argument(ctx);
    if (!id) return fail(id.error());
    auto client = connect(ctx);
    if (!client) return fail(client.error());
    auto answer =
        client->call("keybridge_removeChain", json::array{json::object{{"chainId", *id}}});
    if (!answer) return fail(answer.error());
    Report report;
    report.data["removed"] = *id;
    report.text = "Removed chain " + ctx.args.positionals.front() +
                  ": the sites that used it are on the default chain now.";
    return report;
}

}  // namespace

std::vector<Command> daemon_commands() {
    return {
        {"status",
         "keybridge status [--json]",
         "show whether keybridged runs: data folder, vault, pending approvals, chains and their "
         "nodes, origins and their chains",
         {},
         run_status},
        {"unlock",
         "keybridge unlock [--password-file F]",
         "unlock the vault in keybridged (password from the terminal or a file)",
         {{"password-file", "FILE", "read the vault password from FILE"}},
         run_unlock},
        {"lock", "keybridge lock", "make keybridged forget the decrypted keys", {}, run_lock},
        {"token",
         "keybridge token [--json]",
         "print the running keybridged's token for scripts (Authorization: Bearer, ?token=); "
         "a new one at every start of keybridged",
         {},
         run_token},
        {"approve",
         "keybridge approve [--once] [--json]",
         "show each request decoded and ask y/N, and which accounts a connection may see; "
         "reconnects when keybridged restarts (--json: JSON lines out, \"approve DIGEST\" / "
         "\"reject DIGEST\" in, DIGEST being the shown request's digest)",
         {{"once", "", "exit after deciding one request"}},
         run_approve},
        {"ui",
         "keybridge ui [--no-open] [--json]",
         "open the approval page of the running keybridged in the browser ($BROWSER, else "
         "xdg-open); --no-open: only print its launcher file",
         {{"no-open", "", "print the launcher file instead of opening it"}},
         run_ui},
        {"permissions list",
         "keybridge permissions list [--json]",
         "list the origins that may see accounts, with their chains (from the file if "
         "keybridged is stopped)",
         {},
         run_permissions_list},
        {"permissions revoke",
         "keybridge permissions revoke ORIGIN",
         "withdraw an origin's access to accounts",
         {},
         run_permissions_revoke,
         "ORIGIN"},
        {"pairing list",
         "keybridge pairing list [--json]",
         "list the paired browser extensions and the sites they relay (from the file if "
         "keybridged is stopped)",
         {},
         run_pairing_list},
        {"pairing revoke",
         "keybridge pairing revoke ID",
         "unpair a browser extension: its connections close and it must be approved again",
         {},
         run_pairing_revoke,
         "ID"},
        {"chain list",
         "keybridge chain list [--json]",
         "list the chains keybridged knows, with their nodes (scheme://host only) and where "
         "they come from",
         {},
         run_chain_list},
        {"chain add",
         "keybridge chain add ID --name NAME [--url-file FILE]",
         "add a chain, kept across restarts; its node's URL is read from FILE or standard input "
         "(it may hold an API key: never an argument)",
         {{"name", "NAME", "the chain's name"},
          {"url-file", "FILE", "read the node's URL from FILE"}},
         run_chain_add,
         "ID"},
        {"chain set-upstream",
         "keybridge chain set-upstream ID [--url-file FILE]",
         "choose the node of a chain (URL from FILE or standard input); setting a configured "
         "chain's own node again undoes the choice",
         {{"url-file", "FILE", "read the node's URL from FILE"}},
         run_chain_set_upstream,
         "ID"},
        {"chain remove",
         "keybridge chain remove ID",
         "remove a chain added with chain add or by a site (configured chains stay)",
         {},
         run_chain_remove,
         "ID"},
    };
}

}  // namespace keybridge::cli
