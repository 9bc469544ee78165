#include "daemon/approvals/approval_queue.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace keybridge::daemon::approvals {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Outcomes of submitted requests, by a label the test chooses.
class Outcomes {
  public:
    ApprovalQueue::Callback callback(std::string label) {
        return [this, label](core::Status status) {
            std::lock_guard lock(mutex_);
            EXPECT_EQ(results_.count(label), 0u) << label << " answered twice";
            results_.emplace(label, std::move(status));
            cv_.notify_all();
        };
    }
    // Waits for the label's outcome (fails the test after `limit`).
    core::Status wait(const std::string& label, std::chrono::milliseconds limit = 5000ms) {
        std::unique_lock lock(mutex_);
        const bool got = cv_.wait_for(lock, limit, [&] { return results_.count(label) != 0; });
        EXPECT_TRUE(got) << label << " was never answered";
        if (!got) return core::fail(core::ErrorCode::Internal, "no answer");
        return results_.at(label);
    }
    bool answered(const std::string& label) {
        std::lock_guard lock(mutex_);
        return results_.count(label) != 0;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::string, core::Status> results_;
};

class ApprovalQueueTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "keybridge_approvals_XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        auto audit = AuditLog::open(dir_);
        ASSERT_TRUE(audit) << audit.error().detail;
        audit_.emplace(std::move(*audit));
        thread_ = std::thread([this] { ioc_.run(); });
    }
    void TearDown() override {
        queue_.reset();
        work_.reset();
        thread_.join();
        std::filesystem::remove_all(dir_);
    }

    // A queue whose only limit that matters is `max_pending` (every share is as large).
    ApprovalQueue& make_queue(std::size_t max_pending = 8, std::chrono::seconds timeout = 60s,
                              std::string_view policy = "") {
        return make_queue_with(QueueLimits{max_pending, max_pending, max_pending}, timeout, policy);
    }
    ApprovalQueue& make_queue_with(QueueLimits limits, std::chrono::seconds timeout = 60s,
                                   std::string_view policy = "") {
        auto p = Policy::parse(policy, "test.policy");
        EXPECT_TRUE(p);
        queue_.emplace(ioc_.get_executor(), limits, timeout, std::move(*p), &*audit_);
        return *queue_;
    }

    static ApprovalRequest request(std::string method, std::uint64_t connection = 1,
                                   bool authenticated = false) {
        ApprovalRequest r;
        r.origin = authenticated ? std::string(kLocalClientOrigin) : "https://app.example";
        r.authenticated = authenticated;
        r.connection_id = connection;
        r.method = std::move(method);
        r.account = *core::Address::parse("0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");
        r.chain_id = 1;
        return r;
    }

    // The audit log's lines, parsed.
    std::vector<json::object> audit_lines() {
        std::ifstream in(audit_->path());
        std::vector<json::object> out;
        std::string line;
        while (std::getline(in, line)) {
            json::error_code ec;
            auto v = json::parse(line, ec);
            EXPECT_FALSE(ec) << line;
            if (!ec) out.push_back(v.as_object());
        }
        return out;
    }

    // Waits until the queue holds n requests (they are added synchronously, so this is immediate
    // unless the test is wrong).
    std::uint64_t only_pending_id() {
        auto pending = queue_->pending();
        EXPECT_EQ(pending.size(), 1u);
        return pending.empty() ? 0 : pending.front().id;
    }

    // The digest an approver is shown for pending request `id` (zeros when none is pending).
    core::Hash32 shown(std::uint64_t id) const {
        for (const auto& r : queue_->pending()) {
            if (r.id == id) return r.content_digest();
        }
        return core::Hash32{};
    }

    boost::asio::io_context ioc_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
        ioc_.get_executor()};
    std::thread thread_;
    std::string dir_;
    std::optional<AuditLog> audit_;
    std::optional<ApprovalQueue> queue_;
    Outcomes outcomes_;
};

TEST_F(ApprovalQueueTest, ApproveAnswersOk) {
    auto& q = make_queue();
    q.submit(request("personal_sign"), outcomes_.callback("a"));
    EXPECT_FALSE(outcomes_.answered("a"));
    const auto id = only_pending_id();
    ASSERT_TRUE(q.decide(id, Decision::Approve, shown(id), "test approver"));
    EXPECT_TRUE(outcomes_.wait("a"));
    EXPECT_TRUE(q.pending().empty());
}

TEST_F(ApprovalQueueTest, RejectAnswersUserCancelled) {
    auto& q = make_queue();
    q.submit(request("personal_sign"), outcomes_.callback("a"));
    ASSERT_TRUE(
        q.decide(only_pending_id(), Decision::Reject, shown(only_pending_id()), "test approver"));
    auto status = outcomes_.wait("a");
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, core::ErrorCode::UserCancelled);
}

