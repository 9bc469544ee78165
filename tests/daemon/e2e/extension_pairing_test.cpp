// The browser extension's side of keybridged (issue 14): pairing an extension id takes an
// approver's decision and hands out a secret that later connections present instead; only a
// paired connection may relay calls tagged with a page's origin; every page origin it relays
// has its own client state (grants, chain, events) apart from the bare origin's; a relayed
// request whose connection went away (the extension's worker was stopped) keeps its answer
// for the next connection; revoking the pairing closes the extension and forgets the secret.
#include <sys/stat.h>

#include <fstream>
#include <future>
#include <sstream>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using ExtensionPairing = DaemonTest;

constexpr const char* kExtensionOrigin = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
constexpr const char* kExtensionId = "abcdefghijklmnopabcdefghijklmnop";
constexpr const char* kPairedSite = "https://dapp.example";

std::string read_file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

json::object relay_call(std::string_view origin, std::string_view method, json::array params = {},
                        std::string_view key = "") {
    json::object o{{"origin", origin}, {"method", method}, {"params", std::move(params)}};
    if (!key.empty()) o["key"] = key;
    return o;
}

class Extension {
  public:
    Extension(std::uint16_t port) : ws(port, Caller{"", kExtensionOrigin, false}) {}
    // keybridge_pair with an approver that approves (and records what it saw).
    json::value pair_approved(const std::string& control, json::object* seen = nullptr) {
        Approver approver(control, [](const json::object&) { return std::string("approve"); });
        json::value answer = ws.call("keybridge_pair", json::array{json::object{{"name", "test"}}});
        approver.stop();
        if (seen != nullptr && !approver.seen().empty()) *seen = approver.seen().front();
        return answer;
    }
    json::value relay(std::string_view origin, std::string_view method, json::array params = {},
                      std::string_view key = "") {
        return ws.call("keybridge_relay",
                       json::array{relay_call(origin, method, std::move(params), key)});
    }
    WsClient ws;
};

TEST_F(ExtensionPairing, FirstPairingIsAnApprovalThenTheSecretPairsAlone) {
    ASSERT_NO_FATAL_FAILURE(start());
    Extension first(port());
    ASSERT_TRUE(first.ws.open());
    json::object seen;
    json::value answer = first.pair_approved(control_path(), &seen);
    ASSERT_TRUE(answer.as_object().contains("result")) << answer;
    const json::object& result = answer.at("result").as_object();
    EXPECT_EQ(result.at("paired"), json::value(true));
    EXPECT_EQ(result.at("extensionId"), json::value(kExtensionId));
    const std::string secret(result.at("secret").as_string());
    EXPECT_EQ(secret.size(), 64u);
    // The approver saw a pairing request naming the extension.
    EXPECT_EQ(seen.at("method"), json::value("keybridge_pair"));
    EXPECT_EQ(seen.at("origin"), json::value(kExtensionOrigin));
    EXPECT_EQ(seen.at("details").at("kind"), json::value("pairing"));
    EXPECT_EQ(seen.at("details").at("extensionId"), json::value(kExtensionId));

    // The file: 0600, the id, never the secret.
    const std::string path = datadir_ + "/pairings.json";
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    const std::string text = read_file_text(path);
    EXPECT_NE(text.find(kExtensionId), std::string::npos);
    EXPECT_EQ(text.find(secret), std::string::npos);

    // A later connection (another worker, another daemon run) pairs with the secret alone.
    daemon_.signal(SIGTERM);
    ASSERT_EQ(daemon_.wait_exit(10s), 0);
    DaemonProcess second;
    ASSERT_TRUE(second.start(base_args(false))) << second.log();
    Extension again(second.port());
    json::value resumed =
        again.ws.call("keybridge_pair", json::array{json::object{{"secret", secret}}});
    ASSERT_TRUE(resumed.as_object().contains("result")) << resumed;
    EXPECT_EQ(resumed.at("result").at("paired"), json::value(true));
    EXPECT_FALSE(resumed.at("result").as_object().contains("secret"));
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});

    // A wrong secret is a new pairing request, with a warning that the id was paired before.
    Extension wrong(second.port());
    auto asked = std::async(std::launch::async, [&] {
        return wrong.ws.call("keybridge_pair",
                             json::array{json::object{{"secret", std::string(64, '0')}}});
    });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].at("details").at("pairedBefore"), json::value(true));
    EXPECT_EQ(pending[0].at("warnings").at(0).at("id"), json::value("pairing-replaced"));
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "reject")),
              json::value(true));
    EXPECT_EQ(asked.get().at("error").at("code"), json::value(4001));
    // The rejected request changed nothing: the old secret still pairs.
    Extension third(second.port());
    EXPECT_EQ(third.ws.call("keybridge_pair", json::array{json::object{{"secret", secret}}})
                  .at("result")
                  .at("paired"),
              json::value(true));
    second.signal(SIGTERM);
    EXPECT_EQ(second.wait_exit(10s), 0) << second.log();
    EXPECT_EQ(second.log().find("Sanitizer"), std::string::npos) << second.log();
}

