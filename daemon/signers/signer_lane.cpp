#include "daemon/signers/signer_lane.h"

#include <pthread.h>
#include <sys/resource.h>

#include <chrono>
#include <optional>

namespace keybridge::daemon::signers {

namespace {

// The job's token: stopped when the caller's token or the lane's source is. stop_callback runs
// at once when its token is already stopped.
void run_linked(std::stop_source& own, const std::stop_token& caller, const std::stop_token& lane,
                const SignerLane::Job& job) {
    std::optional<std::stop_callback<std::function<void()>>> from_caller;
    std::optional<std::stop_callback<std::function<void()>>> from_lane;
    from_caller.emplace(caller, std::function<void()>([&own] { own.request_stop(); }));
    from_lane.emplace(lane, std::function<void()>([&own] { own.request_stop(); }));
    job(own.get_token());
}

}  // namespace

void InlineLane::run(std::stop_token caller, Job job) {
    if (!stopped_.load(std::memory_order_acquire)) return job(std::move(caller));
    std::stop_source stopped;
    stopped.request_stop();
    job(stopped.get_token());
}

void InlineLane::stop() {
    stopped_.store(true, std::memory_order_release);
}

ThreadLane::ThreadLane(std::string name) : name_(std::move(name)) {
    worker_ = std::thread([state = state_] { work(state); });
    // Visible in top/gdb: "kb-ledger:…" (the kernel keeps 15 characters).
    const std::string thread_name = ("kb-" + name_).substr(0, 15);
    ::pthread_setname_np(worker_.native_handle(), thread_name.c_str());
}

ThreadLane::~ThreadLane() {
    stop();
    if (!worker_.joinable()) return;
    // Destroyed by its own last job (a caller's shared_ptr released there): the worker finishes
    // that job on its own copy of the state and exits, as the queue is empty and it is stopping.
    if (worker_.get_id() == std::this_thread::get_id()) {
        worker_.detach();
        return;
    }
    worker_.join();
}

void ThreadLane::run(std::stop_token caller, Job job) {
    {
        std::unique_lock lock(state_->mutex);
        if (!state_->stopping) {
            state_->queue.push_back({std::move(caller), std::move(job)});
            lock.unlock();
            // After the unlock: a worker woken under the lock would block on it at once.
            state_->wake.notify_one();
            return;
        }
    }
    // The lane is gone (device detached, daemon stopping): answer at once, on this thread.
    std::stop_source stopped;
    stopped.request_stop();
    job(stopped.get_token());
}

void ThreadLane::stop() {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    state_->running_stop.request_stop();
    state_->wake.notify_one();
}

std::size_t ThreadLane::queued() const {
    std::lock_guard lock(state_->mutex);
    return state_->queue.size();
}

void ThreadLane::work(const std::shared_ptr<State>& state) {
    std::stop_source lane_stopped;
    for (;;) {
        Queued next;
        std::stop_source own;
        {
            std::unique_lock lock(state->mutex);
            state->wake.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
            if (state->queue.empty()) return;  // stopping, and every job has answered
            next = std::move(state->queue.front());
            state->queue.pop_front();
            state->running_stop = own;
            if (state->stopping) {
                own.request_stop();
                lane_stopped.request_stop();
            }
        }
        run_linked(own, next.caller, lane_stopped.get_token(), next.job);
        next.job = nullptr;  // the job's captures go now, on this thread, before the next wait
    }
}

SpilloverLane::SpilloverLane(std::string name, Saturated saturated)
    : saturated_(std::move(saturated)), worker_(std::move(name)) {}

void SpilloverLane::run(std::stop_token caller, Job job) {
    // A job waiting on the worker means the worker is the busier side: sign here.
    if (worker_.queued() == 0 && saturated_())
        return worker_.run(std::move(caller), std::move(job));
    inline_.run(std::move(caller), std::move(job));
}

void SpilloverLane::stop() {
    inline_.stop();
    worker_.stop();
}

bool SpilloverLane::calling_thread_saturated() {
    // A window spans at least this long and ends at a call, so a thread called rarely is judged
    // on its long, mostly idle window: not saturated.
    constexpr auto kWindow = std::chrono::milliseconds(1);
    struct Window {
        std::chrono::steady_clock::time_point start{};
        long switches_at_start = 0;  // voluntary context switches of the thread so far
        long calls = 0;
        bool saturated = false;
    };
    thread_local Window window;
    ++window.calls;
    const auto now = std::chrono::steady_clock::now();
    if (now - window.start < kWindow) return window.saturated;
    rusage usage{};
    if (::getrusage(RUSAGE_THREAD, &usage) != 0) return false;
    const long switches = usage.ru_nvcsw;
    const bool first = window.start == std::chrono::steady_clock::time_point{};
    // A thread preempted on a busy machine may find the next request waiting without having had
    // other work: one block in four calls is still a thread that waits for its clients.
    window.saturated = !first && (switches - window.switches_at_start) * 4 < window.calls;
    window.start = now;
    window.switches_at_start = switches;
    window.calls = 0;
    return window.saturated;
}

}  // namespace keybridge::daemon::signers
