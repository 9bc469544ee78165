#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/result.h"

namespace keybridge::daemon {

// Tells when the vault on disk may have changed: the keybridge tool derived, imported, renamed or
// removed accounts, or a vault was created, restored or deleted while keybridged runs. Every
// change of the vault ends with the atomic rename of a new <datadir>/vault/CURRENT (see
// daemon/vault/vault.h), so an inotify watch on that folder sees each one as it happens; a
// watch on the data folder sees the vault folder itself appear or go. The events are read on
// the Asio loop (a posix::stream_descriptor, no thread of its own).
//
// on_change runs on the loop, possibly for events that changed nothing (the callee compares the
// snapshot's generation), and once after start() (a change just before the watches existed).
class VaultWatcher : public std::enable_shared_from_this<VaultWatcher> {
  public:
    VaultWatcher(boost::asio::any_io_executor executor, std::string datadir,
                 std::function<void()> on_change);

    // IoError when inotify is unavailable (e.g. fs.inotify.max_user_instances reached).
    [[nodiscard]] core::Status start();
    // Closes the descriptor; on_change is not called afterwards. Thread-safe.
    void stop();

  private:
    void watch_vault_folder();
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t bytes);

    boost::asio::posix::stream_descriptor fd_;
    std::string datadir_;
    std::function<void()> on_change_;
    int datadir_watch_ = -1;
    int vault_watch_ = -1;
    bool stopped_ = false;
    // Room for many events at once (each is a header plus the name, NAME_MAX at most).
    alignas(8) std::array<char, 16 * 1024> events_{};
};

}  // namespace keybridge::daemon
