#include "daemon/net/request_guard.h"

#include "daemon/net/request_buffers.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

// Run over ordinary fields and over the request's own (wiping) fields, which the check reads in
// place.
template <class Fields>
void expect_first_repeated_named() {
    namespace http = boost::beast::http;
    Fields single;
    single.insert(http::field::host, "127.0.0.1:8645");
    single.insert(http::field::origin, "https://a.example");
    single.insert(http::field::authorization, "Bearer x");
    single.insert(http::field::accept, "a");
    single.insert(http::field::accept, "b");  // other headers may repeat
    EXPECT_EQ(repeated_identity_header(single), std::nullopt);
    for (const http::field field :
         {http::field::host, http::field::origin, http::field::authorization}) {
        Fields twice = single;
        twice.insert(field, "other");
        EXPECT_EQ(repeated_identity_header(twice), std::string_view(http::to_string(field)));
    }
    Fields spelled;  // names are case-insensitive
    spelled.insert("Host", "127.0.0.1:8645");
    spelled.insert("hOST", "127.0.0.1:8645");
    EXPECT_EQ(repeated_identity_header(spelled), std::string_view("Host"));
}

TEST(RepeatedIdentityHeader, NamesTheFirstRepeatedOne) {
    expect_first_repeated_named<boost::beast::http::fields>();
}

TEST(RepeatedIdentityHeader, ReadsTheRequestsWipingFields) {
    expect_first_repeated_named<RequestFields>();
}

TEST(IdentityHeaders, TakesTheFirstOfEachInOnePass) {
    namespace http = boost::beast::http;
    RequestFields fields;
    fields.insert("content-TYPE", "application/json");
    fields.insert(http::field::accept, "*/*");
    fields.insert("AUTHORIZATION", "Bearer first");
    fields.insert(http::field::host, "127.0.0.1:8645");
    fields.insert(http::field::content_type, "text/plain");
    const IdentityHeaders h = identity_headers(fields);
    EXPECT_EQ(h.host, "127.0.0.1:8645");
    EXPECT_EQ(h.origin, "");  // absent
    EXPECT_EQ(h.authorization, "Bearer first");
    EXPECT_EQ(h.content_type, "application/json");  // repeats allowed; the first counts
    EXPECT_EQ(h.repeated, std::nullopt);
    // The same values fields[name] gives.
    EXPECT_EQ(h.host, fields[http::field::host]);
    EXPECT_EQ(h.authorization, fields[http::field::authorization]);
    EXPECT_EQ(h.content_type, fields[http::field::content_type]);
    fields.insert("Origin", "https://a.example");
    fields.insert("origin", "https://b.example");
    fields.insert("authorization", "Bearer second");
    const IdentityHeaders twice = identity_headers(fields);
    EXPECT_EQ(twice.origin, "https://a.example");
    EXPECT_EQ(twice.repeated,
              std::string_view("Origin"));  // Origin is checked before Authorization
}

TEST(HostAllowed, AcceptsLoopbackNamesWithOurPort) {
    EXPECT_TRUE(host_allowed("127.0.0.1:8645", 8645));
    EXPECT_TRUE(host_allowed("localhost:8645", 8645));
    EXPECT_TRUE(host_allowed("LocalHost:8645", 8645));
    EXPECT_TRUE(host_allowed("[::1]:8645", 8645));
    EXPECT_TRUE(host_allowed("127.0.0.1:1", 1));
    EXPECT_TRUE(host_allowed("localhost:65535", 65535));
}

TEST(HostAllowed, RefusesRebindingNames) {
    // DNS rebinding: a foreign name that resolves to 127.0.0.1.
    for (const char* host :
         {"evil.com:8645", "attacker.example:8645", "127.0.0.1.evil.com:8645",
          "localhost.evil.com:8645", "evil.localhost:8645", "localhost.:8645", "evil.com",
          "127.0.0.1.nip.io:8645", "2130706433:8645", "0x7f000001:8645", "0177.0.0.1:8645",
          "127.1:8645", "[::ffff:127.0.0.1]:8645", "[0:0:0:0:0:0:0:1]:8645",
          "user@127.0.0.1:8645"}) {
        EXPECT_FALSE(host_allowed(host, 8645)) << host;
    }
}

TEST(HostAllowed, RefusesWrongOrMissingPorts) {
    for (const char* host : {"127.0.0.1", "localhost", "[::1]", "127.0.0.1:8646", "127.0.0.1:80",
                             "localhost:18645", "[::1]:864", "127.0.0.1:08645",
                             "127.0.0.1:8645:8645", "127.0.0.1:", ":8645", "[::1]8645"}) {
        EXPECT_FALSE(host_allowed(host, 8645)) << host;
    }
}

TEST(HostAllowed, RefusesEmptyAndOddValues) {
    EXPECT_FALSE(host_allowed("", 8645));
    EXPECT_FALSE(host_allowed(":", 8645));
    EXPECT_FALSE(host_allowed(" 127.0.0.1:8645", 8645));
    EXPECT_FALSE(host_allowed("127.0.0.1 :8645", 8645));
    EXPECT_FALSE(host_allowed(std::string("127.0.0.1\0:8645", 15), 8645));
}