TEST_F(ExtensionPairing, OnlyAPairedExtensionConnectionMayRelay) {
    ASSERT_NO_FATAL_FAILURE(start());
    // A page cannot pair, over WebSocket or HTTP; an extension cannot pair over HTTP.
    WsClient site(port(), Caller{"", kPairedSite, false});
    ASSERT_TRUE(site.open());
    EXPECT_EQ(site.call("keybridge_pair").at("error").at("code"), json::value(4100));
    EXPECT_EQ(page(kExtensionOrigin).error_code("keybridge_pair"), 4100);
    // Unpaired extension, page, token client: no relay.
    Extension ext(port());
    EXPECT_EQ(ext.relay(kPairedSite, "eth_chainId").at("error").at("code"), json::value(4100));
    EXPECT_EQ(site.call("keybridge_relay", json::array{relay_call(kPairedSite, "eth_chainId")})
                  .at("error")
                  .at("code"),
              json::value(4100));
    EXPECT_EQ(
        local().error_code("keybridge_relay", json::array{relay_call(kPairedSite, "eth_chainId")}),
        4100);
    ASSERT_TRUE(ext.pair_approved(control_path()).as_object().contains("result"));
    EXPECT_EQ(ext.relay(kPairedSite, "eth_chainId").at("result"), json::value("0x1"));
    // The tag must be a page's origin; relayed calls get no rights beyond a page's.
    EXPECT_EQ(ext.relay(kExtensionOrigin, "eth_chainId").at("error").at("code"),
              json::value(-32602));
    EXPECT_EQ(ext.relay("null", "eth_chainId").at("error").at("code"), json::value(-32602));
    EXPECT_EQ(ext.relay(kPairedSite, "keybridge_status").at("error").at("code"), json::value(4100));
    EXPECT_EQ(ext.relay(kPairedSite, "keybridge_pendingApprovals").at("error").at("code"),
              json::value(4100));
}

