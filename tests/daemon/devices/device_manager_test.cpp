// The device manager over a fake bus: devices appear, become ready, are attached to the signer
// registry with the vault's accounts that name them, are re-probed only on their lane, and are
// detached when they go.
#include "daemon/devices/device_manager.h"

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/devices/fake_devices.h"

namespace keybridge::daemon::devices {
namespace {

using namespace std::chrono_literals;
using test::FakeBus;
using test::FakeFactory;
using test::TestDeviceSigner;

constexpr std::string_view kPhrase = "test test test test test test test test test test test junk";
constexpr std::string_view kOtherPhrase =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";
constexpr const char* kPath = "m/44'/60'/0'/0/0";

template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout = 3s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

class DeviceManagerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        signer_ = std::make_shared<TestDeviceSigner>("ledger:aaaa0001", kPhrase, kPath,
                                                     /*auto_release=*/true);
        registry_.set_accounts({{{signer_->address(), kPath}, signer_->id()}});
    }
    std::unique_ptr<DeviceManager> make(DeviceManager::Settings settings = fast()) {
        return std::make_unique<DeviceManager>(std::make_unique<FakeFactory>(bus_), registry_,
                                               settings);
    }
    static DeviceManager::Settings fast() {
        DeviceManager::Settings s;
        s.poll = 20ms;
        s.refresh_every = 1000;  // tests that want re-probes say so
        s.retry_open = 0ms;
        return s;
    }
    const DeviceManager::Listed* find(const std::vector<DeviceManager::Listed>& list,
                                      const std::string& location) {
        for (const auto& l : list) {
            if (l.candidate.location == location) return &l;
        }
        return nullptr;
    }

    std::shared_ptr<FakeBus> bus_ = std::make_shared<FakeBus>();
    signers::SignerRegistry registry_{std::make_shared<drivers::software::SoftwareSigner>(), false};
    std::shared_ptr<TestDeviceSigner> signer_;
};

TEST_F(DeviceManagerTest, AttachesAReadyDeviceWithTheVaultAccountsThatNameIt) {
    auto device = bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    auto manager = make();
    EXPECT_FALSE(registry_.check(signer_->address()));
    manager->poll_once();
    EXPECT_TRUE(registry_.attached("ledger:aaaa0001"));
    ASSERT_TRUE(registry_.check(signer_->address()));
    ASSERT_EQ(device->key_updates(), 1u);
    EXPECT_EQ(device->last_keys(), (std::vector<core::KeyRef>{{signer_->address(), kPath}}));
    const auto list = manager->list();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].candidate.model, "Nano S Plus");
    EXPECT_EQ(list[0].report.state, DeviceState::Ready);
    EXPECT_EQ(list[0].report.identity, "ledger:aaaa0001");
    EXPECT_EQ(list[0].report.app, "Ethereum");
    EXPECT_TRUE(list[0].attached);
    EXPECT_EQ(list[0].accounts, 1u);
}

TEST_F(DeviceManagerTest, ADeviceOnItsDashboardIsListedAndAttachedOnceTheAppOpens) {
    auto device = bus_->plug("hid:/dev/hidraw3", "Nano X", signer_, DeviceState::Dashboard);
    auto manager = make();
    manager->poll_once();
    EXPECT_FALSE(registry_.attached("ledger:aaaa0001"));
    EXPECT_EQ(manager->list().at(0).report.state, DeviceState::Dashboard);
    EXPECT_FALSE(manager->list().at(0).attached);
    auto missing = registry_.check(signer_->address());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::ErrorCode::DeviceNotFound);

    device->set(DeviceState::Ready);
    manager->poll_once();
    EXPECT_TRUE(registry_.attached("ledger:aaaa0001"));
    EXPECT_EQ(manager->list().at(0).report.state, DeviceState::Ready);
}

