// keybridged end to end: answers to requests that arrive together are written together
// (TCP_CORK in WsSession and HttpSession), and holding them back loses or reorders nothing.
// Requests are written by hand on a raw connection, so that several of them (and pings and
// fragments between WebSocket messages) reach the daemon in one TCP segment.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"
#include "tests/daemon/e2e/scripted_node.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

constexpr std::uint8_t kText = 0x1;
constexpr std::uint8_t kContinuation = 0x0;
constexpr std::uint8_t kBinary = 0x2;
constexpr std::uint8_t kClose = 0x8;
constexpr std::uint8_t kPing = 0x9;
constexpr std::uint8_t kPong = 0xA;

// A client frame: masked, as RFC 6455 requires of clients.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true) {
    std::string frame;
    frame += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
    if (payload.size() <= 125) {
        frame += static_cast<char>(0x80 | payload.size());
    } else {
        frame += static_cast<char>(0x80 | 126);
        frame += static_cast<char>((payload.size() >> 8) & 0xff);
        frame += static_cast<char>(payload.size() & 0xff);
    }
    const char mask[4] = {0x3c, 0x5a, 0x7e, 0x11};
    frame.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    return frame;
}

struct ServerFrame {
    std::uint8_t opcode = 0;
    std::string payload;
};

// Takes the whole (unmasked) server frames off the front of `wire`.
std::vector<ServerFrame> take_frames(std::string& wire) {
    std::vector<ServerFrame> frames;
    for (;;) {
        if (wire.size() < 2) break;
        const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(wire[i]); };
        std::size_t length = byte(1) & 0x7f;
        std::size_t header = 2;
        if (length == 126) {
            if (wire.size() < 4) break;
            length = (std::size_t{byte(2)} << 8) | byte(3);
            header = 4;
        } else if (length == 127) {
            if (wire.size() < 10) break;
            length = 0;
            for (std::size_t i = 2; i < 10; ++i)
                length = (length << 8) | byte(i);
            header = 10;
        }
        if (wire.size() < header + length) break;
        frames.push_back({static_cast<std::uint8_t>(byte(0) & 0x0f), wire.substr(header, length)});
        wire.erase(0, header + length);
    }
    return frames;
}

std::string chain_id_call(int id) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"eth_chainId"})";
}

