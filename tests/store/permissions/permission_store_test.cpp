#include "store/permissions/permission_store.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

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
    EXPECT_EQ(again.selected_chain("https://chain-only.example"), 31337u);
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
    // The chain selection is not a permission: it survives the revoke.
    EXPECT_EQ(reloaded.selected_chain("https://app.example"), 5u);
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
