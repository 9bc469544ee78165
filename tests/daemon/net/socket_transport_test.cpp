#include "daemon/net/socket_transport.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A loopback TCP pair: the server end in a SocketTransport on `ioc`, the client end blocking.
struct Pair {
    asio::io_context ioc;
    asio::io_context client_ioc;
    tcp::socket client{client_ioc};
    std::optional<SocketTransport> transport;

    explicit Pair(int buffer_bytes = 0) {
        tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        client.open(tcp::v4());
        if (buffer_bytes > 0)
            client.set_option(asio::socket_base::receive_buffer_size(buffer_bytes));
        client.connect(acceptor.local_endpoint());
        tcp::socket server(ioc);
        acceptor.accept(server);
        if (buffer_bytes > 0) server.set_option(asio::socket_base::send_buffer_size(buffer_bytes));
        transport.emplace(NetStream(std::move(server)));
    }

    // Writes `text` fully through the transport (as Beast writes a frame), running the loop.
    boost::system::error_code write(const std::string& text, bool more) {
        transport->set_more(more);
        boost::system::error_code result = asio::error::would_block;
        asio::async_write(*transport, asio::buffer(text),
                          [&](boost::system::error_code ec, std::size_t n) {
                              result = ec;
                              EXPECT_EQ(n, text.size());
                          });
        ioc.restart();
        ioc.run();
        return result;
    }

