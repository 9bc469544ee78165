// keybridged end to end: idle and slow connections. WebSockets (--idle-timeout): every half
// timeout a connection that sent nothing is pinged; one that sent nothing after the ping either
// (not even the pong) is closed; a client that answers pings, as browsers do, stays. HTTP: the
// first request must be complete within --handshake-timeout (slowloris), a kept-alive
// connection waits --idle-timeout for the next one; closed between 1 and 1.5 times the timeout.
#include <chrono>
#include <string>
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

std::string rpc_post(std::uint16_t port, const std::string& token) {
    const std::string body = kCall;
    return "POST / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
           "\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

// How long the daemon takes to close `raw` from now (at most `limit`).
std::chrono::milliseconds time_to_close(RawConnection& raw, std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    raw.read_until_close(limit);
    EXPECT_TRUE(raw.peer_closed()) << "not closed within " << limit.count() << " ms";
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
}

TEST_F(Idle, AnHttpRequestThatNeverCompletesIsClosedAfterTheHandshakeTimeout) {
    ASSERT_NO_FATAL_FAILURE(start({"--handshake-timeout", "2"}));
    RawConnection raw(port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"));
    const auto waited = time_to_close(raw, 6s);
    EXPECT_GE(waited, 1900ms) << "closed before the timeout";
    EXPECT_LE(waited, 4000ms);
    EXPECT_EQ(local().result("eth_chainId"), boost::json::value("0x1"));
}

TEST_F(Idle, AKeptAliveHttpConnectionWaitsTheIdleTimeoutForTheNextRequest) {
    ASSERT_NO_FATAL_FAILURE(start({"--idle-timeout", "2"}));
    RawConnection raw(port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.write(rpc_post(port(), local_caller().token)));
    const std::string first = raw.read_until("\"result\":\"0x1\"", 3s);
    EXPECT_NE(first.find("200 OK"), std::string::npos) << first;
    // Within the timeout, the next request is served on the same connection.
    std::this_thread::sleep_for(1200ms);
    ASSERT_TRUE(raw.write(rpc_post(port(), local_caller().token)));
    EXPECT_NE(raw.read_until("\"result\":\"0x1\"", 3s).find("0x1"), std::string::npos);
    const auto waited = time_to_close(raw, 6s);
    EXPECT_GE(waited, 1900ms) << "closed before the timeout";
    EXPECT_LE(waited, 4000ms);
}

}  // namespace
}  // namespace keybridge::test::e2e
