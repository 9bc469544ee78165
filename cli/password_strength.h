#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keybridge::cli {

// How hard a new password is to guess, estimated the way a cracker works through candidates:
// the password is split into the cheapest sequence of pieces, each piece either a known pattern
// (a common password or word, with capitals, reversal and l33t substitutions; a repeated
// character or block; a sequence such as "abcd" or "9876"; a walk along the keyboard such as
// "qwerty" or "1qaz"; a year) priced by how few guesses find it, or characters guessed one by
// one from the classes the password uses. Deterministic, no I/O; the word data is the built-in
// list in the .cpp plus BIP39's English list.
//
// The password is only read; every copy this function makes is wiped before it returns.
struct PasswordStrength {
    double bits = 0;          // log2 of the estimated number of guesses
    std::size_t length = 0;   // in code points
    bool acceptable = false;  // length >= kMinPasswordLength and bits >= kMinPasswordBits
    std::string reason;       // when not acceptable: a short reason, e.g. "it is a keyboard
                              // pattern (like qwerty)"; never quotes the password
};

inline constexpr std::size_t kMinPasswordLength = 8;
// 2^30 guesses: against the vault's scrypt (N=2^18) that is years of one GPU's time, while
// everything the patterns above cover falls far below it.
inline constexpr double kMinPasswordBits = 30;

PasswordStrength estimate_password_strength(std::string_view password);

}  // namespace keybridge::cli
