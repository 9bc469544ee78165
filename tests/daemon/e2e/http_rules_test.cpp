// keybridged end to end: the connection rules (Host, token, Origin), CORS, preflights and the
// HTTP framing of JSON-RPC.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

using HttpRules = DaemonTest;

bool is_json_rpc_error(const HttpResponse& res, int code) {
    json::value v = res.json();
    return v.is_object() && v.as_object().contains("error") &&
           v.at("error").at("code") == json::value(code);
}

// Any page may learn that keybridged is there, nothing more: whether the vault is unlocked (and
// the version) only with the token.
TEST_F(HttpRules, HealthSaysOnlyUpWithoutTheToken) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpRequest req;
    req.method = "GET";
    req.target = "/health";
    req.content_type.clear();
    HttpResponse res = http_request(port(), req);
    ASSERT_EQ(res.status, 200) << res.error;
    EXPECT_EQ(res.header("Content-Type"), "application/json");
    EXPECT_EQ(res.header("Cache-Control"), "no-store");
    EXPECT_EQ(res.json(), json::parse(R"({"status":"up"})")) << res.body;
    EXPECT_FALSE(res.has_header("Access-Control-Allow-Origin"));
    // From a page: CORS names the page, and the page learns no more.
    HttpRequest from_page_req = req;
    from_page_req.headers.emplace_back("Origin", kPageOrigin);
    HttpResponse from_page = http_request(port(), from_page_req);
    EXPECT_EQ(from_page.status, 200);
    EXPECT_EQ(from_page.header("Access-Control-Allow-Origin"), kPageOrigin);
    EXPECT_EQ(from_page.json(), json::parse(R"({"status":"up"})")) << from_page.body;
    // A wrong token is no token.
    std::string wrong_token = token_;
    wrong_token.back() = wrong_token.back() == 'a' ? 'b' : 'a';
    HttpRequest wrong = req;
    wrong.headers.emplace_back("Authorization", "Bearer " + wrong_token);
    EXPECT_EQ(http_request(port(), wrong).json(), json::parse(R"({"status":"up"})"));
}

TEST_F(HttpRules, HealthGivesTheDetailWithTheToken) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpRequest req;
    req.method = "GET";
    req.target = "/health";
    req.content_type.clear();
    req.headers.emplace_back("Authorization", "Bearer " + token_);
    // "starting" while the --password-file unlock at start runs (scrypt: longer on a loaded
    // machine), then "ok".
    HttpResponse res;
    json::value v;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {
        res = http_request(port(), req);
        ASSERT_EQ(res.status, 200) << res.error;
        v = res.json();
        if (v.at("status") != json::value("starting")) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(v.at("status"), json::value("ok"));
    EXPECT_EQ(v.at("unlocked"), json::value(true));
    EXPECT_TRUE(v.at("version").is_string());
    // ?token= works as for JSON-RPC; after keybridge_lock the detail says so.
    local().result("keybridge_lock");
    HttpRequest query;
    query.method = "GET";
    query.target = "/health?token=" + token_;
    query.content_type.clear();
    EXPECT_EQ(http_request(port(), query).json().at("unlocked"), json::value(false));
}

TEST_F(HttpRules, NoOriginAndNoTokenIsUnauthorized) {
    ASSERT_NO_FATAL_FAILURE(start());
    RpcClient anonymous(port(), Caller{});
    HttpResponse res = anonymous.post(body("eth_chainId"));
    EXPECT_EQ(res.status, 401);
    EXPECT_TRUE(is_json_rpc_error(res, 4100)) << res.body;
    EXPECT_NE(res.body.find(".cookie"), std::string::npos) << res.body;
    // The WebSocket upgrade is refused the same way.
    WsClient ws(port(), Caller{});
    EXPECT_FALSE(ws.open());
    EXPECT_EQ(ws.refused_status(), 401) << ws.error();
}

TEST_F(HttpRules, BearerAndQueryTokensWork) {
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_EQ(local().result("eth_chainId"), json::value("0x1"));
    RpcClient query(port(), Caller{token_, "", true});
    EXPECT_EQ(query.result("eth_chainId"), json::value("0x1"));
    // Token-only methods answer a token holder...
    json::value status = query.result("keybridge_status");
    EXPECT_EQ(status.at("unlocked"), json::value(true));
    EXPECT_EQ(status.at("accounts"), json::value(1));
    // ... over WebSocket too, with either form.
    WsClient bearer(port(), local_caller());
    ASSERT_TRUE(bearer.open()) << bearer.error();
    EXPECT_EQ(bearer.call("eth_chainId").at("result"), json::value("0x1"));
    WsClient in_query(port(), Caller{token_, "", true});
    ASSERT_TRUE(in_query.open()) << in_query.error();
    EXPECT_EQ(in_query.call("keybridge_status").at("result").at("unlocked"), json::value(true));
}

