#include "daemon/approvals/policy.h"

#include <cstdio>
#include <fstream>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "daemon/approvals/warning_catalog.h"

namespace keybridge::daemon::approvals {
namespace {

constexpr const char* kAccount = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8";
constexpr const char* kOtherAccount = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

core::Address address(const char* text) {
    return *core::Address::parse(text);
}

// A request as the signing methods build it for a token client without an Origin.
ApprovalRequest local_request(std::string method, std::uint64_t chain = 1) {
    ApprovalRequest r;
    r.origin = std::string(kLocalClientOrigin);
    r.authenticated = true;
    r.method = std::move(method);
    r.account = address(kAccount);
    r.chain_id = chain;
    return r;
}

Policy parsed(std::string_view text) {
    auto p = Policy::parse(text, "policy.conf");
    EXPECT_TRUE(p) << (p ? "" : p.error().detail);
    return p ? std::move(*p) : Policy{};
}

std::string parse_error(std::string_view text) {
    auto p = Policy::parse(text, "policy.conf");
    EXPECT_FALSE(p) << text;
    if (p) return "";
    EXPECT_EQ(p.error().code, core::ErrorCode::InvalidArgument);
    return p.error().detail;
}

TEST(PolicyParse, EmptyCommentsAndBlankLines) {
    Policy p = parsed("# only comments\n\n   \n\t# indented comment\n");
    EXPECT_EQ(p.size(), 0u);
    EXPECT_EQ(p.evaluate(local_request("personal_sign")).first, PolicyAction::Ask);
    Policy q = parsed("approve method=personal_sign  # trailing comment\r\n deny\n");
    EXPECT_EQ(q.size(), 2u);
}

TEST(PolicyParse, ErrorsNameFileAndLine) {
    struct Case {
        std::string text;
        std::string expected_start;
        std::string expected_word;
    };
    const Case cases[] = {
        {"allow method=personal_sign", "policy.conf:1: ", "'allow'"},
        {"# comment\n\napprove method", "policy.conf:3: ", "'method'"},
        {"approve\ndeny origin=", "policy.conf:2: ", "origin="},
        {"approve =x", "policy.conf:1: ", "=x"},
        {"approve origin=a,,b", "policy.conf:1: ", "empty value"},
        {"approve method=a,", "policy.conf:1: ", "empty value"},
        {"approve account=0x1234", "policy.conf:1: ", "account"},
        {"approve account=0x73d0385F4d8E00C5e6504C6030F47BF6212736a8",
         "policy.conf:1: ", "account"},
        {"approve chain=0", "policy.conf:1: ", "chain"},
        {"approve chain=abc", "policy.conf:1: ", "chain"},
        {"approve chain=0x1", "policy.conf:1: ", "chain"},
        {"approve chain=9007199254740992", "policy.conf:1: ", "chain"},
        {"approve max-value=1.5eth", "policy.conf:1: ", "max-value"},
        {"approve max-value=-1", "policy.conf:1: ", "max-value"},
        {"approve max-value=eth", "policy.conf:1: ", "max-value"},
        {"approve max-value=1,2", "policy.conf:1: ", "max-value takes one value"},
        {"approve "
         "max-value="
         "999999999999999999999999999999999999999999999999999999999999999999999999999999eth",
         "policy.conf:1: ", "max-value"},
        {"approve max-fee=0.5eth", "policy.conf:1: ", "max-fee must be a whole number"},
        {"approve max-fee=1,2", "policy.conf:1: ", "max-fee takes one value"},
        {"approve max-fee=gwei", "policy.conf:1: ", "max-fee"},
        {"approve colour=red", "policy.conf:1: ", "'colour'"},
        {"approve\napprove\napprove\napprove\napprove\napprove\napprove\napprove\napprove\nAPPROVE",
         "policy.conf:10: ", "'APPROVE'"},
    };
    for (const auto& c : cases) {
        const std::string detail = parse_error(c.text);
        EXPECT_EQ(detail.rfind(c.expected_start, 0), 0u) << c.text << " → " << detail;
        EXPECT_NE(detail.find(c.expected_word), std::string::npos) << c.text << " → " << detail;
    }
}

TEST(PolicyParse, LoadReadsFileAndNamesItInErrors) {
    const std::string path = ::testing::TempDir() + "keybridge_policy_test.conf";
    {
        std::ofstream out(path);
        out << "approve method=personal_sign\nnonsense here\n";
    }
    auto p = Policy::load(path);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().detail.rfind(path + ":2: ", 0), 0u) << p.error().detail;
    {
        std::ofstream out(path);
        out << "approve method=personal_sign\n";
    }
    auto ok = Policy::load(path);
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_EQ(ok->size(), 1u);
    std::remove(path.c_str());
    auto missing = Policy::load(path);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().detail.find(path), std::string::npos);
}

