#include "daemon/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/log.h"

namespace keybridge::daemon {

void notify_service_manager(std::string_view state) {
    const char* env = std::getenv("NOTIFY_SOCKET");
    if (env == nullptr || env[0] == '\0') return;
    const std::string_view name(env);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    // An abstract name has no terminating NUL, so its length is counted exactly; a path may
    // use the whole sun_path except a final NUL.
    if ((name.front() != '/' && name.front() != '@') || name.size() >= sizeof address.sun_path) {
        log::warn("server", "NOTIFY_SOCKET is not a socket path or abstract name: not notifying");
        return;
    }
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name.front() == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                               (name.front() == '/'));

    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log::warn("server",
                  std::string("cannot notify the service manager: ") + std::strerror(errno));
        return;
    }
    const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&address), length);
    if (sent != static_cast<ssize_t>(state.size())) {
        log::warn("server",
                  std::string("cannot notify the service manager: ") + std::strerror(errno));
    }
    ::close(fd);
}

}  // namespace keybridge::daemon
