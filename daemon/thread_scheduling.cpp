#include "daemon/thread_scheduling.h"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "daemon/log.h"

namespace keybridge::daemon {

core::Status schedule_this_thread(NetworkScheduling policy) {
    if (policy == NetworkScheduling::Adaptive) {
        return core::fail(core::ErrorCode::InvalidArgument,
                          "adaptive scheduling is a governor's, not a kernel policy");
    }
    const int wanted = policy == NetworkScheduling::Batch ? SCHED_BATCH : SCHED_OTHER;
    // Both policies take priority 0; pid 0 is the calling thread (Linux schedules threads).
    const sched_param param{};
    if (::sched_setscheduler(0, wanted, &param) != 0) {
        return core::fail(core::ErrorCode::IoError, "cannot use " + to_string(policy) +
                                                        " scheduling: " + std::strerror(errno));
    }
    return {};
}

std::string to_string(NetworkScheduling policy) {
    switch (policy) {
        case NetworkScheduling::Adaptive:
            return "adaptive";
        case NetworkScheduling::Batch:
            return "batch";
        case NetworkScheduling::Normal:
            return "normal";
    }
    return "normal";
}

SchedulingGovernor::SchedulingGovernor(Apply apply) : apply_(std::move(apply)) {}

void SchedulingGovernor::note_request(bool another_behind) {
    if (!adapting_) return;
    ++requests_;
    if (another_behind) ++pipelined_;
    if (requests_ < kWindow) return;
    decide();
    requests_ = 0;
    pipelined_ = 0;
}

void SchedulingGovernor::decide() {
    if (current_ == NetworkScheduling::Normal) {
        quiet_windows_ = pipelined_ == 0 ? quiet_windows_ + 1 : 0;
        if (pipelined_ >= kEnterBatch) return switch_to(NetworkScheduling::Batch);
        if (quiet_windows_ >= kExploreAfter) {
            exploring_ = true;
            return switch_to(NetworkScheduling::Batch);
        }
        return;
    }
    if (pipelined_ > kLeaveBatch) {
        exploring_ = false;  // found: batch stays
        quiet_windows_ = 0;
        return;
    }
    if (exploring_ || ++quiet_windows_ >= kLeaveAfter) switch_to(NetworkScheduling::Normal);
}

void SchedulingGovernor::switch_to(NetworkScheduling policy) {
    quiet_windows_ = 0;
    exploring_ = exploring_ && policy == NetworkScheduling::Batch;
    if (auto applied = apply_(policy); !applied) {
        log::warn("server", applied.error().detail + "; this network thread stops adapting");
        adapting_ = false;
        return;
    }
    current_ = policy;
}

namespace network_scheduling {
namespace {
thread_local SchedulingGovernor* t_governor = nullptr;
}  // namespace

Scope::Scope(SchedulingGovernor& governor) : outer_(t_governor) {
    t_governor = &governor;
}

Scope::~Scope() {
    t_governor = outer_;
}

void note_request(bool another_behind) {
    if (t_governor != nullptr) t_governor->note_request(another_behind);
}

}  // namespace network_scheduling

}  // namespace keybridge::daemon
