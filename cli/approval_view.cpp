#include "cli/approval_view.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/bytes.h"
#include "core/uint256.h"

namespace keybridge::cli {
namespace {

namespace json = boost::json;

constexpr std::size_t kHexLineChars = 64;  // 32 bytes per line of a hex dump

std::string str(const json::value* v) {
    if (v == nullptr || v->is_null()) return "";
    if (v->is_string()) return terminal_safe(v->as_string());
    return terminal_safe(json::serialize(*v));
}

const json::value* at(const json::object& o, std::string_view key) {
    return o.if_contains(key);
}

// "0x1a" or "26" → the integer's decimal digits, or nullopt.
std::optional<std::string> decimal_of(const json::value* v) {
    if (v == nullptr) return std::nullopt;
    if (v->is_uint64()) return std::to_string(v->as_uint64());
    if (v->is_int64() && v->as_int64() >= 0) return std::to_string(v->as_int64());
    if (!v->is_string()) return std::nullopt;
    auto parsed = core::parse_u256(v->as_string());
    if (!parsed) return std::nullopt;
    return core::u256_to_decimal(*parsed);
}

std::string eth_amount(const std::string& wei) {
    return format_units(wei, 18) + " ETH (" + wei + " wei)";
}
std::string gwei_amount(const std::string& wei) {
    return format_units(wei, 9) + " gwei (" + wei + " wei)";
}

class Writer {
  public:
    void line(int indent, const std::string& text) {
        out_ += std::string(static_cast<std::size_t>(indent) * 2, ' ') + text + "\n";
    }
    // "Label:      value" with labels padded to one column.
    void field(int indent, const std::string& label, const std::string& value,
               std::size_t width = 17) {
        std::string head = label + ":";
        if (head.size() < width)
            head += std::string(width - head.size(), ' ');
        else
            head += " ";
        line(indent, head + value);
    }
    std::string& text() { return out_; }

