#include "store/datadir/daemon_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace keybridge::datadir {

core::Result<bool> daemon_running(const std::string& datadir) {
    const std::string path = lock_path(datadir);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return false;  // never started with this folder
        return core::fail(core::ErrorCode::IoError,
                          "cannot open " + path + ": " + std::strerror(errno));
    }
    // A shared lock is refused while the daemon holds its exclusive one; taken, it is dropped
    // at once (close) so that a daemon starting right now is not kept out.
    const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
    const int error = errno;
    ::close(fd);
    if (free) return false;
    if (error == EWOULDBLOCK) return true;
    return core::fail(core::ErrorCode::IoError,
                      "cannot check " + path + ": " + std::strerror(error));
}

}  // namespace keybridge::datadir
