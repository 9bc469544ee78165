#include "store/vault/vault.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include <boost/json.hpp>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/keystore.h"
#include "store/vault/secure_file.h"

namespace keybridge::vault {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;
using core::Result;
using core::SecretBuffer;
using core::Status;

constexpr std::string_view kMetadataFile = "vault.json";
constexpr std::string_view kSeedFile = "seed.json";
constexpr std::string_view kKeysDir = "keys";
constexpr int kFormatVersion = 1;
constexpr std::string_view kBackupFormat = "keybridge-backup";
constexpr unsigned kMaxGeneration = 99'999'999;  // gen-NNNNNNNN

// ---------------------------------------------------------------- paths and locking

std::string vault_dir(const std::string& datadir) {
    return datadir + "/vault";
}
std::string gen_path(const std::string& datadir, const std::string& gen) {
    return vault_dir(datadir) + "/" + gen;
}

std::string gen_name(unsigned number) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "gen-%08u", number);
    return buffer;
}

std::optional<unsigned> gen_number(std::string_view name) {
    if (name.size() != 12 || name.substr(0, 4) != "gen-") return std::nullopt;
    unsigned value = 0;
    for (char c : name.substr(4)) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value;
}

// flock() on vault/LOCK: exclusive for writers, shared for readers. Released on destruction.
class VaultLock {
  public:
    static Result<VaultLock> acquire(const std::string& datadir, bool exclusive) {
        const std::string path = vault_dir(datadir) + "/LOCK";
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            return fail(ErrorCode::IoError, "cannot open " + path + ": " + std::strerror(errno));
        }
        while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return fail(ErrorCode::IoError, "cannot lock " + path + ": " + std::strerror(err));
        }
        return VaultLock(fd);
    }
    VaultLock(VaultLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    VaultLock& operator=(VaultLock&&) = delete;
    VaultLock(const VaultLock&) = delete;
    ~VaultLock() {
        if (fd_ >= 0) ::close(fd_);  // closing releases the flock
    }

  private:
    explicit VaultLock(int fd) : fd_(fd) {}
    int fd_;
};

// ---------------------------------------------------------------- snapshot model

// One snapshot as files: name inside the generation folder → content. Files whose content is
// empty here are carried over from the previous snapshot by hard link.
struct Snapshot {
    KdfStrength strength = KdfStrength::Standard;
    std::vector<Account> accounts;
    std::map<std::string, std::string> new_files;  // written fresh
    std::vector<std::string> carried_files;        // linked from the previous snapshot
};

const char* strength_name(KdfStrength s) {
    return s == KdfStrength::Light ? "light" : "standard";
}

core::ScryptParams scrypt_for(KdfStrength s) {
    return s == KdfStrength::Light ? core::kScryptLight : core::kScryptStandard;
}

std::string metadata_json(const Snapshot& snap) {
    json::array accounts;
    for (const Account& a : snap.accounts) {
        json::object o;
        o["address"] = a.address.to_checksum_string();
        o["name"] = a.name;
        if (a.source == AccountSource::Seed) {
            o["source"] = "seed";
            o["path"] = a.path;
        } else if (a.source == AccountSource::Hardware) {
            o["source"] = "hardware";
            o["device"] = a.device;
            o["path"] = a.path;
        } else {
            o["source"] = "imported";
            o["file"] = a.file;
        }
        accounts.push_back(std::move(o));
    }
    json::object root;
    root["format"] = "keybridge-vault";
    root["version"] = kFormatVersion;
    root["kdf"] = strength_name(snap.strength);
    root["seed"] = std::string(kSeedFile);
    root["accounts"] = std::move(accounts);
    return json::serialize(root) + "\n";
}

Result<std::string> get_string(const json::object& o, std::string_view key,
                               const std::string& where) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) {
        return fail(ErrorCode::InvalidFormat,
                    where + ": field '" + std::string(key) + "' is missing or not a string");
    }
    return std::string(it->value().as_string());
}

