#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cli/options.h"
#include "core/result.h"

namespace keybridge::cli {

// What every command sees: the global options and its own parsed arguments.
struct Context {
    std::string datadir;
    bool json = false;  // machine-readable output
    bool yes = false;   // answer confirmations with yes; skip quizzes
    ParsedArgs args;
};

// A command's result: text for people, an object for --json.
struct Report {
    std::string text;
    boost::json::object data;
    // With --json the command printed its output itself (JSON lines): no summary object follows.
    bool streamed = false;
};

struct Command {
    std::string name;     // "account derive"
    std::string usage;    // "keybridge account derive [--count N] ..."
    std::string summary;  // one line
    std::vector<OptionSpec> options;
    std::function<core::Result<Report>(Context&)> run;
    // The one positional argument the command accepts ("ADDRESS", "FILE"); empty when it takes
    // none. Any other non-option word on the command line is a usage error.
    std::string argument = {};
};

// The commands of each area, registered in one function each.
std::vector<Command> vault_commands();
std::vector<Command> daemon_commands();  // status, unlock, lock, approve, permissions ...
std::vector<Command> audit_commands();   // audit (reads the data folder's files)
std::vector<Command> device_commands();  // devices, account add --ledger, doctor

}  // namespace keybridge::cli
