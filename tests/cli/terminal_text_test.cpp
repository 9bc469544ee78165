#include "cli/terminal_text.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

TEST(TerminalSafe, EscapesControlCharacters) {
    EXPECT_EQ(terminal_safe("plain text"), "plain text");
    EXPECT_EQ(terminal_safe("a\x1b[2Jb"), "a\\x1b[2Jb");
    EXPECT_EQ(terminal_safe("Pay 1 ETH\rHello"), "Pay 1 ETH\\rHello");
    EXPECT_EQ(terminal_safe("tab\there"), "tab\\there");
    EXPECT_EQ(terminal_safe(std::string("nul\0x", 5)), "nul\\x00x");
    EXPECT_EQ(terminal_safe("del\x7f"), "del\\x7f");
    EXPECT_EQ(terminal_safe("two\nlines"), "two\\nlines");
    EXPECT_EQ(terminal_safe("two\nlines", true), "two\nlines");
}

TEST(TerminalSafe, EscapesC1ControlsBidiAndZeroWidthCharacters) {
    EXPECT_EQ(terminal_safe("csi\xc2\x9b"
                            "31m"),
              "csi\\u{009b}31m");  // U+009B
    EXPECT_EQ(terminal_safe("abc\xe2\x80\xae"
                            "def"),
              "abc\\u{202e}def");                                             // RLO
    EXPECT_EQ(terminal_safe("x\xe2\x81\xa6y"), "x\\u{2066}y");                // LRI
    EXPECT_EQ(terminal_safe("zero\xe2\x80\x8bwidth"), "zero\\u{200b}width");  // ZWSP
    EXPECT_EQ(terminal_safe("\xef\xbb\xbf"
                            "bom"),
              "\\u{feff}bom");
}

TEST(TerminalSafe, KeepsPrintableUnicodeAndEscapesInvalidUtf8) {
    EXPECT_EQ(terminal_safe("H\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"),
              "H\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80");
    EXPECT_EQ(terminal_safe("\xff\xfe"), "\\xff\\xfe");
    EXPECT_EQ(terminal_safe("cut \xe2\x9c"), "cut \\xe2\\x9c");   // truncated sequence
    EXPECT_EQ(terminal_safe("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
    EXPECT_EQ(terminal_safe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a UTF-16 surrogate
}

TEST(TerminalSafe, EscapesEveryC0AndC1ControlAndIsIdempotent) {
    std::string all;
    for (unsigned c = 0; c < 0x20; ++c)
        all += static_cast<char>(c);
    all += '\x7f';
    for (unsigned c = 0x80; c < 0xa0; ++c) {  // U+0080..U+009F in UTF-8
        all += static_cast<char>(0xc0 | (c >> 6));
        all += static_cast<char>(0x80 | (c & 0x3f));
    }
    for (bool keep_newlines : {false, true}) {
        const std::string safe = terminal_safe(all, keep_newlines);
        for (unsigned char c : safe) {
            if (keep_newlines && c == '\n') continue;
            EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << static_cast<int>(c) << " in " << safe;
        }
        EXPECT_EQ(terminal_safe(safe, keep_newlines), safe);
    }
    // An OSC that would retitle the window, and one that would write a hyperlink.
    EXPECT_EQ(terminal_safe("\x1b]0;pwned\x07name"), "\\x1b]0;pwned\\x07name");
    EXPECT_EQ(terminal_safe("\x1b]8;;https://evil\x1b\\x"), "\\x1b]8;;https://evil\\x1b\\x");
}

TEST(JsonForTerminal, KeepsTheValueButNotTerminalControls) {
    const std::string plain = R"({"origin":"caf\u00e9 \u20ac","method":"personal_sign"})";
    EXPECT_EQ(json_for_terminal(plain), plain);
    const std::string utf8 = "{\"origin\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\"}";
    EXPECT_EQ(json_for_terminal(utf8), utf8);
    // U+009B (CSI), U+202E (right-to-left override), U+200B (zero-width space), DEL.
    const std::string hostile =
        "{\"origin\":\"a\xc2\x9b"
        "31mb\xe2\x80\xae"
        "c\xe2\x80\x8b\x7f\"}";
    const std::string safe = json_for_terminal(hostile);
    EXPECT_EQ(safe, R"({"origin":"a\u009b31mb\u202ec\u200b\u007f"})");
    EXPECT_EQ(boost::json::parse(safe), boost::json::parse(hostile));
}

TEST(JsonForTerminal, EscapesC0DelAndInvalidBytesOutsideTheSerializerSafeSet) {
    // A serializer escapes C0 inside strings already; raw ones (and CR) are escaped here too.
    EXPECT_EQ(json_for_terminal("{\"a\":\"x\x1b[2Jy\"}"), R"({"a":"x\u001b[2Jy"})");
    EXPECT_EQ(json_for_terminal("[1,\n\t2]\r"), "[1,\n\t2]\\u000d");
    EXPECT_EQ(json_for_terminal("{\"a\":\"\xff\"}"), R"({"a":"\ufffd"})");
    const std::string name =
        "n\xc2\x9b"
        "2J\xe2\x81\xa6";
    const std::string text = boost::json::serialize(boost::json::object{{"name", name}});
    const std::string safe = json_for_terminal(text);
    EXPECT_EQ(safe, R"({"name":"n\u009b2J\u2066"})");
    EXPECT_EQ(boost::json::parse(safe).at("name").as_string(), name);
}

}  // namespace
}  // namespace keybridge::cli
