#include "daemon/rpc/json_reader.h"

#include <boost/json/basic_parser_impl.hpp>

#include "core/wiping_allocator.h"

namespace keybridge::daemon::rpc {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

// Builds the value exactly as boost::json::parse does (a value_stack fed by the parser's
// events) and watches the members named "id" of the request objects: the top-level object, or
// each object directly inside a top-level array.
class IdSpellingHandler {
  public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    // Its scratch space and the values it builds wipe what they release: a payload may carry a
    // password (core/wiping_allocator.h).
    json::value_stack stack{core::wiping_json_storage()};
    std::vector<std::optional<std::string>> number_ids;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&) {
        begin_value();
        ++depth_;
        return true;
    }
    bool on_object_end(std::size_t n, error_code&) {
        --depth_;
        stack.push_object(n);
        return true;
    }
    bool on_array_begin(error_code&) {
        begin_value();
        if (depth_ == 0) top_is_array_ = true;
        ++depth_;
        return true;
    }
    bool on_array_end(std::size_t n, error_code&) {
        --depth_;
        stack.push_array(n);
        return true;
    }
    bool on_key_part(string_view s, std::size_t, error_code&) {
        key_.append(s.data(), s.size());
        stack.push_chars(s);
        return true;
    }
    bool on_key(string_view s, std::size_t, error_code&) {
        key_.append(s.data(), s.size());
        key_is_id_ = depth_ == request_depth() && key_ == "id";
        key_.clear();
        stack.push_key(s);
        return true;
    }
    bool on_string_part(string_view s, std::size_t, error_code&) {
        stack.push_chars(s);
        return true;
    }
    bool on_string(string_view s, std::size_t, error_code&) {
        begin_value();
        stack.push_string(s);
        return true;
    }
    bool on_number_part(string_view s, error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, string_view s, error_code&) {
        end_number(s);
        stack.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, string_view s, error_code&) {
        end_number(s);
        stack.push_uint64(u);
        return true;
    }
    bool on_double(double d, string_view s, error_code&) {
        end_number(s);
        stack.push_double(d);
        return true;
    }
    bool on_bool(bool b, error_code&) {
        begin_value();
        stack.push_bool(b);
        return true;
    }
    bool on_null(error_code&) {
        begin_value();
        stack.push_null();
        return true;
    }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }

  private:
    // Depth of the objects whose "id" is a request id: 1 inside the top-level object, 2 inside
    // the objects of a top-level array.
    int request_depth() const { return top_is_array_ ? 2 : 1; }

    // Every value starts here: it is the value of the last key, and maybe a new batch element.
    void begin_value() {
        value_is_id_ = key_is_id_;
        key_is_id_ = false;
        if (top_is_array_ && depth_ == 1) element_ = next_element_++;
    }

    void end_number(string_view last_part) {
        begin_value();
        number_.append(last_part.data(), last_part.size());
        if (value_is_id_) {
            if (number_ids.size() <= element_) number_ids.resize(element_ + 1);
            // A later duplicate replaces the earlier one, as in the parsed object.
            number_ids[element_] = number_;
        }
        number_.clear();
    }

    int depth_ = 0;
    bool top_is_array_ = false;
    std::size_t element_ = 0;
    std::size_t next_element_ = 0;
    std::string key_;
    bool key_is_id_ = false;
    bool value_is_id_ = false;
    std::string number_;
};

}  // namespace

ReadJson read_json(std::string_view text, boost::system::error_code& ec,
                   const json::parse_options& options) {
    json::basic_parser<IdSpellingHandler> parser(options);
    parser.handler().stack.reset(core::wiping_json_storage());
    const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
    if (ec) return {};
    if (used < text.size()) {
        ec = json::error::extra_data;
        return {};
    }
    // Constructed, not assigned: assignment would copy the value into the default storage.
    return ReadJson{parser.handler().stack.release(), std::move(parser.handler().number_ids)};
}

}  // namespace keybridge::daemon::rpc
