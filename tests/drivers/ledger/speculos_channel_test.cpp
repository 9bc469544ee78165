#include "drivers/ledger/speculos_channel.h"

#include <chrono>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace keybridge::drivers::ledger {
namespace {

using core::ErrorCode;
using namespace std::chrono_literals;

// A one-connection TCP server on 127.0.0.1 with a free port.
class Server {
  public:
    Server() {
        listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(listen_fd, 1), 0);
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
    }
    ~Server() {
        if (conn >= 0) ::close(conn);
        ::close(listen_fd);
    }
    void accept_one() { conn = ::accept(listen_fd, nullptr, nullptr); }
    core::Bytes read_command() {
        std::uint8_t header[4];
        if (!read_all(header, 4)) return {};
        const std::uint32_t n =
            (header[0] << 24) | (header[1] << 16) | (header[2] << 8) | header[3];
        core::Bytes out(n);
        if (!read_all(out.data(), n)) return {};
        return out;
    }
    bool read_all(std::uint8_t* p, std::size_t n) {
        while (n > 0) {
            const ssize_t got = ::recv(conn, p, n, 0);
            if (got <= 0) return false;
            p += got;
            n -= static_cast<std::size_t>(got);
        }
        return true;
    }
    void send_raw(const core::Bytes& bytes) {
        ASSERT_EQ(::send(conn, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }
    void reply(const core::Bytes& data, std::uint16_t sw) {
        core::Bytes out{0, 0, static_cast<std::uint8_t>(data.size() >> 8),
                        static_cast<std::uint8_t>(data.size())};
        out.insert(out.end(), data.begin(), data.end());
        out.push_back(static_cast<std::uint8_t>(sw >> 8));
        out.push_back(static_cast<std::uint8_t>(sw));
        send_raw(out);
    }
    int listen_fd = -1;
    int conn = -1;
    std::uint16_t port = 0;
};

TEST(LedgerSpeculosChannel, SendsLengthPrefixedApdusAndSplitsTheStatusWord) {
    Server server;
    auto channel = open_speculos_channel("127.0.0.1", server.port);
    ASSERT_TRUE(channel) << channel.error().detail;
    server.accept_one();
    std::thread t([&] {
        auto command = server.read_command();
        EXPECT_EQ(command, (core::Bytes{0xe0, 0x06, 0x00, 0x00, 0x00}));
        // Split over several TCP writes: the reader must not care.
        server.send_raw({0, 0, 0});
        std::this_thread::sleep_for(10ms);
        server.send_raw({4, 1, 1, 10});
        std::this_thread::sleep_for(10ms);
        server.send_raw({3, 0x90, 0x00});
    });
    auto reply = (*channel)->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t.join();
    ASSERT_TRUE(reply) << reply.error().detail;
    EXPECT_EQ(reply->data, (core::Bytes{1, 1, 10, 3}));
    EXPECT_EQ(reply->status, 0x9000);
    EXPECT_EQ((*channel)->describe(), "speculos:127.0.0.1:" + std::to_string(server.port));
}

TEST(LedgerSpeculosChannel, ALyingLengthIsAProtocolErrorAndEndsTheChannel) {
    Server server;
    auto channel = std::move(*open_speculos_channel("127.0.0.1", server.port));
    server.accept_one();
    std::thread t([&] {
        server.read_command();
        server.send_raw({0x7f, 0xff, 0xff, 0xff, 0x90, 0x00});
    });
    auto reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::ProtocolError);
    auto again = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::Disconnected);
}

TEST(LedgerSpeculosChannel, EmulatorGoingAwayIsDisconnected) {
    Server server;
    auto channel = std::move(*open_speculos_channel("127.0.0.1", server.port));
    server.accept_one();
    std::thread t([&] {
        server.read_command();
        server.send_raw({0, 0, 0, 5, 1});  // half a reply, then gone
        ::close(server.conn);
        server.conn = -1;
    });
    const auto start = std::chrono::steady_clock::now();
    auto reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 10s, {});
    t.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::Disconnected);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(LedgerSpeculosChannel, TimeoutAndStopLeaveTheReplyOwedAndDropIt) {
    Server server;
    auto channel = std::move(*open_speculos_channel("127.0.0.1", server.port));
    server.accept_one();
    auto timed_out = channel->exchange(core::Bytes{0xe0, 0x04, 0, 0, 0}, 100ms, {});
    ASSERT_FALSE(timed_out);
    EXPECT_EQ(timed_out.error().code, ErrorCode::Timeout);
    std::stop_source stop;
    stop.request_stop();
    auto stopped = channel->exchange(core::Bytes{0xe0, 0x04, 0, 0, 0}, 10s, stop.get_token());
    ASSERT_FALSE(stopped);
    EXPECT_EQ(stopped.error().code, ErrorCode::Disconnected);
    server.read_command();
    server.reply({0xaa}, 0x6985);  // the late answer
    std::thread t([&] {
        auto command = server.read_command();
        server.reply({0xbb}, 0x9000);
    });
    auto reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t.join();
    ASSERT_TRUE(reply) << reply.error().detail;
    EXPECT_EQ(reply->data, core::Bytes{0xbb});
}

TEST(LedgerSpeculosChannel, NothingListeningIsDeviceNotFound) {
    std::uint16_t port = 0;
    {
        Server closed;
        port = closed.port;
    }
    auto channel = open_speculos_channel("127.0.0.1", port, 500ms);
    ASSERT_FALSE(channel);
    EXPECT_EQ(channel.error().code, ErrorCode::DeviceNotFound);
}

}  // namespace
}  // namespace keybridge::drivers::ledger
