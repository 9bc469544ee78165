#include "drivers/software/software_signer.h"

#include "core/eip191.h"

namespace keybridge::drivers::software {

using core::ErrorCode;
using core::fail;

void SoftwareSigner::set_keys(std::vector<Key> keys) {
    std::lock_guard lock(mutex_);
    keys_.clear();
    for (auto& k : keys)
        keys_.emplace(k.address, std::move(k.key));
    unlocked_ = true;
}

void SoftwareSigner::lock() {
    std::lock_guard lock(mutex_);
    keys_.clear();  // PrivateKey wipes its memory on destruction
    unlocked_ = false;
}

bool SoftwareSigner::unlocked() const {
    std::lock_guard lock(mutex_);
    return unlocked_;
}

std::vector<core::Address> SoftwareSigner::accounts() const {
    std::lock_guard lock(mutex_);
    std::vector<core::Address> out;
    for (const auto& [address, key] : keys_)
        out.push_back(address);
    return out;
}

// The caller holds mutex_ for as long as it uses the returned key.
core::Result<const core::PrivateKey*> SoftwareSigner::key_for(const core::Address& account) const {
    if (!unlocked_) {
        return fail(ErrorCode::Disconnected,
                    "the vault is locked; unlock it with 'keybridge unlock'");
    }
    auto it = keys_.find(account);
    if (it == keys_.end()) {
        return fail(ErrorCode::NotFound,
                    account.to_checksum_string() + " is not an account of the software keystore");
    }
    return &it->second;
}

core::Result<core::Signature65> SoftwareSigner::sign_personal_message(const core::Address& account,
                                                                      core::ByteView message) {
    std::lock_guard lock(mutex_);
    auto key = key_for(account);
    if (!key) return fail(key.error());
    return core::sign_personal_message(**key, message);
}

core::Result<core::Signature65> SoftwareSigner::sign_typed_data(
    const core::Address& account, const core::eip712::HashedTypedData& typed) {
    std::lock_guard lock(mutex_);
    auto key = key_for(account);
    if (!key) return fail(key.error());
    return core::eip712::sign(**key, typed);  // the digest computed before the approval
}

core::Result<core::Signature65> SoftwareSigner::sign_typed_data_v1(
    const core::Address& account, const boost::json::value& typed) {
    std::lock_guard lock(mutex_);
    auto key = key_for(account);
    if (!key) return fail(key.error());
    return core::eip712::sign_legacy_v1(**key, typed);
}

core::Result<core::Signature65> SoftwareSigner::sign_digest(const core::Address& account,
                                                            const core::Hash32& digest) {
    std::lock_guard lock(mutex_);
    auto key = key_for(account);
    if (!key) return fail(key.error());
    return core::sign_digest(**key, digest).to_rsv();
}

core::Result<core::SignedTransaction> SoftwareSigner::sign_transaction(
    const core::Address& account, const core::Transaction& tx) {
    std::lock_guard lock(mutex_);
    auto key = key_for(account);
    if (!key) return fail(key.error());
    return core::sign(tx, **key);
}

}  // namespace keybridge::drivers::software
