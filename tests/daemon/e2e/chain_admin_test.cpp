// The chains view's methods (keybridge_chains, keybridge_addChain, keybridge_setUpstream,
// keybridge_removeChain): approvers only; a change applies at once (a dApp on the chain reads
// through the new node) and survives a restart in chains.json (0600); a node URL's API key is
// in no log and no answer; bad input is refused with nothing changed.
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"
#include "tests/daemon/e2e/scripted_node.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using ChainAdmin = DaemonTest;

constexpr const char* kKey = "SECRETKEY0123";

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The node's URL with an API key in its path, as hosted nodes hand them out.
std::string keyed(const ScriptedNode& node) {
    return node.url() + "v3/" + kKey;
}

json::object add_params(std::string chain, std::string name, std::string url) {
    return json::object{{"chainId", chain}, {"name", name}, {"rpcUrl", url}};
}

const json::object* listed(const json::value& chains, std::string_view chain_id) {
    for (const auto& c : chains.as_array())
        if (c.at("chainId") == json::value(chain_id)) return &c.as_object();
    return nullptr;
}

TEST_F(ChainAdmin, OnlyApproversMayListOrChangeChains) {
    ASSERT_NO_FATAL_FAILURE(start());
    ScriptedNode node(31338);
    const json::array add{add_params("0x7a6a", "Devnet", node.url())};
    for (const RpcClient& client : {local(), page()}) {
        EXPECT_EQ(client.error_code("keybridge_chains"), 4100);
        EXPECT_EQ(client.error_code("keybridge_addChain", add), 4100);
        EXPECT_EQ(client.error_code(
                      "keybridge_setUpstream",
                      json::array{json::object{{"chainId", "0x1"}, {"rpcUrl", node.url()}}}),
                  4100);
        EXPECT_EQ(client.error_code("keybridge_removeChain",
                                    json::array{json::object{{"chainId", "0x1"}}}),
                  4100);
    }
    EXPECT_EQ(node.calls("eth_chainId"), 0u);
    EXPECT_FALSE(listed(control().result("keybridge_chains"), "0x7a6a"));
    EXPECT_NE(listed(control().result("keybridge_chains"), "0x1"), nullptr);
}

TEST_F(ChainAdmin, AddedChainAndNewUpstreamServeAtOnceAndSurviveARestart) {
    ScriptedNode configured(1);
    configured.answer("eth_blockNumber", "0x10");
    ScriptedNode first(31338);
    first.answer("eth_blockNumber", "0x111");
    ScriptedNode second(31338);
    second.answer("eth_blockNumber", "0x222");
    ScriptedNode mainnet(1);
    mainnet.answer("eth_blockNumber", "0x333");
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=" + configured.url() + ",Ethereum"}));

    json::value added = control().result(
        "keybridge_addChain", json::array{add_params("0x7a6a", "Devnet <b>", keyed(first))});
    EXPECT_EQ(added.at("source"), json::value("user"));
    EXPECT_EQ(added.at("reachable"), json::value(true));
    EXPECT_EQ(added.at("name"), json::value("Devnet <b>"));
    // The answer shows where the node is, never its key.
    EXPECT_EQ(json::serialize(added).find(kKey), std::string::npos);
    EXPECT_EQ(first.calls("eth_chainId"), 1u);

    // A dApp switches to it and reads through its node.
    RpcClient dapp = page();
    EXPECT_EQ(
        dapp.result("wallet_switchEthereumChain", json::array{json::object{{"chainId", "0x7a6a"}}}),
        json::value(nullptr));
    EXPECT_EQ(dapp.result("eth_blockNumber"), json::value("0x111"));

    // A new node for the chain: the next read goes there.
    json::value moved = control().result(
        "keybridge_setUpstream",
        json::array{json::object{{"chainId", "0x7a6a"}, {"rpcUrl", keyed(second)}}});
    EXPECT_EQ(moved.at("reachable"), json::value(true));
    EXPECT_EQ(dapp.result("eth_blockNumber"), json::value("0x222"));
    // And a configured chain's node can be replaced as well.
    control().result("keybridge_setUpstream",
                     json::array{json::object{{"chainId", "0x1"}, {"rpcUrl", mainnet.url()}}});
    EXPECT_EQ(local().result("eth_blockNumber"), json::value("0x333"));
    json::value chains = control().result("keybridge_chains");
    ASSERT_NE(listed(chains, "0x1"), nullptr);
    EXPECT_EQ(listed(chains, "0x1")->at("upstreamChanged"), json::value(true));
    EXPECT_EQ(listed(chains, "0x1")->at("removable"), json::value(false));
    EXPECT_EQ(listed(chains, "0x7a6a")->at("removable"), json::value(true));

    const std::string path = datadir_ + "/chains.json";
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_NE(file_text(path).find(kKey), std::string::npos) << "the file keeps the whole URL";

    // A restart with the same configuration: both choices hold.
    daemon_.signal(SIGTERM);
    ASSERT_EQ(daemon_.wait_exit(10s), 0);
    EXPECT_EQ(daemon_.log().find(kKey), std::string::npos) << daemon_.log();
    DaemonProcess again;
    std::vector<std::string> args = base_args(false);
    args.insert(args.end(), {"--chain", "1=" + configured.url() + ",Ethereum"});
    ASSERT_TRUE(again.start(args)) << again.log();
    chains = control().result("keybridge_chains");
    ASSERT_NE(listed(chains, "0x7a6a"), nullptr) << chains;
    EXPECT_EQ(listed(chains, "0x7a6a")->at("name"), json::value("Devnet <b>"));
    EXPECT_EQ(listed(chains, "0x1")->at("upstreamChanged"), json::value(true));
    RpcClient dapp_again(again.port(), Caller{"", kPageOrigin, false});
    dapp_again.result("wallet_switchEthereumChain",
                      json::array{json::object{{"chainId", "0x7a6a"}}});
    EXPECT_EQ(dapp_again.result("eth_blockNumber"), json::value("0x222"));

    // Setting the configured node again undoes the choice; removing the added chain forgets it.
    control().result("keybridge_setUpstream",
                     json::array{json::object{{"chainId", "0x1"}, {"rpcUrl", configured.url()}}});
    EXPECT_EQ(
        control().result("keybridge_removeChain", json::array{json::object{{"chainId", "0x7a6a"}}}),
        json::value(true));
    // The origin that used it is on the default chain now.
    EXPECT_EQ(dapp_again.result("eth_chainId"), json::value("0x1"));
    EXPECT_EQ(file_text(path).find("7a6a"), std::string::npos);
    EXPECT_EQ(file_text(path).find("31338"), std::string::npos);
    chains = control().result("keybridge_chains");
    EXPECT_EQ(listed(chains, "0x7a6a"), nullptr);
    EXPECT_EQ(listed(chains, "0x1")->at("upstreamChanged"), json::value(false));
    again.signal(SIGTERM);
    EXPECT_EQ(again.wait_exit(10s), 0) << again.log();
    EXPECT_EQ(again.log().find(kKey), std::string::npos) << again.log();
    EXPECT_EQ(again.log().find("Sanitizer"), std::string::npos) << again.log();
}

