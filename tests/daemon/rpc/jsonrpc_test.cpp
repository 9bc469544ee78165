#include "daemon/rpc/jsonrpc.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::daemon::rpc {
namespace {

namespace json = boost::json;

// Parses text that must fail as a whole payload; returns that error.
RpcError payload_error(std::string_view text, const ParseLimits& limits = {}) {
    auto parsed = parse_payload(text, limits);
    EXPECT_TRUE(std::holds_alternative<RpcError>(parsed)) << text;
    if (!std::holds_alternative<RpcError>(parsed)) return {};
    return std::get<RpcError>(parsed);
}

// Parses text that must be a valid payload.
Payload payload(std::string_view text, const ParseLimits& limits = {}) {
    auto parsed = parse_payload(text, limits);
    EXPECT_TRUE(std::holds_alternative<Payload>(parsed)) << text;
    if (!std::holds_alternative<Payload>(parsed)) return {};
    return std::get<Payload>(parsed);
}

// A single request whose only entry must be invalid; returns that entry.
Payload::Entry invalid_entry(std::string_view text) {
    Payload p = payload(text);
    EXPECT_EQ(p.entries.size(), 1u) << text;
    if (p.entries.size() != 1) return {};
    EXPECT_FALSE(p.entries[0].call.has_value()) << text;
    EXPECT_TRUE(p.entries[0].error.has_value()) << text;
    return p.entries[0];
}

std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

TEST(JsonRpcParse, NotJsonIsParseError) {
    for (std::string_view text : {"", "{", "not json", "{\"jsonrpc\":\"2.0\",}", "{}x", "[1,2",
                                  "{'jsonrpc':'2.0'}", "\x01\x02\x03"}) {
        RpcError e = payload_error(text);
        EXPECT_EQ(e.code, kParseError) << text;
        EXPECT_NE(e.message.find("invalid JSON"), std::string::npos) << e.message;
    }
}

TEST(JsonRpcParse, InvalidUtf8IsParseError) {
    const std::string text =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":[\"\xff\xfe\"]}";
    EXPECT_EQ(payload_error(text).code, kParseError);
    const std::string overlong = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc0\xaf\"}";
    EXPECT_EQ(payload_error(overlong).code, kParseError);
}

TEST(JsonRpcParse, TooDeepIsParseErrorNamingTheLimit) {
    ParseLimits limits;
    limits.max_depth = 8;
    const std::string deep =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":" + nested_arrays(20) + "}";
    RpcError e = payload_error(deep, limits);
    EXPECT_EQ(e.code, kParseError);
    EXPECT_NE(e.message.find("deeper than 8"), std::string::npos) << e.message;
    // Just inside the limit parses (the request object itself is one level).
    const std::string ok =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":" + nested_arrays(7) + "}";
    EXPECT_TRUE(std::holds_alternative<Payload>(parse_payload(ok, limits)));
}

TEST(JsonRpcParse, TooLargeIsLimitErrorNamingTheLimit) {
    ParseLimits limits;
    limits.max_bytes = 64;
    const std::string text = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":[\"" +
                             std::string(100, 'a') + "\"]}";
    RpcError e = payload_error(text, limits);
    EXPECT_EQ(e.code, kLimitExceeded);
    EXPECT_NE(e.message.find("64 bytes"), std::string::npos) << e.message;
    // Exactly at the limit is accepted.
    std::string exact = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}";
    exact.insert(exact.size() - 1, std::string(64 - exact.size(), ' '));
    ASSERT_EQ(exact.size(), 64u);
    EXPECT_TRUE(std::holds_alternative<Payload>(parse_payload(exact, limits)));
}

TEST(JsonRpcParse, EmptyBatchIsInvalidRequest) {
    RpcError e = payload_error("[]");
    EXPECT_EQ(e.code, kInvalidRequest);
    EXPECT_NE(e.message.find("empty batch"), std::string::npos);
    EXPECT_EQ(payload_error(" [ ] ").code, kInvalidRequest);
}

