#include "daemon/methods/pending_signings.h"

#include <algorithm>

namespace keybridge::daemon {

std::size_t PendingSignings::this_threads_shard() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return mine;
}

PendingSignings::TicketPtr PendingSignings::open(std::string origin, std::uint64_t chain_id) {
    auto ticket = std::make_shared<Ticket>(std::move(origin), chain_id);
    ticket->shard_ = this_threads_shard();
    Shard& shard = shards_[ticket->shard_];
    std::lock_guard lock(shard.mutex);
    shard.open.push_back(ticket);
    return ticket;
}

void PendingSignings::close(const TicketPtr& ticket) {
    Shard& shard = shards_[ticket->shard_];
    std::lock_guard lock(shard.mutex);
    std::erase(shard.open, ticket);
}

bool PendingSignings::attach_approval(const TicketPtr& ticket, std::uint64_t approval_id) {
    std::lock_guard lock(shards_[ticket->shard_].mutex);
    if (ticket->cancelled_.load()) return false;
    ticket->approval_id_ = approval_id;
    return true;
}

std::vector<std::uint64_t> PendingSignings::chain_selected(const std::string& origin,
                                                           std::uint64_t chain_id) {
    std::vector<TicketPtr> cancelled;
    std::vector<std::uint64_t> approvals;
    for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        for (const auto& t : shard.open) {
            if (t->origin_ != origin || t->chain_id_ == chain_id || t->cancelled_.load()) continue;
            t->switched_to_.store(chain_id);
            t->cancelled_.store(true);
            cancelled.push_back(t);
            if (t->approval_id_ != 0) approvals.push_back(t->approval_id_);
        }
    }
    // Outside the locks: stop callbacks wake signer jobs.
    for (const auto& t : cancelled)
        t->stop_.request_stop();
    return approvals;
}

std::size_t PendingSignings::size() const {
    std::size_t total = 0;
    for (const Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        total += shard.open.size();
    }
    return total;
}

}  // namespace keybridge::daemon
