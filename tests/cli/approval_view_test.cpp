#include "cli/approval_view.h"

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

namespace json = boost::json;

TEST(FormatUnits, PlacesTheDecimalPointAndDropsTrailingZeros) {
    EXPECT_EQ(format_units("1500000000000000000", 18), "1.5");
    EXPECT_EQ(format_units("1000000000000000000", 18), "1");
    EXPECT_EQ(format_units("1", 18), "0.000000000000000001");
    EXPECT_EQ(format_units("0", 18), "0");
    EXPECT_EQ(format_units("000120", 9), "0.00000012");
    EXPECT_EQ(format_units("30000000000", 9), "30");
    EXPECT_EQ(format_units("123456789012345678901234567890", 18), "123456789012.34567890123456789");
    EXPECT_EQ(format_units("42", 0), "42");
}

json::object request(std::string method, json::object details) {
    return json::object{{"id", 9},
                        {"origin", "https://app.example"},
                        {"authenticated", false},
                        {"method", std::move(method)},
                        {"account", "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"},
                        {"chainId", 1},
                        {"details", std::move(details)},
                        {"warnings", json::array{json::object{{"id", "binary-32-byte-message"},
                                                              {"severity", "warning"},
                                                              {"title", "Look out\x1b[0m"},
                                                              {"detail", "It may be a hash."}}}},
                        {"created", 0}};
}

