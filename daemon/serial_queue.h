#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace keybridge::daemon {

// Runs asynchronous jobs one at a time per key, in the order they were given. A job receives a
// `done` callback and must call it exactly once, from any thread, when it has finished; the next
// job of the same key starts then. Jobs of different keys run independently. Thread-safe.
//
// eth_sendTransaction uses it per chain and account: the nonce is read from the node only after
// the previous transaction of that account was handed to the node, so two transactions approved
// back to back do not get the same nonce.
class SerialQueue {
  public:
    using Job = std::function<void(std::function<void()> done)>;

    void run(const std::string& key, Job job);

  private:
    void start(const std::string& key);

    std::mutex mutex_;
    std::map<std::string, std::deque<Job>> queues_;  // front = the running job
};

}  // namespace keybridge::daemon
