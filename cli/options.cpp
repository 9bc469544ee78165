#include "cli/options.h"

#include <algorithm>

namespace keybridge::cli {

bool ParsedArgs::flag(std::string_view name) const {
    return std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
}

core::Result<ParsedArgs> parse_args(std::span<const std::string> args,
                                    std::span<const OptionSpec> specs) {
    ParsedArgs out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            out.positionals.insert(out.positionals.end(), args.begin() + static_cast<long>(i) + 1,
                                   args.end());
            break;
        }
        if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
            out.positionals.push_back(arg);
            continue;
        }
        std::string name = arg.substr(2);
        std::optional<std::string> inline_value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name.resize(eq);
        }
        auto spec = std::find_if(specs.begin(), specs.end(),
                                 [&](const OptionSpec& s) { return s.name == name; });
        if (spec == specs.end()) {
            return core::fail(core::ErrorCode::InvalidArgument,
                              "unknown option --" + name + " (see --help)");
        }
        if (spec->value_name.empty()) {
            if (inline_value) {
                return core::fail(core::ErrorCode::InvalidArgument,
                                  "option --" + name + " takes no value");
            }
            out.flags.push_back(name);
            continue;
        }
        if (inline_value) {
            out.values[name] = *inline_value;
        } else if (i + 1 < args.size()) {
            out.values[name] = args[++i];
        } else {
            return core::fail(core::ErrorCode::InvalidArgument,
                              "option --" + name + " needs a value (" + spec->value_name + ")");
        }
    }
    return out;
}

std::string format_options(std::span<const OptionSpec> specs) {
    std::size_t width = 0;
    std::vector<std::string> heads;
    for (const auto& s : specs) {
        std::string head = "--" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
        width = std::max(width, head.size());
        heads.push_back(std::move(head));
    }
    std::string out;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        out +=
            "  " + heads[i] + std::string(width - heads[i].size() + 2, ' ') + specs[i].help + "\n";
    }
    return out;
}

}  // namespace keybridge::cli