Result<Snapshot> parse_metadata(std::string_view text, const std::string& path) {
    json::error_code ec;
    json::value root = json::parse(text, ec);
    if (ec || !root.is_object()) {
        return fail(ErrorCode::InvalidFormat, path + " is not valid JSON");
    }
    const json::object& o = root.as_object();
    auto format = get_string(o, "format", path);
    if (!format || *format != "keybridge-vault") {
        return fail(ErrorCode::InvalidFormat, path + " is not a keybridge vault file");
    }
    const json::value* version = o.if_contains("version");
    if (!version || !version->is_int64() || version->as_int64() != kFormatVersion) {
        return fail(ErrorCode::NotSupported, path + " has an unsupported format version");
    }
    Snapshot snap;
    auto kdf = get_string(o, "kdf", path);
    if (!kdf) return fail(kdf.error());
    if (*kdf == "light") {
        snap.strength = KdfStrength::Light;
    } else if (*kdf != "standard") {
        return fail(ErrorCode::InvalidFormat, path + ": unknown kdf strength '" + *kdf + "'");
    }
    const json::value* accounts = o.if_contains("accounts");
    if (!accounts || !accounts->is_array()) {
        return fail(ErrorCode::InvalidFormat, path + ": 'accounts' is missing or not an array");
    }
    std::size_t index = 0;
    for (const json::value& v : accounts->as_array()) {
        const std::string where = path + " accounts[" + std::to_string(index++) + "]";
        if (!v.is_object()) return fail(ErrorCode::InvalidFormat, where + " is not an object");
        const json::object& a = v.as_object();
        Account account;
        auto address = get_string(a, "address", where);
        if (!address) return fail(address.error());
        auto parsed = core::Address::parse(*address);
        if (!parsed) return fail(ErrorCode::InvalidFormat, where + ": " + parsed.error().detail);
        account.address = *parsed;
        auto name = get_string(a, "name", where);
        if (!name) return fail(name.error());
        account.name = *name;
        auto source = get_string(a, "source", where);
        if (!source) return fail(source.error());
        if (*source == "seed") {
            auto p = get_string(a, "path", where);
            if (!p) return fail(p.error());
            if (!core::bip32::parse_path(*p)) {
                return fail(ErrorCode::InvalidFormat, where + ": invalid derivation path");
            }
            account.path = *p;
        } else if (*source == "imported") {
            auto f = get_string(a, "file", where);
            if (!f) return fail(f.error());
            // Only our own naming scheme: no way to point outside the snapshot.
            if (f->rfind("keys/", 0) != 0 || f->find("..") != std::string::npos ||
                f->find('/', 5) != std::string::npos) {
                return fail(ErrorCode::InvalidFormat, where + ": invalid keystore file name");
            }
            account.source = AccountSource::Imported;
            account.file = *f;
        } else if (*source == "hardware") {
            auto device = get_string(a, "device", where);
            if (!device) return fail(device.error());
            if (auto ok = validate_device_identity(*device); !ok) {
                return fail(ErrorCode::InvalidFormat, where + ": " + ok.error().detail);
            }
            auto p = get_string(a, "path", where);
            if (!p) return fail(p.error());
            if (!core::bip32::parse_path(*p)) {
                return fail(ErrorCode::InvalidFormat, where + ": invalid derivation path");
            }
            account.source = AccountSource::Hardware;
            account.device = *device;
            account.path = *p;
        } else {
            return fail(ErrorCode::InvalidFormat, where + ": unknown source '" + *source + "'");
        }
        snap.accounts.push_back(std::move(account));
    }
    return snap;
}

// The seed secret is the normalised phrase, a NUL byte, then the BIP39 passphrase.
Result<SecretBuffer> pack_phrase(std::string_view mnemonic, std::string_view passphrase) {
    if (passphrase.find('\0') != std::string_view::npos) {
        return fail(ErrorCode::InvalidFormat, "the BIP39 passphrase must not contain NUL");
    }
    SecretBuffer packed(mnemonic.size() + 1 + passphrase.size());
    std::memcpy(packed.data(), mnemonic.data(), mnemonic.size());
    packed.data()[mnemonic.size()] = 0;
    if (!passphrase.empty()) {
        std::memcpy(packed.data() + mnemonic.size() + 1, passphrase.data(), passphrase.size());
    }
    return packed;
}

Result<Vault::Phrase> unpack_phrase(const SecretBuffer& packed) {
    const std::string_view text = packed.text();
    const std::size_t nul = text.find('\0');
    if (nul == std::string_view::npos) {
        return fail(ErrorCode::InvalidFormat, "seed.json holds a damaged recovery phrase");
    }
    Vault::Phrase phrase{SecretBuffer::copy_of(text.substr(0, nul)),
                         SecretBuffer::copy_of(text.substr(nul + 1))};
    return phrase;
}

std::string seed_file_json(const std::string& crypto_object) {
    return "{\"kind\":\"bip39-phrase\",\"version\":1,\"crypto\":" + crypto_object + "}\n";
}

Result<std::string> crypto_object_of(std::string_view file_text, const std::string& path) {
    json::error_code ec;
    json::value root = json::parse(file_text, ec);
    if (ec || !root.is_object() || !root.as_object().contains("crypto")) {
        return fail(ErrorCode::InvalidFormat, path + " is damaged (not a keybridge secret file)");
    }
    return json::serialize(root.as_object().at("crypto"));
}

std::string address_file_name(const core::Address& address) {
    return std::string(kKeysDir) + "/" + address.to_lower_string().substr(2) + ".json";
}

std::string default_name(const std::vector<Account>& accounts, std::string_view prefix) {
    for (std::size_t n = accounts.size() + 1;; ++n) {
        std::string candidate = std::string(prefix) + " " + std::to_string(n);
        bool taken = std::any_of(accounts.begin(), accounts.end(),
                                 [&](const Account& a) { return a.name == candidate; });
        if (!taken) return candidate;
    }
}

// ---------------------------------------------------------------- reading and writing snapshots

Result<std::string> read_current(const std::string& datadir) {
    auto text = read_file(vault_dir(datadir) + "/CURRENT", 256);
    if (!text) return fail(text.error());
    std::string name = *text;
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r'))
        name.pop_back();
    if (!gen_number(name)) {
        return fail(ErrorCode::InvalidFormat, vault_dir(datadir) + "/CURRENT is damaged");
    }
    return name;
}

Result<std::string> read_snapshot_file(const std::string& datadir, const std::string& gen,
                                       std::string_view name) {
    return read_file(gen_path(datadir, gen) + "/" + std::string(name));
}

// Removes every generation folder other than `keep` (leftovers of crashes and old snapshots).
void collect_garbage(const std::string& datadir, const std::string& keep) {
    const std::string dir = vault_dir(datadir);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> stale;
    while (dirent* entry = ::readdir(d)) {
        std::string name = entry->d_name;
        if (name != keep && (gen_number(name) || name.rfind("CURRENT.tmp-", 0) == 0)) {
            stale.push_back(name);
        }
    }
    ::closedir(d);
    for (const auto& name : stale)
        (void)remove_tree(dir + "/" + name);
    (void)fsync_dir(dir);
}

