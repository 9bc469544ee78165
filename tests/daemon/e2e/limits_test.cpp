// keybridged end to end: size, depth, batch, connection and rate limits, and slow clients.
#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

using Limits = DaemonTest;

// A JSON-RPC request padded to about `size` bytes.
std::string padded_call(std::size_t size) {
    std::string text = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[],"pad":")";
    text += std::string(size > text.size() + 2 ? size - text.size() - 2 : 0, 'x');
    text += "\"}";
    return text;
}

void expect_alive(const RpcClient& client) {
    EXPECT_EQ(client.result("eth_chainId"), json::value("0x1")) << "keybridged stopped answering";
}

TEST_F(Limits, BodyOverMaxRequestBytesIs413) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-request-bytes", "2048"}));
    EXPECT_EQ(local().post(padded_call(2000)).status, 200);
    HttpResponse res = local().post(padded_call(4096));
    EXPECT_EQ(res.status, 413) << res.error;
    EXPECT_EQ(res.json().at("error").at("code"), json::value(-32005)) << res.body;
    EXPECT_NE(res.body.find("2048"), std::string::npos);
    // Far over the limit (the body keeps coming after the answer).
    HttpResponse huge = local().post(padded_call(4 * 1024 * 1024));
    EXPECT_EQ(huge.status, 413) << huge.error;
    // Chunked bodies count too.
    RawConnection raw(port());
    ASSERT_TRUE(raw.connected());
    std::string wire = "POST / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) +
                       "\r\nAuthorization: Bearer " + token_ +
                       "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i)
        wire += "400\r\n" + std::string(1024, ' ') + "\r\n";
    wire += "0\r\n\r\n";
    raw.write(wire);
    std::string answer = raw.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
    expect_alive(local());
}

TEST_F(Limits, WebSocketMessageTooBigCloses) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-request-bytes", "2048"}));
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open()) << ws.error();
    EXPECT_EQ(ws.call("eth_chainId").at("result"), json::value("0x1"));
    ASSERT_TRUE(ws.send_text(padded_call(4096)));
    EXPECT_TRUE(ws.wait_closed(5s));
    EXPECT_EQ(ws.close_code(), 1009) << ws.end_error();  // message too big
    expect_alive(local());
}

TEST_F(Limits, BatchTooLongIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-batch", "3"}));
    const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId"})";
    HttpResponse too_long = local().post("[" + call + "," + call + "," + call + "," + call + "]");
    EXPECT_EQ(too_long.status, 200);
    json::value v = too_long.json();
    ASSERT_TRUE(v.is_object()) << too_long.body;
    EXPECT_TRUE(v.at("id").is_null());
    EXPECT_EQ(v.at("error").at("code"), json::value(-32005));
    json::value ok = local().post("[" + call + "," + call + "," + call + "]").json();
    ASSERT_TRUE(ok.is_array());
    EXPECT_EQ(ok.as_array().size(), 3u);
    // Over WebSocket as well; the connection stays usable.
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open());
    ASSERT_TRUE(ws.send_text("[" + call + "," + call + "," + call + "," + call + "]"));
    auto answer = ws.read_json();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->at("error").at("code"), json::value(-32005));
    EXPECT_EQ(ws.call("eth_chainId").at("result"), json::value("0x1"));
}

TEST_F(Limits, JsonTooDeepIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-depth", "8"}));
    const std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":)" +
                             std::string(50, '[') + std::string(50, ']') + "}";
    json::value v = local().post(deep).json();
    ASSERT_TRUE(v.is_object());
    EXPECT_EQ(v.at("error").at("code"), json::value(-32700));
    EXPECT_NE(json::serialize(v).find("deeper than 8"), std::string::npos) << v;
    // Far deeper than any parser stack should take.
    const std::string abyss = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_EQ(local().post(abyss).json().at("error").at("code"), json::value(-32700));
    expect_alive(local());
}

TEST_F(Limits, ExtraConnectionsAreClosedWhileExistingOnesAreServed) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-connections", "3"}));
    std::vector<std::unique_ptr<HttpConnection>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<HttpConnection>(port()));
        HttpResponse res = held.back()->send(local().request(body("eth_chainId")));
        ASSERT_EQ(res.status, 200) << "connection " << i << ": " << res.error;
    }
    // The fourth is closed at once, without an answer.
    RawConnection extra(port());
    ASSERT_TRUE(extra.connected());
    extra.write("POST / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) +
                "\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(extra.read_until_close(5s), "");
    EXPECT_TRUE(extra.peer_closed());
    EXPECT_TRUE(daemon_.wait_for_log("--max-connections reached"));
    // The held ones still work.
    for (auto& c : held) {
        HttpResponse res = c->send(local().request(body("eth_chainId")));
        EXPECT_EQ(res.status, 200) << res.error;
    }
    // Closing one frees its place.
    held.pop_back();
    bool served = false;
    for (int attempt = 0; attempt < 50 && !served; ++attempt) {
        std::this_thread::sleep_for(20ms);
        HttpConnection again(port(), 2s);
        served = again.send(local().request(body("eth_chainId"))).status == 200;
    }
    EXPECT_TRUE(served);
}

std::string batch_of(int n) {
    const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId"})";
    std::string text = "[" + call;
    for (int i = 1; i < n; ++i)
        text += "," + call;
    return text + "]";
}

