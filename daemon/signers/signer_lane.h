#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace keybridge::daemon::signers {

// Where a signer's calls run. The software signer's lane (SpilloverLane) runs each job inline on
// the requesting thread (signing is ~25 µs: a thread hop costs a good part of that) unless that
// thread is saturated; a device's lane owns a worker thread and runs one job at a time, first
// come first served, so a Ledger waiting for its button holds that thread and nothing else.
//
// A job receives a stop token that fires when the caller's token fires (client gone, request
// timed out) or when the lane stops (device detached, daemon stopping; an inline lane's stop
// reaches only the jobs that start after it: see InlineLane). A job whose token fired
// before it started is still called, with the token already stopped, so that it can answer its
// caller (Disconnected) exactly once; jobs are never dropped silently.
class SignerLane {
  public:
    using Job = std::function<void(std::stop_token)>;
    virtual ~SignerLane() = default;

    virtual void run(std::stop_token caller, Job job) = 0;
    // Stops every running and queued job's token, runs what is queued (so each answers), and
    // refuses nothing afterwards: later jobs run at once with a stopped token. Idempotent.
    virtual void stop() = 0;
    // Jobs waiting behind the running one (for status and tests).
    virtual std::size_t queued() const = 0;
    // Whether every job runs on the calling thread before run() returns.
    virtual bool always_inline() const { return false; }
};

// Runs the job on the caller's thread, with the caller's own token: an inline job is a
// non-blocking signer's call that ends within microseconds, so stop() reaches the jobs that
// start after it (they get a stopped token), not one already running on another thread. No stop
// state is shared between the calling threads: registering a callback on one per job made both
// network threads write the same cache line for every signature (docs/BENCHMARKS.md).
class InlineLane final : public SignerLane {
  public:
    void run(std::stop_token caller, Job job) override;
    void stop() override;
    std::size_t queued() const override { return 0; }
    bool always_inline() const override { return true; }

  private:
    std::atomic<bool> stopped_{false};
};

// A worker thread and a FIFO queue.
class ThreadLane final : public SignerLane {
  public:
    explicit ThreadLane(std::string name);
    ~ThreadLane() override;  // stop(), then joins the worker
    ThreadLane(const ThreadLane&) = delete;
    ThreadLane& operator=(const ThreadLane&) = delete;

    void run(std::stop_token caller, Job job) override;
    void stop() override;
    std::size_t queued() const override;

  private:
    struct Queued {
        std::stop_token caller;
        Job job;
    };
    // Shared with the worker thread, which may outlive the lane object by the end of one job
    // (a lane released from inside its own last job).
    struct State {
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<Queued> queue;
        bool stopping = false;
        std::stop_source running_stop;  // the running job's own source (replaced per job)
    };
    static void work(const std::shared_ptr<State>& state);

    std::string name_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
    std::thread worker_;
};

// The software signer's lane. A job runs inline on the calling network thread (no thread hop:
// the lowest latency) unless that thread is saturated; then it runs on the lane's worker thread,
// so that signing overlaps the network thread's transport and JSON work on a second core.
// Saturation is measured, not guessed: a network thread that keeps up blocks in epoll_wait
// between requests (a voluntary context switch); one that blocked fewer than once per four jobs
// over the last millisecond nearly always had requests waiting for it. A worker that already holds
// a waiting job takes no more: the network thread signs the job itself (both cores sign). Jobs may
// run concurrently (inline on network threads and on the worker): the signer must be thread-safe,
// as the software signer is.
class SpilloverLane final : public SignerLane {
  public:
    // Whether the calling thread is saturated; called once per job, on the caller's thread.
    using Saturated = std::function<bool()>;

    explicit SpilloverLane(std::string name, Saturated saturated = calling_thread_saturated);

    void run(std::stop_token caller, Job job) override;
    void stop() override;
    std::size_t queued() const override { return worker_.queued(); }

    // The measurement described above, kept per calling thread: true when this thread blocked
    // fewer than once per four calls during its last window of at least a millisecond. One
    // getrusage() per window; the first call of a thread says false.
    static bool calling_thread_saturated();

  private:
    Saturated saturated_;
    InlineLane inline_;
    ThreadLane worker_;
};

}  // namespace keybridge::daemon::signers
