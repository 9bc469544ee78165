// keybridged end to end: exposing accounts to pages, approvals, signatures, the policy file.
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/eip191.h"
#include "core/eip712.h"
#include "core/secp256k1.h"
#include "tests/daemon/e2e/daemon_process.h"
#include "test_data.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

using Approvals = DaemonTest;

std::string lower_first_account() {
    std::string s = kFirstAccount;
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

json::array first_account_list() {
    return json::array{json::string(lower_first_account())};
}

// The address that made a 65-byte r||s||v signature over the digest.
std::string signer_of(const core::Hash32& digest, const json::value& signature) {
    if (!signature.is_string()) return "";
    auto bytes = core::hex_decode(signature.as_string(), core::HexPrefix::Required);
    if (!bytes || bytes->size() != 65) return "";
    auto sig = core::RecoverableSignature::from_rsv(*bytes);
    if (!sig) return "";
    auto key = core::recover_public_key(digest, *sig);
    return key ? key->address().to_checksum_string() : "";
}

TEST_F(Approvals, PageSeesAccountsOnlyAfterApprovalAndLosesThemOnRevoke) {
    ASSERT_NO_FATAL_FAILURE(start());
    RpcClient site = page();
    EXPECT_EQ(site.result("eth_accounts"), json::array{});
    EXPECT_EQ(site.result("wallet_getPermissions"), json::array{});

    // eth_requestAccounts waits for the user.
    auto asked = std::async(std::launch::async, [&] { return site.result("eth_requestAccounts"); });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    const json::object& request = pending[0].as_object();
    EXPECT_EQ(request.at("origin"), json::value(kPageOrigin));
    EXPECT_EQ(request.at("method"), json::value("eth_requestAccounts"));
    EXPECT_EQ(request.at("authenticated"), json::value(false));
    EXPECT_EQ(offered_addresses(request), json::array{json::string(kFirstAccount)});
    EXPECT_EQ(asked.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
    EXPECT_EQ(site.result("eth_accounts"), json::array{});  // not yet

    EXPECT_EQ(control().result("keybridge_decide", decision_for(request, "approve")),
              json::value(true));
    EXPECT_EQ(asked.get(), json::value(first_account_list()));
    EXPECT_EQ(site.result("eth_accounts"), json::value(first_account_list()));
    // Asking again does not bother the user.
    EXPECT_EQ(site.result("eth_requestAccounts"), json::value(first_account_list()));
    json::value permissions = site.result("wallet_getPermissions");
    ASSERT_TRUE(permissions.is_array());
    ASSERT_EQ(permissions.as_array().size(), 1u);
    EXPECT_EQ(permissions.at(0).at("parentCapability"), json::value("eth_accounts"));
    EXPECT_EQ(permissions.at(0).at("invoker"), json::value(kPageOrigin));
    // Another origin sees nothing; the token holder sees the grant.
    EXPECT_EQ(page("https://other.example").result("eth_accounts"), json::array{});
    json::value grants = local().result("keybridge_permissions");
    EXPECT_TRUE(grants.as_object().contains(kPageOrigin)) << grants;

    // A WebSocket of the same page hears accountsChanged when the page revokes.
    WsClient ws(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(ws.open()) << ws.error();
    json::value sub = ws.call("eth_subscribe", json::array{"accountsChanged"});
    ASSERT_TRUE(sub.as_object().contains("result")) << sub;
    const json::value subscription = sub.at("result");
    EXPECT_EQ(ws.call("eth_accounts").at("result"), json::value(first_account_list()));
    EXPECT_EQ(site.result("wallet_revokePermissions",
                          json::array{json::object{{"eth_accounts", json::object{}}}}),
              json::value(nullptr));
    json::value event = ws.next_notification();
    ASSERT_TRUE(event.is_object()) << "no accountsChanged event";
    EXPECT_EQ(event.at("method"), json::value("eth_subscription"));
    EXPECT_EQ(event.at("params").at("subscription"), subscription);
    EXPECT_EQ(event.at("params").at("result"), json::array{});
    EXPECT_EQ(site.result("eth_accounts"), json::array{});
    EXPECT_EQ(ws.call("eth_accounts").at("result"), json::array{});
}

TEST_F(Approvals, SubscriberOfAnotherOriginHearsNothing) {
    ASSERT_NO_FATAL_FAILURE(start());
    WsClient other(port(), Caller{"", "https://other.example", false});
    ASSERT_TRUE(other.open());
    ASSERT_TRUE(
        other.call("eth_subscribe", json::array{"accountsChanged"}).as_object().contains("result"));
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    page().result("wallet_revokePermissions",
                  json::array{json::object{{"eth_accounts", json::object{}}}});
    EXPECT_TRUE(other.next_notification(300ms).is_null());
    // Pages may not watch approvals.
    WsClient watcher(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(watcher.open());
    EXPECT_EQ(
        watcher.call("eth_subscribe", json::array{"keybridge_approvals"}).at("error").at("code"),
        json::value(4100));
}

TEST_F(Approvals, ApproverSubscriptionSeesRequests) {
    ASSERT_NO_FATAL_FAILURE(start());
    ControlConnection approver(control_path());
    ASSERT_TRUE(approver.connected()) << approver.error();
    ASSERT_TRUE(approver.call("eth_subscribe", json::array{"keybridge_approvals"})
                    .as_object()
                    .contains("result"));
    auto asked = std::async(std::launch::async, [&] { return page().call("eth_requestAccounts"); });
    json::value added = approver.next_notification();
    ASSERT_TRUE(added.is_object());
    EXPECT_EQ(added.at("params").at("result").at("type"), json::value("added"));
    const json::value shown = added.at("params").at("result").at("request");
    const json::value id = shown.at("id");
    EXPECT_EQ(added.at("params").at("result").at("request").at("origin"), json::value(kPageOrigin));
    EXPECT_EQ(approver.call("keybridge_decide", decision_for(shown, "reject")).at("result"),
              json::value(true));
    json::value removed = approver.next_notification();
    ASSERT_TRUE(removed.is_object());
    EXPECT_EQ(removed.at("params").at("result").at("type"), json::value("removed"));
    EXPECT_EQ(asked.get().at("error").at("code"), json::value(4001));
    // Deciding it again is an error naming the id.
    json::value again = approver.call("keybridge_decide", decision_for(shown, "approve"));
    EXPECT_EQ(again.at("error").at("code"), json::value(-32602));
}

TEST_F(Approvals, RejectAnswers4001) {
    ASSERT_NO_FATAL_FAILURE(start());
    Approver approver(control_path(), [](const json::object&) { return std::string("reject"); });
    json::value res = page().call("eth_requestAccounts");
    approver.stop();
    EXPECT_EQ(res.at("error").at("code"), json::value(4001)) << res;
    EXPECT_EQ(page().result("eth_accounts"), json::array{});
    EXPECT_EQ(approver.seen().size(), 1u);
}

TEST_F(Approvals, TimeoutAnswers4001) {
    ASSERT_NO_FATAL_FAILURE(start({"--approval-timeout", "1"}));
    const auto begin = std::chrono::steady_clock::now();
    json::value res = page().call("eth_requestAccounts");
    const auto waited = std::chrono::steady_clock::now() - begin;
    EXPECT_EQ(res.at("error").at("code"), json::value(4001)) << res;
    EXPECT_NE(json::serialize(res).find("timeout"), std::string::npos) << res;
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 5s);
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
}

TEST_F(Approvals, PersonalSignSignatureRecoversTheAccount) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    Approver approver(control_path(), [](const json::object& r) {
        return r.at("method") == json::value("personal_sign") ? std::string("approve")
                                                              : std::string();
    });
    const std::string text = "Sign in to example.com\nnonce: 42";
    const std::string hex = core::hex_encode(core::as_bytes(text));
    for (const std::string& form : {hex, text}) {
        json::value sig =
            local().result("personal_sign", json::array{json::string(form), kFirstAccount});
        ASSERT_TRUE(sig.is_string());
        EXPECT_EQ(sig.as_string().size(), 132u);
        auto signer = core::recover_personal_signer(
            core::as_bytes(text), *core::hex_decode(sig.as_string(), core::HexPrefix::Required));
        ASSERT_TRUE(signer);
        EXPECT_EQ(signer->to_checksum_string(), kFirstAccount);
    }
    approver.stop();
    auto seen = approver.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].at("details").at("message"), json::value(text));
    EXPECT_EQ(seen[0].at("account"), json::value(kFirstAccount));
}

