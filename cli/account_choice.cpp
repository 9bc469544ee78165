#include "cli/account_choice.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace keybridge::cli {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;

namespace {

bool flag(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->as_bool();
}

// The words of an answer: split at commas and white space.
std::vector<std::string> words(std::string_view answer) {
    std::vector<std::string> out;
    std::string word;
    for (char c : answer) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            if (!word.empty()) out.push_back(std::move(word));
            word.clear();
        } else {
            word += c;
        }
    }
    if (!word.empty()) out.push_back(std::move(word));
    return out;
}

// The index of the candidate a word names (its 1-based number or its address), or npos.
std::size_t candidate_index(const std::string& word,
                            const std::vector<ConnectCandidate>& candidates) {
    if (std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (word.size() > 6) return std::string::npos;
        const std::size_t n = std::stoul(word);
        return n >= 1 && n <= candidates.size() ? n - 1 : std::string::npos;
    }
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (core::ascii_lower(candidates[i].address) == core::ascii_lower(word)) return i;
    }
    return std::string::npos;
}

}  // namespace

std::vector<ConnectCandidate> connect_candidates(const json::object& request) {
    std::vector<ConnectCandidate> out;
    const json::value* details = request.if_contains("details");
    if (details == nullptr || !details->is_object()) return out;
    const json::value* accounts = details->as_object().if_contains("accounts");
    if (accounts == nullptr || !accounts->is_array()) return out;
    for (const json::value& entry : accounts->as_array()) {
        const json::object* o = entry.if_object();
        const json::value* address = o != nullptr ? o->if_contains("address") : nullptr;
        if (address == nullptr || !address->is_string()) continue;
        ConnectCandidate c;
        c.address = std::string(address->as_string());
        if (const json::value* name = o->if_contains("name"); name != nullptr && name->is_string())
            c.name = std::string(name->as_string());
        c.granted = flag(*o, "granted");
        c.is_default = flag(*o, "default");
        out.push_back(std::move(c));
    }
    return out;
}

std::string default_selection(const std::vector<ConnectCandidate>& candidates) {
    std::string out;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (!candidates[i].is_default) continue;
        if (!out.empty()) out += ",";
        out += std::to_string(i + 1);
    }
    return out;
}

core::Result<std::vector<std::string>> select_accounts(
    std::string_view answer, const std::vector<ConnectCandidate>& candidates) {
    const std::vector<std::string> given = words(answer);
    std::vector<std::string> chosen;
    if (given.empty()) {
        for (const auto& c : candidates) {
            if (c.is_default) chosen.push_back(c.address);
        }
        return chosen;
    }
    if (given.size() == 1 && core::ascii_lower(given[0]) == "all") {
        for (const auto& c : candidates)
            chosen.push_back(c.address);
        return chosen;
    }
    for (const auto& word : given) {
        const std::size_t i = candidate_index(word, candidates);
        if (i == std::string::npos) {
            return fail(ErrorCode::InvalidArgument,
                        "'" + word + "' is not in the list (numbers 1 to " +
                            std::to_string(candidates.size()) + ", or 'all')");
        }
        if (std::find(chosen.begin(), chosen.end(), candidates[i].address) != chosen.end()) {
            return fail(ErrorCode::InvalidArgument,
                        "account " + std::to_string(i + 1) + " is named twice");
        }
        chosen.push_back(candidates[i].address);
    }
    return chosen;
}

}  // namespace keybridge::cli
