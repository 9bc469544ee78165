#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/secp256k1.h"

namespace keybridge::test {

// Absolute path of a file under tests/data.
std::string data_path(const std::string& relative);

// Reads and parses a JSON file under tests/data; fails the calling test (via ADD_FAILURE and an
// empty object) when it cannot.
boost::json::value load_json(const std::string& relative);

// Reads a whole file under tests/data as text.
std::string load_text(const std::string& relative);

// A private key from hex; fails the calling test when the text is not a valid key.
core::PrivateKey private_key_from_hex(std::string_view hex);

}  // namespace keybridge::test
