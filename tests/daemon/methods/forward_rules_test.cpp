#include "daemon/methods/forward_rules.h"

#include <string>

#include <gtest/gtest.h>

namespace keybridge::daemon {
namespace {

ForwardVerdict verdict(std::string_view name) {
    return classify_unhandled_method(name).verdict;
}

TEST(ForwardRules, ForwardsReadOnlyMethodsOfEveryFamily) {
    for (const char* name : {"eth_getBlockReceipts",
                             "eth_createAccessList",
                             "eth_blobBaseFee",
                             "eth_simulateV1",
                             "eth_getUncleCountByBlockHash",
                             "eth_mining",
                             "eth_callBundle",
                             "eth_fillTransaction",
                             "net_peerCount",
                             "txpool_content",
                             "txpool_status",
                             "trace_transaction",
                             "trace_filter",
                             "ots_getApiLevel",
                             "erigon_getHeaderByNumber",
                             "debug_traceTransaction",
                             "debug_traceCall",
                             "debug_getRawTransaction",
                             "web3_clientVersion",
                             "eth_getProof"}) {
        EXPECT_EQ(verdict(name), ForwardVerdict::Forward) << name;
    }
}

TEST(ForwardRules, DeniesWholeNamespacesThatSignAdministerOrControlTheNode) {
    for (const char* name : {"personal_sign",
                             "personal_unlockAccount",
                             "personal_listAccounts",
                             "personal_ecRecover",
                             "admin_addPeer",
                             "admin_nodeInfo",
                             "miner_start",
                             "miner_setEtherbase",
                             "engine_newPayloadV3",
                             "clique_propose",
                             "clique_getSnapshot",
                             "qbft_proposeValidatorVote",
                             "anvil_setBalance",
                             "anvil_impersonateAccount",
                             "anvil_nodeInfo",
                             "hardhat_setBalance",
                             "evm_mine",
                             "evm_snapshot",
                             "evm_increaseTime",
                             "ganache_snapshot",
                             "tenderly_setBalance",
                             "les_addBalance",
                             "shh_post",
                             "db_putString",
                             "perm_addNodesToAllowlist",
                             "priv_distributeRawTransaction",
                             "eea_sendRawTransaction",
                             "parity_setAuthor",
                             "signer_requestsToConfirm",
                             "plugins_reloadPluginConfig"}) {
        const auto decision = classify_unhandled_method(name);
        EXPECT_EQ(decision.verdict, ForwardVerdict::Denied) << name;
        EXPECT_NE(decision.reason.find(name), std::string::npos) << decision.reason;
    }
}

TEST(ForwardRules, DeniesSigningSendingAndSubmittingVerbsInAnyNamespace) {
    for (const char* name :
         {"eth_sign", "eth_signTransaction", "eth_signTypedData_v5", "eth_sendTransaction",
          "eth_sendUnsignedTransaction", "eth_sendRawTransactionSync", "eth_sendBundle",
          "eth_sendUserOperation", "mev_sendBundle", "flashbots_sendBundle", "eth_submitWork",
          "eth_submitHashrate", "eth_SendTransaction", "relay_signBundle"}) {
        EXPECT_EQ(verdict(name), ForwardVerdict::Denied) << name;
    }
}

TEST(ForwardRules, DeniesNodeAccountAndWalletKeyMethods) {
    for (const char* name :
         {"eth_coinbase", "eth_getWork", "eth_decrypt", "eth_getEncryptionPublicKey"}) {
        EXPECT_EQ(verdict(name), ForwardVerdict::Denied) << name;
    }
}

TEST(ForwardRules, DebugIsDeniedExceptTracingAndRawReads) {
    for (const char* name : {"debug_setHead", "debug_writeMemProfile", "debug_startCPUProfile",
                             "debug_chaindbCompact", "debug_setGCPercent", "debug_dbGet"}) {
        EXPECT_EQ(verdict(name), ForwardVerdict::Denied) << name;
    }
    EXPECT_EQ(verdict("debug_traceBlockByNumber"), ForwardVerdict::Forward);
    EXPECT_EQ(verdict("debug_getRawReceipts"), ForwardVerdict::Forward);
}

TEST(ForwardRules, OwnNamespacesAreNeverForwarded) {
    for (const char* name : {"keybridge_secret", "wallet_sendCalls", "wallet_getCapabilities",
                             "wallet_watchAsset", "rpc_modules"}) {
        EXPECT_EQ(verdict(name), ForwardVerdict::OwnNamespace) << name;
    }
}

TEST(ForwardRules, RefusesNamesThatAreNotNamespaceUnderscoreMethod) {
    for (const std::string& name :
         {std::string(), std::string("eth"), std::string("eth_"), std::string("_eth"),
          std::string("Eth_call"), std::string("eth-call"), std::string("eth_call "),
          std::string("eth_1call"), std::string("eth_ca/ll"), std::string("eth_c\xc3\xa4ll"),
          std::string("ETH_call"), std::string("eth.call"), std::string("eth_call\n"),
          std::string("eth_call\0x", 10), std::string("eth_") + std::string(61, 'a')}) {
        const auto decision = classify_unhandled_method(name);
        EXPECT_EQ(decision.verdict, ForwardVerdict::NotAMethodName) << name;
        EXPECT_FALSE(decision.reason.empty());
    }
    // 64 characters is still a name; the reason never echoes what was sent.
    EXPECT_EQ(verdict("eth_" + std::string(60, 'a')), ForwardVerdict::Forward);
    EXPECT_EQ(verdict("eth_getLogs_v2"), ForwardVerdict::Forward);
    EXPECT_EQ(verdict("web3_sha3"), ForwardVerdict::Forward);
}

}  // namespace
}  // namespace keybridge::daemon