TEST_F(ApprovalQueueTest, DecidingUnknownOrDecidedIdIsNotFound) {
    auto& q = make_queue();
    EXPECT_EQ(q.decide(42, Decision::Approve, shown(42), "test approver").error().code,
              core::ErrorCode::NotFound);
    q.submit(request("personal_sign"), outcomes_.callback("a"));
    const auto id = only_pending_id();
    ASSERT_TRUE(q.decide(id, Decision::Approve, shown(id), "test approver"));
    auto again = q.decide(id, Decision::Reject, shown(id), "test approver");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::ErrorCode::NotFound);
    EXPECT_TRUE(outcomes_.wait("a"));  // the first decision stands
}

TEST_F(ApprovalQueueTest, DecisionWithAnotherDigestIsRefusedAndTheRequestStaysPending) {
    auto& q = make_queue();
    q.submit(request("personal_sign"), outcomes_.callback("a"));
    const auto id = only_pending_id();
    // What an approver showed before the request under this id was something else.
    ApprovalRequest other = request("personal_sign");
    other.details["message"] = "something else";
    for (const core::Hash32& stale : {other.content_digest(), core::Hash32{}}) {
        auto refused = q.decide(id, Decision::Approve, stale, "test approver");
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, core::ErrorCode::InvalidArgument);
        EXPECT_NE(refused.error().detail.find("digest"), std::string::npos);
    }
    EXPECT_FALSE(outcomes_.answered("a"));
    ASSERT_EQ(q.pending().size(), 1u);
    EXPECT_EQ(q.pending()[0].stage, Stage::Waiting);
    ASSERT_TRUE(q.decide(id, Decision::Approve, shown(id), "test approver"));
    EXPECT_TRUE(outcomes_.wait("a"));
}

TEST_F(ApprovalQueueTest, DigestCoversWhatIsShownAndNotTheStage) {
    ApprovalRequest a = request("eth_sendTransaction");
    a.details["nonce"] = "0x5";
    const core::Hash32 base = a.content_digest();
    EXPECT_EQ(json::value(core::hex_encode(base)), a.to_json().at("digest"));
    ApprovalRequest b = a;
    b.id = 7;
    b.stage = Stage::NeedsInput;
    b.created = 12345;
    b.stage_note = "unlock";
    EXPECT_EQ(b.content_digest(), base);  // bookkeeping, not content
    for (auto change : std::vector<std::function<void(ApprovalRequest&)>>{
             [](ApprovalRequest& r) { r.details["nonce"] = "0x9"; },
             [](ApprovalRequest& r) { r.chain_id = 31337; },
             [](ApprovalRequest& r) { r.origin = "https://other.example"; },
             [](ApprovalRequest& r) { r.account.reset(); },
             [](ApprovalRequest& r) { r.value = 1; },
             [](ApprovalRequest& r) {
                 r.warnings.push_back(Warning{"x", Severity::Info, "t", "d"});
             },
             [](ApprovalRequest& r) { r.signing_hash = core::Hash32{}; },
             [](ApprovalRequest& r) { r.method = "eth_signTransaction"; },
         }) {
        ApprovalRequest changed = a;
        change(changed);
        EXPECT_NE(changed.content_digest(), base);
    }
}

TEST_F(ApprovalQueueTest, TimeoutRejectsWithUserCancelled) {
    auto& q = make_queue(8, 1s);
    const auto start = std::chrono::steady_clock::now();
    q.submit(request("personal_sign"), outcomes_.callback("a"));
    auto status = outcomes_.wait("a", 5000ms);
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, core::ErrorCode::UserCancelled);
    EXPECT_NE(status.error().detail.find("timeout"), std::string::npos) << status.error().detail;
    EXPECT_GE(waited, 900ms);
    EXPECT_TRUE(q.pending().empty());
    auto lines = audit_lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].at("decision"), json::value("rejected"));
    EXPECT_EQ(lines[0].at("decidedBy"), json::value("timeout"));
}

TEST_F(ApprovalQueueTest, CancelAllAnswersDisconnected) {
    auto& q = make_queue();
    q.submit(request("personal_sign", 1), outcomes_.callback("a"));
    q.submit(request("eth_requestAccounts", 2), outcomes_.callback("b"));
    EXPECT_EQ(q.pending().size(), 2u);
    q.cancel_all();
    for (const char* label : {"a", "b"}) {
        auto status = outcomes_.wait(label);
        ASSERT_FALSE(status) << label;
        EXPECT_EQ(status.error().code, core::ErrorCode::Disconnected) << label;
    }
    EXPECT_TRUE(q.pending().empty());
}

