#include "drivers/ledger/hid_channel.h"

#include <chrono>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace keybridge::drivers::ledger {
namespace {

using core::ErrorCode;
using namespace std::chrono_literals;

// The device end of a SOCK_SEQPACKET pair: reads one framed command, writes raw packets back.
class DeviceEnd {
  public:
    DeviceEnd() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        host_fd = fds[0];
        device_fd = fds[1];
    }
    ~DeviceEnd() {
        if (device_fd >= 0) ::close(device_fd);
    }
    core::Bytes read_command() {
        HidReassembler r;
        for (;;) {
            Report report{};
            const ssize_t n = ::recv(device_fd, report.data(), report.size(), 0);
            if (n != static_cast<ssize_t>(kReportSize)) return {};
            auto done = r.feed(report);
            if (!done) return {};
            if (*done) return r.message();
        }
    }
    void send_packet(core::ByteView bytes) {
        ASSERT_EQ(::send(device_fd, bytes.data(), bytes.size(), 0),
                  static_cast<ssize_t>(bytes.size()));
    }
    void reply(core::ByteView message) {
        const auto reports = frame_apdu(message);
        ASSERT_TRUE(reports);
        for (const auto& report : *reports)
            send_packet(report);
    }
    void close_device() {
        ::close(device_fd);
        device_fd = -1;
    }
    int host_fd = -1;
    int device_fd = -1;
};

TEST(LedgerHidChannel, ExchangesAMultiReportApduOverAnFd) {
    DeviceEnd device;
    auto channel = open_fd_hid_channel(device.host_fd);
    core::Bytes command(200);
    for (std::size_t i = 0; i < command.size(); ++i)
        command[i] = static_cast<std::uint8_t>(i);
    std::thread t([&] {
        core::Bytes got = device.read_command();
        core::Bytes answer(got.rbegin(), got.rend());
        answer.push_back(0x90);
        answer.push_back(0x00);
        device.reply(answer);
    });
    auto reply = channel->exchange(command, 2s, {});
    t.join();
    ASSERT_TRUE(reply) << reply.error().detail;
    EXPECT_EQ(reply->status, 0x9000);
    EXPECT_EQ(reply->data, core::Bytes(command.rbegin(), command.rend()));
    EXPECT_NE(channel->describe().find("hid"), std::string::npos);
}

TEST(LedgerHidChannel, GarbageFromTheDeviceIsAProtocolErrorNotACrash) {
    DeviceEnd device;
    auto channel = open_fd_hid_channel(device.host_fd);
    // Wrong channel.
    std::thread t([&] {
        device.read_command();
        auto reports = *frame_apdu(core::Bytes{0x90, 0x00}, 0x0102);
        device.send_packet(reports[0]);
    });
    auto reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::ProtocolError);

    // A short report, then (after the flush) a good exchange works again.
    std::thread t2([&] {
        device.read_command();
        const core::Bytes shorty{0x01, 0x01, 0x05, 0x00, 0x00, 0x00};
        device.send_packet(shorty);
    });
    reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t2.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::ProtocolError);

    // An oversized packet, and a reply too short to hold a status word.
    std::thread t3([&] {
        device.read_command();
        device.send_packet(core::Bytes(100, 0x01));
    });
    reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t3.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::ProtocolError);

    std::thread t4([&] {
        device.read_command();
        device.reply(core::Bytes{0x90});
    });
    reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t4.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::ProtocolError);

    std::thread t5([&] {
        device.read_command();
        device.reply(core::Bytes{0x01, 0x90, 0x00});
    });
    reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t5.join();
    ASSERT_TRUE(reply) << reply.error().detail;
    EXPECT_EQ(reply->data, core::Bytes{0x01});
}

TEST(LedgerHidChannel, UnplugIsDisconnectedQuicklyAndFinal) {
    DeviceEnd device;
    auto channel = open_fd_hid_channel(device.host_fd);
    std::thread t([&] {
        device.read_command();
        device.close_device();
    });
    const auto start = std::chrono::steady_clock::now();
    auto reply = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 10s, {});
    t.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::Disconnected);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    auto again = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 10s, {});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::Disconnected);
}

TEST(LedgerHidChannel, ALateReplyIsDroppedNotTakenForTheNextOne) {
    DeviceEnd device;
    auto channel = open_fd_hid_channel(device.host_fd);
    auto first = channel->exchange(core::Bytes{0xe0, 0x02, 0, 0, 0}, 100ms, {});
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().code, ErrorCode::Timeout);
    device.read_command();
    device.reply(core::Bytes{0xaa, 0x90, 0x00});  // the late answer to the first command
    std::thread t([&] {
        device.read_command();
        device.reply(core::Bytes{0xbb, 0x90, 0x00});
    });
    auto second = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t.join();
    ASSERT_TRUE(second) << second.error().detail;
    EXPECT_EQ(second->data, core::Bytes{0xbb});
}

TEST(LedgerHidChannel, StopTokenEndsTheWaitPromptly) {
    DeviceEnd device;
    auto channel = open_fd_hid_channel(device.host_fd);
    std::stop_source stop;
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        stop.request_stop();
    });
    const auto start = std::chrono::steady_clock::now();
    auto reply = channel->exchange(core::Bytes{0xe0, 0x08, 0, 0, 0}, 30s, stop.get_token());
    stopper.join();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::Disconnected);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    // The device is still there: the owed reply is dropped, the next exchange works.
    device.read_command();
    device.reply(core::Bytes{0x69, 0x85});
    std::thread t([&] {
        device.read_command();
        device.reply(core::Bytes{0x90, 0x00});
    });
    auto next = channel->exchange(core::Bytes{0xe0, 0x06, 0, 0, 0}, 2s, {});
    t.join();
    ASSERT_TRUE(next) << next.error().detail;
    EXPECT_EQ(next->status, 0x9000);
}

TEST(LedgerHidChannel, OpeningAMissingHidrawNodeIsDeviceNotFound) {
    auto channel = open_hid_channel("/dev/hidraw-keybridge-missing");
    ASSERT_FALSE(channel);
    EXPECT_EQ(channel.error().code, ErrorCode::DeviceNotFound);
    // Enumeration works without devices (an empty list here).
    auto found = enumerate_hid_devices();
    EXPECT_TRUE(found) << found.error().detail;
}

}  // namespace
}  // namespace keybridge::drivers::ledger
