#include "daemon/subscriptions/log_fanout.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "core/text.h"

namespace keybridge::daemon::subscriptions {

namespace json = boost::json;

namespace {

// The union of the filters' addresses, or nothing (any address) when one filter takes any
// address or the union is too large for one query.
std::vector<std::string> merged_addresses(const std::vector<LogFilter>& filters) {
    std::set<std::string> all;
    for (const auto& f : filters) {
        if (f.addresses.empty()) return {};
        all.insert(f.addresses.begin(), f.addresses.end());
        if (all.size() > LogFanout::kMaxMergedAddresses) return {};
    }
    return {all.begin(), all.end()};
}

std::vector<std::optional<std::vector<std::string>>> merged_topics(
    const std::vector<LogFilter>& filters) {
    std::size_t positions = filters.front().topics.size();
    for (const auto& f : filters)
        positions = std::min(positions, f.topics.size());
    std::vector<std::optional<std::vector<std::string>>> out(positions);
    for (std::size_t i = 0; i < positions; ++i) {
        std::set<std::string> all;
        bool any = false;
        for (const auto& f : filters) {
            if (!f.topics[i]) {
                any = true;
                break;
            }
            all.insert(f.topics[i]->begin(), f.topics[i]->end());
            if (all.size() > LogFanout::kMaxMergedTopics) {
                any = true;
                break;
            }
        }
        if (!any) out[i] = std::vector<std::string>(all.begin(), all.end());
    }
    // Trailing "any" positions still require that many topics of a log, which every filter
    // requires too (each has at least `positions`): kept.
    return out;
}

}  // namespace

LogFanout::LogFanout(std::vector<LogFilter> filters) : filters_(std::move(filters)) {
    if (filters_.empty()) return;
    merged_.addresses = merged_addresses(filters_);
    merged_.topics = merged_topics(filters_);
    for (std::size_t i = 0; i < filters_.size(); ++i) {
        if (filters_[i].addresses.empty()) {
            any_address_.push_back(i);
            continue;
        }
        for (const auto& address : filters_[i].addresses)
            by_address_[address].push_back(i);
    }
}

std::vector<std::pair<std::string, json::array>> LogFanout::split(const json::array& logs) const {
    std::vector<std::pair<std::string, json::array>> out;
    out.reserve(filters_.size());
    for (const auto& f : filters_)
        out.emplace_back(f.key(), json::array{});
    std::vector<std::size_t> candidates;
    for (const json::value& log : logs) {
        const json::object* o = log.if_object();
        const json::value* address = o != nullptr ? o->if_contains("address") : nullptr;
        if (address == nullptr || !address->is_string()) continue;  // matches no filter
        candidates = any_address_;
        if (auto it = by_address_.find(core::ascii_lower(address->as_string()));
            it != by_address_.end())
            candidates.insert(candidates.end(), it->second.begin(), it->second.end());
        for (const std::size_t i : candidates) {
            if (filters_[i].matches(log)) out[i].second.push_back(log);
        }
    }
    return out;
}

}  // namespace keybridge::daemon::subscriptions