TEST_F(ApprovalQueueTest, CancelConnectionDropsOnlyThatConnection) {
    auto& q = make_queue();
    q.submit(request("personal_sign", 1), outcomes_.callback("a"));
    q.submit(request("personal_sign", 2), outcomes_.callback("b"));
    q.cancel_connection(1);
    auto a = outcomes_.wait("a");
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, core::ErrorCode::Disconnected);
    EXPECT_FALSE(outcomes_.answered("b"));
    ASSERT_EQ(q.pending().size(), 1u);
    EXPECT_EQ(q.pending()[0].connection_id, 2u);
}

TEST_F(ApprovalQueueTest, FullQueueRefusesAtOnce) {
    auto& q = make_queue(2);
    q.submit(request("personal_sign"), outcomes_.callback("a"));
    q.submit(request("personal_sign"), outcomes_.callback("b"));
    q.submit(request("personal_sign"), outcomes_.callback("c"));
    auto c = outcomes_.wait("c");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, core::ErrorCode::LimitExceeded);
    EXPECT_NE(c.error().detail.find("too many"), std::string::npos);
    EXPECT_EQ(q.pending().size(), 2u);
    EXPECT_FALSE(outcomes_.answered("a"));
    // A decision frees a place.
    ASSERT_TRUE(q.decide(q.pending()[0].id, Decision::Approve, q.pending()[0].content_digest(),
                         "test approver"));
    q.submit(request("personal_sign"), outcomes_.callback("d"));
    EXPECT_EQ(q.pending().size(), 2u);
    EXPECT_FALSE(outcomes_.answered("d"));
}

// The flood of issue 9: one page's pending requests must not lock every other page out.
TEST_F(ApprovalQueueTest, OriginOverItsShareIsRefusedWhileOthersStillQueue) {
    auto& q = make_queue_with(QueueLimits{64, 4, 16});
    for (int i = 0; i < 4; ++i)
        q.submit(request("personal_sign"), outcomes_.callback("own" + std::to_string(i)));
    q.submit(request("personal_sign"), outcomes_.callback("fifth"));
    auto fifth = outcomes_.wait("fifth");
    ASSERT_FALSE(fifth);
    EXPECT_EQ(fifth.error().code, core::ErrorCode::LimitExceeded);
    EXPECT_NE(fifth.error().detail.find("https://app.example already has 4"), std::string::npos)
        << fifth.error().detail;
    EXPECT_NE(fifth.error().detail.find("--max-pending-per-origin"), std::string::npos);
    EXPECT_EQ(q.pending().size(), 4u);

    ApprovalRequest other = request("personal_sign", 2);
    other.origin = "https://other.example";
    q.submit(other, outcomes_.callback("other"));
    ASSERT_EQ(q.pending().size(), 5u);
    EXPECT_FALSE(outcomes_.answered("other"));
    ASSERT_TRUE(q.decide(q.pending().back().id, Decision::Approve, shown(q.pending().back().id),
                         "test approver"));
    EXPECT_TRUE(outcomes_.wait("other"));

    // A decision gives the origin its place back.
    ASSERT_TRUE(q.decide(q.pending().front().id, Decision::Reject, shown(q.pending().front().id),
                         "test approver"));
    q.submit(request("personal_sign"), outcomes_.callback("again"));
    EXPECT_EQ(q.pending().size(), 4u);
    EXPECT_FALSE(outcomes_.answered("again"));
}

TEST_F(ApprovalQueueTest, SecondConnectRequestOfAnOriginIsAlreadyPending) {
    auto& q = make_queue_with(QueueLimits{64, 4, 16});
    q.submit(request("eth_requestAccounts", 1), outcomes_.callback("first"));
    // Same origin, another connection (a second tab) as well.
    q.submit(request("eth_requestAccounts", 2), outcomes_.callback("second"));
    auto second = outcomes_.wait("second");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, core::ErrorCode::AlreadyExists);
    EXPECT_NE(second.error().detail.find("already pending for origin https://app.example"),
              std::string::npos)
        << second.error().detail;
    EXPECT_EQ(q.pending().size(), 1u);
    // Its signing requests still have their places; another origin may connect.
    q.submit(request("personal_sign"), outcomes_.callback("sign"));
    ApprovalRequest other = request("eth_requestAccounts", 3);
    other.origin = "https://other.example";
    q.submit(other, outcomes_.callback("other"));
    EXPECT_EQ(q.pending().size(), 3u);
    EXPECT_FALSE(outcomes_.answered("sign"));
    EXPECT_FALSE(outcomes_.answered("other"));
    // Once the first is decided the origin may ask again.
    ASSERT_TRUE(q.decide(q.pending().front().id, Decision::Reject, shown(q.pending().front().id),
                         "test approver"));
    EXPECT_FALSE(outcomes_.wait("first"));
    q.submit(request("eth_requestAccounts", 1), outcomes_.callback("third"));
    EXPECT_EQ(q.pending().size(), 3u);
    EXPECT_FALSE(outcomes_.answered("third"));
}

