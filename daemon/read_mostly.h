#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <utility>

namespace keybridge::daemon {

// The network threads number themselves (Server::run, from 0) so that state every request reads
// can keep one copy per thread.
namespace network_thread {

inline constexpr int kMaxThreads = 64;  // the --threads limit

// The calling thread's number, or -1 when it is not a network thread (or beyond kMaxThreads).
int index();

// Numbers the calling thread for as long as the scope lives.
class Scope {
  public:
    explicit Scope(int index);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

  private:
    int outer_;
};

}  // namespace network_thread

// A value that every request reads and that changes rarely (the account routes, the chains):
// writers publish a new immutable version; readers get the current one.
//
// Why not one shared_ptr under a mutex: both network threads would then take the same lock and
// bump the same reference count for every request, and each of those writes moves a cache line
// from one core to the other. Here each network thread holds its own handle to the version it
// last read, with a reference count of its own (a control block that keeps the published version
// alive), behind a lock only it takes except while a version is published. So a reader writes
// only lines of its own thread; other threads (workers, tests) read the shared version under the
// lock.
//
// publish() returns when no thread's handle holds the old version any more: a version lives on
// only in the handles readers already took (a detached device is released as soon as the requests
// that use it are done). Thread-safe.
template <class T>
class ReadMostly {
  public:
    explicit ReadMostly(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}
    ReadMostly(const ReadMostly&) = delete;
    ReadMostly& operator=(const ReadMostly&) = delete;

    std::shared_ptr<const T> get() const {
        const int index = network_thread::index();
        if (index < 0) {
            std::lock_guard lock(mutex_);
            return current_;
        }
        Slot& slot = slots_[static_cast<std::size_t>(index)];
        std::lock_guard slot_lock(slot.mutex);
        if (!slot.handle) {
            std::shared_ptr<const T> shared;
            {
                std::lock_guard lock(mutex_);
                shared = current_;
            }
            const T* raw = shared.get();
            // A control block of this thread's own; its deleter lets go of the shared version.
            slot.handle = std::shared_ptr<const T>(raw, [keep = std::move(shared)](const T*) {});
        }
        return slot.handle;
    }

    void publish(std::shared_ptr<const T> value) {
        std::shared_ptr<const T> old;
        {
            std::lock_guard lock(mutex_);
            old = std::exchange(current_, std::move(value));
        }
        // After the swap: a reader that refreshes from here on reads the new version.
        for (Slot& slot : slots_) {
            std::shared_ptr<const T> dropped;
            std::lock_guard slot_lock(slot.mutex);
            dropped = std::move(slot.handle);
        }
    }

  private:
    struct alignas(64) Slot {
        std::mutex mutex;
        std::shared_ptr<const T> handle;  // empty until the thread reads, and after a publish
    };

    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
    mutable std::array<Slot, network_thread::kMaxThreads> slots_;
};

}  // namespace keybridge::daemon