TEST_F(ExtensionPairing, EachRelayedOriginHasItsOwnClientState) {
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "31337=http://127.0.0.1:1 Local"}));
    Extension ext(port());
    ASSERT_TRUE(ext.pair_approved(control_path()).as_object().contains("result"));
    const std::string account = lower(kFirstAccount);
    {
        Approver approver(control_path(), approve_sharing_all());
        json::value accounts = ext.relay(kPairedSite, "eth_requestAccounts");
        approver.stop();
        EXPECT_EQ(accounts.at("result"), (json::array{json::string(account)})) << accounts;
        ASSERT_EQ(approver.seen().size(), 1u);
        // The approver sees the page's origin, not the extension's.
        EXPECT_EQ(approver.seen()[0].at("origin"), json::value(kPairedSite));
    }
    // The page's accountsChanged, relayed to the extension with its origin.
    // (A "no-approver" status may come first when the approver's subscription was not yet in.)
    // The pairing's own no-approver status came to the extension's connection as it is.
    json::value granted = ext.ws.next_notification(5s);
    while (granted.is_object() && (granted.at("method") == "keybridge_requestStatus" ||
                                   granted.at("params").at("event") == "requestStatus"))
        granted = ext.ws.next_notification(5s);
    ASSERT_TRUE(granted.is_object()) << "no accountsChanged";
    EXPECT_EQ(granted.at("method"), json::value("keybridge_relayEvent"));
    EXPECT_EQ(granted.at("params").at("origin"), json::value(kPairedSite));
    EXPECT_EQ(granted.at("params").at("event"), json::value("accountsChanged"));
    EXPECT_EQ(granted.at("params").at("data"), (json::array{json::string(account)}));
    EXPECT_EQ(ext.relay(kPairedSite, "eth_accounts").at("result"),
              (json::array{json::string(account)}));
    // Another origin through the same extension, and the same origin straight to keybridged
    // (any program can claim it), see nothing.
    EXPECT_EQ(ext.relay("https://other.example", "eth_accounts").at("result"), json::array{});
    EXPECT_EQ(page(kPairedSite).result("eth_accounts"), json::array{});
    // The grant is kept under "ORIGIN via chrome-extension://ID".
    json::object grants = local().result("keybridge_permissions").as_object();
    EXPECT_TRUE(grants.contains(std::string(kPairedSite) + " via " + kExtensionOrigin)) << grants;

    // Chain per relayed origin, with chainChanged relayed to the extension for that origin.
    EXPECT_EQ(ext.relay(kPairedSite, "wallet_switchEthereumChain",
                        json::array{json::object{{"chainId", "0x7a69"}}})
                  .at("result"),
              json::value(nullptr));
    json::value event = ext.ws.next_notification(5s);
    ASSERT_TRUE(event.is_object()) << "no chainChanged";
    EXPECT_EQ(event.at("method"), json::value("keybridge_relayEvent"));
    EXPECT_EQ(event.at("params").at("origin"), json::value(kPairedSite));
    EXPECT_EQ(event.at("params").at("event"), json::value("chainChanged"));
    EXPECT_EQ(event.at("params").at("data"), json::value("0x7a69"));
    EXPECT_EQ(ext.relay(kPairedSite, "eth_chainId").at("result"), json::value("0x7a69"));
    EXPECT_EQ(ext.relay("https://other.example", "eth_chainId").at("result"), json::value("0x1"));
    EXPECT_EQ(page(kPairedSite).result("eth_chainId"), json::value("0x1"));

    // Revoking the grant through the relay: accountsChanged [] for that origin.
    EXPECT_EQ(ext.relay(kPairedSite, "wallet_revokePermissions",
                        json::array{json::object{{"eth_accounts", json::object{}}}})
                  .at("result"),
              json::value(nullptr));
    json::value revoked = ext.ws.next_notification(5s);
    ASSERT_TRUE(revoked.is_object()) << "no accountsChanged";
    EXPECT_EQ(revoked.at("params").at("event"), json::value("accountsChanged"));
    EXPECT_EQ(revoked.at("params").at("data"), json::array{});
}

TEST_F(ExtensionPairing, ARelayedRequestOutlivesTheExtensionConnection) {
    ASSERT_NO_FATAL_FAILURE(start());
    std::string secret;
    {
        Extension ext(port());
        json::value paired = ext.pair_approved(control_path());
        secret = std::string(paired.at("result").at("secret").as_string());
        Approver approver(control_path(), approve_sharing_all());
        ASSERT_TRUE(ext.relay(kPairedSite, "eth_requestAccounts").as_object().contains("result"));
        approver.stop();
        // The signing request is sent, then the worker is stopped (the socket closes).
        ASSERT_TRUE(ext.ws.send_text(json::serialize(json::object{
            {"jsonrpc", "2.0"},
            {"id", 7},
            {"method", "keybridge_relay"},
            {"params",
             json::array{relay_call(
                 kPairedSite, "personal_sign",
                 json::array{core::hex_encode(core::as_bytes("still here?")), kFirstAccount},
                 "req-1")}}})));
        ASSERT_EQ(wait_pending(control(), 1).size(), 1u);
    }
    // The request is still pending once the socket has closed; the person approves it.
    std::this_thread::sleep_for(300ms);
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u) << "dropped with the extension's connection";
    EXPECT_EQ(pending[0].at("origin"), json::value(kPairedSite));
    ASSERT_EQ(control().result("keybridge_decide", decision_for(pending[0], "approve")),
              json::value(true));
    std::this_thread::sleep_for(300ms);
    // The restarted worker pairs with its secret and asks for the same key: the answer.
    Extension back(port());
    json::value resumed =
        back.ws.call("keybridge_pair", json::array{json::object{{"secret", secret}}});
    EXPECT_EQ(resumed.at("result").at("resumed"), json::value(true));
    json::value signature = back.relay(kPairedSite, "personal_sign", json::array{}, "req-1");
    ASSERT_TRUE(signature.as_object().contains("result")) << signature;
    EXPECT_EQ(signature.at("result").as_string().size(), 132u);
    // Fetched once: the same key now starts a new request (which fails on its empty params).
    EXPECT_EQ(
        back.relay(kPairedSite, "personal_sign", json::array{}, "req-1").at("error").at("code"),
        json::value(-32602));
}

