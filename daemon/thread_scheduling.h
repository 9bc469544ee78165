#pragma once

#include <functional>
#include <string>

#include "core/result.h"

namespace keybridge::daemon {

// How the kernel schedules the network threads (--network-scheduling).
//
// Batch (SCHED_BATCH): a network thread woken by a client's request does not preempt the thread
// running on that CPU, which under load is often the client itself, in the middle of writing
// its next requests. The network thread runs when that thread's slice ends or it blocks, and
// then finds several requests in the socket: one read, one write and one wake-up of the client
// for all of them instead of one each. On an idle CPU it runs at once, and its share of the CPU
// is that of any nice-0 thread. The price: when every CPU is busy, a woken thread may wait for
// the next scheduler tick (4 ms at 250 Hz), which only queued requests can afford.
// Normal (SCHED_OTHER): what the threads of a process get unless they ask.
// Adaptive (the default): each network thread is normal, and batch while its clients pipeline
// (SchedulingGovernor below): where requests queue on a connection, the tick is hidden behind
// the queue and batching pays; where each client waits for every answer, promptness does.
// Measured in docs/BENCHMARKS.md (session 21).
enum class NetworkScheduling { Adaptive, Batch, Normal };

// Puts the calling thread under Batch or Normal (nice value unchanged). Threads it starts
// afterwards inherit it. Fails, changing nothing, where the kernel or a sandbox refuses.
[[nodiscard]] core::Status schedule_this_thread(NetworkScheduling policy);

// "adaptive", "batch" or "normal", as --network-scheduling spells them.
std::string to_string(NetworkScheduling policy);

// Adaptive scheduling for one network thread. Its sessions report each request they read and
// whether another request of the same client was already behind it (pipelining: a WebSocket
// read that held several messages, HTTP requests sent before the answers). It decides every
// kWindow requests:
// - normal: batch once a window has at least kEnterBatch pipelined requests. How many requests
//   a read finds depends on the policy itself (a thread that preempts the client finds them
//   one by one), so a thread that saw no pipelining for kExploreAfter windows tries batch for
//   a window anyway;
// - batch: normal after kLeaveAfter windows in a row with at most kLeaveBatch pipelined (one
//   for an exploring thread), so that a thread near the line does not switch back and forth.
// A thread starts normal; a refused switch ends the adapting.
class SchedulingGovernor {
  public:
    static constexpr unsigned kWindow = 256;
    static constexpr unsigned kEnterBatch = 16;
    static constexpr unsigned kLeaveBatch = 4;
    static constexpr unsigned kLeaveAfter = 4;
    static constexpr unsigned kExploreAfter = 32;

    // `apply` switches the calling thread (schedule_this_thread; tests pass a fake).
    using Apply = std::function<core::Status(NetworkScheduling)>;
    explicit SchedulingGovernor(Apply apply = schedule_this_thread);

    void note_request(bool another_behind);
    NetworkScheduling current() const { return current_; }

  private:
    void decide();
    void switch_to(NetworkScheduling policy);

    Apply apply_;
    NetworkScheduling current_ = NetworkScheduling::Normal;
    unsigned requests_ = 0;
    unsigned pipelined_ = 0;
    // Windows in a row without pipelining (under normal) or with little of it (under batch).
    unsigned quiet_windows_ = 0;
    bool exploring_ = false;  // batch for a window to see whether the reads fill up
    bool adapting_ = true;
};

namespace network_scheduling {

// Installs `governor` as the calling thread's for as long as the scope lives (Server::run, on
// each network thread under Adaptive).
class Scope {
  public:
    explicit Scope(SchedulingGovernor& governor);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

  private:
    SchedulingGovernor* outer_;
};

// What a session calls for each request it reads: the calling thread's governor, if it has one.
void note_request(bool another_behind);

}  // namespace network_scheduling

}  // namespace keybridge::daemon
