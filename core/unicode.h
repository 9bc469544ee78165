#pragma once

#include <cstddef>
#include <string_view>

#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::core {

// Unicode NFKD (compatibility decomposition) of UTF-8 text, as BIP39 requires for mnemonics and
// passphrases. Pure-ASCII text is returned as it is without calling ICU (exact: no ASCII
// character has a decomposition or a combining class, so such text is its own NFKD), which keeps
// ICU's normalisation data out of memory for English phrases; any other text goes through ICU's
// NFKD instance. The result is UTF-8 in a SecretBuffer, because the input
// is usually a secret; every intermediate buffer this function owns is a SecretBuffer too (see
// the .cpp for what ICU may keep beyond our reach).
//
// Errors: InvalidFormat when text is not well-formed UTF-8 (the detail gives the byte offset of
// the first bad sequence, never the text); InvalidArgument when text is longer than
// kMaxNormalizeInput bytes; Internal if ICU itself fails.
inline constexpr std::size_t kMaxNormalizeInput = 64 * 1024;
[[nodiscard]] Result<SecretBuffer> normalize_nfkd(std::string_view text);

// normalize_nfkd without the ASCII shortcut: always ICU. Same contract; for tests that check the
// shortcut against ICU.
[[nodiscard]] Result<SecretBuffer> normalize_nfkd_icu(std::string_view text);

// True when the code point has the Unicode White_Space property (ASCII blanks, U+00A0, U+3000,
// U+2028, ...), per ICU.
bool is_unicode_whitespace(char32_t code_point);

}  // namespace keybridge::core
