#include "test_data.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace keybridge::test {

std::string data_path(const std::string& relative) {
    return std::string(KEYBRIDGE_TEST_DATA_DIR) + "/" + relative;
}

std::string load_text(const std::string& relative) {
    std::ifstream in(data_path(relative), std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot open test data " << data_path(relative);
        return {};
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

boost::json::value load_json(const std::string& relative) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(load_text(relative), ec);
    if (ec) {
        ADD_FAILURE() << "cannot parse " << relative << ": " << ec.message();
        return boost::json::object{};
    }
    return value;
}

core::PrivateKey private_key_from_hex(std::string_view hex) {
    auto bytes = core::hex_decode(hex);
    EXPECT_TRUE(bytes) << "bad hex in a test key";
    auto key = core::PrivateKey::from_bytes(bytes ? *bytes : core::Bytes(32, 1));
    EXPECT_TRUE(key) << "invalid test key";
    if (!key) return std::move(*core::PrivateKey::from_bytes(core::Bytes(32, 1)));
    return std::move(*key);
}

}  // namespace keybridge::test
