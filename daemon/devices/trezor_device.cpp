#include "daemon/devices/trezor_device.h"

#include <atomic>
#include <chrono>

#include "drivers/trezor/trezor_signer.h"
#include "drivers/trezor/udp_report_device.h"
#include "drivers/trezor/usb_report_device.h"

namespace keybridge::daemon::devices {
namespace {

namespace trezor = drivers::trezor;
using core::ErrorCode;
using core::fail;
using namespace std::chrono_literals;

// What the Device learns from the traffic of the signer's flows: a transport that failed
// without a stop request means the device (or emulator) went away.
struct LinkHealth {
    std::atomic<bool> lost{false};
};

// The report pipe the signer owns, watched for the device going away.
class WatchedReports final : public trezor::ReportDevice {
  public:
    WatchedReports(std::unique_ptr<trezor::ReportDevice> inner, std::shared_ptr<LinkHealth> health)
        : inner_(std::move(inner)), health_(std::move(health)) {}

    core::Status write(const trezor::Report& report) override {
        auto status = inner_->write(report);
        if (!status && (status.error().code == ErrorCode::Disconnected ||
                        status.error().code == ErrorCode::DeviceNotFound))
            health_->lost.store(true);
        return status;
    }
    core::Result<trezor::Report> read(std::chrono::milliseconds timeout,
                                      const std::stop_token& stop) override {
        auto report = inner_->read(timeout, stop);
        if (!report && !stop.stop_requested() &&
            (report.error().code == ErrorCode::Disconnected ||
             report.error().code == ErrorCode::DeviceNotFound))
            health_->lost.store(true);
        return report;
    }
    std::string describe() const override { return inner_->describe(); }

  private:
    std::unique_ptr<trezor::ReportDevice> inner_;
    std::shared_ptr<LinkHealth> health_;
};

class TrezorDevice final : public Device {
  public:
    // `udp` is the emulator's socket inside `reports` (nullptr on USB), kept for PINGPING
    // between flows; it lives as long as the signer that owns it.
    TrezorDevice(std::unique_ptr<trezor::ReportDevice> reports, trezor::UdpReportDevice* udp,
                 bool usb)
        : reports_(std::move(reports)), udp_(udp), usb_(usb) {}

    DeviceReport probe(std::stop_token stop) override {
        if (fixed_) return *fixed_;
        if (signer_) return refresh(stop);
        trezor::TrezorSigner::Options options;
        options.device_timeout = 5s;  // a device that does not answer v1 is not waited for long
        auto connected = trezor::TrezorSigner::connect(
            std::make_unique<WatchedReports>(std::move(reports_), health_), options);
        if (!connected) return failed_session(connected.error());
        signer_ = std::shared_ptr<trezor::TrezorSigner>(std::move(*connected));
        signer_->set_keys(keys_);
        return describe();
    }

    bool gone() const override { return gone_.load() || health_->lost.load(); }

    std::shared_ptr<core::Signer> signer() override {
        // A device in bootloader mode, or without a wallet, serves no account.
        if (!signer_ || !serving_) return nullptr;
        return signer_;
    }

    void set_keys(std::vector<core::KeyRef> keys) override {
        if (signer_)
            signer_->set_keys(std::move(keys));
        else
            keys_ = std::move(keys);
    }

  private:
    DeviceReport base() const {
        DeviceReport r;
        const trezor::TrezorFeatures& f = signer_->features();
        r.model = f.model_name;
        r.firmware = f.firmware;
        r.app_version = f.firmware;
        r.label = f.label;
        return r;
    }

    DeviceReport describe() {
        DeviceReport r = base();
        const trezor::TrezorFeatures& f = signer_->features();
        if (f.bootloader_mode) {
            r.state = DeviceState::Bootloader;
            r.detail = f.model_name +
                       " is in bootloader mode: nothing is signed on it. Unplug it and plug it "
                       "in again without touching the screen (or buttons)";
            return r;
        }
        if (!f.initialized) {
            r.state = DeviceState::Error;
            r.detail = f.model_name + " has no wallet yet: set it up with Trezor Suite first";
            return r;
        }
        if (f.device_id.empty()) {
            r.state = DeviceState::Error;
            r.detail = f.model_name + " did not say its device id";
            return r;
        }
        r.state = DeviceState::Ready;
        r.app = "Ethereum";
        r.identity = signer_->id();
        if (f.pin_protection) r.detail = "PIN protected: the approver asks for the PIN positions";
        if (f.pin_protection && !signer_->unlocked()) {
            // Locked still signs: the first request asks for the PIN through the approver (or
            // on the device's own screen), so the signer serves all the same.
            r.state = DeviceState::Locked;
            r.detail = f.passphrase_entry_on_device || f.model != "1"
                           ? "the next request asks for its PIN (on the Trezor, or its "
                             "positions through the approver)"
                           : "the next request asks the approver for the positions of "
                             "its PIN on the grid the Trezor shows";
        }
        serving_ = true;
        return r;
    }