TEST_F(ExtensionPairing, RevokingClosesTheExtensionAndForgetsItsSecret) {
    ASSERT_NO_FATAL_FAILURE(start());
    Extension ext(port());
    json::value paired = ext.pair_approved(control_path());
    const std::string secret(paired.at("result").at("secret").as_string());
    ASSERT_EQ(ext.relay(kPairedSite, "eth_chainId").at("result"), json::value("0x1"));
    const std::string listed = tool({"pairing", "list"});
    EXPECT_NE(listed.find(kExtensionId), std::string::npos) << listed;
    EXPECT_NE(listed.find(kPairedSite), std::string::npos) << listed;
    const std::string revoked = tool({"pairing", "revoke", kExtensionId});
    EXPECT_NE(revoked.find("Unpaired"), std::string::npos) << revoked;
    EXPECT_TRUE(ext.ws.wait_closed(5s));
    EXPECT_EQ(ext.ws.close_code(), 4100);
    EXPECT_EQ(local().result("keybridge_pairings"), json::array{});
    EXPECT_EQ(read_file_text(datadir_ + "/pairings.json").find(kExtensionId), std::string::npos);
    // The old secret no longer pairs: it is a new request for the user.
    Extension later(port());
    auto asked = std::async(std::launch::async, [&] {
        return later.ws.call("keybridge_pair", json::array{json::object{{"secret", secret}}});
    });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].at("details").at("pairedBefore"), json::value(false));
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "reject")),
              json::value(true));
    EXPECT_EQ(asked.get().at("error").at("code"), json::value(4001));
    // Stopped, the file is what the tool edits.
    daemon_.signal(SIGTERM);
    ASSERT_EQ(daemon_.wait_exit(10s), 0);
    EXPECT_NE(tool({"pairing", "list"}).find("No browser extension is paired"), std::string::npos);
}

// The response to a plain GET of `target` (with a Cookie header when `cookie` is set).
HttpResponse get(std::uint16_t port, const std::string& target, const std::string& cookie = "") {
    HttpRequest req;
    req.method = "GET";
    req.target = target;
    req.content_type = "";
    if (!cookie.empty()) req.headers.emplace_back("Cookie", cookie);
    return http_request(port, req);
}

