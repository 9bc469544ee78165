#include "core/transaction.h"

#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/hash.h"
#include "core/rlp.h"
#include "test_data.h"

namespace keybridge::core {
namespace {

namespace json = boost::json;

const U256 kCurveOrder("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

Bytes unhex(std::string_view text) {
    auto bytes = hex_decode(text);
    EXPECT_TRUE(bytes) << text;
    return bytes ? *bytes : Bytes{};
}

Hash32 unhex32(std::string_view text) {
    auto bytes = hex_decode_fixed<32>(text);
    EXPECT_TRUE(bytes) << text;
    return bytes ? *bytes : Hash32{};
}

std::string_view str(const json::value& v) {
    return v.as_string();
}

// Quantities in the vector files: JSON numbers, decimal strings, or hex strings (where "0x" is
// zero and leading zeros occur).
U256 quantity(const json::value& v) {
    if (v.is_int64()) return U256(static_cast<std::uint64_t>(v.as_int64()));
    if (v.is_uint64()) return U256(v.as_uint64());
    std::string_view text = str(v);
    if (text.starts_with("0x")) {
        auto value = u256_from_be(unhex(text));
        EXPECT_TRUE(value) << text;
        return value ? *value : U256(0);
    }
    auto value = parse_u256_decimal(text);
    EXPECT_TRUE(value) << text;
    return value ? *value : U256(0);
}

std::uint64_t quantity64(const json::value& v) {
    const U256 value = quantity(v);
    EXPECT_LE(value, U256(std::numeric_limits<std::uint64_t>::max()));
    return static_cast<std::uint64_t>(value);
}

PrivateKey key_from(std::string_view hex) {
    auto key = PrivateKey::from_bytes(unhex(hex));
    EXPECT_TRUE(key);
    if (!key) std::abort();  // every vector key is valid; nothing sensible follows without it
    return std::move(*key);
}

Address address_from(std::string_view text) {
    auto address = Address::parse(text);
    EXPECT_TRUE(address) << text;
    return address ? *address : Address();
}

// Builds the transaction of one type from a vector's field object. Absent fields are zero/empty
// and an absent or null `to` is a contract creation; fields the type lacks are left out, so the
// result compares equal to what decode_signed returns.
Transaction from_json(const json::object& fields, TxType type, bool eip155 = true) {
    auto get = [&](const char* name) -> const json::value* {
        const json::value* v = fields.if_contains(name);
        return v && !v->is_null() ? v : nullptr;
    };
    Transaction tx;
    tx.type = type;
    tx.eip155 = eip155;
    if (type != TxType::Legacy || eip155) {
        if (auto v = get("chainId")) tx.chain_id = quantity(*v);
    }
    if (auto v = get("nonce")) tx.nonce = quantity64(*v);
    if (type == TxType::Eip1559) {
        if (auto v = get("maxPriorityFeePerGas")) tx.max_priority_fee_per_gas = quantity(*v);
        if (auto v = get("maxFeePerGas")) tx.max_fee_per_gas = quantity(*v);
    } else if (auto v = get("gasPrice")) {
        tx.gas_price = quantity(*v);
    }
    if (auto v = get("gasLimit")) tx.gas_limit = quantity64(*v);
    if (auto v = get("to")) tx.to = address_from(str(*v));
    if (auto v = get("value")) tx.value = quantity(*v);
    if (auto v = get("data")) tx.data = unhex(str(*v));
    if (type != TxType::Legacy) {
        if (auto v = get("accessList")) {
            for (const auto& entry : v->as_array()) {
                AccessListEntry decoded{address_from(str(entry.at("address"))), {}};
                for (const auto& key : entry.at("storageKeys").as_array()) {
                    decoded.storage_keys.push_back(unhex32(str(key)));
                }
                tx.access_list.push_back(std::move(decoded));
            }
        }
    }
    return tx;
}

// Decodes a signed transaction that is expected to be valid.
SignedTransaction decode_ok(ByteView raw) {
    auto decoded = decode_signed(raw);
    EXPECT_TRUE(decoded) << decoded.error().to_string();
    if (!decoded) return {};
    return *decoded;
}

void expect_rejected(ByteView raw, ErrorCode code, std::string_view detail_part) {
    auto decoded = decode_signed(raw);
    ASSERT_FALSE(decoded) << hex_encode(raw);
    EXPECT_EQ(decoded.error().code, code) << decoded.error().detail;
    EXPECT_NE(decoded.error().detail.find(detail_part), std::string::npos)
        << decoded.error().detail;
}

// The EIP-155 example, signed: a known-good legacy transaction to mutate.
Bytes eip155_signed() {
    auto doc = test::load_json("eip155-example.json");
    return unhex(str(doc.at("signedTx")));
}

// The first generated type-2 transaction, signed.
Bytes type2_signed() {
    auto doc = test::load_json("generated-ethers6-typed-transactions.json");
    return unhex(str(doc.at("cases").as_array().at(0).at("signedSerialized")));
}

// Replaces field `index` of a signed transaction's RLP list (keeping any type byte).
Bytes with_field(ByteView raw, std::size_t index, const rlp::Item& field) {
    const bool typed = raw[0] < 0xc0;
    auto root = rlp::decode(typed ? raw.subspan(1) : raw);
    EXPECT_TRUE(root);
    root->items.at(index) = field;
    Bytes out = rlp::encode(*root);
    if (typed) out.insert(out.begin(), raw[0]);
    return out;
}

Bytes with_field_count(ByteView raw, std::size_t count) {
    const bool typed = raw[0] < 0xc0;
    auto root = rlp::decode(typed ? raw.subspan(1) : raw);
    EXPECT_TRUE(root);
    root->items.resize(count, rlp::Item::string({}));
    Bytes out = rlp::encode(*root);
    if (typed) out.insert(out.begin(), raw[0]);
    return out;
}

rlp::Item uint_item(const U256& value) {
    return rlp::Item::string(u256_to_minimal_be(value));
}

// ---- vectors ----

TEST(Transaction, Eip155Example) {
    auto doc = test::load_json("eip155-example.json");
    const Transaction tx = from_json(doc.at("transaction").as_object(), TxType::Legacy);
    EXPECT_EQ(tx.chain_id, 1);
    EXPECT_EQ(encode_unsigned(tx), unhex(str(doc.at("signingData"))));
    EXPECT_EQ(signing_hash(tx), unhex32(str(doc.at("signingHash"))));

    auto signed_tx = sign(tx, key_from(str(doc.at("privateKey"))));
    ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
    EXPECT_EQ(u256_to_decimal(*u256_from_be(signed_tx->signature.r)), str(doc.at("r")));
    EXPECT_EQ(u256_to_decimal(*u256_from_be(signed_tx->signature.s)), str(doc.at("s")));
    EXPECT_EQ(signed_tx->raw, unhex(str(doc.at("signedTx"))));
    EXPECT_EQ(signed_tx->hash, unhex32(str(doc.at("derived").at("txHash"))));
    EXPECT_EQ(signed_tx->sender.to_checksum_string(), str(doc.at("derived").at("sender")));

    // v on the wire is 37 = 35 + 2 * 1 + recid.
    auto root = rlp::decode(signed_tx->raw);
    ASSERT_TRUE(root);
    EXPECT_EQ(*rlp::decode_uint(root->items.at(6), "v"), doc.at("v").as_int64());

    const SignedTransaction decoded = decode_ok(signed_tx->raw);
    EXPECT_EQ(decoded.tx, tx);
    EXPECT_EQ(decoded.signature, signed_tx->signature);
    EXPECT_EQ(decoded.sender.to_checksum_string(), str(doc.at("derived").at("sender")));
    EXPECT_EQ(decoded.hash, signed_tx->hash);
}

// random-34 has chainId 0. Its unsignedEip155 (made by ethers v5) writes that chain id as the byte
// 0x00, which is not a canonical RLP integer: EIP-155 and the nodes encode zero as the empty
// string (0x80), as encode_unsigned does. signedEip155 is itself canonical (v = 35), but its
// signature was made over the 0x00 payload, so the sender recovered from the canonical payload
// is a different address. This checks exactly that, and nothing weaker.
void expect_ethers5_zero_chain_id_quirk(const Transaction& tx, const Bytes& unsigned_raw,
                                        const Bytes& signed_raw, const Address& sender,
                                        const PrivateKey& key) {
    auto payload = rlp::decode(unsigned_raw);
    ASSERT_TRUE(payload);
    ASSERT_EQ(payload->items.size(), 9u);
    EXPECT_EQ(payload->items[6].bytes, Bytes{0x00});  // chainId
    payload->items[6] = rlp::Item::string({});
    EXPECT_EQ(hex_encode(rlp::encode(*payload)), hex_encode(encode_unsigned(tx)));

    const SignedTransaction decoded = decode_ok(signed_raw);
    EXPECT_EQ(decoded.tx, tx);
    EXPECT_NE(decoded.sender, sender);
    auto signer = recover_public_key(keccak256(unsigned_raw), decoded.signature);
    ASSERT_TRUE(signer);
    EXPECT_EQ(signer->address(), sender);

    auto ours = sign(tx, key);
    ASSERT_TRUE(ours);
    EXPECT_EQ(ours->sender, sender);
    EXPECT_EQ(decode_ok(ours->raw).sender, sender);
}

TEST(Transaction, EthersSubsetAllFourForms) {
    auto doc = test::load_json("ethers-testcases-transactions-subset.json");
    struct Form {
        const char* name;
        TxType type;
        bool eip155;
        bool has_derived;  // derived signing hash, tx hash and signature fields
    };
    const Form forms[] = {{"Legacy", TxType::Legacy, false, false},
                          {"Eip155", TxType::Legacy, true, false},
                          {"Berlin", TxType::Eip2930, true, true},
                          {"London", TxType::Eip1559, true, true}};
    std::size_t count = 0;
    std::size_t quirks = 0;
    for (const auto& test : doc.at("cases").as_array()) {
        const json::object& derived = test.at("derived").as_object();
        const PrivateKey key = key_from(str(test.at("privateKey")));
        const Address sender = address_from(str(derived.at("sender")));
        for (const Form& form : forms) {
            SCOPED_TRACE(std::string(str(test.at("name"))) + " " + form.name);
            const std::string name = form.name;
            const Transaction tx =
                from_json(test.at("transaction").as_object(), form.type, form.eip155);
            const Bytes unsigned_raw = unhex(str(test.at("unsigned" + name)));
            const Bytes signed_raw = unhex(str(test.at("signed" + name)));
            ++count;
            if (form.type == TxType::Legacy && form.eip155 && tx.chain_id == 0) {
                expect_ethers5_zero_chain_id_quirk(tx, unsigned_raw, signed_raw, sender, key);
                ++quirks;
                continue;
            }

            EXPECT_EQ(hex_encode(encode_unsigned(tx)), hex_encode(unsigned_raw));
            EXPECT_EQ(signing_hash(tx), keccak256(unsigned_raw));

            auto signed_tx = sign(tx, key);
            ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
            EXPECT_EQ(hex_encode(signed_tx->raw), hex_encode(signed_raw));
            EXPECT_EQ(signed_tx->hash, keccak256(signed_raw));
            EXPECT_EQ(signed_tx->sender, sender);
            EXPECT_EQ(signed_tx->tx, tx);
            if (form.has_derived) {
                EXPECT_EQ(signing_hash(tx), unhex32(str(derived.at("signingHash" + name))));
                EXPECT_EQ(signed_tx->hash, unhex32(str(derived.at("txHash" + name))));
                EXPECT_EQ(signed_tx->signature.recovery_id,
                          derived.at("yParity" + name).as_int64());
                EXPECT_EQ(signed_tx->signature.r, unhex32(str(derived.at("r" + name))));
                EXPECT_EQ(signed_tx->signature.s, unhex32(str(derived.at("s" + name))));
            }

            const SignedTransaction decoded = decode_ok(signed_raw);
            EXPECT_EQ(decoded.tx, tx);
            EXPECT_EQ(decoded.signature, signed_tx->signature);
            EXPECT_EQ(decoded.sender, sender);
            EXPECT_EQ(decoded.hash, keccak256(signed_raw));
            EXPECT_EQ(decoded.raw, signed_raw);
        }
    }
    EXPECT_EQ(count, 9u * 4u);
    EXPECT_EQ(quirks, 1u);  // random-34 Eip155
}

TEST(Transaction, GeneratedEthers6TypedTransactions) {
    auto doc = test::load_json("generated-ethers6-typed-transactions.json");
    std::size_t count = 0;
    for (const auto& test : doc.at("cases").as_array()) {
        SCOPED_TRACE(std::string(str(test.at("name"))));
        const json::object& fields = test.at("transaction").as_object();
        const TxType type = static_cast<TxType>(fields.at("type").as_int64());
        ASSERT_TRUE(type == TxType::Eip2930 || type == TxType::Eip1559);
        const Transaction tx = from_json(fields, type);
        const Bytes signed_raw = unhex(str(test.at("signedSerialized")));
        const Address sender = address_from(str(test.at("sender")));

        EXPECT_EQ(hex_encode(encode_unsigned(tx)), str(test.at("unsignedSerialized")));
        EXPECT_EQ(signing_hash(tx), unhex32(str(test.at("signingHash"))));

        auto signed_tx = sign(tx, key_from(str(test.at("privateKey"))));
        ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
        const json::value& signature = test.at("signature");
        EXPECT_EQ(signed_tx->signature.recovery_id, signature.at("yParity").as_int64());
        EXPECT_EQ(signed_tx->signature.r, unhex32(str(signature.at("r"))));
        EXPECT_EQ(signed_tx->signature.s, unhex32(str(signature.at("s"))));
        EXPECT_EQ(hex_encode(signed_tx->raw), hex_encode(signed_raw));
        EXPECT_EQ(signed_tx->hash, unhex32(str(test.at("txHash"))));
        EXPECT_EQ(signed_tx->sender, sender);

        const SignedTransaction decoded = decode_ok(signed_raw);
        EXPECT_EQ(decoded.tx, tx);
        EXPECT_EQ(decoded.sender, sender);
        EXPECT_EQ(decoded.hash, unhex32(str(test.at("txHash"))));
        ++count;
    }
    EXPECT_EQ(count, 7u);
}

// ethereum/tests TransactionTests, judged by their Cancun result. The decoder refuses every
// encoding fault. Four cases are encoded correctly and are invalid only under consensus fee rules
// (gasLimit * maxFeePerGas above 2^256, or a priority fee above the fee cap): decode_signed
// accepts those, and check_fee_rules is what rejects them.
TEST(Transaction, EthereumTestsTypedTransactions) {
    auto doc = test::load_json("ethereum-tests-ttEIP2930-ttEIP1559.json");
    enum class Stage { Decoder, FeeRules };
    struct Expectation {
        Stage stage;
        ErrorCode code;
    };
    const std::map<std::string, Expectation> by_exception = {
        {"TransactionException.RLP_INVALID_ACCESS_LIST_ADDRESS_TOO_LONG",
         {Stage::Decoder, ErrorCode::InvalidFormat}},
        {"TransactionException.RLP_INVALID_ACCESS_LIST_ADDRESS_TOO_SHORT",
         {Stage::Decoder, ErrorCode::InvalidFormat}},
        {"TransactionException.RLP_INVALID_ACCESS_LIST_STORAGE_TOO_LONG",
         {Stage::Decoder, ErrorCode::InvalidFormat}},
        {"TransactionException.RLP_INVALID_ACCESS_LIST_STORAGE_TOO_SHORT",
         {Stage::Decoder, ErrorCode::InvalidFormat}},
        {"TransactionException.RLP_LEADING_ZEROS_BASEFEE",
         {Stage::Decoder, ErrorCode::InvalidFormat}},
        {"TransactionException.RLP_LEADING_ZEROS_PRIORITY_FEE",
         {Stage::Decoder, ErrorCode::InvalidFormat}},
        // 33-byte integers: longer than any 256-bit field.
        {"TransactionException.GASPRICE_OVERFLOW", {Stage::Decoder, ErrorCode::InvalidFormat}},
        {"TransactionException.PRIORITY_OVERFLOW", {Stage::Decoder, ErrorCode::InvalidFormat}},
        // Consensus rules, not encoding faults.
        {"TransactionException.GASLIMIT_PRICE_PRODUCT_OVERFLOW",
         {Stage::FeeRules, ErrorCode::OutOfRange}},
        {"TransactionException.PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS_2",
         {Stage::FeeRules, ErrorCode::InvalidArgument}},
    };
    std::size_t valid = 0, decoder_rejects = 0, fee_rule_rejects = 0;
    for (const auto& [name, test] : doc.as_object()) {
        SCOPED_TRACE(std::string(name));
        const Bytes raw = unhex(str(test.at("txbytes")));
        const json::object& result = test.at("result").at("Cancun").as_object();
        auto decoded = decode_signed(raw);
        if (!result.contains("exception")) {
            ASSERT_TRUE(decoded) << decoded.error().to_string();
            EXPECT_EQ(decoded->sender.to_lower_string(), str(result.at("sender")));
            EXPECT_EQ(decoded->hash, unhex32(str(result.at("hash"))));
            EXPECT_TRUE(check_fee_rules(decoded->tx));
            ++valid;
            continue;
        }
        const std::string exception(str(result.at("exception")));
        auto expectation = by_exception.find(exception);
        ASSERT_NE(expectation, by_exception.end()) << "unmapped exception " << exception;
        if (expectation->second.stage == Stage::Decoder) {
            ASSERT_FALSE(decoded);
            EXPECT_EQ(decoded.error().code, expectation->second.code) << decoded.error().detail;
            ++decoder_rejects;
        } else {
            ASSERT_TRUE(decoded) << decoded.error().to_string();
            auto status = check_fee_rules(decoded->tx);
            ASSERT_FALSE(status);
            EXPECT_EQ(status.error().code, expectation->second.code) << status.error().detail;
            ++fee_rule_rejects;
        }
    }
    EXPECT_EQ(valid, 2u);
    EXPECT_EQ(decoder_rejects, 10u);
    EXPECT_EQ(fee_rule_rejects, 4u);
}

TEST(Transaction, DecoderErrorsNameTheField) {
    auto doc = test::load_json("ethereum-tests-ttEIP2930-ttEIP1559.json");
    auto detail = [&](const std::string& key) {
        auto decoded = decode_signed(unhex(str(doc.at(key).at("txbytes"))));
        return decoded ? std::string("accepted") : decoded.error().detail;
    };
    EXPECT_EQ(detail("TransactionTests/ttEIP1559/maxFeePerGas00prefix.json#maxFeePerGas00prefix"),
              "maxFeePerGas: integer has a leading zero byte at byte 10");
    EXPECT_EQ(detail("TransactionTests/ttEIP2930/accessListAddressLessThan20.json"
                     "#accessListAddressLessThan20"),
              "accessList[0].address: expected 20 bytes, got 19 at byte 36");
}

// ---- negative cases ----

TEST(Transaction, RefusesBlobAndSetCodeTypesAsNotSupported) {
    auto blob = decode_signed(unhex("03c0"));
    ASSERT_FALSE(blob);
    EXPECT_EQ(blob.error().code, ErrorCode::NotSupported);
    EXPECT_EQ(blob.error().detail, "EIP-4844 blob transactions are not supported yet");

    Bytes set_code = type2_signed();
    set_code[0] = kSetCodeTxType;
    auto refused = decode_signed(set_code);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::NotSupported);
    EXPECT_EQ(refused.error().detail, "EIP-7702 set-code transactions are not supported yet");
}

TEST(Transaction, RejectsUnknownTypesAndNonTransactions) {
    Bytes raw = type2_signed();
    for (std::uint8_t type : {0x00, 0x05, 0x7f}) {
        raw[0] = type;
        expect_rejected(raw, ErrorCode::InvalidFormat, "unknown transaction type 0x");
    }
    expect_rejected(unhex("05c0"), ErrorCode::InvalidFormat, "unknown transaction type 0x05");
    expect_rejected(unhex("83616263"), ErrorCode::InvalidFormat, "first byte 0x83 starts an RLP");
    expect_rejected({}, ErrorCode::InvalidFormat, "empty transaction");
    expect_rejected(unhex("02"), ErrorCode::InvalidFormat,
                    "EIP-1559 (type 2) transaction: empty input");
    expect_rejected(unhex("0280"), ErrorCode::InvalidFormat, "must be a list of 12 fields");
}

TEST(Transaction, RejectsTrailingBytes) {
    for (Bytes raw : {eip155_signed(), type2_signed()}) {
        ASSERT_TRUE(decode_signed(raw));
        raw.push_back(0x00);
        expect_rejected(raw, ErrorCode::InvalidFormat, "1 trailing bytes after the item");
    }
}

TEST(Transaction, RejectsWrongFieldCounts) {
    const Bytes legacy = eip155_signed();
    expect_rejected(with_field_count(legacy, 8), ErrorCode::InvalidFormat,
                    "legacy transaction must be a list of 9 fields, got 8 fields");
    expect_rejected(with_field_count(legacy, 10), ErrorCode::InvalidFormat, "got 10 fields");
    const Bytes type2 = type2_signed();
    expect_rejected(with_field_count(type2, 11), ErrorCode::InvalidFormat,
                    "EIP-1559 (type 2) transaction must be a list of 12 fields, got 11 fields");
    expect_rejected(with_field_count(type2, 13), ErrorCode::InvalidFormat, "got 13 fields");
    // The same fields under type byte 1 are one too many for EIP-2930.
    Bytes as_type1 = type2;
    as_type1[0] = 0x01;
    expect_rejected(as_type1, ErrorCode::InvalidFormat,
                    "EIP-2930 (type 1) transaction must be a list of 11 fields, got 12 fields");
}

TEST(Transaction, RejectsHighS) {
    for (const Bytes& raw : {eip155_signed(), type2_signed()}) {
        const SignedTransaction good = decode_ok(raw);
        // (r, n - s) with the other parity is the same signer's signature, but high-s.
        RecoverableSignature high = good.signature;
        high.s = u256_to_be32(kCurveOrder - *u256_from_be(good.signature.s));
        high.recovery_id ^= 1;
        auto high_raw = encode_signed(good.tx, high);
        ASSERT_TRUE(high_raw);
        expect_rejected(*high_raw, ErrorCode::InvalidFormat, "signature: ");
        expect_rejected(*high_raw, ErrorCode::InvalidFormat, "(EIP-2)");
        auto lenient = recover_public_key(signing_hash(good.tx), high, /*require_low_s=*/false);
        ASSERT_TRUE(lenient);
        EXPECT_EQ(lenient->address(), good.sender);  // so only the EIP-2 rule refuses it
    }
}

TEST(Transaction, RejectsInvalidLegacyV) {
    const Bytes raw = eip155_signed();
    for (unsigned v : {0u, 1u, 26u, 29u, 34u}) {
        expect_rejected(with_field(raw, 6, uint_item(v)), ErrorCode::InvalidFormat,
                        "v: legacy v must be 27, 28 or at least 35, got " + std::to_string(v));
    }
    // v = 38 is chain 1 with the other parity: valid encoding, a different (or no) signer.
    auto other = decode_signed(with_field(raw, 6, uint_item(38)));
    if (other) {
        EXPECT_NE(other->sender, decode_ok(raw).sender);
    }
}

TEST(Transaction, RejectsInvalidYParity) {
    const Bytes raw = type2_signed();
    expect_rejected(with_field(raw, 9, uint_item(2)), ErrorCode::InvalidFormat,
                    "yParity: must be 0 or 1, got 2");
    expect_rejected(with_field(raw, 9, rlp::Item::string(unhex("00"))), ErrorCode::InvalidFormat,
                    "yParity: integer has a leading zero byte");
}

TEST(Transaction, RejectsMalformedFields) {
    const Bytes legacy = eip155_signed();
    expect_rejected(with_field(legacy, 0, rlp::Item::string(unhex("0009"))),
                    ErrorCode::InvalidFormat, "nonce: integer has a leading zero byte at byte 2");
    expect_rejected(with_field(legacy, 0, rlp::Item::string(Bytes(9, 1))), ErrorCode::InvalidFormat,
                    "nonce: integer longer than 8 bytes");
    expect_rejected(with_field(legacy, 3, rlp::Item::string(Bytes(19, 0x35))),
                    ErrorCode::InvalidFormat, "to: expected 20 bytes, got 19");
    expect_rejected(with_field(legacy, 3, rlp::Item::list({})), ErrorCode::InvalidFormat,
                    "to: expected a string, got a list");
    expect_rejected(with_field(legacy, 5, rlp::Item::list({})), ErrorCode::InvalidFormat,
                    "data: expected a string, got a list");
    expect_rejected(with_field(legacy, 7, rlp::Item::string(Bytes(33, 1))),
                    ErrorCode::InvalidFormat, "r: integer longer than 32 bytes");
    expect_rejected(with_field(legacy, 7, rlp::Item::string({})), ErrorCode::InvalidFormat,
                    "signature: ");  // r = 0
    const Bytes type2 = type2_signed();
    expect_rejected(with_field(type2, 8, rlp::Item::string({})), ErrorCode::InvalidFormat,
                    "accessList: expected a list, got a string");
    expect_rejected(with_field(type2, 0, rlp::Item::list({})), ErrorCode::InvalidFormat,
                    "chainId: expected a string, got a list");
}

// ---- encoding and signing ----

TEST(Transaction, EncodeSignedRejectsUnrepresentableSignatures) {
    Transaction tx;
    tx.type = TxType::Eip1559;
    RecoverableSignature signature;
    signature.r[31] = 1;
    signature.s[31] = 1;
    signature.recovery_id = 2;
    auto refused = encode_signed(tx, signature);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);

