// Signatures: personal_sign, eth_sign, eth_signTypedData (v1, v3, v4), eth_signTransaction,
// eth_sendTransaction, eth_sendRawTransaction. Every one needs the account to be connected to the
// caller and the user's approval (or a policy rule for authenticated callers).
#include <algorithm>

#include <unicode/utf8.h>

#include "core/eip191.h"
#include "core/eip712.h"
#include "core/hash.h"
#include "daemon/approvals/warning_catalog.h"
#include "daemon/log.h"
#include "daemon/methods/transaction_filler.h"
#include "daemon/rpc/params.h"
#include "daemon/services.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;

bool is_utf8_text(core::ByteView bytes) {
    for (std::size_t i = 0; i < bytes.size();) {
        UChar32 c = 0;
        U8_NEXT(bytes.data(), i, bytes.size(), c);
        if (c < 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) return false;
    }
    return true;
}

approvals::ApprovalRequest base_request(const Services& s, const rpc::Client& client,
                                        std::string method, const core::Address& account) {
    approvals::ApprovalRequest r;
    r.origin = client.is_browser() ? client.origin : std::string(approvals::kLocalClientOrigin);
    r.authenticated = client.token_authenticated;
    r.connection_id = client.connection_id;
    r.method = std::move(method);
    r.account = account;
    r.chain_id = s.chain_for(client);
    return r;
}

// The account must be connected to this caller, and a signer must hold its key.
tl::expected<void, RpcError> check_account(Services& s, const rpc::Client& client,
                                           const core::Address& account) {
    auto visible = s.visible_accounts(client);
    if (std::find(visible.begin(), visible.end(), account) == visible.end()) {
        return tl::unexpected(
            RpcError{rpc::kUnauthorized,
                     "the account " + account.to_checksum_string() +
                         " is not connected to this origin (call eth_requestAccounts)",
                     std::nullopt});
    }
    if (!s.software.unlocked()) {
        return tl::unexpected(RpcError{
            rpc::kUnauthorized, "the vault is locked: run 'keybridge unlock'", std::nullopt});
    }
    // Before asking the user: an account imported by the tool after the unlock has no key yet.
    if (auto ok = s.software.can_sign(account); !ok) {
        return tl::unexpected(RpcError{rpc::kUnauthorized, ok.error().detail, std::nullopt});
    }
    return {};
}

json::value signature_hex(const core::Signature65& sig) {
    return json::value(core::hex_encode(sig));
}

// Asks for approval, then runs `sign` (which returns the RPC result and the digest to audit).
using SignStep = std::function<tl::expected<std::pair<json::value, core::Hash32>, RpcError>()>;
void approve_and_sign(Services& s, approvals::ApprovalRequest request, SignStep sign,
                      rpc::Reply reply) {
    request.id = s.approvals.reserve_id();
    auto audited = std::make_shared<approvals::ApprovalRequest>(request);
    s.approvals.submit(std::move(request),
                       [&s, audited, sign = std::move(sign), reply](core::Status status) {
                           if (!status)
                               return reply(tl::unexpected(rpc::to_rpc_error(status.error())));
                           auto result = sign();
                           if (!result) return reply(tl::unexpected(result.error()));
                           s.approvals.record_signed(*audited, result->second);
                           reply(std::move(result->first));
                       });
}

RpcError signer_error(const core::Error& e) {
    return rpc::to_rpc_error(e);
}

void personal_sign(Services& s, const std::shared_ptr<const rpc::Client>& client,
                   const json::value& params, rpc::Reply reply) {
    auto p =
        rpc::positional(params, 2, 3);  // a third (password) argument is ignored, as MetaMask does
    if (!p) return reply(tl::unexpected(p.error()));
    auto text = rpc::string_at(**p, 0, "message");
    if (!text) return reply(tl::unexpected(text.error()));
    auto account = rpc::address_at(**p, 1, "address");
    if (!account) return reply(tl::unexpected(account.error()));
    core::Bytes message;
    if (text->rfind("0x", 0) == 0) {
        auto bytes = core::hex_decode(*text, core::HexPrefix::Required);
        if (!bytes)
            return reply(tl::unexpected(
                rpc::invalid_params_error("params[0] (message): " + bytes.error().detail)));
        message = std::move(*bytes);
    } else {
        message.assign(text->begin(), text->end());  // plain text, as MetaMask accepts it
    }
    if (auto ok = check_account(s, *client, *account); !ok)
        return reply(tl::unexpected(ok.error()));

    auto request = base_request(s, *client, "personal_sign", *account);
    const bool utf8 = is_utf8_text(message);
    request.details["length"] = message.size();
    request.details["messageHex"] = core::hex_encode(message);
    request.details["message"] =
        utf8 ? json::value(std::string(message.begin(), message.end())) : json::value(nullptr);
    if (!utf8 && message.size() == 32) {
        request.warnings.push_back(approvals::warnings::binary_32_byte_message());
    }
    approve_and_sign(
        s, std::move(request),
        [&s, account = *account,
         message]() -> tl::expected<std::pair<json::value, core::Hash32>, RpcError> {
            auto sig = s.software.sign_personal_message(account, message);
            if (!sig) return tl::unexpected(signer_error(sig.error()));
            return std::pair{signature_hex(*sig), core::personal_message_hash(message)};
        },
        std::move(reply));
}