class AnswerCoalescing : public DaemonTest {
  protected:
    std::string http_request(int id) const {
        const std::string body = chain_id_call(id);
        return "POST / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) +
               "\r\nAuthorization: Bearer " + token_ +
               "\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }

    // Reads HTTP responses (each with a Content-Length) until `wanted` have come; their bodies.
    static std::vector<std::string> read_http_bodies(RawConnection& raw, std::size_t wanted) {
        std::vector<std::string> bodies;
        std::string wire;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (bodies.size() < wanted && std::chrono::steady_clock::now() < deadline) {
            const std::string got = raw.read_some(5s);
            if (got.empty()) break;
            wire += got;
            for (;;) {
                const auto end = wire.find("\r\n\r\n");
                if (end == std::string::npos) break;
                const auto field = wire.find("Content-Length: ");
                if (field == std::string::npos || field > end) break;
                const std::size_t length = std::stoul(wire.substr(field + 16));
                if (wire.size() < end + 4 + length) break;
                bodies.push_back(wire.substr(end + 4, length));
                wire.erase(0, end + 4 + length);
            }
        }
        return bodies;
    }

    // A WebSocket opened by hand (the 101 read), for frames written by hand.
    std::unique_ptr<RawConnection> open_raw() {
        auto raw = std::make_unique<RawConnection>(port());
        EXPECT_TRUE(raw->connected());
        raw->write(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) +
            "\r\nAuthorization: Bearer " + token_ +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        const std::string answer = raw->read_until("\r\n\r\n", 5s);
        EXPECT_EQ(answer.rfind("HTTP/1.1 101", 0), 0u) << answer;
        return raw;
    }

    // Reads frames until `wanted` of them are data frames (or the connection ends, or 10 s pass).
    static std::vector<ServerFrame> read_frames(RawConnection& raw, std::size_t wanted) {
        std::vector<ServerFrame> frames;
        std::string wire;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        std::size_t data_frames = 0;
        while (data_frames < wanted && std::chrono::steady_clock::now() < deadline) {
            const std::string got = raw.read_some(5s);
            if (got.empty()) break;
            wire += got;
            for (auto& frame : take_frames(wire)) {
                if (frame.opcode == kText) ++data_frames;
                const bool close = frame.opcode == kClose;
                frames.push_back(std::move(frame));
                if (close) return frames;
            }
        }
        return frames;
    }

    // The ids of the eth_chainId answers among `frames`, each checked to be "0x1".
    static std::vector<std::int64_t> answered_ids(const std::vector<ServerFrame>& frames) {
        std::vector<std::int64_t> ids;
        for (const auto& frame : frames) {
            if (frame.opcode != kText) continue;
            const json::value answer = json::parse(frame.payload);
            EXPECT_EQ(answer.at("result"), json::value("0x1")) << frame.payload;
            ids.push_back(answer.at("id").as_int64());
        }
        return ids;
    }
};

TEST_F(AnswerCoalescing, WebSocketAnswersToRequestsThatArriveTogetherLeaveInOneSegment) {
    ASSERT_NO_FATAL_FAILURE(start());
    auto raw = open_raw();
    std::string wire;
    for (int id = 1; id <= 4; ++id)
        wire += client_frame(kText, chain_id_call(id));
    const std::uint32_t segments_before = raw->data_segments_received();
    ASSERT_TRUE(raw->write(wire));  // one write: one segment, read by the daemon at once
    const auto frames = read_frames(*raw, 4);
    EXPECT_EQ(answered_ids(frames), (std::vector<std::int64_t>{1, 2, 3, 4}));
    // Corked, one segment. Written as they came, each would leave in a segment of its own (the
    // daemon's sockets have Nagle's algorithm off). (Only a daemon stalled for TCP_CORK's
    // 200 ms ceiling would send two with the cork.)
    EXPECT_EQ(raw->data_segments_received() - segments_before, 1u);

    // A request alone is answered at once, in a segment of its own, as before.
    const std::uint32_t before_single = raw->data_segments_received();
    ASSERT_TRUE(raw->write(client_frame(kText, chain_id_call(5))));
    EXPECT_EQ(answered_ids(read_frames(*raw, 1)), (std::vector<std::int64_t>{5}));
    EXPECT_EQ(raw->data_segments_received() - before_single, 1u);
}

// Adaptive scheduling (the default): the network thread of a client that pipelines (several
// requests in one read) turns SCHED_BATCH; once requests come one at a time again, it is back
// to SCHED_OTHER. With one network thread, the main thread runs the loop.
TEST_F(AnswerCoalescing, AThreadWhoseClientPipelinesIsScheduledAsBatchUntilItStops) {
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "1"}));
    EXPECT_TRUE(daemon_.wait_for_log("1 network thread, adaptive scheduling")) << daemon_.log();
    const pid_t loop = daemon_.pid();
    EXPECT_EQ(::sched_getscheduler(loop), SCHED_OTHER);
    auto raw = open_raw();
    int id = 0;
    for (int write = 0; write < 64; ++write) {  // 512 requests, 8 to a segment
        std::string wire;
        for (int i = 0; i < 8; ++i)
            wire += client_frame(kText, chain_id_call(++id));
        ASSERT_TRUE(raw->write(wire));
        ASSERT_EQ(answered_ids(read_frames(*raw, 8)).size(), 8U);
    }
    EXPECT_EQ(::sched_getscheduler(loop), SCHED_BATCH);

    // One at a time: four quiet windows of 256 requests in a row (after the rest of the window
    // under way) bring the thread back.
    for (int i = 0; i < 1300; ++i) {
        ASSERT_TRUE(raw->write(client_frame(kText, chain_id_call(++id))));
        ASSERT_EQ(answered_ids(read_frames(*raw, 1)).size(), 1U);
    }
    EXPECT_EQ(::sched_getscheduler(loop), SCHED_OTHER);
}

