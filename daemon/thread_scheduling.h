#pragma once

#include <string>

#include "core/result.h"

namespace keybridge::daemon {

// How the kernel schedules the network threads (--network-scheduling).
//
// Batch (SCHED_BATCH, the default): a network thread woken by a client's request does not
// preempt the thread running on that CPU, which under load is often the client itself, in the
// middle of writing its next requests. The network thread runs when that thread's slice ends or
// it blocks, and then finds several requests in the socket: one read, one write and one wake-up
// of the client for all of them instead of one each. On an idle CPU it runs at once, as before,
// and its share of the CPU is that of any nice-0 thread. Measured with eth_chainId over
// WebSocket at 64 connections x 4 in flight on two cores (docs/BENCHMARKS.md, session 21).
// Normal (SCHED_OTHER): what the threads of a process get unless they ask.
enum class NetworkScheduling { Batch, Normal };

// Puts the calling thread under `policy` (nice value unchanged). Threads it starts afterwards
// inherit it. Fails, changing nothing, where the kernel or a sandbox refuses.
[[nodiscard]] core::Status schedule_this_thread(NetworkScheduling policy);

// "batch" or "normal", as --network-scheduling spells them.
std::string to_string(NetworkScheduling policy);

}  // namespace keybridge::daemon
