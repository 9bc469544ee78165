#pragma once

#include <map>
#include <mutex>
#include <set>
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

    // Replaces the held keys (after an unlock) / forgets them all and the seed (lock).
    void set_keys(std::vector<Key> keys);
    // As above, and keeps the BIP39 seed of the vault's phrase until lock().
    void set_keys(std::vector<Key> keys, core::SecretBuffer seed);
    void lock();
    bool unlocked() const;

    // Follows the vault's account list (no effect while locked): keys of accounts no longer
    // listed are wiped; a new seed account gets its key derived from the kept seed at its path
    // (when that key is not the account's own, the vault was replaced by one of another phrase:
    // the seed is wiped); other new accounts are noted as needing an unlock. Returns the listed
    // accounts left without a key.
    std::vector<core::Address> sync_accounts(const std::vector<AccountRef>& accounts);

    // Whether a signature by account can be made now; otherwise the reason (locked, unknown
    // account, or a key that needs 'keybridge unlock'), with NotFound or Disconnected.
    [[nodiscard]] core::Status can_sign(const core::Address& account) const;

    std::string id() const override { return "software"; }
    core::SignerKind kind() const override { return core::SignerKind::Software; }
    std::vector<core::Address> accounts() const override;

    core::Result<core::Signature65> sign_personal_message(const core::Address& account,
                                                          core::ByteView message) override;
    core::Result<core::Signature65> sign_typed_data(
        const core::Address& account, const core::eip712::HashedTypedData& typed) override;
    core::Result<core::Signature65> sign_typed_data_v1(const core::Address& account,
                                                       const boost::json::value& typed) override;
    core::Result<core::Signature65> sign_digest(const core::Address& account,
                                                const core::Hash32& digest) override;
    core::Result<core::SignedTransaction> sign_transaction(const core::Address& account,
                                                           const core::Transaction& tx) override;

  private:
    // The key for account, or NotFound / Disconnected (locked).
    core::Result<const core::PrivateKey*> key_for(const core::Address& account) const;

    mutable std::mutex mutex_;
    bool unlocked_ = false;
    std::map<core::Address, core::PrivateKey> keys_;
    core::SecretBuffer seed_;               // empty unless handed over by set_keys
    std::set<core::Address> needs_unlock_;  // listed accounts whose key is not held
};

}  // namespace keybridge::drivers::software
