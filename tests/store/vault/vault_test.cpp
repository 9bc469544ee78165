#include "store/vault/vault.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/bytes.h"
#include "core/keystore.h"
#include "store/vault/secure_file.h"
#include "store/vault/vault_fixture.h"
#include "test_data.h"

namespace keybridge::vault {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::SecretBuffer;
using namespace test;  // NOLINT: the fixture helpers

core::Address address_of(std::string_view text) {
    auto parsed = core::Address::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : core::Address{};
}

core::Address address_of(const core::PrivateKey& key) {
    return core::PublicKey::from_private(key).address();
}

// The key of the "all" phrase (no BIP39 passphrase) at a path, computed with core directly.
core::PrivateKey all_key_at(std::string_view path) {
    auto seed = core::bip39::seed_from_mnemonic(kAllPhrase);
    EXPECT_TRUE(seed);
    auto key = core::bip32::ethereum_private_key(seed->view(), path);
    EXPECT_TRUE(key) << path;
    return std::move(*key);
}

core::Bytes bytes_of(const core::PrivateKey& key) {
    return core::Bytes(key.view().begin(), key.view().end());
}

SecretBuffer secret_key(std::string_view hex) {
    auto bytes = core::hex_decode(hex);
    EXPECT_TRUE(bytes) << hex;
    return SecretBuffer::copy_of(core::ByteView(*bytes));
}

// A fresh 32-byte key as a SecretBuffer, with its address.
struct FreshKey {
    SecretBuffer bytes;
    core::Address address;
};
FreshKey fresh_key() {
    auto key = core::PrivateKey::generate();
    EXPECT_TRUE(key);
    return FreshKey{SecretBuffer::copy_of(key->view()), address_of(*key)};
}

json::object parse_object(const std::string& text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    EXPECT_FALSE(ec) << text;
    if (ec || !v.is_object()) return {};
    return v.as_object();
}

class VaultTest : public ::testing::Test {
  protected:
    std::string live() const { return live_generation_path(datadir_); }
    std::map<std::string, std::string> disk() const { return tree_contents(datadir_); }

    TempDir tmp_;
    std::string datadir_ = tmp_.path() + "/data";
    SecretBuffer password_ = secret("correct horse battery");
};

// ------------------------------------------------------------------ create, open, datadir

TEST_F(VaultTest, CreateThenOpenShowsTheSameEmptyVault) {
    EXPECT_FALSE(Vault::exists(datadir_));
    auto created = create_light(datadir_, password_);
    ASSERT_TRUE(created) << describe(created);
    EXPECT_TRUE(Vault::exists(datadir_));
    EXPECT_TRUE(created->accounts().empty());
    EXPECT_EQ(created->strength(), KdfStrength::Light);
    EXPECT_EQ(created->generation(), "gen-00000001");
    EXPECT_EQ(created->datadir(), datadir_);

    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    EXPECT_TRUE(opened->accounts().empty());
    EXPECT_EQ(opened->strength(), KdfStrength::Light);
    EXPECT_EQ(opened->generation(), created->generation());
    EXPECT_TRUE(opened->check_password(password_));

    auto phrase = opened->reveal_phrase(password_);
    ASSERT_TRUE(phrase) << describe(phrase);
    EXPECT_EQ(phrase->mnemonic.text(), kAllPhrase);
    EXPECT_TRUE(phrase->passphrase.empty());

    // Exactly the documented layout.
    EXPECT_EQ(list_tree(datadir_ + "/vault"),
              (std::vector<std::string>{"CURRENT", "LOCK", "gen-00000001/", "gen-00000001/keys/",
                                        "gen-00000001/seed.json", "gen-00000001/vault.json"}));
    EXPECT_EQ(read_text(datadir_ + "/vault/CURRENT"), "gen-00000001\n");
}

TEST_F(VaultTest, CreateStoresTheCanonicalPhraseAndPassphrase) {
    // Stray whitespace is tidied; the BIP39 passphrase changes every derived key.
    auto created = Vault::create(datadir_, "  all all all all all all  all all all all all all ",
                                 "TREZOR", password_, KdfStrength::Light);
    ASSERT_TRUE(created) << describe(created);
    auto phrase = created->reveal_phrase(password_);
    ASSERT_TRUE(phrase) << describe(phrase);
    EXPECT_EQ(phrase->mnemonic.text(), kAllPhrase);
    EXPECT_EQ(phrase->passphrase.text(), "TREZOR");

    auto added = created->derive(password_, 1);
    ASSERT_TRUE(added) << describe(added);
    auto seed = core::bip39::seed_from_mnemonic(kAllPhrase, "TREZOR");
    ASSERT_TRUE(seed);
    auto expected = core::bip32::ethereum_address(seed->view(), "m/44'/60'/0'/0/0");
    ASSERT_TRUE(expected);
    EXPECT_EQ((*added)[0].address, *expected);
    EXPECT_NE((*added)[0].address, address_of(kAllFirstAddress));
}

TEST_F(VaultTest, CreateRejectsABadPhraseWithoutTouchingTheDisk) {
    auto typo = Vault::create(datadir_, "all all all all all all all all all all all alll", "",
                              password_, KdfStrength::Light);
    ASSERT_FALSE(typo);
    EXPECT_EQ(typo.error().code, ErrorCode::InvalidFormat) << typo.error().to_string();
    auto checksum = Vault::create(datadir_, "all all all all all all all all all all all about", "",
                                  password_, KdfStrength::Light);
    ASSERT_FALSE(checksum);
    EXPECT_EQ(checksum.error().code, ErrorCode::InvalidChecksum) << checksum.error().to_string();
    auto nul = Vault::create(datadir_, kAllPhrase, std::string_view("a\0b", 3), password_,
                             KdfStrength::Light);
    ASSERT_FALSE(nul);
    EXPECT_EQ(nul.error().code, ErrorCode::InvalidFormat) << nul.error().to_string();

    EXPECT_FALSE(Vault::exists(datadir_));
    EXPECT_FALSE(path_exists(datadir_)) << "a refused create must not leave folders behind";
}

TEST_F(VaultTest, CreateOverAnExistingVaultIsAlreadyExistsAndChangesNothing) {
    auto created = create_light(datadir_, password_);
    ASSERT_TRUE(created) << describe(created);
    ASSERT_TRUE(created->derive(password_, 1));
    const auto before = disk();

    auto again = create_light(datadir_, secret("other"), kAbandonPhrase);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists) << again.error().to_string();
    EXPECT_NE(again.error().detail.find(datadir_), std::string::npos) << again.error().detail;
    EXPECT_EQ(disk(), before);
}

TEST_F(VaultTest, OpenWithoutAVaultIsNotFound) {
    auto opened = Vault::open(datadir_);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, ErrorCode::NotFound);
    EXPECT_NE(opened.error().detail.find(datadir_), std::string::npos) << opened.error().detail;
    EXPECT_FALSE(path_exists(datadir_)) << "open must not create anything";
}

