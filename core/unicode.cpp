#include "core/unicode.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "core/assert.h"

// What is and is not wiped. Everything this file allocates for the text (the UTF-16 copy, the
// normalised UTF-16 text and the UTF-8 result) is a SecretBuffer: mlock()ed and wiped on release.
// ICU is given aliases of those buffers instead of its own UnicodeString storage. What we cannot
// reach: small fragments ICU keeps on its own stack while decomposing (e.g. a code point's
// decomposition or a reordering window), CPU registers, and anything ICU would allocate if our
// sizing assumption were ever wrong (then the moved copy is wiped, but not its growth history).
// The caller's input string_view is the caller's to wipe.
namespace keybridge::core {
namespace {

// The longest NFKD expansion of one UTF-16 code unit is 18 units (U+FDFA); supplementary code
// points (two units) expand to fewer. Sizing the output this generously means ICU never has to
// grow (and so copy and free, unwiped) the buffer it writes into.
constexpr std::size_t kMaxNfkdExpansion = 18;

// Offset of the first ill-formed UTF-8 sequence, or npos. U8_NEXT rejects overlongs, surrogates
// and code points above U+10FFFF.
std::size_t first_invalid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
    const auto length = static_cast<std::int32_t>(text.size());
    std::int32_t i = 0;
    while (i < length) {
        const std::int32_t start = i;
        UChar32 c = 0;
        U8_NEXT(s, i, length, c);
        if (c < 0) return static_cast<std::size_t>(start);
    }
    return std::string_view::npos;
}

// Wipes whatever heap buffer a UnicodeString owns before it is destroyed. Used only if ICU moved
// the output away from our own buffer, which the sizing above should prevent.
void wipe_unicode_string(icu::UnicodeString& s) {
    const std::int32_t capacity = s.getCapacity();
    char16_t* buffer = s.getBuffer(capacity);
    if (buffer != nullptr) {
        secure_wipe(buffer, static_cast<std::size_t>(capacity) * sizeof(char16_t));
        s.releaseBuffer(0);
    }
}

bool is_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

Status check_input(std::string_view text) {
    if (text.size() > kMaxNormalizeInput) {
        return fail(ErrorCode::InvalidArgument, "text to normalise is longer than " +
                                                    std::to_string(kMaxNormalizeInput) + " bytes");
    }
    if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
        return fail(ErrorCode::InvalidFormat,
                    "text is not valid UTF-8 (bad sequence at byte " + std::to_string(bad) + ")");
    }
    return {};
}

}  // namespace

Result<SecretBuffer> normalize_nfkd(std::string_view text) {
    KEYBRIDGE_TRY_STATUS(check_input(text));
    // Every ASCII character is NFKD-stable (no decomposition, canonical combining class 0), so
    // ASCII text is already normalised. Asking ICU anyway would fault in its normalisation data
    // (most of the ~1.4 MB of ICU pages an unlocked daemon held) for the common English phrase.
    if (is_ascii(text)) return SecretBuffer::copy_of(text);
    return normalize_nfkd_icu(text);
}

Result<SecretBuffer> normalize_nfkd_icu(std::string_view text) {
    KEYBRIDGE_TRY_STATUS(check_input(text));
    if (text.empty()) return SecretBuffer();

    // 1. UTF-8 -> UTF-16 into a buffer we own. UTF-16 never needs more units than UTF-8 bytes.
    const std::size_t src_capacity = text.size();
    SecretBuffer src(src_capacity * sizeof(char16_t));
    auto* src16 = reinterpret_cast<char16_t*>(src.data());
    std::int32_t src_len = 0;
    UErrorCode status = U_ZERO_ERROR;
    u_strFromUTF8(src16, static_cast<std::int32_t>(src_capacity), &src_len, text.data(),
                  static_cast<std::int32_t>(text.size()), &status);
    if (U_FAILURE(status)) {
        return fail(ErrorCode::InvalidFormat,
                    std::string("text is not valid UTF-8 (ICU: ") + u_errorName(status) + ")");
    }

    // 2. NFKD with icu::Normalizer2, reading from and writing into aliases of our buffers: a
    //    read-only alias for the source and a writable alias (with room for the worst case) for
    //    the destination, so the normalised text only ever lands in locked, wiped memory.
    status = U_ZERO_ERROR;
    const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(status);
    if (U_FAILURE(status) || nfkd == nullptr) {
        return fail(ErrorCode::Internal,
                    std::string("ICU NFKD normaliser unavailable: ") + u_errorName(status));
    }
    const std::size_t dst_capacity = static_cast<std::size_t>(src_len) * kMaxNfkdExpansion;
    SecretBuffer dst(dst_capacity * sizeof(char16_t));
    auto* dst16 = reinterpret_cast<char16_t*>(dst.data());
    const icu::UnicodeString src_alias(false, src16, src_len);
    icu::UnicodeString dst_alias(dst16, 0, static_cast<std::int32_t>(dst_capacity));
    nfkd->normalize(src_alias, dst_alias, status);
    if (U_FAILURE(status)) {
        wipe_unicode_string(dst_alias);
        return fail(ErrorCode::Internal, std::string("ICU NFKD failed: ") + u_errorName(status));
    }
    const char16_t* out16 = dst_alias.getBuffer();
    const std::int32_t out_len = dst_alias.length();

    // 3. UTF-16 -> UTF-8 into the result: at most 3 bytes per UTF-16 unit.
    SecretBuffer out(static_cast<std::size_t>(out_len) * 3);
    std::int32_t utf8_len = 0;
    status = U_ZERO_ERROR;
    u_strToUTF8(reinterpret_cast<char*>(out.data()), static_cast<std::int32_t>(out.size()),
                &utf8_len, out16, out_len, &status);
    // If ICU had to move the output to its own heap buffer, wipe that copy as well.
    if (dst_alias.getBuffer() != dst16) wipe_unicode_string(dst_alias);
    if (U_FAILURE(status)) {
        return fail(ErrorCode::Internal,
                    std::string("ICU UTF-16 to UTF-8 failed: ") + u_errorName(status));
    }
    KEYBRIDGE_ASSERT(utf8_len >= 0 && static_cast<std::size_t>(utf8_len) <= out.size());
    out.truncate(static_cast<std::size_t>(utf8_len));
    return out;
}

bool is_unicode_whitespace(char32_t code_point) {
    return u_isUWhiteSpace(static_cast<UChar32>(code_point)) != 0;
}

}  // namespace keybridge::core
