// A request is one immutable object from arrival to audit, decided only as it was shown, and
// withdrawn when its origin moves to another chain. Checked against the real daemon with
// scripted (slowed, inconsistent) chain nodes:
//   - wallet_switchEthereumChain while the node fills a transaction, while it waits for a
//     decision, while it waits for an unlock: cancelled with 4901, never shown for the other
//     chain, never approved by a policy for the other chain, nothing signed or broadcast;
//   - a nonce that moves between the approval and the broadcast (5, then 9): asked again with
//     the new nonce, never swapped silently;
//   - keybridge_decide with a digest that is not the shown request's: refused, still pending.
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/transaction.h"
#include "tests/daemon/e2e/daemon_process.h"
#include "tests/daemon/e2e/scripted_node.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kMainnet = "0x1";
constexpr const char* kDevnet = "0x7a69";  // 31337

class PendingRequests : public DaemonTest {
  protected:
    // keybridged with chain 1 (the default) and 31337 on scripted nodes, the policy `policy`,
    // the vault unlocked at start unless `unlock` is false, and the first account granted to
    // the local client.
    void start_with_nodes(const std::string& policy, bool unlock = true) {
        mainnet_.serve_defaults();
        devnet_.serve_defaults();
        std::vector<std::string> args{"--chain", "1=" + mainnet_.url(), "--chain",
                                      "31337=" + devnet_.url()};
        if (!policy.empty()) {
            args.push_back("--policy");
            args.push_back(tmp_.write("policy", policy));
        }
        ASSERT_NO_FATAL_FAILURE(start(args, unlock));
        ASSERT_NO_FATAL_FAILURE(connect_account(local()));  // granted while locked too
    }

    static json::value one_eth_transfer() {
        return json::array{json::object{{"from", kFirstAccount},
                                        {"to", "0x00000000000000000000000000000000000000aa"},
                                        {"value", "0xde0b6b3a7640000"}}};  // 1 ETH
    }

    void switch_chain(const RpcClient& client, const char* chain) const {
        EXPECT_EQ(client.result("wallet_switchEthereumChain",
                                json::array{json::object{{"chainId", chain}}}),
                  json::value(nullptr));
    }

    // Waits until `node` has seen more than `before` calls of `method`.
    static bool wait_calls(const ScriptedNode& node, const std::string& method,
                           std::size_t before) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (node.calls(method) > before) return true;
            std::this_thread::sleep_for(1ms);
        }
        return false;
    }

    // Polls keybridge_pendingApprovals until it holds `count` requests.
    json::array wait_pending_exactly(std::size_t count) const {
        json::array last;
        for (int i = 0; i < 500; ++i) {
            last = control().result("keybridge_pendingApprovals").as_array();
            if (last.size() == count) return last;
            std::this_thread::sleep_for(10ms);
        }
        ADD_FAILURE() << "expected " << count << " pending, have " << json::serialize(last);
        return last;
    }

    // The answer is the chain-switch cancellation: 4901 naming both chains.
    static void expect_chain_changed(const json::value& answer, const char* made_for,
                                     const char* now) {
        ASSERT_TRUE(answer.is_object() && answer.as_object().contains("error")) << answer;
        const json::value& error = answer.at("error");
        EXPECT_EQ(error.at("code"), json::value(4901)) << answer;
        EXPECT_NE(json::serialize(error.at("message")).find("chain changed"), std::string::npos)
            << answer;
        EXPECT_EQ(error.at("data").at("reason"), json::value("chainChanged")) << answer;
        EXPECT_EQ(error.at("data").at("requestChainId"), json::value(made_for)) << answer;
        EXPECT_EQ(error.at("data").at("chainId"), json::value(now)) << answer;
    }

    std::vector<json::object> audit_lines() const {
        std::ifstream in(datadir_ + "/audit.log");
        std::vector<json::object> out;
        std::string line;
        while (std::getline(in, line)) {
            json::error_code ec;
            json::value v = json::parse(line, ec);
            if (!ec && v.is_object()) out.push_back(v.as_object());
        }
        return out;
    }

    ScriptedNode mainnet_{1};
    ScriptedNode devnet_{31337};
};