// Saves an environment variable and puts it back on scope exit.
class ScopedEnv {
  public:
    explicit ScopedEnv(const char* name) : name_(name) {
        if (const char* v = std::getenv(name)) old_ = v;
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

TEST(VaultDatadir, HonoursXdgDataHomeThenHome) {
    ScopedEnv xdg("XDG_DATA_HOME");
    ScopedEnv home("HOME");
    ::setenv("HOME", "/home/alice", 1);

    ::setenv("XDG_DATA_HOME", "/data/alice", 1);
    EXPECT_EQ(Vault::default_datadir(), "/data/alice/keybridge");

    // The XDG spec says relative and empty values are ignored.
    ::setenv("XDG_DATA_HOME", "relative/dir", 1);
    EXPECT_EQ(Vault::default_datadir(), "/home/alice/.local/share/keybridge");
    ::setenv("XDG_DATA_HOME", "", 1);
    EXPECT_EQ(Vault::default_datadir(), "/home/alice/.local/share/keybridge");
    ::unsetenv("XDG_DATA_HOME");
    EXPECT_EQ(Vault::default_datadir(), "/home/alice/.local/share/keybridge");
}

TEST_F(VaultTest, StandardStrengthWritesGethDefaultScrypt) {
    auto created = Vault::create(datadir_, kAllPhrase, "", password_, KdfStrength::Standard);
    ASSERT_TRUE(created) << describe(created);
    EXPECT_EQ(created->strength(), KdfStrength::Standard);
    const auto seed = parse_object(read_text(live() + "/seed.json"));
    const auto& params = seed.at("crypto").at("kdfparams").as_object();
    EXPECT_EQ(seed.at("crypto").at("kdf").as_string(), "scrypt");
    EXPECT_EQ(params.at("n").to_number<std::uint64_t>(), 262144u);
    EXPECT_EQ(params.at("r").to_number<std::uint64_t>(), 8u);
    EXPECT_EQ(params.at("p").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(parse_object(read_text(live() + "/vault.json")).at("kdf").as_string(), "standard");

    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    EXPECT_EQ(opened->strength(), KdfStrength::Standard);
    EXPECT_TRUE(opened->check_password(password_));
}

TEST_F(VaultTest, LightStrengthWritesGethLightScrypt) {
    ASSERT_TRUE(create_light(datadir_, password_));
    const auto seed = parse_object(read_text(live() + "/seed.json"));
    EXPECT_EQ(seed.at("crypto").at("kdfparams").at("n").to_number<std::uint64_t>(), 4096u);
    EXPECT_EQ(parse_object(read_text(live() + "/vault.json")).at("kdf").as_string(), "light");
    // The seed file holds no plaintext phrase.
    EXPECT_EQ(read_text(live() + "/seed.json").find("all all"), std::string::npos);
}

// ------------------------------------------------------------------ modes

TEST_F(VaultTest, EveryFolderIs0700AndEveryFile0600AfterEachMutation) {
    ScopedUmask permissive(0);  // modes must not depend on the caller's umask
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    expect_private_modes(datadir_);

    ASSERT_TRUE(vault->derive(password_, 2));
    expect_private_modes(datadir_);
    auto key = fresh_key();
    ASSERT_TRUE(vault->import_private_key(key.bytes, password_, "imported"));
    expect_private_modes(datadir_);
    EXPECT_EQ(mode_of(live() + "/keys/" + key.address.to_lower_string().substr(2) + ".json"),
              0600u);
    ASSERT_TRUE(vault->rename(key.address, "renamed"));
    expect_private_modes(datadir_);
    ASSERT_TRUE(vault->change_password(password_, secret("new password")));
    expect_private_modes(datadir_);
    ASSERT_TRUE(vault->remove(vault->accounts()[0].address));
    expect_private_modes(datadir_);

    auto backup = vault->backup(secret("new password"));
    ASSERT_TRUE(backup) << describe(backup);
    const std::string other = tmp_.path() + "/restored/deeper";
    auto restored = Vault::restore_backup(other, *backup, secret("new password"), false);
    ASSERT_TRUE(restored) << describe(restored);
    expect_private_modes(other);
    EXPECT_EQ(mode_of(tmp_.path() + "/restored"), 0700u) << "created parents are private too";
}

TEST_F(VaultTest, AnExistingLooserDatadirIsTightened) {
    ASSERT_EQ(::mkdir(datadir_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(datadir_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((datadir_ + "/vault").c_str(), 0777), 0);
    ASSERT_EQ(::chmod((datadir_ + "/vault").c_str(), 0777), 0);
    ASSERT_TRUE(create_light(datadir_, password_));
    EXPECT_EQ(mode_of(datadir_), 0700u);
    EXPECT_EQ(mode_of(datadir_ + "/vault"), 0700u);
    expect_private_modes(datadir_);
}

// ------------------------------------------------------------------ derive

TEST_F(VaultTest, AllPhraseDerivesTheTrezorAddressFirst) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    auto added = vault->derive(password_, 1);
    ASSERT_TRUE(added) << describe(added);
    ASSERT_EQ(added->size(), 1u);
    EXPECT_EQ((*added)[0].address.to_checksum_string(), kAllFirstAddress);
    EXPECT_EQ((*added)[0].path, "m/44'/60'/0'/0/0");
    EXPECT_EQ((*added)[0].source, AccountSource::Seed);
    EXPECT_EQ((*added)[0].name, "Account 1");
    ASSERT_EQ(vault->accounts().size(), 1u);
    EXPECT_EQ(vault->accounts()[0].address.to_checksum_string(), kAllFirstAddress);
    EXPECT_EQ(vault->generation(), "gen-00000002");

    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    ASSERT_EQ(opened->accounts().size(), 1u);
    EXPECT_EQ(opened->accounts()[0].address.to_checksum_string(), kAllFirstAddress);
    EXPECT_NE(opened->find(address_of(kAllFirstAddress)), nullptr);
    EXPECT_EQ(opened->find(address_of("0x0000000000000000000000000000000000000001")), nullptr);
}

TEST_F(VaultTest, DeriveWithBip44AndLedgerLiveTemplates) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    auto bip44 = vault->derive(password_, 3, kBip44Template);
    ASSERT_TRUE(bip44) << describe(bip44);
    ASSERT_EQ(bip44->size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string path = "m/44'/60'/0'/0/" + std::to_string(i);
        EXPECT_EQ((*bip44)[i].path, path);
        EXPECT_EQ((*bip44)[i].address, address_of(all_key_at(path)));
        EXPECT_EQ((*bip44)[i].name, "Account " + std::to_string(i + 1));
    }

    // Ledger Live index 0 is the same path as BIP44 index 0, so it is already used.
    auto ledger = vault->derive(password_, 2, kLedgerLiveTemplate);
    ASSERT_TRUE(ledger) << describe(ledger);
    ASSERT_EQ(ledger->size(), 2u);
    EXPECT_EQ((*ledger)[0].path, "m/44'/60'/1'/0/0");
    EXPECT_EQ((*ledger)[1].path, "m/44'/60'/2'/0/0");
    EXPECT_EQ((*ledger)[0].address, address_of(all_key_at("m/44'/60'/1'/0/0")));
    EXPECT_EQ((*ledger)[1].address, address_of(all_key_at("m/44'/60'/2'/0/0")));
    EXPECT_EQ(vault->accounts().size(), 5u);
}

TEST_F(VaultTest, DeriveWithACustomTemplate) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    auto added = vault->derive(password_, 2, "m/44'/61'/0'/0/{i}");  // Ethereum Classic
    ASSERT_TRUE(added) << describe(added);
    ASSERT_EQ(added->size(), 2u);
    EXPECT_EQ((*added)[0].path, "m/44'/61'/0'/0/0");
    EXPECT_EQ((*added)[1].path, "m/44'/61'/0'/0/1");
    EXPECT_EQ((*added)[1].address, address_of(all_key_at("m/44'/61'/0'/0/1")));

    auto legacy = vault->derive(password_, 1, "m/44'/60'/0'/{i}");  // old MEW / Ledger legacy
    ASSERT_TRUE(legacy) << describe(legacy);
    EXPECT_EQ((*legacy)[0].path, "m/44'/60'/0'/0");
    EXPECT_EQ((*legacy)[0].address, address_of(all_key_at("m/44'/60'/0'/0")));
}

TEST_F(VaultTest, DeriveTakesTheLowestUnusedIndexEachTime) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 3));
    // Removing index 1 leaves a gap that the next derive fills before going on.
    ASSERT_TRUE(vault->remove(address_of(all_key_at("m/44'/60'/0'/0/1"))));
    auto refill = vault->derive(password_, 1);
    ASSERT_TRUE(refill) << describe(refill);
    EXPECT_EQ((*refill)[0].path, "m/44'/60'/0'/0/1");
    auto next = vault->derive(password_, 2);
    ASSERT_TRUE(next) << describe(next);
    EXPECT_EQ((*next)[0].path, "m/44'/60'/0'/0/3");
    EXPECT_EQ((*next)[1].path, "m/44'/60'/0'/0/4");

    // Every path is present once and each name is unique.
    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    std::set<std::string> paths, names;
    for (const Account& a : opened->accounts()) {
        paths.insert(a.path);
        names.insert(a.name);
    }
    EXPECT_EQ(paths.size(), 5u);
    EXPECT_EQ(names.size(), 5u);
}