void eth_sign(Services& s, const std::shared_ptr<const rpc::Client>& client,
              const json::value& params, rpc::Reply reply) {
    if (!s.config.enable_eth_sign) {
        return reply(tl::unexpected(
            RpcError{rpc::kUnsupportedMethod,
                     "eth_sign is disabled: it signs an opaque hash that can authorize "
                     "anything (start keybridged with --enable-eth-sign to allow it)",
                     std::nullopt}));
    }
    auto p = rpc::positional(params, 2, 2);
    if (!p) return reply(tl::unexpected(p.error()));
    auto account = rpc::address_at(**p, 0, "address");
    if (!account) return reply(tl::unexpected(account.error()));
    auto data = rpc::hex_at(**p, 1, "hash");
    if (!data) return reply(tl::unexpected(data.error()));
    if (data->size() != 32) {
        return reply(
            tl::unexpected(rpc::invalid_params_error("params[1] (hash) must be 32 bytes")));
    }
    if (auto ok = check_account(s, *client, *account); !ok)
        return reply(tl::unexpected(ok.error()));
    core::Hash32 digest{};
    std::copy(data->begin(), data->end(), digest.begin());
    auto request = base_request(s, *client, "eth_sign", *account);
    request.details["hash"] = core::hex_encode(digest);
    request.warnings.push_back(approvals::warnings::eth_sign_opaque_hash());
    approve_and_sign(
        s, std::move(request),
        [&s, account = *account,
         digest]() -> tl::expected<std::pair<json::value, core::Hash32>, RpcError> {
            auto sig = s.software.sign_digest(account, digest);
            if (!sig) return tl::unexpected(signer_error(sig.error()));
            return std::pair{signature_hex(*sig), digest};
        },
        std::move(reply));
}

// Renders typed data for the approver: domain, primary type and message as a JSON tree.
json::object typed_details(const core::eip712::TypedData& typed) {
    json::object d;
    d["primaryType"] = typed.primary_type();
    d["domain"] = typed.domain();
    d["message"] = typed.message();
    return d;
}

void sign_typed(Services& s, const std::shared_ptr<const rpc::Client>& client,
                const json::value& params, core::eip712::Version version, std::string method,
                rpc::Reply reply) {
    auto p = rpc::positional(params, 2, 2);
    if (!p) return reply(tl::unexpected(p.error()));
    auto account = rpc::address_at(**p, 0, "address");
    if (!account) return reply(tl::unexpected(account.error()));
    const json::value& raw = (**p)[1];
    core::Result<core::eip712::TypedData> typed =
        core::fail(core::ErrorCode::InvalidFormat, "unset");
    if (raw.is_string())
        typed = core::eip712::parse(std::string_view(raw.as_string()));
    else if (raw.is_object())
        typed = core::eip712::parse(raw);
    else
        return reply(tl::unexpected(
            rpc::invalid_params_error("params[1] (typed data) must be a JSON string or object")));
    if (!typed)
        return reply(tl::unexpected(
            rpc::invalid_params_error("params[1] (typed data): " + typed.error().detail)));
    // Hashed once: the digest goes into the approval and the audit log, and the signer signs
    // the same precomputed hashes.
    auto hashed = core::eip712::hash_typed_data(std::move(*typed), version);
    if (!hashed) return reply(tl::unexpected(rpc::to_rpc_error(hashed.error())));
    if (auto ok = check_account(s, *client, *account); !ok)
        return reply(tl::unexpected(ok.error()));

    auto request = base_request(s, *client, method, *account);
    request.details = typed_details(hashed->typed());
    if (const json::value* chain = hashed->typed().domain().if_contains("chainId")) {
        auto id = core::parse_u256(chain->is_string() ? std::string(chain->as_string())
                                                      : json::serialize(*chain));
        if (id && *id != core::U256(request.chain_id)) {
            request.warnings.push_back(approvals::warnings::typed_data_chain_mismatch(
                core::u256_to_decimal(*id), request.chain_id));
        }
    }
    auto shared = std::make_shared<const core::eip712::HashedTypedData>(std::move(*hashed));
    approve_and_sign(
        s, std::move(request),
        [&s, account = *account,
         shared]() -> tl::expected<std::pair<json::value, core::Hash32>, RpcError> {
            auto sig = s.software.sign_typed_data(account, *shared);
            if (!sig) return tl::unexpected(signer_error(sig.error()));
            return std::pair{signature_hex(*sig), shared->digest()};
        },
        std::move(reply));
}