TEST(PolicyEvaluate, FirstMatchWins) {
    Policy p = parsed(
        "deny method=eth_sign\n"
        "approve method=personal_sign,eth_signTypedData_v4\n"
        "deny\n"
        "approve\n");
    EXPECT_EQ(p.evaluate(local_request("eth_sign")),
              std::make_pair(PolicyAction::Deny, std::size_t{1}));
    EXPECT_EQ(p.evaluate(local_request("personal_sign")),
              std::make_pair(PolicyAction::Approve, std::size_t{2}));
    EXPECT_EQ(p.evaluate(local_request("eth_signTypedData_v4")),
              std::make_pair(PolicyAction::Approve, std::size_t{2}));
    EXPECT_EQ(p.evaluate(local_request("eth_sendTransaction")),
              std::make_pair(PolicyAction::Deny, std::size_t{3}));
}

TEST(PolicyEvaluate, AskRuleStopsTheSearch) {
    Policy p = parsed("ask method=eth_sendTransaction\napprove\n");
    EXPECT_EQ(p.evaluate(local_request("eth_sendTransaction")),
              std::make_pair(PolicyAction::Ask, std::size_t{1}));
    EXPECT_EQ(p.evaluate(local_request("personal_sign")).first, PolicyAction::Approve);
}

TEST(PolicyEvaluate, AnApproveRuleNeverApprovesAnUnauthenticatedCaller) {
    Policy p = parsed("approve\ndeny\n");
    ApprovalRequest page = local_request("personal_sign");
    page.origin = "https://app.example";
    page.authenticated = false;
    // The approve rule matches first: a person decides instead.
    EXPECT_EQ(p.evaluate(page), std::make_pair(PolicyAction::Ask, std::size_t{1}));
    Policy by_origin = parsed("approve origin=https://app.example\n");
    EXPECT_EQ(by_origin.evaluate(page).first, PolicyAction::Ask);
    page.authenticated = true;
    EXPECT_EQ(by_origin.evaluate(page).first, PolicyAction::Approve);
}

// The self-approval attack of issue 9: a script drops the token, claims an Origin, and would
// escape "deny method=eth_sign" if denies held only for token clients.
TEST(PolicyEvaluate, DenyRulesHoldForEveryCaller) {
    Policy p = parsed("deny method=eth_sign\ndeny origin=local chain=1\napprove\n");
    ApprovalRequest page = local_request("eth_sign");
    page.origin = "https://claimed.example";
    page.authenticated = false;
    EXPECT_EQ(p.evaluate(page), std::make_pair(PolicyAction::Deny, std::size_t{1}));
    page.method = "personal_sign";
    EXPECT_EQ(p.evaluate(page), std::make_pair(PolicyAction::Ask, std::size_t{3}));
    ApprovalRequest local = local_request("eth_sendTransaction");
    local.chain_id = 1;
    EXPECT_EQ(p.evaluate(local), std::make_pair(PolicyAction::Deny, std::size_t{2}));
}

