// The vault commands: init, restore, account ..., backup, restore-backup, passwd.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "cli/chain_client.h"
#include "cli/command.h"
#include "cli/password_strength.h"
#include "cli/phrase_entry.h"
#include "cli/progress.h"
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

// How many times a question whose answer can be mistyped (a password repeat, a word of the
// phrase) is asked before the command gives up.
constexpr int kTries = 3;

// Why a new password is refused, or nothing: empty, or too easy to guess (unless
// --allow-weak-password).
std::optional<std::string> password_problem(const Context& ctx, const SecretBuffer& password,
                                            const std::string& what) {
    if (password.empty()) return "the " + what + " is empty";
    if (ctx.args.flag("allow-weak-password")) return std::nullopt;
    const PasswordStrength strength = estimate_password_strength(password.text());
    if (strength.acceptable) return std::nullopt;
    return "the " + what + " is too weak: " + strength.reason;
}

// A new password: from the file, or asked twice on the terminal. A weak password or a repeat
// that differs asks again (kTries rounds) instead of ending the command, so nothing typed
// before (a phrase that was just written down) is lost.
Result<SecretBuffer> new_password_from(const Context& ctx, const std::string& file_option,
                                       const std::string& what) {
    if (auto file = ctx.args.value(file_option)) {
        auto password = read_secret_file(*file);
        if (!password) return fail(password.error());
        if (auto problem = password_problem(ctx, *password, what)) {
            return fail(ErrorCode::InvalidFormat, *problem + " (in " + *file + ")");
        }
        return password;
    }
    core::Error last{ErrorCode::InvalidFormat, "no " + what + " was given"};
    for (int attempt = 1; attempt <= kTries; ++attempt) {
        const std::string again = attempt < kTries ? " Please try again.\n" : "\n";
        auto first = prompt_secret("New " + what + ": ", file_option);
        if (!first) return fail(first.error());
        if (auto problem = password_problem(ctx, *first, what)) {
            last = {ErrorCode::InvalidFormat, *problem};
            tell("The " + problem->substr(4) + " (use at least " +
                 std::to_string(kMinPasswordLength) +
                 " characters; a few unrelated words work well)." + again);
            continue;
        }
        auto second = prompt_secret("Repeat the " + what + ": ", file_option);
        if (!second) return fail(second.error());
        if (*first == *second) return first;
        last = {ErrorCode::InvalidFormat, "the two " + what + "s differ"};
        tell("The two " + what + "s differ." + again);
    }
    return fail(last);
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

// UserCancelled unless path is new or overwriting it is confirmed (or --yes).
core::Status may_write(const Context& ctx, const std::string& path) {
    if (vault::path_exists(path)) {
        auto ok = confirmed(ctx, path + " exists. Overwrite it?");
        if (!ok) return fail(ok.error());
        if (!*ok) return fail(ErrorCode::UserCancelled, "not overwriting " + path);
    }
    return {};
}

// Refuses to overwrite an existing file unless confirmed; then writes it atomically (0600).
core::Status write_output(const Context& ctx, const std::string& path, std::string_view content) {
    KEYBRIDGE_TRY_STATUS(may_write(ctx, path));
    return vault::write_file_atomic(path, content);
}

// ---------------------------------------------------------------- init and restore

Result<core::bip39::Language> language_arg(const Context& ctx) {
    const std::string lang = ctx.args.value("lang").value_or("en");
    if (lang == "en") return core::bip39::Language::English;
    if (lang == "ja") return core::bip39::Language::Japanese;
    return fail(ErrorCode::InvalidArgument, "--lang must be en or ja");
}

// Offered suggestions for a mistyped word, numbered so one can be picked by its number.
std::string offer(const std::vector<std::string_view>& suggestions) {
    if (suggestions.empty()) return " No list word is close: check the spelling.";
    std::string text = " Did you mean:";
    for (std::size_t k = 0; k < suggestions.size(); ++k) {
        text += "  " + std::to_string(k + 1) + ") " + std::string(suggestions[k]);
    }
    return text + " ? Type the word or its number.";
}

// A number 1..count typed alone (picking an offered suggestion).
std::optional<std::size_t> picked_number(std::string_view text, std::size_t count) {
    if (text.empty() || text.size() > 2) return std::nullopt;
    std::size_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (value == 0 || value > count) return std::nullopt;
    return value;
}

// Shows the phrase once on the terminal, clears it, and asks for three of its words back,
// hidden, one per prompt; a mistyped word is asked again (kTries times) with suggestions.
core::Status show_and_quiz(const SecretBuffer& phrase, core::bip39::Language language) {
    auto tidied = typed_words(phrase.text());
    if (!tidied) return fail(tidied.error());
    const std::vector<SecretBuffer>& words = *tidied;
    std::string shown =
        "\nYour recovery phrase. Write it down on paper, in order, and keep it safe:\n\n";
    for (std::size_t i = 0; i < words.size(); ++i) {
        shown += "  " + std::to_string(i + 1) + ". " + std::string(words[i].text()) +
                 (i % 4 == 3 ? "\n" : "\t");
    }
    shown +=
        "\nAnyone with these words can take your funds. keybridge will not show them again.\n"
        "Press Enter when you have written them down.";
    auto ack = prompt_line(shown);
    core::secure_wipe(shown.data(), shown.size());
    if (!ack) return fail(ack.error());
    // Home, clear the screen, and clear the scrollback where the terminal supports it (xterm's
    // ESC[3J); not every terminal does, hence the warning.
    tell("\x1b[H\x1b[2J\x1b[3J");
    tell(
        "The phrase is off the screen, but your terminal's scrollback may still hold it: clear "
        "it\n(or close this terminal window) once you are done.\n\n"
        "Now type three of the words back, to check your copy (they are not shown).\n");

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
    const std::string total = std::to_string(words.size());
    for (std::size_t pos : positions) {
        const std::string number = std::to_string(pos + 1);
        std::vector<std::string_view> offered;
        bool matched = false;
        for (int attempt = 1; attempt <= kTries && !matched; ++attempt) {
            auto answer = prompt_secret("Word " + number + " of " + total + ": ", "mnemonic-out");
            if (!answer) return fail(answer.error());
            auto typed = typed_words(answer->text());
            if (!typed) return fail(typed.error());
            std::string note;
            if (typed->size() == 1) {
                std::string_view word = typed->front().text();
                if (auto k = picked_number(word, offered.size())) word = offered[*k - 1];
                // The phrase's words come from the list: compare in constant time.
                const SecretBuffer candidate = SecretBuffer::copy_of(word);
                if (candidate == words[pos]) {
                    matched = true;
                    break;
                }
                const WordCheck check = check_word(word, language);
                if (check.known) {
                    offered.clear();
                    note = "That is not word " + number + ": check your copy.";
                } else {
                    offered = check.suggestions;
                    note = "That is not a word of the " +
                           std::string(core::bip39::language_name(language)) + " list." +
                           offer(offered);
                }
            } else {
                note = typed->empty() ? "Nothing was typed." : "Type only word " + number + ".";
            }
            tell(note + "\n");
        }
        if (!matched) {
            return fail(ErrorCode::UserCancelled,
                        "word " + number + " does not match; nothing was saved");
        }
    }
    return {};
}

Result<Report> discover_into(Context& ctx, Vault& vault, const SecretBuffer& password,
                             Report report);

Result<Report> finish_new_vault(Context& ctx, std::string_view phrase, std::string_view passphrase,
                                std::optional<SecretBuffer> password = std::nullopt) {
    if (!password) {
        auto asked = new_password_from(ctx, "password-file", "vault password");
        if (!asked) return fail(asked.error());
        password = std::move(*asked);
    }
    const KdfStrength strength =
        ctx.args.flag("light-kdf") ? KdfStrength::Light : KdfStrength::Standard;
    Result<Vault> vault = fail(ErrorCode::Internal, "unreachable");
    Result<std::vector<Account>> first = fail(ErrorCode::Internal, "unreachable");
    {
        Progress progress(!ctx.json, kDerivingKey);
        vault = Vault::create(ctx.datadir, phrase, passphrase, *password, strength);
        if (!vault) return fail(vault.error());
        first = vault->derive(*password, 1);
    }
    if (!first) return fail(first.error());
    Report report;
    report.text =
        "Vault created in " + ctx.datadir + "\nFirst account: " + account_line(first->front());
    report.data["datadir"] = ctx.datadir;
    report.data["accounts"] = json::array{account_json(first->front())};
    if (ctx.args.flag("discover")) {
        // The vault exists now: a node that cannot be reached fails only the discovery, and
        // says how to run it again.
        auto discovered = discover_into(ctx, *vault, *password, report);
        if (!discovered) {
            core::Error e = discovered.error();
            e.detail =
                "the vault was created, but discovery failed (run 'keybridge account "
                "discover' to try again): " +
                e.detail;
            return fail(e);
        }
        return discovered;
    }
    return report;
}

// The BIP39 passphrase, if one was asked for. A new wallet's passphrase is typed twice (a typo
// there would silently make every account unrecoverable from the written-down words); a repeat
// that differs asks again.
Result<SecretBuffer> optional_passphrase(const Context& ctx, bool is_new) {
    if (auto file = ctx.args.value("passphrase-file")) return read_secret_file(*file);
    if (!ctx.args.flag("with-passphrase")) return SecretBuffer();
    const std::string prompt = "BIP39 passphrase (the \"25th word\"): ";
    for (int attempt = 1; attempt <= kTries; ++attempt) {
        auto first = prompt_secret(prompt, "passphrase-file");
        if (!first || !is_new) return first;
        auto second = prompt_secret("Repeat the BIP39 passphrase: ", "passphrase-file");
        if (!second) return fail(second.error());
        if (*first == *second) return first;
        tell(std::string("The two BIP39 passphrases differ.") +
             (attempt < kTries ? " Please try again.\n" : "\n"));
    }
    return fail(ErrorCode::InvalidFormat, "the two BIP39 passphrases differ");
}

Result<std::size_t> word_count_arg(const Context& ctx, const std::string& fallback) {
    const std::string text = ctx.args.value("words").value_or(fallback);
    for (std::size_t n : {12, 15, 18, 21, 24}) {
        if (text == std::to_string(n)) return n;
    }
    return fail(ErrorCode::InvalidArgument, "--words must be 12, 15, 18, 21 or 24");
}

Result<Report> run_init(Context& ctx) {
    if (Vault::exists(ctx.datadir)) {
        return fail(ErrorCode::AlreadyExists, "a vault already exists in " + ctx.datadir);
    }
    auto words = word_count_arg(ctx, "12");
    if (!words) return fail(words.error());
    auto lang = language_arg(ctx);
    if (!lang) return fail(lang.error());
    // A password from a file is checked before any phrase exists, so a weak one cannot cost
    // a phrase that was already written down.
    std::optional<SecretBuffer> password;
    if (ctx.args.value("password-file")) {
        auto read = new_password_from(ctx, "password-file", "vault password");
        if (!read) return fail(read.error());
        password = std::move(*read);
    }
    auto phrase = core::bip39::generate_mnemonic(*words, *lang);
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
        KEYBRIDGE_TRY_STATUS(show_and_quiz(*phrase, *lang));
    }
    auto passphrase = optional_passphrase(ctx, /*is_new=*/true);
    if (!passphrase) return fail(passphrase.error());
    return finish_new_vault(ctx, phrase->text(), passphrase->text(), std::move(password));
}

