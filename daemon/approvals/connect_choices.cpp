#include "daemon/approvals/connect_choices.h"

#include <algorithm>
#include <string>

namespace keybridge::daemon::approvals {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;

core::Result<std::vector<core::Address>> parse_account_choice(
    const json::value& arg, const std::vector<core::Address>& vault_accounts) {
    const json::object* o = arg.if_object();
    if (o == nullptr) {
        return fail(ErrorCode::InvalidArgument,
                    "params[2] must be an object like {\"accounts\": [\"0x…\"]}");
    }
    for (const auto& [key, value] : *o) {
        if (key != "accounts") {
            return fail(ErrorCode::InvalidArgument,
                        "params[2]: unknown field '" + std::string(key) + "' (only accounts)");
        }
    }
    const json::value* list = o->if_contains("accounts");
    if (list == nullptr || !list->is_array() || list->as_array().empty()) {
        return fail(ErrorCode::InvalidArgument,
                    "params[2].accounts must be a non-empty array of the vault's addresses");
    }
    std::vector<core::Address> chosen;
    for (std::size_t i = 0; i < list->as_array().size(); ++i) {
        const json::value& item = list->as_array()[i];
        const std::string where = "params[2].accounts[" + std::to_string(i) + "]";
        std::optional<core::Address> address;
        if (item.is_string()) {
            if (auto parsed = core::Address::parse(item.as_string())) address = *parsed;
        }
        if (!address) {
            return fail(ErrorCode::InvalidArgument,
                        where + " must be a 20-byte hex address (0x + 40 hex digits)");
        }
        if (std::find(vault_accounts.begin(), vault_accounts.end(), *address) ==
            vault_accounts.end()) {
            return fail(ErrorCode::InvalidArgument, where + ": " + address->to_checksum_string() +
                                                        " is not an account of the vault");
        }
        if (std::find(chosen.begin(), chosen.end(), *address) != chosen.end()) {
            return fail(ErrorCode::InvalidArgument,
                        where + ": " + address->to_checksum_string() + " is listed twice");
        }
        chosen.push_back(*address);
    }
    return chosen;
}

core::Status ConnectChoices::decide(std::uint64_t request_id, ConnectChoice choice,
                                    const std::function<core::Status()>& decide_in_queue) {
    std::lock_guard one_at_a_time(deciding_);
    {
        std::lock_guard lock(mutex_);
        // An entry left means an earlier decision succeeded: this one would fail in the queue,
        // and must not replace the choice that earlier one's callback is about to take.
        if (choices_.count(request_id) != 0)
            return fail(ErrorCode::NotFound, "no pending request " + std::to_string(request_id));
        choices_[request_id] = std::move(choice);
    }
    core::Status decided = decide_in_queue();
    if (!decided) {
        std::lock_guard lock(mutex_);
        choices_.erase(request_id);
    }
    return decided;
}

// GCC 12 at -O2 reports a false "may be used uninitialized" for a moved std::optional<vector>
// member (GCC bug 105562); the value is always initialised here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
std::optional<ConnectChoice> ConnectChoices::take(std::uint64_t request_id) {
    std::lock_guard lock(mutex_);
    auto it = choices_.find(request_id);
    if (it == choices_.end()) return std::nullopt;
    ConnectChoice choice = std::move(it->second);
    choices_.erase(it);
    return choice;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace keybridge::daemon::approvals