TEST_F(Approvals, SignTypedDataV4SignatureRecoversTheAccount) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    json::value typed = test::load_json("eip712-mail-example.json").at("typedData");
    auto parsed = core::eip712::parse(typed);
    ASSERT_TRUE(parsed) << parsed.error().detail;
    auto digest = core::eip712::signing_hash(*parsed, core::eip712::Version::V4);
    ASSERT_TRUE(digest);
    Approver approver(control_path(), [](const json::object&) { return std::string("approve"); });
    // As a JSON string (MetaMask's form) and as an object.
    json::value as_string = local().result(
        "eth_signTypedData_v4", json::array{kFirstAccount, json::string(json::serialize(typed))});
    json::value as_object =
        local().result("eth_signTypedData_v4", json::array{kFirstAccount, typed});
    approver.stop();
    EXPECT_EQ(signer_of(*digest, as_string), kFirstAccount);
    EXPECT_EQ(as_string, as_object);  // RFC 6979: deterministic
    auto seen = approver.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].at("details").at("primaryType"), json::value("Mail"));
}

TEST_F(Approvals, SigningNeedsTheAccountConnected) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string hex = core::hex_encode(core::as_bytes(std::string("hello")));
    EXPECT_EQ(page().error_code("personal_sign", json::array{json::string(hex), kFirstAccount}),
              4100);
    EXPECT_EQ(local().error_code("personal_sign", json::array{json::string(hex), kFirstAccount}),
              4100);
    // Nothing was queued for the user.
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
}