TEST_F(VaultTest, ScanSeedAddressesWalksTheTemplateWithoutWriting) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    const std::string before = vault->generation();
    std::vector<core::Address> seen;
    auto status = vault->scan_seed_addresses(
        password_, kLedgerLiveTemplate,
        [&](std::uint32_t index, const core::Address& address) -> core::Result<bool> {
            EXPECT_EQ(index, seen.size());
            seen.push_back(address);
            return seen.size() < 3;
        });
    ASSERT_TRUE(status) << describe(status);
    ASSERT_EQ(seen.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(seen[i], address_of(all_key_at("m/44'/60'/" + std::to_string(i) + "'/0/0")));
    }
    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->generation(), before);
    EXPECT_TRUE(opened->accounts().empty());

    // The visitor's error ends the walk and comes back; a wrong password visits nothing.
    auto failed = vault->scan_seed_addresses(
        password_, kBip44Template, [](std::uint32_t, const core::Address&) -> core::Result<bool> {
            return core::fail(ErrorCode::IoError, "node down");
        });
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().detail, "node down");
    bool visited = false;
    auto wrong = vault->scan_seed_addresses(secret("wrong"), kBip44Template,
                                            [&](std::uint32_t, const core::Address&) {
                                                visited = true;
                                                return core::Result<bool>(false);
                                            });
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);
    EXPECT_FALSE(visited);
}

TEST_F(VaultTest, DeriveIndicesAddsExactlyThoseAndSkipsOnesPresent) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 1));  // index 0
    auto added = vault->derive_indices(password_, {0, 3, 7});
    ASSERT_TRUE(added) << describe(added);
    ASSERT_EQ(added->size(), 2u);
    EXPECT_EQ((*added)[0].path, "m/44'/60'/0'/0/3");
    EXPECT_EQ((*added)[1].path, "m/44'/60'/0'/0/7");
    EXPECT_EQ((*added)[1].address, address_of(all_key_at("m/44'/60'/0'/0/7")));
    EXPECT_EQ(vault->accounts().size(), 3u);
    // Nothing new: no new snapshot.
    const std::string gen = vault->generation();
    auto none = vault->derive_indices(password_, {3, 7});
    ASSERT_TRUE(none) << describe(none);
    EXPECT_TRUE(none->empty());
    EXPECT_EQ(vault->generation(), gen);
    auto wrong = vault->derive_indices(secret("wrong"), {9});
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);
    EXPECT_EQ(vault->accounts().size(), 3u);
}

TEST_F(VaultTest, DeriveSkipsAKeyThatWasImportedAlready) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    const auto key0 = all_key_at("m/44'/60'/0'/0/0");
    ASSERT_TRUE(vault->import_private_key(SecretBuffer::copy_of(key0.view()), password_));
    auto added = vault->derive(password_, 1);
    ASSERT_TRUE(added) << describe(added);
    EXPECT_EQ((*added)[0].path, "m/44'/60'/0'/0/1");
    EXPECT_EQ(vault->accounts().size(), 2u);
}

TEST_F(VaultTest, DeriveRejectsBadTemplatesCountsAndPasswords) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 1));
    const auto before = disk();
    const std::string gen = vault->generation();

    const std::vector<std::string> bad_templates = {
        "",
        "m/44'/60'/0'/0/0",               // no {i}
        "m/44'/60'/{i}'/0/{i}",           // twice
        "44'/60'/0'/0/{i}",               // no m
        "m/44'/60'/0'/0/{i}x",            // junk after the index
        "m//{i}",                         // empty component
        "m/44'/60'/0'/0/{I}",             // not the placeholder
        "m/44'/60'/0'/0/-{i}",            // sign
        "m/44'/60'/0'/0/{i} ",            // whitespace
        "m/44'/60'/0'/0/0{i}",            // leading zero
        "m/44'/60'/0'/0/2147483648/{i}",  // index out of range elsewhere
    };
    for (const std::string& tmpl : bad_templates) {
        auto result = vault->derive(password_, 1, tmpl);
        ASSERT_FALSE(result) << "accepted template '" << tmpl << "'";
        EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument)
            << tmpl << ": " << result.error().to_string();
    }
    for (std::size_t count : {std::size_t{0}, vault::kMaxDeriveCount + 1}) {
        auto result = vault->derive(password_, count);
        ASSERT_FALSE(result) << count;
        EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument);
    }
    auto wrong = vault->derive(secret("wrong"), 1);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);

    EXPECT_EQ(vault->generation(), gen);
    EXPECT_EQ(disk(), before);
}

TEST_F(VaultTest, DeriveRunningPastTheLastIndexFailsCleanly) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    // A template whose sample index is valid but whose later indices leave the BIP32 range.
    // Indices 0..47 give 214748360..2147483647, all valid; index 48 gives 2^31, which is not.
    auto result = vault->derive(password_, 2, "m/21474836{i}");
    ASSERT_TRUE(result) << describe(result);
    EXPECT_EQ((*result)[1].path, "m/214748361");
    const auto before = disk();
    auto far = vault->derive(password_, 60, "m/21474836{i}");
    ASSERT_FALSE(far) << "index 2147483648 is not a valid BIP32 index";
    EXPECT_EQ(far.error().code, ErrorCode::OutOfRange) << far.error().to_string();
    EXPECT_EQ(disk(), before) << "nothing is written when one index fails";
    EXPECT_EQ(vault->accounts().size(), 2u);
}

// ------------------------------------------------------------------ import

TEST_F(VaultTest, ImportPrivateKeyStoresAGethKeystoreUnderTheVaultPassword) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    auto key = fresh_key();
    auto account = vault->import_private_key(key.bytes, password_);
    ASSERT_TRUE(account) << describe(account);
    EXPECT_EQ(account->address, key.address);
    EXPECT_EQ(account->source, AccountSource::Imported);
    EXPECT_EQ(account->name, "Imported 1");
    EXPECT_EQ(account->file, "keys/" + key.address.to_lower_string().substr(2) + ".json");
    EXPECT_TRUE(account->path.empty());

    const std::string text = read_text(live() + "/" + account->file);
    const auto file = parse_object(text);
    EXPECT_EQ(file.at("version").to_number<int>(), 3);
    EXPECT_EQ(file.at("address").as_string(), key.address.to_lower_string().substr(2));
    EXPECT_EQ(file.at("crypto").at("kdfparams").at("n").to_number<std::uint64_t>(), 4096u);
    auto decrypted = core::decrypt_keystore(text, password_.view());
    ASSERT_TRUE(decrypted) << describe(decrypted);
    EXPECT_TRUE(decrypted->private_key == key.bytes);

    auto named = vault->import_private_key(fresh_key().bytes, password_, "cold storage");
    ASSERT_TRUE(named) << describe(named);
    EXPECT_EQ(named->name, "cold storage");

    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    ASSERT_EQ(opened->accounts().size(), 2u);
    EXPECT_EQ(opened->accounts()[0].address, key.address);
    EXPECT_EQ(opened->accounts()[0].file, account->file);
    EXPECT_EQ(opened->accounts()[1].name, "cold storage");
}

TEST_F(VaultTest, ImportPrivateKeyRejectsInvalidKeysAndWrongPassword) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    const auto before = disk();
    const std::vector<std::pair<std::string, SecretBuffer>> bad = [] {
        std::vector<std::pair<std::string, SecretBuffer>> v;
        v.emplace_back("31 bytes", SecretBuffer(31));
        v.emplace_back("33 bytes", SecretBuffer(33));
        v.emplace_back("zero", SecretBuffer(32));
        v.emplace_back(
            "group order",
            secret_key("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"));
        v.emplace_back(
            "all ones",
            secret_key("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
        return v;
    }();
    for (const auto& [what, key] : bad) {
        auto result = vault->import_private_key(key, password_);
        ASSERT_FALSE(result) << what;
        EXPECT_EQ(result.error().code, ErrorCode::OutOfRange) << what;
    }
    auto wrong = vault->import_private_key(fresh_key().bytes, secret("wrong"));
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);
    for (const std::string& name : {std::string(65, 'x'), std::string("a\tb")}) {
        auto badname = vault->import_private_key(fresh_key().bytes, password_, name);
        ASSERT_FALSE(badname) << name;
        EXPECT_EQ(badname.error().code, ErrorCode::InvalidArgument);
    }
    EXPECT_EQ(vault->generation(), "gen-00000001");
    EXPECT_EQ(disk(), before);
}

