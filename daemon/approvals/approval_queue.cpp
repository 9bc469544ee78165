#include "daemon/approvals/approval_queue.h"

#include <ctime>

#include <boost/asio/post.hpp>

#include "core/hash.h"
#include "daemon/approvals/connect_choices.h"
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

std::string_view to_string(Stage stage) {
    switch (stage) {
        case Stage::NeedsInput:
            return "needs-input";
        case Stage::Waiting:
            return "waiting";
        case Stage::Approved:
            return "approved";
        case Stage::OnDevice:
            return "on-device";
    }
    return "unknown";
}

core::Hash32 ApprovalRequest::content_digest() const {
    // Built field by field in a fixed order: Boost.JSON serializes objects in insertion order,
    // and `details` is made by the daemon, so equal content gives equal bytes.
    json::object shown;
    shown["origin"] = origin;
    shown["authenticated"] = authenticated;
    shown["method"] = method;
    if (!summary.empty()) shown["summary"] = summary;
    shown["account"] = account ? json::value(account->to_checksum_string()) : json::value(nullptr);
    shown["chainId"] = chain_id;
    shown["value"] = core::u256_to_decimal(value);
    shown["details"] = shown_details();
    json::array w;
    for (const auto& warning : warnings)
        w.push_back(warning.to_json());
    shown["warnings"] = std::move(w);
    shown["signingHash"] =
        signing_hash ? json::value(core::hex_encode(*signing_hash)) : json::value(nullptr);
    return core::keccak256(core::as_bytes(json::serialize(shown)));
}

json::object ApprovalRequest::shown_details() const {
    return details_maker ? details_maker() : details;
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
    if (!summary.empty()) o["summary"] = summary;
    o["details"] = shown_details();
    json::array w;
    for (const auto& warning : warnings)
        w.push_back(warning.to_json());
    o["warnings"] = std::move(w);
    o["created"] = created;
    o["stage"] = to_string(stage);
    if (stage == Stage::NeedsInput) o["input"] = input;
    if (!stage_note.empty()) o["note"] = stage_note;
    if (signing_hash) o["signingHash"] = core::hex_encode(*signing_hash);
    o["digest"] = core::hex_encode(content_digest());
    return o;
}

ApprovalQueue::ApprovalQueue(boost::asio::any_io_executor executor, QueueLimits limits,
                             std::chrono::seconds timeout, Policy policy, AuditLog* audit)
    : executor_(std::move(executor)),
      limits_(limits),
      timeout_(timeout),
      policy_(std::move(policy)),
      audit_(audit) {}

void ApprovalQueue::set_listener(Listener listener) {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
}

void ApprovalQueue::submit(ApprovalRequest request, Callback callback) {
    enqueue(std::move(request), std::move(callback), /*tracked=*/false);
}

void ApprovalQueue::submit_tracked(ApprovalRequest request, Callback callback) {
    enqueue(std::move(request), std::move(callback), /*tracked=*/true);
}

void ApprovalQueue::notify(const ApprovalRequest& request, Event event) {
    Listener listener;
    {
        std::lock_guard lock(mutex_);
        listener = listener_;
    }
    if (listener) listener(request, event);
}

void ApprovalQueue::start_timer(Entry& entry) {
    const std::uint64_t id = entry.request.id;
    if (entry.timer) entry.timer->cancel();
    entry.timer = std::make_unique<boost::asio::steady_timer>(executor_, timeout_);
    entry.timer->async_wait([this, id](boost::system::error_code ec) {
        if (!ec)
            finish(id, fail(ErrorCode::UserCancelled, "no answer before the approval timeout"),
                   "rejected", "timeout");
    });
}

