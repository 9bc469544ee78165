#include "daemon/subscriptions/head_tracker.h"

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::daemon::subscriptions {
namespace {

namespace json = boost::json;

// A recognisable 32-byte hash for block `number` of fork `fork` ('a', 'b', …).
std::string hash(char fork, std::uint64_t number) {
    char digits[17];
    std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(number));
    return "0x" + std::string(47, fork == 'a' ? 'a' : fork == 'b' ? 'b' : 'c') + "0" + digits;
}

// A node's chain: block 0 .. height, of fork `fork` from block `fork_at` on (below it the
// blocks of `base`).
struct NodeChain {
    std::vector<BlockRef> blocks;
    static NodeChain make(std::uint64_t height, char fork = 'a', const NodeChain* base = nullptr,
                          std::uint64_t fork_at = 0) {
        NodeChain c;
        for (std::uint64_t n = 0; n <= height; ++n) {
            if (base != nullptr && n < fork_at) {
                c.blocks.push_back(base->blocks.at(n));
                continue;
            }
            BlockRef b;
            b.number = n;
            b.hash = hash(fork, n);
            b.parent_hash = n == 0 ? hash('z', 0) : c.blocks.back().hash;
            c.blocks.push_back(b);
        }
        return c;
    }
    std::uint64_t head() const { return blocks.back().number; }
};

// One poll as the ChainPoller runs it, against `node`: the blocks emitted, and the number of
// extra blocks fetched while walking back to a fork point.
struct Poll {
    std::vector<BlockRef> emitted;
    std::size_t walked_back = 0;
    bool unanchored = false;
    bool inconsistent = false;
};
Poll poll(HeadTracker& tracker, const NodeChain& node) {
    Poll out;
    auto range = tracker.range_after(node.head());
    if (!range) return out;
    std::vector<BlockRef> segment(node.blocks.begin() + static_cast<long>(range->first),
                                  node.blocks.begin() + static_cast<long>(range->last) + 1);
    for (;;) {
        switch (tracker.link(segment)) {
            case HeadTracker::Link::NeedParent:
                segment.insert(segment.begin(), node.blocks.at(segment.front().number - 1));
                ++out.walked_back;
                continue;
            case HeadTracker::Link::Inconsistent:
                out.inconsistent = true;
                return out;
            case HeadTracker::Link::Unanchored:
                out.unanchored = true;
                [[fallthrough]];
            case HeadTracker::Link::Extends:
                tracker.commit(segment);
                out.emitted = segment;
                return out;
        }
    }
}

std::vector<std::uint64_t> numbers(const std::vector<BlockRef>& blocks) {
    std::vector<std::uint64_t> out;
    for (const auto& b : blocks)
        out.push_back(b.number);
    return out;
}

std::vector<std::uint64_t> iota(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t n = first; n <= last; ++n)
        out.push_back(n);
    return out;
}

TEST(HeadTracker, NothingToFetchWithoutBaselineOrNewHead) {
    HeadTracker tracker(64);
    EXPECT_FALSE(tracker.has_baseline());
    EXPECT_FALSE(tracker.range_after(5));
    auto chain = NodeChain::make(10);
    tracker.reset(chain.blocks[10]);
    EXPECT_TRUE(tracker.has_baseline());
    EXPECT_FALSE(tracker.range_after(10));
    EXPECT_FALSE(tracker.range_after(9));  // a shorter chain: nothing until it grows past us
    auto range = tracker.range_after(13);
    ASSERT_TRUE(range);
    EXPECT_EQ(range->first, 11u);
    EXPECT_EQ(range->last, 13u);
}

TEST(HeadTracker, EmitsEveryNewBlockInOrderWithoutGaps) {
    HeadTracker tracker(64);
    auto chain = NodeChain::make(40);
    tracker.reset(chain.blocks[5]);
    std::vector<std::uint64_t> seen;
    for (std::uint64_t head : {6, 6, 9, 10, 25, 40}) {
        auto now = NodeChain::make(head);
        auto p = poll(tracker, now);
        EXPECT_FALSE(p.unanchored || p.inconsistent) << head;
        EXPECT_EQ(p.walked_back, 0u);
        for (auto n : numbers(p.emitted))
            seen.push_back(n);
    }
    EXPECT_EQ(seen, iota(6, 40));
    EXPECT_EQ(tracker.last().hash, hash('a', 40));
}