TEST(PolicyEvaluate, OriginLocalMeansTokenClientsWithoutOrigin) {
    Policy p = parsed("approve origin=local method=personal_sign\n");
    EXPECT_EQ(p.evaluate(local_request("personal_sign")),
              std::make_pair(PolicyAction::Approve, std::size_t{1}));
    ApprovalRequest page = local_request("personal_sign");
    page.origin = "https://app.example";
    EXPECT_EQ(p.evaluate(page).first, PolicyAction::Ask);
    // A wildcard and a list.
    Policy any = parsed("deny origin=*\n");
    EXPECT_EQ(any.evaluate(page).first, PolicyAction::Deny);
    EXPECT_EQ(any.evaluate(local_request("x")).first, PolicyAction::Deny);
    Policy list = parsed("approve origin=https://other.example,https://app.example\n");
    EXPECT_EQ(list.evaluate(page).first, PolicyAction::Approve);
    EXPECT_EQ(list.evaluate(local_request("x")).first, PolicyAction::Ask);
}

TEST(PolicyEvaluate, MaxValueLimitsTransactions) {
    Policy p = parsed("approve method=eth_sendTransaction max-value=1eth\n");
    ApprovalRequest tx = local_request("eth_sendTransaction");
    const core::U256 one_eth = core::U256(1000000000000000000ULL);
    tx.value = one_eth;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Approve);
    tx.value = one_eth + 1;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Ask);
    tx.value = 0;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Approve);

    Policy gwei = parsed("approve max-value=5gwei\n");
    tx.value = 5000000000ULL;
    EXPECT_EQ(gwei.evaluate(tx).first, PolicyAction::Approve);
    tx.value = 5000000001ULL;
    EXPECT_EQ(gwei.evaluate(tx).first, PolicyAction::Ask);

    Policy wei = parsed("approve max-value=1000wei\napprove max-value=2000\n");
    tx.value = 1000;
    EXPECT_EQ(wei.evaluate(tx).second, 1u);
    tx.value = 1500;
    EXPECT_EQ(wei.evaluate(tx).second, 2u);
    tx.value = 2001;
    EXPECT_EQ(wei.evaluate(tx).first, PolicyAction::Ask);
}

const core::U256 kEth = core::U256(1000000000000000000ULL);
const core::U256 kMaxU256 = std::numeric_limits<core::U256>::max();

// The payment bot of docs/POLICY.md, as written there.
constexpr const char* kPaymentBotPolicy =
    "approve origin=local method=eth_requestAccounts\n"
    "approve origin=local method=eth_sendTransaction "
    "account=0x73d0385F4d8E00C5e6504C6030F47BF6212736A8 chain=1 max-value=100000000gwei\n"
    "ask origin=local method=eth_sendTransaction\n"
    "deny origin=local method=personal_sign,eth_sign,eth_signTypedData,eth_signTypedData_v3,"
    "eth_signTypedData_v4\n";

TEST(PolicyEvaluate, MaxValueOfAnApproveRuleCountsTheMaximumFee) {
    Policy p = parsed("approve method=eth_sendTransaction max-value=1eth\n");
    ApprovalRequest tx = local_request("eth_sendTransaction");
    tx.value = kEth / 2;
    tx.max_fee = kEth / 2;  // exactly the limit
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Approve);
    tx.max_fee = kEth / 2 + 1;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Ask);
    // Moving nothing does not make a large fee free.
    tx.value = 0;
    tx.max_fee = kEth + 1;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Ask);
    // Values and fees that do not fit 256 bits together are above every limit, without a throw.
    tx.value = kMaxU256;
    tx.max_fee = kMaxU256;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Ask);
    Policy huge = parsed(
        "approve max-value=115792089237316195423570985008687907853269984665640564039457584007913129"
        "639935\n");  // 2^256-1 wei
    EXPECT_EQ(huge.evaluate(tx).first, PolicyAction::Approve);
    tx.value = 1;
    EXPECT_EQ(huge.evaluate(tx).first, PolicyAction::Approve);
}

