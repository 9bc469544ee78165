#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::core::bip39 {

// BIP39 mnemonic phrases: entropy <-> words with a SHA-256 checksum, and the PBKDF2 seed.
// Only the English and Japanese lists ship; both are compiled into the library (no file access).
enum class Language { English, Japanese };

// "English" / "Japanese", for messages.
std::string_view language_name(Language language);

// The 2048 words of a list in BIP39 order (index = the 11-bit value). The words are NFKD, as the
// published lists are. Valid for the life of the program.
std::span<const std::string_view, 2048> wordlist(Language language);

// Words for 16, 20, 24, 28 or 32 bytes of entropy (12, 15, 18, 21 or 24 words). English words are
// joined by ' ', Japanese by U+3000 IDEOGRAPHIC SPACE, as BIP39 specifies.
// InvalidArgument for any other entropy length.
[[nodiscard]] Result<SecretBuffer> mnemonic_from_entropy(ByteView entropy, Language language);

// A fresh phrase of word_count words (12, 15, 18, 21 or 24) from the OS CSPRNG.
// InvalidArgument for another word count; CryptoFailure if the RNG fails.
[[nodiscard]] Result<SecretBuffer> generate_mnemonic(std::size_t word_count, Language language);

// Guesses the list a phrase comes from: the one holding more of its words (after NFKD). Errors:
// InvalidFormat when the text is not UTF-8 or none of the words is in either list.
[[nodiscard]] Result<Language> detect_language(std::string_view mnemonic);

// Recovers the entropy of a phrase. The text is NFKD-normalised first, then split on any run of
// Unicode whitespace (ASCII blanks, U+3000, ...). With no language given it is detected. Errors,
// checked in this order, never quoting the phrase:
//   InvalidArgument  text longer than kMaxNormalizeInput bytes
//   InvalidFormat    not UTF-8; "expected 12, 15, 18, 21 or 24 words, got 11"; with no language
//                    given, "none of the words is in the English or Japanese list";
//                    "word 5 'abandn' is not in the English list" (1-based; the single unknown
//                    word is named, truncated if very long)
//   InvalidChecksum  "checksum does not match: a word is probably mistyped"
[[nodiscard]] Result<SecretBuffer> entropy_from_mnemonic(
    std::string_view mnemonic, std::optional<Language> language = std::nullopt);

// Same checks as entropy_from_mnemonic, without returning the entropy.
[[nodiscard]] Status validate_mnemonic(std::string_view mnemonic,
                                       std::optional<Language> language = std::nullopt);

// The phrase rewritten in its standard form: validated as by entropy_from_mnemonic, then the
// list's own words joined by the list's separator (so stray, doubled or exotic whitespace is
// gone). Hand this, not raw typed text, to seed_from_mnemonic.
[[nodiscard]] Result<SecretBuffer> canonical_mnemonic(
    std::string_view mnemonic, std::optional<Language> language = std::nullopt);

// Typo hints: up to max_results words of the list nearest to word (NFKD-normalised first) by
// edit distance over code points, counting an adjacent transposition as one edit. Words within
// distance 1 (for inputs of up to 3 code points) or 2 (longer inputs) qualify, and so does every
// word that starts with an input of at least 3 code points (it counts as distance 1, for
// truncated words). Nearest first, ties in list order; a valid word returns itself first.
// The views point into the static list. Empty when nothing is close or the input is not UTF-8.
std::vector<std::string_view> suggest_words(std::string_view word, Language language,
                                            std::size_t max_results = 5);

// The 64-byte BIP39 seed: PBKDF2-HMAC-SHA512(password = NFKD(mnemonic),
// salt = "mnemonic" + NFKD(passphrase), 2048 iterations). As in the spec the phrase is used as
// given: it is not validated and its whitespace is not tidied (any text gives a seed, and a
// doubled space gives a different one), so pass typed phrases through canonical_mnemonic first.
// InvalidFormat if either text is not UTF-8; InvalidArgument if either exceeds
// kMaxNormalizeInput bytes.
[[nodiscard]] Result<SecretBuffer> seed_from_mnemonic(std::string_view mnemonic,
                                                      std::string_view passphrase = {});

}  // namespace keybridge::core::bip39
