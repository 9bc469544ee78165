// Keystore v3 decryption: any text must yield a key or an error, never a crash. Tight KDF limits
// keep each input to a few milliseconds; whatever decrypts must be a 32-byte key.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/keystore.h"

using namespace keybridge::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    KdfLimits limits;
    limits.max_scrypt_n = 1 << 10;
    limits.max_pbkdf2_iterations = 1000;
    const auto password = as_bytes("x");

    if (auto key = decrypt_keystore(text, password, limits)) {
        if (key->private_key.size() != 32) std::abort();
    } else if (key.error().detail.empty()) {
        std::abort();
    }
    // The same text read as a bare crypto object (the vault's encrypted secrets).
    if (auto secret = decrypt_secret(text, password, limits)) {
        if (secret->empty()) std::abort();
    }
    return 0;
}
