#include "core/json_text.h"

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace keybridge::core {
namespace {

// The fast path must write exactly what the serialiser writes, whatever the text.
TEST(JsonText, AppendsWhatTheSerialiserWrites) {
    const std::vector<std::string> texts = {
        "",
        "0x4a5c",
        "https://app.example:8443/path?q=1",
        "say \"hi\"",
        "back\\slash",
        std::string("nul\0byte", 8),
        "tab\tnew\nline\x01\x1f",
        "del\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
        "bad \xff\xfe utf-8",
        "/solidus/",
    };
    for (const std::string& text : texts) {
        std::string out = "prefix:";
        append_json_string(out, text);
        EXPECT_EQ(out, "prefix:" + boost::json::serialize(
                                       boost::json::string_view(text.data(), text.size())))
            << text;
    }
}

}  // namespace
}  // namespace keybridge::core