TEST(JsonRpcParse, BatchTooLongIsLimitError) {
    ParseLimits limits;
    limits.max_batch = 3;
    const std::string call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}";
    RpcError e = payload_error("[" + call + "," + call + "," + call + "," + call + "]", limits);
    EXPECT_EQ(e.code, kLimitExceeded);
    EXPECT_NE(e.message.find("longer than 3"), std::string::npos) << e.message;
    Payload p = payload("[" + call + "," + call + "," + call + "]", limits);
    EXPECT_TRUE(p.is_batch);
    EXPECT_EQ(p.entries.size(), 3u);
}

TEST(JsonRpcParse, TopLevelScalarIsInvalidRequest) {
    for (std::string_view text : {"1", "\"eth_chainId\"", "null", "true"}) {
        EXPECT_EQ(payload_error(text).code, kInvalidRequest) << text;
    }
}

TEST(JsonRpcParse, WrongJsonrpcVersionIsInvalidRequestAndEchoesId) {
    for (std::string_view text :
         {R"({"id":7,"method":"m"})", R"({"jsonrpc":"1.0","id":7,"method":"m"})",
          R"({"jsonrpc":2.0,"id":7,"method":"m"})", R"({"jsonrpc":"2.0 ","id":7,"method":"m"})",
          R"({"jsonrpc":null,"id":7,"method":"m"})"}) {
        auto entry = invalid_entry(text);
        ASSERT_TRUE(entry.error) << text;
        EXPECT_EQ(entry.error->code, kInvalidRequest) << text;
        EXPECT_NE(entry.error->message.find("jsonrpc"), std::string::npos);
        EXPECT_EQ(entry.error_id, json::value(7)) << text;
    }
}

TEST(JsonRpcParse, BadIdTypesAreInvalidRequestWithNullId) {
    for (std::string_view text :
         {R"({"jsonrpc":"2.0","id":{},"method":"m"})", R"({"jsonrpc":"2.0","id":[1],"method":"m"})",
          R"({"jsonrpc":"2.0","id":true,"method":"m"})",
          R"({"jsonrpc":"2.0","id":false,"method":"m"})"}) {
        auto entry = invalid_entry(text);
        ASSERT_TRUE(entry.error) << text;
        EXPECT_EQ(entry.error->code, kInvalidRequest) << text;
        EXPECT_NE(entry.error->message.find("id must be"), std::string::npos);
        EXPECT_TRUE(entry.error_id.is_null()) << text;
    }
}

TEST(JsonRpcParse, MethodMustBeANonEmptyString) {
    for (std::string_view text :
         {R"({"jsonrpc":"2.0","id":"a"})", R"({"jsonrpc":"2.0","id":"a","method":""})",
          R"({"jsonrpc":"2.0","id":"a","method":5})",
          R"({"jsonrpc":"2.0","id":"a","method":null})"}) {
        auto entry = invalid_entry(text);
        ASSERT_TRUE(entry.error) << text;
        EXPECT_EQ(entry.error->code, kInvalidRequest) << text;
        EXPECT_EQ(entry.error_id, json::value("a")) << text;
    }
}

TEST(JsonRpcParse, ParamsMustBeArrayOrObject) {
    for (std::string_view text : {R"({"jsonrpc":"2.0","id":3,"method":"m","params":"x"})",
                                  R"({"jsonrpc":"2.0","id":3,"method":"m","params":1})",
                                  R"({"jsonrpc":"2.0","id":3,"method":"m","params":true})",
                                  R"({"jsonrpc":"2.0","id":3,"method":"m","params":null})"}) {
        auto entry = invalid_entry(text);
        ASSERT_TRUE(entry.error) << text;
        EXPECT_EQ(entry.error->code, kInvalidRequest) << text;
        EXPECT_NE(entry.error->message.find("params"), std::string::npos);
        EXPECT_EQ(entry.error_id, json::value(3)) << text;
    }
    Payload arr = payload(R"({"jsonrpc":"2.0","id":3,"method":"m","params":[1,2]})");
    ASSERT_TRUE(arr.entries.at(0).call);
    EXPECT_TRUE(arr.entries[0].call->params.is_array());
    Payload obj = payload(R"({"jsonrpc":"2.0","id":3,"method":"m","params":{"a":1}})");
    ASSERT_TRUE(obj.entries.at(0).call);
    EXPECT_TRUE(obj.entries[0].call->params.is_object());
    Payload none = payload(R"({"jsonrpc":"2.0","id":3,"method":"m"})");
    ASSERT_TRUE(none.entries.at(0).call);
    EXPECT_TRUE(none.entries[0].call->params.is_null());
}

