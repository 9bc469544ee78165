#pragma once

#include <atomic>
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

// How many requests may wait in the queue at once (docs/RPC.md, Limits), so that one page cannot
// lock every other one out. Each origin (a page's Origin, or "local" for the token caller) has
// its own share, and at most one connect request (eth_requestAccounts) of an origin waits at a
// time; `total` is the backstop over all origins (forged Origins of local processes). Every
// live entry counts, whatever its stage, until it leaves the queue.
struct QueueLimits {
    std::size_t total = 64;      // --max-pending-approvals
    std::size_t per_origin = 4;  // --max-pending-per-origin: each page origin
    std::size_t local = 16;      // --max-pending-local: the token caller ("local")
};

// Requests through their life: asked for input (unlock, PIN), waiting for a decision, approved,
// on the device, done. submit() first asks the policy (authenticated callers only); Ask puts the
// request in the queue, where an approver decides it or the timeout rejects it. Every decision
// is audited. Decision callbacks run exactly once, on an executor thread:
//   ok                → approved
//   UserCancelled     → rejected (by the user, a policy rule, or the timeout: the detail says)
//   Disconnected      → the client left, or the daemon is shutting down
//   LimitExceeded     → the origin's share or the whole queue is full (-32005 to the caller;
//                       the detail names the limit and its option)
//   AlreadyExists     → a connect request of this origin is already waiting (-32002, as
//                       MetaMask answers a second eth_requestAccounts)
// Approvers see every change through the listener (added / updated / removed). Thread-safe.
class ApprovalQueue {
  public:
    using Callback = std::function<void(core::Status)>;
    enum class Event { Added, Updated, Removed };
    using Listener = std::function<void(const ApprovalRequest&, Event)>;
    // Answers a needs-input stage: gets the approver's object ({"password": …}, {"pin": …}) and
    // calls `done` once with the outcome (a wrong password keeps the stage and says so).
    using InputHandler =
        std::function<void(const boost::json::object& answer, std::function<void(core::Status)>)>;

    ApprovalQueue(boost::asio::any_io_executor executor, QueueLimits limits,
                  std::chrono::seconds timeout, Policy policy, AuditLog* audit);

    // request.id may be preassigned with reserve_id() (so the caller's copy for record_signed
    // carries it); otherwise submit assigns one. The entry leaves the queue when decided.
    void submit(ApprovalRequest request, Callback callback);
    // As submit(), but an approved request stays (stage approved) until complete(id): for
    // requests that still have to be signed, perhaps on a device. A request already held for
    // input (await_input) moves on to waiting under the same id.
    void submit_tracked(ApprovalRequest request, Callback callback);
    std::uint64_t reserve_id();

    // Holds the request at a needs-input stage (`input` = "unlock", "pin", "passphrase") until
    // input_done(id, input) (callback gets ok), a cancel, the timeout or the client leaving. Adds
    // the entry if it is not there yet.
    void await_input(ApprovalRequest request, std::string input, std::string note,
                     InputHandler handler, Callback callback);
    // The entry's wait for this input ends. Only that input's: once a device's PIN is answered,
    // its lane may already wait for the passphrase under the same id, which must stay.
    void input_done(std::uint64_t id, std::string_view input);
    // Every entry waiting for input of this kind (e.g. "unlock" after the vault was unlocked)
    // moves on.
    void input_done_all(std::string_view input);
    // keybridge_respond: NotFound (no such entry), InvalidArgument (not waiting for input);
    // {"cancel": true} rejects the request.
    void respond(std::uint64_t id, const boost::json::object& answer,
                 std::function<void(core::Status)> done);

    // Progress of an approved request (on the device, …). Adds the entry when absent (a
    // policy-approved request that now waits on a device) so that approvers see it.
    void set_stage(const ApprovalRequest& request, Stage stage, std::string note);
    // Done (signed, sent or failed): the entry leaves.
    void complete(std::uint64_t id);

    // `digest` is the content digest of the request as the approver was shown it
    // (ApprovalRequest::content_digest); `decided_by` names the approver session in the audit
    // log. NotFound for an unknown id; InvalidArgument for a request that is not waiting for a
    // decision, or whose digest differs (it stays pending).
    [[nodiscard]] core::Status decide(std::uint64_t id, Decision decision,
                                      const core::Hash32& digest, std::string_view decided_by);

    // Every live entry, in id order, each with its stage.
    std::vector<ApprovalRequest> pending() const;

    void set_listener(Listener listener);

    // The audit log the queue records to (null in tests without one): the user's history.
    const AuditLog* audit_log() const { return audit_; }

    // Drops the waiting requests of a connection that went away (its callers cannot be
    // answered). Its approved requests end through their stop token.
    void cancel_connection(std::uint64_t connection_id);

    // Drops the waiting requests that would sign with an account that left the vault: they are
    // answered NotFound (4100 to the caller), and approvers see them go.
    void cancel_account(const core::Address& account);

    // Ends one request waiting for a decision or for input: its callback gets `why`, approvers
    // see it go, the audit log records it as dropped for `reason`. Nothing happens when the
    // entry is gone or already approved.
    void withdraw(std::uint64_t id, const core::Error& why, std::string_view reason);

    // Shutdown: every waiting request is answered with Disconnected.
    void cancel_all();

    // Records the digest of what an approved request signed (audit).
    void record_signed(const ApprovalRequest& request, const core::Hash32& digest);
    // The same, then `then` (the reply with the signature) once the line is written: on a
    // network thread both wait for the end of the turn, whose signatures share one write
    // (AuditLog::record_then).
    void record_signed_then(const ApprovalRequest& request, const core::Hash32& digest,
                            std::function<void()> then);
    // A policy's approval of a tracked request (a signature) is held back on the deciding thread
    // until the signature's line (AuditLog::HeldLine): work handed to another thread releases it
    // first, so that the approval stays before the signature in the log.
    void release_held_audit();

  private:
    struct Entry {
        ApprovalRequest request;
        Callback callback;  // the current stage's continuation; empty once approved
        InputHandler input_handler;
        bool tracked = false;  // stays after approval until complete()
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    void enqueue(ApprovalRequest request, Callback callback, bool tracked);
    // Ends the current stage of a waiting / needs-input entry: answers its callback with status;
    // a tracked, approved entry stays (stage approved), every other one leaves. Audits decisions
    // (decision non-empty).
    void finish(std::uint64_t id, core::Status status, std::string_view decision,
                std::string_view decided_by);
    void start_timer(Entry& entry);
    void notify(const ApprovalRequest& request, Event event);
    // Why `request` may not join the queue now (QueueLimits), or ok. Called with mutex_ held.
    core::Status admit_locked(const ApprovalRequest& request) const;

    boost::asio::any_io_executor executor_;
    QueueLimits limits_;
    std::chrono::seconds timeout_;
    Policy policy_;
    AuditLog* audit_;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, Entry> entries_;
    std::atomic<std::uint64_t> next_id_{1};
    Listener listener_;
};

}  // namespace keybridge::daemon::approvals
