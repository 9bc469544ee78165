#pragma once

#include <cstdint>
#include <optional>

#include "core/access_list.h"
#include "core/address.h"
#include "core/bytes.h"
#include "core/secp256k1.h"
#include "core/uint256.h"

namespace keybridge::core {

// The transaction kinds this module signs and decodes. The value is the EIP-2718 type byte
// (Legacy has none on the wire).
enum class TxType : std::uint8_t {
    Legacy = 0,   // pre-EIP-155 or EIP-155
    Eip2930 = 1,  // access list transaction
    Eip1559 = 2,  // dynamic fee transaction
};

// Type bytes that are recognised but refused with NotSupported.
inline constexpr std::uint8_t kBlobTxType = 0x03;     // EIP-4844
inline constexpr std::uint8_t kSetCodeTxType = 0x04;  // EIP-7702

// An Ethereum transaction before signing. Fields the type does not have are ignored when encoding
// and left zero/empty when decoding:
//   Legacy:  nonce, gas_price, gas_limit, to, value, data; chain_id only when eip155
//   Eip2930: chain_id, nonce, gas_price, gas_limit, to, value, data, access_list
//   Eip1559: chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas_limit, to, value,
//            data, access_list
// nonce and gas_limit are 64-bit, as in every client (EIP-2681 caps the nonce at 2^64-1).
struct Transaction {
    TxType type = TxType::Eip1559;
    U256 chain_id = 0;
    bool eip155 = true;  // Legacy only: replay protection (chain id folded into v)
    std::uint64_t nonce = 0;
    U256 gas_price = 0;
    U256 max_priority_fee_per_gas = 0;
    U256 max_fee_per_gas = 0;
    std::uint64_t gas_limit = 0;
    std::optional<Address> to;  // nullopt: contract creation
    U256 value = 0;
    Bytes data;
    AccessList access_list;

    friend bool operator==(const Transaction&, const Transaction&) = default;
};

// The signing payload:
//   Legacy:           rlp([nonce, gasPrice, gasLimit, to, value, data])
//   Legacy + EIP-155: rlp([nonce, gasPrice, gasLimit, to, value, data, chainId, 0, 0])
//                     (every integer canonical, so chain id 0 is 0x80; ethers v5 wrote 0x00)
//   typed:            type byte || rlp([fields listed above, in that order])
Bytes encode_unsigned(const Transaction& tx);

// keccak256(encode_unsigned(tx)): the digest that is signed.
Hash32 signing_hash(const Transaction& tx);

// The raw signed transaction, as sent with eth_sendRawTransaction:
//   Legacy: rlp([..6 fields, v, r, s]) with v = 27 + recid, or 35 + 2 * chainId + recid (EIP-155)
//   typed:  type byte || rlp([..fields, yParity, r, s]) with yParity = recid
// r and s are written as minimal integers. InvalidArgument when the recovery id is not 0 or 1, or
// when an EIP-155 chain id is so large that v would not fit in 256 bits.
[[nodiscard]] Result<Bytes> encode_signed(const Transaction& tx,
                                          const RecoverableSignature& signature);

// keccak256 of the raw signed transaction (the hash nodes and explorers show).
Hash32 transaction_hash(ByteView signed_raw);

struct SignedTransaction {
    Transaction tx;
    RecoverableSignature signature;
    Bytes raw;      // encode_signed(tx, signature)
    Hash32 hash{};  // transaction_hash(raw)
    Address sender;
};

// Signs signing_hash(tx) with key (RFC 6979, low-s) and encodes the result. result.tx is tx with
// the fields its type does not carry reset, i.e. exactly what decode_signed(result.raw) returns.
// Fails only as encode_signed does (an absurd EIP-155 chain id, or the ~2^-128 chance of recovery
// id 2 or 3).
[[nodiscard]] Result<SignedTransaction> sign(const Transaction& tx, const PrivateKey& key);

// Strict decoding of a raw signed transaction, then sender recovery. A first byte >= 0xc0 is a
// legacy transaction; 0x01 and 0x02 are typed envelopes. The whole input must be one transaction.
// Errors:
//   NotSupported  type 0x03 (EIP-4844 blob) or 0x04 (EIP-7702 set-code)
//   InvalidFormat any other type byte; RLP that is not canonical (see rlp::decode); a wrong
//                 number of fields; an integer with leading zeros or too long (nonce and gas
//                 limit: 8 bytes, others: 32); `to` neither empty nor 20 bytes; an access list
//                 address not 20 bytes or storage key not 32; yParity not 0/1; legacy v not 27,
//                 28 or >= 35; a signature with s above n/2 (EIP-2) or from which no key recovers.
// Every accepted input equals encode_signed(result.tx, result.signature) byte for byte.
// Fee rules (check_fee_rules) are not applied here.
[[nodiscard]] Result<SignedTransaction> decode_signed(ByteView raw);

// Stateless fee checks that every node applies before executing a transaction, but that are not
// about its encoding:
//   InvalidArgument  Eip1559 with max_priority_fee_per_gas > max_fee_per_gas
//   OutOfRange       gas_limit * (max_fee_per_gas or gas_price) does not fit in 256 bits
[[nodiscard]] Status check_fee_rules(const Transaction& tx);

}  // namespace keybridge::core
