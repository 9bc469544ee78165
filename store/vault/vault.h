#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/kdf.h"
#include "core/result.h"
#include "core/secp256k1.h"
#include "core/secret_buffer.h"

namespace keybridge::vault {

// The software keystore on disk. Layout under the data folder (0700 folders, 0600 files):
//
//   <datadir>/vault/LOCK              flock: one writer at a time, readers share
//   <datadir>/vault/CURRENT           names the live snapshot, e.g. "gen-00000007"
//   <datadir>/vault/gen-00000007/     an immutable snapshot:
//       vault.json                    metadata without secrets (accounts, names, paths)
//       seed.json                     the recovery phrase (+ BIP39 passphrase), encrypted
//       keys/<address>.json           imported keys, Web3 Secret Storage v3 (geth-compatible)
//
// Every change writes a complete new snapshot (unchanged files are hard-linked, new ones written
// and fsync'ed), then replaces CURRENT atomically (temp file, fsync, rename, fsync of the folder),
// then deletes the old snapshot. A crash at any instant therefore leaves CURRENT naming either
// the old or the new snapshot, both complete. All secrets are encrypted under one vault password
// with the keystore v3 construction (scrypt, aes-128-ctr, keccak MAC).
//
// Errors: IoError (files, with the path), InvalidFormat (a damaged file, naming it; a passphrase
// holding NUL), OutOfRange (a secret file over 64 KiB, a private key that is 0 or >= n),
// WrongPassword (nothing changed), NotFound (no vault, unknown address), AlreadyExists (a vault
// is already there, the account is already in it), InvalidArgument (bad names, templates,
// counts), plus what core reports for bad phrases or keys.
// Every call works on the live snapshot (read-only calls re-read it under the shared lock,
// mutating ones under the exclusive lock), so a Vault object stays usable while other
// processes write. accounts() is the list as of the last call. Not thread-safe: callers
// serialise access (the daemon keeps one Vault behind its own lock); different processes are
// serialised by the LOCK file.

// Seed and Imported keys are the software keystore's; a Hardware account's key never leaves its
// device: the vault only records where to find it (no secret, no password needed).
enum class AccountSource { Seed, Imported, Hardware };

struct Account {
    core::Address address;
    std::string name;
    AccountSource source = AccountSource::Seed;
    std::string path;    // derivation path (seed and hardware accounts)
    std::string file;    // keystore file inside the snapshot (imported accounts)
    std::string device;  // hardware accounts: the device's identity, "ledger:<id>", "trezor:<id>"
};

// The device identity a hardware account names: family ("ledger" or "trezor"), a colon, then
// 1..64 characters of [A-Za-z0-9._-] (a serial or the device's own id).
[[nodiscard]] core::Status validate_device_identity(std::string_view device);

// How much scrypt work protects the files. Standard is geth's default (N=2^18); Light (N=2^12) is
// geth's --lightkdf, for tests and very slow machines: much easier to brute-force.
enum class KdfStrength { Standard, Light };

// Derivation path families for `derive`: "m/44'/60'/0'/0/{i}" (BIP44, MetaMask, Trezor) or
// "m/44'/60'/{i}'/0/0" (Ledger Live); any template with one "{i}" is accepted.
inline constexpr std::string_view kBip44Template = "m/44'/60'/0'/0/{i}";
inline constexpr std::string_view kLedgerLiveTemplate = "m/44'/60'/{i}'/0/0";

struct UnlockedAccount {
    core::Address address;
    core::PrivateKey key;
};

inline constexpr std::size_t kMaxDeriveCount = 100000;

class Vault {
  public:
    // $XDG_DATA_HOME/keybridge, else $HOME/.local/share/keybridge.
    static std::string default_datadir();
    static bool exists(const std::string& datadir);

    // Creates a vault holding this recovery phrase (validated and normalised first) and its
    // optional BIP39 passphrase, encrypted under password. AlreadyExists if one exists already.
    [[nodiscard]] static core::Result<Vault> create(const std::string& datadir,
                                                    std::string_view mnemonic,
                                                    std::string_view bip39_passphrase,
                                                    const core::SecretBuffer& password,
                                                    KdfStrength strength = KdfStrength::Standard);

    // Opens the live snapshot (metadata only: no password needed).
    [[nodiscard]] static core::Result<Vault> open(const std::string& datadir);

    const std::string& datadir() const { return datadir_; }
    const std::vector<Account>& accounts() const { return accounts_; }
    const Account* find(const core::Address& address) const;
    KdfStrength strength() const { return strength_; }
    // The snapshot this view shows ("gen-00000007"); changes on every write.
    const std::string& generation() const { return generation_; }

    // WrongPassword when the password does not open the vault.
    [[nodiscard]] core::Status check_password(const core::SecretBuffer& password) const;

    // Adds `count` accounts (1..kMaxDeriveCount) from the phrase at the next unused indices of
    // the template. (The tool asks before large counts; the vault only bounds the work.)
    [[nodiscard]] core::Result<std::vector<Account>> derive(
        const core::SecretBuffer& password, std::size_t count,
        std::string_view path_template = kBip44Template);

