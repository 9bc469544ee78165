#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/bytes.h"
#include "core/secp256k1.h"

// EIP-712 typed structured data (eth_signTypedData_v3 / _v4) and the legacy pre-EIP-712 array
// form (eth_signTypedData / _v1).
//
// Semantics follow MetaMask's @metamask/eth-sig-util, because that is what dApps test against.
// Where eth-sig-util is looser than the standard, this module is stricter and refuses the input
// rather than guessing; every such choice is listed here. ethers 6 refuses three inputs that
// eth-sig-util signs (primaryType "EIP712Domain", a cyclic type, an address with a bad EIP-55
// checksum); all three are accepted here, since dApps expect MetaMask's behaviour.
//
// Input document: {"types", "primaryType", "domain", "message"}, all four required (the schema
// MetaMask validates against); other top-level keys are ignored.
//  - types: object mapping a struct name to an array of {"name": string, "type": string}
//    (other keys in a member object are ignored). Struct names must be identifiers
//    [A-Za-z_][A-Za-z0-9_]* and must not look like an atomic type (address, bool, string, bytes,
//    bytesN, intN, uintN, fixed..., function); member names are identifiers that may also use
//    '$'. Duplicate member names are refused. Every referenced struct must be defined. Unused
//    definitions are allowed. A missing "EIP712Domain" is treated as an empty struct.
//    Cyclic references (Mail.replyTo: Mail) are legal; encodeType still terminates.
//  - Member types: address, bool, string, bytes, bytes1..bytes32, int8..int256 and
//    uint8..uint256 (multiples of 8), struct names, and arrays T[] / T[k] (k >= 1, no leading
//    zeros) of any of these, nested to any depth. The aliases "int"/"uint" are refused in
//    EIP-712: the type string is hashed verbatim, so an alias would change the type hash.
//  - EIP712Domain may not contain struct members (NotSupported): eth-sig-util hashes the domain
//    without the other definitions, so such a domain could not be signed there either.
//  - domain: object; every key must be a member of EIP712Domain (InvalidArgument otherwise), so
//    that no domain value a wallet might display goes unsigned.
//  - message: object. Every struct value, at every level (the message, nested structs, structs
//    in arrays), may hold only members of its struct: any other key is InvalidArgument ("extra
//    data provided in the message", as go-ethereum), with the path of the key, because a wallet
//    shows the whole message but the hash leaves undeclared keys out (eth-sig-util ignores them,
//    which lets "note: Approve 1 USDC" sit beside an unlimited Permit). The domain is checked at
//    parse(); struct values inside the message when they are encoded (encode_data, hash_struct,
//    signing_hash, hash_typed_data). When primaryType is EIP712Domain only the domain is signed,
//    so the message must be empty.
//  - Duplicate JSON object keys: the last one wins, as in JavaScript's JSON.parse.
//
// Value rules (both versions):
//  - address: a string "0x" + 40 hex digits in any letter case. The EIP-55 checksum is NOT
//    enforced: MetaMask signs messages whose addresses have a bad checksum (one of the
//    eth-sig-util vectors does), and the message digest does not depend on case. Numbers are
//    refused.
//  - bool: JSON true or false only. Numbers (0/1) and strings are refused: eth-sig-util encodes
//    any JavaScript-truthy value as true, under which the string "false" would sign as true.
//  - bytesN: a string "0x" + exactly 2N hex digits, right-padded to 32 bytes in the encoding.
//    eth-sig-util right-pads shorter values, silently cuts longer ones to 32 bytes and accepts
//    numbers; all of those are refused here (ethers refuses them too): such a value is ambiguous
//    to show to a user.
//  - bytes: a string "0x" + an even number of hex digits ("0x" is empty); encoded as its
//    keccak256. eth-sig-util hashes non-hex strings as UTF-8; refused here.
//  - string: a JSON string (UTF-8); encoded as the keccak256 of its bytes. Numbers are refused.
//  - intN / uintN: a JSON number that is an integer of magnitude at most 2^53 - 1 (larger numbers
//    have already lost precision in a JavaScript dApp; pass them as strings), a decimal string
//    with an optional leading '-' (leading zeros allowed), or a "0x" hex string (non-negative).
//    Floats with a fraction are InvalidFormat; integral floats such as 1.0 or 1e3 are accepted
//    because JavaScript cannot tell them from integers. Range is exact: uintN in [0, 2^N - 1],
//    intN in [-2^(N-1), 2^(N-1) - 1] (eth-sig-util is looser); negative values are encoded in
//    256-bit two's complement.
//  - arrays: a JSON array; T[k] must have exactly k elements (eth-sig-util does not check k,
//    which would let the displayed type and the signed data disagree). The encoding is the
//    keccak256 of the concatenated 32-byte encodings of the elements (structs as their hashStruct).
//  - null is refused for atomic and array members (eth-sig-util would hash "" for a null string).
//
// Version differences (as eth-sig-util):
//  - V4: a missing or null struct-typed member encodes as 32 zero bytes (the recursive vector
//    relies on this); a missing atomic or array member is InvalidArgument.
//  - V3: a missing member of any type is left out of encodeData entirely (the type hash still
//    lists it); arrays are NotSupported; a null struct member is InvalidArgument (eth-sig-util
//    fails on it).
//
// Hostile input is refused, never looped on: JSON text above kMaxInputBytes, JSON nesting above
// kMaxDepth, more than kMaxStructTypes definitions or kMaxFields members in all, names or type
// strings longer than kMaxNameLength. Encoding work is linear in the input size, plus one
// encodeType per struct type actually hashed.
//
// Errors carry a path such as "message.to[0].wallet" or "types.Mail[2].type". Codes:
// InvalidFormat (JSON syntax, wrong JSON kinds, malformed type strings, names or values),
// InvalidArgument (unknown or undefined type, missing value, duplicate member, wrong length of
// bytesN or T[k], limits exceeded), OutOfRange (integer outside its type, unsafe JSON number),
// NotSupported (arrays in V3, structs in the domain, arrays in V1).
//
// All functions are pure and thread-safe.
namespace keybridge::core::eip712 {

inline constexpr std::size_t kMaxInputBytes = std::size_t{1} << 20;  // JSON text, 1 MiB
inline constexpr std::size_t kMaxDepth = 64;         // JSON nesting; also struct/array nesting
inline constexpr std::size_t kMaxStructTypes = 128;  // entries of "types"
inline constexpr std::size_t kMaxFields = 1024;      // members of all types together
inline constexpr std::size_t kMaxNameLength = 256;   // type names, member names, type strings

inline constexpr std::string_view kDomainTypeName = "EIP712Domain";

enum class Version { V3, V4 };

struct Field {
    std::string name;
    std::string type;  // verbatim, e.g. "Person[]"

