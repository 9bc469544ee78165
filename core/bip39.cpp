#include "core/bip39.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>

#include <unicode/utf8.h>

#include "core/assert.h"
#include "core/bip39_wordlists.h"
#include "core/hash.h"
#include "core/unicode.h"

namespace keybridge::core::bip39 {
namespace {

constexpr std::size_t kWordCount = 2048;
constexpr std::size_t kBitsPerWord = 11;
constexpr std::size_t kMaxWords = 24;
constexpr std::string_view kIdeographicSpace = "\xe3\x80\x80";  // U+3000 in UTF-8

struct List {
    std::array<std::string_view, kWordCount> words;
    std::array<std::uint16_t, kWordCount> by_bytes;  // word indices in byte order, for lookup
};

// Splits an embedded list file into its words. The text is compiled in, so a malformed list is
// a build defect, not an input error: hence assertions.
List build_list(std::string_view text) {
    List list;
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = text.find('\n', pos);
        KEYBRIDGE_ASSERT(end != std::string_view::npos);  // the file ends with a newline
        KEYBRIDGE_ASSERT(end > pos);                      // no empty lines
        KEYBRIDGE_ASSERT(count < kWordCount);
        list.words[count++] = text.substr(pos, end - pos);
        pos = end + 1;
    }
    KEYBRIDGE_ASSERT(count == kWordCount);
    // The Japanese list is in its own (kana) order, not byte order, so lookups go through a
    // byte-sorted index instead of relying on the file order.
    std::iota(list.by_bytes.begin(), list.by_bytes.end(), std::uint16_t{0});
    std::sort(list.by_bytes.begin(), list.by_bytes.end(),
              [&](std::uint16_t a, std::uint16_t b) { return list.words[a] < list.words[b]; });
    for (std::size_t i = 1; i < kWordCount; ++i) {
        KEYBRIDGE_ASSERT(list.words[list.by_bytes[i - 1]] != list.words[list.by_bytes[i]]);
    }
    return list;
}

const List& list_for(Language language) {
    // Function-local statics: built once, thread-safely, on first use.
    static const List english = build_list(detail::english_wordlist_text());
    static const List japanese = build_list(detail::japanese_wordlist_text());
    return language == Language::Japanese ? japanese : english;
}

std::optional<std::uint16_t> find_word(const List& list, std::string_view word) {
    const auto it = std::lower_bound(
        list.by_bytes.begin(), list.by_bytes.end(), word,
        [&](std::uint16_t index, std::string_view w) { return list.words[index] < w; });
    if (it == list.by_bytes.end() || list.words[*it] != word) return std::nullopt;
    return *it;
}

std::string_view separator(Language language) {
    return language == Language::Japanese ? kIdeographicSpace : std::string_view(" ");
}

bool valid_word_count(std::size_t n) {
    return n >= 12 && n <= kMaxWords && n % 3 == 0;
}

// Splits well-formed UTF-8 on runs of Unicode whitespace. The views point into text.
std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
    const auto length = static_cast<std::int32_t>(text.size());
    std::int32_t i = 0;
    std::int32_t word_start = -1;
    while (i < length) {
        const std::int32_t start = i;
        UChar32 c = 0;
        U8_NEXT(s, i, length, c);
        const bool blank = c >= 0 && is_unicode_whitespace(static_cast<char32_t>(c));
        if (blank && word_start >= 0) {
            words.push_back(text.substr(static_cast<std::size_t>(word_start),
                                        static_cast<std::size_t>(start - word_start)));
            word_start = -1;
        } else if (!blank && word_start < 0) {
            word_start = start;
        }
    }
    if (word_start >= 0) words.push_back(text.substr(static_cast<std::size_t>(word_start)));
    return words;
}

// Decodes well-formed UTF-8 into code points.
std::vector<char32_t> code_points(std::string_view text) {
    std::vector<char32_t> out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
    const auto length = static_cast<std::int32_t>(text.size());
    std::int32_t i = 0;
    while (i < length) {
        UChar32 c = 0;
        U8_NEXT(s, i, length, c);
        out.push_back(c < 0 ? 0xfffd : static_cast<char32_t>(c));
    }
    return out;
}

// An unknown word for an error message: quoted, cut at a code point boundary if long.
std::string quote_word(std::string_view word) {
    constexpr std::size_t kMaxShown = 32;
    if (word.size() <= kMaxShown) return "'" + std::string(word) + "'";
    std::size_t cut = kMaxShown;
    while (cut > 0 && (static_cast<std::uint8_t>(word[cut]) & 0xc0) == 0x80)
        --cut;
    return "'" + std::string(word.substr(0, cut)) + "...'";
}

std::optional<Language> guess_language(const std::vector<std::string_view>& words) {
    std::size_t english = 0;
    std::size_t japanese = 0;
    for (const auto word : words) {
        if (find_word(list_for(Language::English), word)) ++english;
        if (find_word(list_for(Language::Japanese), word)) ++japanese;
    }
    if (english == 0 && japanese == 0) return std::nullopt;
    return japanese > english ? Language::Japanese : Language::English;
}

