#pragma once

#include <string>
#include <string_view>

namespace keybridge::daemon {

// Which methods that keybridged does not answer itself may go to the chain's node.
//
// The rule (docs/RPC.md, "Everything else goes to the node"): a syntactically sane name is
// forwarded unless it signs, sends, touches the node's own accounts or keys, or administers or
// controls the node. The deny list works by namespace (personal_, admin_, miner_, anvil_, …),
// by verb (any method whose name after the namespace starts with "sign", "send" or "submit"),
// and by a few single names (eth_coinbase, eth_getWork, …); debug_ is denied except its
// read-only debug_trace* and debug_getRaw*. keybridged's own namespaces (keybridge_, wallet_,
// rpc_) are never forwarded: a name there that the method table lacks does not exist.
enum class ForwardVerdict {
    Forward,         // send it to the origin's chain's node
    NotAMethodName,  // not namespace_method, or too long: -32601
    OwnNamespace,    // keybridge_*, wallet_*, rpc_* that the table lacks: -32601
    Denied,          // signs, sends, or controls the node: 4200
};

struct ForwardDecision {
    ForwardVerdict verdict = ForwardVerdict::Forward;
    std::string reason;  // for NotAMethodName and Denied: a sentence for the caller
};

// Longest method name forwarded; real ones are under 50 characters.
inline constexpr std::size_t kMaxForwardedNameLength = 64;

// Pure; `name` is what the client sent (never trusted to be short or printable).
ForwardDecision classify_unhandled_method(std::string_view name);

}  // namespace keybridge::daemon