TEST(PolicyEvaluate, PaymentBotPolicyNeverApprovesAFeeAboveItsLimit) {
    Policy bot = parsed(kPaymentBotPolicy);
    ApprovalRequest tx = local_request("eth_sendTransaction");
    // 0 ETH with a 63 ETH fee cap (21000 gas × 3,000,000 gwei): a person decides.
    tx.value = 0;
    tx.max_fee = core::U256(21000) * core::U256(3000000ULL) * core::U256(1000000000ULL);
    EXPECT_EQ(bot.evaluate(tx), std::make_pair(PolicyAction::Ask, std::size_t{3}));
    // An ordinary payment still goes through unattended.
    tx.value = kEth / 20;
    tx.max_fee = core::U256(21000) * core::U256(30000000000ULL);  // 30 gwei
    EXPECT_EQ(bot.evaluate(tx), std::make_pair(PolicyAction::Approve, std::size_t{2}));
    // 0.1 ETH exactly plus any fee is above the limit.
    tx.value = kEth / 10;
    EXPECT_EQ(bot.evaluate(tx).first, PolicyAction::Ask);
    tx.max_fee = 0;
    EXPECT_EQ(bot.evaluate(tx).first, PolicyAction::Approve);
}

TEST(PolicyEvaluate, MaxValueOfDenyAndAskRulesJudgesTheValueAlone) {
    // Written before fees counted: deny zero-value transactions of the local client, approve
    // the rest. Counting the fee would let the deny match less; it matches exactly as before.
    Policy p = parsed("deny origin=local max-value=0\napprove origin=local\n");
    ApprovalRequest tx = local_request("eth_sendTransaction");
    tx.value = 0;
    tx.max_fee = kEth;
    EXPECT_EQ(p.evaluate(tx), std::make_pair(PolicyAction::Deny, std::size_t{1}));
    tx.value = 1;
    EXPECT_EQ(p.evaluate(tx), std::make_pair(PolicyAction::Approve, std::size_t{2}));
    Policy ask = parsed("ask max-value=1eth\napprove\n");
    tx.value = kEth;
    tx.max_fee = kMaxU256;
    EXPECT_EQ(ask.evaluate(tx), std::make_pair(PolicyAction::Ask, std::size_t{1}));
}

TEST(PolicyEvaluate, MaxFeeLimitsTheMaximumFee) {
    Policy p = parsed("approve max-fee=1000000gwei\n");  // 0.001 ETH
    ApprovalRequest tx = local_request("eth_sendTransaction");
    tx.value = 100 * kEth;  // max-fee alone says nothing about the value
    tx.max_fee = core::U256(1000000000000000ULL);
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Approve);
    tx.max_fee += 1;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Ask);
    tx.max_fee = kMaxU256;
    EXPECT_EQ(p.evaluate(tx).first, PolicyAction::Ask);
    // Requests that are not transactions pay no fee.
    EXPECT_EQ(p.evaluate(local_request("personal_sign")).first, PolicyAction::Approve);

    // Both limits on one rule: each must hold.
    Policy both = parsed("approve max-value=1eth max-fee=1eth\ndeny max-fee=5gwei\n");
    tx.value = kEth / 2;
    tx.max_fee = kEth / 2;
    EXPECT_EQ(both.evaluate(tx).second, 1u);
    tx.value = 0;
    tx.max_fee = kEth + 1;  // within neither
    EXPECT_EQ(both.evaluate(tx).first, PolicyAction::Ask);
    tx.max_fee = 5000000000ULL;
    EXPECT_EQ(both.evaluate(tx).second, 1u);
    Policy deny = parsed("deny max-fee=5gwei\n");
    EXPECT_EQ(deny.evaluate(tx).first, PolicyAction::Deny);
    tx.max_fee += 1;
    EXPECT_EQ(deny.evaluate(tx).first, PolicyAction::Ask);
}

TEST(PolicyEvaluate, ChainMatching) {
    Policy p = parsed("approve chain=1,10\n");
    EXPECT_EQ(p.evaluate(local_request("personal_sign", 1)).first, PolicyAction::Approve);
    EXPECT_EQ(p.evaluate(local_request("personal_sign", 10)).first, PolicyAction::Approve);
    EXPECT_EQ(p.evaluate(local_request("personal_sign", 5)).first, PolicyAction::Ask);
    EXPECT_EQ(p.evaluate(local_request("personal_sign", 31337)).first, PolicyAction::Ask);
}