struct KeystoreVector {
    std::string name;
    std::string json;
    std::string password;
    std::string priv;  // hex, possibly shorter than 32 bytes
};

// The vectors cheap enough to run here (scrypt N <= 8192); the N=2^18 ones are covered by core.
std::vector<KeystoreVector> light_keystore_vectors() {
    std::vector<KeystoreVector> out;
    auto take = [&](const std::string& file, const std::string& name) {
        const json::value all = keybridge::test::load_json(file);
        const json::object* v =
            all.as_object().if_contains(name) ? &all.as_object().at(name).as_object() : nullptr;
        if (v == nullptr) {
            ADD_FAILURE() << file << " has no vector " << name;
            return;
        }
        out.push_back({name, json::serialize(v->at("json")),
                       std::string(v->at("password").as_string()),
                       std::string(v->at("priv").as_string())});
    };
    take("ethereum-tests-basic_tests.json", "mycrypto");
    take("geth-v3_test_vector.json", "31_byte_key");
    take("geth-v3_test_vector.json", "30_byte_key");
    return out;
}

TEST_F(VaultTest, ImportKeystoreVectorsAndUnlockTheSameKeys) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    const auto vectors = light_keystore_vectors();
    ASSERT_EQ(vectors.size(), 3u);
    std::size_t run = 0;
    for (const auto& v : vectors) {
        SCOPED_TRACE(v.name);
        // geth left-pads short keys with zeros.
        const std::string padded = std::string(64 - v.priv.size(), '0') + v.priv;
        auto key = core::PrivateKey::from_bytes(*core::hex_decode(padded));
        ASSERT_TRUE(key);
        auto account = vault->import_keystore(v.json, secret(v.password), password_, v.name);
        ASSERT_TRUE(account) << describe(account);
        EXPECT_EQ(account->address, address_of(*key));
        EXPECT_EQ(account->name, v.name);

        auto unlocked = vault->unlock(password_);
        ASSERT_TRUE(unlocked) << describe(unlocked);
        bool found = false;
        for (const auto& u : *unlocked) {
            if (u.address == account->address) {
                found = true;
                EXPECT_EQ(bytes_of(u.key), bytes_of(*key));
            }
        }
        EXPECT_TRUE(found);
        ++run;
    }
    EXPECT_EQ(run, 3u);
    EXPECT_EQ(vault->accounts().size(), 3u);
}

TEST_F(VaultTest, ImportKeystoreWithTheWrongKeystorePasswordChangesNothing) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    const auto before = disk();
    const auto v = light_keystore_vectors().at(0);
    auto wrong = vault->import_keystore(v.json, secret("not it"), password_);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);
    auto wrong_vault = vault->import_keystore(v.json, secret(v.password), secret("not it"));
    ASSERT_FALSE(wrong_vault);
    EXPECT_EQ(wrong_vault.error().code, ErrorCode::WrongPassword);
    auto garbage = vault->import_keystore("{\"version\":3", secret(v.password), password_);
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().code, ErrorCode::InvalidFormat);
    EXPECT_EQ(disk(), before);
}

TEST_F(VaultTest, DuplicateImportIsAlreadyExists) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 1));
    const auto v = light_keystore_vectors().at(0);
    auto first = vault->import_keystore(v.json, secret(v.password), password_);
    ASSERT_TRUE(first) << describe(first);
    const auto before = disk();

    // The same key again: as a keystore, as raw bytes, and a key the seed already derives.
    auto again = vault->import_keystore(v.json, secret(v.password), password_);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
    EXPECT_NE(again.error().detail.find(first->address.to_checksum_string()), std::string::npos);
    auto raw = vault->import_private_key(secret_key(v.priv), password_);
    ASSERT_FALSE(raw);
    EXPECT_EQ(raw.error().code, ErrorCode::AlreadyExists);
    const auto key0 = all_key_at("m/44'/60'/0'/0/0");
    auto derived = vault->import_private_key(SecretBuffer::copy_of(key0.view()), password_);
    ASSERT_FALSE(derived);
    EXPECT_EQ(derived.error().code, ErrorCode::AlreadyExists);
    EXPECT_EQ(disk(), before);
}

TEST_F(VaultTest, ImportKeystoreWithHugeScryptIsOutOfRangeQuickly) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    const auto v = light_keystore_vectors().at(0);
    json::value hostile = json::parse(v.json);
    hostile.as_object()["crypto"].as_object()["kdfparams"].as_object()["n"] = 1u << 30;
    const auto start = std::chrono::steady_clock::now();
    auto result = vault->import_keystore(json::serialize(hostile), secret(v.password), password_);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::OutOfRange) << result.error().to_string();
    EXPECT_NE(result.error().detail.find("kdfparams.n"), std::string::npos);
    EXPECT_LT(elapsed, std::chrono::seconds(2)) << "the limit must be checked before any work";
    EXPECT_TRUE(vault->accounts().empty());
}

// ------------------------------------------------------------------ export

TEST_F(VaultTest, ExportKeystoreDecryptsToTheSameKeyUnderTheExportPassword) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 2));
    auto key = fresh_key();
    ASSERT_TRUE(vault->import_private_key(key.bytes, password_));
    const SecretBuffer export_password = secret("export me");

    // A seed account at geth's standard scrypt (the default), an imported key at the light
    // parameters (`account export --light-kdf`; a quarter of a second instead of four under the
    // sanitizers).
    struct Case {
        core::Address address;
        KdfStrength strength;
        std::uint64_t n;
    };
    for (const Case& c :
         {Case{address_of(all_key_at("m/44'/60'/0'/0/1")), KdfStrength::Standard, 262144u},
          Case{key.address, KdfStrength::Light, 4096u}}) {
        const core::Address& address = c.address;
        SCOPED_TRACE(address.to_checksum_string());
        auto exported =
            c.strength == KdfStrength::Standard
                ? vault->export_keystore(address, password_, export_password)
                : vault->export_keystore(address, password_, export_password, KdfStrength::Light);
        ASSERT_TRUE(exported) << describe(exported);
        const auto file = parse_object(*exported);
        EXPECT_EQ(file.at("crypto").at("kdfparams").at("n").to_number<std::uint64_t>(), c.n)
            << "exports use geth's standard scrypt unless asked for the light one";
        EXPECT_EQ(file.at("address").as_string(), address.to_lower_string().substr(2));
        auto decrypted = core::decrypt_keystore(*exported, export_password.view());
        ASSERT_TRUE(decrypted) << describe(decrypted);
        auto pk = core::PrivateKey::from_bytes(decrypted->private_key.view());
        ASSERT_TRUE(pk);
        EXPECT_EQ(address_of(*pk), address);
    }
}

TEST_F(VaultTest, ExportKeystoreErrors) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 1));
    const auto unknown = address_of("0x0000000000000000000000000000000000000001");
    auto missing = vault->export_keystore(unknown, password_, secret("x"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().detail.find(unknown.to_checksum_string()), std::string::npos);
    auto wrong = vault->export_keystore(vault->accounts()[0].address, secret("wrong"), secret("x"));
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);
}

// ------------------------------------------------------------------ rename, remove

TEST_F(VaultTest, RenamePersistsAndAcceptsUtf8Names) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 2));
    const core::Address target = vault->accounts()[1].address;
    const std::string gen = vault->generation();

    const std::vector<std::string> good = {"x", std::string(64, 'n'), "Konto \xc3\x9c \xe6\x97\xa5",
                                           "with \"quotes\" and \\ backslash", "  spaced  "};
    for (const std::string& name : good) {
        ASSERT_TRUE(vault->rename(target, name)) << name;
        EXPECT_EQ(vault->find(target)->name, name);
        auto opened = Vault::open(datadir_);
        ASSERT_TRUE(opened) << describe(opened);
        EXPECT_EQ(opened->find(target)->name, name);
        EXPECT_EQ(opened->accounts()[0].name, "Account 1") << "only the target is renamed";
    }
    EXPECT_NE(vault->generation(), gen);
}