TEST(OriginValid, AcceptsWebAndExtensionOrigins) {
    for (const char* origin :
         {"http://localhost:3000", "https://app.uniswap.org", "http://127.0.0.1:8080",
          "https://sub.domain-name.example", "http://[::1]:5173",
          "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
          "moz-extension://2f0a4e9d-6f1a-4b3c-9c1e-123456789abc", "http://my_host:1"}) {
        EXPECT_TRUE(origin_valid(origin)) << origin;
    }
}

TEST(OriginValid, RefusesNullAndOpaqueOrigins) {
    EXPECT_FALSE(origin_valid("null"));
    EXPECT_FALSE(origin_valid("NULL"));
    EXPECT_FALSE(origin_valid(""));
    EXPECT_FALSE(origin_valid("file://"));
    EXPECT_FALSE(origin_valid("file:///home/user/page.html"));
    EXPECT_FALSE(origin_valid("data:text/html,hi"));
    EXPECT_FALSE(origin_valid("about:blank"));
}

TEST(OriginValid, RefusesPathsQueriesUserinfoAndOddSchemes) {
    for (const char* origin : {"http://",
                               "https://",
                               "http://a.com/",
                               "http://a.com/path",
                               "https://a.com?x=1",
                               "https://a.com#frag",
                               "http://user:pass@a.com",
                               "http://user@a.com",
                               "http://a .com",
                               "http://a.com\r\nX-Evil: 1",
                               "http://a.com\t",
                               "ftp://a.com",
                               "ws://a.com",
                               "javascript:alert(1)",
                               "a.com",
                               "//a.com",
                               "http:/a.com",
                               "http://%61.com",
                               "http://a.com\\b",
                               "http://é.com"}) {
        EXPECT_FALSE(origin_valid(origin)) << origin;
    }
}

TEST(OriginValid, RefusesOverlongOrigins) {
    EXPECT_TRUE(origin_valid("https://" + std::string(504, 'a')));
    EXPECT_FALSE(origin_valid("https://" + std::string(505, 'a')));
}

TEST(PresentedToken, ReadsBearerHeader) {
    EXPECT_EQ(presented_token("Bearer abc123", "/"), "abc123");
    EXPECT_EQ(presented_token("bearer abc123", "/"), "abc123");
    EXPECT_EQ(presented_token("BEARER  abc123 ", "/"), "abc123");
    EXPECT_EQ(presented_token("  Bearer abc", "/"), "abc");
}

TEST(PresentedToken, ReadsTokenQueryParameter) {
    EXPECT_EQ(presented_token("", "/?token=abc"), "abc");
    EXPECT_EQ(presented_token("", "/?a=1&token=abc&b=2"), "abc");
    EXPECT_EQ(presented_token("", "/?token=abc&token=def"), "abc");
    EXPECT_EQ(presented_token("", "/?token="), "");
}

TEST(PresentedToken, BearerWinsOverQuery) {
    EXPECT_EQ(presented_token("Bearer fromheader", "/?token=fromquery"), "fromheader");
}

TEST(PresentedToken, AbsentOrOtherSchemes) {
    EXPECT_EQ(presented_token("", "/"), std::nullopt);
    EXPECT_EQ(presented_token("", "/health"), std::nullopt);
    EXPECT_EQ(presented_token("", "/?xtoken=abc"), std::nullopt);
    EXPECT_EQ(presented_token("", "/?tokens=abc"), std::nullopt);
    EXPECT_EQ(presented_token("", "/?a=token=abc"), std::nullopt);
    EXPECT_EQ(presented_token("Basic dXNlcjpwYXNz", "/"), std::nullopt);
    EXPECT_EQ(presented_token("Bearer", "/"), std::nullopt);
    EXPECT_EQ(presented_token("Bearer ", "/"), std::nullopt);
    EXPECT_EQ(presented_token("Bearerabc", "/"), std::nullopt);
}

TEST(TokenMatches, ComparesWholeTokens) {
    const std::string token(64, 'a');
    EXPECT_TRUE(token_matches(token, token));
    EXPECT_FALSE(token_matches(std::string(63, 'a'), token));
    EXPECT_FALSE(token_matches(token + "a", token));
    EXPECT_FALSE(token_matches(std::string(63, 'a') + "b", token));
    EXPECT_FALSE(token_matches("", token));
    // No token configured: nothing matches, not even an empty one.
    EXPECT_FALSE(token_matches("", ""));
}

TEST(ContentType, AcceptsJsonWithParameters) {
    EXPECT_TRUE(content_type_is_json("application/json"));
    EXPECT_TRUE(content_type_is_json("application/json; charset=utf-8"));
    EXPECT_TRUE(content_type_is_json("Application/JSON;charset=UTF-8"));
    EXPECT_TRUE(content_type_is_json(" application/json "));
}

TEST(ContentType, RefusesOtherTypes) {
    for (const char* type :
         {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
          "application/jsonx", "application/json-patch+json", "text/json", "application", "json"}) {
        EXPECT_FALSE(content_type_is_json(type)) << type;
    }
}

TEST(TargetPath, DropsTheQuery) {
    EXPECT_EQ(target_path("/?token=x"), "/");
    EXPECT_EQ(target_path("/health"), "/health");
    EXPECT_EQ(target_path("/health?x=1"), "/health");
    EXPECT_EQ(target_path(""), "");
}

}  // namespace
}  // namespace keybridge::daemon::net