TEST(PolicyEvaluate, AccountMatching) {
    // Lower-case addresses are accepted in the file and compare by value.
    Policy p = parsed("approve account=0x73d0385f4d8e00c5e6504c6030f47bf6212736a8\n");
    EXPECT_EQ(p.evaluate(local_request("personal_sign")).first, PolicyAction::Approve);
    ApprovalRequest other = local_request("personal_sign");
    other.account = address(kOtherAccount);
    EXPECT_EQ(p.evaluate(other).first, PolicyAction::Ask);
    // A request that names no account (eth_requestAccounts) never matches an account rule.
    ApprovalRequest none = local_request("eth_requestAccounts");
    none.account.reset();
    EXPECT_EQ(p.evaluate(none).first, PolicyAction::Ask);
    Policy both = parsed(std::string("approve account=") + kOtherAccount + "," + kAccount + "\n");
    EXPECT_EQ(both.evaluate(other).first, PolicyAction::Approve);
}

TEST(PolicyEvaluate, AllConditionsMustHold) {
    Policy p = parsed("approve origin=local method=personal_sign chain=31337 account=" +
                      std::string(kAccount) + "\n");
    EXPECT_EQ(p.evaluate(local_request("personal_sign", 31337)).first, PolicyAction::Approve);
    EXPECT_EQ(p.evaluate(local_request("personal_sign", 1)).first, PolicyAction::Ask);
    EXPECT_EQ(p.evaluate(local_request("eth_sign", 31337)).first, PolicyAction::Ask);
}

// A misspelled method never matched, so a misspelled deny silently never denied.
TEST(PolicyParse, UnknownMethodStopsWithFileAndLine) {
    for (const std::string bad :
         {"eth_sendTransactoin", "wallet_requestPermissions", "eth_chainId", "PERSONAL_SIGN"}) {
        const std::string detail =
            parse_error("approve origin=local\ndeny method=personal_sign," + bad);
        EXPECT_EQ(detail.rfind("policy.conf:2: ", 0), 0u) << detail;
        EXPECT_NE(detail.find("unknown method '" + bad + "'"), std::string::npos) << detail;
    }
    for (std::string_view method : kApprovalMethods)
        parsed("deny method=" + std::string(method));
}

TEST(PolicyParse, OriginMustBeLocalStarOrSchemeHostPort) {
    for (const std::string bad : {"local_client",
                                  "local-client",
                                  "localhost:3000",
                                  "app.example",
                                  "https://app.example/",
                                  "https://app.example/path",
                                  "https://App.example",
                                  "HTTPS://app.example",
                                  "https://",
                                  "https://a.example:",
                                  "https://a.example:0",
                                  "https://a.example:65536",
                                  "https://a.example:80a",
                                  "https://user@a.example",
                                  "https://a.example?x",
                                  "https://[::1",
                                  "https://[]:80",
                                  "://a.example",
                                  "https://.example",
                                  "1http://a"}) {
        const std::string detail = parse_error("\n\napprove origin=" + bad);
        EXPECT_EQ(detail.rfind("policy.conf:3: ", 0), 0u) << bad << " → " << detail;
        EXPECT_NE(detail.find("origin '" + bad + "'"), std::string::npos) << detail;
    }
    parsed(
        "approve origin=local,*,https://app.example,http://localhost:3000,http://127.0.0.1:8545\n"
        "approve origin=http://[::1]:3000,chrome-extension://abcdefghijklmnop,https://a-b.example\n"
        "approve origin=moz-extension://0d0f-11,https://a.example:65535\n");
}

