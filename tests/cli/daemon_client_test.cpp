#include "cli/daemon_client.h"

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

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
