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

void SoftwareSigner::set_listed(std::vector<AccountRef> accounts) {
    std::lock_guard lock(mutex_);
    listed_ = std::move(accounts);
}

std::vector<core::Address> SoftwareSigner::sync_accounts(const std::vector<AccountRef>& accounts) {
    std::lock_guard lock(mutex_);
    listed_ = accounts;
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

bool SoftwareSigner::unlocked() const {
    std::shared_lock lock(mutex_);
    return unlocked_;
}

core::SignerInfo SoftwareSigner::info() const {
    return {core::SignerFamily::Software, "software keystore", "", /*blocking=*/false};
}

std::vector<core::KeyRef> SoftwareSigner::keys() const {
    std::shared_lock lock(mutex_);
    std::vector<core::KeyRef> out;
    out.reserve(listed_.size());
    for (const auto& a : listed_)
        out.push_back({a.address, a.derivation_path});
    return out;
}

core::Status SoftwareSigner::ready(const core::KeyRef& key) const {
    std::shared_lock lock(mutex_);
    auto held = key_for(key.address);
    if (!held) return fail(held.error());
    return {};
}

core::Result<core::Address> SoftwareSigner::address_at(const core::SignContext& /*context*/,
                                                       std::string_view path) {
    std::shared_lock lock(mutex_);
    if (seed_.empty()) {
        return fail(ErrorCode::VaultLocked,
                    "the vault's phrase is not unlocked: run 'keybridge unlock'");
    }
    auto key = core::bip32::ethereum_private_key(seed_.view(), path);
    if (!key) return fail(key.error());
    return core::PublicKey::from_private(*key).address();
}

// The caller holds mutex_ (shared or exclusive) for as long as it uses the returned key.
core::Result<const core::PrivateKey*> SoftwareSigner::key_for(const core::Address& account) const {
    if (!unlocked_) {
        return fail(ErrorCode::VaultLocked,
                    "the vault is locked; unlock it with 'keybridge unlock'");
    }
    auto it = keys_.find(account);
    if (it == keys_.end() && needs_unlock_.count(account) != 0) {
        return fail(ErrorCode::VaultLocked,
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

// Signing is pure computation (~25 µs): the context's stop token and prompter are not needed.

core::Result<core::RecoverableSignature> SoftwareSigner::sign_personal_message(
    const core::SignContext& /*context*/, const core::KeyRef& key, core::ByteView message) {
    std::shared_lock lock(mutex_);
    auto held = key_for(key.address);
    if (!held) return fail(held.error());
    return core::sign_personal_message(**held, message);
}

core::Result<core::RecoverableSignature> SoftwareSigner::sign_personal_message_hashed(
    const core::SignContext& context, const core::KeyRef& key, core::ByteView /*message*/,
    const core::Hash32& digest) {
    return sign_digest(context, key, digest);  // one Keccak-256 of the message less
}

core::Result<core::RecoverableSignature> SoftwareSigner::sign_typed_data(
    const core::SignContext& /*context*/, const core::KeyRef& key,
    const core::eip712::HashedTypedData& typed) {
    std::shared_lock lock(mutex_);
    auto held = key_for(key.address);
    if (!held) return fail(held.error());
    return core::eip712::sign(**held, typed);  // the digest computed before the approval
}

core::Result<core::RecoverableSignature> SoftwareSigner::sign_typed_data_v1(
    const core::SignContext& /*context*/, const core::KeyRef& key,
    const boost::json::value& typed) {
    std::shared_lock lock(mutex_);
    auto held = key_for(key.address);
    if (!held) return fail(held.error());
    return core::eip712::sign_legacy_v1(**held, typed);
}

core::Result<core::RecoverableSignature> SoftwareSigner::sign_digest(
    const core::SignContext& /*context*/, const core::KeyRef& key, const core::Hash32& digest) {
    std::shared_lock lock(mutex_);
    auto held = key_for(key.address);
    if (!held) return fail(held.error());
    return core::sign_digest(**held, digest);
}

core::Result<core::SignedTransaction> SoftwareSigner::sign_transaction(
    const core::SignContext& /*context*/, const core::KeyRef& key, const core::Transaction& tx) {
    std::shared_lock lock(mutex_);
    auto held = key_for(key.address);
    if (!held) return fail(held.error());
    return core::sign(tx, **held);
}

}  // namespace keybridge::drivers::software
