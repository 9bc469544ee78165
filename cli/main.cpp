// keybridge: the command-line tool for the vault and for the running daemon (unlock, approvals,
// permissions).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/exit_codes.h"
#include "cli/terminal_text.h"
#include "core/process_guard.h"
#include "store/vault/vault.h"

namespace {

using namespace keybridge;
using namespace keybridge::cli;

const std::vector<OptionSpec>& global_options() {
    static const std::vector<OptionSpec> specs = {
        {"datadir", "DIR",
         "data folder (default $XDG_DATA_HOME/keybridge or ~/.local/share/keybridge)"},
        {"json", "", "print machine-readable JSON on stdout"},
        {"yes", "", "assume yes for confirmations (unattended use)"},
        {"help", "", "show help for the tool or a command"},
    };
    return specs;
}

constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok, 1 failure (I/O, vault already exists, keybridged not running),\n"
    "            2 usage error (unknown, missing or conflicting options, a value outside\n"
    "              its set), 3 wrong password,\n"
    "            4 not found (no vault, unknown account), 5 declined by the user,\n"
    "            6 invalid input (phrase, key, keystore or backup file, a typed password).\n";

void print_tool_help(const std::vector<Command>& commands) {
    std::printf("Usage: keybridge [global options] COMMAND [options]\n\nCommands:\n");
    std::size_t width = 0;
    for (const auto& c : commands)
        width = std::max(width, c.name.size());
    for (const auto& c : commands) {
        std::printf("  %-*s  %s\n", static_cast<int>(width), c.name.c_str(), c.summary.c_str());
    }
    std::printf("\nGlobal options:\n%s\n%s", format_options(global_options()).c_str(),
                kExitCodesHelp);
    std::printf(
        "\nPasswords and phrases are read from the terminal without echo, or from files given\n"
        "with --password-file and similar options; never from the command line.\n"
        "Run 'keybridge COMMAND --help' for a command's options.\n");
}

void print_command_help(const Command& c) {
    std::printf("Usage: %s\n\n%s\n\nOptions:\n%s\nGlobal options:\n%s\n%s", c.usage.c_str(),
                c.summary.c_str(), format_options(c.options).c_str(),
                format_options(global_options()).c_str(), kExitCodesHelp);
}

int report_error(const core::Error& error, bool json, int code) {
    // Details quote names, origins and the daemon's messages: escaped like every output (line
    // breaks kept: typo hints list one word per line).
    std::fprintf(stderr, "keybridge: error: %s\n",
                 terminal_safe(error.detail, /*keep_newlines=*/true).c_str());
    if (json) {
        boost::json::object out;
        out["ok"] = false;
        out["error"] = {{"code", std::string(core::to_string(error.code))},
                        {"message", error.detail}};
        std::cout << json_for_terminal(boost::json::serialize(out)) << "\n";
    }
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    // Secrets pass through this process: no core dumps, secrets in one locked arena, private
    // files.
    const core::ProcessGuard guard = core::protect_process();
    ::umask(077);
    if (guard.heap.state == core::SecureHeapState::Failed) {
        std::fprintf(stderr, "keybridge: error: %s\n", core::secure_heap_problem(guard).c_str());
        return kExitFailure;
    }
    if (guard.heap.state == core::SecureHeapState::Unlocked)
        std::fprintf(stderr, "keybridge: warning: %s\n", core::secure_heap_problem(guard).c_str());

    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<Command> commands = vault_commands();
    for (auto& c : daemon_commands())
        commands.push_back(std::move(c));
    for (auto& c : audit_commands())
        commands.push_back(std::move(c));
    for (auto& c : device_commands())
        commands.push_back(std::move(c));
    commands.push_back({"version",
                        "keybridge version [--json]",
                        "print the version (as --version does)",
                        {},
                        [](Context&) {
                            Report report;
                            report.data["version"] = KEYBRIDGE_VERSION;
                            report.text = std::string("keybridge ") + KEYBRIDGE_VERSION;
                            return core::Result<Report>(std::move(report));
                        }});

    // Command words are the leading non-option tokens (option values are skipped), so global
    // options may stand before or after the command: "keybridge --datadir D account list".
    auto takes_value = [&](const std::string& arg) {
        std::string name = arg.substr(2);
        if (name.find('=') != std::string::npos) return false;
        auto has = [&](const std::vector<OptionSpec>& specs) {
            return std::any_of(specs.begin(), specs.end(), [&](const OptionSpec& o) {
                return o.name == name && !o.value_name.empty();
            });
        };
        if (has(global_options())) return true;
        return std::any_of(commands.begin(), commands.end(),
                           [&](const Command& c) { return has(c.options); });
    };
    std::vector<std::size_t> word_positions;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i].rfind("--", 0) == 0) {
            if (takes_value(args[i])) ++i;
            continue;
        }
        word_positions.push_back(i);
    }
    std::vector<std::string> words;
    for (std::size_t pos : word_positions)
        words.push_back(args[pos]);
    const Command* command = nullptr;
    std::size_t used_words = 0;
    for (const auto& c : commands) {
        std::string joined;
        for (std::size_t n = 1; n <= words.size(); ++n) {
            joined += (n > 1 ? " " : "") + words[n - 1];
            if (joined == c.name && n > used_words) {
                command = &c;
                used_words = n;
            }
        }
    }
    const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
    const bool help = std::find(args.begin(), args.end(), "--help") != args.end() ||
                      std::find(args.begin(), args.end(), "-h") != args.end();
    if (command == nullptr) {
        if (help || args.empty()) {
            print_tool_help(commands);
            return args.empty() ? kExitUsage : kExitOk;
        }
        if (args.size() == 1 && args[0] == "--version") {
            std::printf("keybridge %s\n", KEYBRIDGE_VERSION);
            return kExitOk;
        }
        std::string given;
        for (const auto& w : words)
            given += (given.empty() ? "" : " ") + w;
        return report_error({core::ErrorCode::InvalidArgument,
                             given.empty() ? "no command given (see --help)"
                                           : "unknown command '" + given + "' (see --help)"},
                            json, kExitUsage);
    }
    if (help) {
        print_command_help(*command);
        return kExitOk;
    }

    std::vector<std::string> command_args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const bool is_command_word =
            std::find(word_positions.begin(),
                      word_positions.begin() + static_cast<long>(used_words),
                      i) != word_positions.begin() + static_cast<long>(used_words);
        if (!is_command_word) command_args.push_back(args[i]);
    }
    std::vector<OptionSpec> specs = command->options;
    specs.insert(specs.end(), global_options().begin(), global_options().end());
    auto parsed = parse_args(command_args, specs);
    if (!parsed) return report_error(parsed.error(), json, kExitUsage);
    // Stray words (a typo'd option, "account derive 5" meant as --count 5) must not be ignored.
    // They are not quoted back: someone may have typed a phrase or password there.
    const std::size_t allowed_positionals = command->argument.empty() ? 0 : 1;
    if (parsed->positionals.size() > allowed_positionals) {
        const std::string expected = command->argument.empty()
                                         ? "takes no arguments"
                                         : "takes at most one " + command->argument + " argument";
        return report_error(
            {core::ErrorCode::InvalidArgument, "'" + command->name + "' " + expected + ", got " +
                                                   std::to_string(parsed->positionals.size()) +
                                                   " (options start with --; see --help)"},
            json, kExitUsage);
    }

    Context ctx;
    ctx.json = parsed->flag("json");
    ctx.yes = parsed->flag("yes");
    ctx.datadir = parsed->value("datadir").value_or(vault::Vault::default_datadir());
    ctx.args = std::move(*parsed);

    core::Result<Report> report = core::fail(core::ErrorCode::Internal, "not run");
    try {
        report = command->run(ctx);
    } catch (const core::SecureMemoryExhausted&) {
        report = core::fail(core::ErrorCode::LimitExceeded,
                            "the locked memory for secrets is full (" +
                                std::to_string(core::secure_heap_used() / 1024) + " of " +
                                std::to_string(guard.heap.size / 1024) + " KiB in use)");
    }
    if (!report) return report_error(report.error(), ctx.json, exit_code_for(report.error().code));
    if (ctx.json && report->streamed) {
        // Its JSON lines are out already.
    } else if (ctx.json) {
        report->data["ok"] = true;
        std::cout << json_for_terminal(boost::json::serialize(report->data)) << "\n";
    } else if (!report->text.empty()) {
        // Reports quote account and device names, origins and what keybridged says: one last
        // escape here covers every command (text already escaped passes unchanged).
        const std::string text = terminal_safe(report->text, /*keep_newlines=*/true);
        std::cout << text;
        if (text.back() != '\n') std::cout << "\n";
    }
    return kExitOk;
}