// The attack of issue 9: the dApp switches to 31337 right after asking for a mainnet transfer,
// while the (slow) node fills it; a policy approves only chain 31337. Run many times: it is a
// race, and it must never be won.
TEST_F(PendingRequests, ChainSwitchWhileFillingCancelsTheTransaction) {
    ASSERT_NO_FATAL_FAILURE(start_with_nodes("approve origin=local chain=31337\n"));
    mainnet_.answer("eth_getTransactionCount", "0x5", 300ms);  // the fill takes a while
    // A person would reject anything shown; what was shown is recorded.
    Approver person(control_path(), [](const json::object&) { return Verdict("reject"); });
    for (int round = 0; round < 10; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const std::size_t before = mainnet_.calls("eth_getTransactionCount");
        auto sent = std::async(std::launch::async, [&] {
            return local().call("eth_sendTransaction", one_eth_transfer());
        });
        ASSERT_TRUE(wait_calls(mainnet_, "eth_getTransactionCount", before));  // it is filling
        switch_chain(local(), kDevnet);
        expect_chain_changed(sent.get(), kMainnet, kDevnet);
        switch_chain(local(), kMainnet);
    }
    person.stop();
    EXPECT_EQ(mainnet_.calls("eth_sendRawTransaction"), 0u);
    EXPECT_EQ(devnet_.calls("eth_sendRawTransaction"), 0u);
    // Never shown (for either chain), never judged: no decision about it in the audit log.
    for (const auto& seen : person.seen())
        EXPECT_NE(seen.at("method"), json::value("eth_sendTransaction")) << seen;
    for (const auto& line : audit_lines())
        EXPECT_NE(line.at("method"), json::value("eth_sendTransaction")) << line;
}

TEST_F(PendingRequests, ChainSwitchWhileWaitingForTheDecisionWithdrawsOnlyThatOriginsRequests) {
    ASSERT_NO_FATAL_FAILURE(start_with_nodes(""));
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    const std::string hex = core::hex_encode(core::as_bytes(std::string("page's message")));
    auto page_sign = std::async(std::launch::async, [&] {
        return page().call("personal_sign", json::array{json::string(hex), kFirstAccount});
    });
    ASSERT_EQ(wait_pending_exactly(1).size(), 1u);
    auto sent = std::async(std::launch::async,
                           [&] { return local().call("eth_sendTransaction", one_eth_transfer()); });
    json::array pending = wait_pending_exactly(2);
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending[1].at("method"), json::value("eth_sendTransaction"));
    EXPECT_EQ(pending[1].at("chainId"), json::value(1));
    // Selecting the chain it already uses changes nothing.
    switch_chain(local(), kMainnet);
    EXPECT_EQ(sent.wait_for(100ms), std::future_status::timeout);
    EXPECT_EQ(wait_pending_exactly(2).size(), 2u);

    switch_chain(local(), kDevnet);
    expect_chain_changed(sent.get(), kMainnet, kDevnet);
    pending = wait_pending_exactly(1);  // the page's request stays: it did not switch
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].at("origin"), json::value(kPageOrigin));
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "reject")),
              json::value(true));
    EXPECT_EQ(page_sign.get().at("error").at("code"), json::value(4001));
    EXPECT_EQ(mainnet_.calls("eth_sendRawTransaction") + devnet_.calls("eth_sendRawTransaction"),
              0u);
    bool dropped = false;
    for (const auto& line : audit_lines()) {
        if (line.at("method") != json::value("eth_sendTransaction")) continue;
        EXPECT_EQ(line.at("decision"), json::value("dropped")) << line;
        EXPECT_EQ(line.at("decidedBy"), json::value("chain changed")) << line;
        EXPECT_EQ(line.at("chainId"), json::value(1)) << line;
        dropped = true;
    }
    EXPECT_TRUE(dropped);
}

