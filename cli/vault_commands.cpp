// The vault commands: init, restore, account ..., backup, restore-backup, passwd.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <sstream>

#include "cli/command.h"
#include "cli/prompt.h"
#include "cli/terminal_text.h"
#include "core/bip39.h"
#include "core/hash.h"
#include "core/unicode.h"
#include "store/vault/secure_file.h"
#include "store/vault/vault.h"

namespace keybridge::cli {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;
using core::Result;
using core::SecretBuffer;
using vault::Account;
using vault::AccountSource;
using vault::KdfStrength;
using vault::Vault;

// ---------------------------------------------------------------- secrets from files or prompts

Result<SecretBuffer> secret_from(const Context& ctx, const std::string& file_option,
                                 const std::string& prompt) {
    if (auto file = ctx.args.value(file_option)) return read_secret_file(*file);
    return prompt_secret(prompt, file_option);
}

// A new password: from the file, or asked twice on the terminal.
Result<SecretBuffer> new_password_from(const Context& ctx, const std::string& file_option,
                                       const std::string& what) {
    SecretBuffer password;
    if (auto file = ctx.args.value(file_option)) {
        auto read = read_secret_file(*file);
        if (!read) return fail(read.error());
        password = std::move(*read);
    } else {
        auto first = prompt_secret("New " + what + ": ", file_option);
        if (!first) return fail(first.error());
        auto second = prompt_secret("Repeat the " + what + ": ", file_option);
        if (!second) return fail(second.error());
        if (!(*first == *second)) {
            return fail(ErrorCode::InvalidFormat, "the two " + what + "s differ");
        }
        password = std::move(*first);
    }
    if (password.empty()) return fail(ErrorCode::InvalidFormat, "the " + what + " is empty");
    return password;
}

Result<SecretBuffer> vault_password(const Context& ctx) {
    return secret_from(ctx, "password-file", "Vault password: ");
}

Result<bool> confirmed(const Context& ctx, const std::string& question) {
    if (ctx.yes) return true;
    return confirm(question);
}

// ---------------------------------------------------------------- output helpers

const char* source_name(AccountSource s) {
    switch (s) {
        case AccountSource::Seed:
            return "seed";
        case AccountSource::Imported:
            return "imported";
        case AccountSource::Hardware:
            return "hardware";
    }
    return "unknown";
}

json::object account_json(const Account& a) {
    json::object o;
    o["address"] = a.address.to_checksum_string();
    o["name"] = a.name;
    o["source"] = source_name(a.source);
    if (a.source != AccountSource::Imported) o["path"] = a.path;
    if (a.source == AccountSource::Hardware) o["device"] = a.device;
    return o;
}

// Names, devices and paths come from the vault, which a restored backup may have filled: also
// shown in confirmation prompts, so escaped here and not only when a report is printed.
std::string account_line(const Account& a) {
    return a.address.to_checksum_string() + "  " + terminal_safe(a.name) + "  (" +
           terminal_safe(a.source == AccountSource::Seed       ? a.path
                         : a.source == AccountSource::Hardware ? a.device + " " + a.path
                                                               : std::string("imported")) +
           ")";
}

Result<core::Address> address_arg(const Context& ctx) {
    auto text = ctx.args.value("address");
    if (!text && !ctx.args.positionals.empty()) text = ctx.args.positionals.front();
    if (!text) return fail(ErrorCode::InvalidArgument, "--address is required");
    auto address = core::Address::parse(*text);
    if (!address) return fail(ErrorCode::InvalidArgument, "--address: " + address.error().detail);
    return address;
}

Result<std::size_t> count_arg(const Context& ctx, std::size_t fallback) {
    auto text = ctx.args.value("count");
    if (!text) return fallback;
    std::size_t value = 0;
    for (char c : *text) {
        if (c < '0' || c > '9' || value > 100000) {
            return fail(ErrorCode::InvalidArgument, "--count must be a positive whole number");
        }
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (value == 0) return fail(ErrorCode::InvalidArgument, "--count must be at least 1");
    return value;
}

// Refuses to overwrite an existing file unless confirmed; then writes it atomically (0600).
core::Status write_output(const Context& ctx, const std::string& path, std::string_view content) {
    if (vault::path_exists(path)) {
        auto ok = confirmed(ctx, path + " exists. Overwrite it?");
        if (!ok) return fail(ok.error());
        if (!*ok) return fail(ErrorCode::UserCancelled, "not overwriting " + path);
    }
    return vault::write_file_atomic(path, content);
}

// ---------------------------------------------------------------- init and restore

Result<core::bip39::Language> language_arg(const Context& ctx) {
    const std::string lang = ctx.args.value("lang").value_or("en");
    if (lang == "en") return core::bip39::Language::English;
    if (lang == "ja") return core::bip39::Language::Japanese;
    return fail(ErrorCode::InvalidArgument, "--lang must be en or ja");
}

// Splits a normalised phrase into words (ASCII space or U+3000).
std::vector<std::string> split_words(std::string_view phrase) {
    std::vector<std::string> words;
    std::string current;
    for (std::size_t i = 0; i < phrase.size();) {
        if (phrase[i] == ' ') {
            if (!current.empty()) words.push_back(std::move(current));
            current.clear();
            ++i;
        } else if (phrase.substr(i, 3) == "\xE3\x80\x80") {
            if (!current.empty()) words.push_back(std::move(current));
            current.clear();
            i += 3;
        } else {
            current += phrase[i++];
        }
    }
    if (!current.empty()) words.push_back(std::move(current));
    return words;
}

// True when a typed quiz answer is the (NFKD) list word, after trimming blanks and normalising.
bool answer_matches(std::string_view answer, std::string_view word) {
    while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.front())))
        answer.remove_prefix(1);
    while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back())))
        answer.remove_suffix(1);
    auto normalised = core::normalize_nfkd(answer);
    return normalised && normalised->text() == word;
}

