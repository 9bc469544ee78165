#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "drivers/trezor/report_device.h"

namespace keybridge::drivers::trezor {

inline constexpr std::uint16_t kDefaultEmulatorPort = 21324;

// The Trezor emulator's transport (and keybridge's simulator's): one report per UDP datagram to
// host:port; "PINGPING" answered by "PONGPONG" tells whether something is listening. A read
// that waits (for a person) probes with PINGPING every second, so that an emulator that went
// away ends the read with Disconnected.
class UdpReportDevice final : public ReportDevice {
  public:
    // Connects a UDP socket (no traffic yet). host is an IPv4 or IPv6 literal or "localhost".
    // InvalidArgument for an unusable address, IoError when the socket cannot be made.
    [[nodiscard]] static core::Result<std::unique_ptr<UdpReportDevice>> open(
        const std::string& host, std::uint16_t port);
    ~UdpReportDevice() override;
    UdpReportDevice(const UdpReportDevice&) = delete;
    UdpReportDevice& operator=(const UdpReportDevice&) = delete;

    // PINGPING -> PONGPONG within timeout. Datagrams already queued are discarded first.
    [[nodiscard]] bool ping(std::chrono::milliseconds timeout);

    [[nodiscard]] core::Status write(const Report& report) override;
    [[nodiscard]] core::Result<Report> read(std::chrono::milliseconds timeout,
                                            const std::stop_token& stop) override;
    std::string describe() const override { return description_; }

  private:
    UdpReportDevice(int fd, std::string description);
    void drain();

    int fd_;
    std::string description_;
};

// "127.0.0.1:21324" / "[::1]:21324" / "localhost" (default port) -> host and port.
// InvalidFormat otherwise.
[[nodiscard]] core::Result<std::pair<std::string, std::uint16_t>> parse_host_port(
    std::string_view text);

}  // namespace keybridge::drivers::trezor
