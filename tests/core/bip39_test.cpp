#include "core/bip39.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/hash.h"
#include "core/unicode.h"
#include "test_data.h"

namespace keybridge::core::bip39 {
namespace {

namespace json = boost::json;

constexpr std::string_view kIdeographicSpace = "\xe3\x80\x80";
constexpr std::string_view kAbout =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

std::string str(const json::value& v) {
    return std::string(v.as_string());
}

Bytes from_hex(std::string_view hex) {
    auto bytes = hex_decode(hex, HexPrefix::Forbidden);
    EXPECT_TRUE(bytes) << hex;
    return bytes ? *bytes : Bytes{};
}

std::string nfkd(std::string_view text) {
    auto out = normalize_nfkd(text);
    EXPECT_TRUE(out);
    return out ? std::string(out->text()) : std::string();
}

std::vector<std::string> split_on(std::string_view text, std::string_view sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (true) {
        const std::size_t at = text.find(sep, pos);
        out.emplace_back(text.substr(pos, at - pos));
        if (at == std::string_view::npos) return out;
        pos = at + sep.size();
    }
}

// Checks one vector in every direction: entropy <-> phrase, language detection, seed, xprv.
void check_vector(std::string_view entropy_hex, std::string_view mnemonic,
                  std::string_view passphrase, std::string_view seed_hex, std::string_view xprv,
                  Language language, bool mnemonic_is_in_list_form) {
    SCOPED_TRACE(std::string(entropy_hex));
    const Bytes entropy = from_hex(entropy_hex);

    auto words = mnemonic_from_entropy(entropy, language);
    ASSERT_TRUE(words);
    if (mnemonic_is_in_list_form) {
        EXPECT_EQ(words->text(), mnemonic);
    } else {
        // bip32JP writes its words precomposed (NFC); ours are the list's NFKD forms.
        EXPECT_EQ(nfkd(words->text()), nfkd(mnemonic));
    }

    for (const auto lang : {std::optional<Language>(language), std::optional<Language>()}) {
        auto back = entropy_from_mnemonic(mnemonic, lang);
        ASSERT_TRUE(back) << back.error().to_string();
        EXPECT_EQ(hex_encode(back->view(), false), entropy_hex);
        EXPECT_TRUE(validate_mnemonic(mnemonic, lang));
    }
    auto detected = detect_language(mnemonic);
    ASSERT_TRUE(detected);
    EXPECT_EQ(*detected, language);

    auto seed = seed_from_mnemonic(mnemonic, passphrase);
    ASSERT_TRUE(seed);
    EXPECT_EQ(hex_encode(seed->view(), false), seed_hex);
    // Our own phrase (list form) gives the same seed.
    auto seed_again = seed_from_mnemonic(words->text(), passphrase);
    ASSERT_TRUE(seed_again);
    EXPECT_EQ(*seed_again, *seed);

    auto master = bip32::ExtendedKey::from_seed(seed->view());
    ASSERT_TRUE(master);
    auto serialized = master->to_xprv();
    ASSERT_TRUE(serialized);
    EXPECT_EQ(serialized->text(), xprv);
}

TEST(Bip39Wordlists, HaveTwoThousandFortyEightUniqueWordsEmbeddedVerbatim) {
    // SHA-256 of the files in core/wordlists (== bitcoin/bips bip-0039/*.txt): re-joining the
    // embedded words must give the same bytes, so the build embedded the lists unchanged.
    const std::pair<Language, std::string_view> lists[] = {
        {Language::English, "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"},
        {Language::Japanese, "2eed0aef492291e061633d7ad8117f1a2b03eb80a29d0e4e3117ac2528d05ffd"}};
    for (const auto& [language, sha] : lists) {
        const auto words = wordlist(language);
        ASSERT_EQ(words.size(), 2048u);
        std::set<std::string_view> unique(words.begin(), words.end());
        EXPECT_EQ(unique.size(), 2048u);
        std::string joined;
        for (const auto word : words) {
            EXPECT_FALSE(word.empty());
            joined += std::string(word) + "\n";
        }
        EXPECT_EQ(hex_encode(sha256(as_bytes(joined)), false), sha);
        // The lists are published in NFKD.
        for (const auto word : words)
            EXPECT_EQ(nfkd(word), word);
    }
    const auto english = wordlist(Language::English);
    EXPECT_TRUE(std::is_sorted(english.begin(), english.end()));
    EXPECT_EQ(english.front(), "abandon");
    EXPECT_EQ(english.back(), "zoo");
}

TEST(Bip39, PassesAllEnglishAndJapaneseTrezorVectors) {
    const json::value doc = test::load_json("trezor-vectors.json");
    // We ship English and Japanese only; the other lists' vectors are deliberately skipped.
    const std::set<std::string> skipped = {"chinese_simplified",
                                           "chinese_traditional",
                                           "czech",
                                           "french",
                                           "italian",
                                           "korean",
                                           "portuguese",
                                           "spanish",
                                           "russian",
                                           "turkish"};
    std::size_t english = 0;
    std::size_t japanese = 0;
    std::size_t skipped_cases = 0;
    for (const auto& [key, cases] : doc.as_object()) {
        const std::string name(key);
        if (skipped.count(name) != 0) {
            skipped_cases += cases.as_array().size();
            continue;
        }
        ASSERT_TRUE(name == "english" || name == "japanese") << "unexpected language " << name;
        const Language language = name == "english" ? Language::English : Language::Japanese;
        for (const auto& v : cases.as_array()) {
            const auto& row = v.as_array();
            ASSERT_EQ(row.size(), 4u);
            check_vector(str(row[0]), str(row[1]), "TREZOR", str(row[2]), str(row[3]), language,
                         /*mnemonic_is_in_list_form=*/true);
            ++(language == Language::English ? english : japanese);
        }
    }
    EXPECT_EQ(english, 24u);
    EXPECT_EQ(japanese, 24u);
    EXPECT_EQ(skipped_cases, 240u);
}

TEST(Bip39, PassesAllBip32JpVectorsWithNfkdPassphrase) {
    const json::value doc = test::load_json("bip32jp-test_JP_BIP39.json");
    std::size_t run = 0;
    for (const auto& v : doc.as_array()) {
        const auto& o = v.as_object();
        const std::string mnemonic = str(o.at("mnemonic"));
        // The file separates words with U+3000 and writes them precomposed.
        EXPECT_NE(mnemonic.find(kIdeographicSpace), std::string::npos);
        check_vector(str(o.at("entropy")), mnemonic, str(o.at("passphrase")), str(o.at("seed")),
                     str(o.at("bip32_xprv")), Language::Japanese,
                     /*mnemonic_is_in_list_form=*/false);
        ++run;
    }
    EXPECT_EQ(run, 24u);
}

TEST(Bip39, JapanesePhrasesUseIdeographicSpaces) {
    auto words = mnemonic_from_entropy(Bytes(16, 0), Language::Japanese);
    ASSERT_TRUE(words);
    const auto parts = split_on(words->text(), kIdeographicSpace);
    ASSERT_EQ(parts.size(), 12u);
    EXPECT_EQ(parts.front(),
              "\xe3\x81\x82\xe3\x81\x84\xe3\x81\x93\xe3\x81\x8f\xe3\x81\x97"
              "\xe3\x82\x93");  // あいこくしん
    EXPECT_EQ(words->text().find(' '), std::string_view::npos);
}

TEST(Bip39, MapsEveryEntropySizeToItsWordCount) {
    const std::pair<std::size_t, std::size_t> sizes[] = {
        {16, 12}, {20, 15}, {24, 18}, {28, 21}, {32, 24}};
    for (const auto& [bytes, count] : sizes) {
        Bytes entropy(bytes);
        for (std::size_t i = 0; i < bytes; ++i)
            entropy[i] = static_cast<std::uint8_t>(i * 37 + 5);
        for (const auto language : {Language::English, Language::Japanese}) {
            auto words = mnemonic_from_entropy(entropy, language);
            ASSERT_TRUE(words);
            const auto sep =
                language == Language::English ? std::string_view(" ") : kIdeographicSpace;
            EXPECT_EQ(split_on(words->text(), sep).size(), count);
            auto back = entropy_from_mnemonic(words->text(), language);
            ASSERT_TRUE(back);
            EXPECT_EQ(back->view().size(), bytes);
            EXPECT_TRUE(std::equal(entropy.begin(), entropy.end(), back->view().begin()));
        }
    }
}

TEST(Bip39, RejectsUnsupportedEntropyLengths) {
    for (const std::size_t bytes : {0u, 4u, 12u, 15u, 17u, 36u, 64u}) {
        auto words = mnemonic_from_entropy(Bytes(bytes, 1), Language::English);
        ASSERT_FALSE(words);
        EXPECT_EQ(words.error().code, ErrorCode::InvalidArgument);
        EXPECT_EQ(words.error().detail,
                  "entropy must be 16, 20, 24, 28 or 32 bytes, got " + std::to_string(bytes));
    }
}

TEST(Bip39, GeneratesValidDistinctPhrases) {
    for (const std::size_t count : {12u, 15u, 18u, 21u, 24u}) {
        for (const auto language : {Language::English, Language::Japanese}) {
            auto a = generate_mnemonic(count, language);
            auto b = generate_mnemonic(count, language);
            ASSERT_TRUE(a);
            ASSERT_TRUE(b);
            EXPECT_TRUE(validate_mnemonic(a->text(), language));
            EXPECT_FALSE(*a == *b);
            auto entropy = entropy_from_mnemonic(a->text());
            ASSERT_TRUE(entropy);
            EXPECT_EQ(entropy->size(), count * 4 / 3);
        }
    }
    auto bad = generate_mnemonic(13, Language::English);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(bad.error().detail, "word count must be 12, 15, 18, 21 or 24, got 13");
}

TEST(Bip39, ReportsWrongWordCount) {
    for (const auto& [text, count] : std::initializer_list<std::pair<std::string_view, int>>{
             {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
              "about",
              11},
             {"", 0},
             {"   \t ", 0},
             {"abandon", 1}}) {
        auto out = entropy_from_mnemonic(text, Language::English);
        ASSERT_FALSE(out);
        EXPECT_EQ(out.error().code, ErrorCode::InvalidFormat);
        EXPECT_EQ(out.error().detail,
                  "expected 12, 15, 18, 21 or 24 words, got " + std::to_string(count));
    }
    // 25 words: one too many.
    std::string text(kAbout);
    for (int i = 0; i < 13; ++i)
        text += " abandon";
    auto out = validate_mnemonic(text);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().detail, "expected 12, 15, 18, 21 or 24 words, got 25");
}

TEST(Bip39, NamesTheUnknownWordAndItsPositionOnly) {
    const std::string text =
        "abandon abandon abandon abandon abandn abandon abandon abandon abandon abandon abandon "
        "about";
    for (const auto language :
         {std::optional<Language>(Language::English), std::optional<Language>()}) {
        auto out = entropy_from_mnemonic(text, language);
        ASSERT_FALSE(out);
        EXPECT_EQ(out.error().code, ErrorCode::InvalidFormat);
        EXPECT_EQ(out.error().detail, "word 5 'abandn' is not in the English list");
        EXPECT_EQ(out.error().detail.find("about"), std::string::npos);
    }
    // An English word checked against the Japanese list.
    auto out = entropy_from_mnemonic(kAbout, Language::Japanese);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().detail, "word 1 'abandon' is not in the Japanese list");
    // A very long token is cut in the message.
    std::string long_word = std::string(kAbout);
    long_word.replace(0, 7, std::string(100, 'x'));
    auto long_out = validate_mnemonic(long_word, Language::English);
    ASSERT_FALSE(long_out);
    EXPECT_EQ(long_out.error().detail,
              "word 1 '" + std::string(32, 'x') + "...' is not in the English list");
}

