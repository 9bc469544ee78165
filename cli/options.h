#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace keybridge::cli {

// One declared option of a command; --help is generated from these declarations.
struct OptionSpec {
    std::string name;        // without the leading "--"
    std::string value_name;  // empty for a flag
    std::string help;
};

struct ParsedArgs {
    std::map<std::string, std::string> values;  // options that take a value
    std::vector<std::string> flags;             // flags that were given
    std::vector<std::string> positionals;

    bool flag(std::string_view name) const;
    std::optional<std::string> value(std::string_view name) const;
};

// Parses "--name value", "--name=value" and flags against specs. Unknown options, a missing
// value, or a value given to a flag: InvalidArgument naming the option.
[[nodiscard]] core::Result<ParsedArgs> parse_args(std::span<const std::string> args,
                                                  std::span<const OptionSpec> specs);

// "  --name VALUE   help" lines, aligned.
std::string format_options(std::span<const OptionSpec> specs);

}  // namespace keybridge::cli
