// The front door when something else holds it: a cookie left by a crash, a loopback port taken
// by another program, and a flood of connections. The tool talks to keybridged only over the
// control socket, so none of these can take the password or lock the user out.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using StaleDaemon = DaemonTest;

// A program of "another user" listening on a loopback port: it accepts connections and keeps
// every byte it receives.
class Impostor {
  public:
    explicit Impostor(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int on = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                 ::listen(fd_, 16) == 0;
        socklen_t size = sizeof address;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] {
            while (!stop_) {
                const int client = ::accept(fd_, nullptr, nullptr);
                if (client < 0) return;
                char chunk[4096];
                ssize_t n = 0;
                while ((n = ::recv(client, chunk, sizeof chunk, MSG_DONTWAIT)) != 0 && !stop_) {
                    if (n > 0) received_ += static_cast<std::size_t>(n);
                    std::this_thread::sleep_for(5ms);
                    if (n < 0 && errno != EAGAIN) break;
                }
                ::close(client);
            }
        });
    }
    ~Impostor() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    bool bound() const { return bound_; }
    std::uint16_t port() const { return port_; }
    std::size_t received() const { return received_; }

  private:
    int fd_ = -1;
    bool bound_ = false;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> received_{0};
    std::thread thread_;
};

TEST_F(StaleDaemon, ACrashedDaemonsCookieNeverLeadsThePasswordToWhoeverTookItsPort) {
    ASSERT_NO_FATAL_FAILURE(start({}, false));
    const std::uint16_t port = this->port();
    daemon_.signal(SIGKILL);  // a crash: the cookie and the socket file stay behind
    daemon_.wait_exit();
    ASSERT_TRUE(fs::exists(cookie_path()));
    ASSERT_TRUE(fs::exists(control_path()));
    Impostor impostor(port);
    ASSERT_TRUE(impostor.bound());

    std::string output;
    const int status = run_program(
        {KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "unlock", "--password-file", password_file_},
        &output);
    EXPECT_NE(status, 0) << output;
    EXPECT_NE(output.find("keybridged is not running"), std::string::npos) << output;
    EXPECT_NE(output.find("left by a keybridged that stopped without cleaning up"),
              std::string::npos)
        << output;
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(impostor.received(), 0u) << "the tool talked to the program on the old port";
}

TEST_F(StaleDaemon, RefusesToStartWhenItsLoopbackAddressIsHeldBySomeoneElse) {
    Impostor impostor(0);
    ASSERT_TRUE(impostor.bound());
    DaemonProcess daemon;
    std::vector<std::string> args{"--datadir", datadir_, "--listen",
                                  "127.0.0.1:" + std::to_string(impostor.port())};
    EXPECT_FALSE(daemon.start(args, 10s)) << daemon.log();
    EXPECT_EQ(daemon.wait_exit(), std::optional<int>(1)) << daemon.log();
    EXPECT_NE(daemon.log().find("already in use by another program"), std::string::npos)
        << daemon.log();
    EXPECT_FALSE(fs::exists(cookie_path())) << "a cookie for a daemon that does not serve";
}

TEST_F(StaleDaemon, RefusesToStartWhenTheIpv6LoopbackIsHeldBySomeoneElse) {
    // The same port on both loopbacks, as the defaults are; ::1 taken by another program.
    const int v6 = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    const int on = 1;
    ::setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (v6 < 0 || ::bind(v6, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(v6, 4) != 0) {
        if (v6 >= 0) ::close(v6);
        GTEST_SKIP() << "no IPv6 loopback here";
    }
    socklen_t size = sizeof address;
    ::getsockname(v6, reinterpret_cast<sockaddr*>(&address), &size);
    const std::string port = std::to_string(ntohs(address.sin6_port));
    DaemonProcess daemon;
    // It may announce the IPv4 port before it fails on ::1: the exit status is what counts.
    daemon.start(
        {"--datadir", datadir_, "--listen", "127.0.0.1:" + port, "--listen", "[::1]:" + port}, 10s);
    EXPECT_EQ(daemon.wait_exit(), std::optional<int>(1)) << daemon.log();
    EXPECT_NE(daemon.log().find("already in use by another program"), std::string::npos)
        << daemon.log();
    ::close(v6);
}

TEST_F(StaleDaemon, AFloodOfPageSocketsLeavesRoomForTokenClientsAndTheTool) {
    // 16 connections: pages may hold 14 WebSockets, 2 stay for token clients.
    ASSERT_NO_FATAL_FAILURE(start({"--max-connections", "16"}));
    std::vector<std::unique_ptr<WsClient>> pages;
    for (int i = 0; i < 14; ++i) {
        pages.push_back(std::make_unique<WsClient>(port(), Caller{"", kPageOrigin, false}));
        ASSERT_TRUE(pages.back()->open()) << i << ": " << pages.back()->error();
    }
    WsClient one_more(port(), Caller{"", kPageOrigin, false});
    EXPECT_FALSE(one_more.open());
    EXPECT_EQ(one_more.refused_status(), 503) << one_more.error();
    // The token clients' share.
    WsClient script(port(), local_caller());
    EXPECT_TRUE(script.open()) << script.error();
    EXPECT_EQ(script.call("eth_chainId").at("result"), json::value("0x1"));
    // Every TCP slot taken now: the tool still works over the control socket.
    WsClient last(port(), local_caller());
    ASSERT_TRUE(last.open()) << last.error();
    EXPECT_TRUE(local().post(body("eth_chainId")).status != 200);  // no slot left
    std::string output;
    EXPECT_EQ(run_program({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "status"}, &output), 0)
        << output;
    EXPECT_NE(output.find("unlocked"), std::string::npos) << output;
    EXPECT_EQ(run_program({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "lock"}, &output), 0)
        << output;
}

}  // namespace
}  // namespace keybridge::test::e2e