TEST_F(VaultTest, RenameRejectsBadNamesAndUnknownAddresses) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 1));
    const core::Address target = vault->accounts()[0].address;
    const auto before = disk();

    const std::vector<std::string> bad = {
        "",
        std::string(65, 'n'),
        "line\nbreak",
        "tab\there",
        std::string("nul\0inside", 10),
        "del\x7f",
        "\xff\xfe not utf-8",      // invalid UTF-8 would make vault.json unreadable
        "truncated \xe6\x97",      // a cut multi-byte sequence
        "overlong \xc0\xaf",       // overlong encoding of '/'
        "surrogate \xed\xa0\x80",  // UTF-16 surrogate, not valid in UTF-8
        "c1 control \xc2\x85",     // NEXT LINE, a C1 control character
    };
    for (const std::string& name : bad) {
        auto result = vault->rename(target, name);
        ASSERT_FALSE(result) << "accepted name '" << name << "'";
        EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument) << result.error().to_string();
        EXPECT_FALSE(validate_account_name(name));
    }
    auto unknown = vault->rename(address_of("0x0000000000000000000000000000000000000001"), "x");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, ErrorCode::NotFound);
    EXPECT_EQ(disk(), before);
    ASSERT_TRUE(Vault::open(datadir_));
}

TEST_F(VaultTest, RemoveDropsTheAccountAndItsKeyFile) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 2));
    auto key = fresh_key();
    auto imported = vault->import_private_key(key.bytes, password_);
    ASSERT_TRUE(imported) << describe(imported);
    ASSERT_TRUE(path_exists(live() + "/" + imported->file));

    ASSERT_TRUE(vault->remove(key.address));
    EXPECT_EQ(vault->find(key.address), nullptr);
    EXPECT_FALSE(path_exists(live() + "/" + imported->file));
    ASSERT_TRUE(vault->remove(vault->accounts()[0].address));
    ASSERT_EQ(vault->accounts().size(), 1u);
    EXPECT_EQ(vault->accounts()[0].path, "m/44'/60'/0'/0/1");

    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    ASSERT_EQ(opened->accounts().size(), 1u);
    EXPECT_EQ(opened->accounts()[0].path, "m/44'/60'/0'/0/1");

    const auto before = disk();
    auto again = vault->remove(key.address);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::NotFound);
    EXPECT_EQ(disk(), before);

    // The removed key can be imported again.
    ASSERT_TRUE(vault->import_private_key(key.bytes, password_));
    EXPECT_TRUE(vault->unlock(password_));
}

TEST_F(VaultTest, RenameAndRemoveTakeAnAddressFromTheVaultsOwnList) {
    // Both calls reload the account list before looking the address up; an address passed by
    // reference into that list used to dangle (NotFound, or a use-after-free under ASan).
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 3));
    const core::Address second = vault->accounts()[1].address;
    auto renamed = vault->rename(vault->accounts()[1].address, "second");
    ASSERT_TRUE(renamed) << describe(renamed);
    EXPECT_EQ(vault->find(second)->name, "second");
    auto removed = vault->remove(vault->accounts()[1].address);
    ASSERT_TRUE(removed) << describe(removed);
    EXPECT_EQ(vault->find(second), nullptr);
    EXPECT_EQ(vault->accounts().size(), 2u);
}

TEST_F(VaultTest, MutationsSeeChangesMadeThroughAnotherView) {
    auto first = create_light(datadir_, password_);
    ASSERT_TRUE(first) << describe(first);
    auto second = Vault::open(datadir_);
    ASSERT_TRUE(second) << describe(second);
    ASSERT_TRUE(first->derive(password_, 1));
    // `second` still shows the old snapshot; its next write must start from the new one.
    auto added = second->derive(password_, 1);
    ASSERT_TRUE(added) << describe(added);
    EXPECT_EQ((*added)[0].path, "m/44'/60'/0'/0/1");
    EXPECT_EQ(second->accounts().size(), 2u);
    ASSERT_TRUE(first->rename(second->accounts()[1].address, "seen"));
    EXPECT_EQ(first->accounts().size(), 2u);
}

TEST_F(VaultTest, ConcurrentWritersInTwoProcessesAreSerialised) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    constexpr int kWriters = 2;
    constexpr int kDerivesEach = 4;
    std::vector<pid_t> children;
    for (int w = 0; w < kWriters; ++w) {
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            // Each writer works from its own stale view: the lock and the reload inside every
            // mutation must keep one writer from overwriting the other's accounts.
            auto mine = Vault::open(datadir_);
            if (!mine) ::_exit(2);
            for (int i = 0; i < kDerivesEach; ++i) {
                if (!mine->derive(password_, 1)) ::_exit(3);
            }
            ::_exit(0);
        }
        children.push_back(child);
    }
    for (pid_t child : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0);
    }
    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    ASSERT_EQ(opened->accounts().size(), std::size_t{kWriters * kDerivesEach});
    std::set<std::string> paths;
    for (const Account& a : opened->accounts())
        paths.insert(a.path);
    EXPECT_EQ(paths.size(), std::size_t{kWriters * kDerivesEach});
    EXPECT_TRUE(opened->unlock(password_));
    EXPECT_EQ(list_tree(datadir_ + "/vault").size(), 6u) << "one snapshot, CURRENT and LOCK";
}

TEST_F(VaultTest, GenerationNumbersWrapInsteadOfOutgrowingTheirName) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 1));
    // Pretend this vault has seen 99999998 writes.
    const std::string vdir = datadir_ + "/vault";
    ASSERT_EQ(std::rename((vdir + "/gen-00000002").c_str(), (vdir + "/gen-99999999").c_str()), 0);
    write_text(vdir + "/CURRENT", "gen-99999999\n");
    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    EXPECT_EQ(opened->generation(), "gen-99999999");

    ASSERT_TRUE(opened->rename(opened->accounts()[0].address, "after wrap"));
    EXPECT_EQ(opened->generation(), "gen-00000001");
    auto reopened = Vault::open(datadir_);
    ASSERT_TRUE(reopened) << describe(reopened);
    EXPECT_EQ(reopened->accounts()[0].name, "after wrap");
    EXPECT_TRUE(reopened->unlock(password_));
    ASSERT_TRUE(reopened->derive(password_, 1));
    EXPECT_EQ(reopened->generation(), "gen-00000002");
    EXPECT_FALSE(path_exists(vdir + "/gen-99999999"));
}

// ------------------------------------------------------------------ passwords

TEST_F(VaultTest, WrongPasswordIsReportedAndLeavesTheSnapshotUnchanged) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 2));
    ASSERT_TRUE(vault->import_private_key(fresh_key().bytes, password_));
    const auto before = disk();
    const std::string gen = vault->generation();
    const SecretBuffer wrong = secret("correct horse battery ");  // one byte longer
    const auto v = light_keystore_vectors().at(0);

    auto expect_wrong = [&](const auto& result, const char* what) {
        ASSERT_FALSE(result) << what;
        EXPECT_EQ(result.error().code, ErrorCode::WrongPassword)
            << what << ": " << result.error().to_string();
    };
    expect_wrong(vault->check_password(wrong), "check_password");
    expect_wrong(vault->check_password(SecretBuffer()), "check_password (empty)");
    expect_wrong(vault->derive(wrong, 1), "derive");
    expect_wrong(vault->import_private_key(fresh_key().bytes, wrong), "import_private_key");
    expect_wrong(vault->import_keystore(v.json, secret(v.password), wrong), "import_keystore");
    expect_wrong(vault->export_keystore(vault->accounts()[2].address, wrong, secret("x")),
                 "export_keystore");
    expect_wrong(vault->change_password(wrong, secret("new")), "change_password");
    expect_wrong(vault->backup(wrong), "backup");
    expect_wrong(vault->unlock(wrong), "unlock");
    expect_wrong(vault->reveal_phrase(wrong), "reveal_phrase");

    EXPECT_EQ(vault->generation(), gen);
    EXPECT_EQ(Vault::open(datadir_)->generation(), gen);
    EXPECT_EQ(disk(), before);
}