TEST_F(PendingRequests, ChainSwitchWhileWaitingForTheUnlockCancelsTheRequest) {
    ASSERT_NO_FATAL_FAILURE(start_with_nodes("", /*unlock=*/false));
    const std::string hex = core::hex_encode(core::as_bytes(std::string("sign in")));
    auto signed_ = std::async(std::launch::async, [&] {
        return local().call("personal_sign", json::array{json::string(hex), kFirstAccount});
    });
    json::array pending = wait_pending_exactly(1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].at("stage"), json::value("needs-input"));
    switch_chain(local(), kDevnet);
    expect_chain_changed(signed_.get(), kMainnet, kDevnet);
    EXPECT_EQ(wait_pending_exactly(0).size(), 0u);
}

// wallet_addEthereumChain that switches the origin to the added chain cancels like a switch.
TEST_F(PendingRequests, AddedChainThatSwitchesCancelsTheRequest) {
    ASSERT_NO_FATAL_FAILURE(start_with_nodes(""));
    ScriptedNode added(5);
    auto sent = std::async(std::launch::async,
                           [&] { return local().call("eth_sendTransaction", one_eth_transfer()); });
    ASSERT_EQ(wait_pending_exactly(1).size(), 1u);
    auto add = std::async(std::launch::async, [&] {
        return local().call(
            "wallet_addEthereumChain",
            json::array{json::object{
                {"chainId", "0x5"}, {"chainName", "Five"}, {"rpcUrls", json::array{added.url()}}}});
    });
    json::array pending = wait_pending_exactly(2);
    ASSERT_EQ(pending.size(), 2u);
    ASSERT_EQ(pending[1].at("method"), json::value("wallet_addEthereumChain"));
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[1], "approve")),
              json::value(true));
    EXPECT_EQ(add.get().at("result"), json::value(nullptr));
    expect_chain_changed(sent.get(), kMainnet, "0x5");
    EXPECT_EQ(wait_pending_exactly(0).size(), 0u);
}

// The node answers nonce 5 for the fill, then 9 when the approved transaction's turn comes
// (another transaction of the account went out meanwhile): the person saw "nonce 5", so nonce 9
// is shown and decided again, never broadcast in its place unseen.
class MovingNonce : public PendingRequests {
  protected:
    void SetUp() override {
        PendingRequests::SetUp();
        ASSERT_NO_FATAL_FAILURE(start_with_nodes(""));
        auto reads = std::make_shared<std::atomic<int>>(0);
        mainnet_.on("eth_getTransactionCount", [reads](const json::array&) {
            return ScriptedNode::Answer{json::value(reads->fetch_add(1) == 0 ? "0x5" : "0x9"),
                                        std::nullopt, 0ms};
        });
        mainnet_.on("eth_sendRawTransaction", [this](const json::array& params) {
            std::lock_guard lock(mutex_);
            raw_.push_back(std::string(params.at(0).as_string()));
            return ScriptedNode::Answer{json::value("0x" + std::string(64, 'b')), std::nullopt,
                                        0ms};
        });
    }

    static bool has_warning(const json::object& request, std::string_view id) {
        for (const auto& w : request.at("warnings").as_array()) {
            if (w.at("id") == json::value(id)) return true;
        }
        return false;
    }

    std::vector<std::string> broadcast() {
        std::lock_guard lock(mutex_);
        return raw_;
    }

    std::mutex mutex_;
    std::vector<std::string> raw_;
};