void ApprovalQueue::enqueue(ApprovalRequest request, Callback callback, bool tracked) {
    if (request.created == 0) request.created = static_cast<std::int64_t>(std::time(nullptr));
    const auto [action, line] = policy_.evaluate(request);
    if (action != PolicyAction::Ask) {
        const bool approve = action == PolicyAction::Approve;
        const std::string by = "policy line " + std::to_string(line);
        if (request.id == 0) request.id = reserve_id();
        // A signing request's approval line waits (within this call at most) for the line of
        // the signature made inline right after it, so that both take one write(); anything
        // else is written now.
        std::optional<AuditLog::HeldLine> approved_line;
        if (audit_ != nullptr && approve && tracked) {
            approved_line.emplace(*audit_, request, "approved", by);
        } else if (audit_ != nullptr) {
            audit_->record(request, approve ? "approved" : "denied", by);
        }
        // A request held for input before (unlock) is in the queue: it moves on or leaves.
        bool held = false;
        ApprovalRequest shown;
        {
            std::lock_guard lock(mutex_);
            auto it = entries_.find(request.id);
            if (it != entries_.end()) {
                held = true;
                if (approve && tracked) {
                    it->second.request.stage = Stage::Approved;
                    it->second.request.input.clear();
                    it->second.request.stage_note.clear();
                    it->second.callback = nullptr;
                    it->second.tracked = true;
                    if (it->second.timer) it->second.timer->cancel();
                    shown = it->second.request;
                } else {
                    if (it->second.timer) it->second.timer->cancel();
                    shown = std::move(it->second.request);
                    entries_.erase(it);
                }
            }
        }
        if (held) notify(shown, approve && tracked ? Event::Updated : Event::Removed);
        core::Status status;
        if (!approve)
            status = fail(ErrorCode::UserCancelled, "denied by the approval policy (" + by + ")");
        callback(std::move(status));
        return;
    }

    std::unique_lock lock(mutex_);
    auto existing = entries_.find(request.id);
    const bool held = request.id != 0 && existing != entries_.end();
    if (!held) {
        if (auto admitted = admit_locked(request); !admitted) {
            lock.unlock();
            callback(std::move(admitted));
            return;
        }
    }
    if (request.id == 0) request.id = reserve_id();
    const std::uint64_t id = request.id;
    Entry& e = entries_[id];
    request.stage = Stage::Waiting;
    request.input.clear();
    request.stage_note.clear();
    e.request = std::move(request);
    e.callback = std::move(callback);
    e.input_handler = nullptr;
    e.tracked = tracked;
    start_timer(e);
    ApprovalRequest copy = e.request;
    lock.unlock();
    log::info("approvals", "request " + std::to_string(id) + " (" + copy.method + " from " +
                               copy.origin + ") waits for a decision");
    notify(copy, held ? Event::Updated : Event::Added);
}

core::Status ApprovalQueue::admit_locked(const ApprovalRequest& request) const {
    const bool local = request.origin == kLocalClientOrigin;
    const bool connect = request.method == kConnectMethod;
    std::size_t of_origin = 0;
    for (const auto& [id, e] : entries_) {
        if (e.request.origin != request.origin || e.request.channel != request.channel) continue;
        // One connect request per origin: a second one would only ask the same question again
        // (and a page could repeat it to fill the queue).
        if (connect && e.request.method == kConnectMethod) {
            return fail(ErrorCode::AlreadyExists,
                        "a request of type eth_requestAccounts is already pending for origin " +
                            request.origin + " (request " + std::to_string(id) +
                            "); please wait for its answer");
        }
        ++of_origin;
    }
    const std::size_t share = local ? limits_.local : limits_.per_origin;
    if (of_origin >= share) {
        const std::string who = local ? "the local client" : request.origin;
        const char* option = local ? "--max-pending-local" : "--max-pending-per-origin";
        return fail(ErrorCode::LimitExceeded, "too many requests are waiting for approval: " + who +
                                                  " already has " + std::to_string(of_origin) +
                                                  " (at most " + std::to_string(share) + ", " +
                                                  option + "); try again once they are decided");
    }
    if (entries_.size() >= limits_.total) {
        return fail(ErrorCode::LimitExceeded,
                    "too many requests are waiting for approval: the queue is full (" +
                        std::to_string(entries_.size()) +
                        " from all origins, --max-pending-approvals); try again later");
    }
    return {};
}

