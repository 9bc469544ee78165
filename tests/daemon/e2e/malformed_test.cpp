// keybridged end to end: malformed traffic of every kind. After each, the daemon still answers.
#include <chrono>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

class Malformed : public DaemonTest {
  protected:
    void expect_alive() {
        EXPECT_EQ(local().result("eth_chainId"), json::value("0x1"))
            << "keybridged stopped answering";
        WsClient ws(port(), local_caller());
        ASSERT_TRUE(ws.open()) << ws.error();
        EXPECT_EQ(ws.call("eth_chainId").at("result"), json::value("0x1"));
    }
    std::string host_line() const { return "Host: 127.0.0.1:" + std::to_string(port()) + "\r\n"; }
    std::string auth_line() const { return "Authorization: Bearer " + token_ + "\r\n"; }

    // Sends bytes on a fresh connection and returns everything the server sent before closing.
    std::string exchange(const std::string& bytes, std::chrono::milliseconds timeout = 5s) {
        RawConnection raw(port());
        EXPECT_TRUE(raw.connected());
        raw.write(bytes);
        std::string answer = raw.read_until_close(timeout);
        EXPECT_TRUE(raw.peer_closed()) << "the server kept a broken connection open";
        return answer;
    }

    // Opens a WebSocket by hand on a raw connection (for frames no library sends).
    std::unique_ptr<RawConnection> raw_websocket() {
        auto raw = std::make_unique<RawConnection>(port());
        raw->write(
            "GET / HTTP/1.1\r\n" + host_line() + auth_line() +
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        // A client sends frames only after the server's 101 (RFC 6455 section 4.1).
        const std::string answer = raw->read_until("\r\n\r\n", 5s);
        EXPECT_EQ(answer.rfind("HTTP/1.1 101", 0), 0u) << answer;
        return raw;
    }
};

// Strict JSON: what a client's parser accepts (Infinity, NaN and trailing garbage are not JSON).
bool is_json(const std::string& text) {
    json::error_code ec;
    json::parse(text, ec);
    return !ec;
}

// Ids that Boost.JSON would hold as a double out of range (infinity) or rounded.
std::vector<std::string> huge_ids() {
    return {"1e400",
            "-1e400",
            "1" + std::string(400, '0'),
            "-" + std::string(400, '9'),
            "123456789012345678901234567890",
            "1.5e-400",
            "2E+308"};
}

TEST_F(Malformed, HugeNumericIdsAreEchoedAsWrittenOverHttpAndWebSocket) {
    ASSERT_NO_FATAL_FAILURE(start());
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open()) << ws.error();
    for (const std::string& id : huge_ids()) {
        const std::string call = R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"eth_chainId"})";
        const std::string expected = R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":"0x1"})";
        HttpResponse http = local().post(call);
        EXPECT_EQ(http.status, 200);
        EXPECT_EQ(http.body, expected);
        EXPECT_TRUE(is_json(http.body)) << http.body;
        ASSERT_TRUE(ws.send_text(call));
        auto answer = ws.read(5s);
        ASSERT_TRUE(answer) << id;
        EXPECT_EQ(*answer, expected);

        // In a batch, next to an ordinary call, and in an error answer (unknown method).
        const std::string batch =
            "[" + call + R"(,{"jsonrpc":"2.0","id":7,"method":"eth_chainId"},)" +
            R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"wallet_noSuchMethod"}])";
        for (const std::string& reply :
             {local().post(batch).body, (ws.send_text(batch), ws.read(5s).value_or(""))}) {
            ASSERT_TRUE(is_json(reply)) << reply;
            const json::value items = json::parse(reply);
            ASSERT_EQ(items.as_array().size(), 3u) << reply;
            EXPECT_EQ(reply.find(expected), 1u) << reply;
            EXPECT_NE(reply.find(R"({"jsonrpc":"2.0","id":)" + id + R"(,"error":{"code":-32601)"),
                      std::string::npos)
                << reply;
        }
    }
}