// For a phrase that fails to validate, names each word that is in no list with its nearest
// valid words. The words are tidied (NFKD, lower case) first: comparing typed composed kana
// with the list's decomposed words would flag correct words.
std::string typo_hints(const std::vector<SecretBuffer>& words) {
    std::optional<core::bip39::Language> lang;
    for (const auto& w : words) {
        const auto guess = language_of_word(w.text());
        if (check_word(w.text(), guess).known) {
            lang = guess;
            break;
        }
    }
    if (!lang && !words.empty()) lang = language_of_word(words.front().text());
    std::string hints;
    for (std::size_t i = 0; i < words.size() && lang; ++i) {
        const WordCheck check = check_word(words[i].text(), *lang);
        if (check.known) continue;
        hints += "\n  word " + std::to_string(i + 1) + ": ";
        if (check.suggestions.empty()) {
            hints += "no close match";
        } else {
            hints += "did you mean ";
            for (std::size_t k = 0; k < check.suggestions.size(); ++k) {
                hints += (k ? ", " : "") + std::string(check.suggestions[k]);
            }
            hints += "?";
        }
    }
    return hints;
}

// Joins tidied words with the list's separator into one phrase.
SecretBuffer join_words(const std::vector<SecretBuffer>& words, core::bip39::Language language) {
    const std::string_view separator = word_separator(language);
    std::size_t size = 0;
    for (const auto& w : words)
        size += w.size() + separator.size();
    SecretBuffer phrase(size);
    std::size_t at = 0;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i > 0) {
            std::copy(separator.begin(), separator.end(), phrase.data() + at);
            at += separator.size();
        }
        std::copy(words[i].data(), words[i].data() + words[i].size(), phrase.data() + at);
        at += words[i].size();
    }
    phrase.truncate(at);
    return phrase;
}