TEST_F(Approvals, EthSignIsDisabledByDefault) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    json::value res =
        local().call("eth_sign", json::array{kFirstAccount, "0x" + std::string(64, '1')});
    EXPECT_EQ(res.at("error").at("code"), json::value(4200)) << res;
    EXPECT_NE(json::serialize(res).find("--enable-eth-sign"), std::string::npos);
}

TEST_F(Approvals, PolicyApprovesTokenClientsButStillAsksPages) {
    const std::string policy =
        tmp_.write("policy",
                   "# unattended signing for scripts\n"
                   "approve origin=local method=eth_requestAccounts,personal_sign\n"
                   "deny origin=local method=eth_signTypedData_v4\n");
    ASSERT_NO_FATAL_FAILURE(start({"--policy", policy}));
    // No approver runs: the policy decides for the token client.
    EXPECT_EQ(local().result("eth_requestAccounts"), json::value(first_account_list()));
    const std::string hex = core::hex_encode(core::as_bytes(std::string("policy")));
    json::value sig =
        local().result("personal_sign", json::array{json::string(hex), kFirstAccount});
    auto signer = core::recover_personal_signer(
        core::as_bytes(std::string("policy")),
        *core::hex_decode(sig.as_string(), core::HexPrefix::Required));
    ASSERT_TRUE(signer);
    EXPECT_EQ(signer->to_checksum_string(), kFirstAccount);
    json::value typed = test::load_json("eip712-mail-example.json").at("typedData");
    EXPECT_EQ(local().error_code("eth_signTypedData_v4", json::array{kFirstAccount, typed}), 4001);

    // A page only shows an Origin header: the user is asked.
    auto asked = std::async(std::launch::async, [&] { return page().call("eth_requestAccounts"); });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].at("origin"), json::value(kPageOrigin));
    control().result("keybridge_decide", decision_for(pending[0], "reject"));
    EXPECT_EQ(asked.get().at("error").at("code"), json::value(4001));

    // The audit log names the rule that decided.
    std::ifstream audit(datadir_ + "/audit.log");
    std::stringstream text;
    text << audit.rdbuf();
    EXPECT_NE(text.str().find("policy line 2"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("policy line 3"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("\"decision\":\"signed\""), std::string::npos) << text.str();
}

// A request to a locked vault waits at an "unlock" stage, as MetaMask asks to unlock and then
// carries on: the approver answers with the password (keybridge_respond), then decides.
TEST_F(Approvals, LockedVaultAsksForAnUnlockThenForTheDecision) {
    ASSERT_NO_FATAL_FAILURE(start({}, /*unlock=*/false));
    EXPECT_EQ(local().result("keybridge_status").at("unlocked"), json::value(false));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));  // account list known while locked
    const std::string hex = core::hex_encode(core::as_bytes(std::string("x")));
    auto answer = std::async(std::launch::async, [&] {
        return local().call("personal_sign", json::array{json::string(hex), kFirstAccount});
    });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    const json::value id = pending[0].at("id");
    EXPECT_EQ(pending[0].at("stage"), json::value("needs-input"));
    EXPECT_EQ(pending[0].at("input"), json::value("unlock"));
    // Not decidable before the unlock; a wrong password keeps it waiting.
    EXPECT_EQ(control().error_code("keybridge_decide", decision_for(pending[0], "approve")),
              -32602);
    EXPECT_EQ(control().error_code("keybridge_respond",
                                   json::array{id, json::object{{"password", "wrong password"}}}),
              4100);
    EXPECT_EQ(wait_pending(control(), 1).at(0).at("stage"), json::value("needs-input"));
    EXPECT_EQ(control().result("keybridge_respond",
                               json::array{id, json::object{{"password", kVaultPassword}}}),
              json::value(true));
    EXPECT_EQ(local().result("keybridge_status").at("unlocked"), json::value(true));
    // Same request, same id, now waiting for the decision.
    json::value waiting;
    for (int i = 0; i < 200; ++i) {
        waiting = control().result("keybridge_pendingApprovals");
        if (waiting.as_array().size() == 1 && waiting.at(0).at("stage") == json::value("waiting"))
            break;
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(waiting.at(0).at("stage"), json::value("waiting")) << waiting;
    EXPECT_EQ(waiting.at(0).at("id"), id);
    EXPECT_EQ(control().result("keybridge_decide", decision_for(waiting.at(0), "approve")),
              json::value(true));
    json::value signed_ = answer.get();
    ASSERT_TRUE(signed_.as_object().contains("result")) << signed_;
    // Unlocked now: the next request goes straight to its decision.
    Approver approver(control_path(), [](const json::object&) { return std::string("approve"); });
    EXPECT_TRUE(
        local().result("personal_sign", json::array{json::string(hex), kFirstAccount}).is_string());
}