// Shows the phrase once on the terminal and asks for three of its words back.
core::Status show_and_quiz(const SecretBuffer& phrase) {
    auto words = split_words(phrase.text());
    std::string shown =
        "\nYour recovery phrase. Write it down on paper, in order, and keep it safe:\n\n";
    for (std::size_t i = 0; i < words.size(); ++i) {
        shown += "  " + std::to_string(i + 1) + ". " + words[i] + (i % 4 == 3 ? "\n" : "\t");
    }
    shown +=
        "\nAnyone with these words can take your funds. keybridge will not show them again.\n"
        "Press Enter when you have written them down.";
    auto ack = prompt_line(shown);
    core::secure_wipe(shown.data(), shown.size());
    for (auto& w : words)
        core::secure_wipe(w.data(), w.size());
    if (!ack) return fail(ack.error());
    // Scroll the phrase away before asking.
    auto cleared = prompt_line(std::string(60, '\n') + "Now confirm three words.\n(Press Enter)");
    if (!cleared) return fail(cleared.error());

    words = split_words(phrase.text());
    std::array<std::uint8_t, 3> picks{};
    KEYBRIDGE_TRY_STATUS(core::random_bytes(picks));
    std::vector<std::size_t> positions;
    for (auto p : picks) {
        std::size_t pos = p % words.size();
        while (std::find(positions.begin(), positions.end(), pos) != positions.end()) {
            pos = (pos + 1) % words.size();
        }
        positions.push_back(pos);
    }
    std::sort(positions.begin(), positions.end());
    core::Status result;
    for (std::size_t pos : positions) {
        auto answer = prompt_line("Word " + std::to_string(pos + 1) + ": ");
        if (!answer) {
            result = fail(answer.error());
            break;
        }
        // The list's words are NFKD, but keyboards and input methods type composed text (a
        // Japanese "じ" arrives as U+3058, the list holds U+3057 U+3099): compare normalised forms,
        // ignoring blanks around the word.
        const bool ok = answer_matches(*answer, words[pos]);
        core::secure_wipe(answer->data(), answer->size());
        if (!ok) {
            result = fail(ErrorCode::UserCancelled,
                          "word " + std::to_string(pos + 1) + " does not match; nothing was saved");
            break;
        }
    }
    for (auto& w : words)
        core::secure_wipe(w.data(), w.size());
    return result;
}

Result<Report> finish_new_vault(Context& ctx, std::string_view phrase,
                                std::string_view passphrase) {
    auto password = new_password_from(ctx, "password-file", "vault password");
    if (!password) return fail(password.error());
    const KdfStrength strength =
        ctx.args.flag("light-kdf") ? KdfStrength::Light : KdfStrength::Standard;
    auto vault = Vault::create(ctx.datadir, phrase, passphrase, *password, strength);
    if (!vault) return fail(vault.error());
    auto first = vault->derive(*password, 1);
    if (!first) return fail(first.error());
    Report report;
    report.text =
        "Vault created in " + ctx.datadir + "\nFirst account: " + account_line(first->front());
    report.data["datadir"] = ctx.datadir;
    report.data["accounts"] = json::array{account_json(first->front())};
    return report;
}

