// Site warnings: eth-phishing-detect's lists and matching (generated/phishing.inc), plus
// Unicode checks with ICU (IDNA decoding, scripts, TR39 confusable skeletons).
#include "insight/site.h"

#include <algorithm>
#include <memory>
#include <unordered_set>

#include <unicode/uidna.h>
#include <unicode/uscript.h>
#include <unicode/uspoof.h>
#include <unicode/utf8.h>

#include "core/text.h"

namespace keybridge::insight::site {
namespace {

#include "insight/generated/phishing.inc"

// Domains people are lured away from, besides the fuzzy list's: look-alikes of these are
// reported (facts: the dApps' public domains).
constexpr std::string_view kWellKnown[] = {
    "app.uniswap.org", "uniswap.org",       "opensea.io", "metamask.io",  "etherscan.io",
    "app.aave.com",    "aave.com",          "curve.fi",   "lido.fi",      "app.safe.global",
    "safe.global",     "blur.io",           "1inch.io",   "app.1inch.io", "ens.domains",
    "app.ens.domains", "myetherwallet.com", "rabby.io",   "zapper.xyz",   "debank.com"};

std::vector<std::string_view> lines(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

struct Lists {
    std::unordered_set<std::string_view> allow, block;
    std::vector<std::string> fuzzy_forms;  // "metamask" for metamask.io
    std::vector<std::string_view> fuzzy;
};

// Without the top-level label, as eth-phishing-detect's domainPartsToFuzzyForm.
std::string fuzzy_form(std::string_view host) {
    const auto dot = host.rfind('.');
    return std::string(dot == std::string_view::npos ? std::string_view() : host.substr(0, dot));
}

const Lists& lists() {
    static const Lists l = [] {
        Lists out;
        for (auto d : lines(kPhishingAllowlist))
            out.allow.insert(d);
        for (auto d : lines(kPhishingBlocklist))
            out.block.insert(d);
        for (auto d : lines(kPhishingFuzzylist)) {
            out.fuzzy.push_back(d);
            out.fuzzy_forms.push_back(fuzzy_form(d));
        }
        return out;
    }();
    return l;
}

// The host or one of its parent domains is in the set (a listed domain covers its subdomains).
template <typename Set>
std::optional<std::string> covered(std::string_view host, const Set& set) {
    std::string_view h = host;
    while (!h.empty()) {
        if (set.contains(typename Set::key_type(h))) return std::string(h);
        const auto dot = h.find('.');
        if (dot == std::string_view::npos) break;
        h.remove_prefix(dot + 1);
    }
    return std::nullopt;
}

std::optional<std::string> covered_by(std::string_view host, const std::vector<std::string>& own) {
    for (const std::string& entry : own) {
        const std::string e = core::ascii_lower(entry);
        if (host == e || (host.size() > e.size() && host.ends_with(e) &&
                          host[host.size() - e.size() - 1] == '.'))
            return e;
    }
    return std::nullopt;
}

}  // namespace

std::optional<Origin> parse_origin(std::string_view origin) {
    const auto sep = origin.find("://");
    if (sep == std::string_view::npos || sep == 0) return std::nullopt;
    Origin out{core::ascii_lower(origin.substr(0, sep)), ""};
    std::string_view rest = origin.substr(sep + 3);
    if (const auto slash = rest.find('/'); slash != std::string_view::npos)
        rest = rest.substr(0, slash);
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        out.host = core::ascii_lower(rest.substr(1, close - 1));
    } else {
        out.host = core::ascii_lower(rest.substr(0, rest.find(':')));
    }
    while (out.host.ends_with('.'))
        out.host.pop_back();
    if (out.host.empty()) return std::nullopt;
    return out;
}

std::size_t levenshtein(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

PhishingVerdict check_phishing(std::string_view host_in, const Settings& settings) {
    const std::string host = core::ascii_lower(host_in);
    const Lists& l = lists();
    if (auto m = covered_by(host, settings.phishing_allow))
        return {PhishingVerdict::Kind::Allowed, *m};
    if (auto m = covered_by(host, settings.phishing_block))
        return {PhishingVerdict::Kind::Blocked, *m};
    if (auto m = covered(host, l.allow)) return {PhishingVerdict::Kind::Allowed, *m};
    if (auto m = covered(host, l.block)) return {PhishingVerdict::Kind::Blocked, *m};
    if (kPhishingTolerance > 0) {
        std::string form = fuzzy_form(host);
        // JavaScript's String.replace with a string: the first occurrence only.
        if (const auto www = form.find("www."); www != std::string::npos) form.erase(www, 4);
        for (std::size_t i = 0; i < l.fuzzy.size(); ++i) {
            if (levenshtein(form, l.fuzzy_forms[i]) <= static_cast<std::size_t>(kPhishingTolerance))
                return {PhishingVerdict::Kind::Fuzzy, std::string(l.fuzzy[i])};
        }
    }
    return {};
}

std::string to_unicode(std::string_view host) {
    UErrorCode status = U_ZERO_ERROR;
    static UIDNA* idna = uidna_openUTS46(UIDNA_DEFAULT, &status);  // immutable, thread-safe
    if (idna == nullptr) return std::string(host);
    status = U_ZERO_ERROR;
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    std::string out(host.size() * 4 + 16, '\0');
    const int32_t n =
        uidna_nameToUnicodeUTF8(idna, host.data(), static_cast<int32_t>(host.size()), out.data(),
                                static_cast<int32_t>(out.size()), &info, &status);
    if (U_FAILURE(status) || n < 0 || static_cast<std::size_t>(n) > out.size())
        return std::string(host);
    out.resize(static_cast<std::size_t>(n));
    return out;
}

bool mixed_script(std::string_view host) {
    std::size_t i = 0;
    while (i < host.size()) {
        UScriptCode seen = USCRIPT_INVALID_CODE;
        for (; i < host.size() && host[i] != '.';) {
            UChar32 c = 0;
            U8_NEXT(host.data(), i, host.size(), c);
            if (c < 0) return false;
            UErrorCode status = U_ZERO_ERROR;
            const UScriptCode script = uscript_getScript(c, &status);
            if (U_FAILURE(status) || script == USCRIPT_COMMON || script == USCRIPT_INHERITED)
                continue;
            if (seen == USCRIPT_INVALID_CODE)
                seen = script;
            else if (seen != script)
                return true;
        }
        ++i;  // the dot
    }
    return false;
}

namespace {

struct Closer {
    void operator()(USpoofChecker* c) const { uspoof_close(c); }
};

// uspoof_getSkeleton is const on the checker: one shared instance serves every thread.
const USpoofChecker* spoof_checker() {
    static const std::unique_ptr<USpoofChecker, Closer> checker = [] {
        UErrorCode status = U_ZERO_ERROR;
        return std::unique_ptr<USpoofChecker, Closer>(uspoof_open(&status));
    }();
    return checker.get();
}

// TR39 skeleton (the string's "look"); empty on failure.
std::string skeleton(std::string_view text) {
    const USpoofChecker* checker = spoof_checker();
    if (checker == nullptr) return {};
    UErrorCode status = U_ZERO_ERROR;
    std::string out(text.size() * 8 + 16, '\0');
    const int32_t n =
        uspoof_getSkeletonUTF8(checker, 0, text.data(), static_cast<int32_t>(text.size()),
                               out.data(), static_cast<int32_t>(out.size()), &status);
    if (U_FAILURE(status) || n < 0 || static_cast<std::size_t>(n) > out.size()) return {};
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// The well-known and fuzzy-list domains with their skeletons, computed once.
const std::vector<std::pair<std::string_view, std::string>>& known_skeletons() {
    static const std::vector<std::pair<std::string_view, std::string>> all = [] {
        std::vector<std::pair<std::string_view, std::string>> out;
        for (std::string_view known : kWellKnown)
            out.emplace_back(known, skeleton(known));
        for (std::string_view known : lists().fuzzy)
            out.emplace_back(known, skeleton(known));
        return out;
    }();
    return all;
}

}  // namespace

std::optional<std::string> confusable_with(std::string_view host) {
    const std::string mine = skeleton(host);
    if (mine.empty()) return std::nullopt;
    for (const auto& [known, known_skeleton] : known_skeletons()) {
        if (host == known || known_skeleton != mine) continue;
        // A subdomain of the real domain is the real site.
        if (host.size() > known.size() && host.ends_with(known) &&
            host[host.size() - known.size() - 1] == '.')
            continue;
        return std::string(known);
    }
    return std::nullopt;
}

}  // namespace keybridge::insight::site
