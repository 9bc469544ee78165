#include "daemon/serial_queue.h"

#include <atomic>
#include <memory>

namespace keybridge::daemon {

void SerialQueue::run(const std::string& key, Job job) {
    {
        std::lock_guard lock(mutex_);
        auto& queue = queues_[key];
        queue.push_back(std::move(job));
        if (queue.size() > 1) return;  // the running job starts this one when it is done
    }
    start(key);
}

void SerialQueue::start(const std::string& key) {
    Job job;
    {
        std::lock_guard lock(mutex_);
        job = queues_.at(key).front();
    }
    // A second call of `done` would pop a job that has not run: ignore it.
    auto called = std::make_shared<std::atomic<bool>>(false);
    job([this, key, called] {
        if (called->exchange(true)) return;
        bool more = false;
        {
            std::lock_guard lock(mutex_);
            auto it = queues_.find(key);
            it->second.pop_front();
            more = !it->second.empty();
            if (!more) queues_.erase(it);
        }
        if (more) start(key);
    });
}

}  // namespace keybridge::daemon