std::uint64_t ApprovalQueue::reserve_id() {
    // An atomic counter: a policy-approved request (most signatures) takes its id without the
    // queue's lock, which the network threads would otherwise share for every request.
    return next_id_.fetch_add(1, std::memory_order_relaxed);
}

void ApprovalQueue::await_input(ApprovalRequest request, std::string input, std::string note,
                                InputHandler handler, Callback callback) {
    if (request.created == 0) request.created = static_cast<std::int64_t>(std::time(nullptr));
    std::unique_lock lock(mutex_);
    if (request.id == 0) request.id = reserve_id();
    auto existing = entries_.find(request.id);
    const bool held = existing != entries_.end();
    if (!held) {
        if (auto admitted = admit_locked(request); !admitted) {
            lock.unlock();
            callback(std::move(admitted));
            return;
        }
    }
    Entry& e = entries_[request.id];
    if (held) {
        // Keep what the approver already saw (and the tracked flag); change the stage only.
        e.request.stage = Stage::NeedsInput;
        e.request.input = std::move(input);
        e.request.stage_note = std::move(note);
    } else {
        request.stage = Stage::NeedsInput;
        request.input = std::move(input);
        request.stage_note = std::move(note);
        e.request = std::move(request);
    }
    e.callback = std::move(callback);
    e.input_handler = std::move(handler);
    start_timer(e);
    ApprovalRequest copy = e.request;
    lock.unlock();
    log::info("approvals", "request " + std::to_string(copy.id) + " (" + copy.method + " from " +
                               copy.origin + ") needs input: " + copy.input);
    notify(copy, held ? Event::Updated : Event::Added);
}

void ApprovalQueue::input_done(std::uint64_t id, std::string_view input) {
    Callback callback;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end() || it->second.request.stage != Stage::NeedsInput ||
            it->second.request.input != input) {
            return;
        }
        // The entry stays (the next stage replaces it); only the continuation runs.
        callback = std::move(it->second.callback);
        it->second.callback = nullptr;
        it->second.input_handler = nullptr;
        if (it->second.timer) it->second.timer->cancel();
    }
    if (callback) boost::asio::post(executor_, [callback = std::move(callback)] { callback({}); });
}

void ApprovalQueue::input_done_all(std::string_view input) {
    std::vector<std::uint64_t> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, e] : entries_) {
            if (e.request.stage == Stage::NeedsInput && e.request.input == input) ids.push_back(id);
        }
    }
    for (auto id : ids)
        input_done(id, input);
}

void ApprovalQueue::respond(std::uint64_t id, const json::object& answer,
                            std::function<void(core::Status)> done) {
    InputHandler handler;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end()) {
            return done(fail(ErrorCode::NotFound, "no pending request " + std::to_string(id)));
        }
        if (it->second.request.stage != Stage::NeedsInput || !it->second.input_handler) {
            return done(fail(ErrorCode::InvalidArgument,
                             "request " + std::to_string(id) + " is not waiting for input (" +
                                 std::string(to_string(it->second.request.stage)) + ")"));
        }
        handler = it->second.input_handler;
    }
    if (const json::value* cancel = answer.if_contains("cancel");
        cancel != nullptr && cancel->is_bool() && cancel->as_bool()) {
        finish(id, fail(ErrorCode::UserCancelled, "cancelled at the input prompt"), "rejected",
               "user");
        return done({});
    }
    handler(answer, std::move(done));
}

void ApprovalQueue::set_stage(const ApprovalRequest& request, Stage stage, std::string note) {
    ApprovalRequest copy;
    bool added = false;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(request.id);
        if (it == entries_.end()) {
            Entry e;
            e.request = request;
            e.tracked = true;
            it = entries_.emplace(request.id, std::move(e)).first;
            added = true;
        }
        it->second.request.stage = stage;
        it->second.request.input.clear();
        it->second.request.stage_note = std::move(note);
        copy = it->second.request;
    }
    notify(copy, added ? Event::Added : Event::Updated);
}

