#pragma once

#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/secret_buffer.h"
#include "core/signer.h"

namespace keybridge::drivers::software {

// The software keystore as a Signer: keys decrypted from the vault at unlock, held in locked,
// wiped memory until lock() or destruction. Signing is pure computation (~25 µs), so calls do not
// block on I/O. Thread-safe.
//
// The vault may change while unlocked (the keybridge tool derives, imports or removes accounts):
// sync_accounts() follows it. Keys of seed accounts come from the BIP39 seed, which set_keys()
// may hand over to be kept (wiped by lock()) for that purpose; imported keys are encrypted under
// the vault password, which is never kept, so an account imported after the unlock has no key
// until the next unlock, and signing with it says so.
class SoftwareSigner final : public core::Signer {
  public:
    struct Key {
        core::Address address;
        core::PrivateKey key;
    };
    // One account of the vault as sync_accounts() needs it.
    struct AccountRef {
        core::Address address;
        std::string derivation_path;  // seed accounts; empty for imported ones
    };

    SoftwareSigner() = default;
    SoftwareSigner(const SoftwareSigner&) = delete;
    SoftwareSigner& operator=(const SoftwareSigner&) = delete;

    // Replaces the held keys (after an unlock) / forgets them all and the seed (lock).
    void set_keys(std::vector<Key> keys);
    // As above, and keeps the BIP39 seed of the vault's phrase until lock().
    void set_keys(std::vector<Key> keys, core::SecretBuffer seed);
    void lock();
    bool unlocked() const;

    // Follows the vault's account list (keys only change while unlocked): keys of accounts no
    // longer listed are wiped; a new seed account gets its key derived from the kept seed at its
    // path (when that key is not the account's own, the vault was replaced by one of another
    // phrase: the seed is wiped); other new accounts are noted as needing an unlock. Returns the
    // listed accounts left without a key.
    std::vector<core::Address> sync_accounts(const std::vector<AccountRef>& accounts);
    // The vault's account list while locked (keys() and ready() name them).
    void set_listed(std::vector<AccountRef> accounts);

    std::string id() const override { return "software"; }
    core::SignerInfo info() const override;
    // The vault's seed and imported accounts (as last given to sync_accounts / set_keys).
    std::vector<core::KeyRef> keys() const override;
    // VaultLocked while locked, or for a key that needs 'keybridge unlock'; NotFound for a key
    // the vault does not hold.
    [[nodiscard]] core::Status ready(const core::KeyRef& key) const override;
    // Derived from the kept BIP39 seed: VaultLocked without one.
    core::Result<core::Address> address_at(const core::SignContext& context,
                                           std::string_view path) override;

    core::Result<core::RecoverableSignature> sign_personal_message(const core::SignContext& context,
                                                                   const core::KeyRef& key,
                                                                   core::ByteView message) override;
    // Signs `digest` (the EIP-191 hash of `message`, computed by the caller) without hashing
    // the message again.
    core::Result<core::RecoverableSignature> sign_personal_message_hashed(
        const core::SignContext& context, const core::KeyRef& key, core::ByteView message,
        const core::Hash32& digest) override;
    core::Result<core::RecoverableSignature> sign_typed_data(
        const core::SignContext& context, const core::KeyRef& key,
        const core::eip712::HashedTypedData& typed) override;
    core::Result<core::RecoverableSignature> sign_typed_data_v1(
        const core::SignContext& context, const core::KeyRef& key,
        const boost::json::value& typed) override;
    core::Result<core::RecoverableSignature> sign_digest(const core::SignContext& context,
                                                         const core::KeyRef& key,
                                                         const core::Hash32& digest) override;
    core::Result<core::SignedTransaction> sign_transaction(const core::SignContext& context,
                                                           const core::KeyRef& key,
                                                           const core::Transaction& tx) override;

  private:
    // The key for account, or NotFound / VaultLocked.
    core::Result<const core::PrivateKey*> key_for(const core::Address& account) const;

    // Shared by readers and signers (a network thread and the signing worker sign at once),
    // exclusive for changes of the keys.
    mutable std::shared_mutex mutex_;
    bool unlocked_ = false;
    std::map<core::Address, core::PrivateKey> keys_;
    core::SecretBuffer seed_;               // empty unless handed over by set_keys
    std::set<core::Address> needs_unlock_;  // listed accounts whose key is not held
    std::vector<AccountRef> listed_;        // the vault's software accounts, locked or not
};

}  // namespace keybridge::drivers::software
