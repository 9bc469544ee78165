#include "cli/chain_client.h"

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

TEST(GapWalk, EndsAfterTwentyUnusedInARow) {
    GapWalk walk(20);
    EXPECT_TRUE(walk.record(false));  // 0
    EXPECT_TRUE(walk.record(true));   // 1: used, the count starts again
    int more = 0;
    while (walk.record(false))
        ++more;
    EXPECT_EQ(more, 19);  // the 20th unused one ends the walk
}

TEST(ChainClient, AcceptsHttpAndHttpsUrlsOnly) {
    auto plain = ChainClient::create("http://127.0.0.1:8545");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->host(), "127.0.0.1");
    auto tls = ChainClient::create("https://node.example/v3/KEY");
    ASSERT_TRUE(tls);
    EXPECT_EQ(tls->host(), "node.example");
    auto v6 = ChainClient::create("http://[::1]:8545/");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host(), "::1");
    for (const char* bad :
         {"ws://127.0.0.1:8545", "127.0.0.1:8545", "http://", "http:///x", "http://user@host/"}) {
        EXPECT_FALSE(ChainClient::create(bad)) << bad;
    }
}

TEST(ChainClient, AnUnreachableNodeIsAnIoErrorNamingTheHostOnly) {
    auto client = ChainClient::create("http://127.0.0.1:1/secret-api-key");
    ASSERT_TRUE(client);
    auto result = client->call("eth_chainId", {});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::ErrorCode::IoError);
    EXPECT_NE(result.error().detail.find("127.0.0.1:1"), std::string::npos);
    EXPECT_EQ(result.error().detail.find("secret-api-key"), std::string::npos);
}

}  // namespace
}  // namespace keybridge::cli