TEST(JsonRpcParse, RequestMustBeAnObject) {
    Payload p = payload(R"([1, "x", null])");
    ASSERT_EQ(p.entries.size(), 3u);
    for (const auto& e : p.entries) {
        ASSERT_TRUE(e.error);
        EXPECT_EQ(e.error->code, kInvalidRequest);
        EXPECT_TRUE(e.error_id.is_null());
    }
}

TEST(JsonRpcParse, NotificationHasNoId) {
    Payload p = payload(R"({"jsonrpc":"2.0","method":"m","params":[]})");
    ASSERT_EQ(p.entries.size(), 1u);
    ASSERT_TRUE(p.entries[0].call);
    EXPECT_TRUE(p.entries[0].call->is_notification());
    EXPECT_FALSE(p.is_batch);
    // An explicit null id is a call (answered with id null), not a notification.
    Payload with_null = payload(R"({"jsonrpc":"2.0","id":null,"method":"m"})");
    ASSERT_TRUE(with_null.entries.at(0).call);
    EXPECT_FALSE(with_null.entries[0].call->is_notification());
}

TEST(JsonRpcParse, BatchKeepsInvalidEntriesInPlace) {
    Payload p =
        payload(R"([{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"1.0","id":2,"method":"b"},)"
                R"({"jsonrpc":"2.0","method":"c"},42])");
    ASSERT_TRUE(p.is_batch);
    ASSERT_EQ(p.entries.size(), 4u);
    ASSERT_TRUE(p.entries[0].call);
    EXPECT_EQ(p.entries[0].call->method, "a");
    ASSERT_TRUE(p.entries[1].error);
    EXPECT_EQ(p.entries[1].error_id, json::value(2));
    ASSERT_TRUE(p.entries[2].call);
    EXPECT_TRUE(p.entries[2].call->is_notification());
    ASSERT_TRUE(p.entries[3].error);
}

TEST(JsonRpcParse, IdsAreKeptExactly) {
    struct Case {
        std::string id_text;
    };
    const Case cases[] = {{"\"abc\""},
                          {"\"\""},
                          {"\"0x1\""},
                          {"\"with \\\"quotes\\\" and \\\\\""},
                          {"0"},
                          {"-1"},
                          {"42"},
                          {"9007199254740993"},
                          {"-9223372036854775808"},
                          {"18446744073709551615"}};
    for (const auto& c : cases) {
        const std::string text = R"({"jsonrpc":"2.0","method":"m","id":)" + c.id_text + "}";
        Payload p = payload(text);
        ASSERT_TRUE(p.entries.at(0).call) << text;
        const json::value& id = *p.entries[0].call->id;
        // The response echoes it byte for byte as the request spelled it.
        const std::string response = json::serialize(make_result(id, json::value(true)));
        EXPECT_NE(response.find("\"id\":" + c.id_text), std::string::npos)
            << "request id " << c.id_text << " answered as " << response;
    }
    // Escapes may be spelled differently, but the string is the same.
    Payload p = payload(R"({"jsonrpc":"2.0","method":"m","id":"\u00e9t\u00e9"})");
    ASSERT_TRUE(p.entries.at(0).call);
    EXPECT_EQ(*p.entries[0].call->id, json::value("\xc3\xa9t\xc3\xa9"));
}

// Numbers a double cannot hold (1e400 would become infinity, which JSON cannot express) are
// echoed exactly as the request spelled them, so every answer stays valid JSON.
TEST(JsonRpcParse, NumericIdsAreEchoedAsSpelled) {
    const std::string huge_integer = "1" + std::string(399, '7');
    for (const std::string& id_text :
         {std::string("1e400"), std::string("-1E+400"), huge_integer, "-" + huge_integer,
          std::string("1.5e-400"), std::string("123456789012345678901234567890"),
          std::string("1.50"), std::string("0.1e1"), std::string("42")}) {
        const std::string text = R"({"jsonrpc":"2.0","method":"m","id":)" + id_text + "}";
        Payload p = payload(text);
        ASSERT_TRUE(p.entries.at(0).call) << text;
        EXPECT_EQ(p.entries[0].call->id_text, id_text);
        const std::string answer = result_text(p.entries[0].call->id_text, json::value(true));
        EXPECT_EQ(answer, R"({"jsonrpc":"2.0","id":)" + id_text + R"(,"result":true})");
        json::error_code ec;
        json::parse(answer, ec);
        EXPECT_FALSE(ec) << answer;
        // An invalid request echoes it the same way in its error.
        const std::string bad = R"({"jsonrpc":"1.0","method":"m","id":)" + id_text + "}";
        Payload::Entry entry = invalid_entry(bad);
        EXPECT_EQ(entry.id_text, id_text);
        EXPECT_EQ(error_text(entry.id_text, *entry.error),
                  R"({"jsonrpc":"2.0","id":)" + id_text +
                      R"(,"error":{"code":-32600,"message":"jsonrpc must be \"2.0\""}})");
    }
}

