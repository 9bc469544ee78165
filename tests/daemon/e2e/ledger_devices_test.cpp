// keybridged with the real Ledger driver behind its device manager: the project's simulator of
// the Ethereum app serves the Speculos APDU port in this process, keybridged (also in process,
// used over its sockets and through the keybridge tool) is started with --speculos on it. The
// device is found, listed, asked for an address (`keybridge account add --ledger`), signs after
// the approval, rejects on the device (4001), and when the emulator goes away it is detached and
// requests name the device to connect.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "daemon/options.h"
#include "daemon/server.h"
#include "store/vault/vault.h"
#include "tests/daemon/e2e/client.h"
#include "tests/daemon/e2e/daemon_process.h"
#include "tests/tools/ledger_sim/eth_app.h"
#include "tests/tools/ledger_sim/transports.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
namespace sim = keybridge::tests::ledger_sim;
using namespace std::chrono_literals;

template <typename F>
bool ledger_eventually(F condition, std::chrono::milliseconds timeout = 15s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

core::Address address_of(std::string_view phrase, const std::string& path) {
    auto seed = core::bip39::seed_from_mnemonic(phrase, "");
    auto key = core::bip32::ethereum_private_key(seed->view(), path);
    return core::PublicKey::from_private(*key).address();
}

class LedgerDevices : public DaemonTest {
  protected:
    void SetUp() override {
        DaemonTest::SetUp();
        auto app = sim::EthApp::from_mnemonic(sim::kSpeculosDefaultPhrase, "", user_);
        ASSERT_TRUE(app) << app.error().detail;
        app_ = std::move(*app);
        auto sim_server = sim::ApduTcpServer::start(*app_, user_, 0);
        ASSERT_TRUE(sim_server) << sim_server.error().detail;
        sim_ = std::move(*sim_server);
        endpoint_ = "127.0.0.1:" + std::to_string(sim_->port());

        auto args = base_args();
        args.insert(args.end(), {"--speculos", endpoint_, "--usb", "off"});
        auto parsed = daemon::parse_command_line(args);
        ASSERT_TRUE(parsed) << parsed.error().detail;
        server_ = std::make_unique<daemon::Server>(std::move(parsed->config));
        daemon::devices::DeviceManager::Settings settings;
        settings.poll = 50ms;
        settings.retry_open = 100ms;
        server_->set_device_factory(nullptr, settings);  // the system's: --speculos
        auto started = server_->start();
        ASSERT_TRUE(started) << started.error().detail;
        thread_ = std::thread([this] { server_->run(); });
        port_ = server_->ports().at(0);
        token_ = read_cookie();
        address_ = address_of(sim::kSpeculosDefaultPhrase, "m/44'/60'/0'/0/0");
        identity_ = "ledger:" + address_.to_lower_string().substr(2, 8);
        ASSERT_TRUE(ledger_eventually([&] { return server_->signers().attached(identity_); }))
            << json::serialize(devices());
    }
    void TearDown() override {
        if (server_) {
            server_->stop();
            if (thread_.joinable()) thread_.join();
            server_.reset();
        }
        sim_.reset();
    }

    RpcClient rpc(Caller caller) const { return RpcClient(port_, std::move(caller), 30s); }
    Caller page_caller() const { return Caller{"", kPageOrigin, false}; }
    json::array devices() const {
        return rpc(local_caller()).result("keybridge_devices").as_array();
    }
    std::string run_tool(std::vector<std::string> args, int expected = 0) {
        std::vector<std::string> argv{KEYBRIDGE_CLI_PATH, "--datadir", datadir_};
        argv.insert(argv.end(), args.begin(), args.end());
        std::string output;
        EXPECT_EQ(run_program(argv, &output), expected) << output;
        return output;
    }
    json::value page_sign(const std::string& text) const {
        return rpc(page_caller())
            .call("personal_sign", json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                               json::string(address_.to_lower_string())});
    }
    // The device's account in the vault (through the tool, as a user would) and granted to
    // the page.
    void add_and_connect() {
        const std::string added = run_tool({"account", "add", "--ledger", "--index", "0"});
        ASSERT_NE(added.find(address_.to_checksum_string()), std::string::npos) << added;
        ASSERT_TRUE(ledger_eventually([&] {
            return rpc(local_caller()).result("keybridge_status").at("accounts") == json::value(2);
        }));
        Approver approver(control_path(), approve_sharing_all());
        rpc(page_caller()).result("eth_requestAccounts");
    }

    sim::User user_;
    std::unique_ptr<sim::EthApp> app_;
    std::unique_ptr<sim::ApduTcpServer> sim_;
    std::string endpoint_;
    std::unique_ptr<daemon::Server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    core::Address address_;
    std::string identity_;
};