TEST_F(VaultTest, ChangePasswordReencryptsEverySecret) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 2));
    auto key = fresh_key();
    auto imported = vault->import_private_key(key.bytes, password_);
    ASSERT_TRUE(imported) << describe(imported);
    auto before_keys = vault->unlock(password_);
    ASSERT_TRUE(before_keys) << describe(before_keys);
    const auto accounts_before = vault->accounts();

    const SecretBuffer new_password = secret("a much better password");
    ASSERT_TRUE(vault->change_password(password_, new_password));
    EXPECT_EQ(vault->accounts().size(), accounts_before.size());

    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    // The old password opens nothing any more.
    EXPECT_EQ(opened->check_password(password_).error().code, ErrorCode::WrongPassword);
    EXPECT_EQ(opened->unlock(password_).error().code, ErrorCode::WrongPassword);
    EXPECT_EQ(opened->reveal_phrase(password_).error().code, ErrorCode::WrongPassword);
    EXPECT_EQ(opened->export_keystore(key.address, password_, secret("e")).error().code,
              ErrorCode::WrongPassword);
    EXPECT_EQ(opened->backup(password_).error().code, ErrorCode::WrongPassword);
    // The imported key file itself is re-encrypted, not only the seed.
    const std::string key_file = read_text(live() + "/" + imported->file);
    EXPECT_EQ(core::decrypt_keystore(key_file, password_.view()).error().code,
              ErrorCode::WrongPassword);
    auto under_new = core::decrypt_keystore(key_file, new_password.view());
    ASSERT_TRUE(under_new) << describe(under_new);
    EXPECT_TRUE(under_new->private_key == key.bytes);

    // The new one opens everything, with the same keys as before.
    EXPECT_TRUE(opened->check_password(new_password));
    auto after_keys = opened->unlock(new_password);
    ASSERT_TRUE(after_keys) << describe(after_keys);
    ASSERT_EQ(after_keys->size(), before_keys->size());
    for (std::size_t i = 0; i < after_keys->size(); ++i) {
        EXPECT_EQ((*after_keys)[i].address, (*before_keys)[i].address);
        EXPECT_EQ(bytes_of((*after_keys)[i].key), bytes_of((*before_keys)[i].key));
    }
    auto exported =
        opened->export_keystore(key.address, new_password, secret("e"), KdfStrength::Light);
    ASSERT_TRUE(exported) << describe(exported);
    auto decrypted = core::decrypt_keystore(*exported, secret("e").view());
    ASSERT_TRUE(decrypted) << describe(decrypted);
    EXPECT_TRUE(decrypted->private_key == key.bytes);
    auto phrase = opened->reveal_phrase(new_password);
    ASSERT_TRUE(phrase);
    EXPECT_EQ(phrase->mnemonic.text(), kAllPhrase);

    // Later mutations use the new password.
    EXPECT_EQ(opened->derive(password_, 1).error().code, ErrorCode::WrongPassword);
    ASSERT_TRUE(opened->derive(new_password, 1));
    ASSERT_TRUE(opened->import_private_key(fresh_key().bytes, new_password));
    EXPECT_TRUE(opened->unlock(new_password));
}

// ------------------------------------------------------------------ backup and restore

void expect_same_accounts(const std::vector<Account>& a, const std::vector<Account>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].address, b[i].address) << i;
        EXPECT_EQ(a[i].name, b[i].name) << i;
        EXPECT_EQ(a[i].source, b[i].source) << i;
        EXPECT_EQ(a[i].path, b[i].path) << i;
        EXPECT_EQ(a[i].file, b[i].file) << i;
    }
}

void expect_same_keys(const std::vector<UnlockedAccount>& a,
                      const std::vector<UnlockedAccount>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].address, b[i].address) << i;
        EXPECT_EQ(bytes_of(a[i].key), bytes_of(b[i].key)) << i;
    }
}

class BackupTest : public VaultTest {
  protected:
    void SetUp() override {
        auto vault = create_light(datadir_, password_);
        ASSERT_TRUE(vault) << describe(vault);
        ASSERT_TRUE(vault->derive(password_, 3));
        ASSERT_TRUE(vault->derive(password_, 1, kLedgerLiveTemplate));
        auto key = fresh_key();
        ASSERT_TRUE(vault->import_private_key(key.bytes, password_, "imported one"));
        ASSERT_TRUE(vault->rename(vault->accounts()[0].address, "main"));
        auto text = vault->backup(password_);
        ASSERT_TRUE(text) << describe(text);
        backup_ = *text;
        auto keys = vault->unlock(password_);
        ASSERT_TRUE(keys) << describe(keys);
        keys_ = std::move(*keys);
        accounts_ = vault->accounts();
    }

    std::string other_ = tmp_.path() + "/other";
    std::string backup_;
    std::vector<UnlockedAccount> keys_;
    std::vector<Account> accounts_;
};

TEST_F(BackupTest, BackupHoldsNoPlaintext) {
    EXPECT_EQ(backup_.find("all all"), std::string::npos);
    EXPECT_EQ(backup_.find("imported one"), std::string::npos) << "names are encrypted too";
    const auto outer = parse_object(backup_);
    EXPECT_EQ(outer.at("format").as_string(), "keybridge-backup");
    EXPECT_TRUE(outer.contains("crypto"));
}

TEST_F(BackupTest, RestoreIntoANewDatadirGivesTheSameAccountsAndKeys) {
    auto restored = Vault::restore_backup(other_, backup_, password_, false);
    ASSERT_TRUE(restored) << describe(restored);
    expect_same_accounts(restored->accounts(), accounts_);
    EXPECT_EQ(restored->strength(), KdfStrength::Light);
    auto keys = restored->unlock(password_);
    ASSERT_TRUE(keys) << describe(keys);
    expect_same_keys(*keys, keys_);
    auto phrase = restored->reveal_phrase(password_);
    ASSERT_TRUE(phrase);
    EXPECT_EQ(phrase->mnemonic.text(), kAllPhrase);

    auto opened = Vault::open(other_);
    ASSERT_TRUE(opened) << describe(opened);
    expect_same_accounts(opened->accounts(), accounts_);
    expect_private_modes(other_);

    // The restored vault is a working vault.
    auto added = opened->derive(password_, 1);
    ASSERT_TRUE(added) << describe(added);
    EXPECT_EQ((*added)[0].path, "m/44'/60'/0'/0/3");
}

TEST_F(BackupTest, RestoreOverAnExistingVaultNeedsReplaceExisting) {
    auto target = create_light(other_, password_, kAbandonPhrase);
    ASSERT_TRUE(target) << describe(target);
    ASSERT_TRUE(target->derive(password_, 1));
    const auto before = tree_contents(other_);
    const std::string gen = target->generation();

    auto refused = Vault::restore_backup(other_, backup_, password_, false);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::AlreadyExists) << refused.error().to_string();
    EXPECT_EQ(tree_contents(other_), before);

    auto replaced = Vault::restore_backup(other_, backup_, password_, true);
    ASSERT_TRUE(replaced) << describe(replaced);
    expect_same_accounts(replaced->accounts(), accounts_);
    EXPECT_NE(replaced->generation(), gen);
    auto keys = replaced->unlock(password_);
    ASSERT_TRUE(keys) << describe(keys);
    expect_same_keys(*keys, keys_);
    // Only the new snapshot is left.
    for (const std::string& entry : list_tree(other_ + "/vault")) {
        EXPECT_TRUE(entry == "CURRENT" || entry == "LOCK" ||
                    entry.rfind(replaced->generation() + "/", 0) == 0)
            << entry;
    }
    expect_private_modes(other_);
}

// Rewrites one character of a JSON string field inside the backup's crypto object.
std::string flip_in_crypto(const std::string& backup, const char* field, std::size_t at) {
    json::value outer = json::parse(backup);
    auto& s = outer.as_object()["crypto"].as_object()[field].as_string();
    std::string text(s);
    text[at] = text[at] == '0' ? '1' : '0';
    s = text;
    return json::serialize(outer);
}