void sign_typed_v1(Services& s, const std::shared_ptr<const rpc::Client>& client,
                   const json::value& params, rpc::Reply reply) {
    auto p = rpc::positional(params, 2, 2);
    if (!p) return reply(tl::unexpected(p.error()));
    const json::value& typed = (**p)[0];
    auto account = rpc::address_at(**p, 1, "address");
    if (!account) return reply(tl::unexpected(account.error()));
    auto digest = core::eip712::legacy_v1_hash(typed);
    if (!digest)
        return reply(tl::unexpected(
            rpc::invalid_params_error("params[0] (typed data v1): " + digest.error().detail)));
    if (auto ok = check_account(s, *client, *account); !ok)
        return reply(tl::unexpected(ok.error()));
    auto request = base_request(s, *client, "eth_signTypedData", *account);
    request.details["fields"] = typed;
    approve_and_sign(
        s, std::move(request),
        [&s, account = *account, typed,
         digest = *digest]() -> tl::expected<std::pair<json::value, core::Hash32>, RpcError> {
            auto sig = s.software.sign_typed_data_v1(account, typed);
            if (!sig) return tl::unexpected(signer_error(sig.error()));
            return std::pair{signature_hex(*sig), digest};
        },
        std::move(reply));
}

// eth_sendTransaction after approval: signs and broadcasts one transaction of this account at a
// time. The nonce filled before the approval may since have been taken by another transaction
// approved meanwhile (a dApp's "approve, then swap"): unless the dApp chose it, it is read again
// from the node once the previous transaction has reached it, and only ever moves forward.
void send_in_turn(Services& s, std::uint64_t chain, const core::Address& from,
                  const std::string& url, bool nonce_given, const core::Transaction& tx,
                  const approvals::ApprovalRequest& audited, rpc::Reply reply) {
    const std::string key = std::to_string(chain) + ":" + from.to_lower_string();
    s.send_queue.run(
        key, [&s, from, url, nonce_given, tx, audited, reply](std::function<void()> done) {
            auto send = [&s, from, url, audited, reply, done](const core::Transaction& final_tx) {
                auto result = s.software.sign_transaction(from, final_tx);
                if (!result) {
                    done();
                    return reply(tl::unexpected(signer_error(result.error())));
                }
                s.approvals.record_signed(audited, result->hash);
                const std::string hash = core::hex_encode(result->hash);
                const json::array params{json::string(core::hex_encode(result->raw))};
                s.upstream.call(url, "eth_sendRawTransaction", params,
                                [reply, hash, done](rpc::Outcome out) {
                                    done();
                                    if (!out) return reply(tl::unexpected(out.error()));
                                    reply(json::value(hash));
                                });
            };
            if (nonce_given) return send(tx);
            const json::array params{json::string(from.to_lower_string()), "pending"};
            s.upstream.call(url, "eth_getTransactionCount", params, [send, tx](rpc::Outcome out) {
                core::Transaction final_tx = tx;
                // Without an answer keep the approved nonce: the node will say if it is stale.
                if (out && out->is_string()) {
                    auto n = core::parse_u256_hex(out->as_string());
                    if (n && *n > core::U256(tx.nonce) && *n <= core::U256(UINT64_MAX)) {
                        final_tx.nonce = static_cast<std::uint64_t>(*n);
                        log::info("rpc", "nonce " + std::to_string(tx.nonce) +
                                             " was taken meanwhile; sending with " +
                                             std::to_string(final_tx.nonce));
                    }
                }
                send(final_tx);
            });
        });
}