// The BIP39 passphrase, if one was asked for. A new wallet's passphrase is typed twice: a typo
// there would silently make every account unrecoverable from the written-down words.
Result<SecretBuffer> optional_passphrase(const Context& ctx, bool is_new) {
    if (auto file = ctx.args.value("passphrase-file")) return read_secret_file(*file);
    if (!ctx.args.flag("with-passphrase")) return SecretBuffer();
    const std::string prompt = "BIP39 passphrase (the \"25th word\"): ";
    auto first = prompt_secret(prompt, "passphrase-file");
    if (!first || !is_new) return first;
    auto second = prompt_secret("Repeat the BIP39 passphrase: ", "passphrase-file");
    if (!second) return fail(second.error());
    if (!(*first == *second)) {
        return fail(ErrorCode::InvalidFormat, "the two BIP39 passphrases differ");
    }
    return first;
}

Result<Report> run_init(Context& ctx) {
    if (Vault::exists(ctx.datadir)) {
        return fail(ErrorCode::AlreadyExists, "a vault already exists in " + ctx.datadir);
    }
    const std::string words_text = ctx.args.value("words").value_or("12");
    const std::size_t words = words_text == "12"   ? 12
                              : words_text == "15" ? 15
                              : words_text == "18" ? 18
                              : words_text == "21" ? 21
                              : words_text == "24" ? 24
                                                   : 0;
    if (words == 0) return fail(ErrorCode::InvalidArgument, "--words must be 12, 15, 18, 21 or 24");
    auto lang = language_arg(ctx);
    if (!lang) return fail(lang.error());
    auto phrase = core::bip39::generate_mnemonic(words, *lang);
    if (!phrase) return fail(phrase.error());

    if (auto out = ctx.args.value("mnemonic-out")) {
        // Unattended: the phrase goes to a private file the caller chose, never to a log.
        SecretBuffer content(phrase->size() + 1);
        std::copy(phrase->data(), phrase->data() + phrase->size(), content.data());
        content.data()[phrase->size()] = '\n';
        KEYBRIDGE_TRY_STATUS(write_output(ctx, *out, content.text()));
    } else if (ctx.yes) {
        return fail(ErrorCode::InvalidArgument,
                    "--yes skips the phrase check; give --mnemonic-out FILE to receive the phrase");
    } else {
        KEYBRIDGE_TRY_STATUS(show_and_quiz(*phrase));
    }
    auto passphrase = optional_passphrase(ctx, /*is_new=*/true);
    if (!passphrase) return fail(passphrase.error());
    return finish_new_vault(ctx, phrase->text(), passphrase->text());
}

// For a phrase that fails to validate, names each unknown word with its nearest valid words.
std::string typo_hints(std::string_view phrase) {
    auto lang = core::bip39::detect_language(phrase);
    if (!lang) return {};
    auto words = split_words(phrase);
    std::string hints;
    for (std::size_t i = 0; i < words.size(); ++i) {
        auto near = core::bip39::suggest_words(words[i], *lang, 4);
        if (!near.empty() && near.front() == words[i]) continue;
        hints += "\n  word " + std::to_string(i + 1) + ": ";
        if (near.empty()) {
            hints += "no close match";
        } else {
            hints += "did you mean ";
            for (std::size_t k = 0; k < near.size(); ++k) {
                hints += (k ? ", " : "") + std::string(near[k]);
            }
            hints += "?";
        }
    }
    for (auto& w : words)
        core::secure_wipe(w.data(), w.size());
    return hints;
}

Result<Report> run_restore(Context& ctx) {
    if (Vault::exists(ctx.datadir)) {
        return fail(ErrorCode::AlreadyExists, "a vault already exists in " + ctx.datadir);
    }
    auto phrase = secret_from(ctx, "mnemonic-file", "Recovery phrase (input hidden): ");
    if (!phrase) return fail(phrase.error());
    // Typed text may carry a trailing newline or doubled spaces: canonical_mnemonic tidies it.
    auto canonical = core::bip39::canonical_mnemonic(phrase->text());
    if (!canonical) {
        core::Error e = canonical.error();
        e.detail += typo_hints(phrase->text());
        return fail(e);
    }
    auto passphrase = optional_passphrase(ctx, /*is_new=*/false);
    if (!passphrase) return fail(passphrase.error());
    return finish_new_vault(ctx, canonical->text(), passphrase->text());
}