// Decrypts the backup, lets `edit` change the inner files, encrypts it again: a backup that
// passes the outer MAC but whose contents are wrong.
std::string reencrypted(const std::string& backup, const SecretBuffer& password,
                        const std::function<void(json::object& files)>& edit) {
    json::value outer = json::parse(backup);
    auto plain = core::decrypt_secret(json::serialize(outer.at("crypto")), password.view());
    EXPECT_TRUE(plain) << describe(plain);
    json::value inner = json::parse(plain->text());
    edit(inner.as_object()["files"].as_object());
    const std::string text = json::serialize(inner);
    auto crypto = core::encrypt_secret(core::as_bytes(text), password.view(), core::kScryptLight);
    EXPECT_TRUE(crypto);
    outer.as_object()["crypto"] = json::parse(*crypto);
    return json::serialize(outer);
}

TEST_F(BackupTest, ATamperedBackupIsRejectedAndTheTargetIsUntouched) {
    struct Case {
        std::string what;
        std::string text;
        SecretBuffer password;
        ErrorCode code;
    };
    std::vector<Case> cases;
    const auto p = [&] { return SecretBuffer::copy_of(password_.view()); };
    cases.push_back({"ciphertext byte flipped", flip_in_crypto(backup_, "ciphertext", 100), p(),
                     ErrorCode::WrongPassword});
    cases.push_back({"first ciphertext byte flipped", flip_in_crypto(backup_, "ciphertext", 0), p(),
                     ErrorCode::WrongPassword});
    cases.push_back(
        {"mac flipped", flip_in_crypto(backup_, "mac", 5), p(), ErrorCode::WrongPassword});
    cases.push_back({"truncated to half", backup_.substr(0, backup_.size() / 2), p(),
                     ErrorCode::InvalidFormat});
    cases.push_back(
        {"last brace cut", backup_.substr(0, backup_.rfind('}')), p(), ErrorCode::InvalidFormat});
    cases.push_back({"empty", "", p(), ErrorCode::InvalidFormat});
    cases.push_back({"wrong password", backup_, secret("wrong"), ErrorCode::WrongPassword});
    cases.push_back({"not a backup", "{\"format\":\"something\",\"crypto\":{}}", p(),
                     ErrorCode::InvalidFormat});
    cases.push_back({"address swapped",
                     reencrypted(backup_, password_,
                                 [](json::object& files) {
                                     std::string meta(files["vault.json"].as_string());
                                     json::value m = json::parse(meta);
                                     auto& accounts = m.as_object()["accounts"].as_array();
                                     std::swap(accounts[0].as_object()["path"],
                                               accounts[1].as_object()["path"]);
                                     files["vault.json"] = json::serialize(m);
                                 }),
                     p(), ErrorCode::InvalidFormat});
    cases.push_back(
        {"seed file missing",
         reencrypted(backup_, password_, [](json::object& files) { files.erase("seed.json"); }),
         p(), ErrorCode::InvalidFormat});
    cases.push_back({"key file escaping the snapshot",
                     reencrypted(backup_, password_,
                                 [](json::object& files) {
                                     std::string meta(files["vault.json"].as_string());
                                     json::value m = json::parse(meta);
                                     for (auto& a : m.as_object()["accounts"].as_array()) {
                                         if (a.as_object().contains("file")) {
                                             a.as_object()["file"] = "keys/../../escape.json";
                                         }
                                     }
                                     files["vault.json"] = json::serialize(m);
                                 }),
                     p(), ErrorCode::InvalidFormat});
    ASSERT_EQ(cases.size(), 11u);

    // Into a fresh datadir: nothing may be created.
    for (const Case& c : cases) {
        auto result = Vault::restore_backup(other_, c.text, c.password, true);
        ASSERT_FALSE(result) << c.what;
        EXPECT_EQ(result.error().code, c.code) << c.what << ": " << result.error().to_string();
        EXPECT_FALSE(path_exists(other_)) << c.what;
    }
    // Over an existing vault, even with replace_existing: it stays exactly as it was.
    auto target = create_light(other_, password_, kAbandonPhrase);
    ASSERT_TRUE(target) << describe(target);
    ASSERT_TRUE(target->derive(password_, 1));
    const auto before = tree_contents(other_);
    for (const Case& c : cases) {
        auto result = Vault::restore_backup(other_, c.text, c.password, true);
        ASSERT_FALSE(result) << c.what;
        EXPECT_EQ(result.error().code, c.code) << c.what;
        EXPECT_EQ(tree_contents(other_), before) << c.what;
    }
}

// ------------------------------------------------------------------ damaged vaults

class DamagedVaultTest : public VaultTest {
  protected:
    void SetUp() override {
        auto vault = create_light(datadir_, password_);
        ASSERT_TRUE(vault) << describe(vault);
        ASSERT_TRUE(vault->derive(password_, 2));
        auto imported = vault->import_private_key(key_.bytes, password_, "imported");
        ASSERT_TRUE(imported) << describe(imported);
        key_file_ = live() + "/" + imported->file;
    }

    FreshKey key_ = fresh_key();
    std::string key_file_;
};

TEST_F(DamagedVaultTest, TruncatedSeedFileIsReportedByName) {
    const std::string path = live() + "/seed.json";
    const std::string text = read_text(path);
    write_text(path, text.substr(0, text.size() / 2));
    auto opened = Vault::open(datadir_);  // metadata only: still opens
    ASSERT_TRUE(opened) << describe(opened);
    auto check = opened->check_password(password_);
    ASSERT_FALSE(check);
    EXPECT_EQ(check.error().code, ErrorCode::InvalidFormat) << check.error().to_string();
    EXPECT_NE(check.error().detail.find("seed.json"), std::string::npos) << check.error().detail;
    auto unlocked = opened->unlock(password_);
    ASSERT_FALSE(unlocked);
    EXPECT_NE(unlocked.error().detail.find("seed.json"), std::string::npos);
    auto derived = opened->derive(password_, 1);
    ASSERT_FALSE(derived);
    EXPECT_NE(derived.error().detail.find("seed.json"), std::string::npos);

    write_text(path, "");
    auto empty = opened->check_password(password_);
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().detail.find("seed.json"), std::string::npos);
}

TEST_F(DamagedVaultTest, GarbageMetadataIsReportedByName) {
    const std::string path = live() + "/vault.json";
    const std::string original = read_text(path);
    for (const std::string& garbage :
         {std::string("\x00\x01garbage", 9), std::string("{\"format\":\"keybridge-vault\""),
          std::string("[]"), original.substr(0, original.size() / 2),
          std::string("{\"format\":\"keybridge-vault\",\"version\":1,\"kdf\":\"light\","
                      "\"accounts\":[{\"address\":\"0x12\"}]}")}) {
        write_text(path, garbage);
        auto opened = Vault::open(datadir_);
        ASSERT_FALSE(opened) << garbage;
        EXPECT_EQ(opened.error().code, ErrorCode::InvalidFormat) << opened.error().to_string();
        EXPECT_NE(opened.error().detail.find(path), std::string::npos) << opened.error().detail;
    }
}

TEST_F(DamagedVaultTest, CurrentNamingAMissingGenerationIsReportedByName) {
    write_text(datadir_ + "/vault/CURRENT", "gen-00000099\n");
    auto opened = Vault::open(datadir_);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, ErrorCode::InvalidFormat) << opened.error().to_string();
    EXPECT_NE(opened.error().detail.find(datadir_ + "/vault/CURRENT"), std::string::npos)
        << opened.error().detail;
    EXPECT_NE(opened.error().detail.find("gen-00000099"), std::string::npos)
        << opened.error().detail;

    for (const char* damaged : {"", "gen-1", "../../etc", "gen-0000000x\n"}) {
        write_text(datadir_ + "/vault/CURRENT", damaged);
        auto bad = Vault::open(datadir_);
        ASSERT_FALSE(bad) << damaged;
        EXPECT_EQ(bad.error().code, ErrorCode::InvalidFormat) << damaged;
        EXPECT_NE(bad.error().detail.find("CURRENT"), std::string::npos) << bad.error().detail;
    }
}

