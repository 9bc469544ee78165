#pragma once

#include <string_view>
#include <vector>

#include "core/bip39.h"
#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::cli {

// Recovery-phrase words as people type them back: the helpers behind `keybridge restore` and
// init's confirmation, which take one word per prompt.

// The words of typed text, tidied so they compare with the lists: NFKD (composed kana such as
// U+3058 become the lists' U+3057 U+3099; full-width letters become ASCII; U+3000 and other
// compatibility spaces become ASCII spaces), ASCII letters lower-cased, split on any run of
// Unicode whitespace. Empty for blank text. InvalidFormat for text that is not UTF-8,
// InvalidArgument for text over core::kMaxNormalizeInput bytes.
[[nodiscard]] core::Result<std::vector<core::SecretBuffer>> typed_words(std::string_view text);

// The list a tidied word is meant for: English when it is ASCII, Japanese otherwise (the
// lists share no word, and English words are ASCII only).
core::bip39::Language language_of_word(std::string_view word);

// A tidied word checked against a list: known when it is one of the list's words; otherwise
// up to four suggestions, nearest first (core::bip39::suggest_words).
struct WordCheck {
    bool known = false;
    std::vector<std::string_view> suggestions;
};
WordCheck check_word(std::string_view word, core::bip39::Language language);

// The list's separator: ' ' for English, U+3000 for Japanese.
std::string_view word_separator(core::bip39::Language language);

}  // namespace keybridge::cli
