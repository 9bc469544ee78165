#include "core/text.h"

namespace keybridge::core {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

bool is_space(char c) {
    return is_blank(c) || (c >= '\n' && c <= '\r');
}

template <typename Predicate>
std::string_view trim_if(std::string_view text, Predicate drop) {
    while (!text.empty() && drop(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && drop(text.back()))
        text.remove_suffix(1);
    return text;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim_blanks(std::string_view text) {
    return trim_if(text, is_blank);
}

std::string_view trim_space(std::string_view text) {
    return trim_if(text, is_space);
}

}  // namespace keybridge::core