TEST_F(DamagedVaultTest, KeystoreOfAnotherAddressIsReportedByName) {
    const std::string name = key_file_.substr(key_file_.rfind("keys/"));
    // A valid keystore of a different key under the vault password, in two flavours: with the
    // other key's own address field, and with the expected address field (a mismatch inside).
    auto other = fresh_key();
    auto keystore =
        core::encrypt_keystore(other.bytes.view(), password_.view(), core::kScryptLight);
    ASSERT_TRUE(keystore);
    json::value forged = json::parse(*keystore);
    forged.as_object()["address"] = key_.address.to_lower_string().substr(2);
    json::value no_address = json::parse(*keystore);
    no_address.as_object().erase("address");

    for (const std::string& text :
         {*keystore, json::serialize(forged), json::serialize(no_address)}) {
        write_text(key_file_, text);
        auto opened = Vault::open(datadir_);
        ASSERT_TRUE(opened) << describe(opened);
        auto unlocked = opened->unlock(password_);
        ASSERT_FALSE(unlocked);
        EXPECT_EQ(unlocked.error().code, ErrorCode::InvalidFormat) << unlocked.error().to_string();
        EXPECT_NE(unlocked.error().detail.find(name), std::string::npos) << unlocked.error().detail;
        auto exported = opened->export_keystore(key_.address, password_, secret("e"));
        ASSERT_FALSE(exported);
        EXPECT_NE(exported.error().detail.find(name), std::string::npos) << exported.error().detail;
    }

    write_text(key_file_, "not json");
    auto unlocked = Vault::open(datadir_)->unlock(password_);
    ASSERT_FALSE(unlocked);
    EXPECT_NE(unlocked.error().detail.find(name), std::string::npos) << unlocked.error().detail;

    ASSERT_EQ(::unlink(key_file_.c_str()), 0);
    unlocked = Vault::open(datadir_)->unlock(password_);
    ASSERT_FALSE(unlocked);
    EXPECT_EQ(unlocked.error().code, ErrorCode::IoError);
    EXPECT_NE(unlocked.error().detail.find(name), std::string::npos) << unlocked.error().detail;
}

TEST_F(DamagedVaultTest, SeedAccountWithAForeignAddressIsReported) {
    const std::string path = live() + "/vault.json";
    json::value meta = json::parse(read_text(path));
    meta.as_object()["accounts"].as_array()[1].as_object()["address"] =
        "0x0000000000000000000000000000000000000001";
    write_text(path, json::serialize(meta));
    auto opened = Vault::open(datadir_);
    ASSERT_TRUE(opened) << describe(opened);
    auto unlocked = opened->unlock(password_);
    ASSERT_FALSE(unlocked);
    EXPECT_EQ(unlocked.error().code, ErrorCode::InvalidFormat);
    EXPECT_NE(unlocked.error().detail.find("vault.json"), std::string::npos)
        << unlocked.error().detail;
}

TEST_F(DamagedVaultTest, MetadataPointingOutsideTheSnapshotIsRefused) {
    const std::string path = live() + "/vault.json";
    const std::string original = read_text(path);
    for (const char* file :
         {"keys/../seed.json", "../keys/x.json", "/etc/passwd", "keys/a/b.json", "seed.json"}) {
        json::value meta = json::parse(original);
        meta.as_object()["accounts"].as_array()[2].as_object()["file"] = file;
        write_text(path, json::serialize(meta));
        auto opened = Vault::open(datadir_);
        ASSERT_FALSE(opened) << file;
        EXPECT_EQ(opened.error().code, ErrorCode::InvalidFormat) << file;
        EXPECT_NE(opened.error().detail.find("accounts[2]"), std::string::npos)
            << opened.error().detail;
    }
}

// ------------------------------------------------------------------ unlock

TEST_F(VaultTest, UnlockReturnsEveryAccountsKeyInOrder) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 3));
    auto a = fresh_key();
    auto b = fresh_key();
    ASSERT_TRUE(vault->import_private_key(a.bytes, password_));
    ASSERT_TRUE(vault->derive(password_, 1, kLedgerLiveTemplate));
    ASSERT_TRUE(vault->import_private_key(b.bytes, password_));

    auto unlocked = vault->unlock(password_);
    ASSERT_TRUE(unlocked) << describe(unlocked);
    ASSERT_EQ(unlocked->size(), 6u);
    ASSERT_EQ(vault->accounts().size(), 6u);
    for (std::size_t i = 0; i < unlocked->size(); ++i) {
        const Account& account = vault->accounts()[i];
        const UnlockedAccount& u = (*unlocked)[i];
        EXPECT_EQ(u.address, account.address) << i;
        EXPECT_EQ(address_of(u.key), account.address) << i;
        if (account.source == AccountSource::Seed) {
            EXPECT_EQ(bytes_of(u.key), bytes_of(all_key_at(account.path))) << account.path;
        }
    }
    EXPECT_TRUE(SecretBuffer::copy_of((*unlocked)[3].key.view()) == a.bytes);
    EXPECT_TRUE(SecretBuffer::copy_of((*unlocked)[5].key.view()) == b.bytes);
    EXPECT_EQ((*unlocked)[4].address, address_of(all_key_at("m/44'/60'/1'/0/0")));
}

}  // namespace
}  // namespace keybridge::vault

namespace keybridge::vault {
namespace {

using test::kAllPhrase;
using test::secret;

// A second writer replaces (and deletes) the snapshot an older Vault object was opened on: the
// older object's read-only calls must still work, on the live snapshot.
TEST(VaultLiveView, ReadOnlyCallsOfAnOlderObjectSeeTheLiveSnapshot) {
    test::TempDir tmp;
    const std::string datadir = tmp.path() + "/data";
    auto password = secret("pw");
    auto created = Vault::create(datadir, kAllPhrase, "", password, KdfStrength::Light);
    ASSERT_TRUE(created);
    ASSERT_TRUE(created->derive(password, 1));
    auto older = Vault::open(datadir);
    ASSERT_TRUE(older);
    const std::string old_generation = older->generation();

    auto writer = Vault::open(datadir);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->rename(writer->accounts()[0].address, "renamed"));
    ASSERT_TRUE(writer->derive(password, 1));
    ASSERT_NE(writer->generation(), old_generation);

    EXPECT_TRUE(older->check_password(password));
    auto keys = older->unlock(password);
    ASSERT_TRUE(keys) << keys.error().to_string();
    EXPECT_EQ(keys->size(), 2u);  // the live snapshot's accounts, not the old view's one
    EXPECT_TRUE(older->backup(password));
    EXPECT_TRUE(older->reveal_phrase(password));
    EXPECT_TRUE(older->export_keystore(keys->front().address, password, secret("export"),
                                       KdfStrength::Light));
}

// ------------------------------------------------------------------ unlock for the daemon

TEST_F(VaultTest, UnlockWithSeedGivesUnlocksKeysAndThePhrasesSeed) {
    auto vault = create_light(datadir_, password_);
    ASSERT_TRUE(vault) << describe(vault);
    ASSERT_TRUE(vault->derive(password_, 2));
    ASSERT_TRUE(vault->import_private_key(fresh_key().bytes, password_));

    auto with_seed = vault->unlock_with_seed(password_);
    ASSERT_TRUE(with_seed) << describe(with_seed);
    auto plain = vault->unlock(password_);
    ASSERT_TRUE(plain) << describe(plain);
    ASSERT_EQ(with_seed->accounts.size(), 3u);
    ASSERT_EQ(plain->size(), 3u);
    for (std::size_t i = 0; i < plain->size(); ++i) {
        EXPECT_EQ(with_seed->accounts[i].address, (*plain)[i].address);
        EXPECT_EQ(bytes_of(with_seed->accounts[i].key), bytes_of((*plain)[i].key));
    }
    auto expected = core::bip39::seed_from_mnemonic(kAllPhrase, "");
    ASSERT_TRUE(expected);
    EXPECT_EQ(with_seed->seed.size(), 64u);
    EXPECT_TRUE(with_seed->seed == *expected);
    // The seed derives the seed accounts' keys (what the daemon does for accounts added later).
    auto second = core::bip32::ethereum_private_key(with_seed->seed.view(), "m/44'/60'/0'/0/1");
    ASSERT_TRUE(second);
    EXPECT_EQ(bytes_of(*second), bytes_of(with_seed->accounts[1].key));

    auto wrong = vault->unlock_with_seed(secret("not the password"));
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);
}

}  // namespace
}  // namespace keybridge::vault