// ---------------------------------------------------------------- accounts

Result<Report> run_account_list(Context& ctx) {
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    Report report;
    json::array list;
    for (const Account& a : vault->accounts()) {
        list.push_back(account_json(a));
        report.text += account_line(a) + "\n";
    }
    if (vault->accounts().empty()) report.text = "No accounts yet: run 'keybridge account derive'.";
    report.data["accounts"] = std::move(list);
    return report;
}

Result<Report> run_account_derive(Context& ctx) {
    auto count = count_arg(ctx, 1);
    if (!count) return fail(count.error());
    std::string tmpl(vault::kBip44Template);
    if (ctx.args.flag("ledger-live")) tmpl = vault::kLedgerLiveTemplate;
    if (auto given = ctx.args.value("path-template")) tmpl = *given;
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    auto password = vault_password(ctx);
    if (!password) return fail(password.error());
    auto added = vault->derive(*password, *count, tmpl);
    if (!added) return fail(added.error());
    Report report;
    json::array list;
    for (const Account& a : *added) {
        list.push_back(account_json(a));
        report.text += account_line(a) + "\n";
    }
    report.data["accounts"] = std::move(list);
    return report;
}

// A private key file holds 64 hex digits (0x optional), surrounding whitespace ignored.
Result<SecretBuffer> private_key_from_file(const std::string& path) {
    auto text = read_secret_file(path);
    if (!text) return fail(text.error());
    std::string_view view = text->text();
    while (!view.empty() && std::isspace(static_cast<unsigned char>(view.front())))
        view.remove_prefix(1);
    while (!view.empty() && std::isspace(static_cast<unsigned char>(view.back())))
        view.remove_suffix(1);
    auto bytes = core::hex_decode(view);
    if (!bytes) return fail(ErrorCode::InvalidFormat, path + ": " + bytes.error().detail);
    SecretBuffer key = SecretBuffer::copy_of(*bytes);
    core::secure_wipe(bytes->data(), bytes->size());
    if (key.size() != 32) {
        return fail(ErrorCode::InvalidFormat, path + ": a private key is 32 bytes (64 hex digits)");
    }
    return key;
}

Result<Report> run_account_import(Context& ctx) {
    auto key_file = ctx.args.value("private-key-file");
    auto keystore_file = ctx.args.value("keystore");
    if (key_file.has_value() == keystore_file.has_value()) {
        return fail(ErrorCode::InvalidArgument,
                    "give exactly one of --private-key-file or --keystore");
    }
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    const std::string name = ctx.args.value("name").value_or("");
    Result<Account> account = fail(ErrorCode::Internal, "unreachable");
    if (key_file) {
        auto key = private_key_from_file(*key_file);
        if (!key) return fail(key.error());
        auto password = vault_password(ctx);
        if (!password) return fail(password.error());
        account = vault->import_private_key(*key, *password, name);
    } else {
        auto text = vault::read_file(*keystore_file, 1024 * 1024);
        if (!text) return fail(text.error());
        auto ks_password =
            secret_from(ctx, "keystore-password-file", "Password of the keystore file: ");
        if (!ks_password) return fail(ks_password.error());
        auto password = vault_password(ctx);
        if (!password) return fail(password.error());
        account = vault->import_keystore(*text, *ks_password, *password, name);
        if (!account && account.error().code != ErrorCode::WrongPassword &&
            account.error().code != ErrorCode::AlreadyExists) {
            return fail(account.error().code, *keystore_file + ": " + account.error().detail);
        }
    }
    if (!account) return fail(account.error());
    Report report;
    report.text = "Imported " + account_line(*account);
    report.data["account"] = account_json(*account);
    return report;
}

Result<Report> run_account_export(Context& ctx) {
    auto address = address_arg(ctx);
    if (!address) return fail(address.error());
    auto out = ctx.args.value("out");
    if (!out) return fail(ErrorCode::InvalidArgument, "--out FILE is required");
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    if (vault->find(*address) == nullptr) {
        return fail(ErrorCode::NotFound, address->to_checksum_string() + " is not in the vault");
    }
    auto password = vault_password(ctx);
    if (!password) return fail(password.error());
    KEYBRIDGE_TRY_STATUS(vault->check_password(*password));
    auto export_password = new_password_from(ctx, "export-password-file", "export password");
    if (!export_password) return fail(export_password.error());
    auto keystore = vault->export_keystore(*address, *password, *export_password);
    if (!keystore) return fail(keystore.error());
    KEYBRIDGE_TRY_STATUS(write_output(ctx, *out, *keystore + "\n"));
    Report report;
    report.text =
        "Wrote " + *out + " (Web3 Secret Storage v3; MetaMask: Import account > JSON File)";
    report.data["file"] = *out;
    report.data["address"] = address->to_checksum_string();
    return report;
}