// Writes `snap` as the generation after `previous` (empty for a new vault) and makes it live.
Result<std::string> commit(const std::string& datadir, const std::string& previous,
                           const Snapshot& snap) {
    const std::string dir = vault_dir(datadir);
    unsigned next = previous.empty() ? 1 : *gen_number(previous) + 1;
    // Names have eight digits: gen-100000000 would not read back as a generation and the vault
    // would be unreadable. Wrap instead; only the live snapshot matters, the rest is garbage.
    if (next > kMaxGeneration) next = 1;
    const std::string gen = gen_name(next);
    const std::string path = gen_path(datadir, gen);
    KEYBRIDGE_TRY_STATUS(remove_tree(path));  // a crashed earlier attempt may have left it
    KEYBRIDGE_TRY_STATUS(ensure_private_dir(path));
    KEYBRIDGE_TRY_STATUS(ensure_private_dir(path + "/" + std::string(kKeysDir)));

    for (const auto& name : snap.carried_files) {
        KEYBRIDGE_TRY_STATUS(
            hard_link(gen_path(datadir, previous) + "/" + name, path + "/" + name));
    }
    for (const auto& [name, content] : snap.new_files) {
        KEYBRIDGE_TRY_STATUS(write_file_atomic(path + "/" + name, content));
    }
    KEYBRIDGE_TRY_STATUS(
        write_file_atomic(path + "/" + std::string(kMetadataFile), metadata_json(snap)));
    KEYBRIDGE_TRY_STATUS(fsync_dir(path + "/" + std::string(kKeysDir)));
    KEYBRIDGE_TRY_STATUS(fsync_dir(path));
    KEYBRIDGE_TRY_STATUS(fsync_dir(dir));
    // The switch: before this rename the old snapshot is live, after it the new one.
    KEYBRIDGE_TRY_STATUS(write_file_atomic(dir + "/CURRENT", gen + "\n"));
    collect_garbage(datadir, gen);
    return gen;
}

Result<SecretBuffer> decrypt_file_secret(const std::string& datadir, const std::string& gen,
                                         std::string_view name, const SecretBuffer& password) {
    auto text = read_snapshot_file(datadir, gen, name);
    if (!text) return fail(text.error());
    auto crypto = crypto_object_of(*text, std::string(name));
    if (!crypto) return fail(crypto.error());
    auto secret = core::decrypt_secret(*crypto, password.view());
    if (!secret) {
        auto e = secret.error();
        if (e.code == ErrorCode::WrongPassword)
            return fail(ErrorCode::WrongPassword, "wrong password");
        return fail(e.code, std::string(name) + ": " + e.detail);
    }
    return secret;
}

// The BIP39 seed of the vault's phrase.
Result<SecretBuffer> unlock_seed(const std::string& datadir, const std::string& gen,
                                 const SecretBuffer& password) {
    auto packed = decrypt_file_secret(datadir, gen, kSeedFile, password);
    if (!packed) return fail(packed.error());
    auto phrase = unpack_phrase(*packed);
    if (!phrase) return fail(phrase.error());
    return core::bip39::seed_from_mnemonic(phrase->mnemonic.text(), phrase->passphrase.text());
}

Result<core::PrivateKey> key_at_path(const SecretBuffer& seed, const std::string& path) {
    return core::bip32::ethereum_private_key(seed.view(), path);
}

Result<core::PrivateKey> key_of_imported(const std::string& datadir, const std::string& gen,
                                         const Account& account, const SecretBuffer& password) {
    auto text = read_snapshot_file(datadir, gen, account.file);
    if (!text) return fail(text.error());
    auto decrypted = core::decrypt_keystore(*text, password.view());
    if (!decrypted) {
        auto e = decrypted.error();
        if (e.code == ErrorCode::WrongPassword)
            return fail(ErrorCode::WrongPassword, "wrong password");
        return fail(e.code, account.file + ": " + e.detail);
    }
    auto key = core::PrivateKey::from_bytes(decrypted->private_key.view());
    if (!key) return fail(ErrorCode::InvalidFormat, account.file + ": " + key.error().detail);
    if (core::PublicKey::from_private(*key).address() != account.address) {
        return fail(ErrorCode::InvalidFormat, account.file + " does not hold the key of " +
                                                  account.address.to_checksum_string());
    }
    return key;
}

Snapshot carry_everything(const Vault& vault) {
    Snapshot snap;
    snap.strength = vault.strength();
    snap.accounts = vault.accounts();
    snap.carried_files.push_back(std::string(kSeedFile));
    for (const Account& a : vault.accounts()) {
        if (a.source == AccountSource::Imported) snap.carried_files.push_back(a.file);
    }
    return snap;
}

Result<std::vector<std::string>> expand_template(std::string_view tmpl) {
    const std::size_t at = tmpl.find("{i}");
    if (at == std::string_view::npos || tmpl.find("{i}", at + 1) != std::string_view::npos) {
        return fail(ErrorCode::InvalidArgument,
                    "path template must contain '{i}' exactly once, e.g. m/44'/60'/0'/0/{i}");
    }
    // Validate the shape with a sample index.
    std::string sample = std::string(tmpl.substr(0, at)) + "0" + std::string(tmpl.substr(at + 3));
    auto parsed = core::bip32::parse_path(sample);
    if (!parsed) return fail(ErrorCode::InvalidArgument, "path template: " + parsed.error().detail);
    return std::vector<std::string>{std::string(tmpl.substr(0, at)),
                                    std::string(tmpl.substr(at + 3))};
}

