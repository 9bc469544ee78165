#include "tests/daemon/e2e/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace keybridge::test::e2e {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kMnemonic = "all all all all all all all all all all all all";

// Forks and runs argv with stdin from /dev/null and stdout + stderr into the returned pipe.
pid_t spawn(const std::vector<std::string>& argv, int& read_fd) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        // Only async-signal-safe calls here: the test process has other threads.
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        // Sockets of the test must not live on in the child.
        ::close_range(3, ~0U, 0);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    if (pid < 0) {
        ::close(fds[0]);
        return -1;
    }
    read_fd = fds[0];
    return pid;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

// ----------------------------------------------------------------------------- TempDir

TempDir::TempDir() {
    std::string pattern = ::testing::TempDir() + "keybridged_e2e_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, std::string_view content) const {
    const std::string path = path_ + "/" + name;
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
    }
    ::chmod(path.c_str(), 0600);
    return path;
}

// ------------------------------------------------------------------------ run_program

int run_program(const std::vector<std::string>& argv, std::string* output,
                std::chrono::milliseconds timeout) {
    int fd = -1;
    const pid_t pid = spawn(argv, fd);
    if (pid < 0) return -1;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string text;
    char chunk[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        text.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            if (output) *output = text;
            return -1;
        }
        std::this_thread::sleep_for(5ms);
    }
    if (output) *output = text;
    return decode_status(status);
}

// ---------------------------------------------------------------------- DaemonProcess

DaemonProcess::~DaemonProcess() {
    if (pid_ > 0 && !exit_status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if (reader_.joinable()) reader_.join();
}

bool DaemonProcess::start(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{KEYBRIDGE_DAEMON_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    int fd = -1;
    pid_ = spawn(argv, fd);
    if (pid_ < 0) {
        ADD_FAILURE() << "cannot start " << KEYBRIDGE_DAEMON_PATH;
        return false;
    }
    reader_ = std::thread([this, fd] { read_stderr(fd); });
    const std::string marker = "listening on 127.0.0.1:";
    std::unique_lock lock(mutex_);
    const bool found =
        cv_.wait_for(lock, timeout, [&] { return log_.find(marker) != std::string::npos || eof_; });
    const auto at = log_.find(marker);
    if (!found || at == std::string::npos) {
        lock.unlock();
        wait_exit(2s);
        return false;
    }
    port_ = static_cast<std::uint16_t>(std::stoi(log_.substr(at + marker.size())));
    return true;
}

void DaemonProcess::read_stderr(int fd) {
    char chunk[4096];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(mutex_);
        if (n <= 0) {
            eof_ = true;
            cv_.notify_all();
            break;
        }
        log_.append(chunk, static_cast<std::size_t>(n));
        cv_.notify_all();
    }
    ::close(fd);
}

std::string DaemonProcess::log() const {
    std::lock_guard lock(mutex_);
    return log_;
}

bool DaemonProcess::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return log_.find(needle) != std::string::npos; });
}

void DaemonProcess::signal(int number) const {
    if (pid_ > 0 && !exit_status_) ::kill(pid_, number);
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_status_) return exit_status_;
    if (pid_ <= 0) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_status_ = decode_status(status);
            if (reader_.joinable()) reader_.join();
            return exit_status_;
        }
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
}

// ---------------------------------------------------------------------------- Approver

Approver::Approver(std::string control_path, Rule rule)
    : client_(std::move(control_path)), rule_(std::move(rule)) {
    thread_ = std::thread([this] {
        while (!stop_.load()) {
            json::value pending = client_.call("keybridge_pendingApprovals");
            const json::value* list =
                pending.is_object() ? pending.as_object().if_contains("result") : nullptr;
            if (list != nullptr && list->is_array()) {
                for (const json::value& item : list->as_array()) {
                    const json::object& request = item.as_object();
                    // Only requests waiting for a decision (not those needing input or
                    // already approved and being signed).
                    const json::value* stage = request.if_contains("stage");
                    if (stage != nullptr && *stage != json::value("waiting")) continue;
                    const Verdict verdict = rule_(request);
                    if (verdict.decision.empty()) continue;
                    // The digest of the request as this approver saw it.
                    json::object terms{{"digest", request.at("digest")}};
                    if (verdict.accounts) terms["accounts"] = *verdict.accounts;
                    json::array params{request.at("id"), json::string(verdict.decision), terms};
                    client_.call("keybridge_decide", params);
                    std::lock_guard lock(mutex_);
                    seen_.push_back(request);
                }
            }
            std::this_thread::sleep_for(20ms);
        }
    });
}