TEST_F(ApprovalQueueTest, LocalCallerHasItsOwnShare) {
    auto& q = make_queue_with(QueueLimits{64, 2, 3});
    for (int i = 0; i < 3; ++i)
        q.submit(request("personal_sign", 1, true),
                 outcomes_.callback("local" + std::to_string(i)));
    q.submit(request("personal_sign", 1, true), outcomes_.callback("local-over"));
    auto over = outcomes_.wait("local-over");
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, core::ErrorCode::LimitExceeded);
    EXPECT_NE(over.error().detail.find("the local client already has 3"), std::string::npos)
        << over.error().detail;
    EXPECT_NE(over.error().detail.find("--max-pending-local"), std::string::npos);
    // Pages keep theirs.
    q.submit(request("personal_sign", 2), outcomes_.callback("page"));
    EXPECT_EQ(q.pending().size(), 4u);
    EXPECT_FALSE(outcomes_.answered("page"));
}

TEST_F(ApprovalQueueTest, TotalLimitIsTheBackstopOverManyOrigins) {
    auto& q = make_queue_with(QueueLimits{3, 4, 16});
    for (int i = 0; i < 3; ++i) {
        ApprovalRequest r = request("personal_sign", static_cast<std::uint64_t>(i));
        r.origin = "https://forged" + std::to_string(i) + ".example";
        q.submit(r, outcomes_.callback("o" + std::to_string(i)));
    }
    ApprovalRequest r = request("personal_sign", 9);
    r.origin = "https://forged9.example";
    q.submit(r, outcomes_.callback("over"));
    auto over = outcomes_.wait("over");
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, core::ErrorCode::LimitExceeded);
    EXPECT_NE(over.error().detail.find("the queue is full"), std::string::npos)
        << over.error().detail;
    EXPECT_NE(over.error().detail.find("--max-pending-approvals"), std::string::npos);
}

TEST_F(ApprovalQueueTest, RequestsHeldForInputCountInTheShare) {
    auto& q = make_queue_with(QueueLimits{64, 2, 16});
    for (int i = 0; i < 2; ++i) {
        q.await_input(
            request("personal_sign"), "unlock", "unlock the vault",
            [](const json::object&, std::function<void(core::Status)> done) { done({}); },
            outcomes_.callback("held" + std::to_string(i)));
    }
    q.await_input(
        request("personal_sign"), "unlock", "unlock the vault",
        [](const json::object&, std::function<void(core::Status)> done) { done({}); },
        outcomes_.callback("third"));
    auto third = outcomes_.wait("third");
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().code, core::ErrorCode::LimitExceeded);
    // A held request moving on to its decision keeps its place (it is not counted twice).
    ApprovalRequest held = q.pending().front();
    q.input_done(held.id, "unlock");
    outcomes_.wait("held0");
    q.submit(held, outcomes_.callback("decision"));
    EXPECT_EQ(q.pending().size(), 2u);
    EXPECT_FALSE(outcomes_.answered("decision"));
}

TEST_F(ApprovalQueueTest, IdsAreUniqueAndReservedIdsAreKept) {
    auto& q = make_queue();
    const auto reserved = q.reserve_id();
    ApprovalRequest r = request("personal_sign");
    r.id = reserved;
    q.submit(r, outcomes_.callback("a"));
    q.submit(request("personal_sign"), outcomes_.callback("b"));
    auto pending = q.pending();
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending[0].id, reserved);
    EXPECT_NE(pending[1].id, reserved);
    EXPECT_GT(pending[0].created, 0);
}

TEST_F(ApprovalQueueTest, ListenerHearsAddedAndRemoved) {
    auto& q = make_queue();
    std::mutex mutex;
    std::vector<std::pair<std::uint64_t, bool>> events;
    q.set_listener([&](const ApprovalRequest& r, ApprovalQueue::Event e) {
        std::lock_guard lock(mutex);
        events.emplace_back(r.id, e == ApprovalQueue::Event::Added);
    });
    q.submit(request("personal_sign"), outcomes_.callback("a"));
    const auto id = only_pending_id();
    ASSERT_TRUE(q.decide(id, Decision::Reject, shown(id), "test approver"));
    outcomes_.wait("a");
    std::lock_guard lock(mutex);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0], std::make_pair(id, true));
    EXPECT_EQ(events[1], std::make_pair(id, false));
}

