// Insight (insight/): the decoders and recognisers, and every warning in a table of cases that
// must warn and cases that must stay quiet.
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/hash.h"
#include "insight/abi.h"
#include "insight/insight.h"
#include "insight/site.h"

namespace keybridge::insight {
namespace {

namespace json = boost::json;
using core::Address;
using core::U256;

constexpr std::int64_t kNow = 1764921600;  // 2025-12-05 08:00 UTC

const Address kUser = *Address::parse("0x1111111111111111111111111111111111111111");
const Address kFriend = *Address::parse("0xab5801a7d398351b8be11c439e05c5b3259aec9b");
// Same first and last four hex digits as kFriend, another address.
const Address kPoison = *Address::parse("0xab581111111111111111111111111111111eec9b");
const Address kPoison2 = *Address::parse("0xab580000000000000000000000000000000aec9b");
const Address kRouter = *Address::parse("0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad");
const Address kStranger = *Address::parse("0x9999999999999999999999999999999999999999");
const Address kUsdc = *Address::parse("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");
const Address kWeth = *Address::parse("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2");
const Address kNft = *Address::parse("0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d");
const Address kPermit2 = *Address::parse("0x000000000022d473030f116ddee9f6b43ac78ba3");
const Address kSafe = *Address::parse("0x5555555555555555555555555555555555555555");

// ---- hand-written ABI encoding (32-byte words)

std::string word(const U256& n) {
    return core::hex_encode(core::u256_to_be32(n), false);
}
std::string word(const Address& a) {
    return std::string(24, '0') + a.to_lower_string().substr(2);
}
std::string word(std::uint64_t n) {
    return word(U256(n));
}
core::Bytes calldata(std::string_view selector, const std::string& words) {
    return *core::hex_decode("0x" + std::string(selector) + words);
}
std::string bytes_tail(const core::Bytes& b) {  // length word then padded bytes
    std::string hex = core::hex_encode(b, false);
    hex.append((64 - hex.size() % 64) % 64, '0');
    return word(b.size()) + hex;
}
const U256 kMax = ~U256(0);
const U256 kMax160 = (U256(1) << 160) - 1;

core::Bytes erc20_transfer(const Address& to, const U256& v) {
    return calldata("a9059cbb", word(to) + word(v));
}
core::Bytes erc20_approve(const Address& s, const U256& v) {
    return calldata("095ea7b3", word(s) + word(v));
}

Context context() {
    Context c;
    c.chain_id = 1;
    c.origin = "https://app.uniswap.org";
    c.account = kUser;
    c.now = kNow;
    c.known_addresses = {kFriend, kRouter, kPermit2};
    return c;
}

core::Transaction tx_to(const Address& to, const U256& value, core::Bytes data = {}) {
    core::Transaction tx;
    tx.chain_id = 1;
    tx.to = to;
    tx.value = value;
    tx.data = std::move(data);
    tx.gas_limit = 60000;
    tx.max_fee_per_gas = U256(30'000'000'000ULL);
    tx.max_priority_fee_per_gas = U256(1'000'000'000ULL);
    return tx;
}

json::object obj(std::string_view text) {
    return json::parse(text).as_object();
}

Explanation typed(std::string_view type, std::string_view domain, std::string_view message,
                  const Context& c = context()) {
    return explain_typed_data(type, obj(domain), obj(message), c);
}

Explanation text(std::string_view s, const Context& c = context()) {
    return explain_message(core::as_bytes(s), c);
}

std::string siwe(std::string_view domain, std::string_view chain, std::string_view expiry = "") {
    std::string m = std::string(domain) +
                    " wants you to sign in with your Ethereum account:\n"
                    "0x1111111111111111111111111111111111111111\n\nSign in to the app.\n\n"
                    "URI: https://" +
                    std::string(domain) + "\nVersion: 1\nChain ID: " + std::string(chain) +
                    "\nNonce: 32891756\nIssued At: 2025-12-05T07:00:00Z";
    if (!expiry.empty()) m += "\nExpiration Time: " + std::string(expiry);
    return m;
}

class FakeChain final : public ChainLookup {
  public:
    std::optional<bool> code;
    std::optional<std::uint64_t> nonce;
    std::optional<U256> fee;
    std::map<Address, TokenInfo> tokens;
    std::optional<Simulation> sim;
    std::optional<bool> has_code(const Address&) const override { return code; }
    std::optional<std::uint64_t> pending_nonce(const Address&) const override { return nonce; }
    std::optional<U256> base_fee() const override { return fee; }
    std::optional<TokenInfo> token(const Address& a) const override {
        if (auto it = tokens.find(a); it != tokens.end()) return it->second;
        return std::nullopt;
    }
    std::optional<Simulation> simulation() const override { return sim; }
};

// Revert data: Error(string) as solc encodes it.
core::Bytes error_string(std::string_view message) {
    return calldata("08c379a0", word(32) + bytes_tail(core::Bytes(message.begin(), message.end())));
}
Simulation reverting(core::Bytes data) {
    Simulation sim;
    sim.outcome = Simulation::Outcome::Reverts;
    sim.revert_data = std::move(data);
    sim.node_message = "execution reverted";
    return sim;
}
Simulation succeeding(std::uint64_t gas) {
    Simulation sim;
    sim.outcome = Simulation::Outcome::Succeeds;
    sim.gas_needed = gas;
    return sim;
}
// An ERC-20 the bundled list does not know.
const Address kNewToken = *Address::parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");

const std::string kPermitDomain =
    R"({"name":"USD Coin","version":"2","chainId":1,"verifyingContract":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"})";
std::string permit_msg(const std::string& spender, const std::string& value,
                       std::int64_t deadline) {
    return R"({"owner":"0x1111111111111111111111111111111111111111","spender":")" + spender +
           R"(","value":")" + value + R"(","nonce":"0","deadline":")" + std::to_string(deadline) +
           "\"}";
}
const std::string kPermit2Domain =
    R"({"name":"Permit2","chainId":1,"verifyingContract":"0x000000000022d473030f116ddee9f6b43ac78ba3"})";
std::string permit_single(const std::string& amount, std::int64_t expiration) {
    return R"({"details":{"token":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount":")" +
           amount + R"(","expiration":")" + std::to_string(expiration) +
           R"(","nonce":"0"},"spender":"0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad","sigDeadline":")" +
           std::to_string(kNow + 1800) + "\"}";
}
std::string seaport_order(const std::string& price_wei) {
    return R"({"offerer":"0x1111111111111111111111111111111111111111","zone":"0x0000000000000000000000000000000000000000","offer":[{"itemType":"2","token":"0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d","identifierOrCriteria":"1234","startAmount":"1","endAmount":"1"}],"consideration":[{"itemType":"0","token":"0x0000000000000000000000000000000000000000","identifierOrCriteria":"0","startAmount":")" +
           price_wei + R"(","endAmount":")" + price_wei +
           R"(","recipient":"0x1111111111111111111111111111111111111111"}],"orderType":"0","startTime":"1764900000","endTime":"1767500000","zoneHash":"0x0000000000000000000000000000000000000000000000000000000000000000","salt":"1","conduitKey":"0x0000000000000000000000000000000000000000000000000000000000000000","counter":"0"})";
}
std::string safe_tx(const std::string& data, int operation) {
    return R"({"to":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","value":"0","data":")" + data +
           R"(","operation":)" + std::to_string(operation) +
           R"(,"safeTxGas":"0","baseGas":"0","gasPrice":"0","gasToken":"0x0000000000000000000000000000000000000000","refundReceiver":"0x0000000000000000000000000000000000000000","nonce":"7"})";
}
const std::string kSafeDomain =
    R"({"chainId":1,"verifyingContract":"0x5555555555555555555555555555555555555555"})";

