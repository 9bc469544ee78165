#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "core/signer.h"

namespace keybridge::drivers::software {

// The software keystore as a Signer: keys decrypted from the vault at unlock, held in locked,
// wiped memory until lock() or destruction. Signing is pure computation (~25 µs), so calls do not
// block on I/O. Thread-safe.
class SoftwareSigner final : public core::Signer {
  public:
    struct Key {
        core::Address address;
        core::PrivateKey key;
    };

    SoftwareSigner() = default;

    // Replaces the held keys (after an unlock) / forgets them all (lock).
    void set_keys(std::vector<Key> keys);
    void lock();
    bool unlocked() const;

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
};

}  // namespace keybridge::drivers::software