TEST(JsonRpcParse, BatchIdsAreEchoedAsSpelledPerElement) {
    Payload p = payload(
        R"([{"jsonrpc":"2.0","id":1e400,"method":"a"},{"jsonrpc":"2.0","id":"s","method":"b"},)"
        R"({"jsonrpc":"2.0","method":"c","params":{"id":2e400}},)"
        R"({"jsonrpc":"2.0","id":3,"method":"d","params":[{"id":4e999}]},)"
        R"({"jsonrpc":"1.0","id":-5e500,"method":"e"},)"
        R"({"jsonrpc":"2.0","id":1e400,"id":7,"method":"f"},)"
        R"({"jsonrpc":"2.0","id":6e400,"id":null,"method":"g"}])");
    ASSERT_EQ(p.entries.size(), 7u);
    EXPECT_EQ(p.entries[0].call->id_text, "1e400");
    EXPECT_EQ(p.entries[1].call->id_text, "\"s\"");
    EXPECT_TRUE(p.entries[2].call->is_notification());  // an "id" in params is not the id
    EXPECT_EQ(p.entries[3].call->id_text, "3");
    EXPECT_EQ(p.entries[4].id_text, "-5e500");
    EXPECT_EQ(p.entries[5].call->id_text, "7");  // the member the object keeps: the last
    EXPECT_EQ(p.entries[6].call->id_text, "null");
}

TEST(JsonRpcMessages, ResultErrorAndNotificationShapes) {
    EXPECT_EQ(json::serialize(make_result(json::value(1), json::value("0x1"))),
              R"({"jsonrpc":"2.0","id":1,"result":"0x1"})");
    EXPECT_EQ(json::serialize(make_error(nullptr, RpcError{kInvalidRequest, "bad", std::nullopt})),
              R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad"}})");
    EXPECT_EQ(json::serialize(make_error(json::value("x"), RpcError{4001, "no", json::value(5)})),
              R"({"jsonrpc":"2.0","id":"x","error":{"code":4001,"message":"no","data":5}})");
    EXPECT_EQ(json::serialize(make_notification("eth_subscription", json::object{{"a", 1}})),
              R"({"jsonrpc":"2.0","method":"eth_subscription","params":{"a":1}})");
}

TEST(JsonRpcErrors, CoreErrorCodesMapToRpcNumbers) {
    using core::ErrorCode;
    EXPECT_EQ(to_rpc_error({ErrorCode::InvalidArgument, "x"}).code, kInvalidParams);
    EXPECT_EQ(to_rpc_error({ErrorCode::InvalidFormat, "x"}).code, kInvalidParams);
    EXPECT_EQ(to_rpc_error({ErrorCode::NotSupported, "x"}).code, kUnsupportedMethod);
    EXPECT_EQ(to_rpc_error({ErrorCode::UserCancelled, ""}).code, kUserRejected);
    EXPECT_EQ(to_rpc_error({ErrorCode::UserCancelled, ""}).message, "User denied the request.");
    EXPECT_EQ(to_rpc_error({ErrorCode::LimitExceeded, "full"}).code, kLimitExceeded);
    EXPECT_EQ(to_rpc_error({ErrorCode::Disconnected, "bye"}).code, kDisconnected);
    // Internal errors never leak their detail.
    EXPECT_EQ(to_rpc_error({ErrorCode::Internal, "secret detail"}).message, "internal error");
}

}  // namespace
}  // namespace keybridge::daemon::rpc
