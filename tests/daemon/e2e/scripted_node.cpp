#include "tests/daemon/e2e/scripted_node.h"

#include <algorithm>
#include <cstdio>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "core/bytes.h"
#include "core/hash.h"

namespace keybridge::test::e2e {

namespace http = boost::beast::http;
namespace json = boost::json;
using boost::asio::ip::tcp;

namespace {

std::string hex_quantity(std::uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

// Removes the delay a handler asked for from one reply object (it is not part of the answer).
std::chrono::milliseconds take_delay(json::value& reply) {
    auto* object = reply.if_object();
    if (!object) return std::chrono::milliseconds(0);
    auto it = object->find("delay_ms");
    if (it == object->end()) return std::chrono::milliseconds(0);
    std::chrono::milliseconds delay(it->value().as_int64());
    object->erase(it);
    return delay;
}

}  // namespace

ScriptedNode::ScriptedNode(std::uint64_t chain_id)
    : chain_id_(chain_id),
      acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    answer("eth_chainId", json::string(hex_quantity(chain_id_)));
    acceptor_thread_ = std::thread([this] { accept_loop(); });
}

ScriptedNode::~ScriptedNode() {
    stopping_ = true;
    boost::system::error_code ignored;
    // Wakes the blocked accept with a connection of our own, then closes the acceptor.
    {
        tcp::socket poke(io_);
        poke.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_), ignored);
    }
    acceptor_thread_.join();
    acceptor_.close(ignored);
    std::vector<std::thread> connections;
    {
        std::lock_guard lock(mutex_);
        connections.swap(connections_);
    }
    for (auto& t : connections)
        t.join();
}

void ScriptedNode::on(const std::string& method, Handler handler) {
    std::lock_guard lock(mutex_);
    handlers_[method] = std::move(handler);
}

void ScriptedNode::answer(const std::string& method, json::value result,
                          std::chrono::milliseconds delay) {
    on(method, [result = std::move(result), delay](const json::array&) {
        return Answer{result, std::nullopt, delay};
    });
}

std::string ScriptedNode::url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/";
}

std::size_t ScriptedNode::calls(const std::string& method) const {
    std::lock_guard lock(mutex_);
    auto it = calls_.find(method);
    return it == calls_.end() ? 0 : it->second;
}

void ScriptedNode::serve_defaults() {
    answer("eth_getTransactionCount", "0x5");
    answer("eth_getBalance", "0x56bc75e2d63100000");  // 100 ETH
    answer("eth_estimateGas", "0x5208");
    answer("eth_gasPrice", "0x3b9aca00");  // 1 gwei
    answer("eth_maxPriorityFeePerGas", "0x3b9aca00");
    answer("eth_blockNumber", "0x10");
    json::object block{{"number", "0x10"},
                       {"hash", "0x" + std::string(64, '1')},
                       {"parentHash", "0x" + std::string(64, '0')},
                       {"timestamp", "0x6553f100"},
                       {"gasLimit", "0x1c9c380"},  // 30,000,000
                       {"gasUsed", "0x0"},
                       {"baseFeePerGas", "0x3b9aca00"},
                       {"transactions", json::array{}}};
    answer("eth_getBlockByNumber", block);
    json::array base_fees, ratios, rewards;
    for (int i = 0; i < 11; ++i)
        base_fees.push_back("0x3b9aca00");
    for (int i = 0; i < 10; ++i) {
        ratios.push_back(0.5);
        rewards.push_back(json::array{"0x3b9aca00"});
    }
    answer("eth_feeHistory", json::object{{"oldestBlock", "0x7"},
                                          {"baseFeePerGas", base_fees},
                                          {"gasUsedRatio", ratios},
                                          {"reward", rewards}});
    on("eth_sendRawTransaction", [](const json::array& params) {
        Answer out;
        auto raw = params.empty() || !params[0].is_string()
                       ? core::Result<core::Bytes>(core::Bytes{})
                       : core::hex_decode(std::string_view(params[0].as_string()));
        if (!raw || raw->empty()) {
            out.error = json::object{{"code", -32602}, {"message", "bad raw transaction"}};
            return out;
        }
        out.result = json::string(core::hex_encode(core::keccak256(*raw)));
        return out;
    });
}

void ScriptedNode::accept_loop() {
    while (!stopping_) {
        tcp::socket socket(io_);
        boost::system::error_code error;
        acceptor_.accept(socket, error);
        if (error || stopping_) break;
        std::lock_guard lock(mutex_);
        connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
}

void ScriptedNode::serve(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    while (!stopping_) {
        http::request<http::string_body> request;
        boost::system::error_code error;
        http::read(socket, buffer, request, error);
        if (error) return;
        json::value reply;
        boost::system::error_code parse_error;
        json::value body = json::parse(request.body(), parse_error);
        std::chrono::milliseconds delay{0};
        if (parse_error) {
            reply = json::object{{"jsonrpc", "2.0"},
                                 {"id", nullptr},
                                 {"error", {{"code", -32700}, {"message", "parse error"}}}};
        } else if (body.is_array()) {
            json::array replies;
            for (const auto& one : body.as_array())
                replies.push_back(dispatch(one));
            reply = std::move(replies);
        } else {
            reply = dispatch(body);
        }
        if (reply.is_array()) {
            for (auto& one : reply.as_array())
                delay = std::max(delay, take_delay(one));
        } else {
            delay = take_delay(reply);
        }
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        http::response<http::string_body> response(http::status::ok, request.version());
        response.set(http::field::content_type, "application/json");
        response.keep_alive(request.keep_alive());
        response.body() = json::serialize(reply);
        response.prepare_payload();
        http::write(socket, response, error);
        if (error || !request.keep_alive()) return;
    }
}

json::value ScriptedNode::dispatch(const json::value& request) {
    const auto* object = request.if_object();
    json::value id = nullptr;
    std::string method;
    json::array params;
    if (object) {
        if (auto it = object->find("id"); it != object->end()) id = it->value();
        if (auto it = object->find("method"); it != object->end() && it->value().is_string())
            method = std::string(it->value().as_string());
        if (auto it = object->find("params"); it != object->end() && it->value().is_array())
            params = it->value().as_array();
    }
    Handler handler;
    {
        std::lock_guard lock(mutex_);
        ++calls_[method];
        if (auto it = handlers_.find(method); it != handlers_.end()) handler = it->second;
    }
    json::object reply{{"jsonrpc", "2.0"}, {"id", id}};
    if (!handler) {
        reply["error"] = {{"code", -32601}, {"message", "method not found: " + method}};
        return reply;
    }
    Answer answer = handler(params);
    if (answer.error)
        reply["error"] = *answer.error;
    else
        reply["result"] = answer.result;
    // The delay travels with the reply to serve(), which sleeps before writing it.
    if (answer.delay.count() > 0) reply["delay_ms"] = answer.delay.count();
    return reply;
}

}  // namespace keybridge::test::e2e