  private:
    std::string out_;
};

// A JSON value as an indented tree: objects as "key: value" lines, arrays as "[i]: value".
void tree(Writer& w, int indent, const std::string& label, const json::value& v) {
    const std::string head = label.empty() ? "" : label + ":";
    if (v.is_object()) {
        const auto& o = v.as_object();
        if (o.empty()) return w.line(indent, head + " {}");
        if (!head.empty()) w.line(indent, head);
        for (const auto& [key, value] : o)
            tree(w, indent + (head.empty() ? 0 : 1), terminal_safe(key), value);
    } else if (v.is_array()) {
        const auto& a = v.as_array();
        if (a.empty()) return w.line(indent, head + " []");
        if (!head.empty()) w.line(indent, head);
        for (std::size_t i = 0; i < a.size(); ++i) {
            tree(w, indent + (head.empty() ? 0 : 1), "[" + std::to_string(i) + "]", a[i]);
        }
    } else {
        w.line(indent, (head.empty() ? "" : head + " ") + str(&v));
    }
}

void hex_dump(Writer& w, int indent, std::string_view hex) {
    if (hex.substr(0, 2) == "0x") hex.remove_prefix(2);
    if (hex.empty()) return w.line(indent, "(empty)");
    for (std::size_t i = 0; i < hex.size(); i += kHexLineChars) {
        w.line(indent,
               std::string(i == 0 ? "0x" : "  ") + terminal_safe(hex.substr(i, kHexLineChars)));
    }
}

void render_message(Writer& w, const json::object& d) {
    const std::string length = str(at(d, "length"));
    const json::value* text = at(d, "message");
    if (text != nullptr && text->is_string()) {
        w.line(1, "Message (text, " + length + " bytes):");
        const std::string safe = terminal_safe(text->as_string(), true);
        std::size_t start = 0;
        while (true) {
            const auto end = safe.find('\n', start);
            w.line(2, "| " + safe.substr(start, end == std::string::npos ? end : end - start));
            if (end == std::string::npos) break;
            start = end + 1;
        }
    } else {
        w.line(1, "Message (not text, " + length + " bytes, shown in hex):");
        const json::value* hex = at(d, "messageHex");
        hex_dump(w, 2,
                 hex != nullptr && hex->is_string() ? std::string_view(hex->as_string()) : "");
    }
}

void render_typed(Writer& w, const json::object& d) {
    w.line(1, "Typed data (EIP-712):");
    if (const json::value* domain = at(d, "domain")) tree(w, 2, "Domain", *domain);
    w.field(2, "Primary type", str(at(d, "primaryType")), 0);
    if (const json::value* message = at(d, "message")) tree(w, 2, "Message", *message);
}

void render_typed_v1(Writer& w, const json::object& d) {
    w.line(1, "Typed data (legacy eth_signTypedData):");
    const json::value* fields = at(d, "fields");
    if (fields == nullptr || !fields->is_array()) return;
    for (const auto& f : fields->as_array()) {
        if (!f.is_object()) continue;
        const auto& o = f.as_object();
        tree(w, 2, str(at(o, "name")) + " (" + str(at(o, "type")) + ")",
             o.contains("value") ? o.at("value") : json::value(nullptr));
    }
}

const char* tx_type_name(const std::string& type) {
    if (type == "0") return "legacy";
    if (type == "1") return "EIP-2930";
    if (type == "2") return "EIP-1559";
    return "unknown type";
}

void render_transaction(Writer& w, const json::object& d) {
    const std::string type = decimal_of(at(d, "type")).value_or("?");
    w.line(1, std::string("Transaction (") + tx_type_name(type) + ", type " + type + "):");
    w.field(2, "From", str(at(d, "from")));
    const json::value* to = at(d, "to");
    w.field(2, "To", to != nullptr && to->is_string() ? str(to) : "(none: creates a contract)");
    if (auto wei = decimal_of(at(d, "value"))) w.field(2, "Value", eth_amount(*wei));
    if (auto n = decimal_of(at(d, "nonce"))) w.field(2, "Nonce", *n);
    if (auto g = decimal_of(at(d, "gas"))) w.field(2, "Gas limit", *g);
    if (auto p = decimal_of(at(d, "gasPrice"))) w.field(2, "Gas price", gwei_amount(*p));
    if (auto p = decimal_of(at(d, "maxFeePerGas"))) w.field(2, "Max fee per gas", gwei_amount(*p));
    if (auto p = decimal_of(at(d, "maxPriorityFeePerGas")))
        w.field(2, "Priority fee", gwei_amount(*p));
    if (auto m = decimal_of(at(d, "maxFeeWei"))) w.field(2, "Max network fee", eth_amount(*m));
    if (auto c = decimal_of(at(d, "chainId"))) w.field(2, "Chain id", *c);
    const json::value* data = at(d, "data");
    std::string_view hex =
        data != nullptr && data->is_string() ? std::string_view(data->as_string()) : "";
    if (hex.substr(0, 2) == "0x") hex.remove_prefix(2);
    if (hex.empty()) {
        w.field(2, "Data", "none");
    } else {
        std::string summary = std::to_string(hex.size() / 2) + " bytes";
        if (hex.size() >= 8) summary += ", function selector 0x" + terminal_safe(hex.substr(0, 8));
        w.field(2, "Data", summary);
        hex_dump(w, 3, hex);
    }
    if (const json::value* list = at(d, "accessList"); list != nullptr && list->is_array()) {
        tree(w, 2, "Access list", *list);
    }
}

// A connect request: the accounts the requester may be shown, numbered for the choice that
// `keybridge approve` asks for; "*" marks those an approval without a choice shares.
void render_connect(Writer& w, const json::object& d) {
    const json::value* again = at(d, "again");
    if (again != nullptr && again->is_bool() && again->as_bool()) {
        w.line(1, "Already connected: it asks again because the vault has accounts it was never");
        w.line(1, "shown. Rejecting keeps what it sees now.");
    }
    w.line(1, "Accounts it may see (* = shared unless you choose):");
    const json::value* accounts = at(d, "accounts");
    if (accounts == nullptr || !accounts->is_array()) return;
    std::size_t number = 0;
    for (const auto& entry : accounts->as_array()) {
        ++number;
        const json::object* o = entry.if_object();
        if (o == nullptr) {
            w.line(2, str(&entry));
            continue;
        }
        const auto flag = [&](std::string_view key) {
            const json::value* v = at(*o, key);
            return v != nullptr && v->is_bool() && v->as_bool();
        };
        std::string text = std::string(flag("default") ? "* " : "  ") + std::to_string(number) +
                           ". " + str(at(*o, "address"));
        if (const json::value* name = at(*o, "name"); name != nullptr && name->is_string())
            text += "  \"" + str(name) + "\"";
        if (flag("granted")) text += "  (sees it now)";
        w.line(2, text);
    }
}

void render_details(Writer& w, const std::string& method, const json::object& d) {
    if (method == "personal_sign") return render_message(w, d);
    if (method == "eth_signTypedData_v3" || method == "eth_signTypedData_v4")
        return render_typed(w, d);
    if (method == "eth_signTypedData") return render_typed_v1(w, d);
    if (method == "eth_signTransaction" || method == "eth_sendTransaction") {
        return render_transaction(w, d);
    }
    if (method == "eth_sign") return w.field(1, "Hash to sign", str(at(d, "hash")));
    if (method == "eth_requestAccounts") return render_connect(w, d);
    if (method == "keybridge_pair") {
        w.field(1, "Browser extension",
                str(at(d, "extensionId")) + "  \"" + str(at(d, "name")) + "\"");
        w.field(1, "If you approve",
                "it relays the requests of the pages you visit, each under its own site; "
                "every signature is still asked for");
        return;
    }
    if (method == "wallet_addEthereumChain") {
        w.field(
            1, "Chain to add",
            str(at(d, "chainName")) + " (id " + decimal_of(at(d, "chainId")).value_or("?") + ")");
        w.field(1, "Its RPC node", str(at(d, "rpcUrl")));
        return;
    }
    if (!d.empty()) tree(w, 1, "Details", d);
}

}  // namespace

std::string format_units(std::string_view digits, unsigned decimals) {
    std::string d(digits);
    while (d.size() > 1 && d.front() == '0')
        d.erase(d.begin());
    if (d.empty()) d = "0";
    if (d.size() <= decimals) d.insert(0, decimals + 1 - d.size(), '0');
    std::string whole = d.substr(0, d.size() - decimals);
    std::string fraction = d.substr(d.size() - decimals);
    while (!fraction.empty() && fraction.back() == '0')
        fraction.pop_back();
    return fraction.empty() ? whole : whole + "." + fraction;
}

namespace {

struct ShownWarning {
    int rank = 1;  // 2 danger, 1 warning, 0 info: the most serious are shown first
    std::string id;
    std::string title;
    std::string detail;
};

ShownWarning shown_warning(const json::value& v) {
    ShownWarning out;
    if (!v.is_object()) {  // a bare sentence (daemons before structured warnings)
        out.title = str(&v);
        return out;
    }
    const json::object& o = v.as_object();
    const std::string severity = str(at(o, "severity"));
    out.rank = severity == "danger" ? 2 : severity == "info" ? 0 : 1;
    out.id = str(at(o, "id"));
    out.title = str(at(o, "title"));
    out.detail = str(at(o, "detail"));
    return out;
}

// Each warning as "!! DANGER: title [id]" (or "!  WARNING", "i  INFO") and its detail indented
// below; with color, danger in bold red, warning in bold yellow.
void render_warnings(Writer& w, const json::array& warnings, bool color) {
    std::vector<ShownWarning> list;
    for (const auto& v : warnings)
        list.push_back(shown_warning(v));
    std::stable_sort(list.begin(), list.end(),
                     [](const ShownWarning& a, const ShownWarning& b) { return a.rank > b.rank; });
    for (const auto& warning : list) {
        static constexpr const char* kHeads[] = {"i  INFO: ", "!  WARNING: ", "!! DANGER: "};
        static constexpr const char* kColors[] = {"", "\x1b[1;33m", "\x1b[1;31m"};
        std::string head = kHeads[warning.rank] + warning.title;
        if (!warning.id.empty()) head += " [" + warning.id + "]";
        const bool colored = color && warning.rank > 0;
        w.line(1, colored ? kColors[warning.rank] + head + "\x1b[0m" : head);
        if (!warning.detail.empty()) w.line(3, warning.detail);
    }
}

}  // namespace

std::string render_approval(const json::object& request, bool color) {
    Writer w;
    const std::string method = str(at(request, "method"));
    w.line(0, std::string(64, '='));
    w.line(0, "Request " + str(at(request, "id")) + ": " + method);
    const json::value* authenticated = at(request, "authenticated");
    const bool token =
        authenticated != nullptr && authenticated->is_bool() && authenticated->as_bool();
    w.field(1, "Origin",
            str(at(request, "origin")) + (token ? " (authenticated with the cookie token)" : ""),
            10);
    if (const json::value* account = at(request, "account"))
        w.field(1, "Account", str(account), 10);
    if (auto chain = decimal_of(at(request, "chainId"))) w.field(1, "Chain", *chain, 10);
    // The request in one sentence (keybridged's insight), before the fields it comes from.
    if (const json::value* summary = at(request, "summary"); summary && summary->is_string())
        w.field(1, "Summary", str(summary), 10);
    if (const json::value* details = at(request, "details");
        details != nullptr && details->is_object()) {
        render_details(w, method, details->as_object());
    }
    if (const json::value* warnings = at(request, "warnings");
        warnings != nullptr && warnings->is_array()) {
        render_warnings(w, warnings->as_array(), color);
    }
    // Where it stands, when it is not simply waiting for the decision.
    const std::string stage = str(at(request, "stage"));
    if (stage == "needs-input") {
        w.field(1, "Needs", str(at(request, "input")) + ": " + str(at(request, "note")), 10);
    } else if (stage == "on-device") {
        w.field(1, "Device", str(at(request, "note")), 10);
    }
    return w.text();
}

}  // namespace keybridge::cli
