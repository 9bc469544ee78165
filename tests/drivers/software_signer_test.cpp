// The software keystore's own behaviour beyond the conformance suite: following the vault's
// account list while unlocked, and what it says about keys it does not hold.
#include "drivers/software/software_signer.h"

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "core/secp256k1.h"

namespace keybridge::drivers::software {
namespace {

using core::ErrorCode;

constexpr std::string_view kMnemonic =
    "test test test test test test test test test test test junk";
constexpr std::string_view kOtherMnemonic =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "about";

struct Derived {
    core::Address address;
    core::PrivateKey key;
};

Derived derive(std::string_view mnemonic, const std::string& path) {
    auto seed = core::bip39::seed_from_mnemonic(mnemonic, "");
    auto key = core::bip32::ethereum_private_key(seed->view(), path);
    const core::Address address = core::PublicKey::from_private(*key).address();
    return {address, std::move(*key)};
}

core::SecretBuffer seed_of(std::string_view mnemonic) {
    return std::move(*core::bip39::seed_from_mnemonic(mnemonic, ""));
}

class NoPrompts final : public core::Prompter {
  public:
    void on_device(std::string_view) override { ADD_FAILURE() << "software asked for a device"; }
    void device_done() override {}
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(ErrorCode::NotSupported, "");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(ErrorCode::NotSupported, "");
    }
};

TEST(SoftwareSigner, LockedSignerListsTheVaultButSaysLocked) {
    SoftwareSigner signer;
    const auto first = derive(kMnemonic, "m/44'/60'/0'/0/0");
    signer.set_listed({{first.address, "m/44'/60'/0'/0/0"}});
    ASSERT_EQ(signer.keys().size(), 1u);
    EXPECT_EQ(signer.keys()[0].address, first.address);
    auto ready = signer.ready({first.address, "m/44'/60'/0'/0/0"});
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, ErrorCode::VaultLocked);
    EXPECT_FALSE(signer.unlocked());
    std::stop_source stop;
    NoPrompts prompts;
    auto at = signer.address_at({stop.get_token(), prompts}, "m/44'/60'/0'/0/0");
    ASSERT_FALSE(at);
    EXPECT_EQ(at.error().code, ErrorCode::VaultLocked);
}

TEST(SoftwareSigner, AccountDerivedLaterSignsFromTheKeptSeed) {
    SoftwareSigner signer;
    auto first = derive(kMnemonic, "m/44'/60'/0'/0/0");
    const auto second = derive(kMnemonic, "m/44'/60'/0'/0/1");
    const core::Address first_address = first.address;
    std::vector<SoftwareSigner::Key> keys;
    keys.push_back({first.address, std::move(first.key)});
    signer.set_keys(std::move(keys), seed_of(kMnemonic));
    auto missing = signer.sync_accounts(
        {{first_address, "m/44'/60'/0'/0/0"}, {second.address, "m/44'/60'/0'/0/1"}});
    EXPECT_TRUE(missing.empty());
    EXPECT_TRUE(signer.ready({second.address, "m/44'/60'/0'/0/1"}));
    // Removed from the vault: its key is gone.
    signer.sync_accounts({{second.address, "m/44'/60'/0'/0/1"}});
    auto removed = signer.ready({first_address, "m/44'/60'/0'/0/0"});
    ASSERT_FALSE(removed);
    EXPECT_EQ(removed.error().code, ErrorCode::NotFound);
}

TEST(SoftwareSigner, ImportedAfterUnlockNeedsAnUnlockAndSaysSo) {
    SoftwareSigner signer;
    auto first = derive(kMnemonic, "m/44'/60'/0'/0/0");
    const core::Address first_address = first.address;
    const auto imported = derive(kOtherMnemonic, "m/44'/60'/0'/0/0");
    std::vector<SoftwareSigner::Key> keys;
    keys.push_back({first.address, std::move(first.key)});
    signer.set_keys(std::move(keys), seed_of(kMnemonic));
    auto missing =
        signer.sync_accounts({{first_address, "m/44'/60'/0'/0/0"}, {imported.address, ""}});
    ASSERT_EQ(missing.size(), 1u);
    EXPECT_EQ(missing[0], imported.address);
    auto ready = signer.ready({imported.address, ""});
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, ErrorCode::VaultLocked);
    EXPECT_NE(ready.error().detail.find("keybridge unlock"), std::string::npos);
}

