#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/bytes.h"
#include "core/transaction.h"
#include "core/uint256.h"

// Insight: a signing request in plain words (summary), its decoded fields (details) and
// structured warnings. Pure functions: no files, no sockets, no clock (the caller passes the
// time). Facts about the chain come only through the optional ChainLookup, which the caller
// answers from what it already knows; every function works without one.
namespace keybridge::insight {

enum class Severity { Info, Warning, Danger };
std::string_view to_string(Severity severity);  // "info", "warning", "danger"

// {id, severity, title, detail}. Ids are stable (docs/INSIGHT.md lists them): policies and
// tools match on them.
struct Warning {
    std::string id;
    Severity severity = Severity::Warning;
    std::string title;
    std::string detail;
    bool operator==(const Warning&) const = default;
};

// Every id this module can produce.
const std::vector<std::string_view>& warning_ids();

struct Explanation {
    std::string summary;  // one sentence: "Send 12.5 USDC to 0x…"
    boost::json::object details;
    std::vector<Warning> warnings;

    bool has(std::string_view id) const;
};

struct TokenInfo {
    std::string symbol;
    unsigned decimals = 18;
    bool from_chain = false;  // read from the token contract (symbol()/decimals()), not the list
};

// The transaction pre-run by the node (eth_call and eth_estimateGas against the pending block).
struct Simulation {
    enum class Outcome { Succeeds, Reverts, Unknown };
    Outcome outcome = Outcome::Unknown;
    core::Bytes revert_data;                  // Reverts: the node's revert data (may be empty)
    std::string node_message;                 // the node's words ("execution reverted: …")
    std::optional<std::uint64_t> gas_needed;  // eth_estimateGas's answer
    std::string note;                         // Unknown: why ("the node did not answer: …")
};

// Read-only facts about the chain (the active one), answered by the caller from a cache or a
// node. nullopt: not known (never a guess); insight then stays quiet about it. The daemon asks
// insight's questions first with a recording lookup, fetches the answers from the node, then
// explains again with them (docs/INSIGHT.md, "Chain lookups").
class ChainLookup {
  public:
    virtual ~ChainLookup() = default;
    virtual std::optional<bool> has_code(const core::Address& address) const = 0;
    virtual std::optional<std::uint64_t> pending_nonce(const core::Address& account) const = 0;
    virtual std::optional<core::U256> base_fee() const = 0;
    // A token the bundled list does not know: its symbol() and decimals().
    virtual std::optional<TokenInfo> token(const core::Address&) const { return std::nullopt; }
    // The transaction being explained, pre-run by the node.
    virtual std::optional<Simulation> simulation() const { return std::nullopt; }
};

// The user's settings (config file, docs/CONFIGURATION.md "insight").
struct Settings {
    std::optional<core::U256> value_warning_wei;       // value-above-threshold
    std::optional<core::U256> fee_warning_wei;         // fee-above-threshold (gas × max fee)
    std::uint64_t far_deadline_days = 30;              // permits and approvals expiring later
    std::uint64_t nonce_gap = 5;                       // nonce-far-ahead: more than this ahead
    unsigned base_fee_multiple = 5;                    // fee-far-above-base-fee
    std::vector<std::string> phishing_block;           // own entries: host and its subdomains
    std::vector<std::string> phishing_allow;           // own exceptions (beat the bundled list)
    std::map<std::uint64_t, std::string> chain_names;  // --chain names
};

// What the request is judged against.
struct Context {
    std::uint64_t chain_id = 1;  // the origin's active chain
    std::string origin;          // "https://app.example", or "local" for local clients
    core::Address account;       // the signing account
    std::int64_t now = 0;        // unix seconds
    // Addresses the user has used before (own accounts, earlier recipients and spenders).
    std::vector<core::Address> known_addresses;
    const Settings* settings = nullptr;  // nullptr: defaults
    const ChainLookup* chain = nullptr;  // nullptr: no chain facts
};

// Site warnings for an origin (phishing list, http://, punycode, mixed scripts, look-alikes).
std::vector<Warning> site_warnings(std::string_view origin, const Settings& settings);

// personal_sign: text, Sign-In with Ethereum (EIP-4361), a hash-like blob or a serialized
// transaction.
Explanation explain_message(core::ByteView message, const Context& context);
// eth_sign of a 32-byte hash.
Explanation explain_digest(const core::Hash32& digest, const Context& context);
// EIP-712 typed data: permits (EIP-2612, DAI, Permit2), SafeTx, Seaport orders, else a tree.
Explanation explain_typed_data(std::string_view primary_type, const boost::json::object& domain,
                               const boost::json::object& message, const Context& context);
// A transaction (filled): transfers, approvals, calls decoded from the bundled ABI table.
Explanation explain_transaction(const core::Transaction& tx, const Context& context);

// The whole explanation of a request: the kind's own plus the origin's site warnings.
// (Convenience for callers that have the request's pieces already decoded.)
void add_site_warnings(Explanation& explanation, const Context& context);

// ---- helpers, exposed for tests and the daemon

// A chain's name ("Ethereum", "Base"; user names first), or "chain N".
std::string chain_name(std::uint64_t chain_id, const Settings* settings = nullptr);
// A chain's native currency from the bundled chain table (viem's chain data); ETH with 18
// decimals for chains it does not know.
struct NativeCurrency {
    std::string_view symbol = "ETH";
    unsigned decimals = 18;
};
NativeCurrency native_currency(std::uint64_t chain_id);
// The addresses a transaction deals with: its recipient, and the address arguments of its
// decoded call (token recipient, spender, operator). The daemon remembers them once signed
// (the audit log's "counterparties") as the addresses the user has interacted with.
std::vector<core::Address> counterparties(const core::Transaction& tx);
// The bundled token list's entry for a token on a chain.
std::optional<TokenInfo> find_token(std::uint64_t chain_id, const core::Address& token);
// 1234500000000000000 with 18 decimals → "1.2345".
std::string format_units(const core::U256& amount, unsigned decimals);
// "2026-12-05 07:40 UTC (in 3 days)" / "(2 hours ago)".
std::string format_deadline(const core::U256& unix_seconds, std::int64_t now);

}  // namespace keybridge::insight
