#include "cli/phrase_entry.h"

#include "core/unicode.h"

namespace keybridge::cli {

using core::SecretBuffer;

core::Result<std::vector<SecretBuffer>> typed_words(std::string_view text) {
    auto normalized = core::normalize_nfkd(text);
    if (!normalized) return core::fail(normalized.error());
    std::vector<SecretBuffer> words;
    const std::string_view s = normalized->text();
    std::size_t start = 0;
    std::size_t i = 0;
    auto finish_word = [&](std::size_t end) {
        if (end > start) {
            SecretBuffer word = SecretBuffer::copy_of(s.substr(start, end - start));
            for (std::size_t k = 0; k < word.size(); ++k) {
                const auto c = word.data()[k];
                if (c >= 'A' && c <= 'Z') word.data()[k] = static_cast<std::uint8_t>(c - 'A' + 'a');
            }
            words.push_back(std::move(word));
        }
    };
    // normalize_nfkd checked the UTF-8, so the sequence lengths below can be trusted.
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : 4;
        char32_t c = len == 1 ? b : static_cast<char32_t>(b & (0x7f >> len));
        for (std::size_t k = 1; k < len && i + k < s.size(); ++k)
            c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        if (core::is_unicode_whitespace(c)) {
            finish_word(i);
            start = i + len;
        }
        i += len;
    }
    finish_word(s.size());
    return words;
}

core::bip39::Language language_of_word(std::string_view word) {
    for (char c : word) {
        if (static_cast<unsigned char>(c) >= 0x80) return core::bip39::Language::Japanese;
    }
    return core::bip39::Language::English;
}

WordCheck check_word(std::string_view word, core::bip39::Language language) {
    WordCheck out;
    for (std::string_view listed : core::bip39::wordlist(language)) {
        if (listed == word) {
            out.known = true;
            return out;
        }
    }
    out.suggestions = core::bip39::suggest_words(word, language, 4);
    return out;
}

std::string_view word_separator(core::bip39::Language language) {
    return language == core::bip39::Language::Japanese ? "\xE3\x80\x80" : " ";
}

}  // namespace keybridge::cli