TEST_F(LedgerDevices, TheEmulatorIsListedWithItsAppAndIdentity) {
    const json::array list = devices();
    ASSERT_EQ(list.size(), 1u) << list;
    const json::object& d = list[0].as_object();
    EXPECT_EQ(d.at("id"), json::value(identity_));
    EXPECT_EQ(d.at("transport"), json::value("speculos"));
    EXPECT_EQ(d.at("location"), json::value("speculos:" + endpoint_));
    EXPECT_EQ(d.at("state"), json::value("ready"));
    EXPECT_EQ(d.at("app"), json::value("Ethereum"));
    EXPECT_EQ(d.at("appVersion"), json::value("1.13.0"));
    EXPECT_EQ(d.at("blindSigning"), json::value(false));
    EXPECT_EQ(d.at("attached"), json::value(true));
    // The doctor says blind signing is off, with where to turn it on.
    const std::string doctor = run_tool({"doctor"});
    EXPECT_NE(doctor.find("blind signing is off"), std::string::npos) << doctor;
}

TEST_F(LedgerDevices, AnAccountAddedFromTheDeviceSignsThereAndARejectionOnTheDeviceIs4001) {
    add_and_connect();
    auto vault = vault::Vault::open(datadir_);
    ASSERT_TRUE(vault);
    const vault::Account* account = vault->find(address_);
    ASSERT_NE(account, nullptr);
    EXPECT_EQ(account->device, identity_);
    EXPECT_EQ(account->path, "m/44'/60'/0'/0/0");

    Approver approver(control_path(), approve_sharing_all());
    const std::string text = "signed on the simulated Ledger";
    const json::value answer = page_sign(text);
    ASSERT_TRUE(answer.as_object().contains("result")) << answer;
    auto sig = core::hex_decode(answer.at("result").as_string(), core::HexPrefix::Required);
    ASSERT_TRUE(sig);
    auto signer = core::recover_personal_signer(core::as_bytes(text), *sig);
    ASSERT_TRUE(signer);
    EXPECT_EQ(*signer, address_);

    // The approval follows the request onto the device: "on-device", with what to confirm
    // there, until the person presses.
    user_.set_mode(sim::UserMode::Hold);
    auto held = std::async(std::launch::async, [&] { return page_sign("held on the device"); });
    json::array now;
    ASSERT_TRUE(ledger_eventually([&] {
        now = control().result("keybridge_pendingApprovals").as_array();
        return now.size() == 1 && now[0].at("stage") == json::value("on-device");
    })) << now;
    EXPECT_NE(std::string(now[0].at("note").as_string()).find("Ledger"), std::string::npos) << now;
    user_.press(sim::UserAnswer::Approve);
    EXPECT_TRUE(held.get().as_object().contains("result"));

    user_.set_mode(sim::UserMode::Reject);
    const json::value rejected = page_sign("no");
    ASSERT_TRUE(rejected.as_object().contains("error")) << rejected;
    EXPECT_EQ(rejected.at("error").at("code"), json::value(4001));
}

TEST_F(LedgerDevices, WhenTheEmulatorGoesAwayTheDeviceIsDetachedAndRequestsNameIt) {
    add_and_connect();
    sim_.reset();  // the emulator stops
    ASSERT_TRUE(ledger_eventually([&] { return !server_->signers().attached(identity_); }))
        << json::serialize(devices());
    EXPECT_TRUE(ledger_eventually([&] {
        const json::array list = devices();
        return list.size() == 1 && list[0].at("state") == json::value("unreachable");
    })) << json::serialize(devices());
    const json::value refused = page_sign("while it is gone");
    ASSERT_TRUE(refused.as_object().contains("error")) << refused;
    EXPECT_EQ(refused.at("error").at("code"), json::value(4900));
    EXPECT_NE(std::string(refused.at("error").at("message").as_string())
                  .find("connect your Ledger (" + identity_ + ")"),
              std::string::npos)
        << refused;
}

}  // namespace
}  // namespace keybridge::test::e2e
