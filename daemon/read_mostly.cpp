#include "daemon/read_mostly.h"

namespace keybridge::daemon::network_thread {
namespace {

thread_local int t_index = -1;

}  // namespace

int index() {
    return t_index;
}

Scope::Scope(int index) : outer_(t_index) {
    t_index = index >= 0 && index < kMaxThreads ? index : -1;
}

Scope::~Scope() {
    t_index = outer_;
}

}  // namespace keybridge::daemon::network_thread