Result<Report> run_account_rename(Context& ctx) {
    auto address = address_arg(ctx);
    if (!address) return fail(address.error());
    auto name = ctx.args.value("name");
    if (!name) return fail(ErrorCode::InvalidArgument, "--name is required");
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    KEYBRIDGE_TRY_STATUS(vault->rename(*address, *name));
    Report report;
    report.text = "Renamed " + address->to_checksum_string() + " to " + terminal_safe(*name);
    report.data["account"] = account_json(*vault->find(*address));
    return report;
}

Result<Report> run_account_remove(Context& ctx) {
    auto address = address_arg(ctx);
    if (!address) return fail(address.error());
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    const Account* account = vault->find(*address);
    if (account == nullptr) {
        return fail(ErrorCode::NotFound, address->to_checksum_string() + " is not in the vault");
    }
    const std::string warning =
        account->source == AccountSource::Imported
            ? "Remove " + account_line(*account) +
                  "? Its key is deleted from this vault; keep an export or backup if you need it."
        : account->source == AccountSource::Hardware
            ? "Remove " + account_line(*account) + " from the list? Its key stays on the device."
            : "Remove " + account_line(*account) +
                  " from the list? It can be derived again from the recovery phrase.";
    auto ok = confirmed(ctx, warning);
    if (!ok) return fail(ok.error());
    if (!*ok) return fail(ErrorCode::UserCancelled, "nothing removed");
    KEYBRIDGE_TRY_STATUS(vault->remove(*address));
    Report report;
    report.text = "Removed " + address->to_checksum_string();
    report.data["removed"] = address->to_checksum_string();
    return report;
}

// ---------------------------------------------------------------- backup and password

Result<Report> run_backup(Context& ctx) {
    auto out = ctx.args.value("out");
    if (!out) return fail(ErrorCode::InvalidArgument, "--out FILE is required");
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    auto password = vault_password(ctx);
    if (!password) return fail(password.error());
    auto text = vault->backup(*password);
    if (!text) return fail(text.error());
    KEYBRIDGE_TRY_STATUS(write_output(ctx, *out, *text));
    Report report;
    report.text = "Wrote an encrypted backup of " + std::to_string(vault->accounts().size()) +
                  " accounts and the recovery phrase to " + *out +
                  ". It opens with the current vault password.";
    report.data["file"] = *out;
    report.data["accounts"] = vault->accounts().size();
    return report;
}

Result<Report> run_restore_backup(Context& ctx) {
    auto file = ctx.args.value("file");
    if (!file && !ctx.args.positionals.empty()) file = ctx.args.positionals.front();
    if (!file) return fail(ErrorCode::InvalidArgument, "the backup FILE is required");
    auto text = vault::read_file(*file, 64 * 1024 * 1024);
    if (!text) return fail(text.error());
    bool replace = false;
    if (Vault::exists(ctx.datadir)) {
        auto ok =
            confirmed(ctx, "A vault exists in " + ctx.datadir + ". Replace it with the backup?");
        if (!ok) return fail(ok.error());
        if (!*ok) return fail(ErrorCode::UserCancelled, "nothing restored");
        replace = true;
    }
    auto password = secret_from(ctx, "password-file", "Password of the backup: ");
    if (!password) return fail(password.error());
    auto vault = Vault::restore_backup(ctx.datadir, *text, *password, replace);
    if (!vault) return fail(vault.error());
    Report report;
    report.text =
        "Restored " + std::to_string(vault->accounts().size()) + " accounts into " + ctx.datadir;
    json::array list;
    for (const Account& a : vault->accounts())
        list.push_back(account_json(a));
    report.data["accounts"] = std::move(list);
    return report;
}