TEST(Bip39, ReportsChecksumMismatch) {
    const std::string text =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon";
    for (const auto language :
         {std::optional<Language>(Language::English), std::optional<Language>()}) {
        auto out = entropy_from_mnemonic(text, language);
        ASSERT_FALSE(out);
        EXPECT_EQ(out.error().code, ErrorCode::InvalidChecksum);
        EXPECT_EQ(out.error().detail, "checksum does not match: a word is probably mistyped");
    }
    // Swapping two words of a valid 24-word phrase breaks the checksum too.
    auto status = validate_mnemonic(
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
        "vote zoo");
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::InvalidChecksum);
    EXPECT_TRUE(validate_mnemonic(
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
        "zoo vote"));
}

TEST(Bip39, RejectsGibberishAndInvalidUtf8) {
    auto none = entropy_from_mnemonic("q w e r t y u i o p a s");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, ErrorCode::InvalidFormat);
    EXPECT_EQ(none.error().detail, "none of the words is in the English or Japanese list");
    auto detected = detect_language("helo wurld");
    ASSERT_FALSE(detected);

    auto bad_utf8 = validate_mnemonic("abandon \xff");
    ASSERT_FALSE(bad_utf8);
    EXPECT_EQ(bad_utf8.error().code, ErrorCode::InvalidFormat);
    auto bad_seed = seed_from_mnemonic(kAbout, "\xc0\x80");
    ASSERT_FALSE(bad_seed);
    EXPECT_EQ(bad_seed.error().code, ErrorCode::InvalidFormat);
}

