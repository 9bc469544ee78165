#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/result.h"

namespace keybridge::daemon::subscriptions {

// What the tracker needs of a block header: its number, hash and parent hash (lower-case hex).
struct BlockRef {
    std::uint64_t number = 0;
    std::string hash;
    std::string parent_hash;
};

// Reads number, hash and parentHash from a header object as eth_getBlockByNumber returns it.
// InvalidFormat naming the field when one is missing or malformed (null = no such block).
[[nodiscard]] core::Result<BlockRef> block_ref_of(const boost::json::value& header);

// The blocks [first, last] to fetch, both included.
struct BlockRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

// The chain as the subscribers have been told it, for a poller that only sees block numbers:
// remembers the hashes of the last `window` emitted blocks and decides, for headers fetched
// after the node reported a new head, which ones to emit. Pure logic, no I/O.
//
// A poll goes: range_after(head) → fetch those headers in order → link(segment); while link
// says NeedParent, fetch the block before the segment and put it in front (walking back to
// the fork point after a reorg) → commit(segment) → emit the segment in order.
//
// Best effort by design: a reorg is seen when a fetched block's parentHash differs from the
// hash emitted at that height; the new canonical blocks are then emitted again from the fork
// point. A reorg deeper than the window, or a node that is more than `window` blocks ahead,
// is emitted from `window` blocks below the head (the older blocks are skipped).
class HeadTracker {
  public:
    explicit HeadTracker(std::size_t window);

    bool has_baseline() const { return !recent_.empty(); }
    // The last emitted block (the baseline before anything was emitted). Needs a baseline.
    const BlockRef& last() const { return recent_.back(); }
    // Starts over from `head`, which is taken as already emitted (subscribers only get blocks
    // after the one current when they subscribed).
    void reset(BlockRef head);

    // The blocks to fetch once the node reports `head`: those after the last emitted one, at
    // most `window` of them (the newest). Nothing when the head did not advance, or when
    // there is no baseline yet.
    std::optional<BlockRange> range_after(std::uint64_t head) const;

    enum class Link {
        Extends,       // the segment continues the emitted chain (possibly after a reorg)
        NeedParent,    // the segment forks from the emitted chain: fetch the block before it
        Unanchored,    // cannot be tied to what was emitted (too far behind or too deep a reorg)
        Inconsistent,  // not a chain (numbers or parent hashes do not follow): fetch again
    };
    // Decides about a segment of headers, ascending by number. Empty is Inconsistent.
    Link link(const std::vector<BlockRef>& segment) const;

    // Records the segment as emitted: every remembered block at or above its first number is
    // replaced by it. Call after link said Extends or Unanchored.
    void commit(const std::vector<BlockRef>& segment);

    // The hash emitted at `number`, if it is still remembered.
    std::optional<std::string> hash_at(std::uint64_t number) const;

  private:
    std::size_t window_;
    std::deque<BlockRef> recent_;  // ascending, consecutive numbers, at most window_ entries
};

}  // namespace keybridge::daemon::subscriptions
