#pragma once

// The files keybridged keeps in its data folder while it runs, named once for both programs:
// the daemon creates them, the keybridge tool finds the daemon through them.

#include <string>

#include "core/result.h"

namespace keybridge::datadir {

// The cookie token for scripts (RPC over TCP). Rewritten at every start.
inline std::string cookie_path(const std::string& datadir) {
    return datadir + "/.cookie";
}
// Held (flock, exclusive) by the running keybridged for its whole life.
inline std::string lock_path(const std::string& datadir) {
    return datadir + "/keybridged.lock";
}
// The control socket: the tool's channel and the only one that may approve (docs/RPC.md).
inline std::string control_socket_path(const std::string& datadir) {
    return datadir + "/keybridged.sock";
}

// The approval page's launcher: a small HTML file (mode 0600) holding the page secret, which
// `keybridge ui` hands to the browser so the secret never appears on a command line. Rewritten at
// every start, removed at exit.
inline std::string page_launcher_path(const std::string& datadir) {
    return datadir + "/approval-page.html";
}

// Whether a keybridged holds the data folder's lock right now. A cookie or socket left by a
// daemon that crashed stays on disk, but its lock does not: the kernel drops a flock with its
// holder. IoError when the lock file cannot be checked.
[[nodiscard]] core::Result<bool> daemon_running(const std::string& datadir);

}  // namespace keybridge::datadir
