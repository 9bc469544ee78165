#include "cli/daemon_client.h"

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

TEST(DaemonAddress, AcceptsLoopbackHostAndPort) {
    auto a = parse_daemon_address("127.0.0.1:8645");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8645);
    EXPECT_EQ(a->authority(), "127.0.0.1:8645");
    auto v6 = parse_daemon_address("[::1]:9000");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->authority(), "[::1]:9000");
    auto name = parse_daemon_address("localhost:1");
    ASSERT_TRUE(name);
    EXPECT_EQ(name->authority(), "localhost:1");
    EXPECT_TRUE(parse_daemon_address("127.9.9.9:65535"));
}

TEST(DaemonAddress, RejectsOtherHostsAndBadPorts) {
    for (const char* bad : {"192.0.2.1:8645", "example.com:8645", "127.0.0.1", "127.0.0.1:",
                            "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80a",
                            "[::1]8645", "[::1:8645", "[2001:db8::1]:8645", ":8645", ""}) {
        auto r = parse_daemon_address(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, core::ErrorCode::InvalidArgument);
        EXPECT_NE(r.error().detail.find("--daemon"), std::string::npos);
    }
}

TEST(ErrorFromRpc, MapsCodesToExitRelevantErrors) {
    EXPECT_EQ(error_from_rpc({4001, "User rejected the request."}).code,
              core::ErrorCode::UserCancelled);
    EXPECT_EQ(error_from_rpc({-32602, "bad"}).code, core::ErrorCode::InvalidArgument);
    EXPECT_EQ(error_from_rpc({-32601, "no"}).code, core::ErrorCode::NotSupported);
    EXPECT_EQ(error_from_rpc({4200, "no"}).code, core::ErrorCode::NotSupported);
    EXPECT_EQ(error_from_rpc({4900, "bye"}).code, core::ErrorCode::Disconnected);
    const auto e = error_from_rpc({4100, "the vault is locked"});
    EXPECT_EQ(e.code, core::ErrorCode::ProtocolError);
    EXPECT_EQ(e.detail, "keybridged: the vault is locked (error 4100)");
    EXPECT_EQ(error_from_rpc({1, "a\x1b[2Jb"}).detail, "keybridged: a\\x1b[2Jb (error 1)");
}

}  // namespace
}  // namespace keybridge::cli