TEST_F(DeviceManagerTest, UnpluggingDetachesAndRequestsThenNameTheDeviceToConnect) {
    bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    auto manager = make();
    manager->poll_once();
    ASSERT_TRUE(registry_.attached("ledger:aaaa0001"));
    bus_->unplug("hid:/dev/hidraw3");
    manager->poll_once();
    EXPECT_FALSE(registry_.attached("ledger:aaaa0001"));
    EXPECT_TRUE(manager->list().empty());
    auto missing = registry_.check(signer_->address());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::ErrorCode::DeviceNotFound);
    EXPECT_NE(missing.error().detail.find("connect your Ledger (ledger:aaaa0001)"),
              std::string::npos)
        << missing.error().detail;
}

TEST_F(DeviceManagerTest, ALostConnectionDetachesAndTheDeviceIsOpenedAgain) {
    auto device = bus_->plug("speculos:127.0.0.1:9999", "Speculos", signer_);
    auto manager = make();
    manager->poll_once();
    ASSERT_TRUE(registry_.attached("ledger:aaaa0001"));
    EXPECT_EQ(bus_->opens(), 1);
    {
        std::lock_guard lock(device->mutex);
        device->gone = true;
    }
    manager->poll_once();
    EXPECT_FALSE(registry_.attached("ledger:aaaa0001"));
    EXPECT_EQ(manager->list().at(0).report.state, DeviceState::Unreachable);
    {
        std::lock_guard lock(device->mutex);
        device->gone = false;
    }
    manager->poll_once();
    EXPECT_EQ(bus_->opens(), 2);
    EXPECT_TRUE(registry_.attached("ledger:aaaa0001"));
}

TEST_F(DeviceManagerTest, AFailedOpenIsListedWithItsReasonAndTriedAgain) {
    bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    bus_->fail_open("hid:/dev/hidraw3",
                    core::Error{core::ErrorCode::IoError, "permission denied: /dev/hidraw3"});
    auto manager = make();
    manager->poll_once();
    auto listed = manager->list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].report.state, DeviceState::NoAccess);
    EXPECT_EQ(listed[0].report.detail, "permission denied: /dev/hidraw3");
    bus_->fail_open("hid:/dev/hidraw3", core::Error{core::ErrorCode::DeviceBusy, "held"});
    manager->poll_once();
    EXPECT_EQ(manager->list().at(0).report.state, DeviceState::Busy);
    bus_->fail_open("hid:/dev/hidraw3", std::nullopt);
    manager->poll_once();
    EXPECT_TRUE(registry_.attached("ledger:aaaa0001"));
}

TEST_F(DeviceManagerTest, AnAttachedDeviceIsProbedOnlyOnItsLaneNeverBesideASignature) {
    auto device = bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    auto settings = fast();
    settings.refresh_every = 1;
    auto manager = make(settings);
    manager->poll_once();
    ASSERT_TRUE(registry_.attached("ledger:aaaa0001"));
    const int after_attach = device->probe_count();
    // A signature holds the lane (waiting for the button).
    std::promise<void> button;
    std::promise<void> started;
    auto lane = registry_.lane("ledger:aaaa0001");
    ASSERT_TRUE(lane);
    lane->run({}, [&](std::stop_token) {
        started.set_value();
        button.get_future().wait();
    });
    started.get_future().wait();
    for (int i = 0; i < 5; ++i)
        manager->poll_once();
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(device->probe_count(), after_attach) << "probed while the lane was busy";
    button.set_value();
    EXPECT_TRUE(eventually([&] { return device->probe_count() > after_attach; }));
    // What the re-probe found shows at the next poll: the device was locked meanwhile.
    device->set(DeviceState::Locked, "unlock it with its PIN");
    const int before = device->probe_count();
    EXPECT_TRUE(eventually([&] {
        manager->poll_once();
        return device->probe_count() > before &&
               manager->list().at(0).report.state == DeviceState::Locked;
    }));
    EXPECT_TRUE(manager->list().at(0).attached);  // still there; its signer says what is wrong
}