// Signing requests stay after approval until done, and every stage change reaches approvers.
TEST_F(ApprovalQueueTest, TrackedRequestLivesThroughItsStagesUntilComplete) {
    auto& q = make_queue();
    std::mutex mutex;
    std::vector<std::pair<ApprovalQueue::Event, std::string>> events;
    q.set_listener([&](const ApprovalRequest& r, ApprovalQueue::Event e) {
        std::lock_guard lock(mutex);
        events.emplace_back(e, std::string(to_string(r.stage)));
    });
    auto r = request("personal_sign");
    r.id = q.reserve_id();
    q.submit_tracked(r, outcomes_.callback("a"));
    ASSERT_EQ(q.pending().size(), 1u);
    EXPECT_EQ(q.pending()[0].stage, Stage::Waiting);
    ASSERT_TRUE(q.decide(r.id, Decision::Approve, shown(r.id), "test approver"));
    EXPECT_TRUE(outcomes_.wait("a"));
    ASSERT_EQ(q.pending().size(), 1u);
    EXPECT_EQ(q.pending()[0].stage, Stage::Approved);
    // An approved request cannot be decided again.
    auto again = q.decide(r.id, Decision::Reject, shown(r.id), "test approver");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::ErrorCode::InvalidArgument);
    q.set_stage(r, Stage::OnDevice, "Confirm on your Ledger");
    EXPECT_EQ(q.pending()[0].stage, Stage::OnDevice);
    EXPECT_EQ(q.pending()[0].to_json().at("note").as_string(), "Confirm on your Ledger");
    q.complete(r.id);
    EXPECT_TRUE(q.pending().empty());
    std::lock_guard lock(mutex);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0], std::make_pair(ApprovalQueue::Event::Added, std::string("waiting")));
    EXPECT_EQ(events[1], std::make_pair(ApprovalQueue::Event::Updated, std::string("approved")));
    EXPECT_EQ(events[2], std::make_pair(ApprovalQueue::Event::Updated, std::string("on-device")));
    EXPECT_EQ(events[3], std::make_pair(ApprovalQueue::Event::Removed, std::string("on-device")));
}

TEST_F(ApprovalQueueTest, NeedsInputStageIsAnsweredThenMovesToWaiting) {
    auto& q = make_queue();
    auto r = request("personal_sign");
    r.id = q.reserve_id();
    std::string heard;
    q.await_input(
        r, "unlock", "the vault is locked",
        [&](const json::object& answer, std::function<void(core::Status)> done) {
            heard = std::string(answer.at("password").as_string());
            if (heard != "right") return done(core::fail(core::ErrorCode::WrongPassword, "no"));
            q.input_done(r.id, "unlock");
            done({});
        },
        outcomes_.callback("unlocked"));
    ASSERT_EQ(q.pending().size(), 1u);
    EXPECT_EQ(q.pending()[0].stage, Stage::NeedsInput);
    EXPECT_EQ(q.pending()[0].to_json().at("input").as_string(), "unlock");
    // Not waiting for a decision yet.
    EXPECT_FALSE(q.decide(r.id, Decision::Approve, shown(r.id), "test approver"));
    // A wrong answer keeps the stage.
    std::optional<core::Status> first;
    q.respond(r.id, json::object{{"password", "wrong"}}, [&](core::Status s) { first = s; });
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->error().code, core::ErrorCode::WrongPassword);
    EXPECT_FALSE(outcomes_.answered("unlocked"));
    std::optional<core::Status> second;
    q.respond(r.id, json::object{{"password", "right"}}, [&](core::Status s) { second = s; });
    ASSERT_TRUE(second.has_value() && *second);
    EXPECT_TRUE(outcomes_.wait("unlocked"));
    // The same entry, under the same id, goes on to wait for the decision.
    q.submit_tracked(r, outcomes_.callback("decided"));
    ASSERT_EQ(q.pending().size(), 1u);
    EXPECT_EQ(q.pending()[0].stage, Stage::Waiting);
    ASSERT_TRUE(q.decide(r.id, Decision::Reject, shown(r.id), "test approver"));
    EXPECT_FALSE(outcomes_.wait("decided"));
    EXPECT_TRUE(q.pending().empty());
}

