// keybridged end to end: typed data whose message holds keys its types do not declare. A wallet
// shows the whole message, the EIP-712 hash leaves such keys out, so "note: Approve 1 USDC" beside
// an unlimited Permit would read as a small approval and sign an unlimited one. Refused as invalid
// params before anything reaches an approver.
#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

using TypedDataRefusals = DaemonTest;

constexpr const char* kSpender = "0x1111111111111111111111111111111111111111";
constexpr const char* kMaxUint256 =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

// An EIP-2612 Permit for an unlimited amount, with the members of its types only.
json::object unlimited_permit() {
    const json::value types = json::parse(R"({
        "EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},
                        {"name":"chainId","type":"uint256"},
                        {"name":"verifyingContract","type":"address"}],
        "Permit":[{"name":"owner","type":"address"},{"name":"spender","type":"address"},
                  {"name":"value","type":"uint256"},{"name":"nonce","type":"uint256"},
                  {"name":"deadline","type":"uint256"}]})");
    return json::object{{"types", types},
                        {"primaryType", "Permit"},
                        {"domain", json::object{{"name", "USD Coin"},
                                                {"version", "2"},
                                                {"chainId", 1},
                                                {"verifyingContract",
                                                 "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}}},
                        {"message", json::object{{"owner", kFirstAccount},
                                                 {"spender", kSpender},
                                                 {"value", kMaxUint256},
                                                 {"nonce", 0},
                                                 {"deadline", 4102444800}}}};
}

TEST_F(TypedDataRefusals, PermitWithAnUndeclaredNoteIsRefusedBeforeAnyApproval) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    // An approver that would approve anything: it must never be asked.
    Approver approver(control_path(), [](const json::object&) { return std::string("approve"); });

    json::object attack = unlimited_permit();
    attack["message"].as_object()["note"] = "Approve 1 USDC for this purchase";
    const json::value as_text = json::string(json::serialize(attack));
    for (const char* method : {"eth_signTypedData_v4", "eth_signTypedData_v3"}) {
        for (const json::value& typed : {json::value(attack), as_text}) {
            const json::value answer = page().call(method, json::array{kFirstAccount, typed});
            ASSERT_TRUE(answer.as_object().contains("error")) << method << ": " << answer;
            EXPECT_EQ(answer.at("error").at("code"), json::value(-32602)) << answer;
            const std::string message(answer.at("error").at("message").as_string());
            EXPECT_NE(message.find("message.note"), std::string::npos) << message;
            EXPECT_NE(message.find("extra data provided in the message"), std::string::npos)
                << message;
        }
    }
    // keybridge_explainRequest refuses it the same way: nothing for the approver to show.
    const json::value explained =
        local().call("keybridge_explainRequest",
                     json::array{json::object{{"method", "eth_signTypedData_v4"},
                                              {"params", json::array{kFirstAccount, as_text}},
                                              {"origin", kPageOrigin}}});
    ASSERT_TRUE(explained.as_object().contains("error")) << explained;
    EXPECT_EQ(explained.at("error").at("code"), json::value(-32602)) << explained;

    // A key the domain type does not declare is refused too.
    json::object in_domain = unlimited_permit();
    in_domain["domain"].as_object()["salt"] = "0x01";
    const json::value domain_answer =
        page().call("eth_signTypedData_v4", json::array{kFirstAccount, in_domain});
    EXPECT_EQ(domain_answer.at("error").at("code"), json::value(-32602)) << domain_answer;
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});

    // Without the note the Permit reaches the approver and is signed.
    EXPECT_TRUE(page()
                    .result("eth_signTypedData_v4", json::array{kFirstAccount, unlimited_permit()})
                    .is_string());
    approver.stop();
    const auto seen = approver.seen();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FALSE(seen[0].at("details").at("message").as_object().contains("note"));
}

}  // namespace
}  // namespace keybridge::test::e2e
