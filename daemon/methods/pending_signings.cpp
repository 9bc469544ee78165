#include "daemon/methods/pending_signings.h"

#include <algorithm>

namespace keybridge::daemon {

PendingSignings::TicketPtr PendingSignings::open(std::string origin, std::uint64_t chain_id) {
    auto ticket = std::make_shared<Ticket>(std::move(origin), chain_id);
    std::lock_guard lock(mutex_);
    open_.push_back(ticket);
    return ticket;
}

void PendingSignings::close(const TicketPtr& ticket) {
    std::lock_guard lock(mutex_);
    std::erase(open_, ticket);
}

bool PendingSignings::attach_approval(const TicketPtr& ticket, std::uint64_t approval_id) {
    std::lock_guard lock(mutex_);
    if (ticket->cancelled_.load()) return false;
    ticket->approval_id_ = approval_id;
    return true;
}

std::vector<std::uint64_t> PendingSignings::chain_selected(const std::string& origin,
                                                           std::uint64_t chain_id) {
    std::vector<TicketPtr> cancelled;
    std::vector<std::uint64_t> approvals;
    {
        std::lock_guard lock(mutex_);
        for (const auto& t : open_) {
            if (t->origin_ != origin || t->chain_id_ == chain_id || t->cancelled_.load()) continue;
            t->switched_to_.store(chain_id);
            t->cancelled_.store(true);
            cancelled.push_back(t);
            if (t->approval_id_ != 0) approvals.push_back(t->approval_id_);
        }
    }
    // Outside the lock: stop callbacks wake signer jobs.
    for (const auto& t : cancelled)
        t->stop_.request_stop();
    return approvals;
}

std::size_t PendingSignings::size() const {
    std::lock_guard lock(mutex_);
    return open_.size();
}

}  // namespace keybridge::daemon