struct Case {
    const char* name;
    std::function<Explanation()> run;
    const char* warning;  // nullptr: must stay quiet (no warning at all)
    Severity severity = Severity::Warning;
};

std::vector<Case> cases() {
    Settings thresholds;
    thresholds.value_warning_wei = U256(5) * U256(1'000'000'000'000'000'000ULL);
    thresholds.fee_warning_wei = U256(10'000'000'000'000'000ULL);  // 0.01 ETH
    static Settings st = thresholds;
    auto with_settings = [] {
        Context c = context();
        c.settings = &st;
        return c;
    };
    static FakeChain no_code, has_code, far_nonce, near_nonce, low_base, high_base;
    static FakeChain reverts_string, reverts_custom, out_of_gas, runs_fine, dead_node, new_token;
    reverts_string.code = true;
    reverts_string.sim = reverting(error_string("ERC20: transfer amount exceeds balance"));
    reverts_custom.code = true;
    // ERC20InsufficientBalance(kUser, 5, 10), OpenZeppelin 5's ERC-6093 error.
    reverts_custom.sim = reverting(calldata("e450d38c", word(kUser) + word(5) + word(10)));
    out_of_gas.code = true;
    out_of_gas.sim = succeeding(90000);  // the transaction's limit is 60000
    runs_fine.code = true;
    runs_fine.sim = succeeding(51000);
    dead_node.sim = Simulation{};  // Unknown: the node did not answer
    dead_node.sim->note = "the node could not pre-run the transaction: timed out";
    new_token.code = true;
    new_token.tokens[kNewToken] = TokenInfo{"KBT", 6, false};
    new_token.sim = succeeding(40000);
    no_code.code = false;
    has_code.code = true;
    far_nonce.nonce = 3;
    near_nonce.nonce = 0;
    low_base.fee = U256(1'000'000'000ULL);
    high_base.fee = U256(20'000'000'000ULL);
    auto with_chain = [](const FakeChain& f) {
        Context c = context();
        c.chain = &f;
        return c;
    };
    const U256 eth = U256(1'000'000'000'000'000'000ULL);
    const std::string usdc_approve_hex = core::hex_encode(erc20_approve(kRouter, 1000));
    const std::string usdc_unlimited_hex = core::hex_encode(erc20_approve(kRouter, kMax));
    return {
        // ---- site
        {"phishing list",
         [] {
             Context c = context();
             c.origin = "https://app.sushicom.site";
             return text("hello", c);
         },
         "site-phishing-list", Severity::Danger},
        {"phishing list subdomain",
         [] {
             Context c = context();
             c.origin = "https://x.app.sushicom.site";
             return text("hello", c);
         },
         "site-phishing-list", Severity::Danger},
        {"own phishing entry",
         [with_settings] {
             Context c = with_settings();
             static Settings own;
             own.phishing_block = {"evil-dapp.example"};
             c.settings = &own;
             c.origin = "https://www.evil-dapp.example";
             return text("hello", c);
         },
         "site-phishing-list", Severity::Danger},
        {"fuzzy look-alike",
         [] {
             Context c = context();
             c.origin = "https://metamaskk.net";
             return text("hello", c);
         },
         "site-lookalike", Severity::Danger},
        {"confusable look-alike (Cyrillic a)",
         [] {
             Context c = context();
             c.origin = "https://xn--pensea-vqf.io";  // оpensea with Cyrillic о
             return text("hello", c);
         },
         "site-lookalike", Severity::Danger},
        {"mixed script",
         [] {
             Context c = context();
             c.origin = "https://xn--unswap-qvf.org";
             return text("hello", c);
         },
         "site-mixed-script", Severity::Danger},
        {"punycode",
         [] {
             Context c = context();
             c.origin = "https://xn--mnchen-3ya.de";
             return text("hello", c);
         },
         "site-punycode"},
        {"http",
         [] {
             Context c = context();
             c.origin = "http://dapp.example.org";
             return text("hello", c);
         },
         "site-not-https"},
        // ---- messages
        {"eth_sign", [] { return explain_digest(core::keccak256(core::as_bytes("x")), context()); },
         "eth-sign-opaque-hash", Severity::Danger},
        {"32-byte blob",
         [] {
             auto h = core::keccak256(core::as_bytes("y"));
             return explain_message(h, context());
         },
         "binary-32-byte-message"},
        {"serialized transaction",
         [] {
             core::Transaction t = tx_to(kStranger, U256(1'000'000'000'000'000'000ULL));
             return explain_message(core::encode_unsigned(t), context());
         },
         "message-is-transaction", Severity::Danger},
        {"SIWE other domain", [] { return text(siwe("evil.example", "1")); },
         "siwe-domain-mismatch", Severity::Danger},
        {"SIWE other chain", [] { return text(siwe("app.uniswap.org", "10")); },
         "siwe-chain-mismatch"},
        {"SIWE expired (time zone offset)",
         [] { return text(siwe("app.uniswap.org", "1", "2025-12-05T09:30:00+02:00")); },
         "siwe-expired"},
        {"SIWE for another account",
         [] {
             std::string m = siwe("app.uniswap.org", "1");
             m.replace(m.find("0x1111"), 42, kFriend.to_checksum_string());
             return text(m);
         },
         "siwe-address-mismatch"},
        {"SIWE expired", [] { return text(siwe("app.uniswap.org", "1", "2025-12-05T07:30:00Z")); },
         "siwe-expired"},
        // ---- typed data
        {"typed data other chain",
         [] {
             return typed(
                 "Permit",
                 R"({"name":"USD Coin","version":"2","chainId":10,"verifyingContract":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"})",
                 permit_msg(kRouter.to_lower_string(), "1000", kNow + 3600));
         },
         "typed-data-chain-mismatch", Severity::Danger},
        {"permit unlimited",
         [] {
             return typed(
                 "Permit", kPermitDomain,
                 permit_msg(kRouter.to_lower_string(), core::u256_to_decimal(kMax), kNow + 3600));
         },
         "unlimited-approval"},
        {"permit far deadline",
         [] {
             return typed("Permit", kPermitDomain,
                          permit_msg(kRouter.to_lower_string(), "1000", kNow + 400 * 86400));
         },
         "far-deadline"},
        {"permit unlimited and forever",
         [] {
             return typed("Permit", kPermitDomain,
                          permit_msg(kRouter.to_lower_string(), core::u256_to_decimal(kMax),
                                     kNow + 400 * 86400));
         },
         "far-deadline", Severity::Danger},
        {"DAI permit allowed forever",
         [] {
             return typed(
                 "Permit",
                 R"({"name":"Dai Stablecoin","version":"1","chainId":1,"verifyingContract":"0x6b175474e89094c44da98b954eedeac495271d0f"})",
                 R"({"holder":"0x1111111111111111111111111111111111111111","spender":"0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad","nonce":0,"expiry":0,"allowed":true})");
         },
         "far-deadline", Severity::Danger},
        {"Permit2 unlimited single",
         [] {
             return typed("PermitSingle", kPermit2Domain,
                          permit_single(core::u256_to_decimal(kMax160), kNow + 86400));
         },
         "unlimited-approval"},
        {"Permit2 spender poisoned",
         [] {
             return typed(
                 "PermitTransferFrom", kPermit2Domain,
                 R"({"permitted":{"token":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount":"5000000"},"spender":")" +
                     kPoison.to_lower_string() + R"(","nonce":"1","deadline":")" +
                     std::to_string(kNow + 600) + "\"}");
         },
         "address-poisoning", Severity::Danger},
        {"Seaport free listing",
         [] {
             return typed(
                 "OrderComponents",
                 R"({"name":"Seaport","version":"1.5","chainId":1,"verifyingContract":"0x00000000000000adc04c56bf30ac9d3c0aaf14dc"})",
                 seaport_order("0"));
         },
         "seaport-free-order", Severity::Danger},
        {"SafeTx delegatecall",
         [usdc_approve_hex] { return typed("SafeTx", kSafeDomain, safe_tx(usdc_approve_hex, 1)); },
         "safe-delegatecall", Severity::Danger},
        {"SafeTx unlimited approval inside",
         [usdc_unlimited_hex] {
             return typed("SafeTx", kSafeDomain, safe_tx(usdc_unlimited_hex, 0));
         },
         "unlimited-approval", Severity::Danger},
        {"verifying contract without code",
         [with_chain] {
             Context c = with_chain(no_code);
             return typed(
                 "Mail",
                 R"({"name":"Ether Mail","chainId":1,"verifyingContract":"0xcccccccccccccccccccccccccccccccccccccccc"})",
                 R"({"contents":"Hello"})", c);
         },
         "verifying-contract-no-code"},
        // ---- transactions
        {"unlimited approval",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_approve(kRouter, kMax)), context());
         },
         "unlimited-approval", Severity::Danger},
        {"approval to a new address",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_approve(kStranger, 1000)), context());
         },
         "approval-to-new-address"},
        {"setApprovalForAll(true)",
         [] {
             return explain_transaction(
                 tx_to(kNft, 0, calldata("a22cb465", word(kRouter) + word(1))), context());
         },
         "approval-for-all", Severity::Danger},
        {"Permit2 approve unlimited",
         [] {
             return explain_transaction(
                 tx_to(kPermit2, 0,
                       calldata("87517c45",
                                word(kUsdc) + word(kRouter) + word(kMax160) + word(kNow + 3600))),
                 context());
         },
         "unlimited-approval", Severity::Danger},
        {"native transfer poisoned",
         [eth] { return explain_transaction(tx_to(kPoison2, eth / 10), context()); },
         "address-poisoning", Severity::Danger},
        {"token transfer poisoned",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kPoison, 5'000'000)),
                                        context());
         },
         "address-poisoning", Severity::Danger},
        {"zero address",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(Address(), 5'000'000)),
                                        context());
         },
         "recipient-zero-address", Severity::Danger},
        {"token sent to the token contract",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kUsdc, 5'000'000)),
                                        context());
         },
         "recipient-token-contract", Severity::Danger},
        {"ether sent to a token contract",
         [eth] { return explain_transaction(tx_to(kUsdc, eth), context()); },
         "recipient-token-contract", Severity::Danger},
        {"value above threshold",
         [with_settings, eth] {
             return explain_transaction(tx_to(kFriend, eth * 6), with_settings());
         },
         "value-above-threshold"},
        {"fee above threshold",
         [with_settings, eth] {
             auto t = tx_to(kFriend, eth / 100);
             t.gas_limit = 1'000'000;
             return explain_transaction(t, with_settings());
         },
         "fee-above-threshold"},
        {"fee far above base fee",
         [with_chain, eth] {
             return explain_transaction(tx_to(kFriend, eth / 100), with_chain(low_base));
         },
         "fee-far-above-base-fee"},
        {"data to an address without code",
         [with_chain] {
             return explain_transaction(tx_to(kFriend, 0, erc20_transfer(kRouter, 5)),
                                        with_chain(no_code));
         },
         "no-code-at-recipient"},
        {"chain id mismatch",
         [eth] {
             auto t = tx_to(kFriend, eth / 100);
             t.chain_id = 10;
             return explain_transaction(t, context());
         },
         "transaction-chain-mismatch", Severity::Danger},
        {"contract creation",
         [] {
             auto t = tx_to(kFriend, 0, {0x60, 0x80});
             t.to.reset();
             return explain_transaction(t, context());
         },
         "contract-creation"},
        {"nonce far ahead",
         [with_chain, eth] {
             auto t = tx_to(kFriend, eth / 100);
             t.nonce = 40;
             return explain_transaction(t, with_chain(far_nonce));
         },
         "nonce-far-ahead"},
        {"unlimited approval inside multicall",
         [] {
             std::string inner = bytes_tail(erc20_approve(kRouter, kMax));
             // multicall(bytes[]): offset, length 1, offset of element, element.
             return explain_transaction(
                 tx_to(kUsdc, 0, calldata("ac9650d8", word(32) + word(1) + word(32) + inner)),
                 context());
         },
         "unlimited-approval", Severity::Danger},
        {"broken calldata",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, calldata("a9059cbb", word(kFriend))),
                                        context());
         },
         "calldata-undecodable"},

        // ---- must stay quiet
        {"plain text", [] { return text("Welcome to the app! Click to sign in."); }, nullptr},
        {"multi-line text", [] { return text("line one\nline two\n\tindented"); }, nullptr},
        {"UTF-8 text", [] { return text("Grüße, 世界 ✓"); }, nullptr},
        {"short binary",
         [] {
             const core::Bytes b{0xde, 0xad, 0xbe, 0xef};
             return explain_message(b, context());
         },
         nullptr},
        {"SIWE matching", [] { return text(siwe("app.uniswap.org", "1", "2025-12-06T00:00:00Z")); },
         nullptr},
        {"SIWE with port",
         [] {
             Context c = context();
             c.origin = "http://localhost:3000";
             return text(siwe("localhost:3000", "1"), c);
         },
         nullptr},
        {"localhost over http",
         [] {
             Context c = context();
             c.origin = "http://localhost:5173";
             return text("hello", c);
         },
         nullptr},
        {"127.0.0.1 over http",
         [] {
             Context c = context();
             c.origin = "http://127.0.0.1:8080";
             return text("hello", c);
         },
         nullptr},
        {"local client",
         [] {
             Context c = context();
             c.origin = "local";
             return text("hi", c);
         },
         nullptr},
        {"the real metamask.io",
         [] {
             Context c = context();
             c.origin = "https://metamask.io";
             return text("hello", c);
         },
         nullptr},
        {"subdomain of the real opensea.io",
         [] {
             Context c = context();
             c.origin = "https://pro.opensea.io";
             return text("hello", c);
         },
         nullptr},
        {"unrelated site",
         [] {
             Context c = context();
             c.origin = "https://app.aave.com";
             return text("hello", c);
         },
         nullptr},
        {"punycode-free German site",
         [] {
             Context c = context();
             c.origin = "https://www.bahn.de";
             return text("hello", c);
         },
         nullptr},
        {"own allow entry beats the list",
         [] {
             Context c = context();
             static Settings own;
             own.phishing_allow = {"app.sushicom.site"};
             c.settings = &own;
             c.origin = "https://app.sushicom.site";
             return text("hello", c);
         },
         nullptr},
        {"bounded permit on the active chain",
         [] {
             return typed("Permit", kPermitDomain,
                          permit_msg(kRouter.to_lower_string(), "1000000", kNow + 1800));
         },
         nullptr},
        {"DAI permit revoke",
         [] {
             return typed(
                 "Permit",
                 R"({"name":"Dai Stablecoin","version":"1","chainId":1,"verifyingContract":"0x6b175474e89094c44da98b954eedeac495271d0f"})",
                 R"({"holder":"0x1111111111111111111111111111111111111111","spender":"0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad","nonce":0,"expiry":0,"allowed":false})");
         },
         nullptr},
        {"bounded Permit2 single",
         [] {
             return typed("PermitSingle", kPermit2Domain, permit_single("5000000", kNow + 86400));
         },
         nullptr},
        {"Permit2 transfer to a known spender",
         [] {
             return typed(
                 "PermitTransferFrom", kPermit2Domain,
                 R"({"permitted":{"token":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount":"5000000"},"spender":"0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad","nonce":"1","deadline":")" +
                     std::to_string(kNow + 600) + "\"}");
         },
         nullptr},
        {"Seaport listing at a price",
         [] {
             return typed(
                 "OrderComponents",
                 R"({"name":"Seaport","version":"1.5","chainId":1,"verifyingContract":"0x00000000000000adc04c56bf30ac9d3c0aaf14dc"})",
                 seaport_order("2500000000000000000"));
         },
         nullptr},
        {"SafeTx bounded approval",
         [usdc_approve_hex] { return typed("SafeTx", kSafeDomain, safe_tx(usdc_approve_hex, 0)); },
         nullptr},
        {"generic typed data",
         [] {
             return typed(
                 "Mail", R"({"name":"Ether Mail","version":"1","chainId":1})",
                 R"({"from":{"name":"Cow"},"to":{"name":"Bob"},"contents":"Hello, Bob!"})");
         },
         nullptr},
        {"verifying contract with code",
         [with_chain] {
             Context c = with_chain(has_code);
             return typed(
                 "Mail",
                 R"({"name":"Ether Mail","chainId":1,"verifyingContract":"0xcccccccccccccccccccccccccccccccccccccccc"})",
                 R"({"contents":"Hello"})", c);
         },
         nullptr},
        {"small transfer to a known address",
         [eth] { return explain_transaction(tx_to(kFriend, eth / 100), context()); }, nullptr},
        {"token transfer to a known address",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 5'000'000)),
                                        context());
         },
         nullptr},
        {"bounded approval to a known spender",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_approve(kRouter, 1000)), context());
         },
         nullptr},
        {"approval revoked",
         [] {
             return explain_transaction(tx_to(kUsdc, 0, erc20_approve(kStranger, 0)), context());
         },
         nullptr},
        {"setApprovalForAll(false)",
         [] {
             return explain_transaction(
                 tx_to(kNft, 0, calldata("a22cb465", word(kStranger) + word(0))), context());
         },
         nullptr},
        {"WETH deposit",
         [eth] {
             return explain_transaction(tx_to(kWeth, eth / 2, calldata("d0e30db0", "")), context());
         },
         nullptr},
        {"WETH withdraw",
         [eth] {
             return explain_transaction(tx_to(kWeth, 0, calldata("2e1a7d4d", word(eth / 2))),
                                        context());
         },
         nullptr},
        {"unknown selector on a contract",
         [with_chain] {
             return explain_transaction(tx_to(kRouter, 0, calldata("12345678", word(5))),
                                        with_chain(has_code));
         },
         nullptr},
        {"value under threshold",
         [with_settings, eth] {
             return explain_transaction(tx_to(kFriend, eth * 4), with_settings());
         },
         nullptr},
        {"fee under threshold and near base fee",
         [with_chain, eth] {
             return explain_transaction(tx_to(kFriend, eth / 100), with_chain(high_base));
         },
         nullptr},
        {"nonce just ahead",
         [with_chain, eth] {
             auto t = tx_to(kFriend, eth / 100);
             t.nonce = 2;
             return explain_transaction(t, with_chain(near_nonce));
         },
         nullptr},
        {"ether to the own account",
         [eth] { return explain_transaction(tx_to(kUser, eth), context()); }, nullptr},
        {"zero-value call to a known contract",
         [] { return explain_transaction(tx_to(kRouter, 0, calldata("12345678", "")), context()); },
         nullptr},
        {"ERC-721 safeTransferFrom to a known address",
         [] {
             return explain_transaction(
                 tx_to(kNft, 0, calldata("42842e0e", word(kUser) + word(kFriend) + word(1234))),
                 context());
         },
         nullptr},
        {"ERC-1155 safeTransferFrom to a known address",
         [] {
             return explain_transaction(
                 tx_to(kNft, 0,
                       calldata("f242432a", word(kUser) + word(kFriend) + word(7) + word(2) +
                                                word(160) + word(0))),
                 context());
         },
         nullptr},
        {"increaseAllowance bounded to a known spender",
         [] {
             return explain_transaction(
                 tx_to(kUsdc, 0, calldata("39509351", word(kRouter) + word(500))), context());
         },
         nullptr},
        {"transferFrom to the own account",
         [] {
             return explain_transaction(
                 tx_to(kUsdc, 0,
                       calldata("23b872dd", word(kFriend) + word(kUser) + word(5'000'000))),
                 context());
         },
         nullptr},
        {"Permit2 approve bounded and short",
         [] {
             return explain_transaction(
                 tx_to(kPermit2, 0,
                       calldata("87517c45",
                                word(kUsdc) + word(kRouter) + word(5'000'000) + word(kNow + 3600))),
                 context());
         },
         nullptr},
        {"Permit2 batch bounded",
         [] {
             return typed(
                 "PermitBatch", kPermit2Domain,
                 R"({"details":[{"token":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount":"1000000","expiration":")" +
                     std::to_string(kNow + 86400) +
                     R"(","nonce":"0"},{"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","amount":"1000000000000000000","expiration":")" +
                     std::to_string(kNow + 86400) +
                     R"(","nonce":"0"}],"spender":"0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad","sigDeadline":")" +
                     std::to_string(kNow + 1800) + "\"}");
         },
         nullptr},
        {"typed data without a chain id",
         [] {
             return typed("Vote", R"({"name":"Snapshot","version":"0.1.4"})",
                          R"({"space":"uniswap","proposal":"0x01","choice":1})");
         },
         nullptr},
        {"SIWE expiring later (time zone offset)",
         [] { return text(siwe("app.uniswap.org", "1", "2025-12-05T08:30:00-01:00")); }, nullptr},
        {"SIWE without expiry", [] { return text(siwe("app.uniswap.org", "1")); }, nullptr},
        {"text that contains hex", [] { return text("Nonce: 0x5f3e8a9c12 — confirm"); }, nullptr},
        {"https with a port",
         [] {
             Context c = context();
             c.origin = "https://app.uniswap.org:443";
             return text("hello", c);
         },
         nullptr},
        {"multicall of bounded approvals",
         [] {
             std::string inner = bytes_tail(erc20_approve(kRouter, 1000));
             return explain_transaction(
                 tx_to(kUsdc, 0, calldata("ac9650d8", word(32) + word(1) + word(32) + inner)),
                 context());
         },
         nullptr},
        // ---- chain lookups answered by the node (the daemon's ChainFacts)
        {"approval to a spender without code",
         [] {
             Context c = context();
             c.chain = &no_code;
             return explain_transaction(tx_to(kUsdc, 0, erc20_approve(kRouter, 1000)), c);
         },
         "spender-no-code"},
        {"permit to a spender without code",
         [] {
             Context c = context();
             c.chain = &no_code;
             return typed(
                 "Permit", kPermitDomain,
                 permit_msg("0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad", "1000000", kNow + 3600),
                 c);
         },
         "spender-no-code"},
        {"predicted revert with Error(string)",
         [] {
             Context c = context();
             c.chain = &reverts_string;
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 1000)), c);
         },
         "predicted-revert"},
        {"predicted revert with a custom error",
         [] {
             Context c = context();
             c.chain = &reverts_custom;
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 1000)), c);
         },
         "predicted-revert"},
        {"gas limit below the node's estimate",
         [] {
             Context c = context();
             c.chain = &out_of_gas;
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 1000)), c);
         },
         "predicted-revert"},
        {"bounded approval to a known contract spender",
         [] {
             Context c = context();
             c.chain = &has_code;
             return explain_transaction(tx_to(kUsdc, 0, erc20_approve(kRouter, 1000)), c);
         },
         nullptr},
        {"bounded permit to a known contract spender",
         [] {
             Context c = context();
             c.chain = &has_code;
             return typed(
                 "Permit", kPermitDomain,
                 permit_msg("0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad", "1000000", kNow + 3600),
                 c);
         },
         nullptr},
        {"transfer the node pre-runs fine",
         [] {
             Context c = context();
             c.chain = &runs_fine;
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 1000)), c);
         },
         nullptr},
        {"a dead node: no prediction, no warning",
         [] {
             Context c = context();
             c.chain = &dead_node;
             return explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 1000)), c);
         },
         nullptr},
        {"transfer of a token the node describes",
         [] {
             Context c = context();
             c.chain = &new_token;
             return explain_transaction(tx_to(kNewToken, 0, erc20_transfer(kFriend, 1500000)), c);
         },
         nullptr},
    };
}

