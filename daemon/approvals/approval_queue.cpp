#include "daemon/approvals/approval_queue.h"

#include <ctime>

#include <boost/asio/post.hpp>

#include "daemon/log.h"

namespace keybridge::daemon::approvals {

using core::ErrorCode;
using core::fail;

namespace json = boost::json;

std::string_view severity_name(Severity severity) {
    switch (severity) {
        case Severity::Info:
            return "info";
        case Severity::Warning:
            return "warning";
        case Severity::Danger:
            return "danger";
    }
    return "danger";
}

std::optional<Severity> parse_severity(std::string_view text) {
    for (Severity s : {Severity::Info, Severity::Warning, Severity::Danger}) {
        if (severity_name(s) == text) return s;
    }
    return std::nullopt;
}

json::object Warning::to_json() const {
    return json::object{
        {"id", id}, {"severity", severity_name(severity)}, {"title", title}, {"detail", detail}};
}

json::object ApprovalRequest::to_json() const {
    json::object o;
    o["id"] = id;
    o["origin"] = origin;
    o["authenticated"] = authenticated;
    o["method"] = method;
    if (account) o["account"] = account->to_checksum_string();
    o["chainId"] = chain_id;
    if (value != 0) o["value"] = core::u256_to_decimal(value);
    o["details"] = details;
    json::array w;
    for (const auto& warning : warnings)
        w.push_back(warning.to_json());
    o["warnings"] = std::move(w);
    o["created"] = created;
    return o;
}

ApprovalQueue::ApprovalQueue(boost::asio::any_io_executor executor, std::size_t max_pending,
                             std::chrono::seconds timeout, Policy policy, AuditLog* audit)
    : executor_(std::move(executor)),
      max_pending_(max_pending),
      timeout_(timeout),
      policy_(std::move(policy)),
      audit_(audit) {}

void ApprovalQueue::set_listener(Listener listener) {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
}

void ApprovalQueue::submit(ApprovalRequest request, Callback callback) {
    request.created = static_cast<std::int64_t>(std::time(nullptr));
    const auto [action, line] = policy_.evaluate(request);
    if (action != PolicyAction::Ask) {
        const bool approve = action == PolicyAction::Approve;
        const std::string by = "policy line " + std::to_string(line);
        if (request.id == 0) request.id = reserve_id();
        if (audit_ != nullptr) audit_->record(request, approve ? "approved" : "denied", by);
        core::Status status;
        if (!approve)
            status = fail(ErrorCode::UserCancelled, "denied by the approval policy (" + by + ")");
        callback(std::move(status));
        return;
    }

    std::unique_lock lock(mutex_);
    if (entries_.size() >= max_pending_) {
        lock.unlock();
        callback(fail(ErrorCode::LimitExceeded,
                      "too many requests are waiting for approval; try again later"));
        return;
    }
    if (request.id == 0) request.id = next_id_++;
    const std::uint64_t id = request.id;
    auto timer = std::make_unique<boost::asio::steady_timer>(executor_, timeout_);
    timer->async_wait([this, id](boost::system::error_code ec) {
        if (!ec)
            finish(id, fail(ErrorCode::UserCancelled, "no decision before the approval timeout"),
                   "rejected", "timeout");
    });
    Entry& e = entries_[id];
    e.request = std::move(request);
    e.callback = std::move(callback);
    e.timer = std::move(timer);
    Listener listener = listener_;
    ApprovalRequest copy = e.request;
    lock.unlock();
    log::info("approvals", "request " + std::to_string(id) + " (" + copy.method + " from " +
                               copy.origin + ") waits for a decision");
    if (listener) listener(copy, true);
}

std::uint64_t ApprovalQueue::reserve_id() {
    std::lock_guard lock(mutex_);
    return next_id_++;
}

core::Status ApprovalQueue::decide(std::uint64_t id, Decision decision) {
    {
        std::lock_guard lock(mutex_);
        if (entries_.find(id) == entries_.end()) {
            return fail(ErrorCode::NotFound, "no pending request " + std::to_string(id));
        }
    }
    if (decision == Decision::Approve) {
        finish(id, {}, "approved", "user");
    } else {
        finish(id, fail(ErrorCode::UserCancelled, ""), "rejected", "user");
    }
    return {};
}

void ApprovalQueue::finish(std::uint64_t id, core::Status status, std::string_view decision,
                           std::string_view decided_by) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;  // decided and timed out at once: first one wins
    Entry entry = std::move(it->second);
    entries_.erase(it);
    Listener listener = listener_;
    lock.unlock();
    entry.timer->cancel();
    if (audit_ != nullptr) audit_->record(entry.request, decision, decided_by);
    if (listener) listener(entry.request, false);
    boost::asio::post(executor_, [callback = std::move(entry.callback),
                                  status = std::move(status)] { callback(status); });
}

std::vector<ApprovalRequest> ApprovalQueue::pending() const {
    std::lock_guard lock(mutex_);
    std::vector<ApprovalRequest> out;
    for (const auto& [id, e] : entries_)
        out.push_back(e.request);
    return out;
}

void ApprovalQueue::cancel_connection(std::uint64_t connection_id) {
    std::vector<std::uint64_t> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, e] : entries_) {
            if (e.request.connection_id == connection_id) ids.push_back(id);
        }
    }
    for (auto id : ids) {
        finish(id, fail(ErrorCode::Disconnected, "the client disconnected"), "dropped",
               "disconnect");
    }
}

void ApprovalQueue::cancel_account(const core::Address& account) {
    std::vector<std::uint64_t> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, e] : entries_) {
            if (e.request.account == account) ids.push_back(id);
        }
    }
    for (auto id : ids) {
        finish(id,
               fail(ErrorCode::NotFound,
                    account.to_checksum_string() + " was removed from the vault while waiting"),
               "dropped", "account removed");
    }
}

void ApprovalQueue::cancel_all() {
    std::vector<std::uint64_t> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, e] : entries_)
            ids.push_back(id);
    }
    for (auto id : ids) {
        finish(id, fail(ErrorCode::Disconnected, "keybridged is shutting down"), "dropped",
               "shutdown");
    }
}

void ApprovalQueue::record_signed(const ApprovalRequest& request, const core::Hash32& digest) {
    if (audit_ != nullptr) audit_->record(request, "signed", "approved", digest);
}

}  // namespace keybridge::daemon::approvals