TEST_F(ApprovalQueueTest, ThePinsEndDoesNotEndThePassphraseWaitThatFollowsIt) {
    // A device lane asks for the PIN, gets it and at once asks for the passphrase under the same
    // id, possibly before the PIN's handler has retired the PIN wait (a race seen under load:
    // the passphrase answer was refused as "not waiting for input" and the device hung).
    auto& q = make_queue();
    auto r = request("personal_sign");
    r.id = q.reserve_id();
    q.await_input(
        r, "pin", "Enter the PIN",
        [](const json::object&, std::function<void(core::Status)> done) { done({}); },
        outcomes_.callback("pin"));
    std::string passphrase;
    q.await_input(
        r, "passphrase", "Enter the passphrase",
        [&](const json::object& answer, std::function<void(core::Status)> done) {
            passphrase = std::string(answer.at("passphrase").as_string());
            q.input_done(r.id, "passphrase");
            done({});
        },
        outcomes_.callback("passphrase"));
    q.input_done(r.id, "pin");  // the PIN handler, late
    ASSERT_EQ(q.pending().size(), 1u);
    EXPECT_EQ(q.pending()[0].to_json().at("input").as_string(), "passphrase");
    std::optional<core::Status> answered;
    q.respond(r.id, json::object{{"passphrase", "tool words"}},
              [&](core::Status s) { answered = s; });
    ASSERT_TRUE(answered.has_value());
    EXPECT_TRUE(*answered) << answered->error().detail;
    EXPECT_EQ(passphrase, "tool words");
    EXPECT_TRUE(outcomes_.wait("passphrase"));
    q.cancel_all();
}

TEST_F(ApprovalQueueTest, InputCanBeCancelledAndRespondRefusesOtherStages) {
    auto& q = make_queue();
    auto r = request("personal_sign");
    r.id = q.reserve_id();
    q.await_input(
        r, "pin", "Enter the PIN",
        [](const json::object&, std::function<void(core::Status)> done) { done({}); },
        outcomes_.callback("pin"));
    std::optional<core::Status> cancelled;
    q.respond(r.id, json::object{{"cancel", true}}, [&](core::Status s) { cancelled = s; });
    ASSERT_TRUE(cancelled.has_value() && *cancelled);
    auto outcome = outcomes_.wait("pin");
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().code, core::ErrorCode::UserCancelled);
    EXPECT_TRUE(q.pending().empty());
    // Unknown ids and requests waiting for a decision cannot be "responded" to.
    std::optional<core::Status> unknown;
    q.respond(999, json::object{{"pin", "1"}}, [&](core::Status s) { unknown = s; });
    EXPECT_EQ(unknown->error().code, core::ErrorCode::NotFound);
    q.submit(request("personal_sign"), outcomes_.callback("waiting"));
    std::optional<core::Status> wrong_stage;
    q.respond(only_pending_id(), json::object{{"pin", "1"}},
              [&](core::Status s) { wrong_stage = s; });
    EXPECT_EQ(wrong_stage->error().code, core::ErrorCode::InvalidArgument);
    q.cancel_all();
    outcomes_.wait("waiting");
}

TEST_F(ApprovalQueueTest, PolicyDecidesForAuthenticatedCallersOnly) {
    auto& q = make_queue(8, 60s, "deny method=eth_sign\napprove method=personal_sign\n");
    q.submit(request("personal_sign", 1, true), outcomes_.callback("approved"));
    EXPECT_TRUE(outcomes_.wait("approved"));
    q.submit(request("eth_sign", 1, true), outcomes_.callback("denied"));
    auto denied = outcomes_.wait("denied");
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, core::ErrorCode::UserCancelled);
    EXPECT_NE(denied.error().detail.find("policy line 1"), std::string::npos);
    // The same request from a page is queued for the user.
    q.submit(request("personal_sign", 2, false), outcomes_.callback("page"));
    EXPECT_FALSE(outcomes_.answered("page"));
    EXPECT_EQ(q.pending().size(), 1u);
    // Unmatched authenticated requests are queued too.
    q.submit(request("eth_sendTransaction", 1, true), outcomes_.callback("unmatched"));
    EXPECT_EQ(q.pending().size(), 2u);
    q.cancel_all();
    outcomes_.wait("page");
    outcomes_.wait("unmatched");
}

