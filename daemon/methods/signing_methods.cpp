// The signing methods: personal_sign, eth_sign, eth_signTypedData (v1, v3, v4),
// eth_signTransaction, eth_sendTransaction (each parsed here into a SigningRequest, then run
// through the one signing flow of signing_flow.cpp), eth_sendRawTransaction (broadcast only) and
// keybridge_explainRequest (the flow up to "explain", without signing).
#include <algorithm>

#include "core/eip191.h"
#include "core/eip712.h"
#include "core/hash.h"
#include "daemon/methods/signing_flow.h"
#include "daemon/rpc/params.h"
#include "daemon/services.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;
using Parsed = tl::expected<SigningRequest, RpcError>;
using ParamsView = const json::value&;

// Who asks and on which chain, fixed now: a chain switch after this moment changes nothing of
// this request.
SigningRequest from_client(const Services& s, const rpc::Client& client, std::string method,
                           SigningRequest::Kind kind) {
    SigningRequest r;
    r.kind = kind;
    r.method = std::move(method);
    r.origin = client.is_browser() ? client.origin : std::string(approvals::kLocalClientOrigin);
    r.channel = client.channel;
    r.authenticated = client.token_authenticated;
    r.connection_id = client.connection_id;
    r.chain_id = s.chain_for(client);
    return r;
}

Parsed parse_personal_sign(const Services& s, const rpc::Client& client, ParamsView params) {
    auto p =
        rpc::positional(params, 2, 3);  // a third (password) argument is ignored, as MetaMask does
    if (!p) return tl::unexpected(p.error());
    auto text = rpc::string_at(**p, 0, "message");
    if (!text) return tl::unexpected(text.error());
    auto account = rpc::address_at(**p, 1, "address");
    if (!account) return tl::unexpected(account.error());
    auto r = from_client(s, client, "personal_sign", SigningRequest::Kind::PersonalMessage);
    if (text->rfind("0x", 0) == 0) {
        auto bytes = core::hex_decode(*text, core::HexPrefix::Required);
        if (!bytes)
            return tl::unexpected(
                rpc::invalid_params_error("params[0] (message): " + bytes.error().detail));
        r.message = std::move(*bytes);
    } else {
        r.message.assign(text->begin(), text->end());  // plain text, as MetaMask accepts it
    }
    r.account = *account;
    r.digest = core::personal_message_hash(r.message);  // hashed once: approval, signer, audit
    return r;
}

Parsed parse_eth_sign(const Services& s, const rpc::Client& client, ParamsView params) {
    if (!s.config.enable_eth_sign) {
        return tl::unexpected(RpcError{rpc::kUnsupportedMethod,
                                       "eth_sign is disabled: it signs an opaque hash that can "
                                       "authorize anything (start keybridged with "
                                       "--enable-eth-sign to allow it)",
                                       std::nullopt});
    }
    auto p = rpc::positional(params, 2, 2);
    if (!p) return tl::unexpected(p.error());
    auto account = rpc::address_at(**p, 0, "address");
    if (!account) return tl::unexpected(account.error());
    auto data = rpc::hex_at(**p, 1, "hash");
    if (!data) return tl::unexpected(data.error());
    if (data->size() != 32)
        return tl::unexpected(rpc::invalid_params_error("params[1] (hash) must be 32 bytes"));
    auto r = from_client(s, client, "eth_sign", SigningRequest::Kind::Digest);
    r.account = *account;
    std::copy(data->begin(), data->end(), r.digest.begin());
    return r;
}

Parsed parse_typed(const Services& s, const rpc::Client& client, ParamsView params,
                   core::eip712::Version version, std::string method) {
    auto p = rpc::positional(params, 2, 2);
    if (!p) return tl::unexpected(p.error());
    auto account = rpc::address_at(**p, 0, "address");
    if (!account) return tl::unexpected(account.error());
    const json::value& raw = (**p)[1];
    core::Result<core::eip712::TypedData> typed =
        core::fail(core::ErrorCode::InvalidFormat, "unset");
    if (raw.is_string())
        typed = core::eip712::parse(std::string_view(raw.as_string()));
    else if (raw.is_object())
        typed = core::eip712::parse(raw);
    else
        return tl::unexpected(
            rpc::invalid_params_error("params[1] (typed data) must be a JSON string or object"));
    if (!typed)
        return tl::unexpected(
            rpc::invalid_params_error("params[1] (typed data): " + typed.error().detail));
    auto hashed = core::eip712::hash_typed_data(std::move(*typed), version);
    if (!hashed) return tl::unexpected(rpc::to_rpc_error(hashed.error()));
    auto r = from_client(s, client, std::move(method), SigningRequest::Kind::TypedData);
    r.account = *account;
    r.digest = hashed->digest();
    r.typed = std::make_shared<const core::eip712::HashedTypedData>(std::move(*hashed));
    return r;
}

