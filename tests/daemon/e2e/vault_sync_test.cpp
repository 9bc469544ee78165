// keybridged end to end: accounts the keybridge tool derives, imports or removes while the
// daemon runs are followed at once (no unlock needed, except to load imported keys).
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/bytes.h"
#include "core/eip191.h"
#include "core/secp256k1.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

// The key of the web3.js documentation's example account: imported, never derived here.
constexpr const char* kImportedKey =
    "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

constexpr const char* kOtherPhrase =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "about";

// The address at m/44'/60'/0'/0/index of the test vault's phrase (or another).
std::string vault_address(unsigned index,
                          const char* phrase = "all all all all all all all all all all all all") {
    auto seed = core::bip39::seed_from_mnemonic(phrase, "");
    if (!seed) return "";
    auto address =
        core::bip32::ethereum_address(seed->view(), "m/44'/60'/0'/0/" + std::to_string(index));
    return address ? address->to_checksum_string() : "";
}

std::string imported_address() {
    auto bytes = core::hex_decode(kImportedKey, core::HexPrefix::Forbidden);
    if (!bytes) return "";
    auto key = core::PrivateKey::from_bytes(*bytes);
    return key ? core::PublicKey::from_private(*key).address().to_checksum_string() : "";
}

class VaultSync : public DaemonTest {
  protected:
    // personal_sign by the page with `account`; the whole response.
    json::value page_sign(const std::string& text, const std::string& account) {
        return page().call("personal_sign",
                           json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                       json::string(account)});
    }

    static std::string signer_of(const std::string& text, const json::value& response) {
        if (!response.is_object() || !response.as_object().contains("result")) return "";
        auto sig = core::hex_decode(response.at("result").as_string(), core::HexPrefix::Required);
        if (!sig) return "";
        auto signer = core::recover_personal_signer(core::as_bytes(text), *sig);
        return signer ? signer->to_checksum_string() : "";
    }

    // personal_sign by the page with an account whose key is not held: the request waits at
    // the "unlock" stage (no refusal), keybridge_unlock releases it, an approver approves it.
    std::string sign_after_unlock(const std::string& text, const std::string& account) {
        auto answer = std::async(std::launch::async, [&] { return page_sign(text, account); });
        json::array pending = wait_pending(control(), 1);
        EXPECT_EQ(pending.size(), 1u);
        if (pending.size() != 1) return "";
        EXPECT_EQ(pending[0].at("stage"), json::value("needs-input")) << pending[0];
        EXPECT_EQ(pending[0].at("input"), json::value("unlock")) << pending[0];
        EXPECT_EQ(answer.wait_for(200ms), std::future_status::timeout);  // still waiting
        EXPECT_EQ(control().result("keybridge_unlock", json::array{kVaultPassword}),
                  json::value(true));
        Approver approver(control_path(), approve_all());
        const json::value response = answer.get();
        approver.stop();
        return signer_of(text, response);
    }

    // Approves everything; a connect request shares every account.
    static Approver::Rule approve_all() { return approve_sharing_all(); }
};

TEST_F(VaultSync, AccountDerivedWithTheToolIsListedAndSigns) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string second = vault_address(1);
    ASSERT_FALSE(second.empty());
    const std::string output = tool({"account", "derive", "--password-file", password_file_});
    ASSERT_NE(output.find(second), std::string::npos) << output;
    ASSERT_TRUE(wait_accounts(2)) << daemon_.log();

    // A page that connects now is offered both and signs with the new one, no unlock needed.
    Approver approver(control_path(), approve_all());
    EXPECT_EQ(page().result("eth_requestAccounts"),
              (json::array{json::string(lower(kFirstAccount)), json::string(lower(second))}));
    const std::string text = "signed by an account derived while keybridged ran";
    EXPECT_EQ(signer_of(text, page_sign(text, second)), second);
    approver.stop();
}

TEST_F(VaultSync, RemovedAccountDisappearsAndSubscribersHearIt) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string second = vault_address(1);
    tool({"account", "derive", "--password-file", password_file_});
    ASSERT_TRUE(wait_accounts(2));
    {
        Approver approver(control_path(), approve_all());
        EXPECT_EQ(page().result("eth_requestAccounts").as_array().size(), 2u);
    }
    WsClient ws(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(ws.open()) << ws.error();
    ASSERT_TRUE(
        ws.call("eth_subscribe", json::array{"accountsChanged"}).as_object().contains("result"));
    // Another origin without a grant hears nothing.
    WsClient other(port(), Caller{"", "https://other.example", false});
    ASSERT_TRUE(other.open());
    ASSERT_TRUE(
        other.call("eth_subscribe", json::array{"accountsChanged"}).as_object().contains("result"));

    tool({"account", "remove", "--address", second});
    json::value event = ws.next_notification(5s);
    ASSERT_TRUE(event.is_object()) << "no accountsChanged after the removal\n" << daemon_.log();
    EXPECT_EQ(event.at("method"), json::value("eth_subscription"));
    EXPECT_EQ(event.at("params").at("result"), (json::array{json::string(lower(kFirstAccount))}));
    EXPECT_TRUE(other.next_notification(300ms).is_null());

    EXPECT_EQ(page().result("eth_accounts"), (json::array{json::string(lower(kFirstAccount))}));
    EXPECT_EQ(local().result("keybridge_status").at("accounts"), json::value(1));
    // Signing with it is refused before anyone is asked.
    json::value refused = page_sign("gone", second);
    EXPECT_EQ(refused.at("error").at("code"), json::value(4100)) << refused;
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
}