// Asks for the words at positions [pos, pos + max) of a phrase of `total` words, hidden, one
// per prompt. Several words typed (or pasted) at one prompt fill the next positions. A word in
// no list is asked again with suggestions (kTries times per word). `language` is fixed by the
// first known word unless given. Returns how many positions were filled.
Result<std::size_t> ask_words(std::size_t pos, std::size_t max, std::size_t total,
                              std::optional<core::bip39::Language>& language,
                              std::vector<SecretBuffer>& words) {
    const std::size_t end = std::min(total, pos + max);
    const std::size_t begin = pos;
    std::vector<std::string_view> offered;  // the suggestions last shown, pickable by number
    while (pos < end) {
        const std::string number = std::to_string(pos + 1);
        bool progressed = false;
        for (int attempt = 1; attempt <= kTries && !progressed; ++attempt) {
            auto answer = prompt_secret("Word " + number + " of " + std::to_string(total) + ": ",
                                        "mnemonic-file");
            if (!answer) return fail(answer.error());
            auto typed = typed_words(answer->text());
            if (!typed) return fail(typed.error());
            if (typed->empty()) {
                tell("Nothing was typed.\n");
                continue;
            }
            if (typed->size() > end - pos) {
                tell("That is more words than are left to type (" + std::to_string(end - pos) +
                     ").\n");
                continue;
            }
            for (auto& word : *typed) {
                std::string_view text = word.text();
                if (auto k = picked_number(text, offered.size())) text = offered[*k - 1];
                const auto lang = language.value_or(language_of_word(text));
                const WordCheck check = check_word(text, lang);
                if (!check.known) {
                    offered = check.suggestions;
                    tell("Word " + std::to_string(pos + 1) + " is not in the " +
                         std::string(core::bip39::language_name(lang)) + " list." + offer(offered) +
                         "\n");
                    break;
                }
                language = lang;
                words[pos++] = SecretBuffer::copy_of(text);
                offered.clear();
                progressed = true;
            }
        }
        if (!progressed) {
            return fail(ErrorCode::InvalidFormat,
                        "word " + number + " is not in the list; nothing was saved");
        }
    }
    return pos - begin;
}

