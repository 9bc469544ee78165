#include "core/secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstring>

#include "core/assert.h"
#include "core/hash.h"
#include "core/rfc6979.h"

namespace keybridge::core {
namespace {

secp256k1_context* make_context() {
    secp256k1_context* ctx =
        secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    KEYBRIDGE_ASSERT(ctx != nullptr);
    std::array<std::uint8_t, 32> seed{};
    ScopedWipe wipe(seed);
    KEYBRIDGE_ASSERT(random_bytes(seed).has_value());
    KEYBRIDGE_ASSERT(secp256k1_context_randomize(ctx, seed.data()) == 1);
    return ctx;
}

// secp256k1 group order n, and n/2 for the low-s test.
constexpr Hash32 kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                               0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

// 0x04 || x || y of a point the library holds.
std::array<std::uint8_t, 65> serialize_uncompressed(const secp256k1_pubkey& pub) {
    std::array<std::uint8_t, 65> full{};
    std::size_t len = full.size();
    KEYBRIDGE_ASSERT(secp256k1_ec_pubkey_serialize(secp256k1_ctx(), full.data(), &len, &pub,
                                                   SECP256K1_EC_UNCOMPRESSED) == 1);
    return full;
}

secp256k1_pubkey to_lib_pubkey(const PublicKey& key) {
    secp256k1_pubkey out;
    const auto sec = key.uncompressed();
    KEYBRIDGE_ASSERT(secp256k1_ec_pubkey_parse(secp256k1_ctx(), &out, sec.data(), sec.size()) == 1);
    return out;
}

}  // namespace

const secp256k1_context_struct* secp256k1_ctx() {
    static const secp256k1_context* ctx = make_context();
    return ctx;
}

Result<PrivateKey> PrivateKey::from_bytes(ByteView bytes) {
    if (bytes.size() != 32) {
        return fail(ErrorCode::InvalidArgument,
                    "private key must be 32 bytes, got " + std::to_string(bytes.size()));
    }
    if (secp256k1_ec_seckey_verify(secp256k1_ctx(), bytes.data()) != 1) {
        return fail(ErrorCode::InvalidArgument, "private key is zero or not below the curve order");
    }
    return PrivateKey(SecretBuffer::copy_of(bytes));
}

Result<PrivateKey> PrivateKey::generate() {
    SecretBuffer candidate(32);
    // A random 256-bit value is invalid with probability ~2^-128; loop rather than assume.
    for (int attempt = 0; attempt < 16; ++attempt) {
        auto ok = random_bytes(candidate.span());
        if (!ok) return fail(ok.error());
        if (secp256k1_ec_seckey_verify(secp256k1_ctx(), candidate.data()) == 1) {
            return PrivateKey(std::move(candidate));
        }
    }
    return fail(ErrorCode::CryptoFailure, "could not generate a valid private key");
}

Result<PublicKey> PublicKey::parse(ByteView sec1) {
    secp256k1_pubkey pub;
    if (secp256k1_ec_pubkey_parse(secp256k1_ctx(), &pub, sec1.data(), sec1.size()) != 1) {
        return fail(ErrorCode::InvalidArgument, "not a valid secp256k1 public key");
    }
    const auto full = serialize_uncompressed(pub);
    PublicKey out;
    std::memcpy(out.xy_.data(), full.data() + 1, 64);
    return out;
}

PublicKey PublicKey::from_private(const PrivateKey& key) {
    secp256k1_pubkey pub;
    // The key was validated at construction, so this cannot fail.
    KEYBRIDGE_ASSERT(secp256k1_ec_pubkey_create(secp256k1_ctx(), &pub, key.data()) == 1);
    wipe_stack();  // the library's scalar copies of the key
    const auto full = serialize_uncompressed(pub);
    PublicKey out;
    std::memcpy(out.xy_.data(), full.data() + 1, 64);
    return out;
}

std::array<std::uint8_t, 33> PublicKey::compressed() const {
    secp256k1_pubkey pub = to_lib_pubkey(*this);
    std::array<std::uint8_t, 33> out{};
    std::size_t len = out.size();
    KEYBRIDGE_ASSERT(secp256k1_ec_pubkey_serialize(secp256k1_ctx(), out.data(), &len, &pub,
                                                   SECP256K1_EC_COMPRESSED) == 1);
    return out;
}

std::array<std::uint8_t, 65> PublicKey::uncompressed() const {
    std::array<std::uint8_t, 65> out{};
    out[0] = 0x04;
    std::memcpy(out.data() + 1, xy_.data(), 64);
    return out;
}

std::array<std::uint8_t, 65> RecoverableSignature::to_rsv() const {
    std::array<std::uint8_t, 65> out{};
    std::memcpy(out.data(), r.data(), 32);
    std::memcpy(out.data() + 32, s.data(), 32);
    out[64] = static_cast<std::uint8_t>(27 + recovery_id);
    return out;
}

Result<RecoverableSignature> RecoverableSignature::from_rsv(ByteView rsv) {
    if (rsv.size() != 65) {
        return fail(ErrorCode::InvalidFormat,
                    "signature must be 65 bytes, got " + std::to_string(rsv.size()));
    }
    const std::uint8_t v = rsv[64];
    if (v != 0 && v != 1 && v != 27 && v != 28) {
        return fail(ErrorCode::InvalidFormat, "signature v must be 0, 1, 27 or 28");
    }
    RecoverableSignature sig;
    std::memcpy(sig.r.data(), rsv.data(), 32);
    std::memcpy(sig.s.data(), rsv.data() + 32, 32);
    sig.recovery_id = static_cast<std::uint8_t>(v >= 27 ? v - 27 : v);
    return sig;
}

RecoverableSignature sign_digest(const PrivateKey& key, const Hash32& digest) {
    secp256k1_ecdsa_recoverable_signature lib_sig;
    // RFC 6979 nonces, the library's own computed faster (core/rfc6979.h); the key is valid, so
    // signing cannot fail.
    KEYBRIDGE_ASSERT(secp256k1_ecdsa_sign_recoverable(secp256k1_ctx(), &lib_sig, digest.data(),
                                                      key.data(), rfc6979_nonce, nullptr) == 1);
    // libsecp256k1 0.2 clears its scalar copies of the key and the nonce with plain stores an
    // optimiser may drop.
    wipe_stack();
    std::array<std::uint8_t, 64> compact{};
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(secp256k1_ctx(), compact.data(), &recid,
                                                            &lib_sig);
    RecoverableSignature out;
    std::memcpy(out.r.data(), compact.data(), 32);
    std::memcpy(out.s.data(), compact.data() + 32, 32);
    out.recovery_id = static_cast<std::uint8_t>(recid);
    return out;
}

bool is_low_s(const Hash32& s) {
    return std::memcmp(s.data(), kHalfOrder.data(), 32) <= 0;
}

Result<PublicKey> recover_public_key(const Hash32& digest, const RecoverableSignature& signature,
                                     bool require_low_s) {
    if (signature.recovery_id > 3) {
        return fail(ErrorCode::InvalidArgument, "recovery id must be 0..3");
    }
    if (require_low_s && !is_low_s(signature.s)) {
        return fail(ErrorCode::InvalidArgument, "signature s value is above n/2 (EIP-2)");
    }
    std::array<std::uint8_t, 64> compact{};
    std::memcpy(compact.data(), signature.r.data(), 32);
    std::memcpy(compact.data() + 32, signature.s.data(), 32);
    secp256k1_ecdsa_recoverable_signature lib_sig;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(
            secp256k1_ctx(), &lib_sig, compact.data(), signature.recovery_id) != 1) {
        return fail(ErrorCode::InvalidArgument, "signature r or s is out of range");
    }
    secp256k1_pubkey pub;
    if (secp256k1_ecdsa_recover(secp256k1_ctx(), &pub, &lib_sig, digest.data()) != 1) {
        return fail(ErrorCode::InvalidArgument, "no public key recovers from this signature");
    }
    auto parsed = PublicKey::parse(serialize_uncompressed(pub));
    KEYBRIDGE_ASSERT(parsed.has_value());
    return *parsed;
}

}  // namespace keybridge::core