TEST_F(VaultSync, RemovingAnAccountAnswersTheRequestsWaitingToSignWithIt) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string second = vault_address(1);
    tool({"account", "derive", "--password-file", password_file_});
    ASSERT_TRUE(wait_accounts(2));
    {
        Approver approver(control_path(), approve_all());
        EXPECT_EQ(page().result("eth_requestAccounts").as_array().size(), 2u);
    }
    // Two requests wait for the user: one with the account about to go, one with the first.
    WsClient ws(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(ws.open()) << ws.error();
    const auto sign_request = [](int id, const std::string& account) {
        return json::serialize(json::object{
            {"jsonrpc", "2.0"},
            {"id", id},
            {"method", "personal_sign"},
            {"params", json::array{json::string(core::hex_encode(core::as_bytes("wait"))),
                                   json::string(account)}}});
    };
    ASSERT_TRUE(ws.send_text(sign_request(1, second)));
    ASSERT_TRUE(ws.send_text(sign_request(2, kFirstAccount)));
    ASSERT_EQ(wait_pending(control(), 2).size(), 2u);

    tool({"account", "remove", "--address", second});
    auto answer = ws.read_response(5s);
    ASSERT_TRUE(answer.has_value()) << "no answer after the removal\n" << daemon_.log();
    EXPECT_EQ(answer->at("id"), json::value(1)) << *answer;
    EXPECT_EQ(answer->at("error").at("code"), json::value(4100)) << *answer;
    EXPECT_NE(json::serialize(answer->at("error").at("message")).find("removed"), std::string::npos)
        << *answer;
    // The other request still waits, and only it.
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(lower(std::string(pending[0].at("account").as_string())), lower(kFirstAccount))
        << pending[0];
}

TEST_F(VaultSync, KeyImportedWhileUnlockedNeedsAnUnlockToSign) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string imported = imported_address();
    ASSERT_FALSE(imported.empty());
    const std::string key_file = tmp_.write("key", std::string(kImportedKey) + "\n");
    const std::string output = tool(
        {"account", "import", "--private-key-file", key_file, "--password-file", password_file_});
    ASSERT_NE(output.find(imported), std::string::npos) << output;
    ASSERT_TRUE(wait_accounts(2));
    {
        Approver approver(control_path(), approve_all());
        EXPECT_EQ(page().result("eth_requestAccounts").as_array().size(), 2u);
    }
    // Listed, but its key is encrypted under the password keybridged did not keep.
    const std::string text = "imported while unlocked";
    {
        // The accounts it had keys for still sign.
        Approver approver(control_path(), approve_all());
        EXPECT_EQ(signer_of(text, page_sign(text, kFirstAccount)), kFirstAccount);
    }
    // The imported one waits for an unlock, then signs.
    EXPECT_EQ(sign_after_unlock(text, imported), imported);
}

TEST_F(VaultSync, LockedDaemonFollowsTheListAndUnlockLoadsTheKeys) {
    ASSERT_NO_FATAL_FAILURE(start({}, /*unlock=*/false));
    const std::string second = vault_address(1);
    tool({"account", "derive", "--password-file", password_file_});
    ASSERT_TRUE(wait_accounts(2));
    Approver approver(control_path(), approve_all());
    EXPECT_EQ(page().result("eth_requestAccounts").as_array().size(), 2u);
    approver.stop();
    const std::string text = "locked, then unlocked";
    EXPECT_EQ(sign_after_unlock(text, second), second);
}

TEST_F(VaultSync, VaultReplacedByABackupOfAnotherPhrase) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    WsClient ws(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(ws.open()) << ws.error();
    ASSERT_TRUE(
        ws.call("eth_subscribe", json::array{"accountsChanged"}).as_object().contains("result"));

    // A backup of another vault (same password), restored over the running daemon's vault.
    const std::string other_datadir = tmp_.path() + "/other";
    const std::string phrase_file = tmp_.write("other-phrase", std::string(kOtherPhrase) + "\n");
    const std::string backup_file = tmp_.path() + "/other.backup";
    std::string output;
    ASSERT_EQ(
        run_program({KEYBRIDGE_CLI_PATH, "--datadir", other_datadir, "restore", "--mnemonic-file",
                     phrase_file, "--password-file", password_file_, "--light-kdf"},
                    &output),
        0)
        << output;
    ASSERT_EQ(run_program({KEYBRIDGE_CLI_PATH, "--datadir", other_datadir, "backup", "--out",
                           backup_file, "--password-file", password_file_},
                          &output),
              0)
        << output;
    tool({"restore-backup", backup_file, "--password-file", password_file_});

    // The page's account is gone; the new vault's account is listed but its key is not held:
    // the seed keybridged kept is the old phrase's.
    json::value event = ws.next_notification(5s);
    ASSERT_TRUE(event.is_object()) << "no accountsChanged\n" << daemon_.log();
    EXPECT_EQ(event.at("params").at("result"), json::array{});
    ASSERT_TRUE(wait_accounts(1));
    const std::string other = vault_address(0, kOtherPhrase);
    {
        Approver approver(control_path(), approve_all());
        EXPECT_EQ(page().result("wallet_revokePermissions",
                                json::array{json::object{{"eth_accounts", json::object{}}}}),
                  json::value(nullptr));
        EXPECT_EQ(page().result("eth_requestAccounts"), (json::array{json::string(lower(other))}));
    }
    const std::string text = "another phrase";
    EXPECT_EQ(sign_after_unlock(text, other), other);
}

}  // namespace
}  // namespace keybridge::test::e2e