Parsed parse_typed_v3(const Services& s, const rpc::Client& c, ParamsView params) {
    return parse_typed(s, c, params, core::eip712::Version::V3, "eth_signTypedData_v3");
}

Parsed parse_typed_v4(const Services& s, const rpc::Client& c, ParamsView params) {
    return parse_typed(s, c, params, core::eip712::Version::V4, "eth_signTypedData_v4");
}

Parsed parse_typed_v1(const Services& s, const rpc::Client& client, ParamsView params) {
    auto p = rpc::positional(params, 2, 2);
    if (!p) return tl::unexpected(p.error());
    const json::value& typed = (**p)[0];
    auto account = rpc::address_at(**p, 1, "address");
    if (!account) return tl::unexpected(account.error());
    auto digest = core::eip712::legacy_v1_hash(typed);
    if (!digest)
        return tl::unexpected(
            rpc::invalid_params_error("params[0] (typed data v1): " + digest.error().detail));
    auto r = from_client(s, client, "eth_signTypedData", SigningRequest::Kind::TypedDataV1);
    r.account = *account;
    r.typed_v1 = typed;
    r.digest = *digest;
    return r;
}

Parsed parse_transaction(const Services& s, const rpc::Client& client, ParamsView params,
                         bool broadcast) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) return tl::unexpected(p.error());
    auto request = rpc::transaction_request((**p)[0]);
    if (!request) return tl::unexpected(request.error());
    if (!request->from)
        return tl::unexpected(rpc::invalid_params_error("transaction.from is required"));
    auto r = from_client(s, client, broadcast ? "eth_sendTransaction" : "eth_signTransaction",
                         SigningRequest::Kind::Transaction);
    if (request->chain_id && *request->chain_id != r.chain_id) {
        return tl::unexpected(
            rpc::invalid_params_error("transaction.chainId " + rpc::quantity(*request->chain_id) +
                                      " is not the selected chain " + rpc::quantity(r.chain_id)));
    }
    auto config = s.chains.find(r.chain_id);
    r.upstream_url = config ? config->rpc_url : "";
    if (broadcast && r.upstream_url.empty()) {
        return tl::unexpected(RpcError{rpc::kChainDisconnected,
                                       "no RPC node is configured for chain " +
                                           std::to_string(r.chain_id) + " to broadcast to",
                                       std::nullopt});
    }
    r.account = *request->from;
    r.broadcast = broadcast;
    r.nonce_given = request->nonce.has_value();
    r.unfilled = std::move(*request);
    return r;
}

Parsed parse_sign_transaction(const Services& s, const rpc::Client& c, ParamsView params) {
    return parse_transaction(s, c, params, false);
}

Parsed parse_send_transaction(const Services& s, const rpc::Client& c, ParamsView params) {
    return parse_transaction(s, c, params, true);
}

using Parser = Parsed (*)(const Services&, const rpc::Client&, ParamsView);

// The signing methods' table: one row per method, with its parser.
struct SigningMethod {
    const char* name;
    const char* summary;
    Parser parse;
};
constexpr SigningMethod kSigningMethods[] = {
    {"personal_sign", "EIP-191 signature of a message (needs approval)", parse_personal_sign},
    {"eth_sign", "signature of a raw 32-byte hash; off unless --enable-eth-sign", parse_eth_sign},
    {"eth_signTypedData", "legacy typed data (v1 array form)", parse_typed_v1},
    {"eth_signTypedData_v3", "EIP-712 typed data, v3 rules", parse_typed_v3},
    {"eth_signTypedData_v4", "EIP-712 typed data, v4 rules (arrays, nested structs)",
     parse_typed_v4},
    {"eth_signTransaction", "sign a transaction without sending it", parse_sign_transaction},
    {"eth_sendTransaction", "fill, approve, sign and broadcast a transaction",
     parse_send_transaction},
};

