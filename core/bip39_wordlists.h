#pragma once

#include <string_view>

// Internal to core/bip39.cpp: the wordlist files embedded at build time (see
// core/wordlists/embed_wordlists.cmake). Each function returns the file's bytes verbatim: one
// word per line, LF endings, trailing newline. Use bip39::wordlist() instead.
namespace keybridge::core::bip39::detail {

std::string_view english_wordlist_text();
std::string_view japanese_wordlist_text();

}  // namespace keybridge::core::bip39::detail