TEST(Bip39, SplitsOnAnyUnicodeWhitespace) {
    // Tabs, newlines, runs of spaces, U+3000, U+00A0 and U+2003 all separate words.
    const std::string messy =
        "  abandon\tabandon\nabandon\r\nabandon  abandon\xe3\x80\x80"
        "abandon\xc2\xa0"
        "abandon\xe2\x80\x83"
        "abandon abandon abandon abandon about \n";
    auto entropy = entropy_from_mnemonic(messy);
    ASSERT_TRUE(entropy) << entropy.error().to_string();
    EXPECT_EQ(hex_encode(entropy->view(), false), "00000000000000000000000000000000");

    auto canonical = canonical_mnemonic(messy);
    ASSERT_TRUE(canonical);
    EXPECT_EQ(canonical->text(), kAbout);

    // A Japanese phrase typed with ASCII spaces is accepted and canonicalised with U+3000.
    auto japanese = mnemonic_from_entropy(Bytes(16, 0x7f), Language::Japanese);
    ASSERT_TRUE(japanese);
    std::string ascii_spaced;
    for (const auto& word : split_on(japanese->text(), kIdeographicSpace)) {
        ascii_spaced += (ascii_spaced.empty() ? "" : " ") + word;
    }
    auto back = canonical_mnemonic(ascii_spaced);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->text(), japanese->text());
    auto canonical_error = canonical_mnemonic("abandon about");
    ASSERT_FALSE(canonical_error);
    EXPECT_EQ(canonical_error.error().detail, "expected 12, 15, 18, 21 or 24 words, got 2");
}

