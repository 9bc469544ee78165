#include "daemon/net/outbound_queue.h"

namespace keybridge::daemon::net {

OutboundQueue::OutboundQueue(OutboundLimits limits, std::atomic<std::uint64_t>& total)
    : limits_(limits), total_(total) {}

OutboundQueue::~OutboundQueue() {
    clear();
}

core::Status OutboundQueue::push(std::string text) {
    const std::uint64_t size = text.size();
    if (!messages_.empty()) {
        if (messages_.size() >= limits_.max_messages) {
            return core::fail(
                core::ErrorCode::LimitExceeded,
                std::to_string(messages_.size()) + " replies unsent (max-outbound-queue)");
        }
        if (bytes_ + size > limits_.max_bytes) {
            return core::fail(core::ErrorCode::LimitExceeded,
                              "over " + std::to_string(limits_.max_bytes) +
                                  " bytes of replies unsent (max-outbound-bytes)");
        }
        if (total_.load(std::memory_order_relaxed) + size > limits_.max_total) {
            return core::fail(core::ErrorCode::LimitExceeded,
                              "over " + std::to_string(limits_.max_total) +
                                  " bytes unsent to all clients (max-outbound-total)");
        }
    }
    messages_.push_back(std::move(text));
    bytes_ += size;
    total_.fetch_add(size, std::memory_order_relaxed);
    return {};
}

void OutboundQueue::pop_front() {
    const std::uint64_t size = messages_.front().size();
    messages_.pop_front();
    release(size);
}

void OutboundQueue::drop_unsent() {
    while (messages_.size() > 1) {
        const std::uint64_t size = messages_.back().size();
        messages_.pop_back();
        release(size);
    }
}

void OutboundQueue::clear() {
    messages_.clear();
    release(bytes_);
}

bool OutboundQueue::should_pause() const {
    if (messages_.empty()) return false;
    return bytes_ > limits_.pause_bytes() || messages_.size() > limits_.pause_messages() ||
           total_.load(std::memory_order_relaxed) > limits_.pause_total();
}

void OutboundQueue::release(std::uint64_t n) {
    bytes_ -= n;
    total_.fetch_sub(n, std::memory_order_relaxed);
}

}  // namespace keybridge::daemon::net
