#include "core/eip191.h"

#include <string>
#include <string_view>

#include "core/hash.h"

namespace keybridge::core {
namespace {

constexpr std::string_view kPersonalPrefix =
    "\x19"
    "Ethereum Signed Message:\n";

}  // namespace

Hash32 personal_message_hash(ByteView message) {
    const std::string length = std::to_string(message.size());
    Keccak256 hasher;
    hasher.update(as_bytes(kPersonalPrefix)).update(as_bytes(length)).update(message);
    return hasher.finish();
}

RecoverableSignature sign_personal_message(const PrivateKey& key, ByteView message) {
    return sign_digest(key, personal_message_hash(message));
}

Result<Address> recover_personal_signer(ByteView message, ByteView signature) {
    auto sig = RecoverableSignature::from_rsv(signature);
    if (!sig) return fail(sig.error());
    auto pub = recover_public_key(personal_message_hash(message), *sig, /*require_low_s=*/false);
    if (!pub) return fail(pub.error());
    return pub->address();
}

}  // namespace keybridge::core
