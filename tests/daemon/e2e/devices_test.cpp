// The device layer end to end: keybridged runs in this process with a fake bus of devices (each
// holding a test device signer) in place of USB and Speculos, and is used over its real sockets
// and through the real keybridge tool: keybridge_devices / `keybridge devices`,
// `keybridge account add --ledger`, signing with the added account ("on device", confirmed on
// the device), a request whose device is unplugged (refused, naming the device; approvers are
// told), `keybridge doctor`.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "core/eip191.h"
#include "daemon/options.h"
#include "daemon/server.h"
#include "store/vault/vault.h"
#include "tests/daemon/devices/fake_devices.h"
#include "tests/daemon/e2e/client.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using daemon::devices::DeviceState;

constexpr std::string_view kDevicePhrase =
    "test test test test test test test test test test test junk";
constexpr const char* kDevicePath = "m/44'/60'/0'/0/0";  // index 0 in both path styles
constexpr const char* kDeviceId = "ledger:f39fd6e5";
constexpr const char* kLocation = "hid:/dev/hidraw7";

template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

// A program that keeps running (keybridge approve --json): its stdin stays open, its stdout is
// read line by line.
class Running {
  public:
    explicit Running(const std::vector<std::string>& argv) {
        int in[2], out[2];
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
        // Built before fork: the child of a threaded process may only exec.
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        input_ = in[1];
        output_ = out[0];
    }
    ~Running() {
        if (input_ >= 0) ::close(input_);  // the end of its input ends it
        if (pid_ > 0) {
            int status = 0;
            for (int i = 0; i < 500 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
                std::this_thread::sleep_for(10ms);
            if (::waitpid(pid_, &status, WNOHANG) == 0) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
            }
        }
        if (output_ >= 0) ::close(output_);
    }
    // The next line of its output, or nullopt when none comes in time.
    std::optional<std::string> line(std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (true) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string out = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return out;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{output_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[4096];
            const ssize_t n = ::read(output_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

  private:
    pid_t pid_ = -1;
    int input_ = -1;
    int output_ = -1;
    std::string buffer_;
};

class Devices : public DaemonTest {
  protected:
    void SetUp() override {
        DaemonTest::SetUp();
        device_ = std::make_shared<TestDeviceSigner>(kDeviceId, kDevicePhrase, kDevicePath,
                                                     /*auto_release=*/false);
        auto parsed = daemon::parse_command_line(base_args());
        ASSERT_TRUE(parsed) << parsed.error().detail;
        server_ = std::make_unique<daemon::Server>(std::move(parsed->config));
        daemon::devices::DeviceManager::Settings settings;
        settings.poll = 20ms;
        server_->set_device_factory(std::make_unique<FakeFactory>(bus_), settings);
        auto started = server_->start();
        ASSERT_TRUE(started) << started.error().detail;
        thread_ = std::thread([this] { server_->run(); });
        port_ = server_->ports().at(0);
        token_ = read_cookie();
        ASSERT_TRUE(eventually([&] {
            return rpc(local_caller()).result("keybridge_status").at("unlocked") ==
                   json::value(true);
        }));
    }
    void TearDown() override {
        if (server_) {
            server_->stop();
            if (thread_.joinable()) thread_.join();
            server_.reset();
        }
    }

    RpcClient rpc(Caller caller) const { return RpcClient(port_, std::move(caller), 15s); }
    Caller page_caller() const { return Caller{"", kPageOrigin, false}; }
    std::string run_tool(std::vector<std::string> args, int expected = 0) {
        std::vector<std::string> argv{KEYBRIDGE_CLI_PATH, "--datadir", datadir_};
        argv.insert(argv.end(), args.begin(), args.end());
        std::string output;
        EXPECT_EQ(run_program(argv, &output), expected) << output;
        return output;
    }
    json::array devices() { return rpc(local_caller()).result("keybridge_devices").as_array(); }
    // The daemon (in this process, not daemon_) knows `count` accounts.
    bool has_accounts(std::size_t count) {
        return eventually([&] {
            return rpc(local_caller()).result("keybridge_status").at("accounts") ==
                   json::value(count);
        });
    }
    bool attached() { return server_->signers().attached(kDeviceId); }
    // Attached, and the device list says so: the manager attaches the signer first and updates
    // the entry it lists when that poll step ends, so a test that reads the list (or the
    // doctor's report of it) waits for both.
    bool attached_and_listed() {
        if (!attached()) return false;
        const json::array listed = devices();
        return listed.size() == 1 && listed[0].at("attached") == json::value(true);
    }

    std::shared_ptr<FakeBus> bus_ = std::make_shared<FakeBus>();
    std::shared_ptr<TestDeviceSigner> device_;
    std::unique_ptr<daemon::Server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

TEST_F(Devices, ListedOverRpcAndByTheToolWithModelAppVersionAndState) {
    EXPECT_TRUE(devices().empty());
    auto state = bus_->plug(kLocation, "Nano S Plus", device_, DeviceState::Dashboard);
    ASSERT_TRUE(eventually([&] { return devices().size() == 1; }));
    ASSERT_TRUE(eventually([&] { return devices()[0].at("state") == json::value("dashboard"); }));
    EXPECT_EQ(devices()[0].at("id"), json::value(nullptr));
    std::string text = run_tool({"devices"});
    EXPECT_NE(text.find("Ledger Nano S Plus  usb  hid:/dev/hidraw7  dashboard"), std::string::npos)
        << text;

    state->set(DeviceState::Ready);
    ASSERT_TRUE(eventually([&] { return attached_and_listed(); }));
    const json::object d = devices()[0].as_object();
    EXPECT_EQ(d.at("id"), json::value(kDeviceId));
    EXPECT_EQ(d.at("model"), json::value("Nano S Plus"));
    EXPECT_EQ(d.at("transport"), json::value("usb"));
    EXPECT_EQ(d.at("state"), json::value("ready"));
    EXPECT_EQ(d.at("app"), json::value("Ethereum"));
    EXPECT_EQ(d.at("appVersion"), json::value("1.10.4"));
    EXPECT_EQ(d.at("attached"), json::value(true));
    EXPECT_EQ(d.at("accounts"), json::value(0));
    const json::value listed = json::parse(run_tool({"devices", "--json"}));
    EXPECT_EQ(listed.at("devices").at(0).at("id"), json::value(kDeviceId));
    // Pages never see the device list; the approver's socket and the token do.
    EXPECT_EQ(rpc(page_caller()).error_code("keybridge_devices"), 4100);
    EXPECT_TRUE(control().result("keybridge_devices").is_array());

    bus_->unplug(kLocation);
    EXPECT_TRUE(eventually([&] { return devices().empty() && !attached(); }));
}

TEST_F(Devices, AccountAddLedgerRecordsTheDevicesAddressAndSigningConfirmsOnTheDevice) {
    bus_->plug(kLocation, "Nano S Plus", device_);
    ASSERT_TRUE(eventually([&] { return attached(); }));
    // The address request is the approver's (control socket), never a page's or a script's.
    EXPECT_EQ(rpc(local_caller()).error_code("keybridge_deviceAddress", json::array{kDevicePath}),
              4100);
    // A path the device does not serve: its error, and nothing recorded.
    std::string refused = run_tool({"account", "add", "--ledger", "--index", "3", "--bip44"}, 6);
    EXPECT_NE(refused.find("one path only"), std::string::npos) << refused;
    // Usage errors before any device is asked.
    run_tool({"account", "add", "--ledger"}, 2);
    run_tool({"account", "add", "--ledger", "--index", "0", "--path", kDevicePath}, 2);
    run_tool({"account", "add", "--ledger", "--index", "0", "--bip44", "--ledger-live"}, 2);
    run_tool({"account", "add", "--index", "0"}, 2);

    const std::string added =
        run_tool({"account", "add", "--ledger", "--index", "0", "--name", "cold"});
    EXPECT_NE(added.find(device_->address().to_checksum_string()), std::string::npos) << added;
    EXPECT_NE(added.find(kDeviceId), std::string::npos) << added;
    auto vault = vault::Vault::open(datadir_);
    ASSERT_TRUE(vault);
    const vault::Account* account = vault->find(device_->address());
    ASSERT_NE(account, nullptr);
    EXPECT_EQ(account->source, vault::AccountSource::Hardware);
    EXPECT_EQ(account->device, kDeviceId);
    EXPECT_EQ(account->path, kDevicePath);
    EXPECT_EQ(account->name, "cold");
    ASSERT_TRUE(has_accounts(2));
    EXPECT_TRUE(eventually([&] { return devices()[0].at("accounts") == json::value(1); }));

    // A page connects to both accounts and signs with the device's: the approval moves to
    // "on device" with the device's words, and the signature comes once its button is pressed.
    {
        Approver approver(control_path(), approve_sharing_all());
        rpc(page_caller()).result("eth_requestAccounts");
    }
    Approver approver(control_path(), approve_sharing_all());
    const std::string text = "signed on the device";
    auto answer = std::async(std::launch::async, [&] {
        return rpc(page_caller())
            .call("personal_sign", json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                               json::string(device_->address().to_lower_string())});
    });
    ASSERT_TRUE(eventually([&] { return device_->started() == 1; }));
    const json::array now = control().result("keybridge_pendingApprovals").as_array();
    ASSERT_EQ(now.size(), 1u) << now;
    EXPECT_EQ(now[0].at("stage"), json::value("on-device"));
    EXPECT_EQ(now[0].at("note"), json::value("Confirm on your test device"));
    device_->release();
    const json::value signed_answer = answer.get();
    ASSERT_TRUE(signed_answer.as_object().contains("result")) << signed_answer;
    auto sig = core::hex_decode(signed_answer.at("result").as_string(), core::HexPrefix::Required);
    ASSERT_TRUE(sig);
    auto signer = core::recover_personal_signer(core::as_bytes(text), *sig);
    ASSERT_TRUE(signer);
    EXPECT_EQ(*signer, device_->address());
}

TEST_F(Devices, ARequestForAnUnpluggedDeviceNamesItAndApproversAreTold) {
    auto vault = vault::Vault::open(datadir_);
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->add_hardware_account(device_->address(), kDeviceId, kDevicePath));
    ASSERT_TRUE(has_accounts(2));
    {
        Approver approver(control_path(), approve_sharing_all());
        rpc(page_caller()).result("eth_requestAccounts");
    }
    ControlConnection watcher(control_path());
    ASSERT_TRUE(watcher.connected());
    ASSERT_TRUE(watcher.call("eth_subscribe", json::array{"keybridge_approvals"})
                    .as_object()
                    .contains("result"));

    const json::value refused =
        rpc(page_caller())
            .call("personal_sign",
                  json::array{"0x6869", json::string(device_->address().to_lower_string())});
    ASSERT_TRUE(refused.as_object().contains("error")) << refused;
    EXPECT_EQ(refused.at("error").at("code"), json::value(4900));
    const std::string message(refused.at("error").at("message").as_string());
    EXPECT_NE(message.find(std::string("connect your Ledger (") + kDeviceId + ")"),
              std::string::npos)
        << message;

    json::value event;
    for (int i = 0; i < 10; ++i) {
        json::value n = watcher.next_notification(5s);
        if (n.is_null()) break;
        const json::value& result = n.at("params").at("result");
        if (result.at("type") == json::value("unavailable")) {
            event = result;
            break;
        }
    }
    ASSERT_FALSE(event.is_null()) << "no unavailable event";
    EXPECT_EQ(event.at("message"), json::value(message));
    EXPECT_EQ(event.at("request").at("method"), json::value("personal_sign"));
    EXPECT_EQ(event.at("request").at("origin"), json::value(kPageOrigin));
    EXPECT_EQ(event.at("request").at("account"),
              json::value(device_->address().to_checksum_string()));

    // keybridge approve shows it to the person who can plug the device in.
    {
        Running approve({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "approve", "--json"});
        std::optional<std::string> shown;
        for (int i = 0; i < 100 && !shown; ++i) {  // until the approver has subscribed
            rpc(page_caller())
                .call("personal_sign",
                      json::array{"0x6869", json::string(device_->address().to_lower_string())});
            shown = approve.line(200ms);
        }
        ASSERT_TRUE(shown) << "keybridge approve printed nothing";
        const json::value printed = json::parse(*shown);
        EXPECT_EQ(printed.at("event"), json::value("unavailable")) << *shown;
        EXPECT_EQ(printed.at("message"), json::value(message));
        EXPECT_EQ(printed.at("request").at("method"), json::value("personal_sign"));
    }

    // Plugged in (and ready): the same request goes to the device.
    bus_->plug(kLocation, "Nano S Plus", device_);
    ASSERT_TRUE(eventually([&] { return attached(); }));
    Approver approver(control_path(), approve_sharing_all());
    auto answer = std::async(std::launch::async, [&] {
        return rpc(page_caller())
            .call("personal_sign",
                  json::array{"0x6869", json::string(device_->address().to_lower_string())});
    });
    ASSERT_TRUE(eventually([&] { return device_->started() == 1; }));
    device_->release();
    EXPECT_TRUE(answer.get().as_object().contains("result"));
}

TEST_F(Devices, DoctorReportsWhatKeybridgedSeesOnTheDevices) {
    auto state = bus_->plug(kLocation, "Nano X", device_, DeviceState::Locked);
    ASSERT_TRUE(eventually([&] {
        return devices().size() == 1 && devices()[0].at("state") == json::value("locked");
    }));
    std::string text = run_tool({"doctor"});
    EXPECT_NE(text.find("[problem] Ledger Nano X (hid:/dev/hidraw7): locked"), std::string::npos)
        << text;
    EXPECT_NE(text.find("fix: unlock the Ledger with its PIN"), std::string::npos) << text;
    state->set(DeviceState::Ready);
    ASSERT_TRUE(eventually([&] { return attached_and_listed(); }));
    const json::value report = json::parse(run_tool({"doctor", "--json"}));
    EXPECT_EQ(report.at("daemonRunning"), json::value(true));
    bool hint = false;
    for (const auto& f : report.at("findings").as_array())
        hint |= f.at("fix") == json::value("keybridge account add --ledger --index 0");
    EXPECT_TRUE(hint) << report;
}

}  // namespace
}  // namespace keybridge::test::e2e
