#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace keybridge::daemon::signers {

// Where a signer's calls run: one job at a time, first come first served. The software signer's
// lane runs each job inline on the requesting thread (signing is ~25 µs: a thread hop would cost
// more than the work); a device's lane owns a worker thread, so a Ledger waiting for its button
// holds that thread and nothing else.
//
// A job receives a stop token that fires when the caller's token fires (client gone, request
// timed out) or when the lane stops (device detached, daemon stopping). A job whose token fired
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
};

// Runs the job on the caller's thread.
class InlineLane final : public SignerLane {
  public:
    void run(std::stop_token caller, Job job) override;
    void stop() override;
    std::size_t queued() const override { return 0; }

  private:
    std::stop_source stopping_;
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

}  // namespace keybridge::daemon::signers
