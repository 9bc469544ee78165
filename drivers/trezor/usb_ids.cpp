#include "drivers/trezor/usb_ids.h"

#include <array>

namespace keybridge::drivers::trezor {
namespace {

constexpr std::array<TrezorUsbId, 3> kIds{{
    {0x534c, 0x0001, UsbKind::Hid, false, "Trezor One (HID firmware or bootloader)"},
    {0x1209, 0x53c1, UsbKind::WebUsb, false,
     "Trezor (WebUSB firmware: One from 1.7, Model T, Safe 3, Safe 5)"},
    {0x1209, 0x53c0, UsbKind::WebUsb, true, "Trezor in bootloader mode (WebUSB)"},
}};

}  // namespace

std::span<const TrezorUsbId> trezor_usb_ids() {
    return kIds;
}

const TrezorUsbId* find_trezor_usb_id(std::uint16_t vendor_id, std::uint16_t product_id) {
    for (const auto& id : kIds) {
        if (id.vendor_id == vendor_id && id.product_id == product_id) return &id;
    }
    return nullptr;
}

}  // namespace keybridge::drivers::trezor
