#include "daemon/devices/ledger_device.h"

#include <atomic>
#include <mutex>

#include "daemon/options.h"
#include "drivers/ledger/hid_channel.h"
#include "drivers/ledger/ledger_signer.h"
#include "drivers/ledger/models.h"
#include "drivers/ledger/speculos_channel.h"

namespace keybridge::daemon::devices {
namespace {

namespace ledger = drivers::ledger;
using core::ErrorCode;
using core::fail;

// One channel, used by the scouting signer (before the identity is known) and then by the
// signer that serves the accounts: never both at once (the manager probes from one thread until
// it attaches the second, and only on its lane afterwards).
class SharedChannel final : public ledger::ApduChannel {
  public:
    explicit SharedChannel(std::shared_ptr<ledger::ApduChannel> inner) : inner_(std::move(inner)) {}
    core::Result<ledger::ApduReply> exchange(core::ByteView command,
                                             std::chrono::milliseconds timeout,
                                             std::stop_token stop) override {
        return inner_->exchange(command, timeout, std::move(stop));
    }
    std::string describe() const override { return inner_->describe(); }

  private:
    std::shared_ptr<ledger::ApduChannel> inner_;
};

DeviceState state_of(ledger::LedgerState::State state) {
    using S = ledger::LedgerState::State;
    switch (state) {
        case S::Unknown:
            return DeviceState::Connecting;
        case S::Ready:
            return DeviceState::Ready;
        case S::Locked:
            return DeviceState::Locked;
        case S::Dashboard:
            return DeviceState::Dashboard;
        case S::WrongApp:
            return DeviceState::WrongApp;
        case S::Unresponsive:
            return DeviceState::Busy;
        case S::Disconnected:
            return DeviceState::Unreachable;
    }
    return DeviceState::Error;
}

DeviceReport report_of(const ledger::LedgerState& s) {
    DeviceReport r;
    r.state = state_of(s.state);
    r.app = s.app_name;
    r.app_version = s.app_version;
    r.blind_signing = s.blind_signing;
    r.detail = s.detail;
    return r;
}

class LedgerDevice final : public Device {
  public:
    LedgerDevice(std::shared_ptr<ledger::ApduChannel> channel, ledger::Model model)
        : channel_(std::move(channel)), model_(model) {}

    DeviceReport probe(std::stop_token stop) override {
        if (signer_) {
            DeviceReport report = report_of(signer_->probe(stop));
            report.identity = signer_->id();
            if (report.state == DeviceState::Unreachable) gone_.store(true);
            return report;
        }
        // No identity yet: a signer without one reads the app's state.
        ledger::LedgerSigner scout(std::make_unique<SharedChannel>(channel_), "", model_);
        DeviceReport report = report_of(scout.probe(stop));
        if (report.state == DeviceState::Unreachable) gone_.store(true);
        if (report.state != DeviceState::Ready) return report;
        auto identity = ledger::ledger_identity(*channel_, stop);
        if (!identity) {
            if (identity.error().code == ErrorCode::Disconnected) gone_.store(true);
            report.state = DeviceState::Error;
            report.detail = "cannot read the device's identity: " + identity.error().detail;
            return report;
        }
        auto signer = std::make_shared<ledger::LedgerSigner>(
            std::make_unique<SharedChannel>(channel_), *identity, model_);
        signer->set_keys(keys_);
        (void)signer->probe(stop);  // its ready() reflects the app from the start
        signer_ = std::move(signer);
        report.identity = *identity;
        return report;
    }

    bool gone() const override {
        return gone_.load() ||
               (signer_ && signer_->state().state == ledger::LedgerState::State::Disconnected);
    }

    std::shared_ptr<core::Signer> signer() override { return signer_; }

    void set_keys(std::vector<core::KeyRef> keys) override {
        if (signer_)
            signer_->set_keys(std::move(keys));
        else
            keys_ = std::move(keys);
    }

  private:
    std::shared_ptr<ledger::ApduChannel> channel_;
    ledger::Model model_;
    std::shared_ptr<ledger::LedgerSigner> signer_;  // set once, on the manager's thread
    std::vector<core::KeyRef> keys_;                // until the signer exists
    std::atomic<bool> gone_{false};
};

ledger::Model model_named(const std::string& name) {
    for (const auto& m : ledger::usb_models()) {
        if (m.name == name) return m.model;
    }
    return ledger::Model::Unknown;
}

}  // namespace

core::Result<std::unique_ptr<Device>> open_ledger(const DeviceCandidate& candidate) {
    constexpr std::string_view kHid = "hid:";
    constexpr std::string_view kSpeculos = "speculos:";
    std::unique_ptr<ledger::ApduChannel> channel;
    ledger::Model model = ledger::Model::Unknown;
    if (candidate.location.rfind(kHid, 0) == 0) {
        auto opened = ledger::open_hid_channel(candidate.location.substr(kHid.size()));
        if (!opened) {
            // The driver says DeviceBusy for both; the list tells them apart.
            if (opened.error().detail.find("permission denied") != std::string::npos)
                return fail(ErrorCode::IoError, opened.error().detail);
            return fail(opened.error());
        }
        channel = std::move(*opened);
        model = model_named(candidate.model);
    } else if (candidate.location.rfind(kSpeculos, 0) == 0) {
        auto endpoint = parse_speculos(candidate.location.substr(kSpeculos.size()));
        if (!endpoint) return fail(endpoint.error());
        auto opened = ledger::open_speculos_channel(endpoint->host, endpoint->port);
        if (!opened) {
            return fail(ErrorCode::DeviceNotFound,
                        "nothing answers at " + candidate.location.substr(kSpeculos.size()) +
                            " (is Speculos running with --apdu-port " +
                            std::to_string(endpoint->port) + "?): " + opened.error().detail);
        }
        channel = std::move(*opened);
        model = ledger::Model::Emulator;
    } else {
        return fail(ErrorCode::NotSupported, "unknown device location " + candidate.location);
    }
    return std::unique_ptr<Device>(std::make_unique<LedgerDevice>(
        std::shared_ptr<ledger::ApduChannel>(std::move(channel)), model));
}

}  // namespace keybridge::daemon::devices
