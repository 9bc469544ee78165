#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/devices/device.h"
#include "drivers/usb/hidraw_scan.h"

namespace keybridge::daemon::devices {

// The factory keybridged uses. enumerate(): the hidraw nodes of the USB id table's models on
// their APDU interface (drivers/usb/device_ids.h; "hid:/dev/hidraw3", transport "usb"), then
// each --speculos endpoint ("speculos:127.0.0.1:9999", transport "speculos"). open() hands the
// candidate to the opener of its family, which the Ledger driver provides; without one the
// device is listed as unusable with the reason.
class SystemDeviceFactory final : public DeviceFactory {
  public:
    using Opener =
        std::function<core::Result<std::unique_ptr<Device>>(const DeviceCandidate& candidate)>;

    struct Settings {
        bool usb = true;
        std::vector<std::string> speculos;  // HOST:PORT, already validated
        // --trezor-emulator HOST:PORT, already validated ("trezor-emulator:HOST:PORT",
        // transport "emulator"); with usb, the Trezors on USB (drivers/trezor enumeration).
        std::vector<std::string> trezor_emulators;
        drivers::usb::SysfsRoots roots;  // tests point this at a copy of sysfs
    };

    // trezor_opener: the Trezor driver's (open_trezor); without it Trezors are not looked for.
    SystemDeviceFactory(Settings settings, Opener ledger_opener, Opener trezor_opener = nullptr);

    std::vector<DeviceCandidate> enumerate() override;
    [[nodiscard]] core::Result<std::unique_ptr<Device>> open(
        const DeviceCandidate& candidate) override;

  private:
    Settings settings_;
    Opener ledger_opener_;
    Opener trezor_opener_;
};

}  // namespace keybridge::daemon::devices
