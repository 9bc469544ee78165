#include "daemon/net/page_access.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

// The secret as the launcher file carries it.
std::string secret_in(const PageAccess& page) {
    const std::string html(page.launcher_html("http://127.0.0.1:1/ui/login").text());
    const std::string marker = "name=\"secret\" value=\"";
    const auto at = html.find(marker);
    if (at == std::string::npos) return {};
    return html.substr(at + marker.size(), 64);
}

// The cookie as /ui/login hands it out.
std::string cookie_in(const PageAccess& page) {
    const std::string header = page.set_cookie_header(8645);
    return std::string(cookie_value(header, PageAccess::cookie_name(8645)).value_or(""));
}

TEST(PageAccess, LauncherPostsTheSecretToTheLoginUrl) {
    auto page = PageAccess::create();
    ASSERT_TRUE(page);
    const std::string html(page->launcher_html("http://127.0.0.1:8645/ui/login").text());
    EXPECT_NE(html.find("action=\"http://127.0.0.1:8645/ui/login\""), std::string::npos);
    EXPECT_NE(html.find("method=\"post\""), std::string::npos);
    const std::string secret = secret_in(*page);
    ASSERT_EQ(secret.size(), 64u);
    EXPECT_EQ(secret.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(page->secret_matches(secret));
}

TEST(PageAccess, SecretAndCookieAreDistinctAndFreshAtEachStart) {
    auto a = PageAccess::create();
    auto b = PageAccess::create();
    ASSERT_TRUE(a && b);
    const std::string secret = secret_in(*a);
    const std::string cookie = cookie_in(*a);
    ASSERT_EQ(cookie.size(), 64u);
    EXPECT_NE(secret, cookie);
    // The secret is not the cookie, and neither opens another start's page.
    EXPECT_FALSE(a->cookie_matches(secret));
    EXPECT_FALSE(a->secret_matches(cookie));
    EXPECT_TRUE(a->cookie_matches(cookie));
    EXPECT_FALSE(b->secret_matches(secret));
    EXPECT_FALSE(b->cookie_matches(cookie));
    // Near misses fail too.
    EXPECT_FALSE(a->secret_matches(secret.substr(0, 63)));
    EXPECT_FALSE(a->secret_matches(secret + "0"));
    EXPECT_FALSE(a->secret_matches(""));
}

TEST(PageAccess, CookieIsHttpOnlyStrictAndScopedToThePage) {
    auto page = PageAccess::create();
    ASSERT_TRUE(page);
    const std::string header = page->set_cookie_header(8645);
    EXPECT_EQ(header.rfind("keybridge_page_8645=", 0), 0u);
    EXPECT_NE(header.find("; HttpOnly"), std::string::npos);
    EXPECT_NE(header.find("; SameSite=Strict"), std::string::npos);
    EXPECT_NE(header.find("; Path=/ui"), std::string::npos);
}

// Cookies are kept by host, not port: each keybridged names its cookie after its port, so a
// second one on another loopback port neither overwrites nor reads the first one's.
TEST(PageAccess, CookieNameCarriesThePort) {
    EXPECT_EQ(PageAccess::cookie_name(8645), "keybridge_page_8645");
    EXPECT_NE(PageAccess::cookie_name(8645), PageAccess::cookie_name(8646));
    auto page = PageAccess::create();
    ASSERT_TRUE(page);
    const std::string header = page->set_cookie_header(8646);
    EXPECT_EQ(header.rfind("keybridge_page_8646=", 0), 0u);
    const std::string both = "keybridge_page_8645=aaaa; " + header.substr(0, header.find(';'));
    EXPECT_EQ(cookie_value(both, PageAccess::cookie_name(8645)), "aaaa");
    EXPECT_EQ(cookie_value(both, PageAccess::cookie_name(8646)), cookie_in(*page));
    EXPECT_EQ(cookie_value(both, PageAccess::cookie_name(864)), std::nullopt);
}

TEST(PageAccess, ReadsCookieAndFormValues) {
    EXPECT_EQ(cookie_value("a=1; keybridge_page=abc; b=2", "keybridge_page"), "abc");
    EXPECT_EQ(cookie_value("keybridge_page=abc", "keybridge_page"), "abc");
    EXPECT_EQ(cookie_value("xkeybridge_page=abc", "keybridge_page"), std::nullopt);
    EXPECT_EQ(cookie_value("", "keybridge_page"), std::nullopt);
    EXPECT_EQ(form_value("secret=00ff&x=1", "secret"), "00ff");
    EXPECT_EQ(form_value("x=1&secret=00ff", "secret"), "00ff");
    EXPECT_EQ(form_value("secrets=00ff", "secret"), std::nullopt);
    EXPECT_EQ(form_value("secret", "secret"), std::nullopt);
}

TEST(PageAccess, OwnOriginIsTheLoopbackNameWithOurPortOnly) {
    EXPECT_TRUE(own_origin("http://127.0.0.1:8645", 8645));
    EXPECT_TRUE(own_origin("http://localhost:8645", 8645));
    EXPECT_TRUE(own_origin("http://[::1]:8645", 8645));
    // Another program's page on another loopback port is same-site for cookies, not us.
    EXPECT_FALSE(own_origin("http://127.0.0.1:3000", 8645));
    EXPECT_FALSE(own_origin("http://127.0.0.1:86450", 8645));
    EXPECT_FALSE(own_origin("https://127.0.0.1:8645", 8645));
    EXPECT_FALSE(own_origin("http://evil.example:8645", 8645));
    EXPECT_FALSE(own_origin("null", 8645));
    EXPECT_FALSE(own_origin("", 8645));
}

}  // namespace
}  // namespace keybridge::daemon::net
