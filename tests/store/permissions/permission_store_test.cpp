#include "store/permissions/permission_store.h"

#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include <gtest/gtest.h>

namespace keybridge::permissions {
namespace {

namespace fs = std::filesystem;

const core::Address kA = *core::Address::parse("0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");
const core::Address kB = *core::Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");

class PermissionStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "keybridge_permissions_XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string file() const { return dir_ + "/permissions.json"; }
    void write(const std::string& text) const { std::ofstream(file()) << text; }
    PermissionStore open() const {
        auto store = PermissionStore::open(dir_);
        EXPECT_TRUE(store) << store.error().detail;
        return std::move(*store);
    }
    std::string open_error(const std::string& text) const {
        write(text);
        auto store = PermissionStore::open(dir_);
        EXPECT_FALSE(store) << text;
        if (store) return "";
        EXPECT_EQ(store.error().code, core::ErrorCode::InvalidFormat);
        return store.error().detail;
    }

    std::string dir_;
};

TEST_F(PermissionStoreTest, StartsEmptyWithoutAFile) {
    PermissionStore store = open();
    EXPECT_TRUE(store.all().empty());
    EXPECT_TRUE(store.accounts("https://app.example").empty());
    EXPECT_FALSE(store.grant("https://app.example"));
    EXPECT_FALSE(store.selected_chain("https://app.example"));
    EXPECT_FALSE(fs::exists(file()));  // nothing written until something changes
}

TEST_F(PermissionStoreTest, GrantsAndChainsPersistAcrossReload) {
    {
        PermissionStore store = open();
        ASSERT_TRUE(store.set_accounts("https://app.example", {kA, kB}));
        ASSERT_TRUE(store.set_accounts("local", {kB}));
        ASSERT_TRUE(store.select_chain("https://app.example", 10));
        ASSERT_TRUE(store.select_chain("https://chain-only.example", 31337));
        auto grant = store.grant("https://app.example");
        ASSERT_TRUE(grant);
        EXPECT_GT(grant->granted_at, 1600000000);
    }
    PermissionStore again = open();
    EXPECT_EQ(again.accounts("https://app.example"), (std::vector<core::Address>{kA, kB}));
    EXPECT_EQ(again.accounts("local"), (std::vector<core::Address>{kB}));
    EXPECT_EQ(again.selected_chain("https://app.example"), 10u);
    // An origin without a grant had its chain in memory only.
    EXPECT_FALSE(again.selected_chain("https://chain-only.example"));
    EXPECT_FALSE(again.grant("https://chain-only.example"));
    EXPECT_EQ(again.all().size(), 2u);
    const auto mode = fs::status(file()).permissions() & fs::perms::all;
    EXPECT_EQ(mode, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(PermissionStoreTest, RevokePersistsAndReportsWhetherThereWasAGrant) {
    {
        PermissionStore store = open();
        ASSERT_TRUE(store.set_accounts("https://app.example", {kA}));
        ASSERT_TRUE(store.select_chain("https://app.example", 5));
        auto revoked = store.revoke("https://app.example");
        ASSERT_TRUE(revoked);
        EXPECT_TRUE(*revoked);
        auto again = store.revoke("https://app.example");
        ASSERT_TRUE(again);
        EXPECT_FALSE(*again);
        EXPECT_TRUE(store.accounts("https://app.example").empty());
    }
    PermissionStore reloaded = open();
    EXPECT_TRUE(reloaded.accounts("https://app.example").empty());
    // Without its grant the origin's chain is no longer written (it stayed in memory).
    EXPECT_FALSE(reloaded.selected_chain("https://app.example"));
}

TEST_F(PermissionStoreTest, ChainSelectionSurvivesTheRevokeInMemory) {
    PermissionStore store = open();
    ASSERT_TRUE(store.set_accounts("https://app.example", {kA}));
    ASSERT_TRUE(store.select_chain("https://app.example", 5));
    ASSERT_TRUE(store.revoke("https://app.example"));
    EXPECT_EQ(store.selected_chain("https://app.example"), 5u);
    EXPECT_EQ(store.memory_chains(), 1u);
}

TEST_F(PermissionStoreTest, DamagedFileIsRefusedNamingIt) {
    const std::string cases[] = {
        "",
        "not json",
        "[]",
        "{}",
        R"({"origins": []})",
        R"({"origins": {"https://a.example": 5}})",
        R"({"origins": {"https://a.example": {"accounts": "0x00"}}})",
        R"({"origins": {"https://a.example": {"accounts": [1]}}})",
        R"({"origins": {"https://a.example": {"accounts": ["0x1234"]}}})",
        R"({"origins": {"https://a.example": {"chainId": "0x1"}}})",
        R"({"origins": {"https://a.example": {"chainId": 0}}})",
        R"({"origins": {"https://a.example": {"chainId": -5}}})",
        R"({"origins": {"https://a.example": {"accounts": [], "offered": "0x00"}}})",
        R"({"origins": {"https://a.example": {"accounts": [], "offered": [7]}}})",
    };
    for (const auto& text : cases) {
        const std::string detail = open_error(text);
        EXPECT_NE(detail.find(file()), std::string::npos) << text << " → " << detail;
        EXPECT_NE(detail.find("damaged"), std::string::npos) << text << " → " << detail;
    }
}

TEST_F(PermissionStoreTest, ReadsAHandWrittenFile) {
    write(
        R"({"version":1,"origins":{"https://a.example":{"accounts":)"
        R"(["0x73d0385f4d8e00c5e6504c6030f47bf6212736a8"],"grantedAt":1700000000,"chainId":137}}})");
    PermissionStore store = open();
    EXPECT_EQ(store.accounts("https://a.example"), (std::vector<core::Address>{kA}));
    EXPECT_EQ(store.grant("https://a.example")->granted_at, 1700000000);
    EXPECT_EQ(store.selected_chain("https://a.example"), 137u);
}

const core::Address kC = *core::Address::parse("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");

TEST_F(PermissionStoreTest, ConnectRecordsGrantedAndOfferedAccountsAcrossReload) {
    {
        PermissionStore store = open();
        // Offered A and B, granted only B.
        ASSERT_TRUE(store.record_connect("https://app.example", {kB}, {kA, kB}));
        // Asked again with C as well, declined: the grant stays, C counts as offered.
        ASSERT_TRUE(store.record_declined("https://app.example", {kA, kB, kC}));
        // Declining for an origin that never connected records nothing.
        ASSERT_TRUE(store.record_declined("https://never.example", {kA}));
        EXPECT_FALSE(store.grant("https://never.example"));
    }
    PermissionStore again = open();
    auto grant = again.grant("https://app.example");
    ASSERT_TRUE(grant);
    EXPECT_EQ(grant->accounts, (std::vector<core::Address>{kB}));
    EXPECT_EQ(grant->offered, (std::vector<core::Address>{kB, kA, kC}));
    EXPECT_EQ(again.all().size(), 1u);

    // A revocation forgets what was offered too: the next connect starts afresh.
    ASSERT_TRUE(again.revoke("https://app.example"));
    ASSERT_TRUE(again.record_connect("https://app.example", {kA}, {kA}));
    EXPECT_EQ(again.grant("https://app.example")->offered, (std::vector<core::Address>{kA}));
}

// Token clients were kept under "local-client" before the one name "local" was used everywhere.
TEST_F(PermissionStoreTest, ReadsTheOldLocalClientNameAsLocal) {
    write(R"({"version":1,"origins":{"local-client":{"accounts":)"
          R"(["0x73d0385f4d8e00c5e6504c6030f47bf6212736a8"],"chainId":10}}})");
    PermissionStore store = open();
    EXPECT_EQ(store.accounts("local"), (std::vector<core::Address>{kA}));
    EXPECT_EQ(store.selected_chain("local"), 10u);
    EXPECT_FALSE(store.grant("local-client"));
}

}  // namespace
}  // namespace keybridge::permissions

namespace keybridge::permissions {
namespace {

// Background jobs held until the test runs them, as the daemon's blocking thread would later.
struct ManualBackground {
    std::deque<std::function<void()>> jobs;
    std::vector<std::string> failures;

