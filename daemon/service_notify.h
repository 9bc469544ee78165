#pragma once

#include <string_view>

namespace keybridge::daemon {

// Tells the service manager about the daemon's state ("READY=1", "STOPPING=1") when it was
// started with $NOTIFY_SOCKET set (a systemd unit with Type=notify); does nothing otherwise.
// The protocol is one datagram of text to that AF_UNIX socket (a path, or an abstract name
// written with a leading '@'). Written here rather than linked from libsystemd, whose library
// and its six dependencies cost ~1 MB of resident memory for these two calls. Failures are
// logged and otherwise ignored: the manager then times the start out, which says it clearly.
void notify_service_manager(std::string_view state);

}  // namespace keybridge::daemon