// The phrase typed on the terminal one word per prompt, then checked as a whole; a checksum
// that does not match offers to retype single words.
Result<SecretBuffer> phrase_from_terminal(const Context& ctx) {
    if (!have_terminal()) {
        return fail(ErrorCode::IoError, "no terminal to ask on; pass --mnemonic-file FILE instead");
    }
    std::optional<core::bip39::Language> language;
    if (ctx.args.value("lang")) {
        auto lang = language_arg(ctx);
        if (!lang) return fail(lang.error());
        language = *lang;
    }
    std::size_t total = 0;
    if (ctx.args.value("words")) {
        auto count = word_count_arg(ctx, "");
        if (!count) return fail(count.error());
        total = *count;
    }
    for (int attempt = 1; attempt <= kTries && total == 0; ++attempt) {
        auto answer =
            prompt_line("How many words does your recovery phrase have (12, 15, 18, 21 or 24)? ");
        if (!answer) return fail(answer.error());
        for (std::size_t n : {12, 15, 18, 21, 24}) {
            if (*answer == std::to_string(n)) total = n;
        }
        if (total == 0) tell("Please answer 12, 15, 18, 21 or 24.\n");
    }
    if (total == 0) return fail(ErrorCode::InvalidArgument, "no valid number of words was given");
    tell(
        "Type the words one at a time; they are not shown. Pasting the whole phrase at the "
        "first prompt works too.\n");
    std::vector<SecretBuffer> words(total);
    auto filled = ask_words(0, total, total, language, words);
    if (!filled) return fail(filled.error());
    for (int round = 0;; ++round) {
        SecretBuffer phrase = join_words(words, *language);
        auto canonical = core::bip39::canonical_mnemonic(phrase.text(), language);
        if (canonical || round == kTries) return canonical;
        tell("These words do not form a valid phrase (" + canonical.error().detail + ").\n");
        auto answer = prompt_line("Number of the word to type again (1-" + std::to_string(total) +
                                  "), or Enter to give up: ");
        if (!answer) return fail(answer.error());
        const auto which = picked_number(*answer, total);
        if (!which) return fail(canonical.error());
        auto retyped = ask_words(*which - 1, 1, total, language, words);
        if (!retyped) return fail(retyped.error());
    }
}

