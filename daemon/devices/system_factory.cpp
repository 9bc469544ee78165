#include "daemon/devices/system_factory.h"

#include "daemon/devices/trezor_device.h"
#include "drivers/usb/device_ids.h"

namespace keybridge::daemon::devices {

SystemDeviceFactory::SystemDeviceFactory(Settings settings, Opener ledger_opener,
                                         Opener trezor_opener)
    : settings_(std::move(settings)),
      ledger_opener_(std::move(ledger_opener)),
      trezor_opener_(std::move(trezor_opener)) {}

std::vector<DeviceCandidate> SystemDeviceFactory::enumerate() {
    std::vector<DeviceCandidate> out;
    if (settings_.usb) {
        for (const auto& node : drivers::usb::scan_hidraw(settings_.roots)) {
            const auto* model = drivers::usb::find_usb_model(node.vendor_id, node.product_id);
            if (model == nullptr) continue;
            // A Ledger also offers FIDO (U2F) and other interfaces: only the APDU one is ours.
            if (node.interface != model->apdu_interface) continue;
            out.push_back(DeviceCandidate{"hid:" + node.node, "usb", std::string(model->name),
                                          model->family});
        }
    }
    for (const auto& endpoint : settings_.speculos)
        out.push_back(DeviceCandidate{"speculos:" + endpoint, "speculos", "Speculos",
                                      core::SignerFamily::Ledger});
    if (trezor_opener_) {
        if (settings_.usb) {
            for (auto& c : enumerate_trezors())
                out.push_back(std::move(c));
        }
        for (const auto& endpoint : settings_.trezor_emulators)
            out.push_back(trezor_emulator_candidate(endpoint));
    }
    return out;
}

core::Result<std::unique_ptr<Device>> SystemDeviceFactory::open(const DeviceCandidate& candidate) {
    if (candidate.family == core::SignerFamily::Ledger && ledger_opener_)
        return ledger_opener_(candidate);
    if (candidate.family == core::SignerFamily::Trezor && trezor_opener_)
        return trezor_opener_(candidate);
    return core::fail(core::ErrorCode::NotSupported, "this keybridged has no driver for " +
                                                         candidate.model +
                                                         " devices (built without its driver)");
}

}  // namespace keybridge::daemon::devices
