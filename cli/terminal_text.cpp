#include "cli/terminal_text.h"

#include <cstdint>
#include <optional>
#include <utility>

namespace keybridge::cli {
namespace {

// One UTF-8 sequence at text[i]: its code point and length, or nullopt when malformed.
std::optional<std::pair<std::uint32_t, std::size_t>> decode_utf8(std::string_view text,
                                                                 std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) return std::pair<std::uint32_t, std::size_t>{c, 1};
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
        extra = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        extra = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
        return std::nullopt;
    }
    if (extra > text.size() - i - 1) return std::nullopt;
    for (std::size_t k = 1; k <= extra; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80) return std::nullopt;
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
    return std::pair<std::uint32_t, std::size_t>{cp, extra + 1};
}

std::string hex_digits(std::uint32_t value, int width) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(width), '0');
    for (int i = width - 1; i >= 0; --i, value >>= 4)
        out[static_cast<std::size_t>(i)] = kHex[value & 0xf];
    return out;
}

// Characters that change how the rest of a line is displayed without being visible themselves.
bool is_invisible_format(std::uint32_t cp) {
    return (cp >= 0x200b && cp <= 0x200f) ||  // zero-width space/joiners, LRM, RLM
           (cp >= 0x202a && cp <= 0x202e) ||  // bidi embeddings and overrides
           (cp >= 0x2066 && cp <= 0x2069) ||  // bidi isolates
           cp == 0x061c || cp == 0xfeff;      // Arabic letter mark, BOM / zero-width no-break
}

bool is_control(std::uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);  // C0, DEL, C1
}

}  // namespace

std::string terminal_safe(std::string_view text, bool keep_newlines) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto decoded = decode_utf8(text, i);
        if (!decoded) {
            out += "\\x" + hex_digits(static_cast<unsigned char>(text[i]), 2);
            ++i;
            continue;
        }
        const auto [cp, length] = *decoded;
        if (cp == '\n') {
            out += keep_newlines ? "\n" : "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp < 0x20 || cp == 0x7f) {
            out += "\\x" + hex_digits(cp, 2);
        } else if (is_control(cp) || is_invisible_format(cp)) {
            out += "\\u{" + hex_digits(cp, 4) + "}";
        } else {
            out.append(text.substr(i, length));
        }
        i += length;
    }
    return out;
}

std::string json_for_terminal(std::string_view json_text) {
    std::string out;
    out.reserve(json_text.size());
    for (std::size_t i = 0; i < json_text.size();) {
        auto decoded = decode_utf8(json_text, i);
        if (!decoded) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        const auto [cp, length] = *decoded;
        // Inside a string these are escapes of the same character; a serializer writes none of
        // them between tokens except, in some layouts, line feeds and tabs, which are kept.
        if ((is_control(cp) && cp != '\n' && cp != '\t') || is_invisible_format(cp)) {
            out += "\\u" + hex_digits(cp, 4);
        } else {
            out.append(json_text.substr(i, length));
        }
        i += length;
    }
    return out;
}

}  // namespace keybridge::cli