// Decodes the UTF-8 sequence at text[i] and advances i past it; -1 (i unchanged) when the
// sequence is ill-formed: the ranges of Unicode's table 3-7 exclude overlong forms, surrogates
// and code points above U+10FFFF.
long next_code_point(std::string_view text, std::size_t& i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    std::size_t length = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    long c = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        length = 2;
        c = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        length = 3;
        c = b0 & 0x0f;
        if (b0 == 0xe0) lo = 0xa0;
        if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        length = 4;
        c = b0 & 0x07;
        if (b0 == 0xf0) lo = 0x90;
        if (b0 == 0xf4) hi = 0x8f;
    } else {
        return -1;
    }
    if (text.size() - i < length) return -1;
    for (std::size_t k = 1; k < length; ++k) {
        const unsigned char b = byte(i + k);
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return -1;
        c = (c << 6) | (b & 0x3f);
    }
    i += length;
    return c;
}

}  // namespace

Status validate_account_name(std::string_view name) {
    if (name.empty() || name.size() > 64) {
        return fail(ErrorCode::InvalidArgument, "account name must be 1 to 64 bytes long");
    }
    // The name goes into vault.json verbatim, and the JSON parser rejects ill-formed UTF-8 when
    // the file is read back: one bad byte here would make the whole vault unreadable.
    for (std::size_t i = 0; i < name.size();) {
        const std::size_t at = i;
        const long c = next_code_point(name, i);
        if (c < 0) {
            return fail(ErrorCode::InvalidArgument,
                        "account name is not valid UTF-8 (bad sequence at byte " +
                            std::to_string(at) + ")");
        }
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {  // C0, DEL and C1 controls
            return fail(ErrorCode::InvalidArgument,
                        "account name must not contain control characters");
        }
    }
    return {};
}

std::string Vault::default_datadir() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
        return std::string(xdg) + "/keybridge";
    }
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : ".") + "/.local/share/keybridge";
}

bool Vault::exists(const std::string& datadir) {
    return path_exists(vault_dir(datadir) + "/CURRENT");
}

Result<Vault> Vault::open(const std::string& datadir) {
    if (!exists(datadir)) {
        return fail(ErrorCode::NotFound,
                    "no vault in " + datadir +
                        " (create one with 'keybridge init' or 'keybridge restore')");
    }
    auto lock = VaultLock::acquire(datadir, /*exclusive=*/false);
    if (!lock) return fail(lock.error());
    return load(datadir);
}

// Reads the live snapshot's metadata; the caller holds the lock (flock is per open file, so
// taking it again here would deadlock against our own exclusive lock).
Result<Vault> Vault::load(const std::string& datadir) {
    auto gen = read_current(datadir);
    if (!gen) return fail(gen.error());
    if (!path_exists(gen_path(datadir, *gen))) {
        // Say what is wrong rather than "cannot open .../vault.json".
        return fail(ErrorCode::InvalidFormat, vault_dir(datadir) +
                                                  "/CURRENT is damaged: it names " + *gen +
                                                  ", which does not exist");
    }
    const std::string meta_path = gen_path(datadir, *gen) + "/" + std::string(kMetadataFile);
    auto text = read_file(meta_path);
    if (!text) return fail(text.error());
    auto snap = parse_metadata(*text, meta_path);
    if (!snap) return fail(snap.error());
    Vault vault;
    vault.datadir_ = datadir;
    vault.generation_ = *gen;
    vault.strength_ = snap->strength;
    vault.accounts_ = std::move(snap->accounts);
    return vault;
}

