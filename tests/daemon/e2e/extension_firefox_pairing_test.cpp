// Firefox's extensions pair like Chromium's (issue 14, "Firefox where MV3 allows"): a Firefox
// extension's WebSocket carries the Origin moz-extension://UUID, where UUID is the extension's
// per-profile id. keybridged pairs it by the user's approval and records the UUID; the pages it
// relays keep their grants under "ORIGIN via moz-extension://UUID". Anything after
// moz-extension:// that is not such a UUID is no Firefox extension and cannot pair.
#include <future>

#include <gtest/gtest.h>

#include "daemon/extension/extension_relay.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using FirefoxExtensionPairing = DaemonTest;

constexpr const char* kUuid = "3f2a9c4e-8b1d-4e6f-a0c2-5d7e9b1f3a6c";
constexpr const char* kFirefoxOrigin = "moz-extension://3f2a9c4e-8b1d-4e6f-a0c2-5d7e9b1f3a6c";
constexpr const char* kSite = "https://dapp.example";

TEST(FirefoxExtensionId, OnlyAFirefoxUuidIsAFirefoxExtensionId) {
    using daemon::extension::firefox_extension_id_valid;
    EXPECT_TRUE(firefox_extension_id_valid(kUuid));
    EXPECT_TRUE(firefox_extension_id_valid("00000000-0000-0000-0000-000000000000"));
    EXPECT_FALSE(firefox_extension_id_valid(""));
    EXPECT_FALSE(firefox_extension_id_valid("3F2A9C4E-8B1D-4E6F-A0C2-5D7E9B1F3A6C"));  // upper
    EXPECT_FALSE(firefox_extension_id_valid("3f2a9c4e8b1d4e6fa0c25d7e9b1f3a6c"));      // no dashes
    EXPECT_FALSE(firefox_extension_id_valid("3f2a9c4e-8b1d-4e6f-a0c2-5d7e9b1f3a6"));   // short
    EXPECT_FALSE(firefox_extension_id_valid("3f2a9c4e-8b1d-4e6f-a0c2-5d7e9b1f3a6cd"));
    EXPECT_FALSE(firefox_extension_id_valid("3f2a9c4e-8b1d-4e6f-a0c2-5d7e9b1f3a6g"));
    EXPECT_FALSE(firefox_extension_id_valid("3f2a9c4e-8b1d-4e6f-a0c2_5d7e9b1f3a6c"));
    EXPECT_FALSE(firefox_extension_id_valid("abcdefghijklmnopabcdefghijklmnop"));  // Chromium's
}

TEST_F(FirefoxExtensionPairing, AFirefoxExtensionPairsByApprovalUnderItsUuid) {
    ASSERT_NO_FATAL_FAILURE(start());
    WsClient ext(port(), Caller{"", kFirefoxOrigin, false});
    ASSERT_TRUE(ext.open());
    Approver approver(control_path(), [](const json::object&) { return std::string("approve"); });
    json::value answer = ext.call("keybridge_pair", json::array{json::object{{"name", "firefox"}}});
    approver.stop();
    ASSERT_TRUE(answer.as_object().contains("result")) << answer;
    EXPECT_EQ(answer.at("result").at("extensionId"), json::value(kUuid));
    ASSERT_EQ(approver.seen().size(), 1u);
    const json::object seen = approver.seen().front();  // seen() is a copy
    EXPECT_EQ(seen.at("origin"), json::value(kFirefoxOrigin));
    EXPECT_EQ(seen.at("details").at("kind"), json::value("pairing"));
    EXPECT_EQ(seen.at("details").at("extensionId"), json::value(kUuid));
    json::array pairings = local().result("keybridge_pairings").as_array();
    ASSERT_EQ(pairings.size(), 1u);
    EXPECT_EQ(pairings[0].at("extensionId"), json::value(kUuid));

    // A page through it: the grant is the page's via the Firefox extension's own origin.
    Approver sharing(control_path(), approve_sharing_all());
    json::value accounts = ext.call(
        "keybridge_relay",
        json::array{json::object{
            {"origin", kSite}, {"method", "eth_requestAccounts"}, {"params", json::array{}}}});
    sharing.stop();
    ASSERT_TRUE(accounts.as_object().contains("result")) << accounts;
    json::object grants = local().result("keybridge_permissions").as_object();
    EXPECT_TRUE(grants.contains(std::string(kSite) + " via " + kFirefoxOrigin)) << grants;
    EXPECT_FALSE(grants.contains(std::string(kSite) + " via chrome-extension://" + kUuid))
        << grants;

    // The secret pairs the same UUID again without a decision.
    const std::string secret(answer.at("result").at("secret").as_string());
    WsClient again(port(), Caller{"", kFirefoxOrigin, false});
    ASSERT_TRUE(again.open());
    json::value resumed =
        again.call("keybridge_pair", json::array{json::object{{"secret", secret}}});
    EXPECT_EQ(resumed.at("result").at("paired"), json::value(true)) << resumed;
    EXPECT_EQ(resumed.at("result").at("resumed"), json::value(true)) << resumed;
}

TEST_F(FirefoxExtensionPairing, WhatIsNoFirefoxUuidCannotPair) {
    ASSERT_NO_FATAL_FAILURE(start());
    for (std::string origin : {"moz-extension://not-a-uuid", "moz-extension://abcdefghijklmnop",
                               "moz-extension://3F2A9C4E-8B1D-4E6F-A0C2-5D7E9B1F3A6C"}) {
        WsClient ext(port(), Caller{"", origin, false});
        ASSERT_TRUE(ext.open()) << origin;
        EXPECT_EQ(ext.call("keybridge_pair").at("error").at("code"), json::value(4100)) << origin;
    }
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
}

}  // namespace
}  // namespace keybridge::test::e2e