// The phrase from --mnemonic-file, tidied (case, spaces of every width, composed kana) and
// validated; a phrase that does not validate names the words that are in no list.
Result<SecretBuffer> phrase_from_file(const std::string& path) {
    auto text = read_secret_file(path);
    if (!text) return fail(text.error());
    auto words = typed_words(text->text());
    if (!words) return fail(words.error());
    const auto language =
        words->empty() ? core::bip39::Language::English : language_of_word(words->front().text());
    SecretBuffer phrase = join_words(*words, language);
    auto canonical = core::bip39::canonical_mnemonic(phrase.text());
    if (!canonical) {
        core::Error e = canonical.error();
        e.detail += typo_hints(*words);
        return fail(e);
    }
    return canonical;
}

Result<Report> run_restore(Context& ctx) {
    if (Vault::exists(ctx.datadir)) {
        return fail(ErrorCode::AlreadyExists, "a vault already exists in " + ctx.datadir);
    }
    auto file = ctx.args.value("mnemonic-file");
    auto phrase = file ? phrase_from_file(*file) : phrase_from_terminal(ctx);
    if (!phrase) return fail(phrase.error());
    auto passphrase = optional_passphrase(ctx, /*is_new=*/false);
    if (!passphrase) return fail(passphrase.error());
    return finish_new_vault(ctx, phrase->text(), passphrase->text());
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

constexpr std::size_t kDeriveWithoutAsking = 20;
constexpr std::size_t kMaxDeriveWithoutYes = 1000;

Result<Report> run_account_derive(Context& ctx) {
    auto count = count_arg(ctx, 1);
    if (!count) return fail(count.error());
    std::string tmpl(vault::kBip44Template);
    if (ctx.args.flag("ledger-live")) tmpl = vault::kLedgerLiveTemplate;
    if (auto given = ctx.args.value("path-template")) tmpl = *given;
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    // Each account is one more address for wallets to watch: many at once is usually a typo.
    if (*count > kMaxDeriveWithoutYes && !ctx.yes) {
        return fail(ErrorCode::InvalidArgument, "--count " + std::to_string(*count) +
                                                    " is more than " +
                                                    std::to_string(kMaxDeriveWithoutYes) +
                                                    " accounts; add --yes if you really mean it");
    }
    if (*count > kDeriveWithoutAsking) {
        auto ok = confirmed(ctx, "Add " + std::to_string(*count) + " accounts to the vault?");
        if (!ok) return fail(ok.error());
        if (!*ok) return fail(ErrorCode::UserCancelled, "no accounts added");
    }
    auto password = vault_password(ctx);
    if (!password) return fail(password.error());
    auto added = [&] {
        Progress progress(!ctx.json, kDerivingKey);
        return vault->derive(*password, *count, tmpl);
    }();
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

// ---------------------------------------------------------------- discovery

constexpr std::uint32_t kDiscoveryGap = 20;

// The chain's RPC URL: --rpc-url, else the configured chain (--chain ID, else the config's
// chain-id, else 1) from keybridged.conf: $XDG_CONFIG_HOME/keybridge/, then the data folder's.
Result<std::string> discovery_url(const Context& ctx) {
    if (auto url = ctx.args.value("rpc-url")) return *url;
    std::vector<std::string> files;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
        files.push_back(std::string(xdg) + "/keybridge/keybridged.conf");
    } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        files.push_back(std::string(home) + "/.config/keybridge/keybridged.conf");
    }
    files.push_back(ctx.datadir + "/keybridged.conf");
    auto trim = [](std::string text) {
        const auto first = text.find_first_not_of(" \t\r");
        if (first == std::string::npos) return std::string();
        return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
    };
    std::optional<std::string> wanted = ctx.args.value("chain");
    for (const auto& path : files) {
        std::ifstream in(path);
        if (!in) continue;
        std::map<std::string, std::string> chains;  // id -> URL
        std::optional<std::string> default_id;
        std::string line;
        while (std::getline(in, line)) {
            if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
            const auto eq = line.find('=');
            if (eq == std::string::npos) continue;
            const std::string key = trim(line.substr(0, eq));
            const std::string value = trim(line.substr(eq + 1));
            if (key == "chain-id") default_id = value;
            if (key != "chain") continue;
            // "ID=URL NAME" (or "ID=URL,NAME"): the URL ends at a blank or comma.
            const auto id_end = value.find('=');
            if (id_end == std::string::npos) continue;
            std::string url = trim(value.substr(id_end + 1));
            url = url.substr(0, url.find_first_of(" \t,"));
            chains[trim(value.substr(0, id_end))] = url;
        }
        const std::string id = wanted.value_or(default_id.value_or("1"));
        if (auto it = chains.find(id); it != chains.end() && !it->second.empty()) {
            return it->second;
        }
    }
    return fail(ErrorCode::InvalidArgument,
                "no node URL for chain " + wanted.value_or("(the default)") +
                    ": give --rpc-url URL, or configure 'chain = ID=URL' in keybridged.conf");
}

