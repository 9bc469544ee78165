#pragma once

// A DeviceFactory whose devices the test plugs in, unplugs and scripts (state, app, identity),
// each holding a TestDeviceSigner: the device manager and the daemon run on it as on hardware.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/devices/device.h"
#include "tests/drivers/test_device_signer.h"

namespace keybridge::test {

// What one fake device answers; shared by the test and the device object.
struct FakeDeviceState {
    mutable std::mutex mutex;
    daemon::devices::DeviceReport report;
    bool gone = false;
    int probes = 0;
    std::vector<std::vector<core::KeyRef>> keys_set;  // every set_keys call
    std::shared_ptr<TestDeviceSigner> signer;

    void set(daemon::devices::DeviceState state, std::string detail = {}) {
        std::lock_guard lock(mutex);
        report.state = state;
        report.detail = std::move(detail);
        // The identity is known once the Ethereum app answered.
        report.identity =
            state == daemon::devices::DeviceState::Ready && signer ? signer->id() : "";
        report.app = state == daemon::devices::DeviceState::Ready       ? "Ethereum"
                     : state == daemon::devices::DeviceState::Dashboard ? "BOLOS"
                                                                        : "";
        report.app_version = state == daemon::devices::DeviceState::Ready ? "1.10.4" : "";
    }
    int probe_count() const {
        std::lock_guard lock(mutex);
        return probes;
    }
    std::size_t key_updates() const {
        std::lock_guard lock(mutex);
        return keys_set.size();
    }
    std::vector<core::KeyRef> last_keys() const {
        std::lock_guard lock(mutex);
        return keys_set.empty() ? std::vector<core::KeyRef>{} : keys_set.back();
    }
};

class FakeDevice final : public daemon::devices::Device {
  public:
    explicit FakeDevice(std::shared_ptr<FakeDeviceState> state) : state_(std::move(state)) {}
    daemon::devices::DeviceReport probe(std::stop_token) override {
        std::lock_guard lock(state_->mutex);
        ++state_->probes;
        if (state_->gone) {
            daemon::devices::DeviceReport lost;
            lost.state = daemon::devices::DeviceState::Unreachable;
            lost.detail = "the device stopped answering";
            return lost;
        }
        return state_->report;
    }
    bool gone() const override {
        std::lock_guard lock(state_->mutex);
        return state_->gone;
    }
    std::shared_ptr<core::Signer> signer() override {
        std::lock_guard lock(state_->mutex);
        return state_->signer;
    }
    void set_keys(std::vector<core::KeyRef> keys) override {
        std::lock_guard lock(state_->mutex);
        state_->keys_set.push_back(std::move(keys));
    }

  private:
    std::shared_ptr<FakeDeviceState> state_;
};

// The plugs: what enumerate() lists and what open() gives, changed by the test at any time.
class FakeBus {
  public:
    std::shared_ptr<FakeDeviceState> plug(
        const std::string& location, const std::string& model,
        std::shared_ptr<TestDeviceSigner> signer,
        daemon::devices::DeviceState state = daemon::devices::DeviceState::Ready) {
        auto device = std::make_shared<FakeDeviceState>();
        device->signer = std::move(signer);
        device->set(state);
        std::lock_guard lock(mutex_);
        plugged_[location] = {
            daemon::devices::DeviceCandidate{location, "usb", model, core::SignerFamily::Ledger},
            device};
        return device;
    }
    void unplug(const std::string& location) {
        std::lock_guard lock(mutex_);
        plugged_.erase(location);
    }
    // open() of this location fails with `error` (until cleared with nullopt).
    void fail_open(const std::string& location, std::optional<core::Error> error) {
        std::lock_guard lock(mutex_);
        if (error)
            open_errors_[location] = *error;
        else
            open_errors_.erase(location);
    }
    int opens() const {
        std::lock_guard lock(mutex_);
        return opens_;
    }

    std::vector<daemon::devices::DeviceCandidate> enumerate() {
        std::lock_guard lock(mutex_);
        std::vector<daemon::devices::DeviceCandidate> out;
        for (const auto& [location, p] : plugged_)
            out.push_back(p.candidate);
        return out;
    }
    core::Result<std::unique_ptr<daemon::devices::Device>> open(
        const daemon::devices::DeviceCandidate& c) {
        std::lock_guard lock(mutex_);
        ++opens_;
        if (auto e = open_errors_.find(c.location); e != open_errors_.end())
            return core::fail(e->second);
        auto it = plugged_.find(c.location);
        if (it == plugged_.end()) return core::fail(core::ErrorCode::DeviceNotFound, "unplugged");
        return std::unique_ptr<daemon::devices::Device>(
            std::make_unique<FakeDevice>(it->second.state));
    }

  private:
    struct Plugged {
        daemon::devices::DeviceCandidate candidate;
        std::shared_ptr<FakeDeviceState> state;
    };
    mutable std::mutex mutex_;
    std::map<std::string, Plugged> plugged_;
    std::map<std::string, core::Error> open_errors_;
    int opens_ = 0;
};

class FakeFactory final : public daemon::devices::DeviceFactory {
  public:
    explicit FakeFactory(std::shared_ptr<FakeBus> bus) : bus_(std::move(bus)) {}
    std::vector<daemon::devices::DeviceCandidate> enumerate() override { return bus_->enumerate(); }
    core::Result<std::unique_ptr<daemon::devices::Device>> open(
        const daemon::devices::DeviceCandidate& c) override {
        return bus_->open(c);
    }

  private:
    std::shared_ptr<FakeBus> bus_;
};

}  // namespace keybridge::test
