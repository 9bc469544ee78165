#include "daemon/subscriptions/log_filter.h"

#include <algorithm>
#include <cctype>

namespace keybridge::daemon::subscriptions {
namespace {

namespace json = boost::json;

// "0x" then exactly 2 * bytes hex digits, in either case. Returned in lower case.
std::optional<std::string> fixed_hex(const json::value& v, std::size_t bytes) {
    if (!v.is_string()) return std::nullopt;
    std::string_view text = v.as_string();
    if (text.size() != 2 + 2 * bytes || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return std::nullopt;
    std::string out = "0x";
    for (char c : text.substr(2)) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}

rpc::RpcError bad(const std::string& field, std::string_view what) {
    return rpc::invalid_params_error(field + ": " + std::string(what));
}

constexpr std::string_view kAddressRule = "must be 20-byte hex (0x + 40 hex digits)";
constexpr std::string_view kTopicRule = "must be null or 32-byte hex (0x + 64 hex digits)";

rpc::ParamResult<std::vector<std::string>> parse_addresses(const json::value& v,
                                                           const std::string& field) {
    std::vector<std::string> out;
    if (v.is_null()) return out;
    if (!v.is_array()) {
        auto one = fixed_hex(v, 20);
        if (!one) return tl::unexpected(bad(field, std::string(kAddressRule) + " or an array"));
        out.push_back(std::move(*one));
        return out;
    }
    const json::array& a = v.as_array();
    if (a.size() > kMaxFilterAddresses) {
        return tl::unexpected(
            bad(field, "more than " + std::to_string(kMaxFilterAddresses) + " addresses"));
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto one = fixed_hex(a[i], 20);
        if (!one) return tl::unexpected(bad(field + "[" + std::to_string(i) + "]", kAddressRule));
        if (std::find(out.begin(), out.end(), *one) == out.end()) out.push_back(std::move(*one));
    }
    return out;
}

rpc::ParamResult<std::optional<std::vector<std::string>>> parse_topic_position(
    const json::value& v, const std::string& field) {
    if (v.is_null()) return std::nullopt;
    if (!v.is_array()) {
        auto one = fixed_hex(v, 32);
        if (!one) return tl::unexpected(bad(field, std::string(kTopicRule) + " or an array"));
        return std::vector<std::string>{std::move(*one)};
    }
    const json::array& a = v.as_array();
    if (a.size() > kMaxTopicAlternatives) {
        return tl::unexpected(
            bad(field, "more than " + std::to_string(kMaxTopicAlternatives) + " alternatives"));
    }
    std::vector<std::string> out;
    bool wildcard = a.empty();
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].is_null()) {
            wildcard = true;  // "this or anything" is anything, but the rest is still checked
            continue;
        }
        auto one = fixed_hex(a[i], 32);
        if (!one) return tl::unexpected(bad(field + "[" + std::to_string(i) + "]", kTopicRule));
        if (std::find(out.begin(), out.end(), *one) == out.end()) out.push_back(std::move(*one));
    }
    if (wildcard) return std::nullopt;
    return out;
}

}  // namespace

json::object LogFilter::to_json() const {
    json::object out;
    if (!addresses.empty()) {
        json::array a;
        for (const auto& address : addresses)
            a.emplace_back(address);
        out["address"] = std::move(a);
    }
    // Trailing wildcards are kept: as in geth, a filter with N positions only matches logs
    // with at least N topics.
    if (!topics.empty()) {
        json::array t;
        for (std::size_t i = 0; i < topics.size(); ++i) {
            if (!topics[i]) {
                t.emplace_back(nullptr);
                continue;
            }
            json::array alternatives;
            for (const auto& topic : *topics[i])
                alternatives.emplace_back(topic);
            t.emplace_back(std::move(alternatives));
        }
        out["topics"] = std::move(t);
    }
    return out;
}

std::string LogFilter::key() const {
    LogFilter sorted = *this;
    std::sort(sorted.addresses.begin(), sorted.addresses.end());
    for (auto& position : sorted.topics) {
        if (position) std::sort(position->begin(), position->end());
    }
    return json::serialize(sorted.to_json());
}

bool LogFilter::matches(const json::value& log) const {
    const json::object* o = log.if_object();
    if (o == nullptr) return false;
    const json::value* address = o->if_contains("address");
    const json::value* log_topics = o->if_contains("topics");
    if (address == nullptr || !address->is_string() || log_topics == nullptr ||
        !log_topics->is_array()) {
        return false;
    }
    auto lower = [](std::string_view text) {
        std::string out(text);
        std::transform(out.begin(), out.end(), out.begin(),
                       [](char c) { return static_cast<char>(std::tolower(c)); });
        return out;
    };
    if (!addresses.empty() && std::find(addresses.begin(), addresses.end(),
                                        lower(address->as_string())) == addresses.end()) {
        return false;
    }
    const json::array& present = log_topics->as_array();
    if (present.size() < topics.size()) return false;
    for (std::size_t i = 0; i < topics.size(); ++i) {
        if (!topics[i]) continue;
        if (!present[i].is_string()) return false;
        const auto& allowed = *topics[i];
        if (std::find(allowed.begin(), allowed.end(), lower(present[i].as_string())) ==
            allowed.end()) {
            return false;
        }
    }
    return true;
}

rpc::ParamResult<LogFilter> parse_log_filter(const json::value* value, std::string_view where) {
    LogFilter filter;
    if (value == nullptr || value->is_null()) return filter;
    const std::string prefix(where);
    if (!value->is_object()) {
        return tl::unexpected(bad(prefix, "the logs filter must be an object {address, topics}"));
    }
    for (const auto& [key, field] : value->as_object()) {
        const std::string name = prefix + "." + std::string(key);
        if (key == "address") {
            auto addresses = parse_addresses(field, name);
            if (!addresses) return tl::unexpected(addresses.error());
            filter.addresses = std::move(*addresses);
        } else if (key == "topics") {
            if (field.is_null()) continue;
            if (!field.is_array()) {
                return tl::unexpected(bad(name, "must be an array of up to 4 topic positions"));
            }
            const json::array& positions = field.as_array();
            if (positions.size() > kMaxTopicPositions) {
                return tl::unexpected(bad(name, "has " + std::to_string(positions.size()) +
                                                    " positions; a log has at most 4 topics"));
            }
            for (std::size_t i = 0; i < positions.size(); ++i) {
                auto position =
                    parse_topic_position(positions[i], name + "[" + std::to_string(i) + "]");
                if (!position) return tl::unexpected(position.error());
                filter.topics.push_back(std::move(*position));
            }
        } else {
            return tl::unexpected(
                bad(name, "is not a logs subscription field (only address and topics)"));
        }
    }
    return filter;
}

}  // namespace keybridge::daemon::subscriptions