// A deterministic barrage of malformed JSON-RPC frames over HTTP and WebSocket: every reply
// must be JSON (the answer to a notification has no body), and the daemon keeps answering.
TEST_F(Malformed, EveryReplyToABarrageOfMalformedFramesIsJson) {
    ASSERT_NO_FATAL_FAILURE(start({"--rate-limit", "100000", "--rate-burst", "100000"}));
    std::mt19937 random(8);
    const std::vector<std::string> ids = [] {
        std::vector<std::string> v = huge_ids();
        for (const char* s : {"1", "-0", "0.5", "1e3", "\"x\"", "null", "true", "{}", "[]",
                              "\"\\ud800\"", "\"\\u0000\"", "18446744073709551616", "-1e-999"})
            v.push_back(s);
        return v;
    }();
    const std::vector<std::string> methods = {"\"eth_chainId\"",
                                              "\"\"",
                                              "1",
                                              "null",
                                              "\"rpc_methods\"",
                                              "\"eth_sign\"",
                                              "\"personal_sign\"",
                                              "\"" + std::string(300, 'm') + "\"",
                                              "[\"eth_chainId\"]"};
    const std::vector<std::string> params = {
        "",
        ",\"params\":[]",
        ",\"params\":{}",
        ",\"params\":1",
        ",\"params\":[1e400]",
        ",\"params\":[\"0x\",\"0x00\"]",
        ",\"params\":" + std::string(70, '[') + std::string(70, ']'),
        ",\"params\":[{\"id\":1e400}]"};
    const std::vector<std::string> versions = {"\"2.0\"", "\"1.0\"", "2", "null"};
    auto pick = [&random](const std::vector<std::string>& from) {
        return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)];
    };
    auto one_call = [&] {
        std::string call = "{";
        if (random() % 8 != 0) call += "\"jsonrpc\":" + pick(versions) + ",";
        if (random() % 6 != 0) call += "\"id\":" + pick(ids) + ",";
        call += "\"method\":" + pick(methods) + pick(params) + "}";
        return call;
    };
    auto frame = [&]() -> std::string {
        switch (random() % 6) {
            case 0: {
                std::string batch = "[";
                const int n = 1 + static_cast<int>(random() % 4);
                for (int i = 0; i < n; ++i)
                    batch += (i ? "," : "") + (random() % 5 ? one_call() : pick(ids));
                return batch + "]";
            }
            case 1: {  // cut short
                std::string call = one_call();
                return call.substr(0, random() % call.size());
            }
            case 2: {  // one byte changed
                std::string call = one_call();
                call[random() % call.size()] = static_cast<char>(random() % 128);
                return call;
            }
            default:
                return one_call();
        }
    };

    HttpConnection http(port());
    ASSERT_TRUE(http.connected());
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open()) << ws.error();
    int http_replies = 0;
    int ws_replies = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string text = frame();
        HttpResponse reply = http.send(local().request(text));
        ASSERT_NE(reply.status, 0) << "no answer to " << text << ": " << reply.error;
        if (reply.status != 204) {
            EXPECT_TRUE(is_json(reply.body)) << text << " was answered " << reply.body;
            ++http_replies;
        }
        // Over the WebSocket, a frame with only notifications gets no answer: sent with a
        // marker call after it, every message up to the marker's answer is checked.
        ASSERT_TRUE(ws.send_text(text));
        ASSERT_TRUE(ws.send_text(R"({"jsonrpc":"2.0","id":"marker","method":"eth_chainId"})"));
        for (;;) {
            auto message = ws.read(5s);
            ASSERT_TRUE(message) << "no answer over the WebSocket to " << text;
            EXPECT_TRUE(is_json(*message)) << text << " was answered " << *message;
            if (message->find("\"id\":\"marker\"") != std::string::npos) break;
            ++ws_replies;
        }
    }
    EXPECT_GT(http_replies, 500);
    EXPECT_GT(ws_replies, 500);
    expect_alive();
}

TEST_F(Malformed, GarbageBytes) {
    ASSERT_NO_FATAL_FAILURE(start());
    std::string answer = exchange(std::string("\x00\x01\x02garbage\xff\xfe\r\n\r\n", 17));
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    exchange("GET\r\n\r\n");
    exchange(std::string(5000, '\xff'));
    exchange("POST / HTTP/9.9\r\n" + host_line() + "\r\n");
    expect_alive();
}