TEST_F(MovingNonce, IsShownAgainAndSentOnlyAsApprovedTheSecondTime) {
    Approver person(control_path(), approve_sharing_all());
    json::value sent = local().call("eth_sendTransaction", one_eth_transfer());
    ASSERT_TRUE(sent.as_object().contains("result")) << sent;
    person.stop();
    const auto seen = person.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].at("details").at("nonce"), json::value("0x5"));
    EXPECT_FALSE(has_warning(seen[0], "nonce-changed"));
    EXPECT_EQ(seen[1].at("details").at("nonce"), json::value("0x9"));
    EXPECT_TRUE(has_warning(seen[1], "nonce-changed")) << seen[1];
    EXPECT_NE(seen[1].at("signingHash"), seen[0].at("signingHash"));
    const auto raw = broadcast();
    ASSERT_EQ(raw.size(), 1u);
    auto bytes = core::hex_decode(raw[0], core::HexPrefix::Required);
    ASSERT_TRUE(bytes);
    auto decoded = core::decode_signed(*bytes);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->tx.nonce, 9u);
    // What was broadcast is what the second approval showed.
    EXPECT_EQ(json::value(core::hex_encode(core::signing_hash(decoded->tx))),
              seen[1].at("signingHash"));
}

TEST_F(MovingNonce, RejectedWhenAskedAgainSendsNothing) {
    Approver person(control_path(), [](const json::object& request) {
        return Verdict(has_warning(request, "nonce-changed") ? "reject" : "approve");
    });
    json::value sent = local().call("eth_sendTransaction", one_eth_transfer());
    person.stop();
    ASSERT_TRUE(sent.as_object().contains("error")) << sent;
    EXPECT_EQ(sent.at("error").at("code"), json::value(4001));
    EXPECT_EQ(person.seen().size(), 2u);
    EXPECT_TRUE(broadcast().empty());
}

// A decision names the request's digest as shown. Another digest (the request under that id is
// not what this approver showed) or none is refused, and the request stays pending.
TEST_F(PendingRequests, DecisionWithAStaleOrMissingDigestIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start_with_nodes(""));
    const auto ask = [&](const std::string& text) {
        const std::string hex = core::hex_encode(core::as_bytes(text));
        return std::async(std::launch::async, [this, hex] {
            return local().call("personal_sign", json::array{json::string(hex), kFirstAccount});
        });
    };
    auto first = ask("Approve 1 USDC");
    ASSERT_EQ(wait_pending_exactly(1).size(), 1u);
    auto second = ask("Transfer everything");
    json::array pending = wait_pending_exactly(2);
    ASSERT_EQ(pending.size(), 2u);
    ASSERT_NE(pending[0].at("digest"), pending[1].at("digest"));
    const json::value id = pending[1].at("id");

    const auto refused = [&](json::array params, std::string_view expected) {
        json::value r = control().call("keybridge_decide", params);
        ASSERT_TRUE(r.as_object().contains("error")) << r;
        EXPECT_EQ(r.at("error").at("code"), json::value(-32602)) << r;
        EXPECT_NE(json::serialize(r.at("error").at("message")).find(expected), std::string::npos)
            << r;
    };
    // The digest of what was displayed (the first request) with the second one's id.
    refused({id, "approve", json::object{{"digest", pending[0].at("digest")}}}, "digest differs");
    refused({id, "approve"}, "is required");
    refused({id, "approve", json::object{}}, "digest is required");
    refused({id, "approve", json::object{{"digest", "0x1234"}}}, "64 hex digits");
    refused({id, "approve", json::object{{"digest", pending[1].at("digest")}, {"x", 1}}},
            "unknown field 'x'");
    EXPECT_EQ(second.wait_for(100ms), std::future_status::timeout);
    EXPECT_EQ(wait_pending_exactly(2).size(), 2u);

    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[1], "reject")),
              json::value(true));
    EXPECT_EQ(second.get().at("error").at("code"), json::value(4001));
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "reject")),
              json::value(true));
    EXPECT_EQ(first.get().at("error").at("code"), json::value(4001));
}

}  // namespace
}  // namespace keybridge::test::e2e