TEST_F(ApprovalQueueTest, AuditLinesRecordEveryOutcome) {
    auto& q = make_queue(8, 60s, "approve method=eth_signTypedData_v4\n");
    q.submit(request("personal_sign", 1), outcomes_.callback("user"));
    ASSERT_TRUE(
        q.decide(only_pending_id(), Decision::Approve, shown(only_pending_id()), "test approver"));
    outcomes_.wait("user");
    q.submit(request("eth_sign", 1), outcomes_.callback("rejected"));
    ASSERT_TRUE(
        q.decide(only_pending_id(), Decision::Reject, shown(only_pending_id()), "test approver"));
    outcomes_.wait("rejected");
    ApprovalRequest typed = request("eth_signTypedData_v4", 1, true);
    typed.id = q.reserve_id();
    q.submit(typed, outcomes_.callback("policy"));
    outcomes_.wait("policy");
    core::Hash32 digest{};
    digest.fill(0xab);
    q.record_signed(typed, digest);
    q.submit(request("eth_requestAccounts", 3), outcomes_.callback("shutdown"));
    q.cancel_all();
    outcomes_.wait("shutdown");
    audit_->sync();

    auto lines = audit_lines();
    ASSERT_EQ(lines.size(), 5u);
    auto field = [&](std::size_t i, const char* key) {
        return std::string(lines[i].at(key).as_string());
    };
    EXPECT_EQ(field(0, "method"), "personal_sign");
    EXPECT_EQ(field(0, "decision"), "approved");
    EXPECT_EQ(field(0, "decidedBy"), "test approver");
    EXPECT_EQ(field(0, "origin"), "https://app.example");
    EXPECT_EQ(field(0, "account"), "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");
    EXPECT_EQ(lines[0].at("chainId"), json::value(1));
    EXPECT_EQ(field(0, "time").size(), 20u);  // 2024-01-02T03:04:05Z
    EXPECT_EQ(field(1, "decision"), "rejected");
    EXPECT_EQ(field(1, "decidedBy"), "test approver");
    EXPECT_EQ(field(2, "decision"), "approved");
    EXPECT_EQ(field(2, "decidedBy"), "policy line 1");
    EXPECT_EQ(lines[2].at("id"), json::value(typed.id));
    EXPECT_EQ(field(3, "decision"), "signed");
    std::string ab;
    for (int i = 0; i < 32; ++i)
        ab += "ab";
    EXPECT_EQ(field(3, "digest"), "0x" + ab);
    EXPECT_EQ(lines[3].at("id"), json::value(typed.id));
    EXPECT_EQ(field(4, "decision"), "dropped");
    EXPECT_EQ(field(4, "decidedBy"), "shutdown");
    EXPECT_FALSE(lines[4].contains("digest"));
    // Never a payload: the details of a request stay out of the log.
    for (const auto& l : lines)
        EXPECT_FALSE(l.contains("details"));
}

// A policy's approval line waits for the signature made inside the callback (one write() for
// both, in order); a request that ends unsigned (complete) has its line written before the
// caller replies; and nothing is held past the callback.
TEST_F(ApprovalQueueTest, PolicyApprovalLineWaitsForTheSignatureMadeInItsCallback) {
    auto& q = make_queue(8, 60s, "approve method=personal_sign\n");
    core::Hash32 digest{};
    digest.fill(0xcd);
    ApprovalRequest signs = request("personal_sign", 1, true);
    signs.id = q.reserve_id();
    std::size_t lines_in_callback = 99;
    q.submit_tracked(signs, [&](core::Status status) {
        ASSERT_TRUE(status);
        lines_in_callback = audit_lines().size();
        q.record_signed(signs, digest);
        q.complete(signs.id);
    });
    EXPECT_EQ(lines_in_callback, 0u) << "the approval line was held for the signature";
    auto lines = audit_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].at("decision").as_string(), "approved");
    EXPECT_EQ(lines[1].at("decision").as_string(), "signed");

    ApprovalRequest fails = request("personal_sign", 1, true);
    fails.id = q.reserve_id();
    std::size_t lines_after_complete = 0;
    q.submit_tracked(fails, [&](core::Status status) {
        ASSERT_TRUE(status);
        q.complete(fails.id);  // the signer failed: the caller replies right after this
        lines_after_complete = audit_lines().size();
    });
    EXPECT_EQ(lines_after_complete, 3u) << "complete() writes the held approval line";

    ApprovalRequest left = request("personal_sign", 1, true);
    left.id = q.reserve_id();
    q.submit(left, [](core::Status) {});
    EXPECT_EQ(audit_lines().size(), 4u) << "nothing is held past the callback";
}

// A signing request's decoded details are made when the entry is shown, never for a request
// the policy approves and nobody sees (they were ~6 % of such a typed-data signature's CPU).
TEST_F(ApprovalQueueTest, DetailsAreMadeOnlyWhenTheEntryIsShown) {
    auto& q = make_queue(8, 60s, "approve method=personal_sign origin=local\n");
    std::atomic<int> made{0};
    auto with_maker = [&](ApprovalRequest r) {
        r.details_maker = [&made] {
            ++made;
            return json::object{{"message", "hello"}};
        };
        return r;
    };
    ApprovalRequest signs = with_maker(request("personal_sign", 1, true));
    signs.id = q.reserve_id();
    q.submit_tracked(signs, [&](core::Status status) {
        ASSERT_TRUE(status);
        q.record_signed(signs, core::Hash32{});
        q.complete(signs.id);
    });
    EXPECT_EQ(made.load(), 0) << "a policy-approved signature made its details";

    // The same request from a page waits for a person: shown, with the made details.
    ApprovalRequest asks = with_maker(request("personal_sign", 2, false));
    q.submit(asks, outcomes_.callback("asks"));
    ASSERT_EQ(q.pending().size(), 1u);
    const json::object shown_json = q.pending()[0].to_json();
    EXPECT_GT(made.load(), 0);
    EXPECT_EQ(shown_json.at("details"), json::parse(R"({"message":"hello"})"));
    q.cancel_all();
    outcomes_.wait("asks");
}

