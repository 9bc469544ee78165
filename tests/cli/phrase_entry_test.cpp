#include "cli/phrase_entry.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

using core::bip39::Language;

std::vector<std::string> words_of(std::string_view text) {
    auto words = typed_words(text);
    EXPECT_TRUE(words.has_value());
    std::vector<std::string> out;
    if (words) {
        for (const auto& w : *words)
            out.emplace_back(w.text());
    }
    return out;
}

TEST(PhraseEntry, TypedWordsToleratesCaseAndSpacesOfEveryWidth) {
    using V = std::vector<std::string>;
    EXPECT_EQ(words_of("abandon"), V{"abandon"});
    EXPECT_EQ(words_of("  Abandon \t"), V{"abandon"});
    EXPECT_EQ(words_of("ZOO  zoo\xE3\x80\x80wrong"), (V{"zoo", "zoo", "wrong"}));
    // Full-width Latin letters and a no-break space.
    EXPECT_EQ(words_of("\xEF\xBC\xA1\xEF\xBD\x82\xEF\xBD\x8C\xEF\xBD\x85\xC2\xA0"
                       "able"),
              (V{"able", "able"}));
    EXPECT_EQ(words_of(" \xE3\x80\x80 "), V{});
    EXPECT_FALSE(typed_words("\xff").has_value());
}

TEST(PhraseEntry, ComposedKanaMatchTheListsDecomposedWords) {
    // "あいだ" typed composed (U+3060) and decomposed (U+305F U+3099): both are the list's word.
    const std::string composed = "\xE3\x81\x82\xE3\x81\x84\xE3\x81\xA0";
    const std::string decomposed = "\xE3\x81\x82\xE3\x81\x84\xE3\x81\x9F\xE3\x82\x99";
    for (const std::string& typed : {composed, decomposed}) {
        auto words = words_of(typed + "\xE3\x80\x80");
        ASSERT_EQ(words.size(), 1u);
        EXPECT_EQ(words[0], decomposed);
        EXPECT_EQ(language_of_word(words[0]), Language::Japanese);
        const WordCheck check = check_word(words[0], Language::Japanese);
        EXPECT_TRUE(check.known);
        EXPECT_TRUE(check.suggestions.empty());
    }
}

TEST(PhraseEntry, EveryJapaneseWordTypedComposedIsKnown) {
    // Each list word, composed by hand for the voiced kana (a base kana followed by U+3099 or
    // U+309A becomes the next code point or the one after), must come back as itself.
    for (std::string_view word : core::bip39::wordlist(Language::Japanese)) {
        std::string composed;
        for (std::size_t i = 0; i < word.size(); ++i) {
            if (i + 5 < word.size() && word.substr(i + 3, 3) == "\xE3\x82\x99") {
                std::string kana(word.substr(i, 3));
                kana[2] = static_cast<char>(kana[2] + 1);
                composed += kana;
                i += 5;
            } else if (i + 5 < word.size() && word.substr(i + 3, 3) == "\xE3\x82\x9A") {
                std::string kana(word.substr(i, 3));
                kana[2] = static_cast<char>(kana[2] + 2);
                composed += kana;
                i += 5;
            } else {
                composed += word[i];
            }
        }
        auto words = words_of(composed);
        ASSERT_EQ(words.size(), 1u) << word;
        EXPECT_EQ(words[0], word);
        EXPECT_TRUE(check_word(words[0], Language::Japanese).known) << word;
    }
}

TEST(PhraseEntry, TyposGetSuggestions) {
    const WordCheck check = check_word("abandn", Language::English);
    EXPECT_FALSE(check.known);
    ASSERT_FALSE(check.suggestions.empty());
    EXPECT_EQ(check.suggestions.front(), "abandon");
    EXPECT_LE(check.suggestions.size(), 4u);
    EXPECT_TRUE(check_word("zoo", Language::English).known);
    EXPECT_FALSE(check_word("zoo", Language::Japanese).known);
    EXPECT_EQ(language_of_word("zoo"), Language::English);
    EXPECT_EQ(word_separator(Language::Japanese), "\xE3\x80\x80");
    EXPECT_EQ(word_separator(Language::English), " ");
}

}  // namespace
}  // namespace keybridge::cli