    // Account discovery, step 1: calls visit(index, address) for the phrase's addresses at
    // indices 0, 1, 2, ... of the template until visit returns false or an error (which is
    // returned). Nothing is written, and no lock is held while visit runs (it may wait on the
    // network). WrongPassword, InvalidArgument (template), OutOfRange past index 2^31-1.
    [[nodiscard]] core::Status scan_seed_addresses(
        const core::SecretBuffer& password, std::string_view path_template,
        const std::function<core::Result<bool>(std::uint32_t, const core::Address&)>& visit) const;

    // Account discovery, step 2: adds the phrase's accounts at exactly these indices of the
    // template, in order; an index whose path or address is already in the vault is skipped.
    // Returns the accounts added (possibly none; nothing is written then).
    [[nodiscard]] core::Result<std::vector<Account>> derive_indices(
        const core::SecretBuffer& password, const std::vector<std::uint32_t>& indices,
        std::string_view path_template = kBip44Template);

    // Imports a raw 32-byte private key / a v3 keystore (decrypted with its own password, then
    // re-encrypted under the vault password). AlreadyExists if the address is already present.
    [[nodiscard]] core::Result<Account> import_private_key(const core::SecretBuffer& key,
                                                           const core::SecretBuffer& password,
                                                           std::string name = {});
    [[nodiscard]] core::Result<Account> import_keystore(std::string_view keystore_json,
                                                        const core::SecretBuffer& keystore_password,
                                                        const core::SecretBuffer& password,
                                                        std::string name = {});

    // Records an account whose key stays on a hardware wallet: the address the device gave for
    // path (the daemon checks it again before every signature). AlreadyExists if the address
    // is already in the vault.
    [[nodiscard]] core::Result<Account> add_hardware_account(core::Address address,
                                                             std::string device, std::string path,
                                                             std::string name = {});

    // A geth-compatible v3 keystore of one account under export_password: geth's standard
    // scrypt, or its light parameters when asked (`keybridge account export --light-kdf`).
    [[nodiscard]] core::Result<std::string> export_keystore(
        const core::Address& address, const core::SecretBuffer& password,
        const core::SecretBuffer& export_password,
        KdfStrength strength = KdfStrength::Standard) const;

    // NotFound for an address not in the vault. The address is taken by value: these calls
    // replace accounts(), so a reference into it (`v.remove(v.accounts()[0].address)`) would
    // dangle.
    [[nodiscard]] core::Status rename(core::Address address, std::string name);
    [[nodiscard]] core::Status remove(core::Address address);

    // Re-encrypts every secret under new_password in one new snapshot.
    [[nodiscard]] core::Status change_password(const core::SecretBuffer& old_password,
                                               const core::SecretBuffer& new_password);

    // One encrypted file (text) holding the whole snapshot, under the vault password.
    [[nodiscard]] core::Result<std::string> backup(const core::SecretBuffer& password) const;

    // Verifies a backup completely (outer MAC, every file parses, every secret decrypts with
    // password, every address matches) before writing anything; then installs it as a new
    // snapshot. An existing vault is only replaced when replace_existing is set.
    [[nodiscard]] static core::Result<Vault> restore_backup(const std::string& datadir,
                                                            std::string_view backup_text,
                                                            const core::SecretBuffer& password,
                                                            bool replace_existing);

    // Every account's private key, for the daemon's software signer.
    [[nodiscard]] core::Result<std::vector<UnlockedAccount>> unlock(
        const core::SecretBuffer& password) const;

    // unlock(), plus the BIP39 seed the seed accounts come from (64 bytes): the daemon keeps it
    // while unlocked so that accounts the tool derives later are usable without the password.
    struct Unlocked {
        std::vector<UnlockedAccount> accounts;
        core::SecretBuffer seed;
    };
    [[nodiscard]] core::Result<Unlocked> unlock_with_seed(const core::SecretBuffer& password) const;

    // The recovery phrase and BIP39 passphrase (for `keybridge init` confirmation and tests).
    struct Phrase {
        core::SecretBuffer mnemonic;
        core::SecretBuffer passphrase;
    };
    [[nodiscard]] core::Result<Phrase> reveal_phrase(const core::SecretBuffer& password) const;

  private:
    Vault() = default;
    [[nodiscard]] static core::Result<Vault> load(const std::string& datadir);
    [[nodiscard]] core::Result<Vault> live_view() const;
    // The *_locked variants expect the caller to hold the vault lock.
    [[nodiscard]] core::Status check_password_locked(const core::SecretBuffer& password) const;
    [[nodiscard]] core::Result<std::string> export_keystore_locked(
        const core::Address& address, const core::SecretBuffer& password,
        const core::SecretBuffer& export_password, KdfStrength strength) const;
    [[nodiscard]] core::Result<std::string> backup_locked(const core::SecretBuffer& password) const;
    [[nodiscard]] core::Result<std::vector<UnlockedAccount>> unlock_locked(
        const core::SecretBuffer& password, core::SecretBuffer* seed_out = nullptr) const;
    [[nodiscard]] core::Result<Phrase> reveal_phrase_locked(
        const core::SecretBuffer& password) const;

    std::string datadir_;
    std::string generation_;
    KdfStrength strength_ = KdfStrength::Standard;
    std::vector<Account> accounts_;
};

// Checks an account name: 1..64 bytes of UTF-8 text without control characters.
[[nodiscard]] core::Status validate_account_name(std::string_view name);

}  // namespace keybridge::vault
