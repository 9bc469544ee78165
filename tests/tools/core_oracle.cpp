// core_oracle: lets tests in other languages drive keybridge's core. Reads one JSON request per
// line on stdin, writes one JSON answer per line on stdout:
//   {"id":1,"op":"personal_sign","key":"0x…","message":"0x…"}  →
//   {"id":1,"ok":true,"signature":"0x…"}
//   {"op":"typed_v4","key":…,"typedData":{…}}                 → {"digest","signature"}
//   {"op":"sign_tx","key":…,"tx":{type,chainId,nonce,gasPrice,maxPriorityFeePerGas,
//        maxFeePerGas,gasLimit,to,value,data,accessList}}       → {"unsigned","raw","hash"}
//   {"op":"decode_tx","raw":"0x…"}                            → {"sender","hash"}
// Errors answer {"id":…,"ok":false,"error":"…"}. A test tool: keys arrive in the clear.
#include <iostream>
#include <string>

#include <boost/json.hpp>

#include "core/eip191.h"
#include "core/eip712.h"
#include "core/secp256k1.h"
#include "core/transaction.h"
#include "core/uint256.h"

namespace {

namespace json = boost::json;
using namespace keybridge::core;

Result<std::string> str(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (!v || !v->is_string())
        return fail(ErrorCode::InvalidArgument, std::string(key) + " missing");
    return std::string(v->as_string());
}

Result<PrivateKey> key_of(const json::object& request) {
    auto text = str(request, "key");
    if (!text) return fail(text.error());
    auto bytes = hex_decode(*text, HexPrefix::Required);
    if (!bytes) return fail(bytes.error());
    return PrivateKey::from_bytes(*bytes);
}

// Absent or null quantities are zero.
Result<U256> quantity(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return U256(0);
    if (!v->is_string())
        return fail(ErrorCode::InvalidArgument, std::string(key) + " not a string");
    return parse_quantity(v->as_string());
}

Result<Transaction> transaction_of(const json::object& t) {
    Transaction tx;
    const json::value* type = t.if_contains("type");
    if (!type || !type->is_int64()) return fail(ErrorCode::InvalidArgument, "tx.type missing");
    tx.type = static_cast<TxType>(type->as_int64());
    auto chain = quantity(t, "chainId");
    auto nonce = quantity(t, "nonce");
    auto gas_price = quantity(t, "gasPrice");
    auto tip = quantity(t, "maxPriorityFeePerGas");
    auto max_fee = quantity(t, "maxFeePerGas");
    auto gas = quantity(t, "gasLimit");
    auto value = quantity(t, "value");
    for (auto* r : {&chain, &nonce, &gas_price, &tip, &max_fee, &gas, &value}) {
        if (!*r) return fail(r->error());
    }
    tx.chain_id = *chain;
    tx.eip155 = tx.type != TxType::Legacy || *chain != 0;
    tx.nonce = static_cast<std::uint64_t>(*nonce);
    tx.gas_price = *gas_price;
    tx.max_priority_fee_per_gas = *tip;
    tx.max_fee_per_gas = *max_fee;
    tx.gas_limit = static_cast<std::uint64_t>(*gas);
    tx.value = *value;
    if (const json::value* to = t.if_contains("to"); to && to->is_string()) {
        auto address = Address::parse(to->as_string());
        if (!address) return fail(address.error());
        tx.to = *address;
    }
    if (const json::value* data = t.if_contains("data"); data && data->is_string()) {
        auto bytes = hex_decode(data->as_string(), HexPrefix::Required);
        if (!bytes) return fail(bytes.error());
        tx.data = std::move(*bytes);
    }
    if (const json::value* list = t.if_contains("accessList"); list && list->is_array()) {
        for (const json::value& entry : list->as_array()) {
            AccessListEntry e;
            auto address = Address::parse(entry.at("address").as_string());
            if (!address) return fail(address.error());
            e.address = *address;
            for (const json::value& k : entry.at("storageKeys").as_array()) {
                auto key = hex_decode_fixed<32>(k.as_string(), HexPrefix::Required);
                if (!key) return fail(key.error());
                e.storage_keys.push_back(*key);
            }
            tx.access_list.push_back(std::move(e));
        }
    }
    return tx;
}

Result<json::object> handle(const json::object& request) {
    auto op = str(request, "op");
    if (!op) return fail(op.error());
    json::object out;
    if (*op == "personal_sign") {
        auto key = key_of(request);
        if (!key) return fail(key.error());
        auto message = str(request, "message");
        if (!message) return fail(message.error());
        auto bytes = hex_decode(*message, HexPrefix::Required);
        if (!bytes) return fail(bytes.error());
        out["signature"] = hex_encode(sign_personal_message(*key, *bytes).to_rsv());
    } else if (*op == "typed_v4") {
        auto key = key_of(request);
        if (!key) return fail(key.error());
        const json::value* typed_json = request.if_contains("typedData");
        if (!typed_json) return fail(ErrorCode::InvalidArgument, "typedData missing");
        auto typed = eip712::parse(*typed_json);
        if (!typed) return fail(typed.error());
        auto digest = eip712::signing_hash(*typed, eip712::Version::V4);
        if (!digest) return fail(digest.error());
        auto sig = eip712::sign(*key, *typed, eip712::Version::V4);
        if (!sig) return fail(sig.error());
        out["digest"] = hex_encode(*digest);
        out["signature"] = hex_encode(sig->to_rsv());
    } else if (*op == "sign_tx") {
        auto key = key_of(request);
        if (!key) return fail(key.error());
        const json::value* t = request.if_contains("tx");
        if (!t || !t->is_object()) return fail(ErrorCode::InvalidArgument, "tx missing");
        auto tx = transaction_of(t->as_object());
        if (!tx) return fail(tx.error());
        auto signed_tx = sign(*tx, *key);
        if (!signed_tx) return fail(signed_tx.error());
        out["unsigned"] = hex_encode(encode_unsigned(*tx));
        out["raw"] = hex_encode(signed_tx->raw);
        out["hash"] = hex_encode(signed_tx->hash);
    } else if (*op == "decode_tx") {
        auto raw = str(request, "raw");
        if (!raw) return fail(raw.error());
        auto bytes = hex_decode(*raw, HexPrefix::Required);
        if (!bytes) return fail(bytes.error());
        auto decoded = decode_signed(*bytes);
        if (!decoded) return fail(decoded.error());
        out["sender"] = decoded->sender.to_checksum_string();
        out["hash"] = hex_encode(decoded->hash);
    } else {
        return fail(ErrorCode::InvalidArgument, "unknown op " + *op);
    }
    return out;
}

}  // namespace

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        json::error_code ec;
        json::value request = json::parse(line, ec);
        json::object answer;
        if (ec || !request.is_object()) {
            answer["ok"] = false;
            answer["error"] = "request is not a JSON object";
        } else {
            if (const json::value* id = request.as_object().if_contains("id")) answer["id"] = *id;
            Result<json::object> result = fail(ErrorCode::Internal, "unreachable");
            try {
                result = handle(request.as_object());
            } catch (const std::exception& e) {  // malformed test input (json .at() etc.)
                result = fail(ErrorCode::InvalidArgument, e.what());
            }
            if (result) {
                answer = std::move(*result);
                answer["id"] = request.as_object().at("id");
                answer["ok"] = true;
            } else {
                answer["ok"] = false;
                answer["error"] = result.error().to_string();
            }
        }
        std::cout << json::serialize(answer) << "\n" << std::flush;
    }
    return 0;
}
