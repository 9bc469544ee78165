#include "daemon/net/ws_transport.h"

#include <poll.h>

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

// A loopback TCP pair: the server end in a WsTransport on `ioc`, the client end blocking.
struct Pair {
    asio::io_context ioc;
    asio::io_context client_ioc;
    tcp::socket client{client_ioc};
    std::optional<WsTransport> transport;

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
TEST(WsTransport, WritesWithMoreWaitForTheNextWriteWithoutIt) {
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
TEST(WsTransport, AFullSocketLosesAndReordersNothing) {
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

// Reads count what they bring (the session's estimate of buffered requests rests on it).
TEST(WsTransport, ReadsCountTheirBytes) {
    Pair pair;
    asio::write(pair.client, asio::buffer(std::string(1000, 'x')));
    std::size_t total = 0;
    std::vector<char> buffer(300);
    while (total < 1000) {
        std::size_t got = 0;
        pair.transport->async_read_some(asio::buffer(buffer),
                                        [&](boost::system::error_code ec, std::size_t n) {
                                            ASSERT_FALSE(ec);
                                            got = n;
                                        });
        pair.ioc.restart();
        pair.ioc.run();
        ASSERT_GT(got, 0u);
        total += got;
        EXPECT_EQ(pair.transport->bytes_read(), total);
    }
}

}  // namespace
}  // namespace keybridge::daemon::net
