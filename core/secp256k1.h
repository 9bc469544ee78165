#pragma once

#include <array>
#include <cstdint>

#include "core/address.h"
#include "core/bytes.h"
#include "core/secret_buffer.h"

struct secp256k1_context_struct;

namespace keybridge::core {

// The process-wide libsecp256k1 context: created on first use, randomized with fresh OS entropy
// (blinding against side channels), then shared read-only by all threads.
const secp256k1_context_struct* secp256k1_ctx();

// A valid secp256k1 secret key (0 < k < n), held in locked, wiped memory.
class PrivateKey {
  public:
    // InvalidArgument when bytes is not 32 bytes or not a valid scalar.
    [[nodiscard]] static Result<PrivateKey> from_bytes(ByteView bytes);
    [[nodiscard]] static Result<PrivateKey> generate();

    ByteView view() const { return secret_.view(); }
    const std::uint8_t* data() const { return secret_.data(); }

  private:
    explicit PrivateKey(SecretBuffer secret) : secret_(std::move(secret)) {}
    SecretBuffer secret_;
};

// A point on the curve, kept as the 64 bytes x || y.
class PublicKey {
  public:
    // Accepts 33-byte compressed or 65-byte uncompressed SEC1 encodings.
    [[nodiscard]] static Result<PublicKey> parse(ByteView sec1);
    static PublicKey from_private(const PrivateKey& key);

    const std::array<std::uint8_t, 64>& xy() const { return xy_; }
    std::array<std::uint8_t, 33> compressed() const;
    std::array<std::uint8_t, 65> uncompressed() const;  // 0x04 || x || y
    Address address() const { return Address::from_public_key_xy(xy_); }

    friend bool operator==(const PublicKey&, const PublicKey&) = default;

  private:
    std::array<std::uint8_t, 64> xy_{};
};

// r, s and the recovery id (0..3) of a recoverable ECDSA signature.
struct RecoverableSignature {
    Hash32 r{};
    Hash32 s{};
    std::uint8_t recovery_id = 0;

    // 65 bytes r || s || v with v = 27 + recovery_id (the personal_sign / eth_sign form).
    std::array<std::uint8_t, 65> to_rsv() const;

    // Parses r || s || v with v in {0, 1, 27, 28}. InvalidFormat for other lengths or v values.
    [[nodiscard]] static Result<RecoverableSignature> from_rsv(ByteView rsv);

    friend bool operator==(const RecoverableSignature&, const RecoverableSignature&) = default;
};

// Signs a 32-byte digest: RFC 6979 deterministic nonce, low-s normalised (libsecp256k1 does both).
RecoverableSignature sign_digest(const PrivateKey& key, const Hash32& digest);

// Recovers the signer's key. InvalidArgument for r or s out of range; with require_low_s, a
// signature whose s is above n/2 is refused (EIP-2 rule for transactions).
[[nodiscard]] Result<PublicKey> recover_public_key(const Hash32& digest,
                                                   const RecoverableSignature& signature,
                                                   bool require_low_s = true);

// True when s <= n/2.
bool is_low_s(const Hash32& s);

}  // namespace keybridge::core
