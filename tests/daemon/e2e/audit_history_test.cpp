// The audit history (the counterparties of earlier signed transactions) is read after keybridged
// serves (docs/ARCHITECTURE.md, "Audit history"). A request explained while it loads waits for
// it, so an address-poisoning warning the history raises is never lost; past the wait, the
// explanation says the history is still loading and no policy approve rule matches it. The
// server runs in this process so that the test can hold the load (Server::set_history_gate).
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/options.h"
#include "daemon/server.h"
#include "tests/daemon/e2e/client.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// An address the user sent to (in the audit log), and a look-alike of it: the same first and
// last four hex digits.
constexpr const char* kUsed = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
constexpr const char* kLookAlike = "0x7099111111111111111111111111111111dc79c8";

class AuditHistory : public DaemonTest {
  protected:
    void TearDown() override {
        release();
        if (server_) {
            server_->stop();
            if (thread_.joinable()) thread_.join();
            server_.reset();
        }
    }

    // An audit log whose history holds kUsed on chain 1, behind `filler` lines without
    // counterparties (so that reading it takes a while).
    void write_audit_log(std::size_t filler) const {
        std::ofstream out(datadir_ + "/audit.log");
        out << R"({"time":"2026-01-01T00:00:00Z","id":1,"origin":"local","method":)"
            << R"("eth_sendTransaction","account":")" << kFirstAccount
            << R"(","chainId":1,"decision":"signed","decidedBy":"approved","digest":")"
            << std::string(64, 'a') << R"(","counterparties":[")" << kUsed << "\"]}\n";
        for (std::size_t i = 0; i < filler; ++i) {
            out << R"({"time":"2026-01-01T00:00:01Z","id":)" << i + 2
                << R"(,"origin":"https://app.example","method":"personal_sign","account":")"
                << kFirstAccount << R"(","chainId":1,"decision":"approved","decidedBy":"user"})"
                << "\n";
        }
    }

    // Starts the server in this process with its history load held until release().
    void start_held(std::vector<std::string> extra, std::optional<std::chrono::milliseconds> wait) {
        auto args = base_args();
        args.insert(args.end(), extra.begin(), extra.end());
        auto parsed = daemon::parse_command_line(args);
        ASSERT_TRUE(parsed) << parsed.error().detail;
        server_ = std::make_unique<daemon::Server>(std::move(parsed->config));
        auto gate = gate_.get_future().share();
        server_->set_history_gate([gate] { gate.wait(); });
        if (wait) server_->set_history_wait(*wait);
        auto started = server_->start();
        ASSERT_TRUE(started) << started.error().detail;
        thread_ = std::thread([this] { server_->run(); });
        port_ = server_->ports().at(0);
        token_ = read_cookie();
        for (int i = 0; i < 500; ++i) {
            if (rpc().result("keybridge_status").at("unlocked") == json::value(true)) break;
            std::this_thread::sleep_for(10ms);
        }
        Approver approver(control_path(),
                          [](const json::object&) { return std::string("approve"); });
        EXPECT_EQ(rpc().result("eth_requestAccounts").as_array().size(), 1u);
        approver.stop();
    }
    void release() {
        if (!released_) gate_.set_value();
        released_ = true;
    }

    RpcClient rpc(std::chrono::milliseconds timeout = 20s) const {
        return RpcClient(port_, Caller{token_, "", false}, timeout);
    }
    json::value explain_send_to(const std::string& to) const {
        return rpc().call(
            "keybridge_explainRequest",
            json::array{json::object{{"method", "eth_signTransaction"},
                                     {"params", json::array{json::object{{"from", kFirstAccount},
                                                                         {"to", to},
                                                                         {"gas", "0x5208"},
                                                                         {"gasPrice", "0x3b9aca00"},
                                                                         {"nonce", "0x0"},
                                                                         {"value", "0x1"}}}}}});
    }
    static std::vector<std::string> warning_ids(const json::value& response) {
        std::vector<std::string> ids;
        for (const auto& w : response.at("result").at("warnings").as_array())
            ids.emplace_back(w.at("id").as_string());
        return ids;
    }
    static bool has(const std::vector<std::string>& ids, const std::string& id) {
        return std::find(ids.begin(), ids.end(), id) != ids.end();
    }

    std::promise<void> gate_;
    bool released_ = false;
    std::unique_ptr<daemon::Server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

TEST_F(AuditHistory, AnExplanationWaitsForTheLoadAndKeepsThePoisoningWarning) {
    write_audit_log(1000);
    ASSERT_NO_FATAL_FAILURE(start_held({}, std::nullopt));
    // The daemon serves while the load is held; the explanation waits for it.
    auto pending = std::async(std::launch::async, [this] { return explain_send_to(kLookAlike); });
    EXPECT_EQ(pending.wait_for(500ms), std::future_status::timeout);
    EXPECT_EQ(rpc().result("keybridge_status").at("unlocked"), json::value(true));
    release();
    ASSERT_EQ(pending.wait_for(15s), std::future_status::ready);
    const json::value explained = pending.get();
    const auto ids = warning_ids(explained);
    EXPECT_TRUE(has(ids, "address-poisoning")) << explained;
    EXPECT_FALSE(has(ids, "audit-history-loading")) << explained;
    // The address itself is known: no warning.
    EXPECT_FALSE(has(warning_ids(explain_send_to(kUsed)), "address-poisoning"));
}

TEST_F(AuditHistory, PastTheWaitTheExplanationSaysSoAndNoApproveRuleMatches) {
    write_audit_log(10);
    const std::string policy = tmp_.write("policy", "approve method=personal_sign\n");
    ASSERT_NO_FATAL_FAILURE(start_held({"--policy", policy}, 300ms));
    const json::value explained = explain_send_to(kLookAlike);
    const auto ids = warning_ids(explained);
    EXPECT_TRUE(has(ids, "audit-history-loading")) << explained;
    EXPECT_FALSE(has(ids, "address-poisoning")) << explained;  // the history is not read yet

    // The rule would approve this personal_sign: with the history loading, a person decides.
    const json::array sign{json::string("0x6869"), json::string(kFirstAccount)};
    {
        Approver approver(control_path(),
                          [](const json::object&) { return std::string("reject"); });
        EXPECT_EQ(rpc().error_code("personal_sign", sign), 4001);
        approver.stop();
        ASSERT_EQ(approver.seen().size(), 1u);
        EXPECT_NE(json::serialize(approver.seen()[0]).find("audit-history-loading"),
                  std::string::npos);
    }
    // Once loaded, the rule approves it unattended and the look-alike is named.
    release();
    for (int i = 0; i < 500 && has(warning_ids(explain_send_to(kUsed)), "audit-history-loading");
         ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(rpc().call("personal_sign", sign).as_object().contains("result"));
    EXPECT_TRUE(has(warning_ids(explain_send_to(kLookAlike)), "address-poisoning"));
}

}  // namespace
}  // namespace keybridge::test::e2e
