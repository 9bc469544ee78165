#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/bytes.h"
#include "core/result.h"
#include "core/secp256k1.h"
#include "core/secret_buffer.h"

namespace keybridge::core::bip32 {

// BIP32 hierarchical deterministic keys on secp256k1, mainnet xprv/xpub serialisation, and
// derivation paths.

inline constexpr std::uint32_t kHardened = 0x80000000u;
inline constexpr std::size_t kMaxDepth = 255;
inline constexpr std::size_t kSerializedSize = 78;  // bytes before Base58Check
inline constexpr std::uint32_t kVersionXprv = 0x0488ADE4u;
inline constexpr std::uint32_t kVersionXpub = 0x0488B21Eu;
// The default Ethereum account (BIP44 coin type 60), as wallets use it.
inline constexpr std::string_view kEthereumPath = "m/44'/60'/0'/0/0";

using Fingerprint = std::array<std::uint8_t, 4>;

// ---- paths ----

// Parses "m", "m/44'/60'/0'/0/0"; a hardened step may be marked with ', h or H. Strict: the
// text starts with "m"; components are separated by single '/'; each is decimal digits (no sign,
// no whitespace, no leading zeros except "0" itself) below 2^31, then at most one marker; at
// most 255 components. InvalidFormat (or OutOfRange for an index >= 2^31 or too many
// components); the detail names the 1-based component and quotes it.
[[nodiscard]] Result<std::vector<std::uint32_t>> parse_path(std::string_view text);

// "m/44'/60'/0'/0/0": hardened steps written with '.
std::string format_path(std::span<const std::uint32_t> indices);

// ---- keys ----

// A node of the tree: private (holds the secret key; the public key is computed alongside) or
// public only. Move-only; the private key and the chain code live in SecretBuffers.
class ExtendedKey {
  public:
    // Master key: I = HMAC-SHA512("Bitcoin seed", seed), key = IL, chain code = IR.
    // InvalidArgument for a seed outside 16..64 bytes; CryptoFailure when IL is 0 or >= n (the
    // spec says to use another seed).
    [[nodiscard]] static Result<ExtendedKey> from_seed(ByteView seed);

    // Parses an xprv or xpub (mainnet versions only), validating everything:
    //   InvalidFormat    bad Base58, not 78 bytes, unknown version, key data not matching the
    //                    version (xprv needs 0x00 || k, xpub needs 02/03 || x), depth 0 with a
    //                    non-zero parent fingerprint or child number, a private key that is 0 or
    //                    >= n, or a public key not on the curve;
    //   InvalidChecksum  the Base58Check checksum differs.
    // The text may be an xprv, so the detail never quotes it.
    [[nodiscard]] static Result<ExtendedKey> parse(std::string_view text);

    // CKDpriv for a private key, CKDpub for a public one. Errors: InvalidArgument for a hardened
    // index on a public key; OutOfRange when the child would exceed depth 255; CryptoFailure for
    // the invalid-child case of the spec (IL >= n, or a zero key / point at infinity): the caller
    // should move on to the next index.
    [[nodiscard]] Result<ExtendedKey> derive_child(std::uint32_t index) const;

    // Applies derive_child along a path; "m" in a text path denotes this key. Errors as for
    // parse_path and derive_child (the detail says at which step).
    [[nodiscard]] Result<ExtendedKey> derive_path(std::span<const std::uint32_t> indices) const;
    [[nodiscard]] Result<ExtendedKey> derive_path(std::string_view path) const;

    // An independent copy (the secret parts are copied into new SecretBuffers).
    ExtendedKey clone() const;

    // The same node without its private key (neuter).
    ExtendedKey to_public() const;

    bool is_private() const { return private_key_.has_value(); }
    std::uint8_t depth() const { return depth_; }
    const Fingerprint& parent_fingerprint() const { return parent_fingerprint_; }
    std::uint32_t child_number() const { return child_number_; }
    ByteView chain_code() const { return chain_code_.view(); }
    const std::optional<PrivateKey>& private_key() const { return private_key_; }
    const PublicKey& public_key() const { return public_key_; }
    // First 4 bytes of RIPEMD160(SHA256(compressed public key)).
    Fingerprint fingerprint() const;
    // The Ethereum address of this node's key.
    Address address() const { return public_key_.address(); }

    // Base58Check serialisations. to_xprv fails (InvalidArgument) on a public-only key.
    std::string to_xpub() const;
    [[nodiscard]] Result<SecretBuffer> to_xprv() const;

  private:
    ExtendedKey(std::uint8_t depth, const Fingerprint& parent, std::uint32_t child,
                SecretBuffer chain_code, std::optional<PrivateKey> private_key,
                const PublicKey& public_key);
    SecretBuffer serialize(bool as_private) const;

    std::uint8_t depth_ = 0;
    Fingerprint parent_fingerprint_{};
    std::uint32_t child_number_ = 0;
    SecretBuffer chain_code_;  // 32 bytes
    std::optional<PrivateKey> private_key_;
    PublicKey public_key_;
};

// ---- Ethereum convenience ----

// The private key / address at a path below the master key of a (BIP39) seed.
[[nodiscard]] Result<PrivateKey> ethereum_private_key(ByteView seed,
                                                      std::string_view path = kEthereumPath);
[[nodiscard]] Result<Address> ethereum_address(ByteView seed,
                                               std::string_view path = kEthereumPath);

// ---- exposed for tests only ----
namespace detail {
// The child-key arithmetic with the spec's failure cases: parent + IL mod n, and
// parent_point + IL*G. CryptoFailure if IL >= n or the result is zero / infinity.
[[nodiscard]] Result<PrivateKey> add_tweak(const PrivateKey& parent, ByteView il);
[[nodiscard]] Result<PublicKey> add_tweak(const PublicKey& parent, ByteView il);
}  // namespace detail

}  // namespace keybridge::core::bip32
