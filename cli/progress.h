#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace keybridge::cli {

// A spinner on the controlling terminal while a slow step (scrypt) runs on the calling thread:
// "⠋ deriving the key from your password…". It appears only once the step has taken
// kProgressDelay, so quick steps (--light-kdf) print nothing, and it erases its line when the
// object goes away. Disabled (no thread, no output) when `enabled` is false (--json) or there
// is no terminal; stdout and stderr are never written, so output stays clean for scripts.
class Progress {
  public:
    Progress(bool enabled, std::string text);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

  private:
    void spin();

    std::string text_;
    int fd_ = -1;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::thread thread_;
};

inline constexpr const char* kDerivingKey = "deriving the key from your password";

}  // namespace keybridge::cli