TEST(RenderApproval, ShowsWhoAsksAndEscapedWarnings) {
    const std::string text = render_approval(
        request("personal_sign", {{"message", "hi"}, {"messageHex", "0x6869"}, {"length", 2}}),
        false);
    EXPECT_NE(text.find("Request 9: personal_sign\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  Origin:   https://app.example\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("authenticated with"), std::string::npos) << text;
    EXPECT_NE(text.find("  Account:  0x73d0385F4d8E00C5e6504C6030F47BF6212736A8\n"),
              std::string::npos);
    EXPECT_NE(text.find("  Chain:    1\n"), std::string::npos);
    EXPECT_NE(text.find("    | hi\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  !  WARNING: Look out\\x1b[0m [binary-32-byte-message]\n"
                        "      It may be a hash.\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    const std::string colored = render_approval(request("personal_sign", {}), true);
    EXPECT_NE(
        colored.find("\x1b[1;33m!  WARNING: Look out\\x1b[0m [binary-32-byte-message]\x1b[0m"),
        std::string::npos)
        << colored;
}

TEST(RenderApproval, SummaryLineIsShownEscaped) {
    json::object r = request("eth_sendTransaction", {{"to", "0x2c75"}});
    r["summary"] = "Send 12.5 USDC to 0xAb58\x1b[2J on Ethereum";
    const std::string text = render_approval(r, false);
    EXPECT_NE(text.find("  Summary:  Send 12.5 USDC to 0xAb58\\x1b[2J on Ethereum\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(RenderApproval, WarningsShowSeverityMostSeriousFirst) {
    json::object r = request("eth_sign", {{"hash", "0x00"}});
    r["warnings"] = json::array{
        json::object{
            {"id", "a"}, {"severity", "info"}, {"title", "For your information"}, {"detail", ""}},
        json::object{{"id", "eth-sign-opaque-hash"},
                     {"severity", "danger"},
                     {"title", "eth_sign signs an opaque hash"},
                     {"detail", "It can stand for anything."}},
        "an old daemon's sentence"};
    const std::string text = render_approval(r, false);
    const auto danger = text.find(
        "  !! DANGER: eth_sign signs an opaque hash [eth-sign-opaque-hash]\n"
        "      It can stand for anything.\n");
    const auto plain = text.find("  !  WARNING: an old daemon's sentence\n");
    const auto info = text.find("  i  INFO: For your information [a]\n");
    ASSERT_NE(danger, std::string::npos) << text;
    ASSERT_NE(plain, std::string::npos) << text;
    ASSERT_NE(info, std::string::npos) << text;
    EXPECT_LT(danger, plain);
    EXPECT_LT(plain, info);
    const std::string colored = render_approval(r, true);
    EXPECT_NE(colored.find("\x1b[1;31m!! DANGER: eth_sign"), std::string::npos) << colored;
    EXPECT_NE(colored.find("  i  INFO: For your information [a]\n"), std::string::npos) << colored;
}

TEST(RenderApproval, ConnectRequestNumbersTheAccountsAndMarksTheDefault) {
    json::array accounts{
        json::object{{"address", "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"},
                     {"name", "Main\x1b[2J"},
                     {"granted", true},
                     {"default", true}},
        json::object{{"address", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
                     {"granted", false},
                     {"default", false}},
    };
    const std::string text = render_approval(
        request("eth_requestAccounts", {{"accounts", accounts}, {"again", true}}), false);
    EXPECT_NE(text.find("Already connected: it asks again"), std::string::npos) << text;
    EXPECT_NE(text.find("Accounts it may see (* = shared unless you choose):\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("    * 1. 0x73d0385F4d8E00C5e6504C6030F47BF6212736A8  \"Main\\x1b[2J\""
                        "  (sees it now)\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("      2. 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n"), std::string::npos)
        << text;
    const std::string first = render_approval(
        request("eth_requestAccounts", {{"accounts", accounts}, {"again", false}}), false);
    EXPECT_EQ(first.find("Already connected"), std::string::npos) << first;
}

TEST(RenderApproval, BinaryMessageAsHex) {
    const std::string text = render_approval(
        request(
            "personal_sign",
            {{"message", nullptr}, {"messageHex", "0x" + std::string(80, 'a')}, {"length", 40}}),
        false);
    EXPECT_NE(text.find("Message (not text, 40 bytes, shown in hex):\n"), std::string::npos);
    EXPECT_NE(text.find("    0x" + std::string(64, 'a') + "\n      " + std::string(16, 'a') + "\n"),
              std::string::npos)
        << text;
}

TEST(RenderApproval, LegacyTypedDataAndChainProposal) {
    json::array fields{json::object{{"type", "string"}, {"name", "Message"}, {"value", "Hi"}},
                       json::object{{"type", "uint32"}, {"name", "A number"}, {"value", "1337"}}};
    std::string text = render_approval(request("eth_signTypedData", {{"fields", fields}}), false);
    EXPECT_NE(text.find("    Message (string): Hi\n    A number (uint32): 1337\n"),
              std::string::npos)
        << text;
    text = render_approval(request("wallet_addEthereumChain", {{"chainId", "0x89"},
                                                               {"chainName", "Polygon"},
                                                               {"rpcUrl", "https://rpc.example/"}}),
                           false);
    EXPECT_NE(text.find("  Chain to add:    Polygon (id 137)\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  Its RPC node:    https://rpc.example/\n"), std::string::npos) << text;
}

TEST(RenderApproval, ContractCreationAndLegacyGasPrice) {
    const std::string text = render_approval(
        request("eth_sendTransaction", {{"type", "0x0"},
                                        {"from", "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"},
                                        {"to", nullptr},
                                        {"value", "0x0"},
                                        {"gas", "0x5208"},
                                        {"gasPrice", "0x3b9aca00"},
                                        {"nonce", "0x0"},
                                        {"chainId", "0x1"},
                                        {"data", "0x6000"},
                                        {"maxFeeWei", "21000000000000"}}),
        false);
    EXPECT_NE(text.find("Transaction (legacy, type 0):"), std::string::npos) << text;
    EXPECT_NE(text.find("To:              (none: creates a contract)"), std::string::npos);
    EXPECT_NE(text.find("Value:           0 ETH (0 wei)"), std::string::npos);
    EXPECT_NE(text.find("Gas price:       1 gwei (1000000000 wei)"), std::string::npos);
    EXPECT_NE(text.find("Max network fee: 0.000021 ETH (21000000000000 wei)"), std::string::npos);
    EXPECT_NE(text.find("Data:            2 bytes\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace keybridge::cli
