#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>

#include "core/result.h"

namespace keybridge::daemon::net {

// What may wait to be written to clients that do not read (docs/RPC.md, Limits). Counted in
// bytes, since one answer may be a few bytes or megabytes, per connection and over all of them.
struct OutboundLimits {
    std::size_t max_messages = 256;                      // --max-outbound-queue
    std::uint64_t max_bytes = std::uint64_t{64} << 20;   // --max-outbound-bytes: one connection
    std::uint64_t max_total = std::uint64_t{256} << 20;  // --max-outbound-total: all connections

    // Reading from a connection pauses above these (back-pressure) and resumes below them.
    std::uint64_t pause_bytes() const { return max_bytes / 16; }
    std::uint64_t pause_total() const { return max_total / 2; }
    std::size_t pause_messages() const { return max_messages / 2; }
};

// The messages waiting to be written to one connection, front first (the one being written).
// Its unsent bytes are also counted in `total`, shared by every connection, and given back as
// messages leave or when the queue is destroyed. Not thread-safe (one connection's network thread);
// `total` is atomic.
class OutboundQueue {
  public:
    OutboundQueue(OutboundLimits limits, std::atomic<std::uint64_t>& total);
    ~OutboundQueue();
    OutboundQueue(const OutboundQueue&) = delete;
    OutboundQueue& operator=(const OutboundQueue&) = delete;

    // Queues `text`. A message to a connection with nothing unsent is always taken (one large
    // answer to a client that reads is fine); otherwise LimitExceeded, saying which limit, when
    // it would take the connection past max_messages or max_bytes, or all connections past
    // max_total: the client does not keep up and should be closed. Nothing is queued then.
    [[nodiscard]] core::Status push(std::string text);

    bool empty() const { return messages_.empty(); }
    std::size_t size() const { return messages_.size(); }
    std::uint64_t bytes() const { return bytes_; }
    std::string& front() { return messages_.front(); }
    void pop_front();
    // Drops every message but the front one (which may be half written).
    void drop_unsent();
    void clear();

    // Whether to stop reading the client's requests until more is written: its unsent bytes or
    // messages are over the pause thresholds, or it has something unsent while all connections
    // together are over theirs. Always false when the queue is empty.
    bool should_pause() const;

  private:
    void release(std::uint64_t n);

    OutboundLimits limits_;
    std::atomic<std::uint64_t>& total_;
    std::deque<std::string> messages_;
    std::uint64_t bytes_ = 0;
};

}  // namespace keybridge::daemon::net
