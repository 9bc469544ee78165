#pragma once

#include <memory>
#include <string>
#include <vector>

#include "drivers/trezor/report_device.h"
#include "drivers/trezor/usb_ids.h"

namespace keybridge::drivers::trezor {

// A Trezor found on USB, not yet opened.
struct UsbTrezor {
    std::string path;  // "hid:/dev/hidraw3" or "webusb:BUS:ADDRESS"
    UsbKind kind = UsbKind::WebUsb;
    bool bootloader = false;  // known from the id (WebUSB bootloader)
    std::string serial;       // HID only (WebUSB needs the device opened to read it)
};

// Every Trezor on USB: HID ones through hidapi (hidraw), WebUSB ones through libusb. Cheap: no
// device is opened. IoError only when neither library can start; a library that cannot start
// (no USB in a container) contributes nothing.
[[nodiscard]] core::Result<std::vector<UsbTrezor>> enumerate_usb_trezors();

// Opens a device listed by enumerate_usb_trezors(). DeviceNotFound when it is gone,
// DeviceBusy when another program holds it (Trezor Suite, Trezor Bridge), IoError for a
// permission problem (with the udev hint), InvalidArgument for a path of another form.
[[nodiscard]] core::Result<std::unique_ptr<ReportDevice>> open_usb_trezor(const std::string& path);

}  // namespace keybridge::drivers::trezor
