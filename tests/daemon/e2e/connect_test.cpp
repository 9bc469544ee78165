// keybridged end to end: connecting a page. The approver chooses which accounts it sees, and a
// connected page is asked again only when the vault holds accounts it was never shown.
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

// The address at m/44'/60'/0'/0/index of the test vault's phrase.
std::string derived_address(unsigned index) {
    auto seed =
        core::bip39::seed_from_mnemonic("all all all all all all all all all all all all", "");
    if (!seed) return "";
    auto address =
        core::bip32::ethereum_address(seed->view(), "m/44'/60'/0'/0/" + std::to_string(index));
    return address ? address->to_checksum_string() : "";
}

json::array lower_list(std::initializer_list<std::string> addresses) {
    json::array out;
    for (const auto& a : addresses)
        out.push_back(json::string(lower(a)));
    return out;
}

class Connect : public DaemonTest {
  protected:
    // Derives `count` more accounts with the keybridge tool and waits until keybridged lists
    // `total` accounts.
    void derive(std::size_t count, std::size_t total) {
        tool({"account", "derive", "--count", std::to_string(count), "--password-file",
              password_file_});
        ASSERT_TRUE(wait_accounts(total)) << daemon_.log();
    }

    // Starts `method` for the page in the background and returns the one connect request the
    // approver then sees.
    json::object ask(std::future<json::value>& answer, const std::string& method) {
        json::value params =
            method == "wallet_requestPermissions"
                ? json::value(json::array{json::object{{"eth_accounts", json::object{}}}})
                : json::value(json::array{});
        answer = std::async(std::launch::async,
                            [this, method, params] { return page().call(method, params); });
        json::array pending = wait_pending(control(), 1);
        EXPECT_EQ(pending.size(), 1u) << pending;
        if (pending.size() != 1) return {};
        EXPECT_EQ(pending[0].at("method"), json::value("eth_requestAccounts"));
        return pending[0].as_object();
    }

    // keybridge_decide [id, decision, {"digest": …, "accounts": accounts}] (no accounts when
    // empty).
    json::value decide(const json::object& request, const std::string& decision,
                       json::array accounts = {}) const {
        json::object terms{{"digest", request.at("digest")}};
        if (!accounts.empty()) terms["accounts"] = std::move(accounts);
        return control().call("keybridge_decide",
                              json::array{request.at("id"), json::string(decision), terms});
    }

    // The page asks, and is answered at once with `expected`, no approval involved.
    void expect_answered_at_once(const std::string& method, const json::array& expected) {
        json::value params =
            method == "wallet_requestPermissions"
                ? json::value(json::array{json::object{{"eth_accounts", json::object{}}}})
                : json::value(json::array{});
        json::value answer = page().result(method, params);
        if (method == "wallet_requestPermissions") {
            ASSERT_TRUE(answer.is_array() && answer.as_array().size() == 1) << answer;
            answer = answer.at(0).at("caveats").at(0).at("value");
        }
        EXPECT_EQ(answer, json::value(expected)) << method;
        EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
    }
};

TEST_F(Connect, ApproverChoosesTheAccountsThePageSees) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(derive(2, 3));
    const std::string second = derived_address(1);
    const std::string third = derived_address(2);
    tool({"account", "rename", "--address", third, "--name", "Savings"});

    std::future<json::value> answer;
    const json::object request = ask(answer, "eth_requestAccounts");
    ASSERT_FALSE(request.empty());
    // Every account is a candidate, named as in the vault; only the first is the default.
    const json::array& offered = request.at("details").at("accounts").as_array();
    ASSERT_EQ(offered.size(), 3u) << request;
    EXPECT_EQ(offered_addresses(request), (json::array{json::string(kFirstAccount),
                                                       json::string(second), json::string(third)}));
    EXPECT_EQ(offered[2].at("name"), json::value("Savings"));
    EXPECT_EQ(offered[0].at("default"), json::value(true));
    EXPECT_EQ(offered[1].at("default"), json::value(false));
    EXPECT_EQ(offered[2].at("granted"), json::value(false));
    EXPECT_EQ(request.at("details").at("again"), json::value(false));

    // Chosen in this order, in any letter case.
    EXPECT_EQ(decide(request, "approve", json::array{json::string(lower(third)), kFirstAccount})
                  .at("result"),
              json::value(true));
    const json::array chosen = lower_list({third, kFirstAccount});
    EXPECT_EQ(answer.get().at("result"), json::value(chosen));
    EXPECT_EQ(page().result("eth_accounts"), json::value(chosen));
    json::value grants = local().result("keybridge_permissions");
    EXPECT_EQ(grants.at(kPageOrigin).at("accounts"),
              (json::array{json::string(third), json::string(kFirstAccount)}));
    // The second account was shown and not chosen: asking again does not bother the user.
    expect_answered_at_once("eth_requestAccounts", chosen);
    expect_answered_at_once("wallet_requestPermissions", chosen);
    // Signing with the account that was not chosen is refused.
    EXPECT_EQ(page().error_code("personal_sign", json::array{"0x01", json::string(second)}), 4100);
}