Result<Vault> Vault::create(const std::string& datadir, std::string_view mnemonic,
                            std::string_view bip39_passphrase, const SecretBuffer& password,
                            KdfStrength strength) {
    // Check the phrase before touching the disk: a typo must not leave folders behind.
    auto canonical = core::bip39::canonical_mnemonic(mnemonic);
    if (!canonical) return fail(canonical.error());
    auto packed = pack_phrase(canonical->text(), bip39_passphrase);
    if (!packed) return fail(packed.error());

    KEYBRIDGE_TRY_STATUS(ensure_private_dir(datadir));
    KEYBRIDGE_TRY_STATUS(ensure_private_dir(vault_dir(datadir)));
    auto lock = VaultLock::acquire(datadir, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    if (exists(datadir)) {
        return fail(ErrorCode::AlreadyExists, "a vault already exists in " + datadir);
    }
    auto crypto = core::encrypt_secret(packed->view(), password.view(), scrypt_for(strength));
    if (!crypto) return fail(crypto.error());

    Snapshot snap;
    snap.strength = strength;
    snap.new_files[std::string(kSeedFile)] = seed_file_json(*crypto);
    auto gen = commit(datadir, "", snap);
    if (!gen) return fail(gen.error());
    return load(datadir);
}

const Account* Vault::find(const core::Address& address) const {
    for (const Account& a : accounts_) {
        if (a.address == address) return &a;
    }
    return nullptr;
}

Status Vault::check_password_locked(const SecretBuffer& password) const {
    auto packed = decrypt_file_secret(datadir_, generation_, kSeedFile, password);
    if (!packed) return fail(packed.error());
    return {};
}

Result<std::vector<Account>> Vault::derive(const SecretBuffer& password, std::size_t count,
                                           std::string_view path_template) {
    if (count == 0 || count > kMaxDeriveCount) {
        return fail(ErrorCode::InvalidArgument,
                    "count must be between 1 and " + std::to_string(kMaxDeriveCount));
    }
    auto parts = expand_template(path_template);
    if (!parts) return fail(parts.error());
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    auto fresh = load(datadir_);  // another process may have written since we looked
    if (!fresh) return fail(fresh.error());
    *this = std::move(*fresh);

    auto seed = unlock_seed(datadir_, generation_, password);
    if (!seed) return fail(seed.error());
    Snapshot snap = carry_everything(*this);
    std::vector<Account> added;
    for (std::uint32_t index = 0; added.size() < count; ++index) {
        if (index >= 0x80000000u) {
            return fail(ErrorCode::OutOfRange, "no unused index left for this path template");
        }
        std::string path = (*parts)[0] + std::to_string(index) + (*parts)[1];
        bool used = std::any_of(snap.accounts.begin(), snap.accounts.end(),
                                [&](const Account& a) { return a.path == path; });
        if (used) continue;
        auto key = key_at_path(*seed, path);
        if (!key) return fail(key.error());
        Account account;
        account.address = core::PublicKey::from_private(*key).address();
        if (find(account.address) != nullptr) continue;  // e.g. the same key imported earlier
        account.source = AccountSource::Seed;
        account.path = path;
        account.name = default_name(snap.accounts, "Account");
        snap.accounts.push_back(account);
        added.push_back(std::move(account));
    }
    auto gen = commit(datadir_, generation_, snap);
    if (!gen) return fail(gen.error());
    generation_ = *gen;
    accounts_ = snap.accounts;
    return added;
}

core::Status Vault::scan_seed_addresses(
    const SecretBuffer& password, std::string_view path_template,
    const std::function<Result<bool>(std::uint32_t, const core::Address&)>& visit) const {
    auto parts = expand_template(path_template);
    if (!parts) return fail(parts.error());
    Result<SecretBuffer> seed = fail(ErrorCode::Internal, "unreachable");
    {
        // Only the seed is read under the lock: visit may take long (a node on the network).
        auto lock = VaultLock::acquire(datadir_, /*exclusive=*/false);
        if (!lock) return fail(lock.error());
        auto live = live_view();
        if (!live) return fail(live.error());
        seed = unlock_seed(datadir_, live->generation_, password);
        if (!seed) return fail(seed.error());
    }
    for (std::uint32_t index = 0;; ++index) {
        if (index >= 0x80000000u) {
            return fail(ErrorCode::OutOfRange, "no index left for this path template");
        }
        auto key = key_at_path(*seed, (*parts)[0] + std::to_string(index) + (*parts)[1]);
        if (!key) return fail(key.error());
        auto more = visit(index, core::PublicKey::from_private(*key).address());
        if (!more) return fail(more.error());
        if (!*more) return {};
    }
}

Result<std::vector<Account>> Vault::derive_indices(const SecretBuffer& password,
                                                   const std::vector<std::uint32_t>& indices,
                                                   std::string_view path_template) {
    auto parts = expand_template(path_template);
    if (!parts) return fail(parts.error());
    for (std::uint32_t index : indices) {
        if (index >= 0x80000000u) return fail(ErrorCode::OutOfRange, "index out of range");
    }
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    auto fresh = load(datadir_);  // another process may have written since we looked
    if (!fresh) return fail(fresh.error());
    *this = std::move(*fresh);

    auto seed = unlock_seed(datadir_, generation_, password);
    if (!seed) return fail(seed.error());
    Snapshot snap = carry_everything(*this);
    std::vector<Account> added;
    for (std::uint32_t index : indices) {
        std::string path = (*parts)[0] + std::to_string(index) + (*parts)[1];
        if (std::any_of(snap.accounts.begin(), snap.accounts.end(),
                        [&](const Account& a) { return a.path == path; }))
            continue;
        auto key = key_at_path(*seed, path);
        if (!key) return fail(key.error());
        Account account;
        account.address = core::PublicKey::from_private(*key).address();
        if (std::any_of(snap.accounts.begin(), snap.accounts.end(),
                        [&](const Account& a) { return a.address == account.address; }))
            continue;
        account.source = AccountSource::Seed;
        account.path = path;
        account.name = default_name(snap.accounts, "Account");
        snap.accounts.push_back(account);
        added.push_back(std::move(account));
    }
    if (added.empty()) return added;
    auto gen = commit(datadir_, generation_, snap);
    if (!gen) return fail(gen.error());
    generation_ = *gen;
    accounts_ = snap.accounts;
    return added;
}

Result<Account> Vault::import_private_key(const SecretBuffer& key, const SecretBuffer& password,
                                          std::string name) {
    auto parsed = core::PrivateKey::from_bytes(key.view());
    if (!parsed) return fail(ErrorCode::OutOfRange, parsed.error().detail);
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    auto fresh = load(datadir_);
    if (!fresh) return fail(fresh.error());
    *this = std::move(*fresh);
    KEYBRIDGE_TRY_STATUS(check_password_locked(password));

    Account account;
    account.address = core::PublicKey::from_private(*parsed).address();
    if (find(account.address) != nullptr) {
        return fail(ErrorCode::AlreadyExists,
                    account.address.to_checksum_string() + " is already in the vault");
    }
    if (name.empty()) name = default_name(accounts_, "Imported");
    KEYBRIDGE_TRY_STATUS(validate_account_name(name));
    account.name = std::move(name);
    account.source = AccountSource::Imported;
    account.file = address_file_name(account.address);
    auto keystore = core::encrypt_keystore(parsed->view(), password.view(), scrypt_for(strength_));
    if (!keystore) return fail(keystore.error());

    Snapshot snap = carry_everything(*this);
    snap.accounts.push_back(account);
    snap.new_files[account.file] = *keystore + "\n";
    auto gen = commit(datadir_, generation_, snap);
    if (!gen) return fail(gen.error());
    generation_ = *gen;
    accounts_ = snap.accounts;
    return account;
}

Status validate_device_identity(std::string_view device) {
    const auto colon = device.find(':');
    const std::string_view family = device.substr(0, colon);
    if (colon == std::string_view::npos || (family != "ledger" && family != "trezor")) {
        return fail(ErrorCode::InvalidArgument,
                    "device identity must start with 'ledger:' or 'trezor:'");
    }
    const std::string_view id = device.substr(colon + 1);
    const bool id_ok =
        !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                   c == '-';
        });
    if (!id_ok) {
        return fail(ErrorCode::InvalidArgument,
                    "device id must be 1..64 characters of letters, digits, '.', '_' or '-'");
    }
    return {};
}

