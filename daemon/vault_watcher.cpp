#include "daemon/vault_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "daemon/log.h"

namespace keybridge::daemon {

namespace {

constexpr std::string_view kVaultFolder = "vault";
constexpr std::string_view kCurrentFile = "CURRENT";

}  // namespace

VaultWatcher::VaultWatcher(boost::asio::any_io_executor executor, std::string datadir,
                           std::function<void()> on_change)
    : fd_(std::move(executor)), datadir_(std::move(datadir)), on_change_(std::move(on_change)) {}

// Why inotify rather than reading CURRENT on every account call: eth_accounts is among the most
// frequent calls (pages poll it) and a file read per call would cost more than the call itself;
// a lazy check would also only notice a removal when someone asks, while accountsChanged must
// reach the subscribers when the account goes.
core::Status VaultWatcher::start() {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        return core::fail(core::ErrorCode::IoError,
                          std::string("cannot watch the vault for changes (inotify_init1): ") +
                              std::strerror(errno));
    }
    boost::system::error_code ec;
    fd_.assign(fd, ec);
    if (ec) {
        ::close(fd);
        return core::fail(core::ErrorCode::IoError,
                          "cannot watch the vault for changes: " + ec.message());
    }
    // The data folder: the vault folder appearing (keybridge init) or being replaced.
    datadir_watch_ = ::inotify_add_watch(
        fd, datadir_.c_str(), IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
    if (datadir_watch_ < 0) {
        const int error = errno;
        fd_.close(ec);
        return core::fail(core::ErrorCode::IoError,
                          "cannot watch " + datadir_ + ": " + std::strerror(error));
    }
    watch_vault_folder();
    boost::asio::dispatch(fd_.get_executor(), [self = shared_from_this()] {
        if (self->stopped_) return;
        self->on_change_();  // whatever happened before the watches existed
        self->do_read();
    });
    return {};
}

void VaultWatcher::stop() {
    boost::asio::post(fd_.get_executor(), [self = shared_from_this()] {
        self->stopped_ = true;
        boost::system::error_code ignored;
        self->fd_.close(ignored);  // also removes the watches
    });
}

// CURRENT is replaced by rename (IN_MOVED_TO), written first by Vault::create the same way.
void VaultWatcher::watch_vault_folder() {
    const std::string folder = datadir_ + "/" + std::string(kVaultFolder);
    vault_watch_ =
        ::inotify_add_watch(fd_.native_handle(), folder.c_str(),
                            IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
    // ENOENT: no vault yet; the data folder's watch says when it appears.
    if (vault_watch_ < 0 && errno != ENOENT) {
        log::warn("vault", "cannot watch " + folder + " for changes: " + std::strerror(errno));
    }
}

void VaultWatcher::do_read() {
    fd_.async_read_some(boost::asio::buffer(events_),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->on_read(ec, n);
                        });
}

void VaultWatcher::on_read(boost::system::error_code ec, std::size_t bytes) {
    if (stopped_ || ec == boost::asio::error::operation_aborted) return;
    if (ec) {
        log::warn("vault", "watching the vault for changes stopped: " + ec.message() +
                               " (changes made with the tool show after the next unlock)");
        return;
    }
    bool changed = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= bytes;) {
        inotify_event event{};
        std::memcpy(&event, events_.data() + at, sizeof(event));
        const char* name_start = events_.data() + at + sizeof(inotify_event);
        const std::string_view name(name_start, ::strnlen(name_start, event.len));
        at += sizeof(inotify_event) + event.len;
        if ((event.mask & IN_Q_OVERFLOW) != 0) {
            changed = true;  // events were lost: look anyway
        } else if (event.wd == datadir_watch_ && name == kVaultFolder) {
            // The vault folder appeared, went or was replaced: watch the one there now.
            if (vault_watch_ >= 0) ::inotify_rm_watch(fd_.native_handle(), vault_watch_);
            vault_watch_ = -1;
            if ((event.mask & (IN_CREATE | IN_MOVED_TO)) != 0) watch_vault_folder();
            changed = true;
        } else if (event.wd == vault_watch_) {
            if ((event.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) {
                // A moved folder keeps its watch: drop it (deleted ones lose it by themselves).
                if ((event.mask & IN_MOVE_SELF) != 0)
                    ::inotify_rm_watch(fd_.native_handle(), vault_watch_);
                vault_watch_ = -1;
                changed = true;
            } else if (name == kCurrentFile) {
                changed = true;
            }
        }
    }
    if (changed) on_change_();
    do_read();
}

}  // namespace keybridge::daemon
