// keybridged end to end: floods of one client must not lock others out or grow the daemon
// without bound (issue 9): the approval queue flooded by one page, and a WebSocket client that
// asks for large answers and never reads them.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

using Floods = DaemonTest;

// ---- the approval queue

TEST_F(Floods, OnePageWithSixtyFourConnectRequestsDoesNotLockOtherPagesOut) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string flooder = "https://flood.example";
    WsClient flood(port(), Caller{"", flooder, false});
    ASSERT_TRUE(flood.open()) << flood.error();
    // As many connect requests as the whole queue holds (--max-pending-approvals 64).
    for (int i = 1; i <= 64; ++i)
        ASSERT_TRUE(flood.send_text(body("eth_requestAccounts", json::array{}, i)));
    // One waits for the user; the 63 others are refused at once, as MetaMask does.
    int already_pending = 0;
    for (int i = 0; i < 63; ++i) {
        auto answer = flood.read_response(10s);
        ASSERT_TRUE(answer) << "answer " << i << " missing";
        const json::value* error = answer->as_object().if_contains("error");
        ASSERT_NE(error, nullptr) << *answer;
        EXPECT_EQ(error->at("code"), json::value(-32002)) << *answer;
        EXPECT_NE(json::serialize(*error).find("already pending for origin " + flooder),
                  std::string::npos)
            << *answer;
        ++already_pending;
    }
    EXPECT_EQ(already_pending, 63);
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u) << pending;
    EXPECT_EQ(pending[0].at("origin"), json::value(flooder));

    // Another page is still asked, and the user's approval reaches it.
    Approver approver(control_path(), [](const json::object& request) -> Verdict {
        return request.at("origin") == json::value(kPageOrigin) ? "approve" : "";
    });
    json::value accounts = page().call("eth_requestAccounts");
    approver.stop();
    EXPECT_EQ(accounts.at("result"), json::array{json::string(lower(kFirstAccount))}) << accounts;
    // The flooder's request is still the one waiting for it.
    pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u) << pending;
    EXPECT_EQ(pending[0].at("origin"), json::value(flooder));
}

// ---- the outbound queue

// A node that answers every call with a result of `result_bytes` hex digits, one connection at
// a time (keybridged opens one per call), from its own thread.
class BigAnswerNode {
  public:
    explicit BigAnswerNode(std::size_t result_bytes)
        : result_(std::string(result_bytes, 'a')),
          acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~BigAnswerNode() {
        stop_.store(true);
        // Wakes the blocking accept.
        beast::error_code ignored;
        tcp::socket poke(ioc_);
        poke.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::size_t answered() const { return answered_.load(); }

  private:
    void serve() {
        while (!stop_.load()) {
            tcp::socket socket(ioc_);
            beast::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stop_.load()) continue;
            beast::flat_buffer buffer;
            http::request<http::string_body> request;
            http::read(socket, buffer, request, ec);
            if (ec) continue;
            json::error_code parse_error;
            json::value call = json::parse(request.body(), parse_error);
            json::value id = !parse_error && call.is_object() && call.as_object().contains("id")
                                 ? call.at("id")
                                 : json::value(nullptr);
            http::response<http::string_body> response{http::status::ok, 11};
            response.set(http::field::content_type, "application/json");
            response.body() = R"({"jsonrpc":"2.0","id":)" + json::serialize(id) +
                              R"(,"result":"0x)" + result_ + R"("})";
            response.keep_alive(false);
            response.prepare_payload();
            http::write(socket, response, ec);
            socket.shutdown(tcp::socket::shutdown_send, ec);
            if (!ec) answered_.fetch_add(1);
        }
    }

    std::string result_;
    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> answered_{0};
    std::thread thread_;
};

