#include "daemon/thread_scheduling.h"

#include <sched.h>

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::daemon {
namespace {

using Governor = SchedulingGovernor;

// A governor whose switches are recorded instead of made.
struct Recorded {
    std::vector<NetworkScheduling> switches;
    bool refuse = false;
    Governor governor{[this](NetworkScheduling policy) -> core::Status {
        if (refuse) return core::fail(core::ErrorCode::IoError, "refused by the test");
        switches.push_back(policy);
        return {};
    }};

    // One window of requests, `pipelined` of them with another behind.
    void window(unsigned pipelined) {
        for (unsigned i = 0; i < Governor::kWindow; ++i)
            governor.note_request(i < pipelined);
    }
};

TEST(SchedulingGovernor, StartsNormalAndTurnsBatchWhenAWindowIsPipelined) {
    Recorded r;
    EXPECT_EQ(r.governor.current(), NetworkScheduling::Normal);
    r.window(Governor::kEnterBatch - 1);
    EXPECT_TRUE(r.switches.empty());
    // Mid-window nothing is decided.
    for (unsigned i = 0; i + 1 < Governor::kWindow; ++i)
        r.governor.note_request(true);
    EXPECT_TRUE(r.switches.empty());
    r.governor.note_request(true);
    EXPECT_EQ(r.switches, (std::vector{NetworkScheduling::Batch}));
    EXPECT_EQ(r.governor.current(), NetworkScheduling::Batch);
}

TEST(SchedulingGovernor, LeavesBatchOnlyAfterSeveralQuietWindowsInARow) {
    Recorded r;
    r.window(Governor::kWindow / 2);
    ASSERT_EQ(r.governor.current(), NetworkScheduling::Batch);
    // Quiet windows interrupted by a pipelined one start counting again.
    for (unsigned i = 0; i + 1 < Governor::kLeaveAfter; ++i)
        r.window(Governor::kLeaveBatch);
    r.window(Governor::kLeaveBatch + 1);
    for (unsigned i = 0; i + 1 < Governor::kLeaveAfter; ++i)
        r.window(0);
    EXPECT_EQ(r.governor.current(), NetworkScheduling::Batch);
    r.window(0);
    EXPECT_EQ(r.governor.current(), NetworkScheduling::Normal);
    EXPECT_EQ(r.switches, (std::vector{NetworkScheduling::Batch, NetworkScheduling::Normal}));
}

TEST(SchedulingGovernor, AQuietThreadTriesBatchForOneWindowNowAndThen) {
    Recorded r;
    for (unsigned i = 0; i + 1 < Governor::kExploreAfter; ++i)
        r.window(0);
    EXPECT_TRUE(r.switches.empty());
    r.window(0);  // the kExploreAfter-th quiet window: try batch
    ASSERT_EQ(r.switches, (std::vector{NetworkScheduling::Batch}));
    r.window(Governor::kLeaveBatch);  // nothing came of it: back at once
    EXPECT_EQ(r.switches, (std::vector{NetworkScheduling::Batch, NetworkScheduling::Normal}));

    // Exploring again, and this time the reads fill up: batch stays.
    for (unsigned i = 0; i < Governor::kExploreAfter; ++i)
        r.window(0);
    ASSERT_EQ(r.governor.current(), NetworkScheduling::Batch);
    r.window(Governor::kLeaveBatch + 1);
    r.window(0);
    EXPECT_EQ(r.governor.current(), NetworkScheduling::Batch);
}

TEST(SchedulingGovernor, APipelinedWindowResetsTheWayToExploring) {
    Recorded r;
    for (unsigned i = 0; i + 1 < Governor::kExploreAfter; ++i)
        r.window(0);
    r.window(1);  // some pipelining, below kEnterBatch: not quiet
    for (unsigned i = 0; i + 1 < Governor::kExploreAfter; ++i)
        r.window(0);
    EXPECT_TRUE(r.switches.empty());
}

TEST(SchedulingGovernor, ARefusedSwitchEndsTheAdapting) {
    Recorded r;
    r.refuse = true;
    r.window(Governor::kWindow);
    EXPECT_EQ(r.governor.current(), NetworkScheduling::Normal);
    r.refuse = false;
    r.window(Governor::kWindow);
    EXPECT_TRUE(r.switches.empty()) << "a governor that was refused once stays put";
}

TEST(SchedulingGovernor, ReportsReachOnlyTheGovernorOfTheCallingThread) {
    Recorded r;
    {
        network_scheduling::Scope scope(r.governor);
        std::thread([] {
            for (unsigned i = 0; i < 4 * Governor::kWindow; ++i)
                network_scheduling::note_request(true);
        }).join();
        EXPECT_TRUE(r.switches.empty());
        for (unsigned i = 0; i < Governor::kWindow; ++i)
            network_scheduling::note_request(true);
        EXPECT_EQ(r.switches, (std::vector{NetworkScheduling::Batch}));
    }
    for (unsigned i = 0; i < 8 * Governor::kWindow; ++i)
        network_scheduling::note_request(false);  // no scope: nobody listens
    EXPECT_EQ(r.governor.current(), NetworkScheduling::Batch);
}

// The real switch, on a thread of its own: SCHED_BATCH and back need no privilege.
TEST(SchedulingGovernor, TheKernelPolicyFollowsTheGovernor) {
    std::thread([] {
        Governor governor;
        for (unsigned i = 0; i < Governor::kWindow; ++i)
            governor.note_request(true);
        EXPECT_EQ(::sched_getscheduler(0), SCHED_BATCH);
        for (unsigned i = 0; i < Governor::kLeaveAfter * Governor::kWindow; ++i)
            governor.note_request(false);
        EXPECT_EQ(::sched_getscheduler(0), SCHED_OTHER);
        EXPECT_FALSE(schedule_this_thread(NetworkScheduling::Adaptive))
            << "adaptive is not a kernel policy";
    }).join();
}

}  // namespace
}  // namespace keybridge::daemon