TEST_F(Connect, ApprovalWithoutAChoiceSharesTheFirstAccount) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(derive(1, 2));
    std::future<json::value> answer;
    const json::object request = ask(answer, "wallet_requestPermissions");
    ASSERT_FALSE(request.empty());
    EXPECT_EQ(decide(request, "approve").at("result"), json::value(true));
    json::value permissions = answer.get().at("result");
    EXPECT_EQ(permissions.at(0).at("caveats").at(0).at("value"),
              json::value(lower_list({kFirstAccount})));
    EXPECT_EQ(page().result("eth_accounts"), json::value(lower_list({kFirstAccount})));
}

TEST_F(Connect, InvalidChoicesAreRefusedAndTheRequestStillWaits) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(derive(1, 2));
    const std::string second = derived_address(1);
    std::future<json::value> answer;
    const json::object request = ask(answer, "eth_requestAccounts");
    ASSERT_FALSE(request.empty());

    const auto refusal = [&](json::array params, const std::string& expected_text) {
        json::value r = control().call("keybridge_decide", params);
        ASSERT_TRUE(r.as_object().contains("error")) << r;
        EXPECT_EQ(r.at("error").at("code"), json::value(-32602)) << r;
        EXPECT_NE(json::serialize(r.at("error").at("message")).find(expected_text),
                  std::string::npos)
            << r;
    };
    const json::value id = request.at("id");
    const json::value digest = request.at("digest");
    const std::string not_in_vault = derived_address(7);
    refusal({id, "approve", json::object{{"digest", digest}, {"accounts", json::array{}}}},
            "non-empty");
    refusal({id, "approve", json::object{{"digest", digest}, {"accounts", nullptr}}}, "non-empty");
    refusal(
        {id, "approve",
         json::object{{"digest", digest}, {"accounts", json::array{json::string(not_in_vault)}}}},
        "is not an account of the vault");
    refusal({id, "approve", json::object{{"digest", digest}, {"accounts", json::array{"0x1234"}}}},
            "params[2].accounts[0] must be a 20-byte hex address");
    refusal({id, "approve",
             json::object{{"digest", digest},
                          {"accounts", json::array{json::string(second), json::string(second)}}}},
            "params[2].accounts[1]: " + second + " is listed twice");
    refusal(
        {id, "approve",
         json::object{
             {"digest", digest}, {"accounts", json::array{json::string(second)}}, {"all", true}}},
        "unknown field 'all'");
    refusal({id, "approve", json::array{json::string(second)}}, "must be an object");
    refusal({id, "reject",
             json::object{{"digest", digest}, {"accounts", json::array{json::string(second)}}}},
            "only with \\\"approve\\\"");
    refusal({json::value(9999), "approve",
             json::object{{"digest", digest}, {"accounts", json::array{json::string(second)}}}},
            "no pending request 9999");
    EXPECT_EQ(control().result("keybridge_pendingApprovals").as_array().size(), 1u);

    // Accounts go only with connect requests.
    auto add_chain = std::async(std::launch::async, [&] {
        return page().call(
            "wallet_addEthereumChain",
            json::array{json::object{{"chainId", "0x5"},
                                     {"chainName", "Goerli"},
                                     {"rpcUrls", json::array{"https://x.example"}}}});
    });
    json::array pending = wait_pending(control(), 2);
    ASSERT_EQ(pending.size(), 2u);
    const json::value other_id = pending[1].at("id");
    refusal({other_id, "approve",
             json::object{{"digest", pending[1].at("digest")},
                          {"accounts", json::array{kFirstAccount}}}},
            "only connect requests");
    EXPECT_EQ(control().result("keybridge_decide",
                               json::array{other_id, "reject",
                                           json::object{{"digest", pending[1].at("digest")}}}),
              json::value(true));
    EXPECT_EQ(add_chain.get().at("error").at("code"), json::value(4001));

    // A valid choice still decides the request.
    EXPECT_EQ(decide(request, "approve", json::array{json::string(second)}).at("result"),
              json::value(true));
    EXPECT_EQ(answer.get().at("result"), json::value(lower_list({second})));
}

