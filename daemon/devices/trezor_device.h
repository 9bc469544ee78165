#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "daemon/devices/device.h"

namespace keybridge::daemon::devices {

// Location prefix of a --trezor-emulator endpoint: "trezor-emulator:127.0.0.1:21324".
inline constexpr std::string_view kTrezorEmulatorPrefix = "trezor-emulator:";

// The Trezors on USB now (drivers/trezor enumeration: "hid:/dev/hidraw3" for a Trezor One with
// HID firmware, "webusb:BUS:ADDRESS" for every newer firmware and the bootloaders), transport
// "usb", family Trezor. Nothing is opened.
std::vector<DeviceCandidate> enumerate_trezors();

// A --trezor-emulator endpoint as a candidate (transport "emulator").
DeviceCandidate trezor_emulator_candidate(const std::string& endpoint);

// Opens a Trezor the system factory found (USB path or emulator endpoint). The Device it returns
// starts a session (Initialize -> Features) at its first probe and reports the model, firmware,
// label and state from Features; an initialised device with a device id becomes a TrezorSigner
// under "trezor:<device id>" for the registry. A device in bootloader mode is listed (state
// "bootloader") and never attached: nothing is signed on it. A device that refuses protocol v1
// (a model that speaks only the encrypted Trezor-Host Protocol) is listed as "unsupported" with
// the reason, and is not asked again while it stays plugged in.
// Errors: IoError (permissions: udev rules), DeviceBusy (another program holds it),
// DeviceNotFound (an emulator that does not answer PINGPING).
[[nodiscard]] core::Result<std::unique_ptr<Device>> open_trezor(const DeviceCandidate& candidate);

}  // namespace keybridge::daemon::devices