Result<Report> run_passwd(Context& ctx) {
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    auto old_password = secret_from(ctx, "password-file", "Current vault password: ");
    if (!old_password) return fail(old_password.error());
    KEYBRIDGE_TRY_STATUS(vault->check_password(*old_password));
    auto new_password = new_password_from(ctx, "new-password-file", "vault password");
    if (!new_password) return fail(new_password.error());
    KEYBRIDGE_TRY_STATUS(vault->change_password(*old_password, *new_password));
    Report report;
    report.text = "The vault password was changed.";
    report.data["changed"] = true;
    return report;
}

const OptionSpec kPasswordFile{"password-file", "FILE", "read the vault password from FILE"};
const OptionSpec kLightKdf{
    "light-kdf", "", "weaker scrypt (N=2^12) for tests or slow machines; easier to brute-force"};
const OptionSpec kPassphraseFile{"passphrase-file", "FILE",
                                 "read an optional BIP39 passphrase (\"25th word\") from FILE"};
const OptionSpec kWithPassphrase{"with-passphrase", "",
                                 "ask for a BIP39 passphrase on the terminal"};

}  // namespace

std::vector<Command> vault_commands() {
    return {
        {"init",
         "keybridge init [--words 12|15|18|21|24] [--lang en|ja] [--password-file F]",
         "create a vault with a new recovery phrase (shown once, then checked)",
         {{"words", "N", "phrase length: 12 (default), 15, 18, 21 or 24 words"},
          {"lang", "LANG", "word list: en (default) or ja"},
          {"mnemonic-out", "FILE",
           "unattended: write the phrase to FILE (0600) instead of showing it"},
          kPasswordFile,
          kPassphraseFile,
          kWithPassphrase,
          kLightKdf},
         run_init},
        {"restore",
         "keybridge restore [--mnemonic-file F] [--password-file F]",
         "create a vault from an existing recovery phrase (checksum checked)",
         {{"mnemonic-file", "FILE", "read the phrase from FILE instead of the terminal"},
          kPasswordFile,
          kPassphraseFile,
          kWithPassphrase,
          kLightKdf},
         run_restore},
        {"account list",
         "keybridge account list",
         "list the vault's accounts",
         {},
         run_account_list},
        {"account derive",
         "keybridge account derive [--count N] [--path-template T | --ledger-live]",
         "add accounts from the recovery phrase at the next unused indices",
         {{"count", "N", "how many accounts (default 1)"},
          {"path-template", "T", "derivation path with {i}, default m/44'/60'/0'/0/{i}"},
          {"ledger-live", "", "use Ledger Live paths m/44'/60'/{i}'/0/0"},
          kPasswordFile},
         run_account_derive},
        {"account import",
         "keybridge account import (--private-key-file F | --keystore FILE) [--name NAME]",
         "import a raw private key or a v3 keystore (geth, MetaMask, MyEtherWallet)",
         {{"private-key-file", "FILE", "file holding the key as 64 hex digits"},
          {"keystore", "FILE", "Web3 Secret Storage v3 JSON file"},
          {"keystore-password-file", "FILE", "read the keystore file's password from FILE"},
          {"name", "NAME", "account name"},
          kPasswordFile},
         run_account_import},
        {"account export",
         "keybridge account export --address A --out FILE",
         "write one account as a v3 keystore under a new export password",
         {{"address", "A", "the account"},
          {"out", "FILE", "where to write the keystore (0600)"},
          {"export-password-file", "FILE", "read the export password from FILE"},
          kPasswordFile},
         run_account_export,
         "ADDRESS"},
        {"account rename",
         "keybridge account rename --address A --name NAME",
         "rename an account",
         {{"address", "A", "the account"}, {"name", "NAME", "the new name"}},
         run_account_rename,
         "ADDRESS"},
        {"account remove",
         "keybridge account remove --address A [--yes]",
         "remove an account (asks for confirmation)",
         {{"address", "A", "the account"}},
         run_account_remove,
         "ADDRESS"},
        {"backup",
         "keybridge backup --out FILE",
         "write one encrypted file holding the whole vault (under the vault password)",
         {{"out", "FILE", "where to write the backup (0600)"}, kPasswordFile},
         run_backup},
        {"restore-backup",
         "keybridge restore-backup FILE",
         "verify a backup completely, then install it as the vault",
         {{"file", "FILE", "the backup file (or give it as the argument)"}, kPasswordFile},
         run_restore_backup,
         "FILE"},
        {"passwd",
         "keybridge passwd",
         "re-encrypt the vault under a new password, atomically",
         {kPasswordFile, {"new-password-file", "FILE", "read the new password from FILE"}},
         run_passwd},
    };
}

}  // namespace keybridge::cli
