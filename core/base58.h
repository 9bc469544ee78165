#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::core {

// Base58 with the Bitcoin alphabet (no 0, O, I, l), and Base58Check: payload || first 4 bytes of
// sha256(sha256(payload)). Leading zero bytes map to leading '1' characters and back.
//
// Encoding and decoding are quadratic in the length, so decoding refuses input longer than
// kMaxBase58Length characters. The *_secret variants keep every intermediate and the result in
// SecretBuffers (for serialised private keys); decoding always returns a SecretBuffer, because the
// caller may be parsing an xprv.
inline constexpr std::size_t kMaxBase58Length = 1024;

std::string base58_encode(ByteView data);
SecretBuffer base58_encode_secret(ByteView data);

// InvalidFormat for a character outside the alphabet (the detail gives its 0-based position) or
// input longer than kMaxBase58Length.
[[nodiscard]] Result<SecretBuffer> base58_decode(std::string_view text);

std::string base58check_encode(ByteView payload);
SecretBuffer base58check_encode_secret(ByteView payload);

// Decodes and verifies the 4-byte checksum, returning the payload. InvalidFormat as for
// base58_decode or when fewer than 4 bytes decode; InvalidChecksum when the checksum differs.
[[nodiscard]] Result<SecretBuffer> base58check_decode(std::string_view text);

}  // namespace keybridge::core