TEST_F(ExtensionPairing, APairedExtensionGetsAOneTimeLoggedInPageAddress) {
    ASSERT_NO_FATAL_FAILURE(start());
    // Nobody but a paired extension's own connection: not a page, not the token's holder, not
    // an extension before pairing, not a page through the relay.
    EXPECT_EQ(page(kPairedSite).error_code("keybridge_pageLogin"), 4100);
    EXPECT_EQ(local().error_code("keybridge_pageLogin"), 4100);
    WsClient site(port(), Caller{"", kPairedSite, false});
    ASSERT_TRUE(site.open());
    EXPECT_EQ(site.call("keybridge_pageLogin").at("error").at("code"), json::value(4100));
    Extension ext(port());
    ASSERT_TRUE(ext.ws.open());
    EXPECT_EQ(ext.ws.call("keybridge_pageLogin").at("error").at("code"), json::value(4100));
    ASSERT_TRUE(ext.pair_approved(control_path()).as_object().contains("result"));
    EXPECT_EQ(ext.relay(kPairedSite, "keybridge_pageLogin").at("error").at("code"),
              json::value(4100));

    json::value answer = ext.ws.call("keybridge_pageLogin");
    ASSERT_TRUE(answer.as_object().contains("result")) << answer;
    const std::string url(answer.at("result").at("url").as_string());
    EXPECT_EQ(answer.at("result").at("expiresIn"), json::value(60));
    const std::string base = "http://127.0.0.1:" + std::to_string(port());
    ASSERT_EQ(url.rfind(base + "/ui/login-code?code=", 0), 0u) << url;
    const std::string target = url.substr(base.size());
    const std::string code = target.substr(target.find('=') + 1);
    ASSERT_EQ(code.size(), 64u);

    // Without the cookie the page shows nothing; a forged code buys nothing.
    EXPECT_EQ(get(port(), "/ui/").status, 403);
    std::string forged = code;
    forged[0] = forged[0] == '0' ? '1' : '0';
    HttpResponse wrong = get(port(), "/ui/login-code?code=" + forged);
    EXPECT_EQ(wrong.status, 403);
    EXPECT_FALSE(wrong.has_header("set-cookie"));
    EXPECT_EQ(get(port(), "/ui/login-code").status, 403);

    // The code buys the page cookie the launcher gives (HttpOnly, SameSite=Strict), once.
    HttpResponse login = get(port(), target);
    ASSERT_EQ(login.status, 200) << login.body;
    const std::string set_cookie = login.header("set-cookie");
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
    EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
    EXPECT_TRUE(login.has_header("content-security-policy"));
    const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
    HttpResponse page_file = get(port(), "/ui/", cookie);
    EXPECT_EQ(page_file.status, 200);
    HttpResponse again = get(port(), target);
    EXPECT_EQ(again.status, 403);
    EXPECT_FALSE(again.has_header("set-cookie"));
    EXPECT_EQ(again.body.find("<script"), std::string::npos);
    // Never in the log.
    EXPECT_EQ(daemon_.log().find(code), std::string::npos);
}

TEST_F(ExtensionPairing, NoApproverReachesTheExtensionForItsPage) {
    ASSERT_NO_FATAL_FAILURE(start());
    Extension ext(port());
    ASSERT_TRUE(ext.pair_approved(control_path()).as_object().contains("result"));
    // No approver is connected (nothing subscribed to keybridge_approvals): the page's request
    // says so at once, through the relay, with the page's origin.
    ASSERT_TRUE(ext.ws.send_text(json::serialize(json::object{
        {"jsonrpc", "2.0"},
        {"id", 900},
        {"method", "keybridge_relay"},
        {"params", json::array{relay_call(kPairedSite, "eth_requestAccounts", {}, "k1")}}})));
    json::value status = ext.ws.next_notification(5s);
    // The extension's own pairing request said so too, on its own connection, unwrapped.
    while (status.is_object() && status.at("method") == "keybridge_requestStatus") {
        EXPECT_EQ(status.at("params").at("method"), json::value("keybridge_pair"));
        status = ext.ws.next_notification(5s);
    }
    ASSERT_TRUE(status.is_object()) << "no requestStatus";
    EXPECT_EQ(status.at("method"), json::value("keybridge_relayEvent"));
    EXPECT_EQ(status.at("params").at("origin"), json::value(kPairedSite));
    EXPECT_EQ(status.at("params").at("event"), json::value("requestStatus"));
    EXPECT_EQ(status.at("params").at("data").at("status"), json::value("no-approver"));
    EXPECT_EQ(status.at("params").at("data").at("method"), json::value("eth_requestAccounts"));
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(status.at("params").at("data").at("id"), pending[0].at("id"));
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "reject")),
              json::value(true));
}

TEST_F(ExtensionPairing, EachRelayedOriginHasTheRateLimitOfAPage) {
    ASSERT_NO_FATAL_FAILURE(start({"--rate-limit", "1", "--rate-burst", "3"}));
    Extension ext(port());
    ASSERT_TRUE(ext.pair_approved(control_path()).as_object().contains("result"));
    // One noisy site uses up its own bucket...
    int refused_at = 0;
    for (int i = 1; i <= 10 && refused_at == 0; ++i) {
        json::value answer = ext.relay(kPairedSite, "eth_chainId");
        if (answer.as_object().contains("error")) {
            EXPECT_EQ(answer.at("error").at("code"), json::value(-32005)) << answer;
            EXPECT_NE(std::string(answer.at("error").at("message").as_string()).find(kPairedSite),
                      std::string::npos)
                << answer;
            refused_at = i;
        }
    }
    EXPECT_GE(refused_at, 3);
    EXPECT_LE(refused_at, 5);
    // ...and another site behind the same extension still has all of its own.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(ext.relay("https://other.example", "eth_chainId").at("result"),
                  json::value("0x1"));
    }
    // The extension's connection itself is not what is limited.
    EXPECT_EQ(ext.ws.call("eth_chainId").at("result"), json::value("0x1"));
}

