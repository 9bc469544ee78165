#include "daemon/net/request_guard.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"
#include "core/secret_buffer.h"

namespace keybridge::daemon::net {
namespace {

// ASCII case-insensitive equality (header values are ASCII; tolower() would consult the locale
// once per character).
bool iequals(std::string_view a, std::string_view b) {
    auto lower = [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

bool host_allowed(std::string_view host, std::uint16_t port) {
    const std::string suffix = ":" + std::to_string(port);
    if (host.size() <= suffix.size() || host.substr(host.size() - suffix.size()) != suffix) {
        return false;
    }
    std::string_view name = host.substr(0, host.size() - suffix.size());
    return name == "127.0.0.1" || iequals(name, "localhost") || name == "[::1]";
}

bool origin_valid(std::string_view origin) {
    constexpr std::string_view kSchemes[] = {"http://", "https://", "chrome-extension://",
                                             "moz-extension://"};
    if (origin.empty() || origin.size() > 512) return false;
    for (std::string_view scheme : kSchemes) {
        if (origin.substr(0, scheme.size()) != scheme) continue;
        std::string_view rest = origin.substr(scheme.size());
        if (rest.empty()) return false;
        // An origin has no path, query, credentials or whitespace.
        return std::all_of(rest.begin(), rest.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' ||
                   c == '_';
        });
    }
    return false;
}

std::optional<std::string_view> presented_token(std::string_view authorization,
                                                std::string_view target) {
    authorization = core::trim_blanks(authorization);
    if (authorization.size() > 7 && iequals(authorization.substr(0, 7), "Bearer ")) {
        return core::trim_blanks(authorization.substr(7));
    }
    const auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        if (pair.substr(0, 6) == "token=") return pair.substr(6);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

bool token_matches(std::string_view presented, std::string_view expected) {
    return !expected.empty() &&
           core::constant_time_equal(core::as_bytes(presented), core::as_bytes(expected));
}

bool content_type_is_json(std::string_view content_type) {
    std::string_view media = core::trim_blanks(content_type.substr(0, content_type.find(';')));
    return iequals(media, "application/json");
}

std::string_view target_path(std::string_view target) {
    return target.substr(0, target.find('?'));
}

}  // namespace keybridge::daemon::net
