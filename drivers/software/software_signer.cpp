#include "drivers/software/software_signer.h"

#include "core/bip32.h"
#include "core/eip191.h"

namespace keybridge::drivers::software {

using core::ErrorCode;
using core::fail;

void SoftwareSigner::set_keys(std::vector<Key> keys) {
    set_keys(std::move(keys), core::SecretBuffer());
}

void SoftwareSigner::set_keys(std::vector<Key> keys, core::SecretBuffer seed) {
    std::lock_guard lock(mutex_);
    keys_.clear();
    for (auto& k : keys)
        keys_.emplace(k.address, std::move(k.key));
    seed_ = std::move(seed);  // the previous one is wiped
    needs_unlock_.clear();
    unlocked_ = true;
}

void SoftwareSigner::lock() {
    std::lock_guard lock(mutex_);
    keys_.clear();  // PrivateKey wipes its memory on destruction
    seed_ = core::SecretBuffer();
    needs_unlock_.clear();
    unlocked_ = false;
}

std::vector<core::Address> SoftwareSigner::sync_accounts(const std::vector<AccountRef>& accounts) {
    std::lock_guard lock(mutex_);
    std::vector<core::Address> missing;
    if (!unlocked_) return missing;
    std::set<core::Address> listed;
    for (const auto& a : accounts)
        listed.insert(a.address);
    for (auto it = keys_.begin(); it != keys_.end();) {
        it = listed.count(it->first) != 0 ? std::next(it) : keys_.erase(it);
    }
    needs_unlock_.clear();
    for (const auto& a : accounts) {
        if (keys_.count(a.address) != 0) continue;
        if (!a.derivation_path.empty() && !seed_.empty()) {
            auto key = core::bip32::ethereum_private_key(seed_.view(), a.derivation_path);
            if (key && core::PublicKey::from_private(*key).address() == a.address) {
                keys_.emplace(a.address, std::move(*key));
                continue;
            }
            // The vault now holds another phrase (a backup of another vault was restored): the
            // kept seed derives nothing of it, so it is not kept any longer.
            if (key) seed_ = core::SecretBuffer();
        }
        needs_unlock_.insert(a.address);
        missing.push_back(a.address);
    }
    return missing;
}

core::Status SoftwareSigner::can_sign(const core::Address& account) const {
    std::lock_guard lock(mutex_);
    auto key = key_for(account);
    if (!key) return fail(key.error());
    return {};
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
    if (it == keys_.end() && needs_unlock_.count(account) != 0) {
        return fail(ErrorCode::NotFound,
                    "the key of " + account.to_checksum_string() +
                        " is not loaded: the account was added to the vault after keybridged "
                        "unlocked it, and its key needs the vault password, which keybridged "
                        "does not keep: run 'keybridge unlock' to load it");
    }
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
