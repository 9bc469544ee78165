#pragma once

#include <cstdint>
#include <variant>

#include "core/bytes.h"
#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::core {

// Password-based key derivation for Web3 Secret Storage (keystore v3): scrypt or
// PBKDF2-HMAC-SHA256. All integers are 64-bit so that values read from a file can be range-checked
// here instead of being narrowed on the way in.

// scrypt cost parameters (RFC 7914): n = CPU/memory cost, r = block size, p = parallelism.
struct ScryptParams {
    std::uint64_t n = 0;
    std::uint64_t r = 0;
    std::uint64_t p = 0;
};

// What geth writes by default (StandardScryptN/P): 256 MiB, about a second.
inline constexpr ScryptParams kScryptStandard{std::uint64_t{1} << 18, 8, 1};
// geth's "light" parameters (LightScryptN/P): 4 MiB, a few milliseconds.
inline constexpr ScryptParams kScryptLight{std::uint64_t{1} << 12, 8, 1};

// PBKDF2 with HMAC-SHA256, the only prf the keystore format defines.
struct Pbkdf2Params {
    std::uint64_t iterations = 0;  // "c" in the file
};

struct KdfParams {
    std::variant<ScryptParams, Pbkdf2Params> function;
    Bytes salt;                // must not be empty
    std::uint64_t dklen = 32;  // 32..64; the keystore uses bytes 0..16 and 16..32
};

// Upper bounds checked before any KDF work starts, so that a hostile file cannot make the daemon
// allocate gigabytes or spin for hours. The defaults accept everything geth, MetaMask,
// MyEtherWallet, MyCrypto and ethers write (geth standard N=2^18 r=8 p=1 is 256 MiB and 2^21 work
// units; the spec vector N=2^18 r=1 p=8 is 32 MiB and 2^21 units) with headroom, while bounding one
// unlock to about 1 GiB of memory and roughly ten seconds on a current CPU. Callers may pass
// tighter limits (the fuzz target does).
struct KdfLimits {
    // scrypt n: a power of two in [2, max_scrypt_n].
    std::uint64_t max_scrypt_n = std::uint64_t{1} << 20;
    // r and p are each >= 1 and r * p <= max_scrypt_rp (RFC 7914 only requires < 2^30).
    std::uint64_t max_scrypt_rp = std::uint64_t{1} << 10;
    // The ROMix table, 128 * n * r bytes (the library allocates it in one piece; the B array,
    // 128 * r * p bytes, is small next to it under the r * p bound).
    std::uint64_t max_scrypt_memory_bytes = std::uint64_t{1} << 30;
    // Total BlockMix work, n * r * p: 8 times geth's standard parameters.
    std::uint64_t max_scrypt_work = std::uint64_t{1} << 24;
    // PBKDF2 iteration count c in [1, max_pbkdf2_iterations] (geth's old default was 262144).
    std::uint64_t max_pbkdf2_iterations = 10'000'000;
};

// Which library computes scrypt. Auto picks OpenSSL (measured faster) whenever it accepts the
// parameters, and Crypto++ for the N >= 2^(16 r) cases OpenSSL refuses but geth accepts (r = 1 with
// N = 2^18, as in the spec's own test vector). Both are exposed for tests and benchmarks.
enum class ScryptEngine { Auto, OpenSsl, CryptoPp };

// Checks params against limits without doing any work. Errors: OutOfRange naming the parameter as
// it appears in a keystore file ("kdfparams.n", "kdfparams.r", "kdfparams.p", "kdfparams.c",
// "kdfparams.dklen"), for n not a power of two > 1, r/p/c of 0, or any bound above exceeded;
// InvalidFormat for an empty salt.
[[nodiscard]] Status check_kdf_params(const KdfParams& params, const KdfLimits& limits = {});

// True when OpenSSL's scrypt accepts these cost parameters (it enforces RFC 7914's N < 2^(16 r)).
bool openssl_accepts_scrypt(const ScryptParams& params);

// Derives params.dklen bytes from password. Runs check_kdf_params first (same errors), then the
// KDF. NotSupported when engine is OpenSsl and openssl_accepts_scrypt() is false; CryptoFailure
// if the library fails (e.g. out of memory). Thread-safe.
[[nodiscard]] Result<SecretBuffer> derive_key(const KdfParams& params, ByteView password,
                                              const KdfLimits& limits = {},
                                              ScryptEngine engine = ScryptEngine::Auto);

}  // namespace keybridge::core