TEST(PolicyParse, WarningConditionErrors) {
    for (const auto& [text, word] : std::vector<std::pair<std::string, std::string>>{
             {"approve max-severity=danger", "max-severity"},
             {"approve max-severity=loud", "max-severity"},
             {"approve max-severity=info,warning", "max-severity"},
             {"approve warnings=some", "warnings"},
             {"approve allow-warning=eth-sign", "unknown warning 'eth-sign'"},
             {"deny warning=contract_creation", "unknown warning 'contract_creation'"}}) {
        const std::string detail = parse_error(text);
        EXPECT_EQ(detail.rfind("policy.conf:1: ", 0), 0u) << detail;
        EXPECT_NE(detail.find(word), std::string::npos) << text << " → " << detail;
    }
    for (std::string_view id : warnings::known_ids())
        parsed("approve allow-warning=" + std::string(id) + "\ndeny warning=" + std::string(id));
}

ApprovalRequest with_warnings(std::string method, std::vector<Warning> list) {
    ApprovalRequest r = local_request(std::move(method));
    r.warnings = std::move(list);
    return r;
}

TEST(PolicyEvaluate, ApproveNeverMatchesADangerWarningItDoesNotName) {
    const ApprovalRequest eth_sign = with_warnings("eth_sign", {warnings::eth_sign_opaque_hash()});
    EXPECT_EQ(parsed("approve\n").evaluate(eth_sign),
              std::make_pair(PolicyAction::Ask, std::size_t{0}));
    // It falls through to later rules: a deny still denies, a rule naming the warning approves.
    EXPECT_EQ(parsed("approve\ndeny method=eth_sign\n").evaluate(eth_sign),
              std::make_pair(PolicyAction::Deny, std::size_t{2}));
    EXPECT_EQ(parsed("approve\napprove allow-warning=eth-sign-opaque-hash\n").evaluate(eth_sign),
              std::make_pair(PolicyAction::Approve, std::size_t{2}));
    // Naming another warning is not enough.
    EXPECT_EQ(parsed("approve allow-warning=contract-creation\n").evaluate(eth_sign).first,
              PolicyAction::Ask);
    const ApprovalRequest typed =
        with_warnings("eth_signTypedData_v4", {warnings::typed_data_chain_mismatch("5", 1)});
    EXPECT_EQ(parsed("approve method=eth_signTypedData_v4\n").evaluate(typed).first,
              PolicyAction::Ask);
    // Warnings below danger do not stop an approve rule without warning conditions.
    EXPECT_EQ(parsed("approve\n")
                  .evaluate(with_warnings("personal_sign", {warnings::binary_32_byte_message()}))
                  .first,
              PolicyAction::Approve);
}

// An explanation made while the audit history was still loading may lack a warning the whole
// history raises (address poisoning): no approve rule matches it, not even one naming it; deny
// rules and `warning=` conditions of other actions still apply.
TEST(PolicyEvaluate, ApproveNeverMatchesAnExplanationOnAPartialHistory) {
    const ApprovalRequest partial =
        with_warnings("personal_sign", {warnings::audit_history_loading()});
    EXPECT_EQ(partial.warnings.at(0).id, warnings::kAuditHistoryLoading);
    EXPECT_TRUE(warnings::is_known_id(warnings::kAuditHistoryLoading));
    EXPECT_EQ(parsed("approve\n").evaluate(partial),
              std::make_pair(PolicyAction::Ask, std::size_t{0}));
    EXPECT_EQ(parsed("approve allow-warning=audit-history-loading\n").evaluate(partial).first,
              PolicyAction::Ask);
    EXPECT_EQ(parsed("approve max-severity=warning\n").evaluate(partial).first, PolicyAction::Ask);
    EXPECT_EQ(parsed("approve\ndeny method=personal_sign\n").evaluate(partial),
              std::make_pair(PolicyAction::Deny, std::size_t{2}));
    EXPECT_EQ(parsed("ask warning=audit-history-loading\n").evaluate(partial),
              std::make_pair(PolicyAction::Ask, std::size_t{1}));
    // The same request once the history is loaded: the rule approves it.
    EXPECT_EQ(parsed("approve\n").evaluate(local_request("personal_sign")).first,
              PolicyAction::Approve);
}

