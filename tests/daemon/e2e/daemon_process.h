#pragma once

// Runs the real keybridged (and the keybridge tool) for the end-to-end tests: a fresh vault in a
// temporary folder, the daemon on 127.0.0.1:0, its port read from its log, its stderr kept.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/daemon/e2e/client.h"

namespace keybridge::test::e2e {

// The first account of the "all all ... all" phrase (m/44'/60'/0'/0/0).
inline constexpr const char* kFirstAccount = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8";
inline constexpr const char* kPageOrigin = "http://localhost:3000";
// The vault's password (in the file passed with --password-file).
inline constexpr const char* kVaultPassword = "e2e-vault-password";

// A folder under the test temp dir, removed with everything in it.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    // Writes a file in the folder (mode 0600) and returns its path.
    std::string write(const std::string& name, std::string_view content) const;

  private:
    std::string path_;
};

// Runs a program to completion; its exit status (-1 when it could not run or timed out), with
// stdout and stderr together in `output`.
int run_program(const std::vector<std::string>& argv, std::string* output,
                std::chrono::milliseconds timeout = 60s);

// One keybridged process. The destructor kills it if it still runs.
class DaemonProcess {
  public:
    DaemonProcess() = default;
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    // Starts keybridged with `args`. True once it logged the port it listens on; false when it
    // exited first (see exit_status()) or said nothing within the deadline.
    bool start(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 30s);
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }

    // Everything it wrote to stderr so far.
    std::string log() const;
    // Waits until its stderr holds `needle`.
    bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout = 20s) const;

    void signal(int number) const;
    // Waits for the process to end; its exit code (128+N when signal N killed it), or nullopt
    // when it still runs after the deadline.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = 20s);
    std::optional<int> exit_status() const { return exit_status_; }
    bool started() const { return pid_ > 0; }

  private:
    void read_stderr(int fd);

    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::optional<int> exit_status_;
    std::thread reader_;
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::string log_;
    bool eof_ = false;
};

// What an Approver rule decides for one request: "approve", "reject", or "" (leave it), plus
// for a connect request the accounts to share (keybridge_decide's third argument).
struct Verdict {
    Verdict(std::string d) : decision(std::move(d)) {}  // NOLINT: rules return plain words
    Verdict(const char* d) : decision(d) {}             // NOLINT
    Verdict(std::string d, boost::json::array shared)
        : decision(std::move(d)), accounts(std::move(shared)) {}

    std::string decision;
    std::optional<boost::json::array> accounts;
};

// Approves (or rejects) every pending request as the user would, from a thread, through
// keybridge_pendingApprovals and keybridge_decide on the control socket.
class Approver {
  public:
    using Rule = std::function<Verdict(const boost::json::object& request)>;
    Approver(std::string control_path, Rule rule);
    ~Approver();
    void stop();
    // The requests it decided, in order.
    std::vector<boost::json::object> seen() const;

  private:
    ControlClient client_;
    Rule rule_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<boost::json::object> seen_;
    std::thread thread_;
};

// A rule that approves every request, sharing every account a connect request offers.
Approver::Rule approve_sharing_all();

// The addresses a connect request offers (its details.accounts), in order.
boost::json::array offered_addresses(const boost::json::object& request);

// keybridge_decide's params for `request` (an approval object) as shown:
// [id, decision, {"digest": its digest}].
boost::json::array decision_for(const boost::json::value& request, std::string_view decision);

// Polls keybridge_pendingApprovals until `count` requests wait (or the deadline); returns them.
boost::json::array wait_pending(const ControlClient& approver, std::size_t count,
                                std::chrono::milliseconds timeout = 10s);

// A test with a fresh vault holding the first account of "all all ... all" and one keybridged
// per start(). Light KDF parameters keep the vault quick to create and unlock.
class DaemonTest : public ::testing::Test {
  protected:
    void SetUp() override;
    // Stops a daemon still running with SIGTERM (every test thus also checks the graceful
    // shutdown from where it left the daemon): exit status 0 and no sanitizer report.
    void TearDown() override;

    // Starts keybridged on 127.0.0.1:0 with the vault (unlocked from the password file unless
    // `unlock` is false) and `extra` arguments; waits until it serves.
    void start(std::vector<std::string> extra = {}, bool unlock = true);
    // Arguments every start passes (datadir, listen, password file).
    std::vector<std::string> base_args(bool unlock = true) const;

    std::uint16_t port() const { return daemon_.port(); }
    std::string cookie_path() const { return datadir_ + "/.cookie"; }
    std::string control_path() const { return datadir_ + "/keybridged.sock"; }
    // The approver's (and the tool's) channel.
    ControlClient control() const { return ControlClient(control_path()); }
    std::string read_cookie() const;

    RpcClient local() const { return RpcClient(port(), Caller{token_, "", false}); }
    RpcClient page(std::string origin = kPageOrigin) const {
        return RpcClient(port(), Caller{"", origin, false});
    }
    Caller local_caller() const { return Caller{token_, "", false}; }

    // Grants the first account to the caller: eth_requestAccounts approved by an Approver.
    void connect_account(const RpcClient& client);

    // Runs the keybridge tool on the test's data folder (with --yes); its output. A non-zero
    // exit status fails the test.
    std::string tool(std::vector<std::string> args);
    // Polls keybridge_status until the daemon knows `count` accounts.
    bool wait_accounts(std::size_t count, std::chrono::milliseconds timeout = 5s);

    // A JSON-RPC body.
    static std::string body(std::string_view method,
                            boost::json::value params = boost::json::array{},
                            boost::json::value id = 1);

    TempDir tmp_;
    std::string datadir_;
    std::string password_file_;
    std::string token_;
    DaemonProcess daemon_;
};

}  // namespace keybridge::test::e2e
