// keybridged end to end: HTTP clients that go away (or only half-close) while their request
// waits for the user's approval.
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/eip191.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

class Disconnect : public DaemonTest {
  protected:
    std::string host_line() const { return "Host: 127.0.0.1:" + std::to_string(port()) + "\r\n"; }

    // One POST of `payload` as the page (Origin header, no token), raw on the wire.
    std::string page_post(const std::string& payload, bool close = false,
                          std::size_t padding = 0) const {
        const std::string pad =
            padding == 0 ? std::string() : "X-Padding: " + std::string(padding, 'p') + "\r\n";
        return "POST / HTTP/1.1\r\n" + host_line() + pad + "Origin: " + kPageOrigin +
               "\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(payload.size()) + "\r\n" + (close ? "Connection: close\r\n" : "") +
               "\r\n" + payload;
    }

    static std::string sign_body(const std::string& text, int id = 1) {
        return body(
            "personal_sign",
            json::array{json::string(core::hex_encode(core::as_bytes(text))), kFirstAccount}, id);
    }

    // An approver on the control socket, subscribed to keybridge_approvals.
    std::unique_ptr<ControlConnection> approver() const {
        auto ws = std::make_unique<ControlConnection>(control_path());
        EXPECT_TRUE(ws->connected()) << ws->error();
        json::value sub = ws->call("eth_subscribe", json::array{"keybridge_approvals"});
        EXPECT_TRUE(sub.is_object() && sub.as_object().contains("result")) << sub;
        return ws;
    }

    // The next approvals event ("added"/"removed") and its request id.
    static std::pair<std::string, json::value> next_event(ControlConnection& ws) {
        json::value event = ws.next_notification(5s);
        if (!event.is_object()) return {"", nullptr};
        const json::value& result = event.at("params").at("result");
        return {std::string(result.at("type").as_string()), result.at("request").at("id")};
    }

    // Polls keybridge_pendingApprovals over the approver's connection until it holds `count`.
    static bool wait_pending_count(ControlConnection& ws, std::size_t count,
                                   std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            json::value res = ws.call("keybridge_pendingApprovals");
            if (res.is_object() && res.as_object().contains("result") &&
                res.at("result").as_array().size() == count)
                return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
};

TEST_F(Disconnect, ClientThatClosesTakesItsPendingApprovalWithIt) {
    // One TCP slot: the page's (the approver is on the control socket). A slot still held after
    // the page left would refuse the connections below.
    ASSERT_NO_FATAL_FAILURE(start({"--max-connections", "1"}));
    auto ws = approver();
    {
        RawConnection client(port());
        ASSERT_TRUE(client.connected());
        ASSERT_TRUE(client.write(page_post(body("eth_requestAccounts"))));
        auto [type, id] = next_event(*ws);
        ASSERT_EQ(type, "added");
        ASSERT_TRUE(wait_pending_count(*ws, 1, 5s));
        const auto closed_at = std::chrono::steady_clock::now();
        client.close();
        // The approver sees the request disappear, well before any timeout.
        auto [removed, removed_id] = next_event(*ws);
        EXPECT_EQ(removed, "removed");
        EXPECT_EQ(removed_id, id);
        EXPECT_LT(std::chrono::steady_clock::now() - closed_at, 2s);
        EXPECT_TRUE(wait_pending_count(*ws, 0, 2s));
    }
    // The slot is free again: a new connection is served.
    HttpResponse res;
    for (int i = 0; i < 50 && res.status != 200; ++i) {
        res = local().post(body("eth_chainId"));
        if (res.status != 200) std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(res.status, 200) << res.error;
    // The audit log says why the request ended.
    std::ifstream audit(datadir_ + "/audit.log");
    std::stringstream text;
    text << audit.rdbuf();
    EXPECT_NE(text.str().find("\"disconnect\""), std::string::npos) << text.str();
}

TEST_F(Disconnect, ClientThatResetsTakesItsPendingApprovalWithIt) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    auto ws = approver();
    RawConnection client(port());
    ASSERT_TRUE(client.write(page_post(sign_body("reset"))));
    ASSERT_EQ(next_event(*ws).first, "added");
    client.reset();
    EXPECT_EQ(next_event(*ws).first, "removed");
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
}

TEST_F(Disconnect, HalfClosedClientStillGetsItsAnswer) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    auto ws = approver();
    RawConnection client(port());
    const std::string text = "half-closed but listening";
    // The signature, and a pipelined request behind it, then the client's side ends.
    ASSERT_TRUE(client.write(page_post(sign_body(text)) +
                             page_post(body("eth_chainId", json::array{}, 2))));
    auto [type, id] = next_event(*ws);
    ASSERT_EQ(type, "added");
    client.shutdown_send();
    // Well past the probe's settling time: the request still waits for the user.
    std::this_thread::sleep_for(500ms);
    json::value pending = ws->call("keybridge_pendingApprovals");
    ASSERT_EQ(pending.at("result").as_array().size(), 1u) << pending;
    EXPECT_EQ(pending.at("result").at(0).at("id"), json::value(id));
    EXPECT_EQ(ws->call("keybridge_decide", decision_for(pending.at("result").at(0), "approve"))
                  .at("result"),
              json::value(true));
    const std::string answer = client.read_until_close(5s);
    EXPECT_TRUE(client.peer_closed());
    // An interim 102 (the probe), the answer, the pipelined answer, then the server closes.
    EXPECT_EQ(answer.rfind("HTTP/1.1 102 Processing\r\n\r\n", 0), 0u) << answer;
    const auto final_at = answer.find("HTTP/1.1 200 OK\r\n");
    ASSERT_NE(final_at, std::string::npos) << answer;
    const auto body_at = answer.find("\r\n\r\n", final_at);
    ASSERT_NE(body_at, std::string::npos);
    const auto second_at = answer.find("HTTP/1.1 200 OK\r\n", body_at);
    ASSERT_NE(second_at, std::string::npos) << answer;
    EXPECT_NE(answer.find("\"id\":2,\"result\":\"0x1\"", second_at), std::string::npos) << answer;
    json::error_code ec;
    json::value reply = json::parse(answer.substr(body_at + 4, second_at - body_at - 4), ec);
    ASSERT_FALSE(ec) << answer;
    ASSERT_TRUE(reply.as_object().contains("result")) << reply;
    auto signer = core::recover_personal_signer(
        core::as_bytes(text),
        *core::hex_decode(reply.at("result").as_string(), core::HexPrefix::Required));
    ASSERT_TRUE(signer);
    EXPECT_EQ(signer->to_checksum_string(), kFirstAccount);
}

