#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/signer.h"

namespace keybridge::drivers::usb {

// The USB ids of the hardware wallets keybridge drives, as device enumeration (the daemon),
// `keybridge doctor` and the udev rules in udev/ use them. For Ledger this is the driver's own id
// table (drivers/ledger/models.h) seen from USB: one table, and a test
// (tests/drivers/usb/udev_rules_test.cpp) checks every rules file against it.
//
// Ledger: vendor 0x2c97. Current firmware reports a product id whose high byte names the model
// (0x50xx: Nano S Plus; the low byte is a bitmask of the USB interfaces it offers); older firmware
// reported a "legacy" product id per model (0x0005: Nano S Plus). The APDU interface is the
// generic HID interface, number 0.

inline constexpr std::uint16_t kLedgerVendorId = 0x2c97;

struct UsbModel {
    core::SignerFamily family;
    std::uint16_t vendor_id;
    // product id >> 8 of current firmware; none for a model known only by its legacy id (Blue)
    std::optional<std::uint8_t> product_high;
    std::optional<std::uint16_t> legacy_product;  // the model's product id on older firmware
    std::string_view name;                        // "Nano S Plus"
    int apdu_interface;                           // USB interface number that carries APDUs
};

// Every model, in the order of the table.
std::span<const UsbModel> usb_models();

// The model a vendor/product id pair belongs to, or nullptr.
const UsbModel* find_usb_model(std::uint16_t vendor_id, std::uint16_t product_id);

// "2c97" (four lower-case hex digits, as udev writes ATTRS{idVendor}).
std::string hex4(std::uint16_t id);

}  // namespace keybridge::drivers::usb
