#include "daemon/methods/forward_rules.h"

#include <array>
#include <cctype>
#include <utility>

namespace keybridge::daemon {
namespace {

using Rule = std::pair<std::string_view, std::string_view>;  // name, why it is denied

// Whole namespaces that sign, send, hold keys, or administer or control the node. A node may
// offer read-only methods in some of them too (clique_getSnapshot, anvil_nodeInfo): a family is
// denied as a whole so that a new mutating member is never forwarded by accident.
constexpr std::array<Rule, 21> kDeniedNamespaces{{
    {"personal", "uses the node's own accounts and keys"},
    {"admin", "administers the node"},
    {"miner", "controls the node's block production"},
    {"engine", "is the consensus client's API of the node"},
    {"clique", "votes in the chain's consensus"},
    {"ibft", "votes in the chain's consensus"},
    {"qbft", "votes in the chain's consensus"},
    {"anvil", "controls a test node (balances, blocks, impersonation)"},
    {"hardhat", "controls a test node (balances, blocks, impersonation)"},
    {"evm", "controls a test node (mining, snapshots, time)"},
    {"ganache", "controls a test node"},
    {"tenderly", "controls a simulated network (balances, state)"},
    {"les", "administers the node's light-client server"},
    {"shh", "uses the node's Whisper keys and sends messages"},
    {"db", "writes the node's local database"},
    {"perm", "administers the node's permissioning"},
    {"priv", "sends private transactions from the node"},
    {"eea", "sends private transactions from the node"},
    {"parity", "uses the node's accounts and settings"},
    {"signer", "uses the node's signer"},
    {"plugins", "administers the node's plugins"},
}};

// Single methods, in namespaces that are otherwise forwarded.
constexpr std::array<Rule, 4> kDeniedMethods{{
    {"eth_coinbase", "reveals the node's own account"},
    {"eth_getWork", "belongs to the node's mining"},
    {"eth_decrypt", "needs the wallet's keys (keybridged does not offer it)"},
    {"eth_getEncryptionPublicKey", "needs the wallet's keys (keybridged does not offer it)"},
}};

// A method name (after "namespace_") starting with one of these signs or sends something, in
// any namespace: eth_signTransaction, eth_sendUnsignedTransaction, eth_sendBundle,
// mev_sendBundle, eth_submitWork, …
constexpr std::array<Rule, 3> kDeniedVerbs{{
    {"sign", "signs (with the node's keys)"},
    {"send", "sends transactions or messages"},
    {"submit", "submits work or data to the node"},
}};

// keybridged's own namespaces: a name there that the method table lacks does not exist.
constexpr std::array<std::string_view, 3> kOwnNamespaces{"keybridge", "wallet", "rpc"};

// debug_ mixes read-only tracing with node controls (debug_setHead, debug_writeMemProfile, …):
// only these read-only prefixes are forwarded.
constexpr std::array<std::string_view, 2> kForwardedDebugPrefixes{"trace", "getRaw"};

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
    }
    return true;
}

ForwardDecision denied(std::string_view name, std::string_view why) {
    return {ForwardVerdict::Denied, "keybridged does not forward " + std::string(name) +
                                        " to the chain's node: it " + std::string(why)};
}

}  // namespace

ForwardDecision classify_unhandled_method(std::string_view name) {
    // namespace_method: a lower-case namespace of letters and digits, then a method name that
    // starts with a letter and holds letters, digits and underscores (eth_signTypedData_v4).
    const std::size_t underscore = name.find('_');
    const bool sane = name.size() <= kMaxForwardedNameLength &&
                      underscore != std::string_view::npos && underscore > 0 &&
                      underscore + 1 < name.size() && name[0] >= 'a' && name[0] <= 'z' &&
                      std::isalpha(static_cast<unsigned char>(name[underscore + 1])) != 0;
    bool chars_ok = sane;
    for (std::size_t i = 0; chars_ok && i < name.size(); ++i) {
        chars_ok = i < underscore ? is_lower_alnum(name[i]) : is_name_char(name[i]);
    }
    if (!chars_ok) {
        return {ForwardVerdict::NotAMethodName,
                "not a method name (namespace_method, letters, digits and underscores, at most " +
                    std::to_string(kMaxForwardedNameLength) + " characters)"};
    }
    const std::string_view space = name.substr(0, underscore);
    const std::string_view method = name.substr(underscore + 1);

    for (auto own : kOwnNamespaces) {
        if (space == own) return {ForwardVerdict::OwnNamespace, {}};
    }
    for (const auto& [denied_space, why] : kDeniedNamespaces) {
        if (space == denied_space) return denied(name, why);
    }
    for (const auto& [denied_name, why] : kDeniedMethods) {
        if (name == denied_name) return denied(name, why);
    }
    for (const auto& [verb, why] : kDeniedVerbs) {
        if (starts_with_ignoring_case(method, verb)) return denied(name, why);
    }
    if (space == "debug") {
        for (auto prefix : kForwardedDebugPrefixes) {
            if (method.substr(0, prefix.size()) == prefix) return {ForwardVerdict::Forward, {}};
        }
        return denied(name,
                      "may change the node's state or files (only debug_trace* and "
                      "debug_getRaw* are forwarded)");
    }
    return {ForwardVerdict::Forward, {}};
}

}  // namespace keybridge::daemon
