#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/signer.h"
#include "daemon/approvals/approval_queue.h"

namespace keybridge::daemon {

// The daemon's side of the signer contract for one request (a signature, or a device address
// asked by `keybridge account add`): device stages and input prompts
// become stages of the request's approval entry. Called on the signer's lane thread.
class ApprovalPrompter final : public core::Prompter {
  public:
    ApprovalPrompter(approvals::ApprovalQueue& queue, const approvals::ApprovalRequest& approval,
                     std::stop_token stop)
        : queue_(queue), approval_(approval), stop_(std::move(stop)) {}

    void on_device(std::string_view what) override {
        queue_.set_stage(approval_, approvals::Stage::OnDevice, std::string(what));
    }
    void device_done() override { queue_.set_stage(approval_, approvals::Stage::Approved, ""); }
    core::Result<core::SecretBuffer> pin_matrix(std::string_view prompt) override {
        return ask("pin", prompt);
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view prompt) override {
        return ask("passphrase", prompt);
    }

  private:
    struct Answer {
        std::mutex mutex;
        std::condition_variable_any changed;
        std::optional<core::Result<core::SecretBuffer>> value;
        void set(core::Result<core::SecretBuffer> v) {
            {
                std::lock_guard lock(mutex);
                if (!value) value = std::move(v);
            }
            changed.notify_all();
        }
    };

    core::Result<core::SecretBuffer> ask(const std::string& kind, std::string_view prompt) {
        auto answer = std::make_shared<Answer>();
        const std::uint64_t id = approval_.id;
        approvals::ApprovalQueue& queue = queue_;
        queue_.await_input(
            approval_, kind, std::string(prompt),
            [answer, kind, id, &queue](const boost::json::object& given,
                                       std::function<void(core::Status)> done) {
                const boost::json::value* v = given.if_contains(kind);
                if (v == nullptr || !v->is_string()) {
                    return done(core::fail(core::ErrorCode::InvalidArgument,
                                           "the answer must be {\"" + kind + "\": \"…\"}"));
                }
                // This wait ends before the lane sees the answer: the lane may ask for the next
                // input (the passphrase after the PIN) under the same id at once.
                queue.input_done(id, kind);
                answer->set(core::SecretBuffer::copy_of(std::string_view(v->as_string())));
                done({});
            },
            [answer](core::Status status) {
                if (!status) answer->set(core::fail(status.error()));
            });
        std::unique_lock lock(answer->mutex);
        answer->changed.wait(lock, stop_, [&] { return answer->value.has_value(); });
        if (!answer->value) {
            return core::fail(core::ErrorCode::Disconnected, "the request was cancelled");
        }
        auto result = std::move(*answer->value);
        lock.unlock();
        queue_.set_stage(approval_, approvals::Stage::Approved, "");
        return result;
    }

    approvals::ApprovalQueue& queue_;
    const approvals::ApprovalRequest& approval_;  // outlives the prompter (the job holds it)
    std::stop_token stop_;
};

}  // namespace keybridge::daemon
