#include "daemon/net/http_routes.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::daemon::net {
namespace {

namespace http = boost::beast::http;
using Table = RouteTable<std::string>;

Table sample() {
    Table t;
    t.add({http::verb::options, "*", Capability::None, false, "preflight"});
    t.add({http::verb::post, "/", Capability::Caller, false, "rpc"});
    t.add({http::verb::get, "/", Capability::Caller, true, "websocket"});
    t.add({http::verb::get, "/ui/", Capability::Approver, false, "page"});
    t.add({http::verb::get, "/ui/ws", Capability::Approver, true, "page socket"});
    return t;
}

TEST(HttpRoutes, FindsTheRowByVerbPathAndUpgrade) {
    const Table t = sample();
    EXPECT_EQ(t.find(http::verb::post, "/", false).route->handler, "rpc");
    EXPECT_EQ(t.find(http::verb::get, "/", true).route->handler, "websocket");
    EXPECT_EQ(t.find(http::verb::get, "/ui/", false).route->handler, "page");
    EXPECT_EQ(t.find(http::verb::get, "/ui/ws", true).route->handler, "page socket");
    EXPECT_EQ(t.find(http::verb::options, "/anything", false).route->handler, "preflight");
    EXPECT_EQ(t.find(http::verb::get, "/ui/", false).route->required, Capability::Approver);
}

TEST(HttpRoutes, UpgradeRowsServeOnlyUpgradesAndTheOthersNever) {
    const Table t = sample();
    // A plain GET of "/" is not the WebSocket route: the path is known, so 405 rather than 404.
    auto plain = t.find(http::verb::get, "/", false);
    EXPECT_EQ(plain.route, nullptr);
    EXPECT_TRUE(plain.path_known);
    auto upgrade_page = t.find(http::verb::get, "/ui/", true);
    EXPECT_EQ(upgrade_page.route, nullptr);
    EXPECT_TRUE(upgrade_page.path_known);
}

TEST(HttpRoutes, UnknownPathsAreNotKnownThroughTheWildcard) {
    const Table t = sample();
    auto m = t.find(http::verb::get, "/nothing", false);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_FALSE(m.path_known);
    auto put = t.find(http::verb::put, "/", false);
    EXPECT_EQ(put.route, nullptr);
    EXPECT_TRUE(put.path_known);
}

TEST(HttpRoutes, CapabilitiesGrantOnlyWhatWasProven) {
    Capabilities none;
    EXPECT_TRUE(none.grant(Capability::None));
    EXPECT_FALSE(none.grant(Capability::Caller));
    EXPECT_FALSE(none.grant(Capability::Token));
    EXPECT_FALSE(none.grant(Capability::Approver));
    Capabilities page_origin;
    page_origin.caller = true;
    EXPECT_TRUE(page_origin.grant(Capability::Caller));
    EXPECT_FALSE(page_origin.grant(Capability::Token));
    EXPECT_FALSE(page_origin.grant(Capability::Approver));
    // The token is not the approver's role: scripts get the token, never the page cookie.
    Capabilities token;
    token.caller = token.token = true;
    EXPECT_FALSE(token.grant(Capability::Approver));
    Capabilities approver;
    approver.approver = true;
    EXPECT_TRUE(approver.grant(Capability::Approver));
    EXPECT_FALSE(approver.grant(Capability::Token));
    EXPECT_EQ(to_string(Capability::Approver), "approver");
}

}  // namespace
}  // namespace keybridge::daemon::net
