#include "daemon/rpc/dispatcher.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::daemon::rpc {
namespace {

namespace json = boost::json;

// Collects the dispatcher's single `done` call (which may come from another thread).
class Collector {
  public:
    std::function<void(std::optional<std::string>)> callback() {
        return [this](std::optional<std::string> body) {
            std::lock_guard lock(mutex_);
            ++calls_;
            body_ = std::move(body);
            cv_.notify_all();
        };
    }
    // Waits for the call; fails the test after a second.
    std::optional<std::string> wait() {
        std::unique_lock lock(mutex_);
        EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(5), [&] { return calls_ > 0; }))
            << "the dispatcher never finished";
        return body_;
    }
    int calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int calls_ = 0;
    std::optional<std::string> body_;
};

class DispatcherTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dispatcher_.add(
            {"echo", "returns its params", Access::Anyone,
             [](const auto&, const json::value& params, Reply reply) { reply(params); }});
        dispatcher_.add({"fail", "always fails", Access::Anyone,
                         [](const auto&, const json::value&, Reply reply) {
                             reply(tl::unexpected(RpcError{4001, "nope", std::nullopt}));
                         }});
        dispatcher_.add(
            {"throw", "throws", Access::Anyone, [](const auto&, const json::value&, Reply) -> void {
                 throw std::runtime_error("boom with internal detail");
             }});
        dispatcher_.add({"twice", "replies twice", Access::Anyone,
                         [](const auto&, const json::value&, Reply reply) {
                             reply(json::value(1));
                             reply(json::value(2));
                         }});
        // Replies from another thread after params[0] milliseconds with params[1].
        dispatcher_.add({"later", "replies later", Access::Anyone,
                         [this](const auto&, const json::value& params, Reply reply) {
                             const auto& a = params.as_array();
                             const auto ms = a.at(0).to_number<int>();
                             json::value result = a.at(1);
                             threads_.emplace_back([ms, result, reply] {
                                 std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                                 reply(result);
                             });
                         }});
        dispatcher_.add(
            {"secret", "token only", Access::TokenOnly,
             [](const auto&, const json::value&, Reply reply) { reply(json::value("ok")); }});
        dispatcher_.add({"count", "counts calls", Access::Anyone,
                         [this](const auto&, const json::value&, Reply reply) {
                             ++count_;
                             reply(json::value(count_.load()));
                         }});
    }
    void TearDown() override {
        for (auto& t : threads_)
            t.join();
    }

    // Dispatches text and returns the response text (nullopt: nothing to send).
    std::optional<std::string> run(std::string_view text, bool token = false) {
        auto parsed = parse_payload(text, ParseLimits{});
        EXPECT_TRUE(std::holds_alternative<Payload>(parsed)) << text;
        auto client = std::make_shared<Client>();
        client->token_authenticated = token;
        Collector collector;
        dispatcher_.dispatch(client, std::move(std::get<Payload>(parsed)), collector.callback());
        auto body = collector.wait();
        for (auto& t : threads_)
            t.join();
        threads_.clear();
        EXPECT_EQ(collector.calls(), 1);
        return body;
    }

    static json::value parsed(const std::optional<std::string>& body) {
        EXPECT_TRUE(body.has_value());
        if (!body) return nullptr;
        return json::parse(*body);
    }

    Dispatcher dispatcher_;
    std::vector<std::thread> threads_;
    std::atomic<int> count_{0};
};

TEST_F(DispatcherTest, SingleCallAnswersWithItsId) {
    auto v = parsed(run(R"({"jsonrpc":"2.0","id":"req-1","method":"echo","params":[1,"a"]})"));
    EXPECT_EQ(v, json::parse(R"({"jsonrpc":"2.0","id":"req-1","result":[1,"a"]})"));
}

TEST_F(DispatcherTest, ErrorsCarryTheIdAndCode) {
    auto v = parsed(run(R"({"jsonrpc":"2.0","id":9,"method":"fail"})"));
    EXPECT_EQ(v.at("id"), json::value(9));
    EXPECT_EQ(v.at("error").at("code"), json::value(4001));
    EXPECT_EQ(v.at("error").at("message"), json::value("nope"));
    EXPECT_FALSE(v.as_object().contains("result"));
}

