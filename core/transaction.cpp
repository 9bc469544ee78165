#include "core/transaction.h"

#include <limits>
#include <string>
#include <utility>

#include "core/hash.h"
#include "core/rlp.h"

namespace keybridge::core {
namespace {

const U256 kU256Max = (std::numeric_limits<U256>::max)();

// Field counts of the signed forms (payload fields + 3 signature fields).
constexpr std::size_t kLegacyFields = 9;
constexpr std::size_t kEip2930Fields = 11;
constexpr std::size_t kEip1559Fields = 12;

std::string hex_byte(std::uint8_t b) {
    return hex_encode(ByteView(&b, 1), true);
}

const char* type_name(TxType type) {
    switch (type) {
        case TxType::Legacy:
            return "legacy";
        case TxType::Eip2930:
            return "EIP-2930 (type 1)";
        case TxType::Eip1559:
            return "EIP-1559 (type 2)";
    }
    return "unknown";
}

// The fields before the signature (or before EIP-155's [chainId, 0, 0]), in wire order.
rlp::ListBuilder payload_fields(const Transaction& tx) {
    rlp::ListBuilder fields;
    if (tx.type != TxType::Legacy) fields.add_uint(tx.chain_id);
    fields.add_uint(tx.nonce);
    if (tx.type == TxType::Eip1559) {
        fields.add_uint(tx.max_priority_fee_per_gas).add_uint(tx.max_fee_per_gas);
    } else {
        fields.add_uint(tx.gas_price);
    }
    fields.add_uint(tx.gas_limit);
    fields.add_string(tx.to ? tx.to->view() : ByteView());
    fields.add_uint(tx.value).add_string(tx.data);
    if (tx.type != TxType::Legacy) fields.add_encoded(encode_access_list(tx.access_list));
    return fields;
}

// EIP-2718: a typed transaction is its type byte followed by the RLP payload.
Bytes envelope(TxType type, Bytes list) {
    if (type == TxType::Legacy) return list;
    list.insert(list.begin(), static_cast<std::uint8_t>(type));
    return list;
}

// A 32-byte big-endian number without its leading zero bytes (RLP integer form).
ByteView strip_zeros(const Hash32& value) {
    std::size_t i = 0;
    while (i < value.size() && value[i] == 0) {
        ++i;
    }
    return ByteView(value).subspan(i);
}

// tx with the fields its type does not carry reset, i.e. what decoding its encoding returns.
Transaction only_wire_fields(Transaction tx) {
    if (tx.type != TxType::Legacy) tx.eip155 = true;
    if (tx.type == TxType::Legacy && !tx.eip155) tx.chain_id = 0;
    if (tx.type == TxType::Eip1559) {
        tx.gas_price = 0;
    } else {
        tx.max_priority_fee_per_gas = 0;
        tx.max_fee_per_gas = 0;
    }
    if (tx.type == TxType::Legacy) tx.access_list.clear();
    return tx;
}

Status read(const rlp::Item& item, std::string_view field, U256& out) {
    auto value = rlp::decode_uint(item, field);
    if (!value) return fail(value.error());
    out = *value;
    return {};
}

Status read(const rlp::Item& item, std::string_view field, std::uint64_t& out) {
    auto value = rlp::decode_uint64(item, field);
    if (!value) return fail(value.error());
    out = *value;
    return {};
}

Status read(const rlp::Item& item, std::string_view field, Bytes& out) {
    auto value = rlp::decode_bytes(item, field);
    if (!value) return fail(value.error());
    out = std::move(*value);
    return {};
}

Status read_to(const rlp::Item& item, std::optional<Address>& out) {
    // An empty string means contract creation; anything else must be a whole address.
    if (!item.is_list && item.bytes.empty()) {
        out.reset();
        return {};
    }
    auto raw = rlp::decode_fixed<20>(item, "to");
    if (!raw) return fail(raw.error());
    out = Address(*raw);
    return {};
}

Status read_signature(const rlp::Item& item, std::string_view field, Hash32& out) {
    U256 value;
    KEYBRIDGE_TRY_STATUS(read(item, field, value));
    out = u256_to_be32(value);
    return {};
}

// Legacy v carries the recovery id, and under EIP-155 the chain id too.
Status read_legacy_v(const rlp::Item& item, Transaction& tx, RecoverableSignature& signature) {
    U256 v;
    KEYBRIDGE_TRY_STATUS(read(item, "v", v));
    if (v == 27 || v == 28) {
        tx.eip155 = false;
        tx.chain_id = 0;
        signature.recovery_id = static_cast<std::uint8_t>(v - 27);
        return {};
    }
    if (v >= 35) {
        const U256 folded = v - 35;
        tx.eip155 = true;
        tx.chain_id = folded >> 1;
        signature.recovery_id = static_cast<std::uint8_t>(folded & 1);
        return {};
    }
    return fail(ErrorCode::InvalidFormat,
                "v: legacy v must be 27, 28 or at least 35, got " + u256_to_decimal(v));
}

Status read_y_parity(const rlp::Item& item, RecoverableSignature& signature) {
    std::uint64_t parity = 0;
    KEYBRIDGE_TRY_STATUS(read(item, "yParity", parity));
    if (parity > 1) {
        return fail(ErrorCode::InvalidFormat,
                    "yParity: must be 0 or 1, got " + std::to_string(parity));
    }
    signature.recovery_id = static_cast<std::uint8_t>(parity);
    return {};
}

// Reads the fields of a list whose size was already checked against the type.
Status read_fields(const std::vector<rlp::Item>& f, Transaction& tx,
                   RecoverableSignature& signature) {
    std::size_t i = 0;
    if (tx.type != TxType::Legacy) KEYBRIDGE_TRY_STATUS(read(f[i++], "chainId", tx.chain_id));
    KEYBRIDGE_TRY_STATUS(read(f[i++], "nonce", tx.nonce));
    if (tx.type == TxType::Eip1559) {
        KEYBRIDGE_TRY_STATUS(read(f[i++], "maxPriorityFeePerGas", tx.max_priority_fee_per_gas));
        KEYBRIDGE_TRY_STATUS(read(f[i++], "maxFeePerGas", tx.max_fee_per_gas));
    } else {
        KEYBRIDGE_TRY_STATUS(read(f[i++], "gasPrice", tx.gas_price));
    }
    KEYBRIDGE_TRY_STATUS(read(f[i++], "gasLimit", tx.gas_limit));
    KEYBRIDGE_TRY_STATUS(read_to(f[i++], tx.to));
    KEYBRIDGE_TRY_STATUS(read(f[i++], "value", tx.value));
    KEYBRIDGE_TRY_STATUS(read(f[i++], "data", tx.data));
    if (tx.type != TxType::Legacy) {
        auto access_list = decode_access_list(f[i++]);
        if (!access_list) return fail(access_list.error());
        tx.access_list = std::move(*access_list);
        KEYBRIDGE_TRY_STATUS(read_y_parity(f[i++], signature));
    } else {
        KEYBRIDGE_TRY_STATUS(read_legacy_v(f[i++], tx, signature));
    }
    KEYBRIDGE_TRY_STATUS(read_signature(f[i++], "r", signature.r));
    KEYBRIDGE_TRY_STATUS(read_signature(f[i++], "s", signature.s));
    return {};
}

}  // namespace

Bytes encode_unsigned(const Transaction& tx) {
    rlp::ListBuilder fields = payload_fields(tx);
    if (tx.type == TxType::Legacy && tx.eip155) {
        fields.add_uint(tx.chain_id).add_uint(std::uint64_t{0}).add_uint(std::uint64_t{0});
    }
    return envelope(tx.type, fields.finish());
}

Hash32 signing_hash(const Transaction& tx) {
    return keccak256(encode_unsigned(tx));
}

Result<Bytes> encode_signed(const Transaction& tx, const RecoverableSignature& signature) {
    const unsigned recovery_id = signature.recovery_id;
    if (recovery_id > 1) {
        return fail(ErrorCode::InvalidArgument,
                    "signature recovery id must be 0 or 1, got " + std::to_string(recovery_id));
    }
    rlp::ListBuilder fields = payload_fields(tx);
    if (tx.type != TxType::Legacy) {
        fields.add_uint(std::uint64_t{recovery_id});
    } else if (!tx.eip155) {
        fields.add_uint(std::uint64_t{27 + recovery_id});
    } else {
        // v = 35 + 2 * chainId + recid must itself be a 256-bit integer.
        if (tx.chain_id > (kU256Max - 35 - recovery_id) / 2) {
            return fail(ErrorCode::InvalidArgument,
                        "chain id " + u256_to_decimal(tx.chain_id) + " is too large for EIP-155 v");
        }
        fields.add_uint(U256(tx.chain_id * 2 + 35 + recovery_id));
    }
    fields.add_string(strip_zeros(signature.r)).add_string(strip_zeros(signature.s));
    return envelope(tx.type, fields.finish());
}

Hash32 transaction_hash(ByteView signed_raw) {
    return keccak256(signed_raw);
}

Result<SignedTransaction> sign(const Transaction& tx, const PrivateKey& key) {
    SignedTransaction out;
    out.tx = only_wire_fields(tx);
    out.signature = sign_digest(key, signing_hash(out.tx));
    auto raw = encode_signed(out.tx, out.signature);
    if (!raw) return fail(raw.error());
    out.raw = std::move(*raw);
    out.hash = transaction_hash(out.raw);
    out.sender = PublicKey::from_private(key).address();
    return out;
}

Result<SignedTransaction> decode_signed(ByteView raw) {
    if (raw.empty()) return fail(ErrorCode::InvalidFormat, "empty transaction");
    const std::uint8_t first = raw[0];
    SignedTransaction out;
    ByteView body = raw;
    if (first >= 0xc0) {
        out.tx.type = TxType::Legacy;
    } else if (first == static_cast<std::uint8_t>(TxType::Eip2930) ||
               first == static_cast<std::uint8_t>(TxType::Eip1559)) {
        out.tx.type = static_cast<TxType>(first);
        body = raw.subspan(1);
    } else if (first == kBlobTxType) {
        return fail(ErrorCode::NotSupported, "EIP-4844 blob transactions are not supported yet");
    } else if (first == kSetCodeTxType) {
        return fail(ErrorCode::NotSupported,
                    "EIP-7702 set-code transactions are not supported yet");
    } else if (first < 0x80) {
        return fail(ErrorCode::InvalidFormat, "unknown transaction type " + hex_byte(first));
    } else {
        return fail(ErrorCode::InvalidFormat,
                    "not a transaction: first byte " + hex_byte(first) +
                        " starts an RLP string; expected a type byte or an RLP list");
    }

    const char* name = type_name(out.tx.type);
    // Offsets in errors count from the start of raw, type byte included.
    auto root = rlp::decode(body, {}, raw.size() - body.size());
    if (!root) {
        return fail(ErrorCode::InvalidFormat,
                    std::string(name) + " transaction: " + root.error().detail);
    }
    const std::size_t expected = out.tx.type == TxType::Legacy    ? kLegacyFields
                                 : out.tx.type == TxType::Eip2930 ? kEip2930Fields
                                                                  : kEip1559Fields;
    if (!root->is_list || root->items.size() != expected) {
        const std::string got = root->is_list ? std::to_string(root->items.size()) + " fields"
                                              : std::string("an RLP string");
        return fail(ErrorCode::InvalidFormat, std::string(name) +
                                                  " transaction must be a list of " +
                                                  std::to_string(expected) + " fields, got " + got);
    }
    KEYBRIDGE_TRY_STATUS(read_fields(root->items, out.tx, out.signature));

    auto signer = recover_public_key(signing_hash(out.tx), out.signature, /*require_low_s=*/true);
    if (!signer) {
        return fail(ErrorCode::InvalidFormat, "signature: " + signer.error().detail);
    }
    out.sender = signer->address();
    out.raw.assign(raw.begin(), raw.end());
    out.hash = transaction_hash(raw);
    return out;
}

Status check_fee_rules(const Transaction& tx) {
    if (tx.type == TxType::Eip1559 && tx.max_priority_fee_per_gas > tx.max_fee_per_gas) {
        return fail(ErrorCode::InvalidArgument,
                    "maxPriorityFeePerGas " + u256_to_decimal(tx.max_priority_fee_per_gas) +
                        " exceeds maxFeePerGas " + u256_to_decimal(tx.max_fee_per_gas));
    }
    const bool dynamic = tx.type == TxType::Eip1559;
    const U256& fee_cap = dynamic ? tx.max_fee_per_gas : tx.gas_price;
    // Division instead of multiplication: U256 arithmetic throws on overflow.
    if (fee_cap != 0 && U256(tx.gas_limit) > kU256Max / fee_cap) {
        return fail(ErrorCode::OutOfRange, std::string("gasLimit * ") +
                                               (dynamic ? "maxFeePerGas" : "gasPrice") +
                                               " does not fit in 256 bits");
    }
    return {};
}

}  // namespace keybridge::core
