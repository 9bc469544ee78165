#include "daemon/desktop_notifier.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <systemd/sd-bus.h>

#include "daemon/log.h"

namespace keybridge::daemon {

namespace {
constexpr std::size_t kMaxQueued = 16;
constexpr const char* kService = "org.freedesktop.Notifications";
constexpr const char* kObject = "/org/freedesktop/Notifications";
// ActionInvoked(u id, s action_key): the person clicked a notification (maybe another
// program's: action_invoked checks the id).
int on_action_invoked(sd_bus_message* message, void* userdata, sd_bus_error*) {
    std::uint32_t id = 0;
    const char* action = nullptr;
    if (sd_bus_message_read(message, "us", &id, &action) < 0 || action == nullptr) return 0;
    static_cast<DesktopNotifier*>(userdata)->action_invoked(id, action);
    return 0;
}

}  // namespace

void DesktopNotifier::action_invoked(std::uint32_t id, std::string_view action) {
    if (sent_.count(id) != 0 && action == "default") open_page();
}

DesktopNotifier::DesktopNotifier(std::string launcher) : launcher_(std::move(launcher)) {}

DesktopNotifier::~DesktopNotifier() {
    stop();
}

void DesktopNotifier::start() {
    thread_ = std::thread([this] { run(); });
}

void DesktopNotifier::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void DesktopNotifier::notify(std::string summary, std::string body) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= kMaxQueued) return;
        queue_.emplace_back(std::move(summary), std::move(body));
    }
    changed_.notify_all();
}

std::string DesktopNotifier::escape_markup(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

void DesktopNotifier::open_page() {
    if (launcher_.empty()) return;
    std::string opener = "xdg-open";
    if (const char* browser = std::getenv("BROWSER"); browser != nullptr && *browser != 0) {
        opener = std::string(browser).substr(0, std::string(browser).find(':'));
    }
    std::vector<char*> argv{opener.data(), launcher_.data(), nullptr};
    pid_t pid = 0;
    if (::posix_spawnp(&pid, opener.c_str(), nullptr, nullptr, argv.data(), environ) == 0) {
        openers_.push_back(pid);
    } else {
        log::warn("desktop", "cannot run " + opener + " to open the approval page");
    }
}

void DesktopNotifier::run() {
    sd_bus* bus = nullptr;
    if (const int r = sd_bus_open_user(&bus); r < 0) {
        log::info("desktop", std::string("no session D-Bus (") + std::strerror(-r) +
                                 "): no desktop notifications");
        bus = nullptr;
    } else {
        sd_bus_match_signal(bus, nullptr, kService, kObject, kService, "ActionInvoked",
                            on_action_invoked, this);
    }
    bool warned = false;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        auto items = std::move(queue_);
        queue_.clear();
        lock.unlock();
        for (auto& [summary, body] : items) {
            if (bus == nullptr) continue;
            sd_bus_error error = SD_BUS_ERROR_NULL;
            sd_bus_message* reply = nullptr;
            const std::string text = escape_markup(body);
            // The default action (a click on the notification) opens the page.
            const int r =
                launcher_.empty()
                    ? sd_bus_call_method(bus, kService, kObject, kService, "Notify", &error, &reply,
                                         "susssasa{sv}i", "keybridge", std::uint32_t{0},
                                         "dialog-password", summary.c_str(), text.c_str(), 0, 0,
                                         std::int32_t{-1})
                    : sd_bus_call_method(bus, kService, kObject, kService, "Notify", &error, &reply,
                                         "susssasa{sv}i", "keybridge", std::uint32_t{0},
                                         "dialog-password", summary.c_str(), text.c_str(), 2,
                                         "default", "Open the approval page", 0, std::int32_t{-1});
            if (r < 0) {
                if (!warned) {
                    log::info("desktop", std::string("no desktop notification service: ") +
                                             (error.message ? error.message : std::strerror(-r)));
                }
                warned = true;
            } else {
                std::uint32_t id = 0;
                if (sd_bus_message_read(reply, "u", &id) >= 0) sent_.insert(id);
            }
            sd_bus_error_free(&error);
            sd_bus_message_unref(reply);
        }
        for (auto it = openers_.begin(); it != openers_.end();) {
            int status = 0;
            it = ::waitpid(*it, &status, WNOHANG) == 0 ? it + 1 : openers_.erase(it);
        }
        if (bus != nullptr) {
            // Signals (a click) and the next queued notification, whichever comes first.
            while (sd_bus_process(bus, nullptr) > 0) {
            }
            sd_bus_wait(bus, 200'000);
            lock.lock();
        } else {
            lock.lock();
            changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        }
    }
    lock.unlock();
    if (bus != nullptr) sd_bus_flush_close_unref(bus);
}

}  // namespace keybridge::daemon
