#include "drivers/ledger/models.h"

#include <array>

namespace keybridge::drivers::ledger {
namespace {

// Model bytes and legacy ids as Ledger's device list (@ledgerhq/devices) gives them.
constexpr std::array<ModelInfo, 7> kModels{{
    {Model::Blue, "Blue", 0x00, 0x0000},
    {Model::NanoS, "Nano S", 0x10, 0x0001},
    {Model::NanoX, "Nano X", 0x40, 0x0004},
    {Model::NanoSPlus, "Nano S Plus", 0x50, 0x0005},
    {Model::Stax, "Stax", 0x60, 0x0006},
    {Model::Flex, "Flex", 0x70, 0x0007},
    {Model::NanoGen5, "Nano Gen5", 0x80, 0x0008},
}};

}  // namespace

std::span<const ModelInfo> usb_models() {
    return kModels;
}

std::optional<Model> model_from_product_id(std::uint16_t product_id) {
    for (const auto& m : kModels) {
        if (m.legacy_product_id == product_id) return m.model;
    }
    const auto mm = static_cast<std::uint8_t>(product_id >> 8);
    if (mm == 0x00) return std::nullopt;  // only legacy ids live below 0x0100
    for (const auto& m : kModels) {
        if (m.product_id_mm == mm) return m.model;
    }
    return std::nullopt;
}

std::string_view model_name(Model model) {
    for (const auto& m : kModels) {
        if (m.model == model) return m.name;
    }
    if (model == Model::Emulator) return "Speculos emulator";
    return "Ledger";
}

Model model_from_name(std::string_view name) {
    if (name.starts_with("Ledger ")) name.remove_prefix(7);
    for (const auto& m : kModels) {
        if (m.name == name) return m.model;
    }
    if (name == model_name(Model::Emulator) || name == "Speculos") return Model::Emulator;
    return Model::Unknown;
}

}  // namespace keybridge::drivers::ledger
