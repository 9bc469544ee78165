// The scripted node the hostile-node tests rely on, checked through the real daemon: a
// transaction filled from its answers, approved, signed and broadcast to it.
#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"
#include "tests/daemon/e2e/scripted_node.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

using ScriptedNodeThroughDaemon = DaemonTest;

TEST_F(ScriptedNodeThroughDaemon, FillsSignsAndBroadcastsFromTheScriptedAnswers) {
    ScriptedNode node(1);
    node.serve_defaults();
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url()}));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));

    EXPECT_EQ(local().call("eth_getBalance", json::array{kFirstAccount, "latest"}).at("result"),
              json::value("0x56bc75e2d63100000"));
    EXPECT_EQ(node.calls("eth_getBalance"), 1u);

    Approver approver(control_path(), [](const json::object&) { return std::string("approve"); });
    json::value sent =
        local().call("eth_sendTransaction",
                     json::array{json::object{
                         {"from", kFirstAccount}, {"to", kFirstAccount}, {"value", "0x1"}}});
    ASSERT_TRUE(sent.as_object().contains("result")) << sent;
    EXPECT_EQ(node.calls("eth_sendRawTransaction"), 1u);
    EXPECT_GE(node.calls("eth_getTransactionCount"), 1u);
    // The approver saw the node's nonce.
    ASSERT_EQ(approver.seen().size(), 1u);
    EXPECT_NE(json::serialize(approver.seen()[0]).find("\"nonce\":\"0x5\""), std::string::npos)
        << approver.seen()[0];
}

TEST_F(ScriptedNodeThroughDaemon, DelayedAnswerArrivesLate) {
    ScriptedNode node(1);
    node.answer("eth_blockNumber", "0x2a", std::chrono::milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url()}));
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(local().call("eth_blockNumber").at("result"), json::value("0x2a"));
    EXPECT_GE(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(300));
}

}  // namespace
}  // namespace keybridge::test::e2e