// Walks the phrase's accounts with a gap limit, asking the node which are in use, and adds
// those to the vault. The report lists what was added.
Result<Report> discover_into(Context& ctx, Vault& vault, const SecretBuffer& password,
                             Report report) {
    auto url = discovery_url(ctx);
    if (!url) return fail(url.error());
    auto client = ChainClient::create(*url);
    if (!client) return fail(client.error());
    std::string tmpl(vault::kBip44Template);
    if (ctx.args.flag("ledger-live")) tmpl = vault::kLedgerLiveTemplate;
    GapWalk walk(kDiscoveryGap);
    std::vector<std::uint32_t> used;
    std::uint32_t looked_at = 0;
    {
        Progress progress(!ctx.json, "looking for used accounts on " + client->host());
        KEYBRIDGE_TRY_STATUS(vault.scan_seed_addresses(
            password, tmpl, [&](std::uint32_t index, const core::Address& address) -> Result<bool> {
                ++looked_at;
                auto in_use = address_in_use(*client, address);
                if (!in_use) return fail(in_use.error());
                if (*in_use) used.push_back(index);
                return walk.record(*in_use);
            }));
    }
    auto added = [&] {
        Progress progress(!ctx.json, kDerivingKey);
        return vault.derive_indices(password, used, tmpl);
    }();
    if (!added) return fail(added.error());
    json::array list;
    std::string lines;
    for (const Account& a : *added) {
        list.push_back(account_json(a));
        lines += account_line(a) + "\n";
    }
    if (!report.text.empty()) report.text += "\n";
    report.text += "Discovery: " + std::to_string(used.size()) + " of " +
                   std::to_string(looked_at) + " accounts looked at are in use on " +
                   client->host() + "; " +
                   (added->empty() ? std::string("no new accounts added.") : "added:\n" + lines);
    report.data["discovered"] = std::move(list);
    report.data["scanned"] = looked_at;
    return report;
}

