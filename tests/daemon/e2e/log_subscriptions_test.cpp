// keybridged end to end: many logs subscriptions cost one eth_getLogs per chain and block range
// (issue 9: 1,280 subscriptions made 6,400 eth_getLogs for 5 blocks), each still receives
// exactly its logs, and one origin's chain-feed subscriptions are capped.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

using LogSubscriptions = DaemonTest;

std::string hex_word(std::uint64_t value, std::size_t digits) {
    char buffer[80];
    std::snprintf(buffer, sizeof buffer, "%0*llx", static_cast<int>(digits),
                  static_cast<unsigned long long>(value));
    return "0x" + std::string(buffer);
}
std::string quantity(std::uint64_t value) {
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
    return buffer;
}
std::string address(int k) {
    return hex_word(0xa000 + static_cast<std::uint64_t>(k), 40);
}
std::string topic(int x) {
    return hex_word(0x100 + static_cast<std::uint64_t>(x), 64);
}
std::string block_hash(std::uint64_t n) {
    return hex_word(0xb10c000000ULL + n, 64);
}

constexpr int kAddresses = 8;

// Block n holds one log per address k = 1..8, topics [T(k), T(n % 3)], in that order.
json::array logs_of_block(std::uint64_t n) {
    json::array out;
    for (int k = 1; k <= kAddresses; ++k) {
        out.push_back(json::object{
            {"address", address(k)},
            {"topics", json::array{json::string(topic(k)), json::string(topic(int(n % 3)))}},
            {"data", "0x"},
            {"blockNumber", quantity(n)},
            {"blockHash", block_hash(n)},
            {"transactionHash", hex_word(n * 100 + k, 64)},
            {"transactionIndex", "0x0"},
            {"logIndex", quantity(static_cast<std::uint64_t>(k - 1))},
            {"removed", false}});
    }
    return out;
}

// geth's rule, written here independently of the daemon's LogFilter.
bool test_matches(const json::object& filter, const json::object& log) {
    if (const json::value* a = filter.if_contains("address"); a && !a->is_null()) {
        json::array allowed = a->is_array() ? a->as_array() : json::array{*a};
        bool found = allowed.empty();
        for (const auto& x : allowed)
            found = found || x == log.at("address");
        if (!found) return false;
    }
    if (const json::value* t = filter.if_contains("topics"); t && t->is_array()) {
        const json::array& positions = t->as_array();
        const json::array& present = log.at("topics").as_array();
        if (present.size() < positions.size()) return false;
        for (std::size_t i = 0; i < positions.size(); ++i) {
            if (positions[i].is_null()) continue;
            json::array allowed =
                positions[i].is_array() ? positions[i].as_array() : json::array{positions[i]};
            if (allowed.empty()) continue;
            bool found = false;
            for (const auto& x : allowed)
                found = found || x == present[i];
            if (!found) return false;
        }
    }
    return true;
}

ScriptedNode::Answer result(json::value value) {
    ScriptedNode::Answer answer;
    answer.result = std::move(value);
    return answer;
}

// A chain whose head the test moves, with the logs above, answering eth_getLogs as geth does.
class LogChain {
  public:
    explicit LogChain(ScriptedNode& node) {
        node.on("eth_blockNumber",
                [this](const json::array&) { return result(json::value(quantity(head_.load()))); });
        node.on("eth_getBlockByNumber", [this](const json::array& params) {
            std::uint64_t n = head_.load();
            if (!params.empty() && params[0].is_string() && params[0] != "latest")
                n = std::stoull(std::string(params[0].as_string()), nullptr, 16);
            return result(json::object{{"number", quantity(n)},
                                       {"hash", block_hash(n)},
                                       {"parentHash", block_hash(n - 1)},
                                       {"transactions", json::array{}}});
        });
        node.on("eth_getLogs", [this](const json::array& params) {
            const json::object& filter = params.at(0).as_object();
            const auto from =
                std::stoull(std::string(filter.at("fromBlock").as_string()), nullptr, 16);
            const auto to = std::stoull(std::string(filter.at("toBlock").as_string()), nullptr, 16);
            {
                std::lock_guard lock(mutex_);
                spans_.push_back(to - from + 1);
            }
            json::array out;
            for (auto n = from; n <= to; ++n) {
                for (auto& log : logs_of_block(n)) {
                    if (test_matches(filter, log.as_object())) out.push_back(log);
                }
            }
            return result(std::move(out));
        });
    }
    void set_head(std::uint64_t n) { head_ = n; }
    std::uint64_t head() const { return head_; }
    std::vector<std::uint64_t> spans() const {
        std::lock_guard lock(mutex_);
        return spans_;
    }

