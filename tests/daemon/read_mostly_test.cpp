#include "daemon/read_mostly.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace keybridge::daemon {
namespace {

struct Version {
    int number;
};

std::shared_ptr<const Version> version(int number) {
    return std::make_shared<const Version>(Version{number});
}

TEST(NetworkThread, OnlyANumberedThreadHasAnIndex) {
    EXPECT_EQ(network_thread::index(), -1);
    {
        network_thread::Scope numbered(3);
        EXPECT_EQ(network_thread::index(), 3);
        std::thread([] { EXPECT_EQ(network_thread::index(), -1); }).join();
        {
            network_thread::Scope beyond(network_thread::kMaxThreads);
            EXPECT_EQ(network_thread::index(), -1) << "past the slots: the shared path";
        }
        EXPECT_EQ(network_thread::index(), 3);
    }
    EXPECT_EQ(network_thread::index(), -1);
}

TEST(ReadMostly, AnyThreadReadsWhatWasPublishedLast) {
    ReadMostly<Version> value(version(1));
    EXPECT_EQ(value.get()->number, 1);
    value.publish(version(2));
    EXPECT_EQ(value.get()->number, 2);
    network_thread::Scope numbered(0);
    EXPECT_EQ(value.get()->number, 2);
    value.publish(version(3));
    EXPECT_EQ(value.get()->number, 3) << "a publish replaces the thread's own handle";
}

// The point of the class: a network thread's copies count on a control block of its own, so
// however many it takes, the published version's count moves by one (the handle's hold on it).
TEST(ReadMostly, ANetworkThreadsCopiesDoNotTouchTheSharedCount) {
    const auto published = version(7);
    ReadMostly<Version> value(published);
    const long before = published.use_count();
    std::vector<std::shared_ptr<const Version>> copies;
    std::thread([&] {
        network_thread::Scope numbered(1);
        for (int i = 0; i < 100; ++i)
            copies.push_back(value.get());
    }).join();
    EXPECT_EQ(published.use_count(), before + 1);
    EXPECT_EQ(copies.back().get(), published.get());
    EXPECT_GE(copies.back().use_count(), 100);

    // Off the network threads it is the shared pointer itself.
    const auto shared = value.get();
    EXPECT_EQ(published.use_count(), before + 2);
}

// publish() leaves no thread's handle on the old version: it lives only as long as the copies
// readers took (a detached device is released when the requests using it are done).
TEST(ReadMostly, AnOldVersionLivesOnlyInTheCopiesReadersKept) {
    std::weak_ptr<const Version> old;
    ReadMostly<Version> value([&] {
        auto first = version(1);
        old = first;
        return first;
    }());
    std::shared_ptr<const Version> kept;
    std::thread([&] {
        network_thread::Scope numbered(0);
        kept = value.get();
        (void)value.get();
    }).join();
    value.publish(version(2));
    EXPECT_FALSE(old.expired()) << "a reader still holds a copy";
    kept.reset();
    EXPECT_TRUE(old.expired()) << "no slot kept the old version alive";
}

// Readers on two network threads while a writer publishes: each sees versions in order and
// never a freed one (the sanitizer builds check the latter).
TEST(ReadMostly, ReadersFollowAWriterWithoutGoingBack) {
    ReadMostly<Version> value(version(0));
    constexpr int kVersions = 2000;
    std::atomic<bool> done{false};
    std::vector<std::thread> readers;
    std::atomic<int> went_back{0};
    for (int index = 0; index < 2; ++index) {
        readers.emplace_back([&, index] {
            network_thread::Scope numbered(index);
            int last = 0;
            while (!done.load()) {
                const int seen = value.get()->number;
                if (seen < last) went_back.fetch_add(1);
                last = seen;
            }
            EXPECT_EQ(value.get()->number, kVersions);
        });
    }
    for (int i = 1; i <= kVersions; ++i)
        value.publish(version(i));
    done.store(true);
    for (auto& reader : readers)
        reader.join();
    EXPECT_EQ(went_back.load(), 0);
}

}  // namespace
}  // namespace keybridge::daemon