Result<Report> run_account_discover(Context& ctx) {
    auto vault = Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    auto password = vault_password(ctx);
    if (!password) return fail(password.error());
    {
        Progress progress(!ctx.json, kDerivingKey);
        KEYBRIDGE_TRY_STATUS(vault->check_password(*password));
    }
    return discover_into(ctx, *vault, *password, Report{});
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
        Progress progress(!ctx.json, kDerivingKey);
        account = vault->import_private_key(*key, *password, name);
    } else {
        auto text = vault::read_file(*keystore_file, 1024 * 1024);
        if (!text) return fail(text.error());
        auto ks_password =
            secret_from(ctx, "keystore-password-file", "Password of the keystore file: ");
        if (!ks_password) return fail(ks_password.error());
        auto password = vault_password(ctx);
        if (!password) return fail(password.error());
        Progress progress(!ctx.json, kDerivingKey);
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
    // Asked before any password, so a "no" costs nothing typed.
    KEYBRIDGE_TRY_STATUS(may_write(ctx, *out));
    auto password = vault_password(ctx);
    if (!password) return fail(password.error());
    {
        Progress progress(!ctx.json, kDerivingKey);
        KEYBRIDGE_TRY_STATUS(vault->check_password(*password));
    }
    auto export_password = new_password_from(ctx, "export-password-file", "export password");
    if (!export_password) return fail(export_password.error());
    auto keystore = [&] {
        Progress progress(!ctx.json, kDerivingKey);
        return vault->export_keystore(
            *address, *password, *export_password,
            ctx.args.flag("light-kdf") ? KdfStrength::Light : KdfStrength::Standard);
    }();
    if (!keystore) return fail(keystore.error());
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(*out, *keystore + "\n"));
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
    KEYBRIDGE_TRY_STATUS(may_write(ctx, *out));
    auto text = [&] {
        Progress progress(!ctx.json, kDerivingKey);
        return vault->backup(*password);
    }();
    if (!text) return fail(text.error());
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(*out, *text));
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
    // The backup keeps its password, which becomes the vault's: one that the rule for new
    // passwords refuses is replaced in the same run (asked before anything is written).
    std::optional<SecretBuffer> new_password;
    if (auto problem = password_problem(ctx, *password, "backup's password")) {
        tell("The " + problem->substr(4) +
             ". Choose a new vault password for the restored vault.\n");
        auto chosen = new_password_from(ctx, "new-password-file", "vault password");
        if (!chosen) {
            core::Error e = chosen.error();
            if (!ctx.args.value("new-password-file")) {
                e.detail =
                    *problem + "; give a new one with --new-password-file (" + e.detail + ")";
            }
            return fail(e);
        }
        new_password = std::move(*chosen);
    }
    auto vault = [&] {
        Progress progress(!ctx.json, kDerivingKey);
        return Vault::restore_backup(ctx.datadir, *text, *password, replace);
    }();
    if (!vault) return fail(vault.error());
    if (new_password) {
        Progress progress(!ctx.json, kDerivingKey);
        KEYBRIDGE_TRY_STATUS(vault->change_password(*password, *new_password));
    }
    Report report;
    report.text =
        "Restored " + std::to_string(vault->accounts().size()) + " accounts into " + ctx.datadir;
    if (new_password) report.text += ", under the new vault password";
    report.data["password_changed"] = new_password.has_value();
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
    {
        Progress progress(!ctx.json, kDerivingKey);
        KEYBRIDGE_TRY_STATUS(vault->check_password(*old_password));
    }
    auto new_password = new_password_from(ctx, "new-password-file", "vault password");
    if (!new_password) return fail(new_password.error());
    Progress progress(!ctx.json, kDerivingKey);
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
const OptionSpec kDiscover{"discover", "",
                           "then add the accounts in use on the chain (see 'account discover')"};
