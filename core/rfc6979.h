#pragma once

namespace keybridge::core {

// libsecp256k1's nonce hook (`secp256k1_nonce_function`) computing exactly the nonces of the
// library's own `secp256k1_nonce_function_rfc6979`: RFC 6979's HMAC-SHA256 generator seeded with
// key32 || (msg32 mod n) [|| data (32 bytes)] [|| algo16], the output of the generator's
// (attempt + 1)-th round. Same arguments, same order, same result (tests/core/rfc6979_test.cpp
// compares the two on thousands of inputs).
//
// Why not the library's: its SHA-256 is portable C, a seventh of a signature's time; here SHA-256
// is Crypto++'s, which uses the CPU's SHA extensions where it has them. Signatures stay byte for
// byte the same, and deterministic.
//
// The HMAC key and state are secrets derived from the private key; they are wiped before return.
int rfc6979_nonce(unsigned char* nonce32, const unsigned char* msg32, const unsigned char* key32,
                  const unsigned char* algo16, void* data, unsigned int attempt);

}  // namespace keybridge::core
