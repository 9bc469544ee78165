#include "drivers/usb/device_ids.h"

#include <cstdio>
#include <vector>

#include "drivers/ledger/models.h"

namespace keybridge::drivers::usb {
namespace {

const std::vector<UsbModel>& table() {
    static const std::vector<UsbModel> models = [] {
        std::vector<UsbModel> out;
        for (const auto& m : ledger::usb_models()) {
            // Model byte 0x00 is where the legacy ids live: such a model (Blue) has only its
            // legacy id.
            std::optional<std::uint8_t> high;
            if (m.product_id_mm != 0) high = m.product_id_mm;
            out.push_back(UsbModel{core::SignerFamily::Ledger, ledger::kLedgerVendorId, high,
                                   m.legacy_product_id, m.name, 0});
        }
        return out;
    }();
    return models;
}

}  // namespace

std::span<const UsbModel> usb_models() {
    return table();
}

const UsbModel* find_usb_model(std::uint16_t vendor_id, std::uint16_t product_id) {
    for (const UsbModel& m : table()) {
        if (m.vendor_id != vendor_id) continue;
        if (m.legacy_product == product_id) return &m;
        if (m.product_high && (product_id >> 8) == *m.product_high) return &m;
    }
    return nullptr;
}

std::string hex4(std::uint16_t id) {
    char text[8];
    std::snprintf(text, sizeof text, "%04x", static_cast<unsigned>(id));
    return text;
}

}  // namespace keybridge::drivers::usb