const SigningMethod* find_signing_method(std::string_view name) {
    for (const auto& m : kSigningMethods) {
        if (name == m.name) return &m;
    }
    return nullptr;
}

// keybridge_explainRequest [{method, params, origin}]: the flow up to "explain", as that origin
// would see it.
void explain_request(Services& s, const std::shared_ptr<const rpc::Client>& caller,
                     ParamsView params, rpc::Reply reply) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) return reply(tl::unexpected(p.error()));
    if (!(**p)[0].is_object())
        return reply(tl::unexpected(
            rpc::invalid_params_error("params[0] must be an object {method, params, origin}")));
    const json::object& what = (**p)[0].as_object();
    const json::value* method = what.if_contains("method");
    if (method == nullptr || !method->is_string())
        return reply(tl::unexpected(rpc::invalid_params_error("method must be a string")));
    const SigningMethod* row = find_signing_method(std::string_view(method->as_string()));
    if (row == nullptr)
        return reply(tl::unexpected(rpc::invalid_params_error(
            "method must be a signing method (" + std::string(method->as_string()) + " is not)")));
    auto client = std::make_shared<rpc::Client>(*caller);
    if (const json::value* origin = what.if_contains("origin")) {
        if (!origin->is_string())
            return reply(tl::unexpected(rpc::invalid_params_error("origin must be a string")));
        const std::string_view text(origin->as_string());
        if (text != "local" && text != approvals::kLocalClientOrigin) client->origin = text;
    }
    static const json::value kNoParams = json::array{};
    const json::value* inner = what.if_contains("params");
    auto parsed = row->parse(s, *client, inner != nullptr ? *inner : kNoParams);
    if (!parsed) return reply(tl::unexpected(parsed.error()));
    explain_signing_request(s, client, std::move(*parsed), std::move(reply));
}

void send_raw_transaction(Services& s, const std::shared_ptr<const rpc::Client>& client,
                          const json::value& params, rpc::Reply reply) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) return reply(tl::unexpected(p.error()));
    auto raw = rpc::hex_at(**p, 0, "signed transaction");
    if (!raw) return reply(tl::unexpected(raw.error()));
    // Decode first: garbage is refused here with a clear message rather than by the node.
    auto decoded = core::decode_signed(*raw);
    if (!decoded) return reply(tl::unexpected(rpc::to_rpc_error(decoded.error())));
    const std::uint64_t chain = s.chain_for(*client);
    if (decoded->tx.eip155 && decoded->tx.chain_id != core::U256(chain)) {
        return reply(tl::unexpected(rpc::invalid_params_error(
            "the transaction is for chain " + core::u256_to_decimal(decoded->tx.chain_id) +
            ", not the selected chain " + std::to_string(chain))));
    }
    auto config = s.chains.find(chain);
    if (!config || config->rpc_url.empty()) {
        return reply(tl::unexpected(RpcError{
            rpc::kChainDisconnected, "no RPC node is configured for chain " + std::to_string(chain),
            std::nullopt}));
    }
    s.upstream.call(config->rpc_url, "eth_sendRawTransaction", params, std::move(reply));
}

}  // namespace

void register_signing_methods(rpc::Dispatcher& d, Services& s) {
    for (const SigningMethod& m : kSigningMethods) {
        d.add({m.name, m.summary, rpc::Access::Anyone,
               [&s, parse = m.parse](const auto& client, ParamsView params, rpc::Reply reply) {
                   auto parsed = parse(s, *client, params);
                   if (!parsed) return reply(tl::unexpected(parsed.error()));
                   run_signing_flow(s, client, std::move(*parsed), std::move(reply));
               }});
    }
    d.add({"eth_sendRawTransaction", "broadcast an already signed transaction", rpc::Access::Anyone,
           [&s](const auto& client, ParamsView params, rpc::Reply reply) {
               send_raw_transaction(s, client, params, std::move(reply));
           }});
    d.add({"keybridge_explainRequest",
           "what a signing request would show, without signing: params [{method, params, origin}]",
           rpc::Access::TokenOnly, [&s](const auto& client, ParamsView params, rpc::Reply reply) {
               explain_request(s, client, params, std::move(reply));
           }});
}

}  // namespace keybridge::daemon
