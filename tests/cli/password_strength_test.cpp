#include "cli/password_strength.h"

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

void expect_refused(const std::string& password, const std::string& reason_part) {
    const PasswordStrength s = estimate_password_strength(password);
    EXPECT_FALSE(s.acceptable) << password << " (" << s.bits << " bits)";
    EXPECT_NE(s.reason.find(reason_part), std::string::npos)
        << password << ": reason '" << s.reason << "', expected it to mention '" << reason_part
        << "'";
    // The reason is one of the fixed texts: it never quotes the password.
    EXPECT_EQ(s.reason.rfind("it ", 0), 0u) << s.reason;
}

void expect_accepted(const std::string& password) {
    const PasswordStrength s = estimate_password_strength(password);
    EXPECT_TRUE(s.acceptable) << password << " (" << s.bits << " bits): " << s.reason;
    EXPECT_TRUE(s.reason.empty());
}

TEST(PasswordStrength, ShorterThanEightCharactersIsRefused) {
    expect_refused("", "shorter than 8");
    expect_refused("x7#Qp2!", "shorter than 8");
    // Length counts characters, not bytes: seven kana are 21 bytes.
    expect_refused(
        "\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe3\x81\x88\xe3\x81\x8a\xe3\x81\x8b"
        "\xe3\x81\x8d",
        "shorter than 8");
    EXPECT_EQ(estimate_password_strength("x7#Qp2!a").length, 8u);
}

TEST(PasswordStrength, CommonPasswordsAndWordsAreRefused) {
    expect_refused("password", "common password or word");
    expect_refused("Password1", "common password or word");
    expect_refused("P@ssw0rd!", "common password or word");
    expect_refused("drowssap", "common password or word");  // reversed
    expect_refused("iloveyou", "common password or word");
    expect_refused("sunshine22", "common password or word");
    expect_refused("Football1990", "common password or word");
    expect_refused("elephant", "common password or word");  // an everyday word (BIP39 list)
    expect_refused("MONKEY12", "common password or word");
}

TEST(PasswordStrength, RepeatsAreRefused) {
    expect_refused("aaaaaaaaaa", "repeats");
    expect_refused("zzzzzzzzzzzzzzzz", "repeats");
    expect_refused("x9x9x9x9x9", "repeats");
    expect_refused("k2#k2#k2#k2#", "repeats");
}

TEST(PasswordStrength, SequencesAreRefused) {
    expect_refused("abcdefghij", "sequence");
    expect_refused("zyxwvutsrq", "sequence");
    expect_refused("234567890123", "sequence");
    expect_refused("98765432", "sequence");
    expect_refused("mnopqrstuv", "sequence");
}

TEST(PasswordStrength, KeyboardWalksAreRefused) {
    expect_refused("qwertyuiop", "common password");  // so common it is on the list
    expect_refused("wertyuiop[", "keyboard");
    expect_refused("sdfghjkl;'", "keyboard");
    expect_refused("2wsx3edc4rfv", "keyboard");
    expect_refused("zaq12wsxcde", "keyboard");
    expect_refused("WERTYUIOP{", "keyboard");
    expect_refused("oiuytrewq", "keyboard");
}

TEST(PasswordStrength, ShortSingleClassPasswordsAreRefused) {
    expect_refused("83920174", "too short for the kinds of characters");
    expect_refused("5821947306", "too short for the kinds of characters");
}

TEST(PasswordStrength, StrongPasswordsAreAccepted) {
    expect_accepted("vault-Pw-7c1e!");
    expect_accepted("kqzjwmtpvd");
    expect_accepted("Tr0ub4dor&3x");
    expect_accepted("correct horse battery staple");
    expect_accepted("x7#Qp2!aM9");
    expect_accepted(
        "\xe3\x81\x8b\xe3\x81\x8e\xe3\x81\xa8\xe3\x81\xb2\xe3\x81\xbf\xe3\x81\xa4"
        "\xe3\x81\x8f\xe3\x81\x88\xe3\x81\x95");  // nine kana, not a word
    // Very long text is priced without looking for patterns past 64 characters.
    expect_accepted(std::string(64, 'a') + "Zq7#mK2p!xW4");
}

TEST(PasswordStrength, EstimateIsDeterministicAndMonotonicInRandomCharacters) {
    const double a = estimate_password_strength("kqzjwmtp").bits;
    EXPECT_EQ(a, estimate_password_strength("kqzjwmtp").bits);
    EXPECT_LT(a, estimate_password_strength("kqzjwmtpv").bits);
    EXPECT_LT(estimate_password_strength("password").bits, 5);
}

}  // namespace
}  // namespace keybridge::cli
