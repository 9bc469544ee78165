#include "store/pairing/pairing_store.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace keybridge::pairing {
namespace {

namespace fs = std::filesystem;

const std::string kId = "abcdefghijklmnopabcdefghijklmnop";

class PairingStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "keybridge_pairing_XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string file() const { return dir_ + "/pairings.json"; }
    std::string text() const {
        std::ifstream in(file());
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    PairingStore open() const {
        auto store = PairingStore::open(dir_);
        EXPECT_TRUE(store) << store.error().detail;
        return std::move(*store);
    }
    static Pairing pairing(const std::string& id, std::string_view secret) {
        Pairing p;
        p.extension_id = id;
        p.name = "keybridge";
        p.paired_at = 1700000000;
        p.secret_hash = core::sha256(core::as_bytes(secret));
        return p;
    }
    std::string dir_;
};

TEST_F(PairingStoreTest, StoresTheHashOfTheSecretDurablyAndPrivately) {
    PairingStore store = open();
    EXPECT_TRUE(store.all().empty());
    EXPECT_FALSE(fs::exists(file()));
    ASSERT_TRUE(store.add(pairing(kId, "the secret")));
    EXPECT_TRUE(store.verify(kId, core::as_bytes("the secret")));
    EXPECT_FALSE(store.verify(kId, core::as_bytes("the secreT")));
    EXPECT_FALSE(store.verify("otherid", core::as_bytes("the secret")));
    struct stat st {};
    ASSERT_EQ(::stat(file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(text().find("the secret"), std::string::npos);
    EXPECT_NE(text().find(core::hex_encode(core::sha256(core::as_bytes("the secret")))),
              std::string::npos);

    // Another process (the tool) reads the same.
    PairingStore reopened = open();
    ASSERT_EQ(reopened.all().size(), 1u);
    EXPECT_EQ(reopened.all()[0].extension_id, kId);
    EXPECT_EQ(reopened.all()[0].name, "keybridge");
    EXPECT_EQ(reopened.all()[0].paired_at, 1700000000);
    EXPECT_TRUE(reopened.verify(kId, core::as_bytes("the secret")));

    // A new pairing of the same id replaces the secret.
    ASSERT_TRUE(reopened.add(pairing(kId, "another")));
    EXPECT_FALSE(reopened.verify(kId, core::as_bytes("the secret")));
    EXPECT_TRUE(open().verify(kId, core::as_bytes("another")));
}

TEST_F(PairingStoreTest, RevokeRemovesAndSaysWhetherThereWasOne) {
    PairingStore store = open();
    ASSERT_TRUE(store.add(pairing(kId, "s")));
    ASSERT_TRUE(store.add(pairing("second", "t")));
    auto revoked = store.revoke(kId);
    ASSERT_TRUE(revoked);
    EXPECT_TRUE(*revoked);
    auto again = store.revoke(kId);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    PairingStore reopened = open();
    ASSERT_EQ(reopened.all().size(), 1u);
    EXPECT_EQ(reopened.all()[0].extension_id, "second");
    EXPECT_FALSE(reopened.verify(kId, core::as_bytes("s")));
}

TEST_F(PairingStoreTest, RefusesBadIdsAndDamagedFiles) {
    PairingStore store = open();
    EXPECT_FALSE(store.add(pairing("", "s")));
    EXPECT_FALSE(store.add(pairing("UPPER", "s")));
    EXPECT_FALSE(store.add(pairing("has/slash", "s")));
    EXPECT_FALSE(store.add(pairing(std::string(65, 'a'), "s")));
    EXPECT_TRUE(extension_id_valid("{uuid}") == false);
    EXPECT_TRUE(extension_id_valid("a-b_c.d"));
    for (std::string bad :
         {"not json", "[]", "{}", R"({"extensions":[]})",
          R"({"extensions":{"BAD":{"secretSha256":"00"}}})", R"({"extensions":{"abc":{}}})",
          R"({"extensions":{"abc":{"secretSha256":"0x1234"}}})"}) {
        std::ofstream(file()) << bad;
        auto opened = PairingStore::open(dir_);
        ASSERT_FALSE(opened) << bad;
        EXPECT_EQ(opened.error().code, core::ErrorCode::InvalidFormat) << bad;
        EXPECT_NE(opened.error().detail.find("pairings.json"), std::string::npos);
    }
}

}  // namespace
}  // namespace keybridge::pairing
