#include "daemon/turn_end.h"

#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace keybridge::daemon::turn_end {
namespace {

TEST(TurnEnd, OnlyAThreadWithAScopeDefers) {
    EXPECT_FALSE(active());
    boost::asio::io_context ioc;
    {
        Scope scope(ioc);
        EXPECT_TRUE(active());
        std::thread([] { EXPECT_FALSE(active()) << "another thread has no scope"; }).join();
    }
    EXPECT_FALSE(active());
}

// What the handlers ready now defer runs after all of them, in the order it was deferred.
TEST(TurnEnd, DeferredWorkRunsAfterTheHandlersReadyNowInOrder) {
    boost::asio::io_context ioc;
    Scope scope(ioc);
    std::vector<std::string> order;
    for (int i = 0; i < 3; ++i) {
        boost::asio::post(ioc, [&order, i] {
            order.push_back("handler " + std::to_string(i));
            defer([&order, i] { order.push_back("deferred " + std::to_string(i)); });
        });
    }
    ioc.run();
    const std::vector<std::string> expected{"handler 0",  "handler 1",  "handler 2",
                                            "deferred 0", "deferred 1", "deferred 2"};
    EXPECT_EQ(order, expected);
}

// Work deferred by deferred work waits for the next turn: handlers queued meanwhile go first.
TEST(TurnEnd, WorkDeferredByDeferredWorkEndsTheNextTurn) {
    boost::asio::io_context ioc;
    Scope scope(ioc);
    std::vector<std::string> order;
    boost::asio::post(ioc, [&] {
        defer([&] {
            order.push_back("first turn");
            boost::asio::post(ioc, [&] { order.push_back("handler of the next turn"); });
            defer([&] { order.push_back("second turn"); });
        });
    });
    ioc.run();
    const std::vector<std::string> expected{"first turn", "handler of the next turn",
                                            "second turn"};
    EXPECT_EQ(order, expected);
}

// A loop stopped before its turn ended: the scope runs what was deferred, also what that defers.
TEST(TurnEnd, TheScopeRunsWhatAStoppedLoopLeft) {
    boost::asio::io_context ioc;
    std::vector<std::string> order;
    {
        Scope scope(ioc);
        boost::asio::post(ioc, [&] {
            defer([&] {
                order.push_back("left");
                defer([&] { order.push_back("deferred by it"); });
            });
            ioc.stop();
        });
        ioc.run();
        EXPECT_TRUE(order.empty());
    }
    const std::vector<std::string> expected{"left", "deferred by it"};
    EXPECT_EQ(order, expected);
    // The end of the turn still queued finds nothing when the loop runs again.
    ioc.restart();
    ioc.run();
    EXPECT_EQ(order, expected);
}

}  // namespace
}  // namespace keybridge::daemon::turn_end