Approver::~Approver() {
    stop();
}

void Approver::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

std::vector<json::object> Approver::seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
}

json::array offered_addresses(const json::object& request) {
    json::array out;
    const json::value* details = request.if_contains("details");
    const json::value* accounts = details != nullptr && details->is_object()
                                      ? details->as_object().if_contains("accounts")
                                      : nullptr;
    if (accounts == nullptr || !accounts->is_array()) return out;
    for (const json::value& a : accounts->as_array()) {
        if (a.is_object() && a.as_object().contains("address"))
            out.push_back(a.as_object().at("address"));
    }
    return out;
}

Approver::Rule approve_sharing_all() {
    return [](const json::object& request) {
        if (request.at("method") != json::value("eth_requestAccounts")) return Verdict("approve");
        return Verdict("approve", offered_addresses(request));
    };
}

json::array decision_for(const json::value& request, std::string_view decision) {
    return json::array{request.at("id"), json::string(decision),
                       json::object{{"digest", request.at("digest")}}};
}

json::array wait_pending(const ControlClient& approver, std::size_t count,
                         std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json::array last;
    while (std::chrono::steady_clock::now() < deadline) {
        json::value v = approver.result("keybridge_pendingApprovals");
        if (v.is_array()) {
            last = v.as_array();
            if (last.size() >= count) return last;
        }
        std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "expected " << count << " pending approvals, have " << json::serialize(last);
    return last;
}

// -------------------------------------------------------------------------- DaemonTest

void DaemonTest::SetUp() {
    datadir_ = tmp_.path() + "/data";
    password_file_ = tmp_.write("password", std::string(kVaultPassword) + "\n");
    const std::string mnemonic = tmp_.write("mnemonic", std::string(kMnemonic) + "\n");
    std::string output;
    const int status =
        run_program({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "restore", "--mnemonic-file",
                     mnemonic, "--password-file", password_file_, "--light-kdf"},
                    &output);
    ASSERT_EQ(status, 0) << "keybridge restore failed: " << output;
    ASSERT_NE(output.find(kFirstAccount), std::string::npos) << output;
}

void DaemonTest::TearDown() {
    if (!daemon_.started()) return;
    if (!daemon_.exit_status()) {
        daemon_.signal(SIGTERM);
        EXPECT_EQ(daemon_.wait_exit(10s), 0) << "keybridged did not stop cleanly:\n"
                                             << daemon_.log();
    }
    const std::string log = daemon_.log();
    for (const char* marker : {"AddressSanitizer", "LeakSanitizer", "runtime error:"}) {
        EXPECT_EQ(log.find(marker), std::string::npos) << "sanitizer report from keybridged:\n"
                                                       << log;
    }
}

std::vector<std::string> DaemonTest::base_args(bool unlock) const {
    std::vector<std::string> args{"--datadir", datadir_, "--listen", "127.0.0.1:0"};
    if (unlock) {
        args.push_back("--password-file");
        args.push_back(password_file_);
    }
    return args;
}

void DaemonTest::start(std::vector<std::string> extra, bool unlock) {
    std::vector<std::string> args = base_args(unlock);
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(daemon_.start(args)) << "keybridged did not start: " << daemon_.log();
    ASSERT_GT(port(), 0);
    if (unlock) {
        ASSERT_TRUE(daemon_.wait_for_log("unlocked: ")) << daemon_.log();
    }
    token_ = read_cookie();
    ASSERT_EQ(token_.size(), 64u) << token_;
}

std::string DaemonTest::read_cookie() const {
    std::ifstream in(cookie_path());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void DaemonTest::connect_account(const RpcClient& client) {
    Approver approver(control_path(), [](const json::object&) { return std::string("approve"); });
    json::value accounts = client.result("eth_requestAccounts");
    approver.stop();
    std::string lower = kFirstAccount;
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(accounts, (json::array{json::string(lower)}));
}

std::string DaemonTest::tool(std::vector<std::string> args) {
    std::vector<std::string> argv{KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "--yes"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string output;
    EXPECT_EQ(run_program(argv, &output), 0) << output;
    return output;
}

bool DaemonTest::wait_accounts(std::size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        json::value status = local().result("keybridge_status");
        if (status.is_object() && status.at("accounts") == json::value(count)) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

std::string DaemonTest::body(std::string_view method, json::value params, json::value id) {
    return json::serialize(json::object{{"jsonrpc", "2.0"},
                                        {"id", std::move(id)},
                                        {"method", method},
                                        {"params", std::move(params)}});
}

}  // namespace keybridge::test::e2e