TEST_F(ApprovalQueueTest, AuditLogIsPrivate) {
    std::filesystem::perms mode = std::filesystem::status(audit_->path()).permissions();
    EXPECT_EQ(mode & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(ApprovalRequestJson, ShowsWhatTheApproverNeeds) {
    ApprovalRequest r;
    r.id = 7;
    r.origin = "https://app.example";
    r.method = "eth_sendTransaction";
    r.account = *core::Address::parse("0x73d0385f4d8e00c5e6504c6030f47bf6212736a8");
    r.chain_id = 10;
    r.value = core::U256(1000);
    r.details = json::object{{"to", "0x00"}};
    r.warnings = {Warning{"contract-creation", Severity::Warning, "Careful", "It creates."},
                  Warning{"eth-sign-opaque-hash", Severity::Danger, "Danger", ""}};
    r.created = 1700000000;
    json::object o = r.to_json();
    EXPECT_EQ(o.at("id"), json::value(7));
    EXPECT_EQ(o.at("account"), json::value("0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"));
    EXPECT_EQ(o.at("value"), json::value("1000"));
    EXPECT_EQ(o.at("chainId"), json::value(10));
    EXPECT_EQ(o.at("warnings"),
              json::parse(R"([{"id":"contract-creation","severity":"warning","title":"Careful",)"
                          R"("detail":"It creates."},{"id":"eth-sign-opaque-hash",)"
                          R"("severity":"danger","title":"Danger","detail":""}])"));
    EXPECT_EQ(o.at("details"), json::parse(R"({"to":"0x00"})"));
    r.value = 0;
    EXPECT_FALSE(r.to_json().contains("value"));
}

// Made details are shown and digested exactly as the same details stored in the entry: the
// digest an approver decides with does not depend on how the entry holds them.
TEST(ApprovalRequestJson, MadeDetailsShowAndDigestAsStoredOnes) {
    ApprovalRequest stored;
    stored.origin = "https://app.example";
    stored.method = "eth_signTypedData_v4";
    stored.details = json::object{{"primaryType", "Mail"}, {"domain", json::object{{"name", "x"}}}};
    ApprovalRequest made = stored;
    made.details = {};
    made.details_maker = [] {
        return json::object{{"primaryType", "Mail"}, {"domain", json::object{{"name", "x"}}}};
    };
    EXPECT_EQ(made.to_json().at("details"), stored.to_json().at("details"));
    EXPECT_EQ(made.content_digest(), stored.content_digest());
    made.details_maker = [] { return json::object{{"primaryType", "Other"}}; };
    EXPECT_NE(made.content_digest(), stored.content_digest());
}

TEST(ApprovalRequestJson, SeverityNamesRoundTrip) {
    for (Severity s : {Severity::Info, Severity::Warning, Severity::Danger})
        EXPECT_EQ(parse_severity(severity_name(s)), s);
    EXPECT_EQ(severity_name(Severity::Danger), "danger");
    EXPECT_FALSE(parse_severity("DANGER"));
}

// A policy never auto-approves a request with a danger warning: it waits for a person.
TEST(ApprovalQueuePolicy, DangerWarningIsQueuedDespiteAnApproveRule) {
    boost::asio::io_context io;
    auto policy = Policy::parse("approve origin=local\n", "p");
    ASSERT_TRUE(policy);
    ApprovalQueue q(io.get_executor(), QueueLimits{10, 10, 10}, std::chrono::seconds(60),
                    std::move(*policy), nullptr);
    ApprovalRequest r;
    r.origin = std::string(kLocalClientOrigin);
    r.authenticated = true;
    r.method = "eth_sign";
    r.warnings = {Warning{"eth-sign-opaque-hash", Severity::Danger, "t", "d"}};
    std::optional<bool> approved;
    q.submit(r, [&](core::Status s) { approved = s.has_value(); });
    io.poll();
    EXPECT_FALSE(approved) << "decided by the policy";
    ASSERT_EQ(q.pending().size(), 1u);
    r.warnings.clear();
    q.submit(r, [&](core::Status s) { approved = s.has_value(); });
    io.poll();
    EXPECT_EQ(approved, true);
    q.cancel_all();
    io.poll();
}

}  // namespace
}  // namespace keybridge::daemon::approvals