TEST_F(Malformed, HalfARequestThenClose) {
    ASSERT_NO_FATAL_FAILURE(start());
    for (const std::string& part :
         {std::string("POST / HTTP/1.1\r\nHo"),
          "POST / HTTP/1.1\r\n" + host_line() + auth_line() +
              "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":\"2.0\"",
          "GET / HTTP/1.1\r\n" + host_line() + auth_line() +
              "Upgrade: websocket\r\nConnection: Upgrade\r\n"}) {
        RawConnection raw(port());
        ASSERT_TRUE(raw.connected());
        raw.write(part);
        raw.close();
    }
    // Half-closed: the request is incomplete and no more will come.
    RawConnection half(port());
    half.write("POST / HTTP/1.1\r\n" + host_line() + "Content-Length: 10\r\n\r\n{}");
    half.shutdown_send();
    half.read_until_close(5s);
    EXPECT_TRUE(half.peer_closed());
    expect_alive();
}

TEST_F(Malformed, InvalidUtf8InJson) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string text =
        std::string(R"({"jsonrpc":"2.0","id":1,"method":"personal_sign","params":[")") +
        "\xff\xfe\xc0\xaf" + R"(","0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"]})";
    HttpResponse res = local().post(text);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.json().at("error").at("code"), json::value(-32700)) << res.body;
    EXPECT_TRUE(res.json().at("id").is_null());
    // Over WebSocket, a text frame must be UTF-8: the connection is closed (1007).
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open());
    ws.send_text(text);
    EXPECT_TRUE(ws.wait_closed(5s));
    expect_alive();
}

TEST_F(Malformed, NotJsonOverWebSocketKeepsTheConnection) {
    ASSERT_NO_FATAL_FAILURE(start());
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open());
    for (const char* text : {"hello", "{", "[]", "42", "{\"jsonrpc\":\"2.0\"}"}) {
        ASSERT_TRUE(ws.send_text(text));
        auto answer = ws.read_json(5s);
        ASSERT_TRUE(answer) << text;
        EXPECT_TRUE(answer->as_object().contains("error")) << text;
    }
    EXPECT_EQ(ws.call("eth_chainId").at("result"), json::value("0x1"));
}

TEST_F(Malformed, HugeHeaders) {
    ASSERT_NO_FATAL_FAILURE(start());
    std::string answer = exchange("POST / HTTP/1.1\r\n" + host_line() +
                                  "X-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 100);
    std::string many = "POST / HTTP/1.1\r\n" + host_line();
    for (int i = 0; i < 3000; ++i)
        many += "X-H" + std::to_string(i) + ": v\r\n";
    answer = exchange(many + "\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 100);
    expect_alive();
}

TEST_F(Malformed, BinaryWebSocketFrameCloses) {
    ASSERT_NO_FATAL_FAILURE(start());
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open());
    ASSERT_TRUE(ws.send_binary(R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId"})"));
    EXPECT_TRUE(ws.wait_closed(5s));
    EXPECT_EQ(ws.close_code(), 1007) << ws.close_reason();
    expect_alive();
}

TEST_F(Malformed, BrokenWebSocketFrames) {
    ASSERT_NO_FATAL_FAILURE(start());
    // An unmasked client frame, a reserved opcode, a length beyond 2^63, a fragmented control
    // frame.
    const std::string frames[] = {
        std::string("\x81\x05hello", 7),
        std::string("\x83\x80\x00\x00\x00\x00", 6),
        std::string("\x81\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00", 14),
        std::string("\x09\x80\x00\x00\x00\x00", 6),
        std::string(1000, '\xff'),
    };
    for (const auto& frame : frames) {
        auto raw = raw_websocket();
        ASSERT_TRUE(raw->connected());
        raw->write(frame);
        std::string answer = raw->read_until_close(5s);
        // A close frame (0x88), then the end of the connection.
        EXPECT_EQ(answer.rfind("\x88", 0), 0u) << answer.size();
        EXPECT_TRUE(raw->peer_closed());
    }
    expect_alive();
}

TEST_F(Malformed, SlowHeadersAreCutOff) {
    ASSERT_NO_FATAL_FAILURE(start({"--handshake-timeout", "1"}));
    RawConnection raw(port());
    raw.write("POST / HTTP/1.1\r\n" + host_line());
    const auto begin = std::chrono::steady_clock::now();
    raw.read_until_close(5s);
    EXPECT_TRUE(raw.peer_closed());
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 4s);
    expect_alive();
}