TEST(InsightWarnings, TableMustWarnAndMustStayQuiet) {
    std::size_t warn = 0, quiet = 0;
    for (const Case& c : cases()) {
        SCOPED_TRACE(c.name);
        Explanation e = c.run();
        EXPECT_FALSE(e.summary.empty());
        if (c.warning == nullptr) {
            ++quiet;
            for (const Warning& w : e.warnings)
                ADD_FAILURE() << "unexpected " << w.id << ": " << w.detail;
            continue;
        }
        ++warn;
        auto it = std::find_if(e.warnings.begin(), e.warnings.end(),
                               [&](const Warning& w) { return w.id == c.warning; });
        if (it == e.warnings.end()) {
            ADD_FAILURE() << "missing " << c.warning << "; summary: " << e.summary;
            continue;
        }
        EXPECT_EQ(it->severity, c.severity) << c.warning;
        EXPECT_FALSE(it->title.empty());
        EXPECT_FALSE(it->detail.empty());
        const auto& ids = warning_ids();
        EXPECT_NE(std::find(ids.begin(), ids.end(), it->id), ids.end()) << "undocumented id";
    }
    EXPECT_GE(quiet, warn) << "the table needs at least as many quiet cases as warning ones";
}

// Every warning id the module declares is produced by some case of the table.
TEST(InsightWarnings, EveryIdIsExercised) {
    std::set<std::string> seen;
    for (const Case& c : cases())
        if (c.warning != nullptr) seen.insert(c.warning);
    for (std::string_view id : warning_ids())
        EXPECT_TRUE(seen.contains(std::string(id))) << id;
}

