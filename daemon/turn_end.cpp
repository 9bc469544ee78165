#include "daemon/turn_end.h"

#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace keybridge::daemon::turn_end {
namespace {

struct ThreadState {
    Scope* scope = nullptr;
    std::vector<std::function<void()>> deferred;
    std::vector<std::function<void()>> running;  // kept to reuse its storage turn after turn
    bool posted = false;                         // an end of the turn is queued on the scope's loop
    bool closing = false;                        // the scope's destructor runs the rest itself
};

thread_local ThreadState t_state;

}  // namespace

Scope::Scope(boost::asio::io_context& ioc) : outer_(t_state.scope), ioc_(&ioc) {
    t_state.scope = this;
}

Scope::~Scope() {
    ThreadState& state = t_state;
    state.closing = true;
    while (!state.deferred.empty())
        run_deferred();
    state.closing = false;
    state.scope = outer_;
    // An end of the turn still queued on a stopped loop finds nothing to do if it ever runs.
    state.posted = false;
}

bool active() {
    return t_state.scope != nullptr;
}

bool pending() {
    return !t_state.deferred.empty();
}

void defer(std::function<void()> work) {
    ThreadState& state = t_state;
    state.deferred.push_back(std::move(work));
    if (state.posted || state.closing) return;
    state.posted = true;
    // Posted, so it queues behind the handlers the loop has ready now.
    boost::asio::post(*state.scope->ioc_, [] {
        t_state.posted = false;
        run_deferred();
    });
}

void run_deferred() {
    ThreadState& state = t_state;
    // Work deferred while this runs belongs to the next turn: take the list first.
    std::vector<std::function<void()>> work;
    work.swap(state.running);
    work.swap(state.deferred);
    for (auto& fn : work)
        fn();
    work.clear();
    if (state.running.empty()) work.swap(state.running);  // keep the storage
}

}  // namespace keybridge::daemon::turn_end
