#pragma once

#include <string>

namespace keybridge::daemon {

// Something that can receive server-pushed JSON text (a WebSocket connection). Implementations
// accept calls from any thread and drop messages once closed.
class EventSink {
  public:
    virtual ~EventSink() = default;
    virtual void push(std::string text) = 0;
    // Closes with a WebSocket close code and reason (1001 "going away" at shutdown). Answers to
    // requests still being handled go out first, then `last_message` when given (the
    // keybridge_disconnect notification at shutdown), then the close frame.
    virtual void close(int code, std::string reason, std::string last_message = {}) = 0;
};

}  // namespace keybridge::daemon
