#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

namespace keybridge::core {

// Appends `value` as the JSON string boost::json::serialize makes of it. Printable ASCII without
// quotes or backslashes (hex, origins, method names: nearly everything a reply or an audit line
// carries) needs no escape and is copied as it is; anything else goes through the serialiser.
// It saves the serialiser's machinery and a temporary string on the request path.
inline void append_json_string(std::string& out, std::string_view value) {
    const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return b >= 0x20 && b < 0x7f && c != '"' && c != '\\';
    });
    if (!plain) {
        out.append(boost::json::serialize(boost::json::string_view(value.data(), value.size())));
        return;
    }
    out.push_back('"');
    out.append(value);
    out.push_back('"');
}

}  // namespace keybridge::core