TEST_F(HttpRules, WrongTokenIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start());
    std::string wrong = token_;
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    for (const std::string& t : {wrong, token_.substr(0, 63), token_ + "0", std::string("x")}) {
        RpcClient bearer(port(), Caller{t, "", false});
        HttpResponse res = bearer.post(body("eth_chainId"));
        EXPECT_EQ(res.status, 401) << t;
        EXPECT_TRUE(is_json_rpc_error(res, 4100)) << res.body;
        RpcClient query(port(), Caller{t, "", true});
        EXPECT_EQ(query.post(body("eth_chainId")).status, 401) << t;
    }
    // A page that presents a wrong token is just a page: no token-only methods.
    RpcClient page_with_wrong(port(), Caller{wrong, kPageOrigin, false});
    EXPECT_EQ(page_with_wrong.error_code("keybridge_status"), 4100);
    EXPECT_EQ(page().error_code("keybridge_pendingApprovals"), 4100);
    EXPECT_EQ(page().error_code("keybridge_decide", json::array{1, "approve"}), 4100);
    // rpc_methods hides them from pages.
    json::value methods = page().result("rpc_methods");
    ASSERT_TRUE(methods.is_array());
    EXPECT_GT(methods.as_array().size(), 20u);
    // Except the browser extension's three: any caller may try them, they check the extension's
    // origin and pairing themselves.
    for (const auto& m : methods.as_array()) {
        const std::string name(m.at("name").as_string());
        if (name == "keybridge_pair" || name == "keybridge_relay" || name == "keybridge_pageLogin")
            continue;
        EXPECT_NE(name.rfind("keybridge_", 0), 0u) << m;
    }
}

TEST_F(HttpRules, ForeignHostIsRefusedBeforeJsonIsRead) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string wrong_port = "127.0.0.1:" + std::to_string(port() == 65535 ? 1 : port() + 1);
    for (const std::string& host : {std::string("evil.com"), "evil.com:" + std::to_string(port()),
                                    "attacker.localhost:" + std::to_string(port()), wrong_port,
                                    std::string("127.0.0.1"), std::string("")}) {
        HttpRequest req = local().request("this is { not json");
        req.host = host;
        HttpResponse res = http_request(port(), req);
        EXPECT_EQ(res.status, 403) << "Host: " << host << " → " << res.status << " " << res.body;
        // Refused before the body was parsed: no JSON-RPC parse error.
        EXPECT_EQ(res.body.find("-32700"), std::string::npos) << res.body;
        EXPECT_FALSE(res.keep_alive);
    }
    // HTTP/1.0 without Host as well.
    HttpRequest old = local().request(body("eth_chainId"));
    old.version = 10;
    old.host = "";
    EXPECT_EQ(http_request(port(), old).status, 403);
    // Our own names pass.
    for (const std::string& host :
         {"localhost:" + std::to_string(port()), "127.0.0.1:" + std::to_string(port())}) {
        HttpRequest req = local().request(body("eth_chainId"));
        req.host = host;
        EXPECT_EQ(http_request(port(), req).status, 200) << host;
    }
    // The WebSocket upgrade too.
    WsClient::Options options;
    options.host = "evil.com:" + std::to_string(port());
    options.headers.emplace_back("Authorization", "Bearer " + token_);
    WsClient ws(port(), options);
    EXPECT_FALSE(ws.open());
    EXPECT_EQ(ws.refused_status(), 403);
}

TEST_F(HttpRules, NullAndMalformedOriginsAreRefused) {
    ASSERT_NO_FATAL_FAILURE(start());
    for (const char* origin : {"null", "http://localhost:3000/", "http://user@localhost:3000",
                               "file://", "localhost:3000"}) {
        RpcClient client(port(), Caller{"", origin, false});
        HttpResponse res = client.post(body("eth_accounts"));
        EXPECT_EQ(res.status, 403) << origin;
        EXPECT_FALSE(res.has_header("Access-Control-Allow-Origin")) << origin;
        // Even with the token: a sandboxed frame must not borrow it.
        RpcClient with_token(port(), Caller{token_, origin, false});
        EXPECT_EQ(with_token.post(body("eth_accounts")).status, 403) << origin;
    }
    WsClient ws(port(), Caller{"", "null", false});
    EXPECT_FALSE(ws.open());
    EXPECT_EQ(ws.refused_status(), 403);
}

