#include "core/text.h"

#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

TEST(Text, AsciiLowerTurnsOnlyCapitalLettersDown) {
    EXPECT_EQ(ascii_lower("0xAbCDef09"), "0xabcdef09");
    EXPECT_EQ(ascii_lower("ETH_SendTransaction"), "eth_sendtransaction");
    EXPECT_EQ(ascii_lower(""), "");
    // '@' and '[' sit right before 'A' and right after 'Z'; UTF-8 bytes pass unchanged.
    EXPECT_EQ(ascii_lower("@Z[az{"), "@z[az{");
    EXPECT_EQ(ascii_lower("\xC3\x84pfel"), "\xC3\x84pfel");
}

TEST(Text, TrimBlanksDropsSpacesAndTabsAtBothEndsOnly) {
    EXPECT_EQ(trim_blanks(" \t text with  inner \t "), "text with  inner");
    EXPECT_EQ(trim_blanks("\tx"), "x");
    EXPECT_EQ(trim_blanks(" \t "), "");
    EXPECT_EQ(trim_blanks(""), "");
    // Line ends are not blanks: a header value keeps them (and is refused elsewhere).
    EXPECT_EQ(trim_blanks("\r\nvalue\n"), "\r\nvalue\n");
}

TEST(Text, TrimSpaceDropsEveryAsciiWhiteSpace) {
    EXPECT_EQ(trim_space("\r\n\t\v\f value \n"), "value");
    EXPECT_EQ(trim_space("a b"), "a b");
    EXPECT_EQ(trim_space("\n\n"), "");
    // A non-breaking space (UTF-8 C2 A0) is not ASCII white space.
    EXPECT_EQ(trim_space("\xC2\xA0x"), "\xC2\xA0x");
}

}  // namespace
}  // namespace keybridge::core
