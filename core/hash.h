#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/bytes.h"
#include "core/secret_buffer.h"

namespace keybridge::core {

using Hash20 = std::array<std::uint8_t, 20>;
using Hash64 = std::array<std::uint8_t, 64>;

// Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3-256). Backed by Crypto++,
// because OpenSSL 3.0 (Debian 12) exposes only the SHA-3 padding.
Hash32 keccak256(ByteView data);

// Incremental Keccak-256 for data that arrives in pieces (EIP-712 encoders, prefixes).
class Keccak256 {
  public:
    Keccak256();
    ~Keccak256();
    Keccak256(const Keccak256&) = delete;
    Keccak256& operator=(const Keccak256&) = delete;

    Keccak256& update(ByteView data);
    Hash32 finish();  // resets the state for reuse

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// SHA-2, RIPEMD-160 and HMAC from OpenSSL's libcrypto.
Hash32 sha256(ByteView data);
// SHA-224 (Ledger names EIP-712 schemas by it).
std::array<std::uint8_t, 28> sha224(ByteView data);
Hash64 sha512(ByteView data);
Hash20 ripemd160(ByteView data);
Hash64 hmac_sha512(ByteView key, ByteView data);

// PBKDF2-HMAC-SHA512 / -SHA256 into a secret buffer of out_len bytes. Fails only if the library
// does.
[[nodiscard]] Result<SecretBuffer> pbkdf2_hmac_sha512(ByteView password, ByteView salt,
                                                      std::uint32_t iterations,
                                                      std::size_t out_len);
[[nodiscard]] Result<SecretBuffer> pbkdf2_hmac_sha256(ByteView password, ByteView salt,
                                                      std::uint32_t iterations,
                                                      std::size_t out_len);

// Fills out with bytes from the OS CSPRNG (getrandom via OpenSSL's RAND_priv_bytes).
[[nodiscard]] Status random_bytes(std::span<std::uint8_t> out);

}  // namespace keybridge::core