void ApprovalQueue::complete(std::uint64_t id) {
    release_held_audit();  // a request that ends unsigned: its approval's line before the reply
    ApprovalRequest copy;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end()) return;
        if (it->second.timer) it->second.timer->cancel();
        copy = std::move(it->second.request);
        entries_.erase(it);
    }
    notify(copy, Event::Removed);
}

core::Status ApprovalQueue::decide(std::uint64_t id, Decision decision, const core::Hash32& digest,
                                   std::string_view decided_by) {
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end()) {
            return fail(ErrorCode::NotFound, "no pending request " + std::to_string(id));
        }
        if (it->second.request.stage != Stage::Waiting) {
            return fail(ErrorCode::InvalidArgument,
                        "request " + std::to_string(id) + " is not waiting for a decision (" +
                            std::string(to_string(it->second.request.stage)) + ")");
        }
        if (it->second.request.content_digest() != digest) {
            return fail(ErrorCode::InvalidArgument,
                        "request " + std::to_string(id) +
                            " is not what was shown (its digest differs): nothing was decided; "
                            "list the pending requests again");
        }
    }
    if (decision == Decision::Approve) {
        finish(id, {}, "approved", decided_by);
    } else {
        finish(id, fail(ErrorCode::UserCancelled, ""), "rejected", decided_by);
    }
    return {};
}

void ApprovalQueue::finish(std::uint64_t id, core::Status status, std::string_view decision,
                           std::string_view decided_by) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(id);
    // Decided and timed out at once, or already past its decision: the first one wins.
    if (it == entries_.end() || !it->second.callback) return;
    Entry& e = it->second;
    if (e.timer) e.timer->cancel();
    Callback callback = std::move(e.callback);
    e.callback = nullptr;
    e.input_handler = nullptr;
    ApprovalRequest copy;
    Event event = Event::Removed;
    if (status && e.tracked) {
        e.request.stage = Stage::Approved;
        e.request.input.clear();
        e.request.stage_note.clear();
        copy = e.request;
        event = Event::Updated;
    } else {
        copy = std::move(e.request);
        entries_.erase(it);
    }
    lock.unlock();
    if (audit_ != nullptr && !decision.empty()) audit_->record(copy, decision, decided_by);
    notify(copy, event);
    boost::asio::post(executor_, [callback = std::move(callback), status = std::move(status)] {
        callback(status);
    });
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
            if (e.request.connection_id == connection_id && e.callback) ids.push_back(id);
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
            if (e.request.account == account && e.callback) ids.push_back(id);
        }
    }
    for (auto id : ids) {
        finish(id,
               fail(ErrorCode::NotFound,
                    account.to_checksum_string() + " was removed from the vault while waiting"),
               "dropped", "account removed");
    }
}

void ApprovalQueue::withdraw(std::uint64_t id, const core::Error& why, std::string_view reason) {
    finish(id, fail(why), "dropped", reason);
}

void ApprovalQueue::cancel_all() {
    std::vector<std::uint64_t> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, e] : entries_) {
            if (e.callback) ids.push_back(id);
        }
    }
    for (auto id : ids) {
        finish(id, fail(ErrorCode::Disconnected, "keybridged is shutting down"), "dropped",
               "shutdown");
    }
}

void ApprovalQueue::release_held_audit() {
    if (audit_ != nullptr) audit_->release_held();
}

void ApprovalQueue::record_signed(const ApprovalRequest& request, const core::Hash32& digest) {
    if (audit_ != nullptr) audit_->record(request, "signed", "approved", digest);
}

void ApprovalQueue::record_signed_then(const ApprovalRequest& request, const core::Hash32& digest,
                                       std::function<void()> then) {
    if (audit_ == nullptr) return then();
    audit_->record_then(request, "signed", "approved", digest, std::move(then));
}

}  // namespace keybridge::daemon::approvals
