// The signing pipeline with a device that waits for its button: keybridged runs in this process
// (so a test signer can be attached where device watchers will attach real ones) and is used
// over real sockets. While the device waits, every other connection is served; a client that
// leaves cancels its job; shutdown stops the device's lane.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core/eip191.h"
#include "daemon/options.h"
#include "daemon/server.h"
#include "store/vault/vault.h"
#include "tests/daemon/e2e/client.h"
#include "tests/daemon/e2e/daemon_process.h"
#include "tests/drivers/test_device_signer.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kLanePhrase =
    "test test test test test test test test test test test junk";
constexpr const char* kLanePath = "m/44'/60'/0'/0/0";
constexpr const char* kLaneDeviceId = "ledger:lane-test";

class SignerLanes : public DaemonTest {
  protected:
    void SetUp() override {
        DaemonTest::SetUp();
        device_ = std::make_shared<TestDeviceSigner>(kLaneDeviceId, kLanePhrase, kLanePath,
                                                     /*auto_release=*/false);
        auto vault = vault::Vault::open(datadir_);
        ASSERT_TRUE(vault);
        auto added = vault->add_hardware_account(device_->address(), kLaneDeviceId, kLanePath);
        ASSERT_TRUE(added) << added.error().detail;

        auto parsed = daemon::parse_command_line(base_args());
        ASSERT_TRUE(parsed) << parsed.error().detail;
        server_ = std::make_unique<daemon::Server>(std::move(parsed->config));
        auto started = server_->start();
        ASSERT_TRUE(started) << started.error().detail;
        server_->signers().attach(device_);
        thread_ = std::thread([this] { server_->run(); });
        port_ = server_->ports().at(0);
        token_ = read_cookie();
        // Wait for the start-up unlock.
        for (int i = 0; i < 500; ++i) {
            if (rpc(local_caller()).result("keybridge_status").at("unlocked") == json::value(true))
                break;
            std::this_thread::sleep_for(10ms);
        }
        // The page sees both accounts (an approver grants them).
        Approver approver(control_path(), approve_all());
        json::value accounts = rpc(page_caller()).result("eth_requestAccounts");
        approver.stop();
        bool has_device = false;
        for (const auto& a : accounts.as_array())
            has_device |= a == json::value(device_->address().to_lower_string());
        ASSERT_TRUE(has_device) << accounts;
    }
    void TearDown() override {
        if (server_) {
            server_->stop();
            if (thread_.joinable()) thread_.join();
            server_.reset();
        }
    }

    // Approves everything; a connect shares every account (the device's too).
    static Approver::Rule approve_all() { return approve_sharing_all(); }
    Caller page_caller() const { return Caller{"", kPageOrigin, false}; }
    Caller local_caller() const { return Caller{token_, "", false}; }
    RpcClient rpc(Caller caller) const { return RpcClient(port_, std::move(caller), 15s); }

