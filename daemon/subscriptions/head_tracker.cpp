#include "daemon/subscriptions/head_tracker.h"

#include <algorithm>
#include <cctype>

#include "core/uint256.h"

namespace keybridge::daemon::subscriptions {
namespace {

namespace json = boost::json;

core::Result<std::string> hash_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return core::fail(core::ErrorCode::InvalidFormat,
                          "block header: " + std::string(key) + " is missing or not a string");
    }
    std::string_view text = v->as_string();
    const bool well_formed = text.size() == 66 && text.substr(0, 2) == "0x" &&
                             std::all_of(text.begin() + 2, text.end(), [](char c) {
                                 return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                             });
    if (!well_formed) {
        return core::fail(core::ErrorCode::InvalidFormat,
                          "block header: " + std::string(key) + " is not a 32-byte hex hash");
    }
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

core::Result<BlockRef> block_ref_of(const json::value& header) {
    if (header.is_null()) {
        return core::fail(core::ErrorCode::NotFound, "the node has no such block (yet)");
    }
    if (!header.is_object()) {
        return core::fail(core::ErrorCode::InvalidFormat, "block header is not an object");
    }
    const json::object& o = header.as_object();
    const json::value* number = o.if_contains("number");
    if (number == nullptr || !number->is_string()) {
        return core::fail(core::ErrorCode::InvalidFormat,
                          "block header: number is missing or not a string");
    }
    auto n = core::parse_quantity(number->as_string());
    if (!n || *n > core::U256(UINT64_MAX)) {
        return core::fail(core::ErrorCode::InvalidFormat,
                          "block header: number is not a 64-bit quantity");
    }
    BlockRef out;
    out.number = static_cast<std::uint64_t>(*n);
    auto hash = hash_field(o, "hash");
    if (!hash) return core::fail(hash.error());
    auto parent = hash_field(o, "parentHash");
    if (!parent) return core::fail(parent.error());
    out.hash = std::move(*hash);
    out.parent_hash = std::move(*parent);
    return out;
}

HeadTracker::HeadTracker(std::size_t window) : window_(std::max<std::size_t>(window, 1)) {}

void HeadTracker::reset(BlockRef head) {
    recent_.clear();
    recent_.push_back(std::move(head));
}

std::optional<BlockRange> HeadTracker::range_after(std::uint64_t head) const {
    if (recent_.empty() || head <= last().number) return std::nullopt;
    BlockRange range{last().number + 1, head};
    // Far behind: only the newest window_ blocks (head - window_ + 1 without underflow).
    if (head - last().number > window_) range.first = head - (window_ - 1);
    return range;
}

std::optional<std::string> HeadTracker::hash_at(std::uint64_t number) const {
    if (recent_.empty() || number < recent_.front().number || number > recent_.back().number)
        return std::nullopt;
    return recent_[static_cast<std::size_t>(number - recent_.front().number)].hash;
}

HeadTracker::Link HeadTracker::link(const std::vector<BlockRef>& segment) const {
    if (segment.empty()) return Link::Inconsistent;
    for (std::size_t i = 1; i < segment.size(); ++i) {
        if (segment[i].number != segment[i - 1].number + 1 ||
            segment[i].parent_hash != segment[i - 1].hash) {
            return Link::Inconsistent;
        }
    }
    const BlockRef& first = segment.front();
    if (first.number == 0) return Link::Unanchored;  // a new genesis: a different chain
    auto known = hash_at(first.number - 1);
    if (!known) return Link::Unanchored;
    if (*known == first.parent_hash) return Link::Extends;
    // A fork below the segment. Walking further back than the window cannot reach a block we
    // remember, and would emit more than window_ blocks at once.
    if (segment.size() >= window_) return Link::Unanchored;
    return Link::NeedParent;
}

void HeadTracker::commit(const std::vector<BlockRef>& segment) {
    if (segment.empty()) return;
    const std::uint64_t first = segment.front().number;
    while (!recent_.empty() && recent_.back().number >= first)
        recent_.pop_back();
    // An unanchored segment (a gap, or a fork below what we remember) starts the record over:
    // what is kept is always one chain of consecutive blocks.
    if (!recent_.empty() && (recent_.back().number + 1 != first ||
                             recent_.back().hash != segment.front().parent_hash)) {
        recent_.clear();
    }
    for (const auto& block : segment)
        recent_.push_back(block);
    while (recent_.size() > window_)
        recent_.pop_front();
}

}  // namespace keybridge::daemon::subscriptions
