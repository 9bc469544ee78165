#include "core/unicode.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

std::string nfkd(std::string_view text) {
    auto out = normalize_nfkd(text);
    EXPECT_TRUE(out) << out.error().to_string();
    return out ? std::string(out->text()) : std::string();
}

std::string nfkd_icu(std::string_view text) {
    auto out = normalize_nfkd_icu(text);
    EXPECT_TRUE(out) << out.error().to_string();
    return out ? std::string(out->text()) : std::string();
}

TEST(UnicodeNfkd, LeavesAsciiAndEmptyTextAlone) {
    EXPECT_EQ(nfkd(""), "");
    EXPECT_EQ(nfkd("abandon ability able"), "abandon ability able");
}

// The ASCII shortcut must be exactly what ICU computes: every ASCII character alone, all of them
// in one string (controls and NUL included), and phrase-like text.
TEST(UnicodeNfkd, AsciiShortcutAgreesWithIcu) {
    std::string all;
    std::size_t checked = 0;
    for (int c = 0; c < 0x80; ++c) {
        const std::string one(1, static_cast<char>(c));
        EXPECT_EQ(nfkd(one), one) << "character " << c;
        EXPECT_EQ(nfkd_icu(one), one) << "character " << c;
        all += one;
        ++checked;
    }
    EXPECT_EQ(checked, 128u);
    EXPECT_EQ(nfkd(all), nfkd_icu(all));
    EXPECT_EQ(nfkd(all), all);
    for (std::string_view text :
         {"test test test test test test test test test test test junk",
          "  Leading, trailing; punctuation & CAPS 0123456789 ~!@#$%^*()_+{}|:\"<>?  ",
          "tab\tnewline\nreturn\r"}) {
        EXPECT_EQ(nfkd(text), nfkd_icu(text)) << text;
        EXPECT_EQ(nfkd(text), text);
    }
    // The same limits and errors as the ICU path.
    EXPECT_EQ(normalize_nfkd(std::string(kMaxNormalizeInput + 1, 'a')).error().code,
              ErrorCode::InvalidArgument);
    EXPECT_EQ(normalize_nfkd_icu(std::string(kMaxNormalizeInput + 1, 'a')).error().code,
              ErrorCode::InvalidArgument);
}

// One non-ASCII byte anywhere sends the whole text through ICU: the shortcut would return these
// unchanged, ICU decomposes them.
TEST(UnicodeNfkd, NonAsciiTextStillGoesThroughIcu) {
    EXPECT_EQ(nfkd("abandon caf\xc3\xa9"), "abandon cafe\xcc\x81");
    EXPECT_EQ(nfkd("\xef\xac\x81rst word"), "first word");
    EXPECT_EQ(nfkd("pass\xc2\xa0phrase"), "pass phrase");
    EXPECT_EQ(nfkd("abandon caf\xc3\xa9"), nfkd_icu("abandon caf\xc3\xa9"));
    // Ill-formed UTF-8 after an ASCII prefix is still refused (not copied through).
    auto bad = normalize_nfkd("abandon \xff");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidFormat);
}

TEST(UnicodeNfkd, DecomposesCompatibilityCharacters) {
    // U+334D SQUARE MEETORU -> メートル with the voiced mark split off: NFKD, not just NFD.
    EXPECT_EQ(nfkd("\xe3\x8d\x8d"), "\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\x88\xe3\x83\xab");
    // U+30AC KATAKANA GA -> U+30AB U+3099.
    EXPECT_EQ(nfkd("\xe3\x82\xac"), "\xe3\x82\xab\xe3\x82\x99");
    // U+3000 IDEOGRAPHIC SPACE and U+00A0 NO-BREAK SPACE -> ' '.
    EXPECT_EQ(nfkd("a\xe3\x80\x80"
                   "b\xc2\xa0"
                   "c"),
              "a b c");
    // U+00E9 (precomposed) -> e + U+0301; the ligature U+FB01 -> "fi".
    EXPECT_EQ(nfkd("\xc3\xa9"), "e\xcc\x81");
    EXPECT_EQ(nfkd("\xef\xac\x81"), "fi");
}

TEST(UnicodeNfkd, HandlesTheLongestExpansion) {
    // U+FDFA expands to 18 code points under NFKD; repeated, it must still fit our buffer.
    std::string text;
    for (int i = 0; i < 50; ++i)
        text += "\xef\xb7\xba";
    const std::string out = nfkd(text);
    EXPECT_EQ(out.size(), 50u * 33u);  // 18 Arabic letters and spaces: 33 UTF-8 bytes each
}

TEST(UnicodeNfkd, RejectsIllFormedUtf8WithItsOffset) {
    for (const auto& [text, offset] : std::initializer_list<std::pair<std::string_view, int>>{
             {"ab\xff", 2},
             {"\xc0\xaf", 0},             // overlong '/'
             {"x\xed\xa0\x80", 1},        // UTF-16 surrogate
             {"abc\xe3\x80", 3},          // truncated sequence
             {"\xf4\x90\x80\x80", 0}}) {  // above U+10FFFF
        auto out = normalize_nfkd(text);
        ASSERT_FALSE(out);
        EXPECT_EQ(out.error().code, ErrorCode::InvalidFormat);
        EXPECT_EQ(out.error().detail,
                  "text is not valid UTF-8 (bad sequence at byte " + std::to_string(offset) + ")");
    }
}

TEST(UnicodeNfkd, RejectsOverlongInput) {
    auto out = normalize_nfkd(std::string(kMaxNormalizeInput + 1, 'a'));
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::InvalidArgument);
}

TEST(UnicodeWhitespace, KnowsAsciiAndIdeographicSpaces) {
    EXPECT_TRUE(is_unicode_whitespace(U' '));
    EXPECT_TRUE(is_unicode_whitespace(U'\t'));
    EXPECT_TRUE(is_unicode_whitespace(U'\n'));
    EXPECT_TRUE(is_unicode_whitespace(U'\u3000'));
    EXPECT_TRUE(is_unicode_whitespace(U'\u2028'));
    EXPECT_FALSE(is_unicode_whitespace(U'a'));
    EXPECT_FALSE(is_unicode_whitespace(U'\u3042'));
    EXPECT_FALSE(is_unicode_whitespace(U'\u200b'));  // zero-width space is not White_Space
}

}  // namespace
}  // namespace keybridge::core