TEST(HeadTracker, FarBehindEmitsOnlyTheLastWindowOfBlocks) {
    HeadTracker tracker(64);
    auto chain = NodeChain::make(1000);
    tracker.reset(chain.blocks[10]);
    // Exactly the window ahead: no gap.
    auto exact = tracker.range_after(74);
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->first, 11u);
    EXPECT_EQ(exact->last, 74u);
    // One more: the oldest is skipped.
    EXPECT_EQ(tracker.range_after(75)->first, 12u);
    auto p = poll(tracker, chain);
    EXPECT_TRUE(p.unanchored);
    EXPECT_EQ(numbers(p.emitted), iota(937, 1000));
    EXPECT_FALSE(tracker.hash_at(936));
    EXPECT_EQ(tracker.hash_at(937), hash('a', 937));
    // And it carries on normally from there.
    auto next = poll(tracker, NodeChain::make(1002));
    EXPECT_FALSE(next.unanchored);
    EXPECT_EQ(numbers(next.emitted), iota(1001, 1002));
}

TEST(HeadTracker, ReorgWalksBackToTheForkPointAndEmitsTheNewCanonicalBlocks) {
    HeadTracker tracker(64);
    auto a = NodeChain::make(10);
    tracker.reset(a.blocks[5]);
    EXPECT_EQ(numbers(poll(tracker, a).emitted), iota(6, 10));
    // Blocks 9 and 10 are replaced; the new chain is at 12.
    auto b = NodeChain::make(12, 'b', &a, 9);
    auto p = poll(tracker, b);
    EXPECT_FALSE(p.unanchored || p.inconsistent);
    EXPECT_EQ(p.walked_back, 2u);  // fetched 10 and 9 again
    EXPECT_EQ(numbers(p.emitted), iota(9, 12));
    EXPECT_EQ(p.emitted.front().hash, hash('b', 9));
    EXPECT_EQ(p.emitted.front().parent_hash, hash('a', 8));
    EXPECT_EQ(tracker.hash_at(8), hash('a', 8));
    EXPECT_EQ(tracker.hash_at(9), hash('b', 9));
    EXPECT_EQ(tracker.hash_at(12), hash('b', 12));
    // Next block on the new chain: a plain extension.
    auto more = poll(tracker, NodeChain::make(13, 'b', &a, 9));
    EXPECT_EQ(more.walked_back, 0u);
    EXPECT_EQ(numbers(more.emitted), std::vector<std::uint64_t>{13});
}

TEST(HeadTracker, SameHeightReorgIsEmittedWhenTheNewChainGrows) {
    HeadTracker tracker(64);
    auto a = NodeChain::make(10);
    tracker.reset(a.blocks[5]);
    EXPECT_EQ(numbers(poll(tracker, a).emitted), iota(6, 10));
    auto b = NodeChain::make(10, 'b', &a, 8);
    EXPECT_TRUE(poll(tracker, b).emitted.empty());  // only the number is polled: not seen yet
    auto grown = NodeChain::make(11, 'b', &a, 8);
    auto p = poll(tracker, grown);
    EXPECT_EQ(p.walked_back, 3u);
    EXPECT_EQ(numbers(p.emitted), iota(8, 11));
}

TEST(HeadTracker, ReorgDeeperThanTheWindowIsEmittedFromTheWindow) {
    HeadTracker tracker(5);
    auto a = NodeChain::make(10);
    tracker.reset(a.blocks[5]);
    EXPECT_EQ(numbers(poll(tracker, a).emitted), iota(6, 10));
    auto b = NodeChain::make(12, 'b', &a, 3);
    auto p = poll(tracker, b);
    EXPECT_TRUE(p.unanchored);
    EXPECT_EQ(p.walked_back, 3u);  // stops once the segment fills the window
    EXPECT_EQ(numbers(p.emitted), iota(8, 12));
    EXPECT_EQ(tracker.hash_at(8), hash('b', 8));
    // Block 7 of the old chain is not b8's parent: it is forgotten, not kept as if it were.
    EXPECT_FALSE(tracker.hash_at(7));
}

TEST(HeadTracker, ForkBelowTheRememberedBlocksIsUnanchored) {
    HeadTracker tracker(8);
    auto a = NodeChain::make(10);
    tracker.reset(a.blocks[10]);  // remembers only block 10
    auto b = NodeChain::make(12, 'b', &a, 5);
    auto p = poll(tracker, b);
    EXPECT_TRUE(p.unanchored);
    EXPECT_EQ(p.walked_back, 1u);  // block 10 again; nothing is remembered below it
    EXPECT_EQ(numbers(p.emitted), iota(10, 12));
}