void set_bits(std::uint8_t* bits, std::size_t offset, std::uint32_t value, std::size_t count) {
    for (std::size_t b = 0; b < count; ++b) {
        if ((value >> (count - 1 - b)) & 1u) {
            const std::size_t at = offset + b;
            bits[at / 8] = static_cast<std::uint8_t>(bits[at / 8] | (0x80u >> (at % 8)));
        }
    }
}

std::uint32_t get_bits(const std::uint8_t* bits, std::size_t offset, std::size_t count) {
    std::uint32_t value = 0;
    for (std::size_t b = 0; b < count; ++b) {
        const std::size_t at = offset + b;
        value = (value << 1) | ((bits[at / 8] >> (7 - at % 8)) & 1u);
    }
    return value;
}

// The shared core of entropy_from_mnemonic / validate_mnemonic / canonical_mnemonic.
Result<SecretBuffer> decode(std::string_view mnemonic, std::optional<Language> language) {
    auto normalized = normalize_nfkd(mnemonic);
    if (!normalized) return fail(normalized.error());
    const std::vector<std::string_view> words = split_words(normalized->text());

    const std::size_t n = words.size();
    if (!valid_word_count(n)) {
        return fail(ErrorCode::InvalidFormat,
                    "expected 12, 15, 18, 21 or 24 words, got " + std::to_string(n));
    }
    if (!language) {
        language = guess_language(words);
        if (!language) {
            return fail(ErrorCode::InvalidFormat,
                        "none of the words is in the English or Japanese list");
        }
    }
    const List& list = list_for(*language);

    // Word indices and the packed bits are the secret in another form: keep them wiped.
    std::array<std::uint16_t, kMaxWords> indices{};
    ScopedWipe wipe_indices(indices);
    for (std::size_t i = 0; i < n; ++i) {
        const auto index = find_word(list, words[i]);
        if (!index) {
            return fail(ErrorCode::InvalidFormat,
                        "word " + std::to_string(i + 1) + " " + quote_word(words[i]) +
                            " is not in the " + std::string(language_name(*language)) + " list");
        }
        indices[i] = *index;
    }

    SecretBuffer bits((n * kBitsPerWord + 7) / 8);
    for (std::size_t i = 0; i < n; ++i)
        set_bits(bits.data(), i * kBitsPerWord, indices[i], 11);

    const std::size_t entropy_bytes = n * 4 / 3;  // ENT = 32 * words / 3 bits
    const std::size_t checksum_bits = n / 3;      // CS = ENT / 32, at most 8
    Hash32 digest = sha256(bits.view().first(entropy_bytes));
    ScopedWipe wipe_digest(digest);
    const std::uint32_t expected = get_bits(digest.data(), 0, checksum_bits);
    const std::uint32_t got = get_bits(bits.data(), entropy_bytes * 8, checksum_bits);
    if (expected != got) {
        return fail(ErrorCode::InvalidChecksum,
                    "checksum does not match: a word is probably mistyped");
    }
    bits.truncate(entropy_bytes);
    return bits;
}

// Optimal string alignment distance (Levenshtein plus adjacent transposition), giving up early
// once every entry of a row exceeds limit.
std::size_t edit_distance(const std::vector<char32_t>& a, const std::vector<char32_t>& b,
                          std::size_t limit) {
    const std::size_t m = b.size();
    std::vector<std::size_t> before(m + 1), previous(m + 1), current(m + 1);
    std::iota(previous.begin(), previous.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        std::size_t row_min = current[0];
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            std::size_t d = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d = std::min(d, before[j - 2] + 1);
            }
            current[j] = d;
            row_min = std::min(row_min, d);
        }
        if (row_min > limit) return limit + 1;
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[m];
}

}  // namespace

std::string_view language_name(Language language) {
    return language == Language::Japanese ? "Japanese" : "English";
}

std::span<const std::string_view, 2048> wordlist(Language language) {
    return std::span<const std::string_view, 2048>(list_for(language).words);
}

Result<SecretBuffer> mnemonic_from_entropy(ByteView entropy, Language language) {
    const std::size_t size = entropy.size();
    if (size < 16 || size > 32 || size % 4 != 0) {
        return fail(ErrorCode::InvalidArgument,
                    "entropy must be 16, 20, 24, 28 or 32 bytes, got " + std::to_string(size));
    }
    // (ENT + ENT/32) / 11 words: slicing entropy || checksum byte into 11-bit groups uses
    // exactly the ENT/32 checksum bits and ignores the rest of the byte.
    const std::size_t n = size * 3 / 4;

    SecretBuffer bits(size + 1);  // entropy || first checksum byte
    std::memcpy(bits.data(), entropy.data(), size);
    Hash32 digest = sha256(entropy);
    ScopedWipe wipe_digest(digest);
    bits.data()[size] = digest[0];

    const List& list = list_for(language);
    const std::string_view sep = separator(language);
    std::array<std::uint16_t, kMaxWords> indices{};
    ScopedWipe wipe_indices(indices);
    std::size_t total = sep.size() * (n - 1);
    for (std::size_t i = 0; i < n; ++i) {
        indices[i] = static_cast<std::uint16_t>(get_bits(bits.data(), i * kBitsPerWord, 11));
        total += list.words[indices[i]].size();
    }

    SecretBuffer out(total);
    std::size_t at = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) {
            std::memcpy(out.data() + at, sep.data(), sep.size());
            at += sep.size();
        }
        const std::string_view word = list.words[indices[i]];
        std::memcpy(out.data() + at, word.data(), word.size());
        at += word.size();
    }
    KEYBRIDGE_ASSERT(at == total);
    return out;
}