  private:
    std::atomic<std::uint64_t> head_{100};
    mutable std::mutex mutex_;
    std::vector<std::uint64_t> spans_;  // blocks covered by each eth_getLogs
};

struct Subscription {
    WsClient* ws;
    std::string id;
    json::object filter;
    std::vector<std::string> received;  // "block:logIndex"
};

// Subscribes `filters` spread over connections of `per_connection`; all from `origin`.
std::vector<Subscription> subscribe_all(std::uint16_t port, const std::string& origin,
                                        const std::vector<json::object>& filters,
                                        std::size_t per_connection,
                                        std::vector<std::unique_ptr<WsClient>>& connections) {
    std::vector<Subscription> subs;
    for (std::size_t i = 0; i < filters.size(); ++i) {
        if (i % per_connection == 0) {
            connections.push_back(std::make_unique<WsClient>(port, Caller{"", origin, false}));
            EXPECT_TRUE(connections.back()->open()) << connections.back()->error();
        }
        WsClient& ws = *connections.back();
        json::value answer = ws.call("eth_subscribe", json::array{"logs", filters[i]});
        EXPECT_TRUE(answer.is_object() && answer.as_object().contains("result")) << answer;
        if (!answer.is_object() || !answer.as_object().contains("result")) continue;
        subs.push_back({&ws, std::string(answer.at("result").as_string()), filters[i], {}});
    }
    return subs;
}

// Reads every connection's notifications until nothing more arrives, then compares each
// subscription's logs with those its filter selects.
void expect_exactly_their_logs(std::vector<Subscription>& subs,
                               const std::vector<std::unique_ptr<WsClient>>& connections,
                               std::uint64_t first, std::uint64_t last) {
    std::map<std::string, Subscription*> by_id;
    std::size_t expected_total = 0;
    std::map<std::string, std::vector<std::string>> expected;
    for (auto& s : subs) {
        by_id[s.id] = &s;
        for (auto n = first; n <= last; ++n) {
            for (const auto& log : logs_of_block(n)) {
                if (test_matches(s.filter, log.as_object())) {
                    expected[s.id].push_back(std::to_string(n) + ":" +
                                             std::string(log.at("logIndex").as_string()));
                    ++expected_total;
                }
            }
        }
    }
    // What each connection must receive; a little longer is waited for anything more.
    std::map<const WsClient*, std::size_t> per_connection;
    for (const auto& s : subs)
        per_connection[s.ws] += expected[s.id].size();
    std::size_t received = 0;
    for (const auto& ws : connections) {
        std::size_t mine = 0;
        for (;;) {
            const bool all_there = mine >= per_connection[ws.get()];
            json::value note = ws->next_notification(all_there ? 300ms : 5s);
            if (note.is_null()) break;
            const json::object& params = note.at("params").as_object();
            const std::string id(params.at("subscription").as_string());
            const json::object& log = params.at("result").as_object();
            auto it = by_id.find(id);
            ASSERT_NE(it, by_id.end()) << note;
            const auto n = std::stoull(std::string(log.at("blockNumber").as_string()), nullptr, 16);
            it->second->received.push_back(std::to_string(n) + ":" +
                                           std::string(log.at("logIndex").as_string()));
            ++received;
            ++mine;
        }
    }
    EXPECT_EQ(received, expected_total);
    for (const auto& s : subs)
        EXPECT_EQ(s.received, expected[s.id])
            << "subscription " << s.id << " filter " << json::serialize(s.filter);
}

// Distinct filters, each naming addresses: the node is asked once per poll for their union.
std::vector<json::object> address_filters(std::size_t count) {
    std::vector<json::object> out;
    for (std::size_t i = 0; i < count; ++i) {
        const int k = static_cast<int>(i % kAddresses) + 1;
        json::object f;
        if (i % 5 == 0) {
            f["address"] =
                json::array{json::string(address(k)), json::string(address(k % kAddresses + 1))};
        } else {
            f["address"] = address(k);
        }
        switch ((i / kAddresses) % 4) {
            case 0:
                break;
            case 1:
                f["topics"] = json::array{json::string(topic(k))};
                break;
            case 2:
                f["topics"] = json::array{nullptr, json::string(topic(int(i % 3)))};
                break;
            case 3:
                f["topics"] =
                    json::array{json::string(topic(k)),
                                json::array{json::string(topic(0)), json::string(topic(1))}};
                break;
        }
        out.push_back(std::move(f));
    }
    return out;
}