TEST_F(DeviceManagerTest, TheSignerLearnsAccountsAddedToTheVault) {
    auto device = bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    auto manager = make();
    manager->poll_once();
    ASSERT_EQ(device->key_updates(), 1u);
    manager->poll_once();
    EXPECT_EQ(device->key_updates(), 1u);  // unchanged: not pushed again
    const core::Address second =
        *core::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    registry_.set_accounts({{{signer_->address(), kPath}, signer_->id()},
                            {{second, "m/44'/60'/0'/0/1"}, signer_->id()}});
    manager->poll_once();
    EXPECT_TRUE(eventually([&] { return device->key_updates() == 2u; }));
    EXPECT_EQ(device->last_keys().size(), 2u);
    EXPECT_EQ(manager->list().at(0).accounts, 2u);
}

TEST_F(DeviceManagerTest, ChoosesTheOnlyReadyDeviceOrTheNamedOneAndSaysWhyNot) {
    auto manager = make();
    auto none = manager->choose("");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, core::ErrorCode::DeviceNotFound);
    EXPECT_NE(none.error().detail.find("open its Ethereum app"), std::string::npos);

    auto device = bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_, DeviceState::Locked);
    manager->poll_once();
    auto locked = manager->choose("");
    ASSERT_FALSE(locked);
    EXPECT_NE(locked.error().detail.find("Nano S Plus (hid:/dev/hidraw3): locked"),
              std::string::npos)
        << locked.error().detail;

    device->set(DeviceState::Ready);
    manager->poll_once();
    EXPECT_EQ(manager->choose("").value_or(""), "ledger:aaaa0001");
    EXPECT_EQ(manager->choose("ledger:aaaa0001").value_or(""), "ledger:aaaa0001");
    auto other = manager->choose("ledger:bbbb0002");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, core::ErrorCode::DeviceNotFound);

    auto second = std::make_shared<TestDeviceSigner>("ledger:bbbb0002", kOtherPhrase, kPath, true);
    bus_->plug("speculos:127.0.0.1:9999", "Speculos", second);
    manager->poll_once();
    auto two = manager->choose("");
    ASSERT_FALSE(two);
    EXPECT_EQ(two.error().code, core::ErrorCode::InvalidArgument);
    EXPECT_NE(two.error().detail.find("--device"), std::string::npos);
    EXPECT_EQ(manager->choose("ledger:bbbb0002").value_or(""), "ledger:bbbb0002");
}

TEST_F(DeviceManagerTest, ASecondDeviceWithTheSameSeedWaits) {
    bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    auto twin = std::make_shared<TestDeviceSigner>("ledger:aaaa0001", kPhrase, kPath, true);
    bus_->plug("hid:/dev/hidraw5", "Nano X", twin);
    auto manager = make();
    manager->poll_once();
    const auto list = manager->list();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_TRUE(list[0].attached);
    EXPECT_FALSE(list[1].attached);
    EXPECT_NE(list[1].report.detail.find("same seed"), std::string::npos);
    EXPECT_EQ(registry_.signer("ledger:aaaa0001"), signer_);
}

TEST_F(DeviceManagerTest, ItsThreadPollsByItselfAndStopDetaches) {
    auto manager = make();
    manager->start();
    bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    EXPECT_TRUE(eventually([&] { return registry_.attached("ledger:aaaa0001"); }));
    bus_->unplug("hid:/dev/hidraw3");
    EXPECT_TRUE(eventually([&] { return !registry_.attached("ledger:aaaa0001"); }));
    bus_->plug("hid:/dev/hidraw3", "Nano S Plus", signer_);
    EXPECT_TRUE(eventually([&] { return registry_.attached("ledger:aaaa0001"); }));
    manager->stop();
    EXPECT_FALSE(registry_.attached("ledger:aaaa0001"));
}

}  // namespace
}  // namespace keybridge::daemon::devices
