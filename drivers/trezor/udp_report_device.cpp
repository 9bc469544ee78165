#include "drivers/trezor/udp_report_device.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace keybridge::drivers::trezor {
namespace {

// Reads wait in short slices so that a stop request is seen promptly.
constexpr std::chrono::milliseconds kSlice{50};
// While a read waits this long without traffic, a PINGPING probes the emulator: when it is gone
// the kernel answers with ICMP port unreachable, and the next receive fails (ECONNREFUSED), so
// a killed emulator ends the request instead of leaving it waiting for buttons.
constexpr std::chrono::milliseconds kProbeAfter{1000};

}  // namespace

core::Result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view text) {
    std::string host;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return core::fail(core::ErrorCode::InvalidFormat, "unclosed '[' in host:port");
        }
        host = std::string(text.substr(1, close - 1));
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') {
                return core::fail(core::ErrorCode::InvalidFormat, "expected ':' after ']'");
            }
            port_text = rest.substr(1);
        }
    } else {
        const auto colon = text.rfind(':');
        if (colon != std::string_view::npos && text.find(':') != colon) {
            return core::fail(core::ErrorCode::InvalidFormat,
                              "write an IPv6 address as [addr]:port");
        }
        host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
    }
    if (host.empty()) return core::fail(core::ErrorCode::InvalidFormat, "empty host");
    std::uint16_t port = kDefaultEmulatorPort;
    if (!port_text.empty() || text.ends_with(':')) {
        unsigned value = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            return core::fail(core::ErrorCode::InvalidFormat,
                              "port must be a number from 1 to 65535");
        }
        port = static_cast<std::uint16_t>(value);
    }
    return std::pair{host, port};
}

core::Result<std::unique_ptr<UdpReportDevice>> UdpReportDevice::open(const std::string& host,
                                                                     std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port_text = std::to_string(port);
    if (getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found) != 0 || found == nullptr) {
        return core::fail(core::ErrorCode::InvalidArgument,
                          "cannot resolve Trezor emulator host '" + host + "'");
    }
    int fd = -1;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        ::close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd < 0) {
        return core::fail(core::ErrorCode::IoError,
                          std::string("UDP socket to the emulator: ") + std::strerror(errno));
    }
    const bool v6 = host.find(':') != std::string::npos;
    std::string description = "udp:" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    return std::unique_ptr<UdpReportDevice>(new UdpReportDevice(fd, std::move(description)));
}

UdpReportDevice::UdpReportDevice(int fd, std::string description)
    : fd_(fd), description_(std::move(description)) {}

UdpReportDevice::~UdpReportDevice() {
    ::close(fd_);
}

void UdpReportDevice::drain() {
    std::array<std::uint8_t, 256> buffer{};
    while (::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT) >= 0) {
    }
}

bool UdpReportDevice::ping(std::chrono::milliseconds timeout) {
    drain();
    constexpr std::string_view kPing = "PINGPING";
    if (::send(fd_, kPing.data(), kPing.size(), 0) != static_cast<ssize_t>(kPing.size())) {
        return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        std::array<std::uint8_t, 64> buffer{};
        const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
        // ECONNREFUSED: nothing listens on the port (ICMP port unreachable).
        if (n < 0) return false;
        if (n == 8 && std::memcmp(buffer.data(), "PONGPONG", 8) == 0) return true;
    }
}

core::Status UdpReportDevice::write(const Report& report) {
    const ssize_t n = ::send(fd_, report.data(), report.size(), 0);
    if (n != static_cast<ssize_t>(report.size())) {
        return core::fail(core::ErrorCode::Disconnected,
                          description_ + ": send failed: " + std::strerror(errno));
    }
    return {};
}

core::Result<Report> UdpReportDevice::read(std::chrono::milliseconds timeout,
                                           const std::stop_token& stop) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto last_traffic = std::chrono::steady_clock::now();
    for (;;) {
        if (stop.stop_requested()) {
            return core::fail(core::ErrorCode::Disconnected, "the request was stopped");
        }
        if (std::chrono::steady_clock::now() - last_traffic >= kProbeAfter) {
            last_traffic = std::chrono::steady_clock::now();
            if (::send(fd_, "PINGPING", 8, 0) < 0 && errno == ECONNREFUSED) {
                return core::fail(core::ErrorCode::Disconnected, description_ + " is gone");
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return core::fail(core::ErrorCode::Timeout, description_ + " did not answer");
        }
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min(left, kSlice).count()));
        if (ready < 0 && errno != EINTR) {
            return core::fail(core::ErrorCode::Disconnected,
                              description_ + ": poll failed: " + std::strerror(errno));
        }
        if (ready <= 0) continue;
        std::array<std::uint8_t, 128> buffer{};
        const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            // ECONNREFUSED: the emulator is gone (ICMP port unreachable on our last send).
            return core::fail(core::ErrorCode::Disconnected,
                              description_ + ": " + std::strerror(errno));
        }
        last_traffic = std::chrono::steady_clock::now();
        if (static_cast<std::size_t>(n) != kReportSize) continue;
        Report report{};
        std::copy_n(buffer.begin(), kReportSize, report.begin());
        return report;
    }
}

}  // namespace keybridge::drivers::trezor