TEST_F(Connect, ConnectedPageIsAskedAgainOnlyForAccountsItWasNeverShown) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    const json::array first_only = lower_list({kFirstAccount});
    expect_answered_at_once("eth_requestAccounts", first_only);

    // A new account: the page is asked again, its current account granted and the default.
    ASSERT_NO_FATAL_FAILURE(derive(1, 2));
    std::future<json::value> answer;
    json::object request = ask(answer, "eth_requestAccounts");
    ASSERT_FALSE(request.empty());
    EXPECT_EQ(request.at("details").at("again"), json::value(true));
    const json::array& offered = request.at("details").at("accounts").as_array();
    ASSERT_EQ(offered.size(), 2u);
    EXPECT_EQ(offered[0].at("granted"), json::value(true));
    EXPECT_EQ(offered[0].at("default"), json::value(true));
    EXPECT_EQ(offered[1].at("granted"), json::value(false));
    EXPECT_EQ(offered[1].at("default"), json::value(false));
    // Rejected: the page keeps what it had, and the new account now counts as shown.
    EXPECT_EQ(decide(request, "reject").at("result"), json::value(true));
    EXPECT_EQ(answer.get().at("result"), json::value(first_only));
    expect_answered_at_once("eth_requestAccounts", first_only);
    expect_answered_at_once("wallet_requestPermissions", first_only);

    // Another one, asked through EIP-2255; approved without a choice: the grant stays as it was.
    ASSERT_NO_FATAL_FAILURE(derive(1, 3));
    request = ask(answer, "wallet_requestPermissions");
    ASSERT_FALSE(request.empty());
    EXPECT_EQ(decide(request, "approve").at("result"), json::value(true));
    EXPECT_EQ(answer.get().at("result").at(0).at("caveats").at(0).at("value"),
              json::value(first_only));
    expect_answered_at_once("eth_requestAccounts", first_only);

    // And one more, shared this time.
    ASSERT_NO_FATAL_FAILURE(derive(1, 4));
    const std::string fourth = derived_address(3);
    request = ask(answer, "eth_requestAccounts");
    ASSERT_FALSE(request.empty());
    EXPECT_EQ(
        decide(request, "approve", json::array{kFirstAccount, json::string(fourth)}).at("result"),
        json::value(true));
    const json::array both = lower_list({kFirstAccount, fourth});
    EXPECT_EQ(answer.get().at("result"), json::value(both));
    expect_answered_at_once("eth_requestAccounts", both);

    // What was shown is kept with the grant, so it survives a restart of keybridged.
    std::ifstream file(datadir_ + "/permissions.json");
    std::stringstream text;
    text << file.rdbuf();
    json::value saved = json::parse(text.str());
    EXPECT_EQ(saved.at("origins").at(kPageOrigin).at("offered").as_array().size(), 4u) << saved;

    // A revocation forgets it: the next request is a first connect again.
    page().result("wallet_revokePermissions",
                  json::array{json::object{{"eth_accounts", json::object{}}}});
    request = ask(answer, "eth_requestAccounts");
    ASSERT_FALSE(request.empty());
    EXPECT_EQ(request.at("details").at("again"), json::value(false));
    EXPECT_EQ(decide(request, "reject").at("result"), json::value(true));
    EXPECT_EQ(answer.get().at("error").at("code"), json::value(4001));
}

}  // namespace
}  // namespace keybridge::test::e2e