// Insight names chains in its explanations: a chain the user added is named as the user named
// it from the moment it is added, and no longer once it is removed.
TEST_F(ChainAdmin, ExplanationsNameTheUsersChains) {
    ScriptedNode devnet(31338);
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    // Typed data for chain 31338 (the caller is on chain 1): its summary names that chain.
    const json::object typed{
        {"types",
         json::object{
             {"EIP712Domain", json::array{json::object{{"name", "name"}, {"type", "string"}},
                                          json::object{{"name", "chainId"}, {"type", "uint256"}}}},
             {"Mail", json::array{json::object{{"name", "contents"}, {"type", "string"}}}}}},
        {"primaryType", "Mail"},
        {"domain", json::object{{"name", "Post"}, {"chainId", 31338}}},
        {"message", json::object{{"contents", "hello"}}}};
    auto summary = [&] {
        const json::value explained = local().result(
            "keybridge_explainRequest",
            json::array{json::object{{"method", "eth_signTypedData_v4"},
                                     {"params", json::array{kFirstAccount, typed}}}});
        return std::string(explained.at("summary").as_string());
    };
    EXPECT_EQ(summary(), "Sign Mail data for Post on chain 31338");
    control().result("keybridge_addChain",
                     json::array{add_params("0x7a6a", "Devnet Seven", devnet.url())});
    EXPECT_EQ(summary(), "Sign Mail data for Post on Devnet Seven");
    EXPECT_EQ(
        control().result("keybridge_removeChain", json::array{json::object{{"chainId", "0x7a6a"}}}),
        json::value(true));
    EXPECT_EQ(summary(), "Sign Mail data for Post on chain 31338");
}