    // Between flows (on the signer's lane once attached): is it still there?
    DeviceReport refresh(const std::stop_token& stop) {
        if (udp_ != nullptr && !udp_->ping(1500ms)) {
            gone_.store(true);
            DeviceReport r = base();
            r.state = DeviceState::Unreachable;
            r.detail = "the emulator at " + udp_->describe() + " stopped answering";
            return r;
        }
        // Locked or unlocked since the last look (a PIN typed, the device's auto-lock); a
        // failure here is a lost device, which health_ has noted.
        if (!health_->lost.load()) (void)signer_->refresh_features(stop);
        if (health_->lost.load()) {
            DeviceReport r = base();
            r.state = DeviceState::Unreachable;
            r.detail = "the connection to the device was lost";
            return r;
        }
        return describe();
    }

    DeviceReport failed_session(const core::Error& error) {
        DeviceReport r;
        if (error.code == ErrorCode::NotSupported &&
            error.detail.find("Trezor-Host Protocol") != std::string::npos) {
            r.state = DeviceState::Unsupported;
            r.detail = error.detail;
            fixed_ = r;  // it will not change its mind while plugged in
            return r;
        }
        if (usb_ && error.code == ErrorCode::Timeout) {
            // USB Trezors answer Initialize at once; silence is a model that speaks only THP.
            r.state = DeviceState::Unsupported;
            r.detail =
                "the device does not answer protocol v1 (Initialize): a Trezor that speaks only "
                "the encrypted Trezor-Host Protocol (THP) is not supported by keybridge yet";
            fixed_ = r;
            return r;
        }
        gone_.store(true);  // the pipe went into the failed session: open it again later
        r.state = error.code == ErrorCode::Timeout || error.code == ErrorCode::Disconnected
                      ? DeviceState::Unreachable
                      : DeviceState::Error;
        r.detail = "cannot start a session: " + error.detail;
        return r;
    }

    std::unique_ptr<trezor::ReportDevice> reports_;  // until the session starts
    trezor::UdpReportDevice* udp_;
    bool usb_;
    std::shared_ptr<LinkHealth> health_ = std::make_shared<LinkHealth>();
    std::shared_ptr<trezor::TrezorSigner> signer_;  // set once, on the manager's thread
    bool serving_ = false;
    std::optional<DeviceReport> fixed_;
    std::vector<core::KeyRef> keys_;  // until the signer exists
    std::atomic<bool> gone_{false};
};

}  // namespace

std::vector<DeviceCandidate> enumerate_trezors() {
    std::vector<DeviceCandidate> out;
    auto found = trezor::enumerate_usb_trezors();
    if (!found) return out;
    for (const auto& t : *found) {
        out.push_back(DeviceCandidate{
            t.path, "usb",
            t.bootloader ? "Trezor (bootloader)"
                         : (t.kind == trezor::UsbKind::Hid ? "Trezor One" : "Trezor"),
            core::SignerFamily::Trezor});
    }
    return out;
}

DeviceCandidate trezor_emulator_candidate(const std::string& endpoint) {
    return DeviceCandidate{std::string(kTrezorEmulatorPrefix) + endpoint, "emulator",
                           "Trezor emulator", core::SignerFamily::Trezor};
}

core::Result<std::unique_ptr<Device>> open_trezor(const DeviceCandidate& candidate) {
    if (candidate.location.rfind(kTrezorEmulatorPrefix, 0) == 0) {
        const std::string endpoint = candidate.location.substr(kTrezorEmulatorPrefix.size());
        auto host_port = trezor::parse_host_port(endpoint);
        if (!host_port) return fail(host_port.error());
        auto udp = trezor::UdpReportDevice::open(host_port->first, host_port->second);
        if (!udp) return fail(udp.error());
        if (!(*udp)->ping(1000ms)) {
            return fail(ErrorCode::DeviceNotFound,
                        "nothing answers at " + endpoint +
                            " (is the Trezor emulator running with its UDP port there?)");
        }
        trezor::UdpReportDevice* raw = udp->get();
        return std::unique_ptr<Device>(std::make_unique<TrezorDevice>(std::move(*udp), raw, false));
    }
    auto opened = trezor::open_usb_trezor(candidate.location);
    if (!opened) return fail(opened.error());
    return std::unique_ptr<Device>(
        std::make_unique<TrezorDevice>(std::move(*opened), nullptr, true));
}

}  // namespace keybridge::daemon::devices