    bool client_has_data(std::chrono::milliseconds wait) {
        pollfd p{client.native_handle(), POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
    }
};

std::string frame_text(char fill, std::size_t size) {
    return std::string(size, fill);
}

// Writes made while `more` is set leave with MSG_MORE: the kernel holds them (up to 200 ms) until
// the next write without it, which takes them along, in order.
TEST(SocketTransport, WritesWithMoreWaitForTheNextWriteWithoutIt) {
    Pair pair;
    ASSERT_FALSE(pair.write(frame_text('a', 100), true));
    ASSERT_FALSE(pair.write(frame_text('b', 200), true));
    EXPECT_FALSE(pair.client_has_data(std::chrono::milliseconds(50)))
        << "a write with MSG_MORE was sent at once";
    ASSERT_FALSE(pair.write(frame_text('c', 300), false));
    std::string got(600, '\0');
    asio::read(pair.client, asio::buffer(got));
    EXPECT_EQ(got, frame_text('a', 100) + frame_text('b', 200) + frame_text('c', 300));
}

// More than the socket takes at once: the writes complete as the reader drains it, and the
// reader gets every byte once, in order.
TEST(SocketTransport, AFullSocketLosesAndReordersNothing) {
    Pair pair(4096);
    std::string expected;
    std::vector<std::string> frames;
    for (char fill : {'p', 'q', 'r', 's'}) {
        frames.push_back(frame_text(fill, 300 * 1024));
        expected += frames.back();
    }
    std::string got(expected.size(), '\0');
    std::thread reader([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the socket fills first
        asio::read(pair.client, asio::buffer(got));
    });
    for (std::size_t i = 0; i < frames.size(); ++i)
        EXPECT_FALSE(pair.write(frames[i], i + 1 < frames.size()));
    reader.join();
    EXPECT_TRUE(got == expected) << "bytes lost or out of order";
}

// Reads everything `expected` holds through the transport, `chunk` bytes asked at a time (as
// Beast asks), checking after each read that the bytes taken from the socket are those served
// (`served_before` by earlier calls) plus those held.
std::string read_all(Pair& pair, std::size_t expected, std::size_t chunk,
                     std::size_t* most_held = nullptr, std::size_t served_before = 0) {
    std::string got;
    std::vector<char> buffer(chunk);
    while (got.size() < expected) {
        std::size_t n = 0;
        boost::system::error_code error;
        pair.transport->async_read_some(asio::buffer(buffer),
                                        [&](boost::system::error_code ec, std::size_t count) {
                                            error = ec;
                                            n = count;
                                        });
        pair.ioc.restart();
        pair.ioc.run();
        EXPECT_FALSE(error) << error.message();
        if (error || n == 0) break;
        got.append(buffer.data(), n);
        EXPECT_EQ(pair.transport->bytes_read(),
                  served_before + got.size() + pair.transport->held_bytes());
        if (most_held != nullptr) *most_held = std::max(*most_held, pair.transport->held_bytes());
    }
    return got;
}

std::string numbered_text(std::size_t size) {
    std::string text;
    for (std::size_t i = 0; text.size() < size; ++i)
        text += std::to_string(i) + ',';
    text.resize(size);
    return text;
}

// Reads count what they take from the socket (the session's estimate of buffered requests rests
// on it), whether served at once or held.
TEST(SocketTransport, ReadsCountTheirBytes) {
    Pair pair;
    const std::string sent = numbered_text(1000);
    asio::write(pair.client, asio::buffer(sent));
    EXPECT_EQ(read_all(pair, sent.size(), 300), sent);
    EXPECT_EQ(pair.transport->bytes_read(), sent.size());
}

// A read that fills the buffer it was given switches the transport to reading ahead: what is
// waiting comes in one read, then is served from the held area, every byte once and in order.
TEST(SocketTransport, AfterAFullReadWhatIsWaitingIsReadAheadAndServedInOrder) {
    Pair pair;
    const std::string sent = numbered_text(12 * 1024);
    asio::write(pair.client, asio::buffer(sent));
    std::size_t most_held = 0;
    EXPECT_EQ(read_all(pair, sent.size(), 1536, &most_held), sent);
    // The first read filled its 1.5 KiB; the second took the rest of the 12 KiB at once.
    EXPECT_GE(most_held, sent.size() - 2 * 1536);
    EXPECT_EQ(pair.transport->held_bytes(), 0u);
}

// Bytes that arrive while some are held are read after the held ones: nothing reorders across
// the two, however the reads split them.
TEST(SocketTransport, HeldBytesComeBeforeLaterArrivals) {
    Pair pair;
    const std::string sent = numbered_text(40 * 1024);
    const std::size_t first = 20000;
    asio::write(pair.client, asio::buffer(sent.data(), first));
    std::string got = read_all(pair, 4000, 1536);  // reads ahead, holds the rest of the first part
    asio::write(pair.client, asio::buffer(sent.data() + first, sent.size() - first));
    got += read_all(pair, sent.size() - got.size(), 1000, nullptr, got.size());
    EXPECT_TRUE(got == sent) << "bytes lost or out of order";
}

// A connection whose reads never fill their buffer never reads ahead (no held area).
TEST(SocketTransport, ReadsThatNeverFillTheirBufferHoldNothing) {
    Pair pair;
    for (std::size_t i = 0; i < 5; ++i) {
        const std::string sent = numbered_text(200);
        asio::write(pair.client, asio::buffer(sent));
        std::size_t most_held = 0;
        EXPECT_EQ(read_all(pair, sent.size(), 1536, &most_held, i * sent.size()), sent);
        EXPECT_EQ(most_held, 0u);
    }
}

// A client that sends each request once the answer to the last one is out: the transport's read
// for the next request waits for it instead of first finding the socket empty (inq_receive.h).
TEST(SocketTransport, AReadForTheNextRequestDoesNotFindTheSocketEmptyFirst) {
    if (!KEYBRIDGE_INQ_RECEIVE) GTEST_SKIP() << "queue reports need Boost 1.81's epoll reactor";
    Pair pair;
    std::vector<char> buffer(1536);
    for (int i = 0; i < 20; ++i) {
        const std::string request = "request " + std::to_string(i);
        std::string got;
        pair.transport->async_read_some(asio::buffer(buffer),
                                        [&](boost::system::error_code ec, std::size_t n) {
                                            EXPECT_FALSE(ec) << ec.message();
                                            got.assign(buffer.data(), n);
                                        });
        asio::write(pair.client, asio::buffer(request));  // after the read started
        pair.ioc.restart();
        pair.ioc.run();
        EXPECT_EQ(got, request);
    }
    // The first read tried the socket before its request came (no read had emptied it yet).
    EXPECT_LE(pair.transport->empty_reads(), 1u);
}

// The read that must not wait (HttpSession's, after the client's end of stream) serves what is
// held before what the socket has, then reads the socket, then reports its end.
TEST(SocketTransport, AReadThatMustNotWaitServesHeldBytesFirst) {
    Pair pair;
    const std::string sent = numbered_text(8000);
    asio::write(pair.client, asio::buffer(sent));
    pair.client.shutdown(tcp::socket::shutdown_send);
    std::string got = read_all(pair, 3000, 1536);  // a full read, then read-ahead holds the rest
    ASSERT_GT(pair.transport->held_bytes(), 0u);
    std::vector<char> buffer(700);
    boost::system::error_code ec;
    while (!ec) {
        const std::size_t n = pair.transport->read_some(asio::buffer(buffer), ec);
        got.append(buffer.data(), n);
    }
    EXPECT_EQ(ec, asio::error::eof);
    EXPECT_TRUE(got == sent) << "bytes lost or out of order";
    EXPECT_EQ(pair.transport->bytes_read(), sent.size());
}

}  // namespace
}  // namespace keybridge::daemon::net
