#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/address.h"
#include "core/bytes.h"
#include "core/kdf.h"
#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::core {

// Web3 Secret Storage (keystore v3), the JSON key file of geth, MetaMask, MyEtherWallet and ethers.
// Pure functions over text and bytes: reading and writing files is the vault's job.
//
// The "crypto" object (also accepted as "Crypto", as older geth and parity wrote it):
//   cipher "aes-128-ctr" with cipherparams.iv (16 bytes), ciphertext (hex),
//   kdf "scrypt" (kdfparams n, r, p, dklen, salt) or "pbkdf2" (c, dklen, prf "hmac-sha256", salt),
//   mac = keccak256(derivedKey[16..32] || ciphertext); the AES key is derivedKey[0..16].
// Hex is accepted in either case, with or without 0x; what we write is lower case without 0x.
//
// Decryption errors, all detected before the KDF runs unless noted:
//   InvalidFormat: malformed or truncated JSON (with the byte offset), a missing field, a field of
//                  the wrong JSON type, bad hex, iv not 16 bytes, mac not 32 bytes, empty salt or
//                  ciphertext; the detail names the field by its path
//                  ("crypto.cipherparams.iv", or "Crypto..." when the file spells it so).
//   NotSupported:  version other than 3, cipher other than aes-128-ctr, kdf other than scrypt or
//                  pbkdf2, prf other than hmac-sha256.
//   OutOfRange:    KDF parameters outside `limits`, named as check_kdf_params does
//                  ("kdfparams.n"); also a negative integer field.
//   WrongPassword: after the KDF, the MAC does not match: "wrong password or corrupted keystore
//                  (MAC mismatch)". Compared in constant time.
//   CryptoFailure: a library call failed.
// Derived keys and plaintext live only in SecretBuffers.

struct DecryptedKeystore {
    SecretBuffer private_key;        // always 32 bytes, left-padded with zeros as geth does
    std::optional<Address> address;  // the file's "address" field, when it has one
};

// Decrypts a keystore v3 file. Besides the errors above: the plaintext must be at most 32 bytes
// (InvalidFormat, before the KDF) and, after padding, a valid secp256k1 key (InvalidFormat); an
// "address" field must be 20 bytes of hex (InvalidFormat) and equal the key's address
// (InvalidFormat "address field does not match the decrypted key", as geth refuses such files).
[[nodiscard]] Result<DecryptedKeystore> decrypt_keystore(std::string_view json, ByteView password,
                                                         const KdfLimits& limits = {});

// Encrypts a 32-byte secp256k1 private key as geth does: scrypt with `params` (default N=2^18,
// r=8, p=1; kScryptLight for N=2^12), dklen 32, fresh random 32-byte salt and 16-byte iv,
// aes-128-ctr, a random UUID v4 "id", and the lower-case "address" without 0x. The output is one
// line with geth's field names and order:
//   {"address":..,"crypto":{"cipher":..,"ciphertext":..,"cipherparams":{"iv":..},"kdf":"scrypt",
//    "kdfparams":{"dklen":32,"n":..,"p":..,"r":..,"salt":..},"mac":..},"id":..,"version":3}
// Errors: InvalidArgument for a key that is not 32 bytes or not a valid scalar; OutOfRange when
// params violate the default KdfLimits (the file could not be opened again); CryptoFailure.
[[nodiscard]] Result<std::string> encrypt_keystore(ByteView private_key, ByteView password,
                                                   const ScryptParams& params = kScryptStandard);

// The same construction for arbitrary secret bytes (e.g. a recovery phrase). The text is a bare
// "crypto" object for a container document to embed:
//   {"cipher":..,"ciphertext":..,"cipherparams":..,"kdf":..,"kdfparams":..,"mac":..}
// plaintext must be 1 byte to 1 MiB (InvalidArgument); other errors as encrypt_keystore.
[[nodiscard]] Result<std::string> encrypt_secret(ByteView plaintext, ByteView password,
                                                 const ScryptParams& params = kScryptStandard);

// Decrypts what encrypt_secret wrote (a bare crypto object, either KDF); errors as above, with
// field names relative to the object ("kdfparams.n"). A ciphertext above 1 MiB is InvalidFormat.
[[nodiscard]] Result<SecretBuffer> decrypt_secret(std::string_view json, ByteView password,
                                                  const KdfLimits& limits = {});

}  // namespace keybridge::core