TEST_F(DispatcherTest, UnknownMethodIsMethodNotFound) {
    auto v = parsed(run(R"({"jsonrpc":"2.0","id":1,"method":"eth_nothing"})"));
    EXPECT_EQ(v.at("error").at("code"), json::value(kMethodNotFound));
    EXPECT_NE(std::string(v.at("error").at("message").as_string()).find("eth_nothing"),
              std::string::npos);
}

TEST_F(DispatcherTest, MethodsTheTableLacksGoToTheFallbackWithTheirName) {
    std::vector<std::string> seen;
    dispatcher_.set_fallback(
        [&seen](const auto&, const std::string& method, const json::value& params, Reply reply) {
            seen.push_back(method);
            reply(json::array{json::value(method), params});
        });
    auto v = parsed(run(R"({"jsonrpc":"2.0","id":1,"method":"eth_nothing","params":[7]})"));
    EXPECT_EQ(v.at("result"), (json::array{"eth_nothing", json::array{7}}));
    // Rows of the table still answer themselves; discovery does not list the fallback.
    parsed(run(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":[1]})"));
    EXPECT_EQ(seen, std::vector<std::string>{"eth_nothing"});
    for (const auto* spec : dispatcher_.methods())
        EXPECT_NE(spec->name, "eth_nothing");
}

TEST_F(DispatcherTest, BatchAnswersInRequestOrderWhateverTheCompletionOrder) {
    // The first call finishes last.
    auto v = parsed(run(R"([{"jsonrpc":"2.0","id":1,"method":"later","params":[150,"first"]},)"
                        R"({"jsonrpc":"2.0","id":2,"method":"later","params":[60,"second"]},)"
                        R"({"jsonrpc":"2.0","id":3,"method":"echo","params":["third"]}])"));
    ASSERT_TRUE(v.is_array());
    const auto& a = v.as_array();
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0].at("id"), json::value(1));
    EXPECT_EQ(a[0].at("result"), json::value("first"));
    EXPECT_EQ(a[1].at("id"), json::value(2));
    EXPECT_EQ(a[1].at("result"), json::value("second"));
    EXPECT_EQ(a[2].at("id"), json::value(3));
    EXPECT_EQ(a[2].at("result"), json::parse(R"(["third"])"));
}

TEST_F(DispatcherTest, NotificationsProduceNoOutput) {
    EXPECT_FALSE(run(R"({"jsonrpc":"2.0","method":"echo","params":[1]})").has_value());
    // Even a failing or unknown notification is not answered.
    EXPECT_FALSE(run(R"({"jsonrpc":"2.0","method":"fail"})").has_value());
    EXPECT_FALSE(run(R"({"jsonrpc":"2.0","method":"no_such_method"})").has_value());
    // ... but it ran.
    EXPECT_FALSE(run(R"({"jsonrpc":"2.0","method":"count"})").has_value());
    EXPECT_EQ(count_.load(), 1);
}

TEST_F(DispatcherTest, BatchSkipsNotificationsInItsAnswer) {
    auto v = parsed(run(R"([{"jsonrpc":"2.0","method":"echo","params":[1]},)"
                        R"({"jsonrpc":"2.0","id":"b","method":"echo","params":[2]},)"
                        R"({"jsonrpc":"2.0","method":"later","params":[20,3]}])"));
    ASSERT_TRUE(v.is_array());
    ASSERT_EQ(v.as_array().size(), 1u);
    EXPECT_EQ(v.as_array()[0].at("id"), json::value("b"));
}

TEST_F(DispatcherTest, AllNotificationBatchGetsNoResponse) {
    EXPECT_FALSE(run(R"([{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"count"},)"
                     R"({"jsonrpc":"2.0","method":"later","params":[30,1]}])")
                     .has_value());
    EXPECT_EQ(count_.load(), 1);
}