    // The largest EIP-155 chain id whose v still fits: v = 2^256 - 1 exactly with recid 0.
    tx.type = TxType::Legacy;
    tx.eip155 = true;
    const U256 max = (std::numeric_limits<U256>::max)();
    tx.chain_id = (max - 35) / 2;
    signature.recovery_id = 0;
    auto top = encode_signed(tx, signature);
    ASSERT_TRUE(top) << top.error().detail;
    auto root = rlp::decode(*top);
    ASSERT_TRUE(root);
    EXPECT_EQ(*rlp::decode_uint(root->items.at(6), "v"), max);
    signature.recovery_id = 1;
    auto over = encode_signed(tx, signature);
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, ErrorCode::InvalidArgument);
}

TEST(Transaction, UnprotectedLegacyUsesV27Or28) {
    Transaction tx;
    tx.type = TxType::Legacy;
    tx.eip155 = false;
    tx.chain_id = 5;  // ignored without EIP-155
    tx.nonce = 1;
    tx.gas_limit = 21000;
    tx.to = Address(Address::Raw{});
    auto key = key_from("0x4646464646464646464646464646464646464646464646464646464646464646");
    auto signed_tx = sign(tx, key);
    ASSERT_TRUE(signed_tx);
    EXPECT_EQ(signed_tx->tx.chain_id, 0);
    auto root = rlp::decode(signed_tx->raw);
    ASSERT_TRUE(root);
    EXPECT_EQ(*rlp::decode_uint(root->items.at(6), "v"), 27 + signed_tx->signature.recovery_id);
    const SignedTransaction decoded = decode_ok(signed_tx->raw);
    EXPECT_FALSE(decoded.tx.eip155);
    EXPECT_EQ(decoded.tx, signed_tx->tx);
    EXPECT_EQ(decoded.sender, PublicKey::from_private(key).address());
}

