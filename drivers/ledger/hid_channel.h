#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "drivers/ledger/apdu_channel.h"
#include "drivers/ledger/hid_framing.h"
#include "drivers/ledger/models.h"

namespace keybridge::drivers::ledger {

// Moves 64-byte HID reports to and from one Ledger, below the APDU framing. Implementations:
// hidapi (a real device), and a SOCK_SEQPACKET socket carrying one report per packet (tests and
// the simulator's raw-HID mode). Not thread-safe.
class HidReportDevice {
  public:
    virtual ~HidReportDevice() = default;
    // Writes one report. Disconnected when the device is gone; IoError for other failures.
    [[nodiscard]] virtual core::Status write(const Report& report) = 0;
    // The next report, waiting at most `timeout` (0: only what is already there). Timeout when
    // none came; Disconnected when the device is gone. The bytes are what the device sent, any
    // length: the framing checks them.
    [[nodiscard]] virtual core::Result<core::Bytes> read(std::chrono::milliseconds timeout) = 0;
    virtual std::string describe() const = 0;
};

// A report device on a connected SOCK_SEQPACKET socket (or any socket that keeps packet
// boundaries); takes ownership of fd and closes it. A closed peer reads as Disconnected.
std::unique_ptr<HidReportDevice> make_fd_report_device(int fd);

// Opens a hidraw node (hidapi's path, e.g. "/dev/hidraw3"). DeviceNotFound when it is not there,
// DeviceBusy with the OS's reason when it cannot be opened (permissions: the udev rule is
// missing; or another program holds it).
[[nodiscard]] core::Result<std::unique_ptr<HidReportDevice>> open_hidapi_device(
    const std::string& path);

// ApduChannel over a report device: frames each command with hid_framing, reassembles the
// reply, splits off the status word. The reply must come on channel 0x0101 with tag 0x05 and
// consecutive sequence numbers, and be at least 2 bytes (ProtocolError otherwise).
//
// A reply still owed when an exchange gave up (Timeout, or the stop token) is read and dropped
// at the start of the next exchange, so that a late answer is never taken for the next one's;
// after a framing error, pending reports are flushed first. Disconnected is final.
class HidApduChannel final : public ApduChannel {
  public:
    explicit HidApduChannel(std::unique_ptr<HidReportDevice> device);

    [[nodiscard]] core::Result<ApduReply> exchange(core::ByteView command,
                                                   std::chrono::milliseconds timeout,
                                                   std::stop_token stop) override;
    std::string describe() const override;

  private:
    [[nodiscard]] core::Result<core::Bytes> read_message(
        std::chrono::steady_clock::time_point deadline, const std::stop_token& stop,
        bool skip_garbage);
    void flush();

    std::unique_ptr<HidReportDevice> device_;
    HidReassembler reassembler_;
    int owed_replies_ = 0;
    bool needs_flush_ = false;
    bool dead_ = false;
};

// "hid:" channels on a hidraw node, and over an fd as make_fd_report_device.
[[nodiscard]] core::Result<std::unique_ptr<ApduChannel>> open_hid_channel(const std::string& path);
std::unique_ptr<ApduChannel> open_fd_hid_channel(int fd);

// One Ledger APDU interface found on the USB bus.
struct HidDeviceInfo {
    std::string path;  // for open_hid_channel; stays inside drivers/ (never shown to clients)
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    int interface_number = -1;
    std::uint16_t usage_page = 0;
    std::string serial;
    std::optional<Model> model;  // model_from_product_id
};

// The Ledger APDU interfaces present now (vendor 0x2c97; usage page 0xffa0, or interface 0
// where the OS does not report usage pages). IoError when hidapi cannot enumerate.
[[nodiscard]] core::Result<std::vector<HidDeviceInfo>> enumerate_hid_devices();

}  // namespace keybridge::drivers::ledger
