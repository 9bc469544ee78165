#include "cli/phrase_entry.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/unicode.h"
#include "test_data.h"

namespace keybridge::cli {
namespace {

using core::bip39::Language;

// The vector's text (composed kana, U+3000 between words) in NFC or in NFKD.
std::string mnemonic_text_in(std::string_view mnemonic, bool decomposed) {
    if (!decomposed) return std::string(mnemonic);
    auto nfkd = core::normalize_nfkd(mnemonic);
    EXPECT_TRUE(nfkd);
    if (!nfkd) return {};
    // NFKD also turns U+3000 into an ASCII space; the file's separator is put back.
    std::string out;
    for (char c : nfkd->text()) {
        if (c == ' ')
            out += "\xE3\x80\x80";
        else
            out += c;
    }
    return out;
}

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

// The forms a user may type a Japanese phrase in: composed (NFC) or decomposed (NFKD) kana,
// separated by ideographic or ASCII spaces, with stray blanks of both widths around words.
std::string typed_form(std::string_view mnemonic, bool decomposed, std::string_view space) {
    constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";
    std::string text = mnemonic_text_in(mnemonic, decomposed);
    std::string out = " ";
    std::size_t word = 0;
    for (std::size_t pos = 0; pos <= text.size();) {
        const std::size_t at = text.find(kIdeographicSpace, pos);
        const std::size_t end = at == std::string::npos ? text.size() : at;
        if (word % 5 == 2) out += space;  // a doubled blank now and then
        out += text.substr(pos, end - pos);
        out += space;
        ++word;
        if (at == std::string::npos) break;
        pos = at + kIdeographicSpace.size();
    }
    return out + "\n";
}

TEST(PhraseEntry, EveryJapaneseVectorTypedInEveryFormGivesTheListsPhrase) {
    // What `keybridge restore` does with a phrase (file or terminal) before validating it: the
    // tidied words, joined by the list's separator, are the vector's phrase in list form.
    const boost::json::value doc = test::load_json("bip32jp-test_JP_BIP39.json");
    std::size_t checked = 0;
    for (const auto& v : doc.as_array()) {
        const std::string mnemonic(v.as_object().at("mnemonic").as_string());
        const std::string list_form = mnemonic_text_in(mnemonic, /*decomposed=*/true);
        for (bool decomposed : {false, true}) {
            for (std::string_view space :
                 {std::string_view("\xE3\x80\x80"), std::string_view(" ")}) {
                SCOPED_TRACE(mnemonic + (decomposed ? " NFKD" : " NFC") +
                             (space == " " ? " ASCII spaces" : " U+3000"));
                const auto words = words_of(typed_form(mnemonic, decomposed, space));
                ASSERT_FALSE(words.empty());
                std::string joined;
                for (const auto& w : words) {
                    EXPECT_TRUE(check_word(w, Language::Japanese).known) << w;
                    if (!joined.empty()) joined += word_separator(Language::Japanese);
                    joined += w;
                }
                auto canonical = core::bip39::canonical_mnemonic(joined);
                ASSERT_TRUE(canonical) << canonical.error().detail;
                EXPECT_EQ(canonical->text(), list_form);
                ++checked;
            }
        }
    }
    EXPECT_EQ(checked, 24u * 4u);
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