// ---- decoders

TEST(InsightAbi, TableSelectorsAreTheSignaturesKeccak) {
    ASSERT_GT(abi::table().size(), 50u);
    for (const abi::Function& f : abi::table()) {
        const auto h = core::keccak256(core::as_bytes(f.signature()));
        const std::uint32_t sel = (std::uint32_t(h[0]) << 24) | (std::uint32_t(h[1]) << 16) |
                                  (std::uint32_t(h[2]) << 8) | h[3];
        EXPECT_EQ(sel, f.selector) << f.signature();
    }
    ASSERT_NE(abi::find(0xa9059cbb), nullptr);
    EXPECT_EQ(abi::find(0xa9059cbb)->signature(), "transfer(address,uint256)");
    EXPECT_EQ(abi::find(0x12345678), nullptr);
    ASSERT_NE(abi::find(0x6a761202), nullptr);
    EXPECT_EQ(abi::find(0x6a761202)->signature(),
              "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,"
              "bytes)");
    ASSERT_NE(abi::find(0x2b67b570), nullptr);
    EXPECT_EQ(abi::find(0x2b67b570)->family, "Permit2");
}

TEST(InsightAbi, DecodesNestedDynamicTypes) {
    auto type = abi::parse_params("n:int8,list:(a:address,b:bytes)[],s:string");
    ASSERT_TRUE(type);
    EXPECT_EQ(type->canonical(), "(int8,(address,bytes)[],string)");
    // head: int8 -1, offset 0x60 (list), offset of string; list: 1 element (tuple offset 0x20)
    const std::string list =
        word(1) + word(32) + word(kFriend) + word(64) + bytes_tail({0xca, 0xfe});
    const std::string str = bytes_tail(core::Bytes{'h', 'i'});
    const std::string head = word(kMax) + word(96) + word(96 + list.size() / 2);
    auto data = *core::hex_decode("0x" + head + list + str);
    auto out = abi::decode(*type, data);
    ASSERT_TRUE(out) << out.error().detail;
    EXPECT_EQ(
        json::serialize(*out),
        R"({"n":"-1","list":[{"a":"0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B","b":"0xcafe"}],"s":"hi"})");
}