// Waits until `node` had at least `count` calls of `method`.
bool wait_calls(const ScriptedNode& node, const std::string& method, std::size_t count,
                std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (node.calls(method) < count) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

// The feeds poll the new node from the next poll on (the pending-transaction filter is made
// again there, the old one uninstalled); a client's eth_newFilter filter made on the old node
// goes (uninstalled there, "filter not found" to its owner, who makes a new one).
TEST_F(ChainAdmin, ANewNodeTakesOverTheFeedsAndDropsTheOldNodesFilters) {
    ScriptedNode first(31338);
    ScriptedNode second(31338);
    for (ScriptedNode* node : {&first, &second}) {
        node->serve_defaults();
        node->answer("eth_newFilter", "0xf1");
        node->answer("eth_newPendingTransactionFilter", "0xf2");
        node->answer("eth_getFilterChanges", json::array{});
        node->answer("eth_uninstallFilter", true);
    }
    ASSERT_NO_FATAL_FAILURE(start({"--poll-interval", "50"}));
    control().result("keybridge_addChain",
                     json::array{add_params("0x7a6a", "Devnet", first.url())});
    WsClient dapp(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(dapp.open()) << dapp.error();
    EXPECT_EQ(
        dapp.call("wallet_switchEthereumChain", json::array{json::object{{"chainId", "0x7a6a"}}})
            .at("result"),
        json::value(nullptr));
    json::value sub = dapp.call("eth_subscribe", json::array{"newPendingTransactions"});
    ASSERT_TRUE(sub.as_object().contains("result")) << sub;
    json::value filter = dapp.call("eth_newFilter", json::array{json::object{}});
    ASSERT_TRUE(filter.as_object().contains("result")) << filter;
    const json::value id = filter.at("result");
    EXPECT_EQ(dapp.call("eth_getFilterChanges", json::array{id}).at("result"), json::array{});
    ASSERT_TRUE(wait_calls(first, "eth_newPendingTransactionFilter", 1));
    EXPECT_EQ(second.calls("eth_newPendingTransactionFilter"), 0u);

    control().result("keybridge_setUpstream",
                     json::array{json::object{{"chainId", "0x7a6a"}, {"rpcUrl", second.url()}}});
    // The pending filter moves, the old one and the client's filter are uninstalled there.
    EXPECT_TRUE(wait_calls(second, "eth_newPendingTransactionFilter", 1));
    EXPECT_TRUE(wait_calls(first, "eth_uninstallFilter", 2)) << first.calls("eth_uninstallFilter");
    EXPECT_TRUE(wait_calls(second, "eth_blockNumber", 1));
    json::value gone = dapp.call("eth_getFilterChanges", json::array{id});
    ASSERT_TRUE(gone.as_object().contains("error")) << gone;
    EXPECT_EQ(gone.at("error").at("code"), json::value(-32000));
    // A new filter is made on the new node.
    EXPECT_TRUE(
        dapp.call("eth_newFilter", json::array{json::object{}}).as_object().contains("result"));
    EXPECT_EQ(second.calls("eth_newFilter"), 1u);
    const std::size_t polled = first.calls("eth_blockNumber");
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(first.calls("eth_blockNumber"), polled) << "the old node is polled no more";
}

TEST_F(ChainAdmin, BadInputIsRefusedAndChangesNothing) {
    ScriptedNode other(5);  // serves chain 5, whatever the user says
    ASSERT_NO_FATAL_FAILURE(start());
    const ControlClient c = control();
    auto add = [&](json::value chain, json::value name, json::value url) {
        json::object o{{"chainId", chain}, {"name", name}, {"rpcUrl", url}};
        return c.error_code("keybridge_addChain", json::array{o});
    };
    const json::value node(other.url());
    EXPECT_EQ(add("0x0", "Zero", node), -32602);
    EXPECT_EQ(add("0x20000000000000", "Too big", node), -32602);
    EXPECT_EQ(add(7, "Not hex", node), -32602);
    EXPECT_EQ(add("0x7", "", node), -32602);
    EXPECT_EQ(add("0x7", "line\nbreak", node), -32602);
    EXPECT_EQ(add("0x7", json::value(std::string(65, 'n')), node), -32602);
    EXPECT_EQ(add("0x7", 7, node), -32602);
    EXPECT_EQ(add("0x7", "Seven", "ftp://127.0.0.1/"), -32602);
    EXPECT_EQ(add("0x7", "Seven", "javascript:alert(1)"), -32602);
    EXPECT_EQ(add("0x7", "Seven", "http://"), -32602);
    EXPECT_EQ(add("0x7", "Seven", json::value(nullptr)), -32602);
    EXPECT_EQ(c.error_code("keybridge_addChain", json::array{"0x7"}), -32602);
    EXPECT_EQ(c.error_code("keybridge_addChain", json::array{}), -32602);
    // The node answers for another chain: refused, and the message says which.
    json::value wrong =
        c.call("keybridge_addChain", json::array{add_params("0x7", "Seven", other.url())});
    EXPECT_EQ(wrong.at("error").at("code"), json::value(-32602));
    EXPECT_NE(std::string(wrong.at("error").at("message").as_string()).find("serves chain 5"),
              std::string::npos)
        << wrong;
    // The default chain is known already; unknown chains have no node to change; configured
    // chains are not removed from here.
    EXPECT_EQ(add("0x1", "Again", node), -32602);
    EXPECT_EQ(c.error_code("keybridge_setUpstream",
                           json::array{json::object{{"chainId", "0x9"}, {"rpcUrl", other.url()}}}),
              4902);
    EXPECT_EQ(c.error_code("keybridge_setUpstream",
                           json::array{json::object{{"chainId", "0x1"}, {"rpcUrl", "file:///"}}}),
              -32602);
    EXPECT_EQ(c.error_code("keybridge_removeChain", json::array{json::object{{"chainId", "0x1"}}}),
              -32602);
    EXPECT_EQ(c.error_code("keybridge_removeChain", json::array{json::object{{"chainId", "0x9"}}}),
              4902);
    EXPECT_EQ(c.result("keybridge_chains").as_array().size(), 1u);
    struct stat st {};
    EXPECT_NE(::stat((datadir_ + "/chains.json").c_str(), &st), 0) << "nothing was saved";
}

}  // namespace
}  // namespace keybridge::test::e2e
