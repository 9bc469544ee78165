#pragma once

#include <functional>

#include <boost/asio/io_context.hpp>

namespace keybridge::daemon::turn_end {

// Work a network thread does once per turn of its event loop instead of once per request: the
// handlers that are ready now (the requests one epoll_wait found) run first, then what they
// deferred, in the order it was deferred. keybridged uses it to write the audit lines of all
// the signatures made in a turn with one system call, and to send their replies after that
// write (docs/ARCHITECTURE.md, "Audit log").
//
// Only a thread that holds a Scope defers; elsewhere (a signer's worker, a test without one)
// active() is false and callers do the work at once.

// Makes the calling thread's event loop `ioc` the one deferred work is posted to, for as long as
// the scope lives. The thread must run `ioc` while it does. Its destructor runs what is still
// deferred (a loop stopped before the turn ended), so nothing deferred is ever dropped.
class Scope {
  public:
    explicit Scope(boost::asio::io_context& ioc);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

  private:
    Scope* outer_;
    boost::asio::io_context* ioc_;
    friend void defer(std::function<void()> work);
    friend void run_deferred();
};

// Whether the calling thread holds a Scope.
bool active();

// Runs `work` at the end of this thread's turn, after the work deferred before it. Only while
// active(); work that defers more starts another turn's list.
void defer(std::function<void()> work);

// Whether this thread has deferred work waiting for the end of its turn (whose handler is then
// queued on its loop: a handler posted now runs after that work).
bool pending();

// Runs the calling thread's deferred work now (what the posted end of the turn does).
void run_deferred();

}  // namespace keybridge::daemon::turn_end
