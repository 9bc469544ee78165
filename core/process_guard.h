#pragma once

#include <cstdint>
#include <string>

#include "core/secret_buffer.h"

namespace keybridge::core {

// What protect_process() achieved.
struct ProcessGuard {
    SecureHeapStatus heap;
    bool non_dumpable = false;        // prctl(PR_SET_DUMPABLE, 0) succeeded
    bool no_core = false;             // RLIMIT_CORE is 0
    std::uint64_t memlock_limit = 0;  // RLIMIT_MEMLOCK (soft) in bytes; UINT64_MAX = unlimited
};

// Run first thing in main() of both programs, before any secret exists: makes the process
// non-dumpable (no core dumps, /proc/PID/mem and ptrace only for root), sets the core size
// limit to 0 (no core even if something makes it dumpable again) and sets up the locked
// arena for secrets (init_secure_heap) with `heap_size` bytes.
// Policy, shared by keybridged and the tool (docs/ARCHITECTURE.md, "Secrets"):
// - heap Failed: no secret can be held; the program refuses to start (exit 1, message below);
// - heap Unlocked (RLIMIT_MEMLOCK below the arena): runs on with the warning below; secrets
//   still live only in the arena, are wiped and excluded from core dumps, but may be swapped.
ProcessGuard protect_process(std::size_t heap_size = kDefaultSecureHeapSize);

// The warning or error to show for guard.heap (empty when the arena is locked).
std::string secure_heap_problem(const ProcessGuard& guard);

}  // namespace keybridge::core