    PermissionStore::Background background() {
        PermissionStore::Background b;
        b.run = [this](std::function<void()> job) { jobs.push_back(std::move(job)); };
        b.failed = [this](const core::Error& e) { failures.push_back(e.detail); };
        return b;
    }
    // Runs jobs (and those they post) until none is left; how many ran.
    std::size_t run_all() {
        std::size_t ran = 0;
        while (!jobs.empty()) {
            auto job = std::move(jobs.front());
            jobs.pop_front();
            job();
            ++ran;
        }
        return ran;
    }
};

std::string origin_number(int i) {
    return "http://forged-" + std::to_string(i) + ".example";
}

TEST_F(PermissionStoreTest, ChainsOfOriginsWithoutAGrantNeverReachTheFile) {
    auto opened = PermissionStore::open(dir_, std::nullopt, 100);
    ASSERT_TRUE(opened);
    PermissionStore& store = *opened;
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(store.select_chain(origin_number(i), 31337));
    EXPECT_EQ(store.writes(), 0u);
    EXPECT_FALSE(fs::exists(file()));
    // Bounded: the 100 most recent stay, the older ones fall back to the default chain.
    EXPECT_EQ(store.memory_chains(), 100u);
    EXPECT_EQ(store.selected_chain(origin_number(999)), 31337u);
    EXPECT_EQ(store.selected_chain(origin_number(900)), 31337u);
    EXPECT_FALSE(store.selected_chain(origin_number(899)));
    EXPECT_FALSE(store.selected_chain(origin_number(0)));
}

TEST_F(PermissionStoreTest, AGrantTakesTheOriginsChainIntoTheFile) {
    {
        PermissionStore store = open();
        ASSERT_TRUE(store.select_chain("https://app.example", 10));
        EXPECT_FALSE(fs::exists(file()));
        ASSERT_TRUE(store.record_connect("https://app.example", {kA}, {kA}));
        EXPECT_EQ(store.memory_chains(), 0u);
        ASSERT_TRUE(store.select_chain("local", 137));  // token clients: persisted too
    }
    PermissionStore again = open();
    EXPECT_EQ(again.selected_chain("https://app.example"), 10u);
    EXPECT_EQ(again.selected_chain("local"), 137u);
}

TEST_F(PermissionStoreTest, SelectingTheSameChainAgainWritesNothing) {
    PermissionStore store = open();
    ASSERT_TRUE(store.set_accounts("https://app.example", {kA}));
    ASSERT_TRUE(store.select_chain("https://app.example", 10));
    const auto writes = store.writes();
    for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(store.select_chain("https://app.example", 10));
    EXPECT_EQ(store.writes(), writes);
}

// A file of an earlier version, with chains of origins that never had a grant: they are read
// into memory (bounded) and leave the file with the next write.
TEST_F(PermissionStoreTest, OldFilesChainsWithoutAGrantMoveToMemory) {
    std::string text = R"({"version":1,"origins":{"https://a.example":{"accounts":)"
                       R"(["0x73d0385f4d8e00c5e6504c6030f47bf6212736a8"],"chainId":137})";
    for (int i = 0; i < 50; ++i)
        text += ",\"" + origin_number(i) + "\":{\"chainId\":10}";
    write(text + "}}");
    {
        auto opened = PermissionStore::open(dir_, std::nullopt, 20);
        ASSERT_TRUE(opened);
        EXPECT_EQ(opened->memory_chains(), 20u);
        EXPECT_EQ(opened->selected_chain("https://a.example"), 137u);
        ASSERT_TRUE(opened->select_chain("https://a.example", 1));
    }
    PermissionStore again = open();
    EXPECT_EQ(again.memory_chains(), 0u);
    EXPECT_EQ(again.selected_chain("https://a.example"), 1u);
    EXPECT_LT(fs::file_size(file()), 200u);
}

TEST_F(PermissionStoreTest, BackgroundWritesCoalesce) {
    ManualBackground bg;
    auto opened = PermissionStore::open(dir_, bg.background());
    ASSERT_TRUE(opened);
    PermissionStore& store = *opened;
    ASSERT_TRUE(store.set_accounts("https://app.example", {kA}));
    EXPECT_FALSE(fs::exists(file()));  // nothing written on the caller's thread
    for (std::uint64_t chain = 1; chain <= 1000; ++chain)
        ASSERT_TRUE(store.select_chain("https://app.example", chain));
    EXPECT_EQ(bg.jobs.size(), 1u);  // one write asked for all of them
    EXPECT_EQ(bg.run_all(), 1u);
    EXPECT_EQ(store.writes(), 1u);
    auto reread = PermissionStore::open(dir_);
    ASSERT_TRUE(reread);
    EXPECT_EQ(reread->selected_chain("https://app.example"), 1000u);
    EXPECT_EQ(reread->accounts("https://app.example"), (std::vector<core::Address>{kA}));
}

TEST_F(PermissionStoreTest, ChangesDuringAWriteGoWithOneMoreWrite) {
    ManualBackground bg;
    auto opened = PermissionStore::open(dir_, bg.background());
    ASSERT_TRUE(opened);
    PermissionStore& store = *opened;
    ASSERT_TRUE(store.set_accounts("https://app.example", {kA}));
    ASSERT_EQ(bg.jobs.size(), 1u);
    // The write takes its snapshot, then more changes arrive before the next job runs.
    auto first = std::move(bg.jobs.front());
    bg.jobs.pop_front();
    first();
    ASSERT_TRUE(store.select_chain("https://app.example", 5));
    ASSERT_TRUE(store.select_chain("https://app.example", 6));
    EXPECT_EQ(bg.run_all(), 1u);
    EXPECT_EQ(store.writes(), 2u);
    auto reread = PermissionStore::open(dir_);
    ASSERT_TRUE(reread);
    EXPECT_EQ(reread->selected_chain("https://app.example"), 6u);
}

TEST_F(PermissionStoreTest, WhenSavedAnswersOnlyOnceTheChangeIsOnDisk) {
    {
        PermissionStore store = open();
        ASSERT_TRUE(store.set_accounts("https://app.example", {kA}));
    }
    ManualBackground bg;
    auto opened = PermissionStore::open(dir_, bg.background());
    ASSERT_TRUE(opened);
    PermissionStore& store = *opened;
    int answered = 0;
    store.when_saved([&](core::Status s) {  // nothing pending: at once
        EXPECT_TRUE(s);
        ++answered;
    });
    EXPECT_EQ(answered, 1);
    ASSERT_TRUE(store.revoke("https://app.example"));
    EXPECT_TRUE(store.accounts("https://app.example").empty());  // in effect at once
    store.when_saved([&](core::Status s) {
        EXPECT_TRUE(s);
        // The revocation is on disk when we hear it.
        auto reread = PermissionStore::open(dir_);
        ASSERT_TRUE(reread);
        EXPECT_FALSE(reread->grant("https://app.example"));
        ++answered;
    });
    EXPECT_EQ(answered, 1);
    bg.run_all();
    EXPECT_EQ(answered, 2);
}

TEST_F(PermissionStoreTest, AFailedWriteIsReportedAndRetriedWithTheNextWaiter) {
    ManualBackground bg;
    auto opened = PermissionStore::open(dir_, bg.background());
    ASSERT_TRUE(opened);
    PermissionStore& store = *opened;
    fs::create_directory(file());  // the rename over it fails
    ASSERT_TRUE(store.set_accounts("https://app.example", {kA}));
    std::optional<core::Status> heard;
    store.when_saved([&](core::Status s) { heard = s; });
    bg.run_all();
    ASSERT_TRUE(heard);
    EXPECT_FALSE(*heard);
    EXPECT_EQ(bg.failures.size(), 1u);
    EXPECT_TRUE(bg.jobs.empty());  // not retried in a loop

    fs::remove(file());
    heard.reset();
    store.when_saved([&](core::Status s) { heard = s; });
    bg.run_all();
    ASSERT_TRUE(heard);
    EXPECT_TRUE(*heard);
    auto reread = PermissionStore::open(dir_);
    ASSERT_TRUE(reread);
    EXPECT_EQ(reread->accounts("https://app.example"), (std::vector<core::Address>{kA}));
}

TEST_F(PermissionStoreTest, FlushWritesWhatTheBackgroundHasNotYet) {
    ManualBackground bg;
    {
        auto opened = PermissionStore::open(dir_, bg.background());
        ASSERT_TRUE(opened);
        ASSERT_TRUE(opened->set_accounts("https://app.example", {kA}));
        ASSERT_TRUE(opened->flush());
        EXPECT_EQ(opened->writes(), 1u);
        ASSERT_TRUE(opened->flush());  // nothing new: no write
        EXPECT_EQ(opened->writes(), 1u);
    }
    bg.jobs.clear();  // the daemon's background has stopped by then
    PermissionStore again = open();
    EXPECT_EQ(again.accounts("https://app.example"), (std::vector<core::Address>{kA}));
}

}  // namespace
}  // namespace keybridge::permissions