TEST(Transaction, SignDropsFieldsTheTypeDoesNotCarry) {
    Transaction tx;
    tx.type = TxType::Legacy;
    tx.chain_id = 1;
    tx.gas_price = 7;
    tx.max_fee_per_gas = 9;  // not part of a legacy transaction
    tx.access_list.push_back({Address(Address::Raw{}), {}});
    auto key = key_from("0x0000000000000000000000000000000000000000000000000000000000000001");
    auto signed_tx = sign(tx, key);
    ASSERT_TRUE(signed_tx);
    EXPECT_EQ(signed_tx->tx.max_fee_per_gas, 0);
    EXPECT_TRUE(signed_tx->tx.access_list.empty());
    EXPECT_EQ(encode_unsigned(signed_tx->tx), encode_unsigned(tx));
    EXPECT_EQ(decode_ok(signed_tx->raw).tx, signed_tx->tx);
}

TEST(Transaction, FeeRules) {
    Transaction tx;
    tx.type = TxType::Eip1559;
    tx.gas_limit = 21000;
    tx.max_priority_fee_per_gas = 2;
    tx.max_fee_per_gas = 2;
    EXPECT_TRUE(check_fee_rules(tx));
    tx.max_priority_fee_per_gas = 3;
    auto priority = check_fee_rules(tx);
    ASSERT_FALSE(priority);
    EXPECT_EQ(priority.error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(priority.error().detail, "maxPriorityFeePerGas 3 exceeds maxFeePerGas 2");

    const U256 max = (std::numeric_limits<U256>::max)();
    tx.max_priority_fee_per_gas = 0;
    tx.max_fee_per_gas = max / 21000;  // the product still fits
    EXPECT_TRUE(check_fee_rules(tx));
    tx.max_fee_per_gas += 1;
    auto product = check_fee_rules(tx);
    ASSERT_FALSE(product);
    EXPECT_EQ(product.error().code, ErrorCode::OutOfRange);
    EXPECT_EQ(product.error().detail, "gasLimit * maxFeePerGas does not fit in 256 bits");

    tx.type = TxType::Legacy;  // legacy uses gasPrice, which is zero here
    EXPECT_TRUE(check_fee_rules(tx));
    tx.gas_price = max;
    auto legacy = check_fee_rules(tx);
    ASSERT_FALSE(legacy);
    EXPECT_EQ(legacy.error().detail, "gasLimit * gasPrice does not fit in 256 bits");
}

}  // namespace
}  // namespace keybridge::core
