#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "daemon/approvals/approval.h"

namespace keybridge::daemon::approvals {

enum class PolicyAction { Approve, Deny, Ask };

// Rules for unattended use, loaded from the --policy file (format in docs/POLICY.md). The first
// matching rule decides; no match means Ask. Deny rules hold for every caller; an approve rule
// only for callers that presented the token: a bare Origin header proves nothing, so a request
// it would approve goes to an interactive approver instead.
class Policy {
  public:
    struct Rule {
        std::size_t line = 0;  // in the file, for messages
        PolicyAction action = PolicyAction::Ask;
        std::vector<std::string> origins;     // empty = any; "*" = any
        std::vector<std::string> methods;     // empty = any
        std::vector<core::Address> accounts;  // empty = any
        std::vector<std::uint64_t> chains;    // empty = any
        // Cost limits, in wei. An approve rule's max_value bounds the most the transaction can
        // cost (value + maximum fee); a deny or ask rule's bounds the value alone, as before
        // fees counted, so that such a rule never denies or asks less. max_fee bounds the
        // maximum fee (gas × maxFeePerGas or gasPrice) for every action.
        std::optional<core::U256> max_value;
        std::optional<core::U256> max_fee;
        // Warnings (warning_catalog.h). `max_severity`: every warning of the request, except
        // those in `allowed_warnings`, is at most this (nullopt = no warning at all when
        // `warnings_none`, otherwise any). `required_warnings`: the request carries one of them.
        // An approve rule never matches a Danger warning that `allowed_warnings` does not name.
        bool warnings_none = false;
        std::optional<Severity> max_severity;
        std::vector<std::string> allowed_warnings;
        std::vector<std::string> required_warnings;
        // unless-warning=: the rule does not match a request carrying a warning of at least
        // `unless_severity`, or one of `unless_warnings`.
        std::optional<Severity> unless_severity;
        std::vector<std::string> unless_warnings;
    };

    Policy() = default;
    explicit Policy(std::vector<Rule> rules) : rules_(std::move(rules)) {}

    // Parses the file's text; InvalidArgument naming "FILE:LINE" for a bad rule: an unknown
    // action, condition, method (methods that never ask for approval included), warning id or
    // severity, or an origin that is not local, * or scheme://host[:port].
    [[nodiscard]] static core::Result<Policy> parse(std::string_view text, const std::string& name);
    [[nodiscard]] static core::Result<Policy> load(const std::string& path);

    // The action for this request, and the line of the rule that decided (0 = default).
    std::pair<PolicyAction, std::size_t> evaluate(const ApprovalRequest& request) const;
    std::size_t size() const { return rules_.size(); }

  private:
    std::vector<Rule> rules_;
};

}  // namespace keybridge::daemon::approvals