// keybridge_explainRequest runs the flow up to "explain": the decoded request and its warnings,
// with nothing queued, signed or audited.
TEST_F(Approvals, ExplainRequestShowsWhatTheApproverWouldSeeWithoutSigning) {
    ASSERT_NO_FATAL_FAILURE(start({"--enable-eth-sign"}));
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    const json::object explained =
        local()
            .result("keybridge_explainRequest",
                    json::array{json::object{
                        {"method", "eth_sign"},
                        {"params", json::array{kFirstAccount, "0x" + std::string(64, 'a')}},
                        {"origin", kPageOrigin}}})
            .as_object();
    EXPECT_EQ(explained.at("method"), json::value("eth_sign"));
    EXPECT_EQ(explained.at("origin"), json::value(kPageOrigin));
    EXPECT_EQ(explained.at("details").at("hash"), json::value("0x" + std::string(64, 'a')));
    EXPECT_EQ(explained.at("signingHash"), json::value("0x" + std::string(64, 'a')));
    EXPECT_FALSE(explained.at("warnings").as_array().empty());
    EXPECT_FALSE(explained.contains("id"));
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
    // A transaction is filled and explained (every field given: no node needed).
    const json::object tx =
        local()
            .result("keybridge_explainRequest",
                    json::array{
                        json::object{{"method", "eth_signTransaction"},
                                     {"params", json::array{json::object{{"from", kFirstAccount},
                                                                         {"to", kFirstAccount},
                                                                         {"gas", "0x5208"},
                                                                         {"gasPrice", "0x3b9aca00"},
                                                                         {"nonce", "0x0"},
                                                                         {"value", "0x1"}}}},
                                     {"origin", kPageOrigin}}})
            .as_object();
    EXPECT_EQ(tx.at("details").at("nonce"), json::value("0x0"));
    EXPECT_EQ(tx.at("value"), json::value("1"));
    // An origin that was never connected is refused as it would be.
    EXPECT_EQ(
        local().error_code("keybridge_explainRequest",
                           json::array{json::object{{"method", "personal_sign"},
                                                    {"params", json::array{"0x00", kFirstAccount}},
                                                    {"origin", "https://stranger.example"}}}),
        4100);
    EXPECT_EQ(local().error_code("keybridge_explainRequest",
                                 json::array{json::object{{"method", "eth_chainId"}}}),
              -32602);
    // Pages cannot use it.
    EXPECT_NE(page().error_code("keybridge_explainRequest",
                                json::array{json::object{{"method", "personal_sign"}}}),
              0);
}