TEST_F(HttpRules, CorsNamesTheOriginNeverAStar) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpResponse ok = page().post(body("eth_chainId"));
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.header("Access-Control-Allow-Origin"), kPageOrigin);
    EXPECT_NE(ok.header("Vary").find("Origin"), std::string::npos);
    const std::string other = "https://other.example";
    HttpResponse from_other = page(other).post(body("eth_chainId"));
    EXPECT_EQ(from_other.header("Access-Control-Allow-Origin"), other);
    // Errors answered to a page carry it too, so the page can read them.
    HttpResponse wrong_type = page().post(body("eth_chainId"), "text/plain");
    EXPECT_EQ(wrong_type.status, 415);
    EXPECT_EQ(wrong_type.header("Access-Control-Allow-Origin"), kPageOrigin);
    HttpRequest not_found = page().request(body("eth_chainId"));
    not_found.target = "/nothing";
    HttpResponse nf = http_request(port(), not_found);
    EXPECT_EQ(nf.status, 404);
    EXPECT_EQ(nf.header("Access-Control-Allow-Origin"), kPageOrigin);
    HttpResponse parse_error = page().post("{");
    EXPECT_EQ(parse_error.header("Access-Control-Allow-Origin"), kPageOrigin);
    EXPECT_TRUE(is_json_rpc_error(parse_error, -32700));
    // A token client without Origin gets no CORS headers at all.
    HttpResponse local_res = local().post(body("eth_chainId"));
    EXPECT_FALSE(local_res.has_header("Access-Control-Allow-Origin"));
    for (const HttpResponse* r : {&ok, &from_other, &wrong_type, &nf, &parse_error}) {
        EXPECT_NE(r->header("Access-Control-Allow-Origin"), "*");
        EXPECT_FALSE(r->has_header("Access-Control-Allow-Credentials"));
    }
}

TEST_F(HttpRules, PreflightAnswersThePage) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpRequest pre;
    pre.method = "OPTIONS";
    pre.content_type.clear();
    pre.headers = {{"Origin", kPageOrigin},
                   {"Access-Control-Request-Method", "POST"},
                   {"Access-Control-Request-Headers", "content-type"}};
    HttpResponse res = http_request(port(), pre);
    EXPECT_EQ(res.status, 204);
    EXPECT_EQ(res.header("Access-Control-Allow-Origin"), kPageOrigin);
    EXPECT_NE(res.header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
    EXPECT_NE(res.header("Access-Control-Allow-Headers").find("Content-Type"), std::string::npos);
    EXPECT_FALSE(res.has_header("Access-Control-Allow-Private-Network"));
    // Private Network Access (Chrome): a public page asks to reach a loopback server.
    pre.headers.emplace_back("Access-Control-Request-Private-Network", "true");
    HttpResponse pna = http_request(port(), pre);
    EXPECT_EQ(pna.status, 204);
    EXPECT_EQ(pna.header("Access-Control-Allow-Private-Network"), "true");
    EXPECT_EQ(pna.header("Access-Control-Allow-Origin"), kPageOrigin);
    // Without an Origin there is nothing to allow.
    HttpRequest bare;
    bare.method = "OPTIONS";
    bare.content_type.clear();
    HttpResponse no_origin = http_request(port(), bare);
    EXPECT_EQ(no_origin.status, 204);
    EXPECT_FALSE(no_origin.has_header("Access-Control-Allow-Origin"));
    // Opaque origins and foreign hosts are refused here as everywhere.
    HttpRequest null_origin = pre;
    null_origin.headers[0].second = "null";
    EXPECT_EQ(http_request(port(), null_origin).status, 403);
    HttpRequest rebinding = pre;
    rebinding.host = "evil.com:" + std::to_string(port());
    EXPECT_EQ(http_request(port(), rebinding).status, 403);
}

TEST_F(HttpRules, PostNeedsJsonContentType) {
    ASSERT_NO_FATAL_FAILURE(start());
    for (const char* type :
         {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""}) {
        HttpResponse res = local().post(body("eth_chainId"), type);
        EXPECT_EQ(res.status, 415) << type;
    }
    EXPECT_EQ(local().post(body("eth_chainId"), "application/json; charset=utf-8").status, 200);
}

TEST_F(HttpRules, OnlyPostToRootServesJsonRpc) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpRequest get = local().request("");
    get.method = "GET";
    EXPECT_EQ(http_request(port(), get).status, 405);
    HttpRequest elsewhere = local().request(body("eth_chainId"));
    elsewhere.target = "/rpc";
    EXPECT_EQ(http_request(port(), elsewhere).status, 404);
    HttpRequest put = local().request(body("eth_chainId"));
    put.method = "PUT";
    EXPECT_EQ(http_request(port(), put).status, 405);
}

