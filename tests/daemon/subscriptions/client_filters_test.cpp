#include "daemon/subscriptions/client_filters.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

namespace keybridge::daemon::subscriptions {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

// A node on a loopback port, one connection at a time (the upstream client makes one per call):
// eth_new*Filter answers "0x" + a counter, eth_uninstallFilter true, anything else []. Records
// every call.
class FakeNode {
  public:
    FakeNode() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeNode() {
        stopping_ = true;
        boost::system::error_code ec;
        // Wake the blocking accept with one last connection.
        asio::ip::tcp::socket poke(ioc_);
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/";
    }
    std::vector<std::pair<std::string, json::value>> calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    std::vector<json::value> uninstalled() {
        std::vector<json::value> out;
        for (const auto& [method, params] : calls()) {
            if (method == "eth_uninstallFilter") out.push_back(params.as_array().at(0));
        }
        return out;
    }

  private:
    void serve() {
        int next_filter = 1;
        while (!stopping_) {
            asio::ip::tcp::socket socket(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_) return;
            beast::flat_buffer buffer;
            http::request<http::string_body> request;
            http::read(socket, buffer, request, ec);
            if (ec) continue;
            json::value call = json::parse(request.body(), ec);
            if (ec || !call.is_object()) continue;
            const std::string method(call.at("method").as_string());
            {
                std::lock_guard lock(mutex_);
                calls_.emplace_back(method, call.as_object().contains("params")
                                                ? call.at("params")
                                                : json::value(json::array{}));
            }
            json::value result = json::array{};
            if (method.rfind("eth_new", 0) == 0) result = "0x" + std::to_string(next_filter++);
            if (method == "eth_uninstallFilter") result = true;
            http::response<http::string_body> response{http::status::ok, request.version()};
            response.set(http::field::content_type, "application/json");
            response.body() = json::serialize(
                json::object{{"jsonrpc", "2.0"}, {"id", call.at("id")}, {"result", result}});
            response.prepare_payload();
            response.keep_alive(false);
            http::write(socket, response, ec);
            socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        }
    }

    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::pair<std::string, json::value>> calls_;
};

class ClientFiltersTest : public ::testing::Test {
  protected:
    ClientFiltersTest() {
        runner_ = std::thread([this] { ioc_.run(); });
    }
    ~ClientFiltersTest() override {
        filters_.stop();
        work_.reset();
        ioc_.stop();
        runner_.join();
    }

    static FilterRegistry::Settings settings() {
        FilterRegistry::Settings s;
        s.max_per_owner = 2;
        s.idle_timeout = 1s;  // checked every 100 ms
        return s;
    }

    // Runs one ClientFilters call and waits for its reply.
    template <typename Start>
    rpc::Outcome wait(Start start) {
        std::promise<rpc::Outcome> promise;
        auto answer = promise.get_future();
        start([&promise](rpc::Outcome out) { promise.set_value(std::move(out)); });
        EXPECT_EQ(answer.wait_for(5s), std::future_status::ready);
        return answer.get();
    }
    std::string create(const FilterOwner& owner) {
        auto out = wait([&](rpc::Reply reply) {
            filters_.create(owner, 31337, node_.url(), "eth_newBlockFilter", json::array{},
                            std::move(reply));
        });
        EXPECT_TRUE(out.has_value());
        return out ? std::string(out->as_string()) : "";
    }
    rpc::Outcome changes(const FilterOwner& owner, const std::string& id) {
        return wait([&](rpc::Reply reply) {
            filters_.query(owner, id, "eth_getFilterChanges", std::move(reply));
        });
    }
    void wait_for_uninstall(std::size_t count) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (node_.uninstalled().size() < count && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        EXPECT_EQ(node_.uninstalled().size(), count);
    }

    FakeNode node_;
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
    upstream::UpstreamClient upstream_{ioc_.get_executor()};
    ClientFilters filters_{ioc_.get_executor(), upstream_, settings()};
    std::thread runner_;
};

const FilterOwner kWs{"https://a.example", 4};
const FilterOwner kHttp{"https://a.example", 0};

TEST_F(ClientFiltersTest, ReadsTheNodesFilterUnderTheLocalIdForItsOwnerOnly) {
    const std::string id = create(kWs);
    ASSERT_EQ(id.size(), 34u);
    EXPECT_TRUE(changes(kWs, id).has_value());
    EXPECT_EQ(node_.calls().back().second, json::value(json::array{"0x1"}));
    auto refused = changes(kHttp, id);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, -32000);
    EXPECT_EQ(refused.error().message, "filter not found");
    // The node's id is not ours to hand out.
    EXPECT_FALSE(changes(kWs, "0x1"));
}

TEST_F(ClientFiltersTest, UninstallsOnTheNodeWhenTheOwnerDoes) {
    const std::string id = create(kHttp);
    auto other = wait([&](rpc::Reply reply) { filters_.uninstall(kWs, id, std::move(reply)); });
    EXPECT_EQ(*other, json::value(false));
    auto mine = wait([&](rpc::Reply reply) { filters_.uninstall(kHttp, id, std::move(reply)); });
    EXPECT_EQ(*mine, json::value(true));
    wait_for_uninstall(1);
    EXPECT_EQ(node_.uninstalled().at(0), json::value("0x1"));
}

TEST_F(ClientFiltersTest, AClosedConnectionsFiltersAreUninstalledOnTheNode) {
    create(kWs);
    create(kHttp);
    filters_.drop_connection(kWs.connection_id);
    wait_for_uninstall(1);
    EXPECT_EQ(node_.uninstalled().at(0), json::value("0x1"));
    EXPECT_EQ(filters_.count(kHttp), 1u);
}

TEST_F(ClientFiltersTest, FiltersNobodyReadsExpireAndAreUninstalledOnTheNode) {
    const std::string read = create(kHttp);
    const std::string unread = create(kWs);
    // Read `read` every 300 ms for 1.5 s: it stays; `unread` goes after about 1 s.
    for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(300ms);
        EXPECT_TRUE(changes(kHttp, read).has_value()) << i;
    }
    wait_for_uninstall(1);
    EXPECT_EQ(node_.uninstalled().at(0), json::value("0x2"));
    EXPECT_FALSE(changes(kWs, unread));
    EXPECT_EQ(filters_.count(kHttp), 1u);
}

TEST_F(ClientFiltersTest, TooManyFiltersIsLimitExceededWithoutCallingTheNode) {
    create(kWs);
    create(kWs);
    const auto calls = node_.calls().size();
    auto out = wait([&](rpc::Reply reply) {
        filters_.create(kWs, 31337, node_.url(), "eth_newBlockFilter", json::array{},
                        std::move(reply));
    });
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, rpc::kLimitExceeded);
    EXPECT_EQ(node_.calls().size(), calls);
}

}  // namespace
}  // namespace keybridge::daemon::subscriptions