TEST_F(LogSubscriptions, ManySubscriptionsShareOneGetLogsPerBlockRange) {
    ScriptedNode node(31337);
    LogChain chain(node);
    ASSERT_NO_FATAL_FAILURE(
        start({"--chain", "31337=" + node.url(), "--chain-id", "31337", "--poll-interval", "100"}));
    std::vector<std::unique_ptr<WsClient>> connections;
    const auto filters = address_filters(160);
    auto subs = subscribe_all(port(), kPageOrigin, filters, 40, connections);
    ASSERT_EQ(subs.size(), 160u);
    const std::uint64_t baseline = chain.head();
    const std::size_t before = node.calls("eth_getLogs");
    EXPECT_EQ(before, 0u);
    constexpr std::uint64_t kBlocks = 5;
    for (std::uint64_t i = 1; i <= kBlocks; ++i) {
        chain.set_head(baseline + i);
        std::this_thread::sleep_for(300ms);
    }
    ASSERT_NO_FATAL_FAILURE(
        expect_exactly_their_logs(subs, connections, baseline + 1, baseline + kBlocks));
    const std::size_t queries = node.calls("eth_getLogs");
    std::set<std::string> distinct;
    for (const auto& f : filters)
        distinct.insert(json::serialize(f));
    std::printf("%zu logs subscriptions (%zu distinct filters), %llu blocks: %zu eth_getLogs\n",
                subs.size(), distinct.size(), static_cast<unsigned long long>(kBlocks), queries);
    // One per poll that found new blocks: at most one per block (before: one per distinct
    // filter and poll, 160 × 5).
    EXPECT_GE(queries, 1u);
    EXPECT_LE(queries, kBlocks);
}

// A subscription without an address: the node is asked for every log, a few blocks at a time,
// and each subscription still gets exactly its own.
TEST_F(LogSubscriptions, AnyAddressSubscriptionsQueryBoundedRanges) {
    ScriptedNode node(31337);
    LogChain chain(node);
    ASSERT_NO_FATAL_FAILURE(
        start({"--chain", "31337=" + node.url(), "--chain-id", "31337", "--poll-interval", "100"}));
    std::vector<std::unique_ptr<WsClient>> connections;
    auto filters = address_filters(30);
    filters.push_back(json::object{{"topics", json::array{nullptr, json::string(topic(2))}}});
    filters.push_back(json::object{});
    auto subs = subscribe_all(port(), kPageOrigin, filters, 16, connections);
    ASSERT_EQ(subs.size(), filters.size());
    const std::uint64_t baseline = chain.head();
    chain.set_head(baseline + 10);  // ten blocks at once: one poll sees them all
    ASSERT_NO_FATAL_FAILURE(
        expect_exactly_their_logs(subs, connections, baseline + 1, baseline + 10));
    const auto spans = chain.spans();
    std::uint64_t covered = 0;
    for (const auto span : spans) {
        EXPECT_LE(span, 4u);
        covered += span;
    }
    EXPECT_EQ(covered, 10u);
    EXPECT_EQ(spans.size(), 3u);  // 4 + 4 + 2
}

// One origin cannot multiply chain-feed subscriptions by opening connections.
TEST_F(LogSubscriptions, OneOriginsSubscriptionsAreCappedOverItsConnections) {
    ScriptedNode node(31337);
    LogChain chain(node);
    ASSERT_NO_FATAL_FAILURE(
        start({"--chain", "31337=" + node.url(), "--chain-id", "31337", "--poll-interval", "100"}));
    std::vector<std::unique_ptr<WsClient>> connections;
    for (int c = 0; c < 4; ++c) {
        connections.push_back(std::make_unique<WsClient>(port(), Caller{"", kPageOrigin, false}));
        ASSERT_TRUE(connections.back()->open());
        for (int i = 0; i < 64; ++i) {
            json::value answer = connections.back()->call("eth_subscribe", json::array{"newHeads"});
            ASSERT_TRUE(answer.as_object().contains("result")) << answer;
        }
    }
    WsClient fifth(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(fifth.open());
    json::value refused = fifth.call("eth_subscribe", json::array{"logs", json::object{}});
    ASSERT_TRUE(refused.as_object().contains("error")) << refused;
    EXPECT_EQ(refused.at("error").at("code"), json::value(-32005));
    EXPECT_NE(std::string(refused.at("error").at("message").as_string()).find("per origin"),
              std::string::npos)
        << refused;
    // Another origin is not affected; nor is this one once it cancels one.
    WsClient other(port(), Caller{"", "http://other.example", false});
    ASSERT_TRUE(other.open());
    EXPECT_TRUE(
        other.call("eth_subscribe", json::array{"newHeads"}).as_object().contains("result"));
    connections.front().reset();  // closing a connection cancels its 64
    bool accepted = false;
    for (int attempt = 0; attempt < 50 && !accepted; ++attempt) {
        accepted =
            fifth.call("eth_subscribe", json::array{"newHeads"}).as_object().contains("result");
        if (!accepted) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(accepted);
}

}  // namespace
}  // namespace keybridge::test::e2e
