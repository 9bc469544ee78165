#pragma once

#include <array>
#include <cstdint>

#include "core/address.h"
#include "core/bytes.h"
#include "core/secp256k1.h"

namespace keybridge::core {

// EIP-191 version 0x45 ("personal_sign" / "eth_sign"): the signed digest is
//   keccak256("\x19Ethereum Signed Message:\n" || decimal(len(message)) || message)
// where len is the byte length of message. The message is taken as raw bytes; callers that
// receive a hex string from JSON-RPC decode it first.
Hash32 personal_message_hash(ByteView message);

// Signs personal_message_hash(message): RFC 6979 deterministic, low-s. Wallets return it as
// signature.to_rsv() (v = 27 + recovery id).
RecoverableSignature sign_personal_message(const PrivateKey& key, ByteView message);

// Recovers the address that signed message. signature is r || s || v with v in {0, 1, 27, 28}.
// High-s signatures are accepted: unlike transactions (EIP-2), message signatures have no
// malleability rule, and the recovered signer is the same either way.
// Errors: InvalidFormat for a wrong length or v; InvalidArgument when r or s is out of range or
// no key recovers.
[[nodiscard]] Result<Address> recover_personal_signer(ByteView message, ByteView signature);

}  // namespace keybridge::core
