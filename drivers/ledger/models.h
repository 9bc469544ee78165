#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace keybridge::drivers::ledger {

// Ledger's USB identity, in one table: the daemon's enumeration and the udev rules in udev/ are
// generated from or checked against it (a test does the checking).
inline constexpr std::uint16_t kLedgerVendorId = 0x2c97;
// The usage page of the APDU (generic HID) interface; the other interfaces of a composite device
// (U2F/FIDO, keyboard) are not for us.
inline constexpr std::uint16_t kApduUsagePage = 0xffa0;

enum class Model { Blue, NanoS, NanoX, NanoSPlus, Stax, Flex, NanoGen5, Emulator, Unknown };

struct ModelInfo {
    Model model;
    std::string_view name;            // "Nano S Plus"
    std::uint8_t product_id_mm;       // the model byte: product id >> 8 on current firmware
    std::uint16_t legacy_product_id;  // the whole product id on old firmware (0x0001 ...)
};

// Every USB model, in product order. Blue shares the model byte 0x00 with the legacy ids, so it
// is recognised by its legacy id only.
std::span<const ModelInfo> usb_models();

// The model of a product id: a legacy id (0x0000..0x0008) as itself, otherwise the high byte
// (the low byte is a bit field of the interfaces the firmware exposes). nullopt for an id no
// model uses.
std::optional<Model> model_from_product_id(std::uint16_t product_id);

// "Nano S Plus", "Speculos emulator", "Ledger" for Unknown.
std::string_view model_name(Model model);
// The inverse of model_name ("Nano S Plus" -> NanoSPlus; also "Ledger Nano S Plus"); Unknown for
// a name it does not know.
Model model_from_name(std::string_view name);

}  // namespace keybridge::drivers::ledger