// The peak resident memory of a process so far (VmHWM), in bytes.
std::uint64_t peak_rss(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (in >> key) {
        std::uint64_t kb = 0;
        if (key == "VmHWM:" && in >> kb) return kb * 1024;
        in.ignore(1 << 16, '\n');
    }
    ADD_FAILURE() << "no VmHWM for process " << pid;
    return 0;
}

// Sets an environment variable for the daemon started in its scope, then restores it.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

constexpr std::size_t kAnswerBytes = 256 * 1024;  // each eth_call answer
constexpr int kCalls = 300;                       // 75 MiB of answers if all were kept

TEST_F(Floods, ClientThatNeverReadsLargeAnswersStaysBoundedAndIsClosedWithAReason) {
    BigAnswerNode node(kAnswerBytes);
    {
        // Resident memory should show what the daemon holds, not what the allocator keeps of
        // what it freed: no AddressSanitizer quarantine, and glibc gives large blocks back.
        std::string asan = ::getenv("ASAN_OPTIONS") ? ::getenv("ASAN_OPTIONS") : "";
        ScopedEnv asan_env("ASAN_OPTIONS",
                           asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=0");
        ScopedEnv glibc_env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072");
        // Limits scaled down with the answers, so that the test moves few bytes.
        ASSERT_NO_FATAL_FAILURE(
            start({"--chain", "1=http://127.0.0.1:" + std::to_string(node.port()),
                   "--max-outbound-bytes", "1M", "--max-outbound-total", "4M",
                   "--max-calls-in-flight", "8", "--handshake-timeout", "60"}));
    }
    WsClient other(port(), Caller{"", "https://other.example", false});
    ASSERT_TRUE(other.open());
    EXPECT_EQ(other.call("eth_chainId").at("result"), json::value("0x1"));
    const std::uint64_t before = peak_rss(daemon_.pid());

    WsClient::Options options;
    options.headers.emplace_back("Origin", kPageOrigin);
    options.receive_buffer = 4096;
    WsClient slow(port(), options);
    ASSERT_TRUE(slow.open()) << slow.error();
    const json::value call_params =
        json::array{json::object{{"to", kFirstAccount}, {"data", "0x"}}, "latest"};
    // ~45 kB of requests: they fit in the sockets' buffers even when keybridged stops reading.
    for (int i = 1; i <= kCalls; ++i)
        ASSERT_TRUE(slow.send_text(body("eth_call", call_params, i))) << "call " << i;

    // keybridged reads 8 calls at a time and gives up on the client once 1 MiB waits unread
    // behind what the sockets hold.
    const bool closed = daemon_.wait_for_log("does not read its replies", 45s);
    EXPECT_TRUE(closed) << "after " << node.answered() << " answers of the node";
    // Another client is served, large answers included.
    EXPECT_EQ(other.call("eth_chainId").at("result"), json::value("0x1"));
    json::value big = other.call("eth_call", call_params, 20s);
    ASSERT_TRUE(big.is_object()) << "no answer for the other client";
    EXPECT_EQ(big.at("result").as_string().size(), kAnswerBytes + 2);

    // Without the limits the daemon read every call and held every answer.
    const std::uint64_t grown = peak_rss(daemon_.pid()) - before;
    std::cout << "[ figures  ] " << node.answered() << " answers of " << (kAnswerBytes >> 10)
              << " KiB made; peak resident memory grew by " << (grown >> 20) << " MiB\n";
    EXPECT_LT(grown, std::uint64_t{24} << 20) << "the daemon grew by " << (grown >> 20) << " MiB";
    EXPECT_LT(node.answered(), static_cast<std::size_t>(kCalls));

    // Once the slow client does read, it finds the close and why.
    if (!closed) return;
    EXPECT_TRUE(slow.wait_closed(20s));
    EXPECT_EQ(slow.close_code(), 1008) << slow.end_error();
    EXPECT_NE(slow.close_reason().find("does not read its replies"), std::string::npos)
        << slow.close_reason();
}

}  // namespace
}  // namespace keybridge::test::e2e