TEST(InsightAbi, RejectsHostileData) {
    auto type = abi::parse_params("b:bytes");
    ASSERT_TRUE(type);
    EXPECT_FALSE(abi::decode(*type, *core::hex_decode("0x" + word(0xffff))));           // offset
    EXPECT_FALSE(abi::decode(*type, *core::hex_decode("0x" + word(32) + word(1000))));  // length
    auto addr = abi::parse_params("a:address");
    EXPECT_FALSE(abi::decode(*addr, *core::hex_decode("0x" + word(kMax))));  // dirty padding
    auto arr = abi::parse_params("x:uint256[]");
    EXPECT_FALSE(abi::decode(*arr, *core::hex_decode("0x" + word(32) + word(5000))));
}

TEST(InsightExplain, SummariesSayWhatHappens) {
    const U256 eth = U256(1'000'000'000'000'000'000ULL);
    EXPECT_EQ(explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 12'500'000)), context())
                  .summary,
              "Send 12.5 USDC to 0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B on Ethereum");
    EXPECT_EQ(explain_transaction(tx_to(kFriend, eth / 4), context()).summary,
              "Send 0.25 ETH to 0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B on Ethereum");
    auto unknown = explain_transaction(tx_to(kRouter, 0, calldata("12345678", "")), context());
    EXPECT_NE(unknown.summary.find("unknown function (selector 0x12345678)"), std::string::npos);
    EXPECT_EQ(unknown.details.at("call").as_object().at("unknownSelector"), true);
    auto permit = typed("Permit", kPermitDomain,
                        permit_msg(kRouter.to_lower_string(), "1000000", kNow + 3 * 86400));
    EXPECT_EQ(permit.summary,
              "Permit 0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD to spend 1 USDC until "
              "2025-12-08 08:00 UTC (in 3 days) on Ethereum");
    auto login = text(siwe("app.uniswap.org", "1"));
    EXPECT_EQ(login.details.at("signInWithEthereum").at("nonce"), "32891756");
    auto safe = typed("SafeTx", kSafeDomain,
                      safe_tx(core::hex_encode(erc20_transfer(kFriend, 2'000'000)), 0));
    EXPECT_NE(safe.summary.find("Safe transaction: Send 2 USDC to 0xAb58"), std::string::npos)
        << safe.summary;
}

