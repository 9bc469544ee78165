#include "core/process_guard.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <limits>

namespace keybridge::core {
namespace {

std::string kib(std::uint64_t bytes) {
    return std::to_string(bytes / 1024) + " KiB";
}

}  // namespace

ProcessGuard protect_process(std::size_t heap_size) {
    ProcessGuard guard;
    guard.non_dumpable = ::prctl(PR_SET_DUMPABLE, 0) == 0;
    const rlimit no_core{0, 0};
    guard.no_core = ::setrlimit(RLIMIT_CORE, &no_core) == 0;
    rlimit memlock{};
    if (::getrlimit(RLIMIT_MEMLOCK, &memlock) == 0) {
        guard.memlock_limit = memlock.rlim_cur == RLIM_INFINITY
                                  ? std::numeric_limits<std::uint64_t>::max()
                                  : static_cast<std::uint64_t>(memlock.rlim_cur);
    }
    guard.heap = init_secure_heap(heap_size);
    return guard;
}

std::string secure_heap_problem(const ProcessGuard& guard) {
    switch (guard.heap.state) {
        case SecureHeapState::Locked:
            return {};
        case SecureHeapState::Unlocked:
            return "secrets are kept in a " + kib(guard.heap.size) +
                   " arena that could not be locked into RAM (RLIMIT_MEMLOCK is " +
                   (guard.memlock_limit == std::numeric_limits<std::uint64_t>::max()
                        ? std::string("unlimited")
                        : kib(guard.memlock_limit)) +
                   "), so they may be written to swap; raise it to at least " +
                   kib(guard.heap.size) + " (ulimit -l, or LimitMEMLOCK= in the systemd unit)";
        case SecureHeapState::Failed:
            break;
    }
    return "cannot set up the memory arena for secrets (mmap failed: out of memory or address "
           "space?)";
}

}  // namespace keybridge::core
