#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::daemon::net {

// Who may open the approval page (docs/ARCHITECTURE.md, "The approval page"). keybridged makes
// two random values at every start, kept in locked memory and wiped at exit, never logged:
//  - the page secret, written only into the launcher file (<datadir>/approval-page.html, 0600):
//    `keybridge ui` opens that file in the browser, which posts the secret to /ui/login, so the
//    secret is never on a command line or in a URL (history, logs);
//  - the page cookie, which /ui/login hands back for the secret (HttpOnly, SameSite=Strict,
//    Path=/ui). The page's documents and its WebSocket present it; with it they hold the
//    Approver capability (http_routes.h). Browsers keep cookies by host, not port: the cookie's
//    name carries the port (cookie_name), so two keybridged on two loopback ports each keep
//    their own login in one browser, and each reads only its own.
// Thread-safe after construction (read-only).
class PageAccess {
  public:
    static constexpr std::string_view kCookiePrefix = "keybridge_page_";
    static constexpr std::string_view kLoginPath = "/ui/login";

    // "keybridge_page_8645": the page cookie of the keybridged listening on `port`.
    static std::string cookie_name(std::uint16_t port);

    // Fresh random values. Fails only when the system's random source does.
    [[nodiscard]] static core::Result<PageAccess> create();

    // Constant-time comparisons with the presented text.
    bool secret_matches(std::string_view presented) const;
    bool cookie_matches(std::string_view presented) const;

    // The Set-Cookie value /ui/login answers with on `port` (the cookie named for that port).
    std::string set_cookie_header(std::uint16_t port) const;

    // The launcher file's HTML: a form posting the secret to `login_url`, submitted at once by
    // its script (the file is opened from disk, where no CSP applies), with a button for
    // browsers that do not run it.
    core::SecretBuffer launcher_html(std::string_view login_url) const;

  private:
    PageAccess(core::SecretBuffer secret, core::SecretBuffer cookie)
        : secret_(std::move(secret)), cookie_(std::move(cookie)) {}
    core::SecretBuffer secret_;  // 64 hex digits
    core::SecretBuffer cookie_;  // 64 hex digits
};

// The value of cookie `name` in a Cookie request header ("a=1; b=2"), or nullopt. A view into
// `header`.
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name);

// The raw value of field `name` in an application/x-www-form-urlencoded body, or nullopt. Not
// percent-decoded (the page secret is hex). A view into `body`.
std::optional<std::string_view> form_value(std::string_view body, std::string_view name);

// Whether `origin` is keybridged's own for a request that arrived on `port`:
// http://127.0.0.1:PORT, http://localhost:PORT or http://[::1]:PORT. Browsers scope cookies by
// host, not port, so a page served by another program on another loopback port is same-site
// and sends the page cookie too: the page's WebSocket insists on this origin.
bool own_origin(std::string_view origin, std::uint16_t port);

}  // namespace keybridge::daemon::net
