#include "daemon/thread_scheduling.h"

#include <sched.h>

#include <cerrno>
#include <cstring>

namespace keybridge::daemon {

core::Status schedule_this_thread(NetworkScheduling policy) {
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
    return policy == NetworkScheduling::Batch ? "batch" : "normal";
}

}  // namespace keybridge::daemon