TEST_F(AnswerCoalescing, WebSocketEveryRequestIsAnsweredWithPingsAndFragmentsAmongThem) {
    ASSERT_NO_FATAL_FAILURE(start());
    auto raw = open_raw();
    // 60 requests in one write: more than a read of the daemon takes (so some arrive cut in
    // two), with a ping and a message in two fragments among them, which make the
    // daemon's count of buffered bytes run short (it then holds answers for nothing: harmless).
    std::string wire;
    std::set<std::int64_t> expected;
    for (int id = 1; id <= 60; ++id) {
        const std::string call = chain_id_call(id);
        if (id == 20) {
            wire += client_frame(kText, call.substr(0, 10), false);
            wire += client_frame(kContinuation, call.substr(10));
        } else {
            wire += client_frame(kText, call);
        }
        if (id == 10) wire += client_frame(kPing, "are you there");
        expected.insert(id);
    }
    ASSERT_TRUE(raw->write(wire));
    const auto frames = read_frames(*raw, 60);
    const auto ids = answered_ids(frames);
    EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()), expected);
    EXPECT_EQ(ids.size(), 60u) << "an answer came twice";
    bool ponged = false;
    for (const auto& frame : frames)
        ponged |= frame.opcode == kPong && frame.payload == "are you there";
    EXPECT_TRUE(ponged);

    // Afterwards a lone request is still answered at once.
    ASSERT_TRUE(raw->write(client_frame(kText, chain_id_call(61))));
    EXPECT_EQ(answered_ids(read_frames(*raw, 1)), (std::vector<std::int64_t>{61}));
}

TEST_F(AnswerCoalescing, WebSocketAnswersHeldBackGoOutBeforeTheDaemonsCloseFrame) {
    ASSERT_NO_FATAL_FAILURE(start());
    auto raw = open_raw();
    // Two requests and, behind them, a binary frame, which the daemon answers by closing
    // (1007): the answers it was holding for the frames behind them go first.
    std::string wire = client_frame(kText, chain_id_call(1)) +
                       client_frame(kText, chain_id_call(2)) + client_frame(kBinary, "\x01\x02");
    ASSERT_TRUE(raw->write(wire));
    const auto frames = read_frames(*raw, 3);  // stops at the close frame
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().opcode, kClose);
    EXPECT_EQ(answered_ids(frames), (std::vector<std::int64_t>{1, 2}));
}

// An answer that comes a few milliseconds after another on the same connection (the node's
// answer after a local one) leaves at once. With Nagle's algorithm on the daemon's socket it
// waited until the client acknowledged the first answer, which a client with nothing to send
// does only when its delayed-ACK timer fires: ~40 ms more, in about half of the exchanges.
TEST_F(AnswerCoalescing, WebSocketAnswerAfterAnotherIsNotHeldForTheClientsAcknowledgement) {
    ScriptedNode node(1);
    node.answer("eth_blockNumber", json::value("0x10"), 5ms);
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + node.url()}));
    auto raw = open_raw();
    int held = 0;
    std::vector<std::int64_t> waits_ms;
    for (int round = 0; round < 16; ++round) {
        const int id = 2 * round + 1;
        const std::string block_number = R"({"jsonrpc":"2.0","id":)" + std::to_string(id + 1) +
                                         R"(,"method":"eth_blockNumber"})";
        const auto sent = std::chrono::steady_clock::now();
        ASSERT_TRUE(
            raw->write(client_frame(kText, chain_id_call(id)) + client_frame(kText, block_number)));
        const auto frames = read_frames(*raw, 2);
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - sent);
        ASSERT_EQ(frames.size(), 2u);
        EXPECT_EQ(json::parse(frames[1].payload).at("result"), json::value("0x10"));
        waits_ms.push_back(waited.count());
        if (waited >= 35ms) ++held;
        // The client sends nothing meanwhile: its acknowledgement waits for its timer.
        std::this_thread::sleep_for(20ms);
    }
    // Held for the acknowledgement, about half of them took 43 ms; a few slow rounds on a busy
    // machine are not that.
    EXPECT_LE(held, 2) << "waits (ms): " << ::testing::PrintToString(waits_ms);
    EXPECT_EQ(node.calls("eth_blockNumber"), 16u);
}

