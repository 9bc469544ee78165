#include "drivers/usb/device_ids.h"

#include <array>
#include <cstdio>

namespace keybridge::drivers::usb {
namespace {

using core::SignerFamily;

// Model bytes and legacy ids as the vendor's public device list (@ledgerhq/devices) gives them.
constexpr std::array kModels = {
    UsbModel{SignerFamily::Ledger, kLedgerVendorId, 0x10, 0x0001, "Nano S", 0},
    UsbModel{SignerFamily::Ledger, kLedgerVendorId, 0x40, 0x0004, "Nano X", 0},
    UsbModel{SignerFamily::Ledger, kLedgerVendorId, 0x50, 0x0005, "Nano S Plus", 0},
    UsbModel{SignerFamily::Ledger, kLedgerVendorId, 0x60, 0x0006, "Stax", 0},
    UsbModel{SignerFamily::Ledger, kLedgerVendorId, 0x70, 0x0007, "Flex", 0},
    UsbModel{SignerFamily::Ledger, kLedgerVendorId, 0x80, 0x0008, "Nano Gen5", 0},
};

}  // namespace

std::span<const UsbModel> usb_models() {
    return kModels;
}

const UsbModel* find_usb_model(std::uint16_t vendor_id, std::uint16_t product_id) {
    for (const UsbModel& m : kModels) {
        if (m.vendor_id != vendor_id) continue;
        // A legacy id is below 0x0100, so its high byte (0) never matches a current model byte.
        if ((product_id >> 8) == m.product_high || m.legacy_product == product_id) return &m;
    }
    return nullptr;
}

std::string hex4(std::uint16_t id) {
    char text[8];
    std::snprintf(text, sizeof text, "%04x", static_cast<unsigned>(id));
    return text;
}

}  // namespace keybridge::drivers::usb
