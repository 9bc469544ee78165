#include "daemon/net/page_access.h"

#include <array>

#include "core/text.h"
#include "core/bytes.h"
#include "core/hash.h"

namespace keybridge::daemon::net {

namespace {

// 32 random bytes as 64 hex digits in locked memory (the raw bytes are wiped).
core::Result<core::SecretBuffer> random_hex() {
    std::array<std::uint8_t, 32> bytes{};
    core::ScopedWipe wipe(bytes);
    KEYBRIDGE_TRY_STATUS(core::random_bytes(bytes));
    static constexpr char kHex[] = "0123456789abcdef";
    core::SecretBuffer out(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out.data()[2 * i] = static_cast<std::uint8_t>(kHex[bytes[i] >> 4]);
        out.data()[2 * i + 1] = static_cast<std::uint8_t>(kHex[bytes[i] & 0x0f]);
    }
    return out;
}

// The value of `name` in a list of name=value pairs separated by `separator`.
std::optional<std::string_view> pair_value(std::string_view list, char separator,
                                           std::string_view name) {
    while (!list.empty()) {
        const auto end = list.find(separator);
        std::string_view pair = core::trim_blanks(list.substr(0, end));
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
            return pair.substr(eq + 1);
        }
        if (end == std::string_view::npos) break;
        list.remove_prefix(end + 1);
    }
    return std::nullopt;
}

}  // namespace

core::Result<PageAccess> PageAccess::create() {
    auto secret = random_hex();
    if (!secret) return core::fail(secret.error());
    auto cookie = random_hex();
    if (!cookie) return core::fail(cookie.error());
    return PageAccess(std::move(*secret), std::move(*cookie));
}

bool PageAccess::secret_matches(std::string_view presented) const {
    return core::constant_time_equal(core::as_bytes(presented), secret_.view());
}

bool PageAccess::cookie_matches(std::string_view presented) const {
    return core::constant_time_equal(core::as_bytes(presented), cookie_.view());
}

std::string PageAccess::cookie_name(std::uint16_t port) {
    return std::string(kCookiePrefix) + std::to_string(port);
}

std::string PageAccess::set_cookie_header(std::uint16_t port) const {
    return cookie_name(port) + "=" + std::string(cookie_.text()) +
           "; Path=/ui; HttpOnly; SameSite=Strict";
}

core::SecretBuffer PageAccess::launcher_html(std::string_view login_url) const {
    const std::string head =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>keybridge approval page</title></head>\n<body>\n"
        "<form method=\"post\" action=\"" +
        std::string(login_url) + "\">\n<input type=\"hidden\" name=\"secret\" value=\"";
    const std::string tail =
        "\">\n<button type=\"submit\">Open the keybridge approval page</button>\n</form>\n"
        "<script>document.forms[0].submit();</script>\n</body></html>\n";
    core::SecretBuffer out(head.size() + secret_.size() + tail.size());
    std::copy(head.begin(), head.end(), out.data());
    std::copy(secret_.data(), secret_.data() + secret_.size(), out.data() + head.size());
    std::copy(tail.begin(), tail.end(), out.data() + head.size() + secret_.size());
    return out;
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
    return pair_value(header, ';', name);
}

std::optional<std::string_view> form_value(std::string_view body, std::string_view name) {
    return pair_value(body, '&', name);
}

bool own_origin(std::string_view origin, std::uint16_t port) {
    const std::string suffix = ":" + std::to_string(port);
    for (std::string_view host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
        if (origin.size() == host.size() + suffix.size() && origin.substr(0, host.size()) == host &&
            origin.substr(host.size()) == suffix) {
            return true;
        }
    }
    return false;
}

}  // namespace keybridge::daemon::net