Result<Account> Vault::add_hardware_account(core::Address address, std::string device,
                                            std::string path, std::string name) {
    KEYBRIDGE_TRY_STATUS(validate_device_identity(device));
    if (!core::bip32::parse_path(path)) {
        return fail(ErrorCode::InvalidArgument, "invalid derivation path '" + path + "'");
    }
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    auto fresh = load(datadir_);
    if (!fresh) return fail(fresh.error());
    *this = std::move(*fresh);
    if (find(address) != nullptr) {
        return fail(ErrorCode::AlreadyExists,
                    address.to_checksum_string() + " is already in the vault");
    }
    const bool ledger = device.rfind("ledger:", 0) == 0;
    if (name.empty()) name = default_name(accounts_, ledger ? "Ledger" : "Trezor");
    KEYBRIDGE_TRY_STATUS(validate_account_name(name));
    Account account;
    account.address = address;
    account.name = std::move(name);
    account.source = AccountSource::Hardware;
    account.device = std::move(device);
    account.path = std::move(path);

    Snapshot snap = carry_everything(*this);
    snap.accounts.push_back(account);
    auto gen = commit(datadir_, generation_, snap);
    if (!gen) return fail(gen.error());
    generation_ = *gen;
    accounts_ = snap.accounts;
    return account;
}

Result<Account> Vault::import_keystore(std::string_view keystore_json,
                                       const SecretBuffer& keystore_password,
                                       const SecretBuffer& password, std::string name) {
    auto decrypted = core::decrypt_keystore(keystore_json, keystore_password.view());
    if (!decrypted) {
        auto e = decrypted.error();
        if (e.code == ErrorCode::WrongPassword) {
            return fail(ErrorCode::WrongPassword, "wrong password for the keystore file");
        }
        return fail(e);
    }
    return import_private_key(decrypted->private_key, password, std::move(name));
}

Result<std::string> Vault::export_keystore_locked(const core::Address& address,
                                                  const SecretBuffer& password,
                                                  const SecretBuffer& export_password,
                                                  KdfStrength strength) const {
    const Account* account = find(address);
    if (account == nullptr) {
        return fail(ErrorCode::NotFound, address.to_checksum_string() + " is not in the vault");
    }
    Result<core::PrivateKey> key = fail(ErrorCode::Internal, "unreachable");
    if (account->source == AccountSource::Hardware) {
        return fail(ErrorCode::NotSupported, address.to_checksum_string() +
                                                 " is a hardware wallet account: its key never "
                                                 "leaves the device");
    }
    if (account->source == AccountSource::Seed) {
        auto seed = unlock_seed(datadir_, generation_, password);
        if (!seed) return fail(seed.error());
        key = key_at_path(*seed, account->path);
    } else {
        key = key_of_imported(datadir_, generation_, *account, password);
    }
    if (!key) return fail(key.error());
    return core::encrypt_keystore(key->view(), export_password.view(), scrypt_for(strength));
}

Status Vault::rename(core::Address address, std::string name) {
    KEYBRIDGE_TRY_STATUS(validate_account_name(name));
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    auto fresh = load(datadir_);
    if (!fresh) return fail(fresh.error());
    *this = std::move(*fresh);
    if (find(address) == nullptr) {
        return fail(ErrorCode::NotFound, address.to_checksum_string() + " is not in the vault");
    }
    Snapshot snap = carry_everything(*this);
    for (Account& a : snap.accounts) {
        if (a.address == address) a.name = name;
    }
    auto gen = commit(datadir_, generation_, snap);
    if (!gen) return fail(gen.error());
    generation_ = *gen;
    accounts_ = snap.accounts;
    return {};
}