TEST(SoftwareSigner, SeedOfAnotherPhraseIsDropped) {
    SoftwareSigner signer;
    auto first = derive(kMnemonic, "m/44'/60'/0'/0/0");
    const core::Address first_address = first.address;
    std::vector<SoftwareSigner::Key> keys;
    keys.push_back({first.address, std::move(first.key)});
    signer.set_keys(std::move(keys), seed_of(kMnemonic));
    // The vault now lists an account of another phrase at a derivation path.
    const auto other = derive(kOtherMnemonic, "m/44'/60'/0'/0/0");
    auto missing = signer.sync_accounts({{other.address, "m/44'/60'/0'/0/0"}});
    ASSERT_EQ(missing.size(), 1u);
    std::stop_source stop;
    NoPrompts prompts;
    auto at = signer.address_at({stop.get_token(), prompts}, "m/44'/60'/0'/0/0");
    ASSERT_FALSE(at);  // the kept seed was wiped
    EXPECT_EQ(at.error().code, ErrorCode::VaultLocked);
    EXPECT_FALSE(signer.ready({first_address, "m/44'/60'/0'/0/0"}));
}

TEST(SoftwareSigner, LockForgetsKeysAndSeed) {
    SoftwareSigner signer;
    auto first = derive(kMnemonic, "m/44'/60'/0'/0/0");
    const core::Address first_address = first.address;
    std::vector<SoftwareSigner::Key> keys;
    keys.push_back({first.address, std::move(first.key)});
    signer.set_keys(std::move(keys), seed_of(kMnemonic));
    signer.sync_accounts({{first_address, "m/44'/60'/0'/0/0"}});
    ASSERT_TRUE(signer.ready({first_address, "m/44'/60'/0'/0/0"}));
    signer.lock();
    EXPECT_FALSE(signer.unlocked());
    EXPECT_EQ(signer.ready({first_address, "m/44'/60'/0'/0/0"}).error().code,
              ErrorCode::VaultLocked);
    // The list survives the lock (accounts are known while locked).
    EXPECT_EQ(signer.keys().size(), 1u);
}

}  // namespace
}  // namespace keybridge::drivers::software

namespace keybridge::drivers::software {
namespace {

// personal_sign with the digest the daemon already computed: the same signature as hashing the
// message, and the given digest is what gets signed (the message is not hashed again).
TEST(SoftwareSigner, HashedPersonalMessageSignsTheGivenDigest) {
    SoftwareSigner signer;
    auto first = derive(kMnemonic, "m/44'/60'/0'/0/0");
    const core::KeyRef key{first.address, "m/44'/60'/0'/0/0"};
    std::vector<SoftwareSigner::Key> keys;
    keys.push_back({first.address, std::move(first.key)});
    signer.set_keys(std::move(keys), seed_of(kMnemonic));
    std::stop_source stop;
    NoPrompts prompts;
    const core::SignContext context{stop.get_token(), prompts};
    const std::string text = "hello keybridge";
    const core::ByteView message(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());

    auto plain = signer.sign_personal_message(context, key, message);
    auto hashed = signer.sign_personal_message_hashed(context, key, message,
                                                      core::personal_message_hash(message));
    ASSERT_TRUE(plain && hashed);
    EXPECT_EQ(plain->to_rsv(), hashed->to_rsv());

    // Another digest for the same message: that digest is signed, as the signer was told.
    core::Hash32 other = core::personal_message_hash(message);
    other[0] ^= 0x01;
    auto signed_other = signer.sign_personal_message_hashed(context, key, message, other);
    ASSERT_TRUE(signed_other);
    EXPECT_NE(signed_other->to_rsv(), plain->to_rsv());
    auto recovered = core::recover_public_key(other, *signed_other);
    ASSERT_TRUE(recovered);
    EXPECT_EQ(recovered->address(), key.address);
}

}  // namespace
}  // namespace keybridge::drivers::software
