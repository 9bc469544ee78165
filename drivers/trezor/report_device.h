#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "core/bytes.h"
#include "core/result.h"
#include "drivers/trezor/framing.h"

namespace keybridge::drivers::trezor {

// One Trezor seen as a pipe of 64-byte reports (HID interrupt reports, WebUSB interrupt
// transfers, or the emulator's UDP datagrams). Implementations are thread-compatible: one
// caller at a time.
class ReportDevice {
  public:
    virtual ~ReportDevice() = default;
    // Sends one report. Disconnected when the device is gone.
    [[nodiscard]] virtual core::Status write(const Report& report) = 0;
    // Waits for one report: Timeout after `timeout`, Disconnected when `stop` fires or the device
    // is gone. Inputs that are not 64-byte reports (an emulator's stray PONGPONG) are dropped.
    [[nodiscard]] virtual core::Result<Report> read(std::chrono::milliseconds timeout,
                                                    const std::stop_token& stop) = 0;
    // "udp:127.0.0.1:21324"
    virtual std::string describe() const = 0;
};

}  // namespace keybridge::drivers::trezor
