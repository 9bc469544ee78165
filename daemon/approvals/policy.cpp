#include "daemon/approvals/policy.h"

#include <algorithm>
#include <cctype>
#include <span>
#include <sstream>

#include "daemon/approvals/transaction_cost.h"
#include "daemon/approvals/warning_catalog.h"
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

// "1000", "5gwei", "2eth" → wei; `key` names the condition in the message.
core::Result<core::U256> parse_wei(const std::string& key, const std::string& text) {
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
                    key + " must be a whole number of wei, gwei or eth");
    return value;
}

// scheme://host[:port] in lower case, as browsers send Origin headers: a rule naming anything
// else could never match.
bool origin_well_formed(std::string_view origin) {
    const auto colon = origin.find("://");
    if (colon == std::string_view::npos || colon == 0) return false;
    const std::string_view scheme = origin.substr(0, colon);
    if (!std::islower(static_cast<unsigned char>(scheme[0]))) return false;
    for (unsigned char c : scheme) {
        if (!std::islower(c) && !std::isdigit(c) && c != '+' && c != '-' && c != '.') return false;
    }
    std::string_view rest = origin.substr(colon + 3);
    std::string_view host = rest;
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {  // [IPv6]
        const auto close = rest.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        for (unsigned char c : rest.substr(1, close - 1)) {
            if (!std::isxdigit(c) && c != ':' && c != '.') return false;
            if (std::isupper(c)) return false;
        }
        host = rest.substr(0, close + 1);
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return false;
        if (!rest.empty()) port = rest.substr(1);
        if (!rest.empty() && port.empty()) return false;
    } else {
        const auto port_colon = rest.find(':');
        if (port_colon != std::string_view::npos) {
            host = rest.substr(0, port_colon);
            port = rest.substr(port_colon + 1);
            if (port.empty()) return false;
        }
        if (host.empty() || host.front() == '.' || host.back() == '.' || host.front() == '-')
            return false;
        for (unsigned char c : host) {
            if (!std::islower(c) && !std::isdigit(c) && c != '.' && c != '-' && c != '_')
                return false;
        }
    }
    if (!port.empty()) {
        if (port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
            return false;
        const int number = std::stoi(std::string(port));
        if (number < 1 || number > 65535) return false;
    }
    return true;
}

std::string joined(std::span<const std::string_view> names) {
    std::string out;
    for (auto name : names)
        out.append(out.empty() ? "" : ", ").append(name);
    return out;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& value) {
    if (patterns.empty()) return true;
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return p == "*" || p == value; });
}

}  // namespace