    friend bool operator==(const Field&, const Field&) = default;
};

class HashedTypedData;

namespace detail {
struct Schema;  // a document's validated "types" and their encoding layouts (eip712.cpp)
}  // namespace detail

// A validated typed-data document. Only parse() creates one.
class TypedData {
  public:
    using TypeMap = std::map<std::string, std::vector<Field>, std::less<>>;

    // Every struct definition, sorted by name; always contains EIP712Domain.
    const TypeMap& types() const;
    const std::string& primary_type() const { return primary_type_; }
    const boost::json::object& domain() const { return domain_.get_object(); }
    const boost::json::object& message() const { return message_.get_object(); }

    // The members of struct `name`, or nullptr when it is not defined.
    const std::vector<Field>* find_type(std::string_view name) const;

    // For eip712.cpp's encoder: the types with their layouts. Shared by documents whose "types"
    // are equal (immutable).
    const detail::Schema& schema() const { return *schema_; }

  private:
    friend Result<TypedData> parse(std::string_view json_text);
    friend Result<TypedData> parse(const boost::json::value& json);
    // Both parse()s: validates `json`; the domain and message are moved out of `owned` (the same
    // document, parsed from text and no longer needed) when given, copied otherwise.
    static Result<TypedData> from_json(const boost::json::value& json, boost::json::value* owned);
    friend Result<Hash32> domain_separator(const TypedData& typed, Version version);
    friend Result<Hash32> signing_hash(const TypedData& typed, Version version);
    friend Result<HashedTypedData> hash_typed_data(TypedData typed, Version version);
    TypedData() = default;