TEST(HeadTracker, ANewGenesisIsUnanchored) {
    HeadTracker tracker(64);
    auto a = NodeChain::make(0);
    tracker.reset(a.blocks[0]);
    auto c = NodeChain::make(2, 'c');  // e.g. the node was restarted with other state
    auto p = poll(tracker, c);
    EXPECT_TRUE(p.unanchored);
    EXPECT_EQ(numbers(p.emitted), iota(0, 2));
    EXPECT_EQ(tracker.hash_at(0), hash('c', 0));
}

TEST(HeadTracker, SegmentsThatAreNotAChainAreInconsistent) {
    HeadTracker tracker(64);
    auto a = NodeChain::make(10);
    tracker.reset(a.blocks[5]);
    EXPECT_EQ(tracker.link({}), HeadTracker::Link::Inconsistent);
    // The node switched forks between two fetches of one poll.
    auto b = NodeChain::make(10, 'b', &a, 7);
    std::vector<BlockRef> mixed{a.blocks[6], a.blocks[7], b.blocks[8]};
    EXPECT_EQ(tracker.link(mixed), HeadTracker::Link::Inconsistent);
    std::vector<BlockRef> skipping{a.blocks[6], a.blocks[8]};
    EXPECT_EQ(tracker.link(skipping), HeadTracker::Link::Inconsistent);
    std::vector<BlockRef> good{a.blocks[6], a.blocks[7], a.blocks[8]};
    EXPECT_EQ(tracker.link(good), HeadTracker::Link::Extends);
    std::vector<BlockRef> forked{b.blocks[8], b.blocks[9]};
    EXPECT_EQ(tracker.link(forked), HeadTracker::Link::Unanchored);  // 7 was never emitted
}

TEST(HeadTracker, RemembersOnlyTheWindow) {
    HeadTracker tracker(3);
    auto a = NodeChain::make(20);
    tracker.reset(a.blocks[0]);
    for (std::uint64_t n = 1; n <= 20; ++n) {
        std::vector<BlockRef> one{a.blocks[n]};
        ASSERT_EQ(tracker.link(one), HeadTracker::Link::Extends) << n;
        tracker.commit(one);
    }
    EXPECT_FALSE(tracker.hash_at(17));
    EXPECT_EQ(tracker.hash_at(18), hash('a', 18));
    EXPECT_EQ(tracker.hash_at(20), hash('a', 20));
    EXPECT_FALSE(tracker.hash_at(21));
}

TEST(HeadTracker, ReadsNumberHashAndParentFromAHeader) {
    json::value header = json::parse(R"({"number":"0x1b4","hash":"0x)" + std::string(64, 'A') +
                                     R"(","parentHash":")" + hash('a', 435) +
                                     R"(","miner":"0x00","transactions":[]})");
    auto ref = block_ref_of(header);
    ASSERT_TRUE(ref) << ref.error().detail;
    EXPECT_EQ(ref->number, 436u);
    EXPECT_EQ(ref->hash, "0x" + std::string(64, 'a'));
    EXPECT_EQ(ref->parent_hash, hash('a', 435));

    EXPECT_EQ(block_ref_of(json::value(nullptr)).error().code, core::ErrorCode::NotFound);
    auto without = [&](const char* key) {
        json::value copy = header;
        copy.as_object().erase(key);
        auto r = block_ref_of(copy);
        EXPECT_FALSE(r) << key;
        return r ? std::string() : r.error().detail;
    };
    EXPECT_EQ(without("number"), "block header: number is missing or not a string");
    EXPECT_EQ(without("hash"), "block header: hash is missing or not a string");
    EXPECT_EQ(without("parentHash"), "block header: parentHash is missing or not a string");
    json::value bad = header;
    bad.as_object()["number"] = "0x01b4";  // not a canonical quantity
    EXPECT_EQ(block_ref_of(bad).error().detail, "block header: number is not a 64-bit quantity");
    bad = header;
    bad.as_object()["hash"] = "0x1234";
    EXPECT_EQ(block_ref_of(bad).error().detail, "block header: hash is not a 32-byte hex hash");
    EXPECT_EQ(block_ref_of(json::value("0x1")).error().code, core::ErrorCode::InvalidFormat);
}

}  // namespace
}  // namespace keybridge::daemon::subscriptions