TEST_F(Limits, RateLimitAnswersPages429AndMinus32005) {
    ASSERT_NO_FATAL_FAILURE(start({"--rate-limit", "5", "--rate-burst", "5"}));
    // A full bucket lets the burst through...
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(page().post(body("eth_chainId")).status, 200) << i;
    }
    // ... then requests faster than 5 per second are refused (each takes far less than 200 ms).
    HttpResponse limited;
    for (int i = 0; i < 100 && limited.status != 429; ++i)
        limited = page().post(body("eth_chainId"));
    ASSERT_EQ(limited.status, 429);
    EXPECT_EQ(limited.json().at("error").at("code"), json::value(-32005)) << limited.body;
    EXPECT_EQ(limited.header("Retry-After"), "1");
    EXPECT_TRUE(
        daemon_.wait_for_log("refused HTTP request (429): request rate limit exceeded "
                             "by origin " +
                             std::string(kPageOrigin)))
        << daemon_.log();
    // Another origin has its own bucket.
    EXPECT_EQ(page("http://localhost:4000").post(body("eth_chainId")).status, 200);
    // A batch costs one token per call: more calls than the burst never pass, over HTTP or
    // WebSocket, whatever the timing; as many as the burst pass once the bucket is full again.
    std::this_thread::sleep_for(1100ms);
    EXPECT_EQ(page().post(batch_of(6)).status, 429);
    WsClient ws(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(ws.open()) << ws.error();
    ASSERT_TRUE(ws.send_text(batch_of(6)));
    auto answer = ws.read_json();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->at("error").at("code"), json::value(-32005));
    HttpResponse five = page().post(batch_of(5));
    EXPECT_EQ(five.status, 200);
    EXPECT_EQ(five.json().as_array().size(), 5u);
}

// docs/RPC.md, Limits: token clients are not rate-limited (scripts and test suites signing in
// bulk), while a page origin keeps its bucket.
TEST_F(Limits, TokenClientsAreNotRateLimitedWhilePagesAre) {
    ASSERT_NO_FATAL_FAILURE(start());  // the defaults: 200 per second, bursts of 400
    const std::string hundred = batch_of(100);
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open()) << ws.error();
    HttpConnection http(port());
    ASSERT_TRUE(http.connected());
    const auto begin = std::chrono::steady_clock::now();
    int calls = 0;
    for (int i = 0; i < 10; ++i) {
        HttpResponse res = http.send(local().request(hundred));
        ASSERT_EQ(res.status, 200) << "batch " << i << ": " << res.body.substr(0, 200);
        ASSERT_EQ(res.json().as_array().size(), 100u);
        ASSERT_TRUE(ws.send_text(hundred));
        auto answer = ws.read_json();
        ASSERT_TRUE(answer && answer->is_array()) << "batch " << i;
        calls += 200;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    // More than one bucket of the page limit would have let through in that time.
    EXPECT_GT(calls, 400 + 200 * seconds) << calls << " calls in " << seconds << " s";
    EXPECT_EQ(daemon_.log().find("(429)"), std::string::npos) << daemon_.log();

    // A page with the same load is held to its bucket.
    int refused = 0;
    for (int i = 0; i < 10; ++i)
        refused += page().post(hundred).status == 429 ? 1 : 0;
    EXPECT_GT(refused, 0);
}

// Back-pressure: a client that stops reading is no longer read from (its requests wait in TCP
// on its side) instead of having its answers pile up, and gets every answer once it reads.
TEST_F(Limits, WebSocketClientThatStopsReadingIsPausedWithoutHurtingOthers) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-outbound-queue", "4", "--rate-limit", "1000000",
                                   "--rate-burst", "1000000", "--max-batch", "100"}));
    WsClient::Options options;
    options.headers.emplace_back("Authorization", "Bearer " + token_);
    options.receive_buffer = 4096;
    WsClient slow(port(), options);
    ASSERT_TRUE(slow.open()) << slow.error();
    // Each batch answers ~100 method tables (hundreds of kB); the client reads none of it for
    // now. Beyond 2 unsent answers (half of --max-outbound-queue) the daemon stops reading.
    std::string batch = "[";
    for (int i = 0; i < 100; ++i) {
        if (i) batch += ",";
        batch += R"({"jsonrpc":"2.0","id":)" + std::to_string(i) + R"(,"method":"rpc_methods"})";
    }
    batch += "]";
    constexpr int kBatches = 20;
    for (int i = 0; i < kBatches; ++i)
        ASSERT_TRUE(slow.send_text(batch)) << "batch " << i;
    std::this_thread::sleep_for(500ms);
    // Others are served meanwhile.
    expect_alive(local());
    WsClient other(port(), local_caller());
    ASSERT_TRUE(other.open());
    EXPECT_EQ(other.call("eth_chainId").at("result"), json::value("0x1"));
    // The slow client loses nothing: every batch is answered once it reads (the old count
    // limit dropped it after 4).
    for (int i = 0; i < kBatches; ++i) {
        auto answer = slow.read_json(10s);
        ASSERT_TRUE(answer) << "answer " << i << ": " << slow.end_error();
        ASSERT_TRUE(answer->is_array()) << "answer " << i;
        EXPECT_EQ(answer->as_array().size(), 100u);
    }
    EXPECT_EQ(slow.call("eth_chainId").at("result"), json::value("0x1"));
    EXPECT_EQ(daemon_.log().find("does not read its replies"), std::string::npos) << daemon_.log();
}

}  // namespace
}  // namespace keybridge::test::e2e