TEST_F(DispatcherTest, SingleElementBatchIsAnsweredAsAnArray) {
    auto v = parsed(run(R"([{"jsonrpc":"2.0","id":1,"method":"echo"}])"));
    ASSERT_TRUE(v.is_array());
    EXPECT_EQ(v.as_array().size(), 1u);
}

TEST_F(DispatcherTest, InvalidBatchEntriesAreAnsweredInPlace) {
    auto v = parsed(run(R"([{"jsonrpc":"2.0","id":1,"method":"echo"},{"jsonrpc":"1.0","id":2},)"
                        R"(5,{"jsonrpc":"2.0","id":4,"method":"echo"}])"));
    const auto& a = v.as_array();
    ASSERT_EQ(a.size(), 4u);
    EXPECT_TRUE(a[0].as_object().contains("result"));
    EXPECT_EQ(a[1].at("id"), json::value(2));
    EXPECT_EQ(a[1].at("error").at("code"), json::value(kInvalidRequest));
    EXPECT_TRUE(a[2].at("id").is_null());
    EXPECT_EQ(a[2].at("error").at("code"), json::value(kInvalidRequest));
    EXPECT_EQ(a[3].at("id"), json::value(4));
}

TEST_F(DispatcherTest, HandlerThrowingBecomesInternalErrorWithoutDetail) {
    auto v = parsed(run(R"({"jsonrpc":"2.0","id":5,"method":"throw"})"));
    EXPECT_EQ(v.at("id"), json::value(5));
    EXPECT_EQ(v.at("error").at("code"), json::value(kInternalError));
    EXPECT_EQ(std::string(v.at("error").at("message").as_string()).find("boom"), std::string::npos);
    // In a batch, the other calls are still answered.
    auto batch = parsed(run(R"([{"jsonrpc":"2.0","id":1,"method":"throw"},)"
                            R"({"jsonrpc":"2.0","id":2,"method":"echo","params":[7]}])"));
    ASSERT_EQ(batch.as_array().size(), 2u);
    EXPECT_EQ(batch.as_array()[0].at("error").at("code"), json::value(kInternalError));
    EXPECT_EQ(batch.as_array()[1].at("result"), json::parse("[7]"));
}

TEST_F(DispatcherTest, SecondReplyIsIgnored) {
    auto v = parsed(run(R"({"jsonrpc":"2.0","id":1,"method":"twice"})"));
    EXPECT_EQ(v.at("result"), json::value(1));
}

TEST_F(DispatcherTest, TokenOnlyMethodsNeedTheToken) {
    auto refused = parsed(run(R"({"jsonrpc":"2.0","id":1,"method":"secret"})", false));
    EXPECT_EQ(refused.at("error").at("code"), json::value(kUnauthorized));
    EXPECT_NE(std::string(refused.at("error").at("message").as_string()).find("token"),
              std::string::npos);
    auto allowed = parsed(run(R"({"jsonrpc":"2.0","id":1,"method":"secret"})", true));
    EXPECT_EQ(allowed.at("result"), json::value("ok"));
}

TEST_F(DispatcherTest, MethodTableListsEveryRow) {
    std::vector<std::string> names;
    for (const MethodSpec* m : dispatcher_.methods())
        names.push_back(m->name);
    EXPECT_EQ(names, (std::vector<std::string>{"count", "echo", "fail", "later", "secret", "throw",
                                               "twice"}));
    ASSERT_NE(dispatcher_.find("secret"), nullptr);
    EXPECT_EQ(dispatcher_.find("secret")->access, Access::TokenOnly);
    EXPECT_EQ(dispatcher_.find("nothing"), nullptr);
}

TEST(Client, PrincipalIsTheOriginOrTheLocalClient) {
    Client page;
    page.origin = "https://app.example";
    EXPECT_TRUE(page.is_browser());
    EXPECT_EQ(page.principal(), "https://app.example");
    Client local;
    local.token_authenticated = true;
    EXPECT_FALSE(local.is_browser());
    EXPECT_EQ(local.principal(), "local");
}

}  // namespace
}  // namespace keybridge::daemon::rpc
