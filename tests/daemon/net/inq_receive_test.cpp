#include "daemon/net/inq_receive.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A loopback TCP pair: the server end read through a QueueReportingReceiver on `ioc`, the
// client end blocking.
struct ReceiverPair {
    asio::io_context ioc;
    asio::io_context client_ioc;
    tcp::socket client{client_ioc};
    tcp::socket server{ioc};
    std::optional<QueueReportingReceiver> receiver;

    ReceiverPair() {
        tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
        receiver.emplace(server);
    }

    struct Result {
        bool done = false;
        boost::system::error_code error;
        std::string bytes;
    };

    // One receive of at most `size` bytes, the loop run until it completes or `limit` passes;
    // `sent_meanwhile`, if not empty, is sent by the client after the receive started (as a
    // client sends its next request while the daemon waits for it).
    Result receive(std::size_t size, std::chrono::milliseconds limit = 5s,
                   const std::string& sent_meanwhile = {}) {
        auto result = std::make_shared<Result>();
        auto buffer = std::make_shared<std::string>(size, '\0');
        receiver->async_receive(server, asio::buffer(*buffer),
                                [result, buffer](boost::system::error_code ec, std::size_t n) {
                                    result->done = true;
                                    result->error = ec;
                                    result->bytes = buffer->substr(0, n);
                                });
        if (!sent_meanwhile.empty()) send(sent_meanwhile);
        ioc.restart();
        ioc.run_for(limit);
        return *result;
    }

    // Runs the loop for `time` with nothing to read: the reactor takes any readiness event of
    // the server socket then, with no receive waiting for it.
    void let_the_reactor_take_events(std::chrono::milliseconds time) {
        asio::steady_timer timer(ioc, time);
        timer.async_wait([](boost::system::error_code) {});
        ioc.restart();
        ioc.run();
    }

    void send(const std::string& text) { asio::write(client, asio::buffer(text)); }
};

// A client that waits for each answer before its next request: every receive finds its bytes;
// none finds the socket empty (without the queue reports each would be followed by one that did).
TEST(QueueReportingReceiver, ARequestAtATimeCausesNoEmptyReads) {
    if (!KEYBRIDGE_INQ_RECEIVE) GTEST_SKIP() << "queue reports need Boost 1.81's epoll reactor";
    ReceiverPair pair;
    pair.send("hello");
    ASSERT_EQ(pair.receive(1536).bytes, "hello");
    for (int i = 0; i < 50; ++i) {
        const std::string request = "request " + std::to_string(i);
        const auto got = pair.receive(1536, 5s, request);
        ASSERT_TRUE(got.done);
        ASSERT_FALSE(got.error) << got.error.message();
        EXPECT_EQ(got.bytes, request);
    }
    EXPECT_EQ(pair.receiver->empty_reads(), 0u);
}

// A receive that waits (the one before emptied the socket) completes when bytes arrive later.
TEST(QueueReportingReceiver, AWaitingReceiveCompletesWhenBytesArrive) {
    ReceiverPair pair;
    pair.send("first");
    ASSERT_EQ(pair.receive(100).bytes, "first");
    auto result = std::make_shared<ReceiverPair::Result>();
    std::string buffer(100, '\0');
    pair.receiver->async_receive(pair.server, asio::buffer(buffer),
                                 [result, &buffer](boost::system::error_code ec, std::size_t n) {
                                     result->done = true;
                                     result->error = ec;
                                     result->bytes = buffer.substr(0, n);
                                 });
    pair.ioc.restart();
    pair.ioc.run_for(50ms);
    ASSERT_FALSE(result->done) << "a receive completed on an empty socket";
    pair.send("second");
    pair.ioc.restart();
    pair.ioc.run_for(5s);
    ASSERT_TRUE(result->done);
    EXPECT_FALSE(result->error);
    EXPECT_EQ(result->bytes, "second");
}

// Bytes whose readiness event the reactor took while no receive was waiting (after one that
// emptied the socket) are read by the next receive at once: the event is not lost.
TEST(QueueReportingReceiver, BytesAnnouncedBetweenReceivesAreNotLost) {
    ReceiverPair pair;
    pair.send("first");
    ASSERT_EQ(pair.receive(100).bytes, "first");
    pair.send("second");
    pair.let_the_reactor_take_events(50ms);
    const auto got = pair.receive(100, 2s);
    ASSERT_TRUE(got.done) << "bytes announced between two receives were not read";
    EXPECT_EQ(got.bytes, "second");
}

// A peer that sends its last bytes and closes at once: the FIN is queued behind the bytes, and
// no readiness event will announce it. The receive of the bytes must not report the socket
// empty (TCP_INQ reports 1 for a pending end of stream), or the next receive would wait forever.
TEST(QueueReportingReceiver, AnEndOfStreamThatCameWithTheLastBytesIsRead) {
    ReceiverPair pair;
    pair.send("last words");
    pair.client.shutdown(tcp::socket::shutdown_send);
    // Both arrive, and their readiness event is taken, before the first receive.
    pair.let_the_reactor_take_events(50ms);
    const auto bytes = pair.receive(1536);
    ASSERT_TRUE(bytes.done);
    EXPECT_EQ(bytes.bytes, "last words");
    const auto end = pair.receive(1536, 2s);
    ASSERT_TRUE(end.done) << "the end of stream was not read";
    EXPECT_EQ(end.error, asio::error::eof);
}

// More queued than the buffer takes: the rest is read at once by the next receive.
TEST(QueueReportingReceiver, WhatABufferCouldNotTakeIsReadNext) {
    ReceiverPair pair;
    const std::string sent(5000, 'x');
    pair.send(sent);
    std::string got;
    while (got.size() < sent.size()) {
        const auto part = pair.receive(1000, 2s);
        ASSERT_TRUE(part.done);
        ASSERT_FALSE(part.error) << part.error.message();
        got += part.bytes;
    }
    EXPECT_EQ(got, sent);
}

// A pending receive is cancelled by closing the socket, and one still queued when the
// io_context goes away is destroyed without running (its handler's captures are released).
TEST(QueueReportingReceiver, PendingReceivesAreCancelledOrDestroyed) {
    {
        ReceiverPair pair;
        pair.send("x");
        ASSERT_EQ(pair.receive(10).bytes, "x");
        auto result = std::make_shared<ReceiverPair::Result>();
        std::string buffer(10, '\0');
        pair.receiver->async_receive(pair.server, asio::buffer(buffer),
                                     [result](boost::system::error_code ec, std::size_t) {
                                         result->done = true;
                                         result->error = ec;
                                     });
        pair.ioc.restart();
        pair.ioc.run_for(20ms);
        ASSERT_FALSE(result->done);
        pair.server.close();
        pair.ioc.restart();
        pair.ioc.run_for(2s);
        ASSERT_TRUE(result->done);
        EXPECT_EQ(result->error, asio::error::operation_aborted);
    }
    auto sentinel = std::make_shared<int>(0);
    {
        auto pair = std::make_unique<ReceiverPair>();
        std::string buffer(10, '\0');
        pair->receiver->async_receive(pair->server, asio::buffer(buffer),
                                      [sentinel](boost::system::error_code, std::size_t) {
                                          ADD_FAILURE() << "a destroyed receive ran";
                                      });
        EXPECT_EQ(sentinel.use_count(), 2);
    }
    EXPECT_EQ(sentinel.use_count(), 1);
}

}  // namespace
}  // namespace keybridge::daemon::net
