#include "daemon/approvals/policy.h"

#include <algorithm>
#include <sstream>

#include "store/vault/secure_file.h"

namespace keybridge::daemon::approvals {
namespace {

using core::ErrorCode;
using core::fail;

std::vector<std::string> split(std::string_view text, char sep) {
    std::vector<std::string> out;
    std::string current;
    for (char c : text) {
        if (c == sep) {
            out.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    out.push_back(current);
    return out;
}

// "1000", "5gwei", "2eth" → wei.
core::Result<core::U256> parse_wei(const std::string& text) {
    std::string digits = text;
    unsigned zeros = 0;
    auto ends_with = [&](std::string_view suffix) {
        return digits.size() > suffix.size() &&
               digits.compare(digits.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with("gwei")) {
        digits.resize(digits.size() - 4);
        zeros = 9;
    } else if (ends_with("eth")) {
        digits.resize(digits.size() - 3);
        zeros = 18;
    } else if (ends_with("wei")) {
        digits.resize(digits.size() - 3);
    }
    auto value = core::parse_u256_decimal(digits + std::string(zeros, '0'));
    if (!value)
        return fail(ErrorCode::InvalidArgument,
                    "max-value must be a whole number of wei, gwei or eth");
    return value;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& value) {
    if (patterns.empty()) return true;
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return p == "*" || p == value; });
}

}  // namespace

core::Result<Policy> Policy::parse(std::string_view text, const std::string& name) {
    std::vector<Rule> rules;
    std::istringstream in{std::string(text)};
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        const std::string where = name + ":" + std::to_string(number) + ": ";
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string action;
        if (!(words >> action)) continue;
        Rule rule;
        rule.line = number;
        if (action == "approve")
            rule.action = PolicyAction::Approve;
        else if (action == "deny")
            rule.action = PolicyAction::Deny;
        else if (action == "ask")
            rule.action = PolicyAction::Ask;
        else
            return fail(ErrorCode::InvalidArgument,
                        where + "a rule starts with approve, deny or ask, not '" + action + "'");
        std::string condition;
        while (words >> condition) {
            const auto eq = condition.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == condition.size()) {
                return fail(ErrorCode::InvalidArgument,
                            where + "expected key=value, got '" + condition + "'");
            }
            const std::string key = condition.substr(0, eq);
            const auto values = split(condition.substr(eq + 1), ',');
            if (std::any_of(values.begin(), values.end(),
                            [](const std::string& v) { return v.empty(); })) {
                return fail(ErrorCode::InvalidArgument,
                            where + "empty value in '" + condition + "'");
            }
            if (key == "origin") {
                rule.origins.insert(rule.origins.end(), values.begin(), values.end());
            } else if (key == "method") {
                rule.methods.insert(rule.methods.end(), values.begin(), values.end());
            } else if (key == "account") {
                for (const auto& v : values) {
                    auto address = core::Address::parse(v);
                    if (!address)
                        return fail(ErrorCode::InvalidArgument,
                                    where + "account: " + address.error().detail);
                    rule.accounts.push_back(*address);
                }
            } else if (key == "chain") {
                for (const auto& v : values) {
                    auto id = core::parse_u256_decimal(v);
                    if (!id || *id == 0 || *id > core::U256((std::uint64_t{1} << 53) - 1)) {
                        return fail(ErrorCode::InvalidArgument,
                                    where + "chain must be a chain id such as 1");
                    }
                    rule.chains.push_back(static_cast<std::uint64_t>(*id));
                }
            } else if (key == "max-value") {
                if (values.size() != 1)
                    return fail(ErrorCode::InvalidArgument, where + "max-value takes one value");
                auto wei = parse_wei(values[0]);
                if (!wei) return fail(ErrorCode::InvalidArgument, where + wei.error().detail);
                rule.max_value = *wei;
            } else {
                return fail(ErrorCode::InvalidArgument,
                            where + "unknown condition '" + key +
                                "' (origin, method, account, chain, max-value)");
            }
        }
        rules.push_back(std::move(rule));
    }
    return Policy(std::move(rules));
}

core::Result<Policy> Policy::load(const std::string& path) {
    auto text = vault::read_file(path, 1024 * 1024);
    if (!text) return fail(text.error());
    return parse(*text, path);
}

std::pair<PolicyAction, std::size_t> Policy::evaluate(const ApprovalRequest& r) const {
    // An Origin header proves nothing: only callers that presented the token are decided here.
    if (!r.authenticated) return {PolicyAction::Ask, 0};
    // Token clients without an Origin are "local" in the rules.
    const bool local = r.origin.empty() || r.origin == kLocalClientOrigin;
    const std::string origin = local ? "local" : r.origin;
    for (const Rule& rule : rules_) {
        if (!matches_any(rule.origins, origin)) continue;
        if (!matches_any(rule.methods, r.method)) continue;
        if (!rule.accounts.empty() &&
            (!r.account || std::find(rule.accounts.begin(), rule.accounts.end(), *r.account) ==
                               rule.accounts.end())) {
            continue;
        }
        if (!rule.chains.empty() &&
            std::find(rule.chains.begin(), rule.chains.end(), r.chain_id) == rule.chains.end()) {
            continue;
        }
        if (rule.max_value && r.value > *rule.max_value) continue;
        return {rule.action, rule.line};
    }
    return {PolicyAction::Ask, 0};
}

}  // namespace keybridge::daemon::approvals