TEST_F(ExtensionPairing, EachRelayedOriginHasThePendingShareOfAPage) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-pending-per-origin", "2"}));
    Extension ext(port());
    ASSERT_TRUE(ext.pair_approved(control_path()).as_object().contains("result"));
    auto add_chain = [&](std::string_view origin, int chain, int id) {
        return ext.ws.send_text(json::serialize(json::object{
            {"jsonrpc", "2.0"},
            {"id", id},
            {"method", "keybridge_relay"},
            {"params", json::array{relay_call(origin, "wallet_addEthereumChain",
                                              json::array{json::object{
                                                  {"chainId", "0x" + std::to_string(chain)},
                                                  {"rpcUrls", json::array{"http://127.0.0.1:1"}}}},
                                              "chain-" + std::to_string(id))}}}));
    };
    ASSERT_TRUE(add_chain(kPairedSite, 1001, 901));
    ASSERT_TRUE(add_chain(kPairedSite, 1002, 902));
    ASSERT_EQ(wait_pending(control(), 2).size(), 2u);
    // A third from the same site: over its share.
    json::value third =
        ext.relay(kPairedSite, "wallet_addEthereumChain",
                  json::array{json::object{{"chainId", "0x1003"},
                                           {"rpcUrls", json::array{"http://127.0.0.1:1"}}}});
    EXPECT_EQ(third.at("error").at("code"), json::value(-32005)) << third;
    // Another site through the same extension has its own.
    ASSERT_TRUE(add_chain("https://other.example", 1004, 903));
    json::array pending = wait_pending(control(), 3);
    ASSERT_EQ(pending.size(), 3u);
    for (const auto& request : pending) {
        EXPECT_EQ(control().result("keybridge_decide", decision_for(request, "reject")),
                  json::value(true));
    }
}

// A local program claiming the site's Origin has a share of its own: it cannot fill the one of
// the real site behind the extension (nor the site fill the program's).
TEST_F(ExtensionPairing, AProgramClaimingTheSitesOriginCannotFillTheRelayedSitesShare) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-pending-per-origin", "2"}));
    Extension ext(port());
    ASSERT_TRUE(ext.pair_approved(control_path()).as_object().contains("result"));
    WsClient claimant(port(), Caller{"", kPairedSite, false});
    ASSERT_TRUE(claimant.open());
    auto add_chain_params = [](int chain) {
        return json::array{json::object{{"chainId", "0x" + std::to_string(chain)},
                                        {"rpcUrls", json::array{"http://127.0.0.1:1"}}}};
    };
    for (int id : {101, 102}) {
        ASSERT_TRUE(claimant.send_text(
            json::serialize(json::object{{"jsonrpc", "2.0"},
                                         {"id", id},
                                         {"method", "wallet_addEthereumChain"},
                                         {"params", add_chain_params(1000 + id)}})));
    }
    ASSERT_EQ(wait_pending(control(), 2).size(), 2u);
    // The claimant is over its share...
    json::value over = claimant.call("wallet_addEthereumChain", add_chain_params(1103));
    EXPECT_EQ(over.at("error").at("code"), json::value(-32005)) << over;
    // ...and the site through the extension still has all of its own.
    for (int id : {911, 912}) {
        ASSERT_TRUE(ext.ws.send_text(json::serialize(
            json::object{{"jsonrpc", "2.0"},
                         {"id", id},
                         {"method", "keybridge_relay"},
                         {"params", json::array{relay_call(kPairedSite, "wallet_addEthereumChain",
                                                           add_chain_params(1200 + id),
                                                           "chain-" + std::to_string(id))}}})));
    }
    json::array pending = wait_pending(control(), 4);
    ASSERT_EQ(pending.size(), 4u);
    for (const auto& request : pending) {
        EXPECT_EQ(request.at("origin"), json::value(kPairedSite));
        EXPECT_EQ(control().result("keybridge_decide", decision_for(request, "reject")),
                  json::value(true));
    }
}

}  // namespace
}  // namespace keybridge::test::e2e