TEST_F(HttpRules, KeepAliveCarriesSeveralRequests) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpConnection connection(port());
    ASSERT_TRUE(connection.connected());
    for (int i = 0; i < 5; ++i) {
        HttpResponse res = connection.send(local().request(body("eth_chainId", json::array{}, i)));
        ASSERT_EQ(res.status, 200) << res.error;
        EXPECT_EQ(res.json().at("id"), json::value(i));
        EXPECT_TRUE(res.keep_alive);
    }
}

TEST_F(HttpRules, NotificationGetsNoContent) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpResponse res = local().post(R"({"jsonrpc":"2.0","method":"eth_chainId"})");
    EXPECT_EQ(res.status, 204);
    EXPECT_TRUE(res.body.empty());
    HttpResponse batch = local().post(
        R"([{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","method":"net_version"}])");
    EXPECT_EQ(batch.status, 204);
    // A mixed batch answers the calls only, in order.
    HttpResponse mixed = local().post(
        R"([{"jsonrpc":"2.0","id":"a","method":"eth_chainId"},{"jsonrpc":"2.0","method":"net_version"},)"
        R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"net_version"}])");
    EXPECT_EQ(mixed.status, 200);
    EXPECT_EQ(mixed.body, R"([{"jsonrpc":"2.0","id":"a","result":"0x1"},)"
                          R"({"jsonrpc":"2.0","id":18446744073709551615,"result":"1"}])");
}

// Each refused request is logged with its reason (at info), and a flood of them is summarised
// rather than written line by line.
TEST_F(HttpRules, RefusedRequestsAreLoggedWithTheirReasonAndFloodsAreSummarised) {
    ASSERT_NO_FATAL_FAILURE(start());
    HttpRequest no_token;
    no_token.body = body("eth_chainId");
    EXPECT_EQ(http_request(port(), no_token).status, 401);
    EXPECT_TRUE(daemon_.wait_for_log("refused HTTP request (401): no Origin and no token"))
        << daemon_.log();
    std::string wrong_token = token_;
    wrong_token[0] = wrong_token[0] == '0' ? '1' : '0';
    RpcClient wrong(port(), Caller{wrong_token, "", false});
    EXPECT_EQ(wrong.post(body("eth_chainId")).status, 401);
    EXPECT_TRUE(daemon_.wait_for_log("refused HTTP request (401): wrong token")) << daemon_.log();
    EXPECT_EQ(daemon_.log().find(token_.substr(2)), std::string::npos) << "a token was logged";
    HttpRequest foreign = local().request(body("eth_chainId"));
    foreign.host = "evil.example";
    EXPECT_EQ(http_request(port(), foreign).status, 403);
    EXPECT_TRUE(
        daemon_.wait_for_log("refused HTTP request (403): Host not allowed: 'evil.example'"))
        << daemon_.log();
    EXPECT_EQ(page("null").post(body("eth_chainId")).status, 403);
    EXPECT_TRUE(daemon_.wait_for_log("refused HTTP request (403): Origin not allowed: 'null'"))
        << daemon_.log();
    EXPECT_EQ(local().post(body("eth_chainId"), "text/plain").status, 415);
    EXPECT_TRUE(daemon_.wait_for_log(
        "refused HTTP request (415): Content-Type 'text/plain' is not application/json"))
        << daemon_.log();

    // A flood: far fewer lines than requests, and a count of the rest.
    HttpConnection flood(port());
    ASSERT_TRUE(flood.connected());
    HttpRequest text = local().request(body("eth_chainId"));
    text.content_type = "text/plain";
    for (int i = 0; i < 300; ++i)
        ASSERT_EQ(flood.send(text).status, 415) << i;
    EXPECT_EQ(flood.send(local().request(body("eth_chainId"))).status, 200);
    std::this_thread::sleep_for(1100ms);
    EXPECT_EQ(local().post(body("eth_chainId"), "text/plain").status, 415);
    EXPECT_TRUE(daemon_.wait_for_log("similar lines")) << daemon_.log();
    std::size_t lines = 0;
    const std::string log = daemon_.log();
    for (auto at = log.find("(415)"); at != std::string::npos; at = log.find("(415)", at + 1))
        ++lines;
    EXPECT_LT(lines, 100u) << log;
}

}  // namespace
}  // namespace keybridge::test::e2e
