#include "daemon/signers/signer_lane.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/signers/signer_registry.h"
#include "tests/drivers/test_device_signer.h"

namespace keybridge::daemon::signers {
namespace {

using namespace std::chrono_literals;

TEST(InlineLane, RunsOnTheCallersThread) {
    InlineLane lane;
    std::thread::id ran_on;
    lane.run({}, [&](std::stop_token stop) {
        EXPECT_FALSE(stop.stop_requested());
        ran_on = std::this_thread::get_id();
    });
    EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(InlineLane, TheJobSeesItsCallersStopAndJobsAfterStopStartStopped) {
    InlineLane lane;
    std::stop_source client;
    bool saw_client_stop = false;
    lane.run(client.get_token(), [&](std::stop_token stop) {
        EXPECT_FALSE(stop.stop_requested());
        client.request_stop();  // the client leaves while its job runs
        saw_client_stop = stop.stop_requested();
    });
    EXPECT_TRUE(saw_client_stop);

    lane.stop();
    bool started_stopped = false;
    lane.run({}, [&](std::stop_token stop) { started_stopped = stop.stop_requested(); });
    EXPECT_TRUE(started_stopped);
    lane.stop();  // idempotent
    int calls = 0;
    lane.run({}, [&](std::stop_token stop) { calls += stop.stop_requested() ? 1 : 100; });
    EXPECT_EQ(calls, 1);
}

TEST(ThreadLane, RunsJobsOneAtATimeInOrderOffTheCallersThread) {
    ThreadLane lane("test");
    std::mutex mutex;
    std::vector<int> order;
    std::atomic<int> running{0};
    std::atomic<int> overlap{0};
    std::promise<void> all_done;
    for (int i = 0; i < 5; ++i) {
        lane.run({}, [&, i](std::stop_token) {
            if (running.fetch_add(1) != 0) overlap.fetch_add(1);
            EXPECT_NE(std::this_thread::get_id(), std::thread::id());
            std::this_thread::sleep_for(5ms);
            {
                std::lock_guard lock(mutex);
                order.push_back(i);
            }
            running.fetch_sub(1);
            if (i == 4) all_done.set_value();
        });
    }
    ASSERT_EQ(all_done.get_future().wait_for(5s), std::future_status::ready);
    EXPECT_EQ(overlap.load(), 0);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(ThreadLane, CallerTokenStopsTheRunningJobAndQueuedOnesStartStopped) {
    ThreadLane lane("test");
    std::stop_source client;
    std::promise<bool> first_saw_stop;
    std::promise<bool> second_started_stopped;
    std::promise<void> first_running;
    lane.run(client.get_token(), [&](std::stop_token stop) {
        first_running.set_value();
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        const bool woke = cv.wait_for(lock, stop, 5s, [] { return false; });
        first_saw_stop.set_value(!woke && stop.stop_requested());
    });
    lane.run(client.get_token(), [&](std::stop_token stop) {
        second_started_stopped.set_value(stop.stop_requested());
    });
    ASSERT_EQ(first_running.get_future().wait_for(5s), std::future_status::ready);
    EXPECT_EQ(lane.queued(), 1u);
    client.request_stop();
    EXPECT_TRUE(first_saw_stop.get_future().get());
    EXPECT_TRUE(second_started_stopped.get_future().get());
}

TEST(ThreadLane, StopAnswersEveryJobAndLaterJobsRunStopped) {
    auto lane = std::make_unique<ThreadLane>("test");
    std::promise<void> running;
    std::promise<bool> running_stopped;
    std::promise<bool> queued_stopped;
    lane->run({}, [&](std::stop_token stop) {
        running.set_value();
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait_for(lock, stop, 5s, [] { return false; });
        running_stopped.set_value(stop.stop_requested());
    });
    lane->run({}, [&](std::stop_token stop) { queued_stopped.set_value(stop.stop_requested()); });
    ASSERT_EQ(running.get_future().wait_for(5s), std::future_status::ready);
    lane->stop();
    EXPECT_TRUE(running_stopped.get_future().get());
    EXPECT_TRUE(queued_stopped.get_future().get());
    bool late_stopped = false;
    lane->run({}, [&](std::stop_token stop) { late_stopped = stop.stop_requested(); });
    EXPECT_TRUE(late_stopped);  // answered at once, on this thread
    lane.reset();               // joins
}

// ---- the spillover lane (the software signer's)

TEST(SpilloverLane, RunsInlineWhileTheCallerKeepsUp) {
    SpilloverLane lane("test", [] { return false; });
    std::thread::id ran_on;
    lane.run({}, [&](std::stop_token) { ran_on = std::this_thread::get_id(); });
    EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(SpilloverLane, RunsOnItsWorkerWhileTheCallerIsSaturatedUnlessAJobWaitsThere) {
    SpilloverLane lane("test", [] { return true; });
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<std::thread::id> first_on;
    lane.run({}, [&](std::stop_token) {
        first_on.set_value(std::this_thread::get_id());
        released.wait();
    });
    const std::thread::id worker = first_on.get_future().get();
    EXPECT_NE(worker, std::this_thread::get_id());
    // The worker is busy but nothing waits behind it: the next job queues there.
    std::promise<std::thread::id> second_on;
    lane.run({}, [&](std::stop_token) { second_on.set_value(std::this_thread::get_id()); });
    EXPECT_EQ(lane.queued(), 1u);
    // A job already waits on the worker: the saturated caller signs this one itself.
    std::thread::id third_on;
    lane.run({}, [&](std::stop_token) { third_on = std::this_thread::get_id(); });
    EXPECT_EQ(third_on, std::this_thread::get_id());
    release.set_value();
    EXPECT_EQ(second_on.get_future().get(), worker);
}

TEST(SpilloverLane, StopReachesInlineAndWorkerJobs) {
    bool saturated = true;
    SpilloverLane lane("test", [&] { return saturated; });
    lane.stop();
    std::promise<bool> worker_stopped;
    lane.run({}, [&](std::stop_token stop) { worker_stopped.set_value(stop.stop_requested()); });
    EXPECT_TRUE(worker_stopped.get_future().get());
    saturated = false;
    bool inline_stopped = false;
    lane.run({}, [&](std::stop_token stop) { inline_stopped = stop.stop_requested(); });
    EXPECT_TRUE(inline_stopped);
}

TEST(SpilloverLane, AThreadThatWaitsBetweenCallsIsNotSaturated) {
    // Each call after a sleep (a voluntary context switch, as a network thread blocked in
    // epoll_wait between requests): never saturated.
    for (int i = 0; i < 8; ++i) {
        std::this_thread::sleep_for(1ms);
        EXPECT_FALSE(SpilloverLane::calling_thread_saturated()) << "call " << i;
    }
}

TEST(SpilloverLane, AThreadCalledBackToBackWithoutWaitingIsSaturated) {
    // Calls with no blocking in between for longer than the 1 ms window: saturated once a
    // window has been measured (a fresh thread, so the first window is this one's).
    std::thread([] {
        const auto until = std::chrono::steady_clock::now() + 20ms;
        bool saturated = false;
        while (std::chrono::steady_clock::now() < until && !saturated)
            saturated = SpilloverLane::calling_thread_saturated();
        EXPECT_TRUE(saturated);
    }).join();
}

// ---- the registry

constexpr std::string_view kMnemonic =
    "test test test test test test test test test test test junk";

TEST(SignerRegistry, RoutesSoftwareAndHardwareAccountsAndSaysWhatToConnect) {
    auto software = std::make_shared<drivers::software::SoftwareSigner>();
    SignerRegistry registry(software);
    auto device = std::make_shared<test::TestDeviceSigner>("ledger:0001", kMnemonic,
                                                           "m/44'/60'/1'/0/0", true);
    const core::Address soft_address =
        *core::Address::parse("0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");
    registry.set_accounts({{{soft_address, "m/44'/60'/0'/0/0"}, "software"},
                           {{device->address(), device->path()}, "ledger:0001"}});
    EXPECT_EQ(registry.accounts(), (std::vector<core::Address>{soft_address, device->address()}));

    // The software keystore is there but locked.
    auto locked = registry.check(soft_address);
    ASSERT_FALSE(locked);
    EXPECT_EQ(locked.error().code, core::ErrorCode::VaultLocked);
    EXPECT_TRUE(registry.route(soft_address));  // routed, just not ready

    // The Ledger is not plugged in: the message says what to do.
    auto absent = registry.check(device->address());
    ASSERT_FALSE(absent);
    EXPECT_EQ(absent.error().code, core::ErrorCode::DeviceNotFound);
    EXPECT_NE(absent.error().detail.find("connect your Ledger (ledger:0001)"), std::string::npos)
        << absent.error().detail;
    EXPECT_NE(absent.error().detail.find("Ethereum app"), std::string::npos);

    registry.attach(device);
    auto route = registry.check(device->address());
    ASSERT_TRUE(route) << route.error().detail;
    EXPECT_EQ(route->signer.get(), device.get());
    EXPECT_EQ(route->key.path, "m/44'/60'/1'/0/0");
    EXPECT_NE(dynamic_cast<ThreadLane*>(route->lane.get()), nullptr);  // a device blocks

    // Unplugged while a job waits on its lane: the job is stopped.
    std::promise<bool> stopped;
    std::promise<void> waiting;
    route->lane->run({}, [&](std::stop_token stop) {
        waiting.set_value();
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait_for(lock, stop, 5s, [] { return false; });
        stopped.set_value(stop.stop_requested());
    });
    ASSERT_EQ(waiting.get_future().wait_for(5s), std::future_status::ready);
    registry.detach("ledger:0001");
    EXPECT_TRUE(stopped.get_future().get());
    EXPECT_FALSE(registry.attached("ledger:0001"));
    EXPECT_EQ(registry.check(device->address()).error().code, core::ErrorCode::DeviceNotFound);

    auto stranger =
        registry.check(*core::Address::parse("0x0000000000000000000000000000000000000001"));
    EXPECT_EQ(stranger.error().code, core::ErrorCode::NotFound);
    // The software keystore cannot be detached.
    registry.detach("software");
    EXPECT_TRUE(registry.attached("software"));
}

}  // namespace
}  // namespace keybridge::daemon::signers