const OptionSpec kRpcUrl{"rpc-url", "URL",
                         "the chain's node for discovery (default: the configured chain's)"};
const OptionSpec kChain{"chain", "ID",
                        "discovery on this configured chain (default: keybridged.conf's "
                        "chain-id, else 1)"};
const OptionSpec kAllowWeak{"allow-weak-password", "",
                            "accept a new password the strength check refuses (for tests)"};

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
          kLightKdf,
          kAllowWeak},
         run_init},
        {"restore",
         "keybridge restore [--mnemonic-file F] [--password-file F]",
         "create a vault from an existing recovery phrase (checksum checked)",
         {{"mnemonic-file", "FILE",
           "read the phrase from FILE instead of the terminal (one word per prompt there)"},
          {"words", "N", "on the terminal: the phrase has N words (else asked)"},
          {"lang", "LANG", "on the terminal: the phrase's list, en or ja (else recognised)"},
          kPasswordFile,
          kPassphraseFile,
          kWithPassphrase,
          kLightKdf,
          kAllowWeak,
          kDiscover,
          kRpcUrl,
          kChain},
         run_restore},
        {"account list",
         "keybridge account list",
         "list the vault's accounts",
         {},
         run_account_list},
        {"account derive",
         "keybridge account derive [--count N] [--path-template T | --ledger-live]",
         "add accounts from the recovery phrase at the next unused indices",
         {{"count", "N",
           "how many accounts (default 1; over 20 asks first, over 1000 needs --yes)"},
          {"path-template", "T", "derivation path with {i}, default m/44'/60'/0'/0/{i}"},
          {"ledger-live", "", "use Ledger Live paths m/44'/60'/{i}'/0/0"},
          kPasswordFile},
         run_account_derive},
        {"account discover",
         "keybridge account discover [--rpc-url URL | --chain ID] [--ledger-live]",
         "add the phrase's accounts that have transactions or a balance on the chain "
         "(gap limit 20)",
         {kRpcUrl,
          kChain,
          {"ledger-live", "", "look at Ledger Live paths m/44'/60'/{i}'/0/0"},
          kPasswordFile},
         run_account_discover},
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
          kPasswordFile,
          kLightKdf,
          kAllowWeak},
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
         {{"file", "FILE", "the backup file (or give it as the argument)"},
          kPasswordFile,
          {"new-password-file", "FILE",
           "read a new vault password from FILE, used when the backup's password is too weak"},
          kAllowWeak},
         run_restore_backup,
         "FILE"},
        {"passwd",
         "keybridge passwd",
         "re-encrypt the vault under a new password, atomically",
         {kPasswordFile,
          {"new-password-file", "FILE", "read the new password from FILE"},
          kAllowWeak},
         run_passwd},
    };
}

}  // namespace keybridge::cli
