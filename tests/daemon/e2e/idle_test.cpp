// keybridged end to end: idle WebSocket connections (--idle-timeout). Every half timeout a
// connection that sent nothing is pinged; one that sent nothing after the ping either (not even
// the pong) is closed; a client that answers pings, as browsers do, stays.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

using namespace std::chrono_literals;
using Idle = DaemonTest;

constexpr auto kCall = R"({"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]})";

TEST_F(Idle, AClientThatAnswersNoPingIsClosedAfterTheTimeout) {
    ASSERT_NO_FATAL_FAILURE(start({"--idle-timeout", "2"}));
    WsClient silent(port(), local_caller());
    ASSERT_TRUE(silent.open()) << silent.error();
    // Not reading: the daemon's ping goes unanswered.
    std::this_thread::sleep_for(3500ms);
    EXPECT_TRUE(silent.wait_closed(3s)) << "an idle client was not closed";
    // Everyone else is still served.
    EXPECT_EQ(local().result("eth_chainId"), boost::json::value("0x1"));
}

TEST_F(Idle, AClientThatAnswersPingsStaysOpenPastTheTimeout) {
    ASSERT_NO_FATAL_FAILURE(start({"--idle-timeout", "2"}));
    WsClient client(port(), local_caller());
    ASSERT_TRUE(client.open()) << client.error();
    // Twice the timeout with nothing but pongs from the client.
    auto answer = client.send_after_silence(4500ms, kCall);
    ASSERT_TRUE(answer) << "closed during the silence: " << client.end_error();
    EXPECT_NE(answer->find("\"result\":\"0x1\""), std::string::npos) << *answer;
}

TEST_F(Idle, RequestsKeepAConnectionOpen) {
    ASSERT_NO_FATAL_FAILURE(start({"--idle-timeout", "2"}));
    WsClient client(port(), local_caller());
    ASSERT_TRUE(client.open()) << client.error();
    for (int i = 0; i < 8; ++i) {
        std::this_thread::sleep_for(600ms);
        ASSERT_TRUE(client.send_text(kCall)) << "closed after " << i << " requests";
        auto answer = client.read(2s);
        ASSERT_TRUE(answer) << "closed after " << i << " requests: " << client.end_error();
    }
}

}  // namespace
}  // namespace keybridge::test::e2e
