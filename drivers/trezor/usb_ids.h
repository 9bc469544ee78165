#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace keybridge::drivers::trezor {

// How a Trezor presents itself on USB.
enum class UsbKind {
    Hid,     // Trezor One with HID firmware (or its bootloader): interface 0, 64-byte reports
    WebUsb,  // every newer firmware and bootloader: vendor interface 0, interrupt endpoints
};

struct TrezorUsbId {
    std::uint16_t vendor_id;
    std::uint16_t product_id;
    UsbKind kind;
    // Known from the id alone: a WebUSB bootloader. The Trezor One's bootloader shares its HID
    // id with the firmware (Features.bootloader_mode tells them apart).
    bool bootloader;
    std::string_view description;
};

// Every id a Trezor uses (udev rules and discovery are built from this table).
std::span<const TrezorUsbId> trezor_usb_ids();

// The entry for vendor_id:product_id, or nullptr for a device that is not a Trezor.
const TrezorUsbId* find_trezor_usb_id(std::uint16_t vendor_id, std::uint16_t product_id);

// The wallet's endpoints on the WebUSB interface 0 (interface 1, endpoints 0x82/0x02, is
// DebugLink on development firmware; the Trezor One's HID U2F interface is 1 too).
inline constexpr int kWalletInterface = 0;
inline constexpr unsigned char kEndpointOut = 0x01;
inline constexpr unsigned char kEndpointIn = 0x81;

}  // namespace keybridge::drivers::trezor