Status Vault::remove(core::Address address) {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    auto fresh = load(datadir_);
    if (!fresh) return fail(fresh.error());
    *this = std::move(*fresh);
    if (find(address) == nullptr) {
        return fail(ErrorCode::NotFound, address.to_checksum_string() + " is not in the vault");
    }
    Snapshot snap;
    snap.strength = strength_;
    snap.carried_files.push_back(std::string(kSeedFile));
    for (const Account& a : accounts_) {
        if (a.address == address) continue;
        snap.accounts.push_back(a);
        if (a.source == AccountSource::Imported) snap.carried_files.push_back(a.file);
    }
    auto gen = commit(datadir_, generation_, snap);
    if (!gen) return fail(gen.error());
    generation_ = *gen;
    accounts_ = snap.accounts;
    return {};
}

Status Vault::change_password(const SecretBuffer& old_password, const SecretBuffer& new_password) {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    auto fresh = load(datadir_);
    if (!fresh) return fail(fresh.error());
    *this = std::move(*fresh);

    auto packed = decrypt_file_secret(datadir_, generation_, kSeedFile, old_password);
    if (!packed) return fail(packed.error());
    Snapshot snap;
    snap.strength = strength_;
    snap.accounts = accounts_;
    auto seed_crypto =
        core::encrypt_secret(packed->view(), new_password.view(), scrypt_for(strength_));
    if (!seed_crypto) return fail(seed_crypto.error());
    snap.new_files[std::string(kSeedFile)] = seed_file_json(*seed_crypto);
    for (const Account& a : accounts_) {
        if (a.source != AccountSource::Imported) continue;
        auto key = key_of_imported(datadir_, generation_, a, old_password);
        if (!key) return fail(key.error());
        auto keystore =
            core::encrypt_keystore(key->view(), new_password.view(), scrypt_for(strength_));
        if (!keystore) return fail(keystore.error());
        snap.new_files[a.file] = *keystore + "\n";
    }
    auto gen = commit(datadir_, generation_, snap);
    if (!gen) return fail(gen.error());
    generation_ = *gen;
    return {};
}

Result<std::string> Vault::backup_locked(const SecretBuffer& password) const {
    KEYBRIDGE_TRY_STATUS(check_password_locked(password));
    json::object files;
    std::vector<std::string> names{std::string(kMetadataFile), std::string(kSeedFile)};
    for (const Account& a : accounts_) {
        if (a.source == AccountSource::Imported) names.push_back(a.file);
    }
    for (const auto& name : names) {
        auto text = read_snapshot_file(datadir_, generation_, name);
        if (!text) return fail(text.error());
        files[name] = *text;
    }
    json::object payload;
    payload["files"] = std::move(files);
    const std::string plain = json::serialize(payload);
    auto crypto =
        core::encrypt_secret(core::as_bytes(plain), password.view(), scrypt_for(strength_));
    if (!crypto) return fail(crypto.error());
    return "{\"format\":\"" + std::string(kBackupFormat) +
           "\",\"version\":1,\"crypto\":" + *crypto + "}\n";
}

Result<Vault> Vault::restore_backup(const std::string& datadir, std::string_view backup_text,
                                    const SecretBuffer& password, bool replace_existing) {
    // 1. Open the outer layer.
    json::error_code ec;
    json::value outer = json::parse(backup_text, ec);
    if (ec || !outer.is_object())
        return fail(ErrorCode::InvalidFormat, "the backup file is not JSON");
    const json::object& o = outer.as_object();
    const json::value* format = o.if_contains("format");
    if (!format || !format->is_string() || format->as_string() != kBackupFormat ||
        !o.contains("crypto")) {
        return fail(ErrorCode::InvalidFormat, "not a keybridge backup file");
    }
    auto plain = core::decrypt_secret(json::serialize(o.at("crypto")), password.view());
    if (!plain) {
        if (plain.error().code == ErrorCode::WrongPassword) {
            return fail(ErrorCode::WrongPassword,
                        "wrong password or damaged backup (MAC mismatch)");
        }
        return fail(plain.error().code, "backup: " + plain.error().detail);
    }
    json::value payload = json::parse(plain->text(), ec);
    if (ec || !payload.is_object() || !payload.as_object().contains("files") ||
        !payload.as_object().at("files").is_object()) {
        return fail(ErrorCode::InvalidFormat, "the backup's contents are damaged");
    }
    const json::object& files = payload.as_object().at("files").as_object();
    auto file_text = [&](const std::string& name) -> Result<std::string> {
        const json::value* v = files.if_contains(name);
        if (!v || !v->is_string()) {
            return fail(ErrorCode::InvalidFormat, "the backup lacks " + name);
        }
        return std::string(v->as_string());
    };

    // 2. Verify everything before touching the disk.
    auto meta = file_text(std::string(kMetadataFile));
    if (!meta) return fail(meta.error());
    auto snap = parse_metadata(*meta, "backup " + std::string(kMetadataFile));
    if (!snap) return fail(snap.error());
    auto seed_text = file_text(std::string(kSeedFile));
    if (!seed_text) return fail(seed_text.error());
    auto seed_crypto = crypto_object_of(*seed_text, "backup seed.json");
    if (!seed_crypto) return fail(seed_crypto.error());
    auto packed = core::decrypt_secret(*seed_crypto, password.view());
    if (!packed) return fail(packed.error().code, "backup seed.json: " + packed.error().detail);
    auto phrase = unpack_phrase(*packed);
    if (!phrase) return fail(phrase.error());
    auto seed = core::bip39::seed_from_mnemonic(phrase->mnemonic.text(), phrase->passphrase.text());
    if (!seed) return fail(seed.error());

    Snapshot restored;
    restored.strength = snap->strength;
    restored.accounts = snap->accounts;
    restored.new_files[std::string(kSeedFile)] = *seed_text;
    for (const Account& a : snap->accounts) {
        core::Address actual;
        if (a.source == AccountSource::Hardware) continue;  // nothing secret to check
        if (a.source == AccountSource::Seed) {
            auto key = key_at_path(*seed, a.path);
            if (!key) return fail(key.error());
            actual = core::PublicKey::from_private(*key).address();
        } else {
            auto text = file_text(a.file);
            if (!text) return fail(text.error());
            auto key = core::decrypt_keystore(*text, password.view());
            if (!key) return fail(key.error().code, "backup " + a.file + ": " + key.error().detail);
            auto pk = core::PrivateKey::from_bytes(key->private_key.view());
            if (!pk) return fail(ErrorCode::InvalidFormat, "backup " + a.file + ": invalid key");
            actual = core::PublicKey::from_private(*pk).address();
            restored.new_files[a.file] = *text;
        }
        if (actual != a.address) {
            return fail(
                ErrorCode::InvalidFormat,
                "backup: account " + a.address.to_checksum_string() + " does not match its key");
        }
    }

    // 3. Install as a new snapshot.
    KEYBRIDGE_TRY_STATUS(ensure_private_dir(datadir));
    KEYBRIDGE_TRY_STATUS(ensure_private_dir(vault_dir(datadir)));
    auto lock = VaultLock::acquire(datadir, /*exclusive=*/true);
    if (!lock) return fail(lock.error());
    std::string previous;
    if (exists(datadir)) {
        if (!replace_existing) {
            return fail(ErrorCode::AlreadyExists,
                        "a vault already exists in " + datadir + "; pass --yes to replace it");
        }
        auto current = read_current(datadir);
        if (!current) return fail(current.error());
        previous = *current;
    }
    auto gen = commit(datadir, previous, restored);
    if (!gen) return fail(gen.error());
    return load(datadir);
}