// Amounts near 2^256 come from pages: they saturate, never overflow (U256 throws on overflow).
TEST(InsightExplain, ChainLookupFacts) {
    FakeChain chain;
    chain.code = true;
    chain.tokens[kNewToken] = TokenInfo{"KBT", 6, false};
    chain.sim = reverting(calldata("e450d38c", word(kUser) + word(5) + word(10)));
    Context c = context();
    c.chain = &chain;
    // The token's own symbol() and decimals() when the list does not know it.
    Explanation e = explain_transaction(tx_to(kNewToken, 0, erc20_transfer(kFriend, 1500000)), c);
    EXPECT_EQ(e.summary, "Send 1.5 KBT to " + kFriend.to_checksum_string() + " on Ethereum");
    const json::object& sim = e.details.at("simulation").as_object();
    EXPECT_EQ(sim.at("outcome"), "reverts");
    EXPECT_EQ(sim.at("reason").at("name"), "ERC20InsufficientBalance");
    EXPECT_EQ(sim.at("reason").at("text").as_string(),
              "ERC20InsufficientBalance(sender: " + kUser.to_checksum_string() +
                  ", balance: 5, needed: 10)");
    ASSERT_TRUE(e.has("predicted-revert"));
    // Without the lookup: raw units, and no prediction at all.
    Explanation bare =
        explain_transaction(tx_to(kNewToken, 0, erc20_transfer(kFriend, 1500000)), context());
    EXPECT_NE(bare.summary.find("1500000 raw units"), std::string::npos) << bare.summary;
    EXPECT_FALSE(bare.details.contains("simulation"));
    // A chain lookup for another chain than the transaction's is not asked.
    core::Transaction other = tx_to(kNewToken, 0, erc20_transfer(kFriend, 1500000));
    other.chain_id = 10;
    Explanation cross = explain_transaction(other, c);
    EXPECT_FALSE(cross.details.contains("simulation"));
    // A dead node: the details say there is no prediction and why.
    FakeChain dead;
    dead.sim = Simulation{};
    dead.sim->note = "the node could not pre-run the transaction: timed out";
    c.chain = &dead;
    Explanation quiet = explain_transaction(tx_to(kUsdc, 0, erc20_transfer(kFriend, 1)), c);
    EXPECT_EQ(quiet.details.at("simulation").at("outcome"), "unknown");
    EXPECT_EQ(quiet.details.at("simulation").at("note"),
              "the node could not pre-run the transaction: timed out");
}

