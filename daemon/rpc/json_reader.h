#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace keybridge::daemon::rpc {

// A parsed JSON-RPC payload text, with the source spelling of its numeric request ids.
struct ReadJson {
    boost::json::value root;  // in core::wiping_json_storage()
    // For a top-level object: element 0; for a top-level array: one slot per element. Set when
    // that object's "id" member is a number, to the number exactly as the text wrote it
    // ("1e400", a 400-digit integer): Boost.JSON keeps numbers as int64, uint64 or double, and a
    // double cannot hold every number (1e400 becomes infinity, which JSON cannot express).
    std::vector<std::optional<std::string>> number_ids;
};

// Parses `text` as boost::json::parse does (same errors, same `options`), and also records the
// spelling of numeric ids as described above. With duplicate "id" members the recorded spelling
// is the one of the member the parsed object keeps.
[[nodiscard]] ReadJson read_json(std::string_view text, boost::system::error_code& ec,
                                 const boost::json::parse_options& options);

}  // namespace keybridge::daemon::rpc