    std::string sign_body(const std::string& text, const core::Address& account) const {
        return body("personal_sign",
                    json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                json::string(account.to_lower_string())});
    }
    json::value page_sign(const std::string& text, const core::Address& account) const {
        return rpc(page_caller())
            .call("personal_sign", json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                               json::string(account.to_lower_string())});
    }
    static std::string signer_of(const std::string& text, const json::value& response) {
        if (!response.is_object() || !response.as_object().contains("result")) return "";
        auto sig = core::hex_decode(response.at("result").as_string(), core::HexPrefix::Required);
        auto signer = core::recover_personal_signer(core::as_bytes(text), *sig);
        return signer ? signer->to_checksum_string() : "";
    }
    // Waits until `n` device signatures have started waiting for the button.
    bool wait_started(int n) const {
        for (int i = 0; i < 500; ++i) {
            if (device_->started() >= n) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
    json::array pending() const {
        return control().result("keybridge_pendingApprovals").as_array();
    }

    std::shared_ptr<TestDeviceSigner> device_;
    std::unique_ptr<daemon::Server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

TEST_F(SignerLanes, OthersAreServedWhileTheDeviceWaitsForItsButton) {
    Approver approver(control_path(), approve_all());
    auto device_answer = std::async(std::launch::async,
                                    [&] { return page_sign("on the device", device_->address()); });
    ASSERT_TRUE(wait_started(1));
    // The approver sees the request on the device.
    json::array now = pending();
    ASSERT_EQ(now.size(), 1u) << now;
    EXPECT_EQ(now[0].at("stage"), json::value("on-device"));
    EXPECT_EQ(now[0].at("note"), json::value("Confirm on your test device"));

    // Meanwhile: chain id, and a software signature, each answered at once.
    const auto before = std::chrono::steady_clock::now();
    EXPECT_TRUE(rpc(page_caller()).result("eth_chainId").is_string());
    const core::Address software = *core::Address::parse(kFirstAccount);
    EXPECT_EQ(signer_of("software meanwhile", page_sign("software meanwhile", software)),
              kFirstAccount);
    EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
    EXPECT_EQ(device_answer.wait_for(0ms), std::future_status::timeout);

    device_->release();  // the button
    const json::value answer = device_answer.get();
    EXPECT_EQ(signer_of("on the device", answer), device_->address().to_checksum_string())
        << answer;
    EXPECT_EQ(device_->stopped(), 0);
    // Done: the entry left the approvers' list.
    for (int i = 0; i < 100 && !pending().empty(); ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(pending().empty());
}

TEST_F(SignerLanes, ClientThatLeavesCancelsItsRunningJobAndTheNextOneRuns) {
    Approver approver(control_path(), approve_all());
    {
        WsClient leaving(port_, page_caller());
        ASSERT_TRUE(leaving.open()) << leaving.error();
        ASSERT_TRUE(leaving.send_text(sign_body("left before the button", device_->address())));
        ASSERT_TRUE(wait_started(1));
    }  // the WebSocket closes while the device waits
    for (int i = 0; i < 500 && device_->stopped() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(device_->stopped(), 1) << "the device job was not cancelled";

    // The lane is free again: the next request reaches the device and signs.
    auto next = std::async(std::launch::async,
                           [&] { return page_sign("the next one", device_->address()); });
    ASSERT_TRUE(wait_started(2));
    device_->release();
    EXPECT_EQ(signer_of("the next one", next.get()), device_->address().to_checksum_string());
}

TEST_F(SignerLanes, QueuedJobsRunInOrderOneAtATime) {
    Approver approver(control_path(), approve_all());
    auto first =
        std::async(std::launch::async, [&] { return page_sign("one", device_->address()); });
    ASSERT_TRUE(wait_started(1));
    auto second =
        std::async(std::launch::async, [&] { return page_sign("two", device_->address()); });
    // The second waits behind the first on the device's lane (approved, not yet on the device).
    for (int i = 0; i < 200 && pending().size() < 2; ++i)
        std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(device_->started(), 1);
    device_->release();
    EXPECT_EQ(signer_of("one", first.get()), device_->address().to_checksum_string());
    ASSERT_TRUE(wait_started(2));
    device_->release();
    EXPECT_EQ(signer_of("two", second.get()), device_->address().to_checksum_string());
}

TEST_F(SignerLanes, DetachedDeviceAnswersAndSaysWhatToConnect) {
    Approver approver(control_path(), approve_all());
    auto waiting =
        std::async(std::launch::async, [&] { return page_sign("unplugged", device_->address()); });
    ASSERT_TRUE(wait_started(1));
    server_->signers().detach(kLaneDeviceId);  // unplugged mid-request
    const json::value answer = waiting.get();
    ASSERT_TRUE(answer.as_object().contains("error")) << answer;
    EXPECT_EQ(answer.at("error").at("code"), json::value(4900)) << answer;
    // Without the device, a new request is refused before asking anyone, with what to do.
    const json::value refused = page_sign("unplugged", device_->address());
    EXPECT_EQ(refused.at("error").at("code"), json::value(4900)) << refused;
    EXPECT_NE(json::serialize(refused).find("connect your Ledger (ledger:lane-test)"),
              std::string::npos)
        << refused;
}

// A device asking for its PIN: the request shows the stage needs-input "pin"; the approver's
// keybridge_respond answer reaches the device, which then waits for its button.
TEST_F(SignerLanes, DevicePinPromptIsAnsweredThroughTheApprover) {
    device_->require_pin("4132");
    Approver approver(control_path(), approve_all());
    auto signing =
        std::async(std::launch::async, [&] { return page_sign("with a PIN", device_->address()); });
    json::array now;
    for (int i = 0; i < 500; ++i) {
        now = pending();
        if (now.size() == 1 && now[0].at("stage") == json::value("needs-input")) break;
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(now.size(), 1u) << now;
    ASSERT_EQ(now[0].at("stage"), json::value("needs-input")) << now;
    EXPECT_EQ(now[0].at("input"), json::value("pin"));
    EXPECT_EQ(now[0].at("note"), json::value("Enter the PIN of your test device"));
    EXPECT_EQ(control().error_code("keybridge_respond",
                                   json::array{now[0].at("id"), json::object{{"password", "x"}}}),
              -32602);  // a PIN stage wants {"pin"}
    EXPECT_EQ(control().result("keybridge_respond",
                               json::array{now[0].at("id"), json::object{{"pin", "4132"}}}),
              json::value(true));
    ASSERT_TRUE(wait_started(1));
    device_->release();
    EXPECT_EQ(signer_of("with a PIN", signing.get()), device_->address().to_checksum_string());
}

TEST_F(SignerLanes, ShutdownStopsTheDeviceAndAnswersItsClient) {
    Approver approver(control_path(), approve_all());
    auto waiting =
        std::async(std::launch::async, [&] { return page_sign("shutdown", device_->address()); });
    ASSERT_TRUE(wait_started(1));
    approver.stop();
    server_->stop();
    thread_.join();
    const json::value answer = waiting.get();
    EXPECT_EQ(device_->stopped(), 1);
    if (answer.is_object()) {  // the reply may also be lost with the closing connection
        ASSERT_TRUE(answer.as_object().contains("error")) << answer;
        EXPECT_EQ(answer.at("error").at("code"), json::value(4900)) << answer;
    }
    server_.reset();
}

}  // namespace
}  // namespace keybridge::test::e2e