TEST(InsightRevert, DecodesErrorPanicAndCustomErrors) {
    auto r = abi::decode_revert(error_string("ERC20: transfer amount exceeds balance"));
    EXPECT_EQ(r.kind, abi::RevertReason::Kind::Message);
    EXPECT_EQ(r.text, "ERC20: transfer amount exceeds balance");
    r = abi::decode_revert(calldata("4e487b71", word(0x11)));
    EXPECT_EQ(r.kind, abi::RevertReason::Kind::Panic);
    EXPECT_EQ(r.text, "panic 0x11: arithmetic overflow or underflow");
    r = abi::decode_revert(calldata("4e487b71", word(0x32)));
    EXPECT_EQ(r.text, "panic 0x32: array index out of bounds");
    r = abi::decode_revert(calldata("4e487b71", word(0x12)));
    EXPECT_EQ(r.text, "panic 0x12: division or modulo by zero");
    // ERC20InsufficientAllowance(spender, allowance, needed)
    r = abi::decode_revert(calldata("fb8f41b2", word(kRouter) + word(0) + word(7)));
    EXPECT_EQ(r.kind, abi::RevertReason::Kind::Custom);
    EXPECT_EQ(r.name, "ERC20InsufficientAllowance");
    EXPECT_EQ(r.arguments.at("needed"), "7");
    // Permit2's SignatureExpired(uint256)? No: it takes no argument in the table; an unknown
    // selector is never guessed.
    r = abi::decode_revert(calldata("deadbeef", word(1)));
    EXPECT_EQ(r.kind, abi::RevertReason::Kind::Unknown);
    EXPECT_NE(r.text.find("0xdeadbeef"), std::string::npos);
    EXPECT_EQ(abi::decode_revert({}).kind, abi::RevertReason::Kind::Empty);
    // A truncated Error(string) is not a message.
    core::Bytes cut = error_string("abc");
    cut.resize(40);
    EXPECT_EQ(abi::decode_revert(cut).kind, abi::RevertReason::Kind::Unknown);
}

TEST(InsightAbi, ErrorSelectorsAreTheSignaturesKeccak) {
    ASSERT_GT(abi::error_table().size(), 50u);
    for (const abi::Function& f : abi::error_table()) {
        const auto h = core::keccak256(core::as_bytes(f.signature()));
        const std::uint32_t expected = (std::uint32_t(h[0]) << 24) | (std::uint32_t(h[1]) << 16) |
                                       (std::uint32_t(h[2]) << 8) | h[3];
        EXPECT_EQ(f.selector, expected) << f.signature();
    }
}

