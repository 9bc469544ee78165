#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace keybridge::daemon {

// Desktop notifications for new approval requests: org.freedesktop.Notifications.Notify over
// the user's session D-Bus (sd-bus), with a default action that opens the approval page (the
// launcher file, through $BROWSER or xdg-open) when the person clicks the notification.
//
// Everything runs on the notifier's own thread, never a network thread: notify() only queues.
// No session bus, or no notification service on it, is not an error: keybridged then runs as
// before (logged once at info level). Thread-safe.
class DesktopNotifier {
  public:
    // `launcher`: the approval page's launcher file (may be empty: no action offered).
    explicit DesktopNotifier(std::string launcher);
    ~DesktopNotifier();
    DesktopNotifier(const DesktopNotifier&) = delete;
    DesktopNotifier& operator=(const DesktopNotifier&) = delete;

    void start();
    // Queues one notification (dropped when 16 are already queued). `summary` and `body` are
    // plain text; markup characters are escaped for servers that interpret them.
    void notify(std::string summary, std::string body);
    // Ends the thread (also done by the destructor).
    void stop();

    // Text for servers that read the body as their small markup language.
    static std::string escape_markup(std::string_view text);

  private:
    void run();
    void open_page();

    std::string launcher_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::pair<std::string, std::string>> queue_;
    bool stopping_ = false;
    // On the thread only: the ids the server gave our notifications, and openers to reap.
    std::set<std::uint32_t> sent_;
    std::vector<pid_t> openers_;

  public:
    // The service's ActionInvoked signal (on the notifier's thread): the default action of one
    // of our notifications opens the page.
    void action_invoked(std::uint32_t id, std::string_view action);
};

}  // namespace keybridge::daemon