TEST(Bip39, SeedUsesNfkdPassphraseAndPhraseAsGiven) {
    // Trezor's English vector 1 ("abandon ... about", passphrase "TREZOR").
    auto seed = seed_from_mnemonic(kAbout, "TREZOR");
    ASSERT_TRUE(seed);
    EXPECT_EQ(
        hex_encode(seed->view(), false),
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1"
        "c92f2cf141630c7a3c4ab7c81b2f001698e7463b04");
    // An empty passphrase is the default and differs.
    auto plain = seed_from_mnemonic(kAbout);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->size(), 64u);
    EXPECT_FALSE(*plain == *seed);
    // Precomposed and decomposed passphrases give the same seed (both become NFKD).
    auto composed = seed_from_mnemonic(kAbout, "caf\xc3\xa9");
    auto decomposed = seed_from_mnemonic(kAbout, "cafe\xcc\x81");
    ASSERT_TRUE(composed);
    ASSERT_TRUE(decomposed);
    EXPECT_EQ(*composed, *decomposed);
    // The phrase is not tidied: a doubled space changes the seed (hence canonical_mnemonic).
    std::string doubled(kAbout);
    doubled.insert(7, " ");
    auto other = seed_from_mnemonic(doubled, "TREZOR");
    ASSERT_TRUE(other);
    EXPECT_FALSE(*other == *seed);
}

TEST(Bip39Suggest, OffersNearestWordsForATypo) {
    const auto typo = suggest_words("abandn", Language::English);
    ASSERT_FALSE(typo.empty());
    EXPECT_EQ(typo.front(), "abandon");

    const auto transposed = suggest_words("abuot", Language::English);
    ASSERT_FALSE(transposed.empty());
    EXPECT_EQ(transposed.front(), "about");

    const auto truncated = suggest_words("abstr", Language::English);
    ASSERT_FALSE(truncated.empty());
    EXPECT_EQ(truncated.front(), "abstract");

    const auto exact = suggest_words("zoo", Language::English, 3);
    ASSERT_FALSE(exact.empty());
    EXPECT_LE(exact.size(), 3u);
    EXPECT_EQ(exact.front(), "zoo");

    const auto capped = suggest_words("car", Language::English, 2);
    EXPECT_EQ(capped.size(), 2u);

    EXPECT_TRUE(suggest_words("qqqqqqqq", Language::English).empty());
    EXPECT_TRUE(suggest_words("", Language::English).empty());
    EXPECT_TRUE(suggest_words("abandn", Language::English, 0).empty());
    EXPECT_TRUE(suggest_words("\xff", Language::English).empty());
}

TEST(Bip39Suggest, WorksOnJapaneseCodePoints) {
    // あいこくしん with its last kana dropped; typed precomposed or not, it finds the word.
    const std::string word = "\xe3\x81\x82\xe3\x81\x84\xe3\x81\x93\xe3\x81\x8f\xe3\x81\x97";
    const auto hints = suggest_words(word, Language::Japanese);
    ASSERT_FALSE(hints.empty());
    EXPECT_EQ(hints.front(), wordlist(Language::Japanese)[0]);
    // がっこう (precomposed が) is a list word in NFKD form.
    const auto voiced =
        suggest_words("\xe3\x81\x8c\xe3\x81\xa3\xe3\x81\x93\xe3\x81\x86", Language::Japanese, 1);
    ASSERT_EQ(voiced.size(), 1u);
    EXPECT_EQ(voiced.front(), nfkd("\xe3\x81\x8c\xe3\x81\xa3\xe3\x81\x93\xe3\x81\x86"));
}

}  // namespace
}  // namespace keybridge::core::bip39
