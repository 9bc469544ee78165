#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "insight/insight.h"

namespace keybridge::insight::site {

// An origin split: "https://app.example:8443" → {https, app.example}. nullopt for anything that
// is not scheme://host[:port] (e.g. "local").
struct Origin {
    std::string scheme;
    std::string host;  // lower case, no port, IPv6 without brackets
};
std::optional<Origin> parse_origin(std::string_view origin);

// eth-phishing-detect's verdict for a host, with the user's own entries: allow entries first
// (theirs, then the bundled allowlist), then block entries (a listed host and its subdomains),
// then the fuzzy match: the host without its top-level label and without "www." within the
// list's tolerance (Levenshtein distance) of a fuzzy-list domain's.
struct PhishingVerdict {
    enum class Kind { Clean, Allowed, Blocked, Fuzzy } kind = Kind::Clean;
    std::string match;  // Fuzzy: the domain it resembles; Blocked: the listed entry
};
PhishingVerdict check_phishing(std::string_view host, const Settings& settings);

// Edit distance (insertions, deletions, substitutions), as fast-levenshtein computes it.
std::size_t levenshtein(std::string_view a, std::string_view b);

// The host in Unicode (punycode labels decoded, UTS #46), or the host itself when it does not
// decode.
std::string to_unicode(std::string_view host);
// A label of the Unicode host mixes letters of several scripts (Latin and Cyrillic, ...).
bool mixed_script(std::string_view unicode_host);
// The well-known domain the host is confusable with (Unicode TR39 skeletons equal, host
// different), if any.
std::optional<std::string> confusable_with(std::string_view unicode_host);

}  // namespace keybridge::insight::site
