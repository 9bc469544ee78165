#include "daemon/desktop_notifier.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

namespace keybridge::daemon {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A private session bus (dbus-daemon) for the test, ended with it.
class PrivateBus {
  public:
    PrivateBus() {
        FILE* out = ::popen("dbus-daemon --session --fork --print-address=1 --print-pid=1", "r");
        if (out == nullptr) return;
        char line[512] = {};
        if (std::fgets(line, sizeof line, out) != nullptr) address_ = line;
        if (std::fgets(line, sizeof line, out) != nullptr) pid_ = std::atoi(line);
        ::pclose(out);
        while (!address_.empty() && (address_.back() == '\n' || address_.back() == ' '))
            address_.pop_back();
    }
    ~PrivateBus() {
        if (pid_ > 0) ::kill(pid_, SIGTERM);
    }
    const std::string& address() const { return address_; }

  private:
    std::string address_;
    pid_t pid_ = 0;
};

// org.freedesktop.Notifications as a desktop serves it: answers Notify with an id and records
// what it was asked; can emit ActionInvoked as if the person clicked.
class FakeNotificationService {
  public:
    struct Shown {
        std::string app, summary, body;
        std::vector<std::string> actions;
    };

    explicit FakeNotificationService(const std::string& address) {
        std::promise<bool> ready;
        auto started = ready.get_future();
        thread_ = std::thread([this, address, ready = std::move(ready)]() mutable {
            sd_bus* bus = nullptr;
            bool ok =
                sd_bus_new(&bus) >= 0 && sd_bus_set_address(bus, address.c_str()) >= 0 &&
                sd_bus_set_bus_client(bus, 1) >= 0 && sd_bus_start(bus) >= 0 &&
                sd_bus_add_object_vtable(bus, nullptr, "/org/freedesktop/Notifications",
                                         "org.freedesktop.Notifications", kVtable, this) >= 0 &&
                sd_bus_request_name(bus, "org.freedesktop.Notifications", 0) >= 0;
            ready.set_value(ok);
            while (ok && !stop_) {
                while (sd_bus_process(bus, nullptr) > 0) {
                }
                if (click_.exchange(0) != 0) {
                    sd_bus_emit_signal(bus, "/org/freedesktop/Notifications",
                                       "org.freedesktop.Notifications", "ActionInvoked", "us",
                                       click_id_.load(), "default");
                    sd_bus_flush(bus);
                }
                sd_bus_wait(bus, 20'000);
            }
            sd_bus_flush_close_unref(bus);
        });
        started_ = started.get();
    }
    ~FakeNotificationService() {
        stop_ = true;
        thread_.join();
    }
    bool started() const { return started_; }

    std::vector<Shown> shown() {
        std::lock_guard lock(mutex_);
        return shown_;
    }
    // The person clicks notification `id` (ActionInvoked with the default action).
    void click(std::uint32_t id) {
        click_id_ = id;
        click_ = 1;
    }

    static constexpr std::uint32_t kFirstId = 41;

  private:
    static int on_notify(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<FakeNotificationService*>(userdata);
        const char *app = nullptr, *icon = nullptr, *summary = nullptr, *body = nullptr;
        std::uint32_t replaces = 0;
        char** actions = nullptr;
        if (sd_bus_message_read(m, "susss", &app, &replaces, &icon, &summary, &body) < 0 ||
            sd_bus_message_read_strv(m, &actions) < 0) {
            return -EINVAL;
        }
        Shown shown{app, summary, body, {}};
        for (char** a = actions; a != nullptr && *a != nullptr; ++a) {
            shown.actions.emplace_back(*a);
            std::free(*a);
        }
        std::free(actions);
        std::uint32_t id = 0;
        {
            std::lock_guard lock(self->mutex_);
            self->shown_.push_back(std::move(shown));
            id = kFirstId + static_cast<std::uint32_t>(self->shown_.size()) - 1;
        }
        return sd_bus_reply_method_return(m, "u", id);
    }

    static constexpr sd_bus_vtable kVtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Notify", "susssasa{sv}i", "u", on_notify, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END};

    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int> click_{0};
    std::atomic<std::uint32_t> click_id_{0};
    bool started_ = false;
    std::mutex mutex_;
    std::vector<Shown> shown_;
};

template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

class DesktopNotifierTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("keybridge-notifier-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        // $BROWSER: records what it was asked to open.
        browser_ = (dir_ / "browser").string();
        opened_ = (dir_ / "opened").string();
        std::ofstream(browser_) << "#!/bin/sh\necho \"$1\" >> " << opened_ << "\n";
        fs::permissions(browser_, fs::perms::owner_all);
        saved_bus_ =
            std::getenv("DBUS_SESSION_BUS_ADDRESS") ? std::getenv("DBUS_SESSION_BUS_ADDRESS") : "";
        ::setenv("BROWSER", browser_.c_str(), 1);
    }
    void TearDown() override {
        ::unsetenv("BROWSER");
        if (saved_bus_.empty())
            ::unsetenv("DBUS_SESSION_BUS_ADDRESS");
        else
            ::setenv("DBUS_SESSION_BUS_ADDRESS", saved_bus_.c_str(), 1);
        fs::remove_all(dir_);
    }
    std::string opened() {
        std::ifstream in(opened_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    fs::path dir_;
    std::string browser_, opened_, saved_bus_;
};

TEST_F(DesktopNotifierTest, NotifiesOverTheSessionBusAndAClickOpensThePage) {
    PrivateBus bus;
    ASSERT_FALSE(bus.address().empty()) << "dbus-daemon did not start";
    ::setenv("DBUS_SESSION_BUS_ADDRESS", bus.address().c_str(), 1);
    FakeNotificationService service(bus.address());
    ASSERT_TRUE(service.started());

    DesktopNotifier notifier("/data/approval-page.html");
    notifier.start();
    notifier.notify("keybridge: a request waits for you", "https://a.example <b>asks</b> & more");
    ASSERT_TRUE(eventually([&] { return service.shown().size() == 1; }));
    const auto shown = service.shown().front();
    EXPECT_EQ(shown.app, "keybridge");
    EXPECT_EQ(shown.summary, "keybridge: a request waits for you");
    // Servers may read the body as markup: a page's text cannot format (or hide) anything.
    EXPECT_EQ(shown.body, "https://a.example &lt;b&gt;asks&lt;/b&gt; &amp; more");
    EXPECT_EQ(shown.actions, (std::vector<std::string>{"default", "Open the approval page"}));

    // A click on another program's notification opens nothing; on ours, the launcher.
    service.click(7);
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(opened(), "");
    service.click(FakeNotificationService::kFirstId);
    EXPECT_TRUE(eventually([&] { return opened() == "/data/approval-page.html\n"; })) << opened();
    notifier.stop();
}

TEST_F(DesktopNotifierTest, NoSessionBusIsNotAnError) {
    ::setenv("DBUS_SESSION_BUS_ADDRESS", ("unix:path=" + (dir_ / "no-bus").string()).c_str(), 1);
    DesktopNotifier notifier("/data/approval-page.html");
    notifier.start();
    notifier.notify("keybridge: a request waits for you", "nobody listens");
    std::this_thread::sleep_for(200ms);
    notifier.stop();  // returns: nothing waits on a bus that is not there
    EXPECT_EQ(opened(), "");
}

}  // namespace
}  // namespace keybridge::daemon
