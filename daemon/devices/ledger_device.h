#pragma once

#include <memory>

#include "core/result.h"
#include "daemon/devices/device.h"

namespace keybridge::daemon::devices {

// Opens a Ledger the system factory found: "hid:/dev/hidrawN" through hidapi, or
// "speculos:HOST:PORT" over TCP (drivers/ledger). The Device it returns probes the app with a
// LedgerSigner and, once the Ethereum app answers, reads the device's identity
// (ledger_identity) and keeps one LedgerSigner under that identity for the registry.
// Errors: IoError when the node may not be opened (udev rules), DeviceBusy when another
// program holds it, DeviceNotFound when nothing answers (an emulator not running).
[[nodiscard]] core::Result<std::unique_ptr<Device>> open_ledger(const DeviceCandidate& candidate);

}  // namespace keybridge::daemon::devices