TEST_F(Malformed, PipelinedRequestsAreAnsweredInOrder) {
    ASSERT_NO_FATAL_FAILURE(start());
    std::string wire;
    for (int i = 1; i <= 3; ++i) {
        const std::string b = body("eth_chainId", json::array{}, i);
        wire += "POST / HTTP/1.1\r\n" + host_line() + auth_line() +
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(b.size()) +
                "\r\n" + (i == 3 ? "Connection: close\r\n" : "") + "\r\n" + b;
    }
    std::string answer = exchange(wire);
    const auto a = answer.find("\"id\":1,");
    const auto b = answer.find("\"id\":2,");
    const auto c = answer.find("\"id\":3,");
    ASSERT_NE(a, std::string::npos) << answer;
    ASSERT_NE(b, std::string::npos) << answer;
    ASSERT_NE(c, std::string::npos) << answer;
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
}

TEST_F(Malformed, ManyConnectionsOpenedAndDropped) {
    ASSERT_NO_FATAL_FAILURE(start());
    for (int i = 0; i < 100; ++i) {
        RawConnection raw(port());
        ASSERT_TRUE(raw.connected());
        if (i % 2) raw.write("POST / HTTP/1.1\r\n");
    }
    expect_alive();
    EXPECT_EQ(local().result("keybridge_status").at("unlocked"), json::value(true));
}

// A second Host (or Origin, or Authorization) could make this daemon and whatever else reads the
// request disagree about who is calling: refused with 400 whichever copy comes first.
TEST_F(Malformed, RepeatedIdentityHeadersAreRefused) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string b = body("eth_chainId");
    const std::string tail =
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(b.size()) +
        "\r\n\r\n" + b;
    const std::string evil_host = "Host: evil.example:" + std::to_string(port()) + "\r\n";
    const std::string lower_host = "host: 127.0.0.1:" + std::to_string(port()) + "\r\n";
    const std::string origin = "Origin: " + std::string(kPageOrigin) + "\r\n";
    const std::string wrong_auth = "Authorization: Bearer not-the-token\r\n";
    const struct {
        const char* what;
        std::string headers;
    } cases[] = {
        {"our Host, then another", host_line() + evil_host + auth_line()},
        {"another Host, then ours", evil_host + host_line() + auth_line()},
        {"our Host twice, in two spellings", host_line() + lower_host + auth_line()},
        {"Origin twice", host_line() + origin + "Origin: https://evil.example\r\n"},
        {"the same Origin twice", host_line() + origin + origin},
        {"the token, then another Authorization", host_line() + auth_line() + wrong_auth},
        {"another Authorization, then the token", host_line() + wrong_auth + auth_line()},
    };
    for (const auto& c : cases) {
        const std::string answer = exchange("POST / HTTP/1.1\r\n" + c.headers + tail);
        EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << c.what << ":\n" << answer;
        EXPECT_EQ(answer.find("\"result\""), std::string::npos) << c.what << ":\n" << answer;
    }
    // The WebSocket upgrade and GET /health pass the same check.
    const std::string upgrade = exchange(
        "GET / HTTP/1.1\r\n" + host_line() + evil_host + auth_line() +
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    EXPECT_EQ(upgrade.rfind("HTTP/1.1 400", 0), 0u) << upgrade;
    const std::string health =
        exchange("GET /health HTTP/1.1\r\n" + host_line() + evil_host + auth_line() + "\r\n");
    EXPECT_EQ(health.rfind("HTTP/1.1 400", 0), 0u) << health;
    EXPECT_NE(daemon_.log().find("repeated Host header"), std::string::npos);
    // One of each is still fine.
    const std::string single = exchange("POST / HTTP/1.1\r\n" + host_line() + auth_line() +
                                        "Connection: close\r\n" + tail);
    EXPECT_EQ(single.rfind("HTTP/1.1 200", 0), 0u) << single;
    expect_alive();
}

}  // namespace
}  // namespace keybridge::test::e2e
