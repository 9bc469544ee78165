#pragma once

#include <string>
#include <string_view>

namespace keybridge::core {

// ASCII-only text helpers for protocol words (header values, origins, method names, hex): they
// never depend on the process's locale, and bytes above 0x7F pass through unchanged.

// `text` with A-Z turned into a-z.
std::string ascii_lower(std::string_view text);

// `text` without leading and trailing spaces and tabs (the "optional white space" of HTTP
// header values and of our line-based files).
std::string_view trim_blanks(std::string_view text);

// `text` without leading and trailing ASCII white space (space, \t, \n, \v, \f, \r).
std::string_view trim_space(std::string_view text);

}  // namespace keybridge::core