    std::shared_ptr<const detail::Schema> schema_;  // never null once parsed
    std::string primary_type_;
    boost::json::value domain_ = boost::json::object();   // always an object
    boost::json::value message_ = boost::json::object();  // always an object
};

// Parses and validates a typed-data document (see the rules above). The text overload enforces
// kMaxInputBytes and kMaxDepth while parsing; the value overload checks the same limits first.
[[nodiscard]] Result<TypedData> parse(std::string_view json_text);
[[nodiscard]] Result<TypedData> parse(const boost::json::value& json);
// A string literal is text (boost::json::value could also be built from it).
[[nodiscard]] inline Result<TypedData> parse(const char* json_text) {
    return parse(std::string_view(json_text));
}

// encodeType: "Name(type1 name1,...)" for `type_name` followed by all the struct types it
// references directly or indirectly (not itself again), sorted by name.
// InvalidArgument when type_name is not a defined struct.
[[nodiscard]] Result<std::string> encode_type(const TypedData& typed, std::string_view type_name);

// keccak256(encode_type(...)).
[[nodiscard]] Result<Hash32> type_hash(const TypedData& typed, std::string_view type_name);

// encodeData: typeHash || the 32-byte encoding of each member of `data` (a JSON object) as struct
// `type_name`, following the version rules above.
[[nodiscard]] Result<Bytes> encode_data(const TypedData& typed, std::string_view type_name,
                                        const boost::json::value& data, Version version);

// hashStruct: keccak256(encode_data(...)).
[[nodiscard]] Result<Hash32> hash_struct(const TypedData& typed, std::string_view type_name,
                                         const boost::json::value& data, Version version);

// hashStruct(EIP712Domain, domain).
[[nodiscard]] Result<Hash32> domain_separator(const TypedData& typed, Version version);

// The digest that is signed: keccak256(0x19 0x01 || domainSeparator || hashStruct(message)),
// or keccak256(0x19 0x01 || domainSeparator) when primaryType is EIP712Domain (as eth-sig-util).
[[nodiscard]] Result<Hash32> signing_hash(const TypedData& typed, Version version);

// Signs signing_hash (RFC 6979, low-s).
[[nodiscard]] Result<RecoverableSignature> sign(const PrivateKey& key, const TypedData& typed,
                                                Version version);

// A document together with its EIP-712 hashes under one version, computed once, in one encoding
// pass, by hash_typed_data(). It is what a core::Signer receives, so that nothing downstream
// hashes the document again: a software key signs digest(); a device that signs from the two
// struct hashes (Ledger) sends domain_separator() and message_hash(); a device that shows and
// hashes the structure itself (Trezor) walks typed(). Only hash_typed_data() creates one, so the
// hashes always belong to the document and version held. Immutable.
class HashedTypedData {
  public:
    const TypedData& typed() const { return typed_; }
    Version version() const { return version_; }
    // domain_separator(typed(), version()).
    const Hash32& domain_separator() const { return domain_separator_; }
    // hash_struct(typed(), typed().primary_type(), message, version()), or nullopt when the
    // primary type is EIP712Domain (then only the domain is signed, see signing_hash).
    const std::optional<Hash32>& message_hash() const { return message_hash_; }
    // signing_hash(typed(), version()): keccak256(0x19 0x01 || separator [|| message hash]).
    const Hash32& digest() const { return digest_; }

  private:
    friend Result<HashedTypedData> hash_typed_data(TypedData typed, Version version);
    HashedTypedData(TypedData typed, Version version)
        : typed_(std::move(typed)), version_(version) {}

    TypedData typed_;
    Version version_;
    Hash32 domain_separator_{};
    std::optional<Hash32> message_hash_;
    Hash32 digest_{};
};

// Hashes a parsed document once: the same values as domain_separator, hash_struct of the message
// and signing_hash, and the same errors as signing_hash.
[[nodiscard]] Result<HashedTypedData> hash_typed_data(TypedData typed, Version version);

// Signs hashed.digest() (RFC 6979, low-s): the signature sign(key, typed, version) gives.
[[nodiscard]] RecoverableSignature sign(const PrivateKey& key, const HashedTypedData& hashed);

// Recovers the signer of `signature` (r || s || v, v in {0, 1, 27, 28}; high s accepted) over
// signing_hash. Errors as signing_hash, or as recover_public_key for a bad signature.
[[nodiscard]] Result<Address> recover_signer(const TypedData& typed, Version version,
                                             ByteView signature);

// Legacy eth_signTypedData (v1): a non-empty JSON array of {"type", "name", "value"}.
// Hash = keccak256(keccak256(concat of "type name") || keccak256(solidity-packed values)), where
// packed means: string and bytes raw, bool 1 byte, address 20 bytes, bytesN N bytes, intN/uintN
// N/8 bytes big-endian two's complement. "int"/"uint" mean 256 bits here, as in solidityPack.
// Values follow the rules above (bytes must be hex; eth-sig-util would take other strings as
// UTF-8). Array types are NotSupported; names must be non-empty strings.
[[nodiscard]] Result<Hash32> legacy_v1_hash(std::string_view json_text);
[[nodiscard]] Result<Hash32> legacy_v1_hash(const boost::json::value& json);
[[nodiscard]] inline Result<Hash32> legacy_v1_hash(const char* json_text) {
    return legacy_v1_hash(std::string_view(json_text));
}

// Signs legacy_v1_hash (RFC 6979, low-s).
[[nodiscard]] Result<RecoverableSignature> sign_legacy_v1(const PrivateKey& key,
                                                          const boost::json::value& json);

}  // namespace keybridge::core::eip712