TEST(PolicyEvaluate, WarningsNoneAndMaxSeverity) {
    const ApprovalRequest plain = local_request("eth_sendTransaction");
    const ApprovalRequest info =
        with_warnings("eth_requestAccounts", {warnings::connect_exposes_addresses()});
    const ApprovalRequest creation =
        with_warnings("eth_sendTransaction", {warnings::contract_creation()});
    Policy none = parsed("approve warnings=none\n");
    EXPECT_EQ(none.evaluate(plain).first, PolicyAction::Approve);
    EXPECT_EQ(none.evaluate(info).first, PolicyAction::Ask);
    EXPECT_EQ(none.evaluate(creation).first, PolicyAction::Ask);
    Policy up_to_info = parsed("approve max-severity=info\n");
    EXPECT_EQ(up_to_info.evaluate(plain).first, PolicyAction::Approve);
    EXPECT_EQ(up_to_info.evaluate(info).first, PolicyAction::Approve);
    EXPECT_EQ(up_to_info.evaluate(creation).first, PolicyAction::Ask);
    Policy up_to_warning = parsed("approve max-severity=warning\n");
    EXPECT_EQ(up_to_warning.evaluate(creation).first, PolicyAction::Approve);
    // allow-warning excuses a named warning from the other conditions.
    Policy excused = parsed("approve warnings=none allow-warning=contract-creation\n");
    EXPECT_EQ(excused.evaluate(creation).first, PolicyAction::Approve);
    EXPECT_EQ(excused.evaluate(info).first, PolicyAction::Ask);
}

TEST(PolicyEvaluate, WarningConditionMatchesRequestsCarryingIt) {
    Policy p = parsed("deny warning=contract-creation,rpc-url-unencrypted\napprove\n");
    EXPECT_EQ(p.evaluate(with_warnings("eth_sendTransaction", {warnings::contract_creation()})),
              std::make_pair(PolicyAction::Deny, std::size_t{1}));
    EXPECT_EQ(p.evaluate(local_request("eth_sendTransaction")),
              std::make_pair(PolicyAction::Approve, std::size_t{2}));
}

// unless-warning= takes a severity (that or worse stops the rule) or ids, insight's included.
TEST(PolicyEvaluate, UnlessWarningBySeverityOrId) {
    const ApprovalRequest plain = local_request("eth_sendTransaction");
    const ApprovalRequest creation =
        with_warnings("eth_sendTransaction", {warnings::contract_creation()});
    const ApprovalRequest unlimited = with_warnings(
        "eth_sendTransaction",
        {Warning{"unlimited-approval", Severity::Danger, "Unlimited approval", "all your USDC"}});
    Policy deny_unless = parsed("deny unless-warning=danger\nask\n");
    EXPECT_EQ(deny_unless.evaluate(plain).first, PolicyAction::Deny);
    EXPECT_EQ(deny_unless.evaluate(creation).first, PolicyAction::Deny);
    EXPECT_EQ(deny_unless.evaluate(unlimited).first, PolicyAction::Ask);
    Policy approve_quiet = parsed("approve unless-warning=warning\n");
    EXPECT_EQ(approve_quiet.evaluate(plain).first, PolicyAction::Approve);
    EXPECT_EQ(approve_quiet.evaluate(creation).first, PolicyAction::Ask);
    // A named insight id; a danger warning still needs allow-warning= for an approve rule.
    Policy by_id =
        parsed("ask unless-warning=unlimited-approval\ndeny warning=unlimited-approval\n");
    EXPECT_EQ(by_id.evaluate(creation).first, PolicyAction::Ask);
    EXPECT_EQ(by_id.evaluate(unlimited).first, PolicyAction::Deny);
    EXPECT_FALSE(Policy::parse("approve unless-warning=loud\n", "p"));
    EXPECT_TRUE(Policy::parse("deny warning=address-poisoning,site-phishing-list\n", "p"));
}

TEST(PolicyEvaluate, LocalIsTheNameOfTokenClientsEverywhere) {
    EXPECT_EQ(kLocalClientOrigin, "local");
    EXPECT_EQ(parsed("approve origin=local\n").evaluate(local_request("personal_sign")).first,
              PolicyAction::Approve);
}

}  // namespace
}  // namespace keybridge::daemon::approvals