// eth_signTransaction (broadcast = false) and eth_sendTransaction (broadcast = true).
void sign_transaction(Services& s, const std::shared_ptr<const rpc::Client>& client,
                      const json::value& params, bool broadcast, rpc::Reply reply) {
    auto p = rpc::positional(params, 1, 1);
    if (!p) return reply(tl::unexpected(p.error()));
    auto request = rpc::transaction_request((**p)[0]);
    if (!request) return reply(tl::unexpected(request.error()));
    if (!request->from)
        return reply(tl::unexpected(rpc::invalid_params_error("transaction.from is required")));
    const core::Address from = *request->from;
    if (auto ok = check_account(s, *client, from); !ok) return reply(tl::unexpected(ok.error()));
    const std::uint64_t chain = s.chain_for(*client);
    if (request->chain_id && *request->chain_id != chain) {
        return reply(tl::unexpected(
            rpc::invalid_params_error("transaction.chainId " + rpc::quantity(*request->chain_id) +
                                      " is not the selected chain " + rpc::quantity(chain))));
    }
    auto config = s.chains.find(chain);
    const std::string url = config ? config->rpc_url : "";
    if (broadcast && url.empty()) {
        return reply(tl::unexpected(RpcError{
            rpc::kChainDisconnected,
            "no RPC node is configured for chain " + std::to_string(chain) + " to broadcast to",
            std::nullopt}));
    }
    const std::string method = broadcast ? "eth_sendTransaction" : "eth_signTransaction";
    const bool nonce_given = request->nonce.has_value();
    auto filler = std::make_shared<TransactionFiller>(
        s.upstream, url, std::move(*request), from, chain,
        [&s, client, from, broadcast, method, url, nonce_given, chain,
         reply](tl::expected<core::Transaction, RpcError> tx) {
            if (!tx) return reply(tl::unexpected(tx.error()));
            auto approval = base_request(s, *client, method, from);
            approval.details = rpc::transaction_json(*tx, from);
            approval.value = tx->value;
            if (!tx->to) approval.warnings.push_back(approvals::warnings::contract_creation());
            const core::U256 max_cost =
                core::U256(tx->gas_limit) *
                (tx->type == core::TxType::Eip1559 ? tx->max_fee_per_gas : tx->gas_price);
            approval.details["maxFeeWei"] = core::u256_to_decimal(max_cost);
            approval.id = s.approvals.reserve_id();
            s.approvals.submit(approval, [&s, from, broadcast, url, nonce_given, chain, tx = *tx,
                                          reply, audited = approval](core::Status status) {
                if (!status) return reply(tl::unexpected(rpc::to_rpc_error(status.error())));
                if (!broadcast) {
                    auto result = s.software.sign_transaction(from, tx);
                    if (!result) return reply(tl::unexpected(signer_error(result.error())));
                    s.approvals.record_signed(audited, result->hash);
                    return reply(json::value(core::hex_encode(result->raw)));
                }
                send_in_turn(s, chain, from, url, nonce_given, tx, audited, reply);
            });
        });
    filler->start();
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
    using V = core::eip712::Version;
    auto row = [&](std::string name, std::string summary, auto fn) {
        d.add({std::move(name), std::move(summary), rpc::Access::Anyone,
               [&s, fn](const auto& client, const json::value& params, rpc::Reply reply) {
                   fn(s, client, params, std::move(reply));
               }});
    };
    row("personal_sign", "EIP-191 signature of a message (needs approval)", personal_sign);
    row("eth_sign", "signature of a raw 32-byte hash; off unless --enable-eth-sign", eth_sign);
    row("eth_signTypedData", "legacy typed data (v1 array form)", sign_typed_v1);
    row("eth_signTypedData_v3", "EIP-712 typed data, v3 rules",
        [](Services& sv, const auto& c, const json::value& p, rpc::Reply r) {
            sign_typed(sv, c, p, V::V3, "eth_signTypedData_v3", std::move(r));
        });
    row("eth_signTypedData_v4", "EIP-712 typed data, v4 rules (arrays, nested structs)",
        [](Services& sv, const auto& c, const json::value& p, rpc::Reply r) {
            sign_typed(sv, c, p, V::V4, "eth_signTypedData_v4", std::move(r));
        });
    row("eth_signTransaction", "sign a transaction without sending it",
        [](Services& sv, const auto& c, const json::value& p, rpc::Reply r) {
            sign_transaction(sv, c, p, false, std::move(r));
        });
    row("eth_sendTransaction", "fill, approve, sign and broadcast a transaction",
        [](Services& sv, const auto& c, const json::value& p, rpc::Reply r) {
            sign_transaction(sv, c, p, true, std::move(r));
        });
    row("eth_sendRawTransaction", "broadcast an already signed transaction", send_raw_transaction);
}

}  // namespace keybridge::daemon
