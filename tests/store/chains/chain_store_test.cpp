#include "store/chains/chain_store.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace keybridge::chains {
namespace {

namespace fs = std::filesystem;

class ChainStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "keybridge_chains_XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string file() const { return dir_ + "/chains.json"; }
    void write(const std::string& text) const { std::ofstream(file()) << text; }
    ChainStore open() const {
        auto store = ChainStore::open(dir_);
        EXPECT_TRUE(store) << store.error().detail;
        return std::move(*store);
    }
    std::string dir_;
};

TEST_F(ChainStoreTest, KeepsChainsAcrossReopeningInAPrivateFile) {
    {
        ChainStore store = open();
        EXPECT_TRUE(store.all().empty());
        ASSERT_TRUE(store.put({31337, "Local devnet", "http://127.0.0.1:8545/", true}));
        ASSERT_TRUE(store.put({1, "Ethereum", "https://node.example/v3/KEY", false}));
    }
    struct stat st {};
    ASSERT_EQ(::stat(file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ChainStore again = open();
    auto all = again.all();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].chain_id, 1u);
    EXPECT_FALSE(all[0].added);
    EXPECT_EQ(all[0].rpc_url, "https://node.example/v3/KEY");
    EXPECT_EQ(all[1].name, "Local devnet");
    EXPECT_TRUE(all[1].added);
    auto removed = again.remove(31337);
    ASSERT_TRUE(removed);
    EXPECT_TRUE(*removed);
    EXPECT_FALSE(*again.remove(31337));
    EXPECT_FALSE(open().find(31337).has_value());
    EXPECT_TRUE(open().find(1).has_value());
}

TEST_F(ChainStoreTest, RefusesBadChainsAndChangesNothing) {
    ChainStore store = open();
    EXPECT_FALSE(store.put({0, "Zero", "http://127.0.0.1:1/", true}));
    EXPECT_FALSE(store.put({std::uint64_t{1} << 53, "Big", "http://127.0.0.1:1/", true}));
    EXPECT_FALSE(store.put({5, "", "http://127.0.0.1:1/", true}));
    EXPECT_FALSE(store.put({5, "bad\nname", "http://127.0.0.1:1/", true}));
    EXPECT_FALSE(store.put({5, std::string(65, 'x'), "http://127.0.0.1:1/", true}));
    EXPECT_FALSE(store.put({5, "Five", "ftp://127.0.0.1/", true}));
    EXPECT_FALSE(store.put({5, "Five", "javascript:alert(1)", true}));
    EXPECT_FALSE(store.put({5, "Five", "http:///path", true}));
    EXPECT_FALSE(store.put({5, "Five", "http://host /x", true}));
    EXPECT_TRUE(store.all().empty());
    EXPECT_FALSE(fs::exists(file()));
    // Markup in a name is only text: the page shows it as such.
    EXPECT_TRUE(store.put({5, "<b>Five</b> & co", "https://[::1]:8545/", true}));
}

TEST_F(ChainStoreTest, ADamagedFileIsNamed) {
    for (const char* text : {"nonsense", "{\"chains\":[]}",
                             "{\"chains\":{\"x\":{\"name\":\"a\",\"rpcUrl\":\"http://h/\","
                             "\"added\":true}}}",
                             "{\"chains\":{\"5\":{\"name\":\"a\",\"rpcUrl\":\"ftp://h/\","
                             "\"added\":true}}}",
                             "{\"chains\":{\"5\":{\"name\":\"a\",\"rpcUrl\":\"http://h/\"}}}"}) {
        write(text);
        auto store = ChainStore::open(dir_);
        ASSERT_FALSE(store) << text;
        EXPECT_NE(store.error().detail.find("chains.json"), std::string::npos);
    }
}

}  // namespace
}  // namespace keybridge::chains