TEST(InsightAbi, SeaportAndUniswapRoutersAreInTheTable) {
    auto family_of = [](std::string_view signature) -> std::string {
        const auto h = core::keccak256(core::as_bytes(signature));
        const std::uint32_t selector = (std::uint32_t(h[0]) << 24) | (std::uint32_t(h[1]) << 16) |
                                       (std::uint32_t(h[2]) << 8) | h[3];
        const abi::Function* f = abi::find(selector);
        return f ? std::string(f->family) : "";
    };
    EXPECT_EQ(family_of("execute(bytes,bytes[],uint256)"), "Uniswap");  // Universal Router
    EXPECT_EQ(family_of("exactInputSingle((address,address,uint24,address,uint256,uint256,"
                        "uint256,uint160))"),
              "Uniswap");  // V3 SwapRouter
    EXPECT_EQ(family_of("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"),
              "Uniswap");  // V2 Router02
    EXPECT_EQ(family_of("cancel((address,address,(uint8,address,uint256,uint256,uint256)[],"
                        "(uint8,address,uint256,uint256,uint256,address)[],uint8,uint256,uint256,"
                        "bytes32,uint256,bytes32,uint256)[])"),
              "Seaport");
    // A V2 swap decodes with its arguments.
    const Address weth = kWeth;
    core::Bytes swap =
        calldata("38ed1739", word(1000) + word(990) + word(160) + word(kUser) + word(kNow + 600) +
                                 word(2) + word(kUsdc) + word(weth));
    Explanation e = explain_transaction(tx_to(kRouter, 0, swap), context());
    EXPECT_EQ(e.details.at("call").at("function"),
              "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)");
    EXPECT_EQ(e.details.at("call").at("arguments").at("path").as_array().size(), 2u);
    EXPECT_EQ(e.summary, "Call swapExactTokensForTokens on 0x3fC9…7FAD on Ethereum");
}

TEST(InsightExplain, CounterpartiesAreTheRecipientAndAddressArguments) {
    auto list = counterparties(tx_to(kUsdc, 0, erc20_approve(kRouter, 5)));
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], kUsdc);
    EXPECT_EQ(list[1], kRouter);
    EXPECT_EQ(counterparties(tx_to(kFriend, 5)), std::vector<Address>{kFriend});
    core::Transaction create = tx_to(kFriend, 0);
    create.to.reset();
    EXPECT_TRUE(counterparties(create).empty());
}

TEST(InsightExplain, HugeAmountsSaturate) {
    Settings st;
    st.fee_warning_wei = U256(1);
    Context c = context();
    c.settings = &st;
    auto t = tx_to(kFriend, 1);
    t.max_fee_per_gas = kMax;
    t.gas_limit = 30'000'000;
    EXPECT_TRUE(explain_transaction(t, c).has("fee-above-threshold"));
    FakeChain base;
    base.fee = kMax / 2;
    c.chain = &base;
    EXPECT_NO_THROW(explain_transaction(t, c));
    EXPECT_NO_THROW(typed(
        "OrderComponents", R"({"name":"Seaport","chainId":1})",
        R"({"offerer":"0x1111111111111111111111111111111111111111","offer":[],"consideration":[{"itemType":"0","startAmount":")" +
            core::u256_to_decimal(kMax) +
            R"(","recipient":"0x1111111111111111111111111111111111111111"},{"itemType":"0","startAmount":")" +
            core::u256_to_decimal(kMax) +
            R"(","recipient":"0x1111111111111111111111111111111111111111"}]})"));
}

TEST(InsightFormat, UnitsAndDeadlines) {
    EXPECT_EQ(format_units(U256(1234500000000000000ULL), 18), "1.2345");
    EXPECT_EQ(format_units(U256(5), 6), "0.000005");
    EXPECT_EQ(format_units(U256(1234567000000ULL), 6), "1,234,567");
    EXPECT_EQ(format_units(U256(0), 18), "0");
    EXPECT_EQ(format_deadline(U256(kNow + 2 * 3600), kNow), "2025-12-05 10:00 UTC (in 2 hours)");
    EXPECT_EQ(format_deadline(U256(kNow - 5 * 86400), kNow), "2025-11-30 08:00 UTC (5 days ago)");
    EXPECT_EQ(format_deadline(kMax, kNow), "never (no practical expiry)");
    EXPECT_EQ(chain_name(8453), "Base");
    // viem's chain data (insight/generated/chains.inc), native currencies included.
    EXPECT_EQ(chain_name(1), "Ethereum");
    EXPECT_EQ(chain_name(31337), "Anvil");
    EXPECT_EQ(native_currency(137).symbol, "POL");
    EXPECT_EQ(native_currency(100).symbol, "XDAI");
    EXPECT_EQ(native_currency(999999).symbol, "ETH");
    EXPECT_EQ(chain_name(999999), "chain 999999");
    Settings s;
    s.chain_names[999999] = "my devnet";
    EXPECT_EQ(chain_name(999999, &s), "my devnet");
    ASSERT_TRUE(find_token(1, kUsdc));
    EXPECT_EQ(find_token(1, kUsdc)->decimals, 6u);
    EXPECT_FALSE(find_token(1, kFriend));
}

TEST(InsightSite, PhishingDetectorSemantics) {
    Settings none;
    EXPECT_EQ(site::levenshtein("metamask", "metamesk"), 1u);
    EXPECT_EQ(site::levenshtein("", "abc"), 3u);
    using K = site::PhishingVerdict::Kind;
    EXPECT_EQ(site::check_phishing("metamask.io", none).kind, K::Allowed);
    EXPECT_EQ(site::check_phishing("app.sushicom.site", none).kind, K::Blocked);
    auto fuzzy = site::check_phishing("www.metamaskk.net", none);
    EXPECT_EQ(fuzzy.kind, K::Fuzzy);
    EXPECT_EQ(fuzzy.match, "metamask.io");
    EXPECT_EQ(site::check_phishing("example.org", none).kind, K::Clean);
    auto o = site::parse_origin("HTTPS://User@App.Example:8443/path");
    ASSERT_TRUE(o);
    EXPECT_EQ(o->host, "app.example");
    EXPECT_FALSE(site::parse_origin("local"));
    EXPECT_EQ(site::to_unicode("xn--mnchen-3ya.de"), "münchen.de");
}

}  // namespace
}  // namespace keybridge::insight