namespace {

// The warning conditions of a rule, and the rule that an approve rule never matches a danger
// warning it does not name, nor an explanation made on a partial history (a warning the whole
// history would have raised may be missing: a person decides).
bool warnings_match(const Policy::Rule& rule, const std::vector<Warning>& request_warnings) {
    if (rule.action == PolicyAction::Approve &&
        std::any_of(request_warnings.begin(), request_warnings.end(),
                    [](const Warning& w) { return w.id == warnings::kAuditHistoryLoading; })) {
        return false;
    }
    auto named = [](const std::vector<std::string>& ids, const Warning& w) {
        return std::find(ids.begin(), ids.end(), w.id) != ids.end();
    };
    if (!rule.required_warnings.empty() &&
        std::none_of(request_warnings.begin(), request_warnings.end(),
                     [&](const Warning& w) { return named(rule.required_warnings, w); })) {
        return false;
    }
    for (const Warning& w : request_warnings) {
        if (named(rule.unless_warnings, w)) return false;
        if (rule.unless_severity && w.severity >= *rule.unless_severity) return false;
        if (named(rule.allowed_warnings, w)) continue;
        if (rule.warnings_none) return false;
        if (rule.max_severity && w.severity > *rule.max_severity) return false;
        if (rule.action == PolicyAction::Approve && w.severity == Severity::Danger) return false;
    }
    return true;
}

// The cost limits. An approve rule judges the worst case, value plus the maximum fee (a node
// or page choosing the fee must not slip past a limit written for payments). A deny or ask rule
// only restricts: it keeps judging the value alone, so a rule written before fees counted
// matches at least what it did.
bool costs_match(const Policy::Rule& rule, const ApprovalRequest& r) {
    if (rule.max_fee && r.max_fee > *rule.max_fee) return false;
    if (!rule.max_value) return true;
    const core::U256 cost =
        rule.action == PolicyAction::Approve ? saturating_add(r.value, r.max_fee) : r.value;
    return cost <= *rule.max_value;
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
                for (const auto& v : values) {
                    if (v != "local" && v != "*" && !origin_well_formed(v)) {
                        return fail(ErrorCode::InvalidArgument,
                                    where + "origin '" + v +
                                        "' is not local, * or an origin such as "
                                        "https://app.example or http://localhost:3000 (lower "
                                        "case, no path)");
                    }
                }
                rule.origins.insert(rule.origins.end(), values.begin(), values.end());
            } else if (key == "method") {
                for (const auto& v : values) {
                    if (std::find(std::begin(kApprovalMethods), std::end(kApprovalMethods), v) ==
                        std::end(kApprovalMethods)) {
                        return fail(ErrorCode::InvalidArgument,
                                    where + "unknown method '" + v +
                                        "': rules decide only requests of " +
                                        joined(kApprovalMethods) +
                                        " (wallet_requestPermissions asks as "
                                        "eth_requestAccounts)");
                    }
                }
                rule.methods.insert(rule.methods.end(), values.begin(), values.end());
            } else if (key == "warnings") {
                if (values.size() != 1 || values[0] != "none")
                    return fail(ErrorCode::InvalidArgument,
                                where + "warnings takes one value: none");
                rule.warnings_none = true;
            } else if (key == "max-severity") {
                auto severity = values.size() == 1 ? parse_severity(values[0]) : std::nullopt;
                if (!severity || *severity == Severity::Danger) {
                    return fail(ErrorCode::InvalidArgument,
                                where +
                                    "max-severity takes one value: info or warning (danger "
                                    "warnings are approved only when named with "
                                    "allow-warning=)");
                }
                rule.max_severity = *severity;
            } else if (key == "unless-warning") {
                for (const auto& v : values) {
                    if (auto severity = parse_severity(v)) {
                        rule.unless_severity = rule.unless_severity
                                                   ? std::min(*rule.unless_severity, *severity)
                                                   : *severity;
                    } else if (warnings::is_known_id(v)) {
                        rule.unless_warnings.push_back(v);
                    } else {
                        return fail(ErrorCode::InvalidArgument,
                                    where +
                                        "unless-warning takes info, warning, danger or a "
                                        "warning id; unknown '" +
                                        v + "'");
                    }
                }
            } else if (key == "allow-warning" || key == "warning") {
                for (const auto& v : values) {
                    if (!warnings::is_known_id(v)) {
                        return fail(ErrorCode::InvalidArgument,
                                    where + "unknown warning '" + v + "' (" +
                                        joined(warnings::known_ids()) + ")");
                    }
                }
                auto& list = key == "warning" ? rule.required_warnings : rule.allowed_warnings;
                list.insert(list.end(), values.begin(), values.end());
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
            } else if (key == "max-value" || key == "max-fee") {
                if (values.size() != 1)
                    return fail(ErrorCode::InvalidArgument, where + key + " takes one value");
                auto wei = parse_wei(key, values[0]);
                if (!wei) return fail(ErrorCode::InvalidArgument, where + wei.error().detail);
                (key == "max-value" ? rule.max_value : rule.max_fee) = *wei;
            } else {
                return fail(ErrorCode::InvalidArgument,
                            where + "unknown condition '" + key +
                                "' (origin, method, account, chain, max-value, max-fee, "
                                "warnings, max-severity, allow-warning, warning, unless-warning)");
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
    // Token clients without an Origin are "local" here as everywhere (kLocalClientOrigin).
    const std::string origin = r.origin.empty() ? std::string(kLocalClientOrigin) : r.origin;
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
        if (!costs_match(rule, r)) continue;
        if (!warnings_match(rule, r.warnings)) continue;
        // An Origin header proves nothing: an approve rule needs a caller that presented the
        // token, so an unproven caller it matches goes to a person. A deny only restricts, so it
        // holds for every caller (a script cannot escape it by claiming to be a page).
        if (rule.action == PolicyAction::Approve && !r.authenticated)
            return {PolicyAction::Ask, rule.line};
        return {rule.action, rule.line};
    }
    return {PolicyAction::Ask, 0};
}

}  // namespace keybridge::daemon::approvals
