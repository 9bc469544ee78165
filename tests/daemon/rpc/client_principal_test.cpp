#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "daemon/rpc/dispatcher.h"
#include "store/permissions/permission_store.h"

namespace keybridge::daemon::rpc {
namespace {

const core::Address kAccount = *core::Address::parse("0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");

Client page(std::string origin, std::string channel = {}) {
    Client c;
    c.origin = std::move(origin);
    c.channel = std::move(channel);
    return c;
}

TEST(ClientPrincipal, ScriptsShareTheLocalPrincipalAndPagesTheirOrigin) {
    Client script;
    script.token_authenticated = true;
    EXPECT_EQ(script.principal(), std::string(kLocalPrincipal));
    EXPECT_EQ(page("https://app.example").principal(), "https://app.example");
}

// The preparation of the browser issue's fix for "any local process can pose as a granted
// origin": a grant made through the paired extension is stored under a principal that a client
// presenting only the Origin header never has.
TEST(ClientPrincipal, GrantsMadeThroughTheExtensionAreNotUsableByTheBareOrigin) {
    std::string dir = ::testing::TempDir() + "keybridge_principal_XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    {
        auto store = permissions::PermissionStore::open(dir);
        ASSERT_TRUE(store) << store.error().detail;
        const Client via_extension = page("https://app.example", "extension:4f2a");
        const Client impostor = page("https://app.example");
        ASSERT_NE(via_extension.principal(), impostor.principal());
        ASSERT_TRUE(store->record_connect(via_extension.principal(), {kAccount}, {kAccount}));
        ASSERT_TRUE(store->select_chain(via_extension.principal(), 1));

        EXPECT_EQ(store->accounts(via_extension.principal()), std::vector{kAccount});
        EXPECT_TRUE(store->accounts(impostor.principal()).empty());
        EXPECT_FALSE(store->grant(impostor.principal()).has_value());
        EXPECT_FALSE(store->selected_chain(impostor.principal()).has_value());
        // Another extension (another pairing) does not share it either.
        EXPECT_TRUE(
            store->accounts(page("https://app.example", "extension:9c01").principal()).empty());
    }
    // And it stays theirs after a restart (the principal is the key in permissions.json).
    auto reopened = permissions::PermissionStore::open(dir);
    ASSERT_TRUE(reopened) << reopened.error().detail;
    EXPECT_EQ(reopened->accounts(page("https://app.example", "extension:4f2a").principal()),
              std::vector{kAccount});
    EXPECT_TRUE(reopened->accounts(page("https://app.example").principal()).empty());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keybridge::daemon::rpc