TEST_F(Disconnect, HalfClosedClientThatClosesLaterIsNoticed) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    auto ws = approver();
    RawConnection client(port());
    ASSERT_TRUE(client.write(page_post(sign_body("half, then gone"))));
    ASSERT_EQ(next_event(*ws).first, "added");
    client.shutdown_send();
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(wait_pending_count(*ws, 1, 1s));
    client.close();
    // The next probe (every 5 s) meets the closed socket.
    json::value event = ws->next_notification(8s);
    ASSERT_TRUE(event.is_object()) << "the request stayed queued";
    EXPECT_EQ(event.at("params").at("result").at("type"), json::value("removed"));
}

TEST_F(Disconnect, Http10ClientThatClosesIsNoticed) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    auto ws = approver();
    RawConnection client(port());
    std::string wire = page_post(sign_body("old client"));
    wire.replace(0, std::string("POST / HTTP/1.1").size(), "POST / HTTP/1.0");
    ASSERT_TRUE(client.write(wire));
    ASSERT_EQ(next_event(*ws).first, "added");
    client.shutdown_send();  // HTTP/1.0: no interim response is allowed, so this counts as gone
    EXPECT_EQ(next_event(*ws).first, "removed");
    const std::string answer = client.read_until_close(5s);
    EXPECT_TRUE(answer.empty()) << answer;
}

TEST_F(Disconnect, PipelinedRequestsWaitBehindAnApproval) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    auto ws = approver();
    RawConnection client(port());
    // A request that waits for the user, then more than the read-ahead limit (64 KiB) of
    // pipelined requests sent while it waits.
    constexpr int kFollowing = 200;  // within the rate limiter's burst
    ASSERT_TRUE(client.write(page_post(sign_body("first in line", 1))));
    auto [type, id] = next_event(*ws);
    ASSERT_EQ(type, "added");
    std::string wire;
    for (int i = 2; i <= kFollowing + 1; ++i)
        wire += page_post(body("eth_chainId", json::array{}, i), i == kFollowing + 1, 400);
    ASSERT_GT(wire.size(), 64u * 1024u);
    ASSERT_TRUE(client.write(wire));
    std::this_thread::sleep_for(200ms);
    json::value pending = ws->call("keybridge_pendingApprovals");
    ASSERT_EQ(pending.at("result").at(0).at("id"), json::value(id)) << pending;
    EXPECT_EQ(ws->call("keybridge_decide", decision_for(pending.at("result").at(0), "approve"))
                  .at("result"),
              json::value(true));
    const std::string answer = client.read_until_close(10s);
    EXPECT_TRUE(client.peer_closed());
    // Every answer, in order, the signature first.
    std::size_t at = 0;
    for (int i = 1; i <= kFollowing + 1; ++i) {
        const std::string marker = "\"id\":" + std::to_string(i) + ",";
        const auto found = answer.find(marker, at);
        ASSERT_NE(found, std::string::npos) << "answer " << i << " missing or out of order";
        at = found;
    }
    EXPECT_EQ(answer.find("102 Processing"), std::string::npos);
}

}  // namespace
}  // namespace keybridge::test::e2e
