#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/result.h"
#include "daemon/approvals/approval.h"
#include "daemon/approvals/audit_log.h"
#include "daemon/approvals/policy.h"

namespace keybridge::daemon::approvals {

// The requests waiting for a decision. submit() first asks the policy (authenticated callers
// only); Ask puts the request in the queue, where an approver decides it or the timeout rejects
// it. Every outcome is audited. The callback runs exactly once, on an executor thread:
//   ok                → approved
//   UserCancelled     → rejected (by the user, a policy rule, or the timeout: the detail says)
//   Disconnected      → the daemon is shutting down
//   LimitExceeded     → the queue is full (-32005 to the caller)
// Thread-safe.
class ApprovalQueue {
  public:
    using Callback = std::function<void(core::Status)>;
    using Listener = std::function<void(const ApprovalRequest&, bool added)>;

    ApprovalQueue(boost::asio::any_io_executor executor, std::size_t max_pending,
                  std::chrono::seconds timeout, Policy policy, AuditLog* audit);

    // request.id may be preassigned with reserve_id() (so the caller's copy for record_signed
    // carries it); otherwise submit assigns one.
    void submit(ApprovalRequest request, Callback callback);
    std::uint64_t reserve_id();

    // NotFound for an unknown (or already decided) id.
    [[nodiscard]] core::Status decide(std::uint64_t id, Decision decision);

    std::vector<ApprovalRequest> pending() const;

    // Called for every request added to or removed from the queue (approvers are told).
    void set_listener(Listener listener);

    // Drops the queued requests of a connection that went away (its callers cannot be answered).
    void cancel_connection(std::uint64_t connection_id);

    // Drops the queued requests that would sign with an account that left the vault: they are
    // answered NotFound (4100 to the caller), and approvers see them go.
    void cancel_account(const core::Address& account);

    // Shutdown: every pending request is answered with Disconnected.
    void cancel_all();

    // Records the digest of what an approved request signed (audit).
    void record_signed(const ApprovalRequest& request, const core::Hash32& digest);

  private:
    struct Entry {
        ApprovalRequest request;
        Callback callback;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    // Removes the entry and answers it; audit with decision/decided_by.
    void finish(std::uint64_t id, core::Status status, std::string_view decision,
                std::string_view decided_by);

    boost::asio::any_io_executor executor_;
    std::size_t max_pending_;
    std::chrono::seconds timeout_;
    Policy policy_;
    AuditLog* audit_;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, Entry> entries_;
    std::uint64_t next_id_ = 1;
    Listener listener_;
};

}  // namespace keybridge::daemon::approvals