Result<SecretBuffer> generate_mnemonic(std::size_t word_count, Language language) {
    if (!valid_word_count(word_count)) {
        return fail(ErrorCode::InvalidArgument,
                    "word count must be 12, 15, 18, 21 or 24, got " + std::to_string(word_count));
    }
    SecretBuffer entropy(word_count * 4 / 3);
    auto ok = random_bytes(entropy.span());
    if (!ok) return fail(ok.error());
    return mnemonic_from_entropy(entropy.view(), language);
}

Result<Language> detect_language(std::string_view mnemonic) {
    auto normalized = normalize_nfkd(mnemonic);
    if (!normalized) return fail(normalized.error());
    const auto language = guess_language(split_words(normalized->text()));
    if (!language) {
        return fail(ErrorCode::InvalidFormat,
                    "none of the words is in the English or Japanese list");
    }
    return *language;
}

Result<SecretBuffer> entropy_from_mnemonic(std::string_view mnemonic,
                                           std::optional<Language> language) {
    return decode(mnemonic, language);
}

Status validate_mnemonic(std::string_view mnemonic, std::optional<Language> language) {
    auto entropy = decode(mnemonic, language);
    if (!entropy) return fail(entropy.error());
    return {};
}

Result<SecretBuffer> canonical_mnemonic(std::string_view mnemonic,
                                        std::optional<Language> language) {
    if (!language) {
        auto detected = detect_language(mnemonic);
        // Let decode() report the more specific problem (word count, not UTF-8) if there is one.
        if (!detected) return decode(mnemonic, language);
        language = *detected;
    }
    auto entropy = decode(mnemonic, language);
    if (!entropy) return fail(entropy.error());
    return mnemonic_from_entropy(entropy->view(), *language);
}

std::vector<std::string_view> suggest_words(std::string_view word, Language language,
                                            std::size_t max_results) {
    std::vector<std::string_view> out;
    if (max_results == 0) return out;
    auto normalized = normalize_nfkd(word);
    if (!normalized) return out;
    std::vector<char32_t> typed = code_points(normalized->text());
    // The typed word is usually a near-copy of a secret word: wipe its decoded form on exit.
    struct WipeVector {
        std::vector<char32_t>& v;
        ~WipeVector() { secure_wipe(v.data(), v.size() * sizeof(char32_t)); }
    } wipe_typed{typed};
    if (typed.empty()) return out;

    const std::size_t limit = typed.size() <= 3 ? 1 : 2;
    struct Candidate {
        std::size_t distance;
        std::size_t index;
    };
    std::vector<Candidate> candidates;
    const List& list = list_for(language);
    for (std::size_t i = 0; i < kWordCount; ++i) {
        const std::vector<char32_t> candidate = code_points(list.words[i]);
        std::size_t distance = limit + 1;
        const std::size_t gap = candidate.size() > typed.size() ? candidate.size() - typed.size()
                                                                : typed.size() - candidate.size();
        if (gap <= limit) distance = edit_distance(typed, candidate, limit);
        if (typed.size() >= 3 && candidate.size() > typed.size() &&
            std::equal(typed.begin(), typed.end(), candidate.begin())) {
            distance = std::min<std::size_t>(distance, 1);
        }
        if (distance <= limit) candidates.push_back({distance, i});
    }
    std::stable_sort(
        candidates.begin(), candidates.end(),
        [](const Candidate& a, const Candidate& b) { return a.distance < b.distance; });
    for (std::size_t i = 0; i < candidates.size() && out.size() < max_results; ++i) {
        out.push_back(list.words[candidates[i].index]);
    }
    return out;
}

Result<SecretBuffer> seed_from_mnemonic(std::string_view mnemonic, std::string_view passphrase) {
    // Both normalised copies live in SecretBuffers (see core/unicode.cpp for what ICU itself may
    // leave behind); the salt is assembled in one too.
    auto password = normalize_nfkd(mnemonic);
    if (!password) return fail(password.error());
    auto normalized_passphrase = normalize_nfkd(passphrase);
    if (!normalized_passphrase) return fail(normalized_passphrase.error());

    constexpr std::string_view kSaltPrefix = "mnemonic";
    SecretBuffer salt(kSaltPrefix.size() + normalized_passphrase->size());
    std::memcpy(salt.data(), kSaltPrefix.data(), kSaltPrefix.size());
    if (!normalized_passphrase->empty()) {
        std::memcpy(salt.data() + kSaltPrefix.size(), normalized_passphrase->data(),
                    normalized_passphrase->size());
    }
    return pbkdf2_hmac_sha512(password->view(), salt.view(), 2048, 64);
}

}  // namespace keybridge::core::bip39