Result<std::vector<UnlockedAccount>> Vault::unlock_locked(const SecretBuffer& password,
                                                          SecretBuffer* seed_out) const {
    auto seed = unlock_seed(datadir_, generation_, password);
    if (!seed) return fail(seed.error());
    std::vector<UnlockedAccount> out;
    out.reserve(accounts_.size());
    for (const Account& a : accounts_) {
        if (a.source == AccountSource::Hardware) continue;  // its key is on the device
        Result<core::PrivateKey> key = a.source == AccountSource::Seed
                                           ? key_at_path(*seed, a.path)
                                           : key_of_imported(datadir_, generation_, a, password);
        if (!key) return fail(key.error());
        if (core::PublicKey::from_private(*key).address() != a.address) {
            return fail(ErrorCode::InvalidFormat,
                        "vault.json: account " + a.address.to_checksum_string() +
                            " does not match the key derived at " + a.path);
        }
        out.push_back(UnlockedAccount{a.address, std::move(*key)});
    }
    if (seed_out != nullptr) *seed_out = std::move(*seed);
    return out;
}

Result<Vault::Phrase> Vault::reveal_phrase_locked(const SecretBuffer& password) const {
    auto packed = decrypt_file_secret(datadir_, generation_, kSeedFile, password);
    if (!packed) return fail(packed.error());
    return unpack_phrase(*packed);
}

// Read-only calls work on the live snapshot, under the shared lock: the snapshot this object
// was opened on may have been replaced (and deleted) by another process since.
Result<Vault> Vault::live_view() const {
    return load(datadir_);
}

Status Vault::check_password(const SecretBuffer& password) const {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/false);
    if (!lock) return fail(lock.error());
    auto live = live_view();
    if (!live) return fail(live.error());
    return live->check_password_locked(password);
}

Result<std::string> Vault::export_keystore(const core::Address& address,
                                           const SecretBuffer& password,
                                           const SecretBuffer& export_password,
                                           KdfStrength strength) const {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/false);
    if (!lock) return fail(lock.error());
    auto live = live_view();
    if (!live) return fail(live.error());
    return live->export_keystore_locked(address, password, export_password, strength);
}

Result<std::string> Vault::backup(const SecretBuffer& password) const {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/false);
    if (!lock) return fail(lock.error());
    auto live = live_view();
    if (!live) return fail(live.error());
    return live->backup_locked(password);
}

Result<std::vector<UnlockedAccount>> Vault::unlock(const SecretBuffer& password) const {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/false);
    if (!lock) return fail(lock.error());
    auto live = live_view();
    if (!live) return fail(live.error());
    return live->unlock_locked(password);
}

Result<Vault::Unlocked> Vault::unlock_with_seed(const SecretBuffer& password) const {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/false);
    if (!lock) return fail(lock.error());
    auto live = live_view();
    if (!live) return fail(live.error());
    Unlocked out;
    auto accounts = live->unlock_locked(password, &out.seed);
    if (!accounts) return fail(accounts.error());
    out.accounts = std::move(*accounts);
    return out;
}

Result<Vault::Phrase> Vault::reveal_phrase(const SecretBuffer& password) const {
    auto lock = VaultLock::acquire(datadir_, /*exclusive=*/false);
    if (!lock) return fail(lock.error());
    auto live = live_view();
    if (!live) return fail(live.error());
    return live->reveal_phrase_locked(password);
}

}  // namespace keybridge::vault