// keybridge_explainRequest carries insight's summary, decoded call and warnings (docs/RPC.md's
// example): an unlimited USDC approval to an address the user never used.
TEST_F(Approvals, ExplainRequestCarriesInsight) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    const std::string approve = "0x095ea7b3" + std::string(24, '0') +
                                "3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad" + std::string(64, 'f');
    const json::object explained =
        local()
            .result("keybridge_explainRequest",
                    json::array{json::object{
                        {"method", "eth_signTransaction"},
                        {"params", json::array{json::object{
                                       {"from", kFirstAccount},
                                       {"to", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
                                       {"gas", "0xea60"},
                                       {"maxFeePerGas", "0x6fc23ac00"},
                                       {"maxPriorityFeePerGas", "0x3b9aca00"},
                                       {"nonce", "0x0"},
                                       {"data", approve}}}},
                        {"origin", kPageOrigin}}})
            .as_object();
    EXPECT_EQ(explained.at("summary"),
              json::value("Allow 0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD to spend an unlimited "
                          "amount of USDC on Ethereum"));
    EXPECT_EQ(explained.at("details").at("call").at("function"),
              json::value("approve(address,uint256)"));
    std::vector<std::string> ids;
    for (const auto& w : explained.at("warnings").as_array())
        ids.emplace_back(w.at("id").as_string());
    EXPECT_EQ(ids, (std::vector<std::string>{"unlimited-approval", "approval-to-new-address"}));
    // A plain message stays quiet and is summarised.
    const json::object message =
        local()
            .result("keybridge_explainRequest",
                    json::array{json::object{
                        {"method", "personal_sign"},
                        {"params", json::array{core::hex_encode(core::as_bytes(
                                                   std::string_view("Hello, keybridge"))),
                                               kFirstAccount}},
                        {"origin", kPageOrigin}}})
            .as_object();
    EXPECT_EQ(message.at("summary"), json::value("Sign the message \"Hello, keybridge\""));
    EXPECT_EQ(message.at("warnings"), json::array{});
}

// Cancelling at the unlock prompt rejects the request (4001).
TEST_F(Approvals, UnlockPromptCanBeCancelled) {
    ASSERT_NO_FATAL_FAILURE(start({}, /*unlock=*/false));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    const std::string hex = core::hex_encode(core::as_bytes(std::string("x")));
    auto answer = std::async(std::launch::async, [&] {
        return local().call("personal_sign", json::array{json::string(hex), kFirstAccount});
    });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(control().result("keybridge_respond",
                               json::array{pending[0].at("id"), json::object{{"cancel", true}}}),
              json::value(true));
    EXPECT_EQ(answer.get().at("error").at("code"), json::value(4001));
    EXPECT_EQ(local().result("keybridge_status").at("unlocked"), json::value(false));
}

TEST_F(Approvals, FullQueueAnswersWithALimitError) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-pending-approvals", "1"}));
    auto first = std::async(std::launch::async, [&] { return page().call("eth_requestAccounts"); });
    ASSERT_EQ(wait_pending(control(), 1).size(), 1u);
    json::value second = page("https://other.example").call("eth_requestAccounts");
    EXPECT_EQ(second.at("error").at("code"), json::value(-32005)) << second;
    EXPECT_NE(json::serialize(second).find("too many"), std::string::npos) << second;
    json::array pending = wait_pending(control(), 1);
    control().result("keybridge_decide", decision_for(pending.at(0), "reject"));
    EXPECT_EQ(first.get().at("error").at("code"), json::value(4001));
}

TEST_F(Approvals, WebSocketThatGoesAwayTakesItsRequestsWithIt) {
    ASSERT_NO_FATAL_FAILURE(start());
    {
        WsClient ws(port(), Caller{"", kPageOrigin, false});
        ASSERT_TRUE(ws.open());
        ASSERT_TRUE(ws.send_text(body("eth_requestAccounts")));
        ASSERT_EQ(wait_pending(control(), 1).size(), 1u);
    }
    // Nobody could receive the answer: the user is not asked any more.
    json::value pending;
    for (int i = 0; i < 100; ++i) {
        pending = control().result("keybridge_pendingApprovals");
        if (pending == json::array{}) break;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(pending, json::array{});
    EXPECT_EQ(page().result("eth_accounts"), json::array{});
}

}  // namespace
}  // namespace keybridge::test::e2e