TEST_F(AnswerCoalescing, HttpAnswersToPipelinedRequestsLeaveInOneSegment) {
    ASSERT_NO_FATAL_FAILURE(start());
    RawConnection raw(port());
    ASSERT_TRUE(raw.connected());
    std::string wire;
    for (int id = 1; id <= 4; ++id)
        wire += http_request(id);
    const std::uint32_t segments_before = raw.data_segments_received();
    ASSERT_TRUE(raw.write(wire));
    const auto bodies = read_http_bodies(raw, 4);
    ASSERT_EQ(bodies.size(), 4u);
    for (int id = 1; id <= 4; ++id) {
        const json::value answer = json::parse(bodies[id - 1]);
        EXPECT_EQ(answer.at("id"), json::value(id)) << "answers out of order";
        EXPECT_EQ(answer.at("result"), json::value("0x1"));
    }
    // Corked, one segment; written as they came (each after the read of its request), four.
    EXPECT_EQ(raw.data_segments_received() - segments_before, 1u);

    // A request alone, then one in two writes: each answered, in a segment of its own.
    for (int id : {5, 6}) {
        const std::uint32_t before = raw.data_segments_received();
        const std::string request = http_request(id);
        if (id == 5) {
            ASSERT_TRUE(raw.write(request));
        } else {
            ASSERT_TRUE(raw.write(request.substr(0, 40)));
            ASSERT_TRUE(raw.write(request.substr(40)));
        }
        const auto single = read_http_bodies(raw, 1);
        ASSERT_EQ(single.size(), 1u);
        EXPECT_EQ(json::parse(single[0]).at("id"), json::value(id));
        EXPECT_EQ(raw.data_segments_received() - before, 1u);
    }

    // A request and the first half of the next: the first is answered while the daemon waits
    // for the rest of the second. Its answer left with MSG_MORE (another request was buffered);
    // the daemon pushes it out once its read waits. Without that push the kernel would send it
    // only after 200 ms: the median of five rounds tells the two apart on a busy machine too.
    std::vector<std::chrono::milliseconds> waits;
    for (int round = 0; round < 5; ++round) {
        const int first = 7 + 2 * round;
        const std::string request = http_request(first);
        const std::string next = http_request(first + 1);
        const auto sent = std::chrono::steady_clock::now();
        ASSERT_TRUE(raw.write(request + next.substr(0, 30)));
        const auto before_rest = read_http_bodies(raw, 1);
        waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - sent));
        ASSERT_EQ(before_rest.size(), 1u);
        EXPECT_EQ(json::parse(before_rest[0]).at("id"), json::value(first));
        ASSERT_TRUE(raw.write(next.substr(30)));
        const auto after_rest = read_http_bodies(raw, 1);
        ASSERT_EQ(after_rest.size(), 1u);
        EXPECT_EQ(json::parse(after_rest[0]).at("id"), json::value(first + 1));
    }
    std::sort(waits.begin(), waits.end());
    EXPECT_LT(waits[2].count(), 100) << "the answer waited for the kernel's 200 ms, not a push";
}

}  // namespace
}  // namespace keybridge::test::e2e
