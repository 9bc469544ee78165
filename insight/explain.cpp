// Requests in plain words. Each recogniser reads the decoded request, writes a one-line summary
// and details, and adds warnings; anything it does not recognise is shown as it is, never
// guessed.
#include <algorithm>

#include "core/address.h"
#include "core/rlp.h"
#include "insight/abi.h"
#include "insight/insight.h"
#include "insight/site.h"

namespace keybridge::insight {
namespace {

namespace json = boost::json;
using core::Address;
using core::U256;

const Settings kDefaults{};

const Settings& settings_of(const Context& c) {
    return c.settings != nullptr ? *c.settings : kDefaults;
}

Warning make(std::string_view id, Severity s, std::string title, std::string detail) {
    return Warning{std::string(id), s, std::move(title), std::move(detail)};
}

void add(Explanation& e, Warning w) {
    if (!e.has(w.id)) e.warnings.push_back(std::move(w));
}

const U256 kMaxU256 = ~U256(0);

// U256 arithmetic throws on overflow; amounts here come from the page, so saturate instead.
U256 saturating_mul(const U256& a, const U256& b) {
    if (a != 0 && b > kMaxU256 / a) return kMaxU256;
    return a * b;
}
U256 saturating_add(const U256& a, const U256& b) {
    return b > kMaxU256 - a ? kMaxU256 : a + b;
}
const U256 kMaxU160 = (U256(1) << 160) - 1;

// "Unlimited": the type's maximum or so large (≥ 2^128 or ≥ half the type's range) that it works
// as one; wallets commonly write 2^256-1 or 2^160-1 (Permit2).
bool unlimited(const U256& amount) {
    return amount >= (U256(1) << 128);
}

std::optional<U256> number(const json::value* v) {
    if (v == nullptr) return std::nullopt;
    if (v->is_string()) {
        auto n = core::parse_u256(v->as_string());
        if (n) return *n;
        return std::nullopt;
    }
    if (v->is_uint64()) return U256(v->as_uint64());
    if (v->is_int64() && v->as_int64() >= 0) return U256(static_cast<std::uint64_t>(v->as_int64()));
    return std::nullopt;
}
std::optional<U256> number(const json::object& o, std::string_view key) {
    return number(o.if_contains(key));
}
std::optional<Address> address(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    // Typed data and ABI output may use any letter case: compare as bytes.
    std::string lower(v->as_string());
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto a = Address::parse(lower);
    if (!a) return std::nullopt;
    return *a;
}

std::string short_address(const Address& a) {
    const std::string s = a.to_checksum_string();
    return s.substr(0, 6) + "…" + s.substr(s.size() - 4);
}

bool is_known(const Context& c, const Address& a) {
    if (a == c.account) return true;
    return std::find(c.known_addresses.begin(), c.known_addresses.end(), a) !=
           c.known_addresses.end();
}

// Address poisoning: an address that shares the first and last four hex digits with one the
// user has used, without being it (the attacker's vanity address, planted in the history).
void check_poisoning(const Context& c, const Address& target, std::string_view role,
                     Explanation& e) {
    if (is_known(c, target)) return;
    // The first and last four hex digits are the first and last two bytes: compared as bytes,
    // a history of thousands of addresses costs microseconds.
    const Address::Raw& t = target.raw();
    for (const Address& known : c.known_addresses) {
        const Address::Raw& k = known.raw();
        if (k[0] == t[0] && k[1] == t[1] && k[18] == t[18] && k[19] == t[19]) {
            add(e, make("address-poisoning", Severity::Danger,
                        "The " + std::string(role) + " only looks like an address you used",
                        "The " + std::string(role) + " " + target.to_checksum_string() +
                            " starts and ends like " + known.to_checksum_string() +
                            ", which you used before, but it is a different address. Scammers "
                            "send dust from such look-alike addresses so that you copy one from "
                            "your history."));
            return;
        }
    }
}

struct Amount {
    std::string text;  // "12.5 USDC" or "12500000 (raw units of 0x…)"
    bool known = false;
};

// The bundled token list first; for the active chain, then what the token contract itself says
// (symbol() and decimals() through the chain lookup).
std::optional<TokenInfo> lookup_token(const Context& c, std::uint64_t chain, const Address& token) {
    if (auto t = find_token(chain, token)) return t;
    if (c.chain != nullptr && chain == c.chain_id) {
        if (auto t = c.chain->token(token)) {
            t->from_chain = true;
            return t;
        }
    }
    return std::nullopt;
}

Amount token_amount(const Context& c, std::uint64_t chain, const Address& token, const U256& raw) {
    if (auto t = lookup_token(c, chain, token))
        return {format_units(raw, t->decimals) + " " + t->symbol, true};
    return {core::u256_to_decimal(raw) + " raw units of token " + short_address(token), false};
}

std::string token_label(const Context& c, std::uint64_t chain, const Address& token) {
    if (auto t = lookup_token(c, chain, token)) return t->symbol;
    return "token " + short_address(token);
}

std::string native_amount(const Context& c, const U256& wei) {
    const NativeCurrency coin = native_currency(c.chain_id);
    return format_units(wei, coin.decimals) + " " + std::string(coin.symbol);
}

// With a chain lookup on the active chain: an approval's spender or operator without code is a
// plain account, which is what drainers use (a DEX or marketplace is a contract).
void spender_code_check(const Context& c, std::uint64_t chain, const Address& spender,
                        std::string_view role, Explanation& e) {
    if (c.chain == nullptr || chain != c.chain_id) return;
    if (auto code = c.chain->has_code(spender); code && !*code) {
        add(e, make("spender-no-code", Severity::Warning,
                    "The " + std::string(role) + " is not a contract",
                    spender.to_checksum_string() +
                        " has no code: it is a plain account. Applications take approvals "
                        "through contracts; a plain account as " +
                        std::string(role) + " is what token drainers use."));
    }
}

// ---- messages

bool is_text(core::ByteView bytes, std::string& out) {
    std::string s(bytes.begin(), bytes.end());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
        if (n == 0 || i + n > s.size()) return false;
        if (n == 1 && c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
        if (n == 1 && c == 0x7f) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += n;
    }
    out = std::move(s);
    return true;
}

// A serialized transaction: [type byte 0x01..0x04] RLP list of transaction fields, or a legacy
// list of 6 or 9 fields.
bool looks_like_transaction(core::ByteView bytes) {
    if (bytes.size() < 10) return false;
    core::rlp::Limits limits;
    limits.max_depth = 4;
    std::size_t skip = 0;
    std::size_t min_items = 6;
    if (bytes[0] >= 0x01 && bytes[0] <= 0x04) {
        skip = 1;
        min_items = 8;
    }
    auto item = core::rlp::decode(bytes.subspan(skip), limits, skip);
    if (!item || !item->is_list) return false;
    const std::size_t n = item->items.size();
    if (skip == 0) return n == 6 || n == 9;
    return n >= min_items && n <= 14;
}

struct Siwe {
    std::string domain, address, statement, uri, version, chain_id, nonce, issued_at,
        expiration_time, not_before;
};

// EIP-4361: "${domain} wants you to sign in with your Ethereum account:\n${address}\n\n..."
std::optional<Siwe> parse_siwe(std::string_view text) {
    constexpr std::string_view kHead = " wants you to sign in with your Ethereum account:\n";
    const auto head = text.find(kHead);
    if (head == std::string_view::npos || head == 0) return std::nullopt;
    Siwe s;
    s.domain = std::string(text.substr(0, head));
    if (s.domain.find('\n') != std::string::npos) return std::nullopt;
    if (const auto scheme = s.domain.find("://"); scheme != std::string::npos)
        s.domain = s.domain.substr(scheme + 3);
    std::string_view rest = text.substr(head + kHead.size());
    const auto eol = rest.find('\n');
    s.address = std::string(rest.substr(0, eol));
    if (eol == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(eol + 1);
    std::size_t pos = 0;
    while (pos <= rest.size()) {
        auto end = rest.find('\n', pos);
        if (end == std::string_view::npos) end = rest.size();
        const std::string_view line = rest.substr(pos, end - pos);
        auto field = [&](std::string_view key, std::string& into) {
            if (line.starts_with(key)) {
                into = std::string(line.substr(key.size()));
                return true;
            }
            return false;
        };
        if (!field("URI: ", s.uri) && !field("Version: ", s.version) &&
            !field("Chain ID: ", s.chain_id) && !field("Nonce: ", s.nonce) &&
            !field("Issued At: ", s.issued_at) && !field("Expiration Time: ", s.expiration_time) &&
            !field("Not Before: ", s.not_before) && !line.empty() && s.uri.empty() &&
            !line.starts_with("Request ID: ") && !line.starts_with("Resources:") &&
            !line.starts_with("- ")) {
            if (!s.statement.empty()) s.statement += "\n";
            s.statement += std::string(line);
        }
        pos = end + 1;
    }
    if (s.uri.empty() || s.version.empty() || s.chain_id.empty() || s.nonce.empty())
        return std::nullopt;
    return s;
}

// Digits at s[pos, pos+n) as a number, or -1.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// RFC 3339 "2026-12-05T07:40:00Z", "…00.5Z" or "…00+02:00" → unix seconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2),
        mi = digits(s, 14, 2), sec = digits(s, 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || sec < 0 ||
        s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return std::nullopt;
    // Days from civil (Howard Hinnant's algorithm).
    y -= mo <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2) / 5 +
                         static_cast<unsigned>(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
    std::int64_t out = days * 86400 + h * 3600 + mi * 60 + sec;
    std::size_t p = 19;
    if (p < s.size() && s[p] == '.') {
        ++p;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9')
            ++p;
    }
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
        const int oh = digits(s, p + 1, 2), om = digits(s, p + 4, 2);
        if (oh < 0 || om < 0) return std::nullopt;
        out += (s[p] == '+' ? -1 : 1) * (oh * 3600 + om * 60);
    } else if (p >= s.size() || (s[p] != 'Z' && s[p] != 'z')) {
        return std::nullopt;
    }
    return out;
}

void explain_siwe(const Siwe& s, const Context& c, Explanation& e) {
    json::object d;
    d["domain"] = s.domain;
    d["address"] = s.address;
    d["statement"] = s.statement;
    d["uri"] = s.uri;
    d["version"] = s.version;
    d["chainId"] = s.chain_id;
    d["nonce"] = s.nonce;
    d["issuedAt"] = s.issued_at;
    if (!s.expiration_time.empty()) d["expirationTime"] = s.expiration_time;
    if (!s.not_before.empty()) d["notBefore"] = s.not_before;
    e.details["signInWithEthereum"] = std::move(d);
    e.summary = "Sign in to " + s.domain + " with " + s.address;
    if (auto origin = site::parse_origin(c.origin)) {
        std::string domain = s.domain;
        std::transform(domain.begin(), domain.end(), domain.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        const std::string host = domain.substr(
            0, domain.rfind(':') == std::string::npos || domain.find(']') != std::string::npos
                   ? domain.size()
                   : domain.rfind(':'));
        if (host != origin->host) {
            add(e, make("siwe-domain-mismatch", Severity::Danger, "The sign-in is for another site",
                        "The message signs you in to " + s.domain + ", but " + c.origin +
                            " asks for it: a site may be trying to log in as you elsewhere."));
        }
    }
    if (s.chain_id != std::to_string(c.chain_id)) {
        add(e, make("siwe-chain-mismatch", Severity::Warning, "The sign-in names another chain",
                    "The message names chain " + s.chain_id + ", the site's active chain is " +
                        std::to_string(c.chain_id) + " (" + chain_name(c.chain_id, c.settings) +
                        ")."));
    }
    if (!s.expiration_time.empty()) {
        auto t = parse_rfc3339(s.expiration_time);
        if (t && *t <= c.now) {
            add(e, make("siwe-expired", Severity::Warning, "The sign-in message has expired",
                        "It expired at " + s.expiration_time +
                            "; a fresh request would carry a "
                            "new one."));
        }
    }
    auto addr = Address::parse(s.address);
    if (addr && *addr != c.account) {
        add(e, make("siwe-address-mismatch", Severity::Warning, "The sign-in names another account",
                    "The message names " + s.address + ", but " + c.account.to_checksum_string() +
                        " would sign it."));
    }
}

// ---- transactions

struct Walker {
    const Context& c;
    Explanation& e;
    std::uint64_t chain;
    int budget = 64;  // decoded calls in total, nested ones included

    void recipient_checks(const Address& to, std::string_view role) {
        if (to == Address()) {
            add(e, make("recipient-zero-address", Severity::Danger,
                        "The " + std::string(role) + " is the zero address",
                        "Anything sent to 0x0000…0000 is lost for good."));
        }
        if (lookup_token(c, chain, to)) {
            add(e, make("recipient-token-contract", Severity::Danger,
                        "The " + std::string(role) + " is a token contract",
                        to.to_checksum_string() + " is the " + token_label(c, chain, to) +
                            " contract; tokens or coins sent to it are usually lost."));
        }
        check_poisoning(c, to, role, e);
    }

    void approval_checks(const Address& spender, bool is_unlimited, const std::string& what) {
        spender_code_check(c, chain, spender, "spender", e);
        if (is_unlimited) {
            add(e, make("unlimited-approval", Severity::Danger, "Unlimited approval",
                        short_address(spender) + " may take all your " + what +
                            ", now and in the future, without asking again."));
        }
        if (!is_known(c, spender)) {
            add(e,
                make("approval-to-new-address", Severity::Warning,
                     "Approval to an address you never used",
                     "You have not interacted with " + spender.to_checksum_string() + " before."));
            check_poisoning(c, spender, "spender", e);
        }
    }

    // The summary of one call of `data` to `to`; details written into `node`.
    std::string call(const Address& to, core::ByteView data, const U256& value, int depth,
                     json::object& node) {
        if (--budget < 0) {
            node["truncated"] = true;
            return "(more calls not decoded)";
        }
        if (data.size() < 4) {
            node["data"] = core::hex_encode(data);
            return "Call " + short_address(to) + " with " + std::to_string(data.size()) +
                   " bytes of data";
        }
        const std::uint32_t selector = (std::uint32_t(data[0]) << 24) |
                                       (std::uint32_t(data[1]) << 16) |
                                       (std::uint32_t(data[2]) << 8) | data[3];
        const abi::Function* fn = abi::find(selector);
        node["selector"] = core::hex_encode(data.subspan(0, 4));
        if (fn == nullptr) {
            node["function"] = nullptr;
            node["unknownSelector"] = true;
            return "Call an unknown function (selector " + core::hex_encode(data.subspan(0, 4)) +
                   ") on " + short_address(to);
        }
        node["function"] = fn->signature();
        node["standard"] = fn->family;
        auto args = abi::decode(fn->type, data.subspan(4));
        if (!args) {
            node["decodeError"] = args.error().detail;
            add(e, make("calldata-undecodable", Severity::Warning,
                        "The call data does not match its function",
                        "The data starts like " + fn->signature() + " but does not decode as it (" +
                            args.error().detail + ")."));
            return "Call " + std::string(fn->name) + " on " + short_address(to) +
                   " (arguments do not decode)";
        }
        node["arguments"] = *args;
        return meaning(*fn, *args, to, value, depth, node);
    }

    std::string meaning(const abi::Function& fn, const json::object& a, const Address& to,
                        const U256& value, int depth, json::object& node) {
        const std::string_view name = fn.name;
        const std::string_view fam = fn.family;
        const bool is_token = lookup_token(c, chain, to).has_value();
        if ((fam == "ERC-20" || fam == "ERC-721") && name == "transfer") {
            auto r = address(a, "to");
            auto v = number(a, "value");
            if (!r || !v) return std::string(name);
            recipient_checks(*r, "recipient");
            return "Send " + token_amount(c, chain, to, *v).text + " to " + r->to_checksum_string();
        }
        if (name == "approve" && fam == "ERC-20") {
            auto s = address(a, "spender");
            auto v = number(a, "value");
            if (!s || !v) return std::string(name);
            if (*v == 0)
                return "Revoke " + short_address(*s) + "'s allowance of " +
                       token_label(c, chain, to);
            if (is_token || unlimited(*v)) {
                approval_checks(*s, unlimited(*v), token_label(c, chain, to));
                return "Allow " + s->to_checksum_string() + " to spend " +
                       (unlimited(*v) ? "an unlimited amount of " + token_label(c, chain, to)
                                      : token_amount(c, chain, to, *v).text);
            }
            approval_checks(*s, false, token_label(c, chain, to));
            node["note"] =
                "approve(address,uint256) is the same call for ERC-20 amounts and "
                "ERC-721 token ids; this token is not in the token list";
            return "Approve " + s->to_checksum_string() + " for " + core::u256_to_decimal(*v) +
                   " (an ERC-20 amount or an ERC-721 token id) of " + token_label(c, chain, to);
        }
        if (name == "increaseAllowance") {
            auto s = address(a, "spender");
            auto v = number(a, "addedValue");
            if (!s || !v) return std::string(name);
            approval_checks(*s, unlimited(*v), token_label(c, chain, to));
            return "Raise " + s->to_checksum_string() + "'s allowance by " +
                   token_amount(c, chain, to, *v).text;
        }
        if (name == "transferFrom" && fam == "ERC-20") {
            auto f = address(a, "from");
            auto r = address(a, "to");
            auto v = number(a, "value");
            if (!f || !r || !v) return std::string(name);
            recipient_checks(*r, "recipient");
            const std::string amount = is_token ? token_amount(c, chain, to, *v).text
                                                : core::u256_to_decimal(*v) +
                                                      " (amount or token id) of " +
                                                      token_label(c, chain, to);
            return "Move " + amount + " from " + f->to_checksum_string() + " to " +
                   r->to_checksum_string();
        }
        if (name == "safeTransferFrom" || name == "safeBatchTransferFrom") {
            auto r = address(a, "to");
            if (r) recipient_checks(*r, "recipient");
            std::string what;
            if (auto id = number(a, "tokenId"))
                what = "token #" + core::u256_to_decimal(*id);
            else if (auto id1155 = number(a, "id"))
                what = core::u256_to_decimal(number(a, "value").value_or(0)) + " of item #" +
                       core::u256_to_decimal(*id1155);
            else
                what = "several items";
            return "Transfer " + what + " of " + short_address(to) + " to " +
                   (r ? r->to_checksum_string() : std::string("?"));
        }
        if (name == "setApprovalForAll") {
            auto op = address(a, "operator");
            const json::value* approved = a.if_contains("approved");
            if (!op || approved == nullptr || !approved->is_bool()) return std::string(name);
            if (!approved->as_bool())
                return "Revoke " + op->to_checksum_string() + "'s access to all your items of " +
                       short_address(to);
            add(e, make("approval-for-all", Severity::Danger,
                        "Access to all your items of this collection",
                        op->to_checksum_string() + " may transfer every item you own of " +
                            to.to_checksum_string() + ", now and later, without asking."));
            if (!is_known(c, *op)) approval_checks(*op, false, "items");
            spender_code_check(c, chain, *op, "operator", e);
            return "Let " + op->to_checksum_string() + " transfer all your items of " +
                   short_address(to);
        }
        if (fam == "WETH" && name == "deposit")
            return "Wrap " + native_amount(c, value) + " into " + token_label(c, chain, to);
        if (fam == "WETH" && name == "withdraw") {
            auto v = number(a, "wad");
            return "Unwrap " + (v ? format_units(*v, 18) : std::string("?")) + " " +
                   token_label(c, chain, to);
        }
        if (fam == "Permit2" && name == "approve") {
            auto token = address(a, "token");
            auto s = address(a, "spender");
            auto amount = number(a, "amount");
            auto exp = number(a, "expiration");
            if (!token || !s || !amount || !exp) return std::string(name);
            const bool unl = *amount == kMaxU160 || unlimited(*amount);
            approval_checks(*s, unl, token_label(c, chain, *token));
            far_deadline(*exp, unl, "The approval");
            return "Permit2: allow " + s->to_checksum_string() + " to spend " +
                   (unl ? "an unlimited amount of " + token_label(c, chain, *token)
                        : token_amount(c, chain, *token, *amount).text) +
                   " until " + format_deadline(*exp, c.now);
        }
        if (fam == "Permit2" && name == "permit") return "Permit2: submit a signed permit";
        if (fam == "Permit2") return "Permit2: " + std::string(name);
        if (name == "multicall" || name == "aggregate") return multicall(a, to, depth, node);
        if (fam == "Safe" && name == "execTransaction") return safe_exec(a, depth, node);
        if (fam == "Safe" && name == "multiSend") return multisend(a, depth, node);
        return "Call " + std::string(name) + " on " + short_address(to);
    }

    void far_deadline(const U256& deadline, bool unl, const std::string& what) {
        const auto& st = settings_of(c);
        const U256 limit = U256(static_cast<std::uint64_t>(std::max<std::int64_t>(c.now, 0))) +
                           saturating_mul(U256(st.far_deadline_days), U256(86400));
        if (deadline <= limit) {
            if (unl) {
                // Unlimited but short-lived: the danger stays, the reason is the amount.
            }
            return;
        }
        add(e, make("far-deadline", unl ? Severity::Danger : Severity::Warning,
                    what + " lasts a long time",
                    what + " stays valid until " + format_deadline(deadline, c.now) + "."));
        if (unl) {
            for (Warning& w : e.warnings)
                if (w.id == "unlimited-approval") w.severity = Severity::Danger;
        }
    }

    std::string multicall(const json::object& a, const Address& to, int depth, json::object& node) {
        json::array calls;
        std::vector<std::string> parts;
        if (depth >= 3) {
            node["truncated"] = true;
            return "Several calls (nested too deep to decode)";
        }
        auto handle = [&](const Address& target, std::string_view hex) {
            auto bytes = core::hex_decode(hex);
            json::object sub;
            sub["to"] = target.to_checksum_string();
            if (!bytes) return;
            parts.push_back(call(target, *bytes, 0, depth + 1, sub));
            sub["summary"] = parts.back();
            calls.push_back(std::move(sub));
        };
        if (const json::value* data = a.if_contains("data"); data && data->is_array()) {
            for (const auto& d : data->as_array())
                if (d.is_string()) handle(to, d.as_string());
        } else if (const json::value* list = a.if_contains("calls"); list && list->is_array()) {
            for (const auto& item : list->as_array()) {
                if (!item.is_object()) continue;
                auto target = address(item.as_object(), "target");
                const json::value* cd = item.as_object().if_contains("callData");
                if (target && cd && cd->is_string()) handle(*target, cd->as_string());
            }
        }
        node["calls"] = std::move(calls);
        std::string out = std::to_string(parts.size()) + " calls: ";
        for (std::size_t i = 0; i < parts.size(); ++i)
            out += (i ? "; " : "") + parts[i];
        return out;
    }

    std::string safe_exec(const json::object& a, int depth, json::object& node) {
        auto target = address(a, "to");
        auto value = number(a, "value").value_or(0);
        auto op = number(a, "operation").value_or(0);
        const json::value* data = a.if_contains("data");
        if (!target || data == nullptr || !data->is_string()) return "Safe transaction";
        if (op == 1) {
            add(e, make("safe-delegatecall", Severity::Danger,
                        "The Safe transaction is a delegate call",
                        "The Safe runs " + target->to_checksum_string() +
                            "'s code as its own: that code can change the Safe's owners and "
                            "move everything it holds."));
        }
        auto bytes = core::hex_decode(data->as_string());
        json::object inner;
        inner["to"] = target->to_checksum_string();
        inner["value"] = core::u256_to_decimal(value);
        std::string what;
        if (bytes && !bytes->empty() && depth < 3)
            what = call(*target, *bytes, value, depth + 1, inner);
        else
            what = "send " + native_amount(c, value) + " to " + target->to_checksum_string();
        if (!bytes || bytes->empty()) recipient_checks(*target, "recipient");
        node["safeTransaction"] = std::move(inner);
        return "Safe transaction: " + what;
    }

    // MultiSend's packed list: operation (1 byte), to (20), value (32), data length (32), data.
    std::string multisend(const json::object& a, int depth, json::object& node) {
        const json::value* packed = a.if_contains("transactions");
        if (packed == nullptr || !packed->is_string()) return "Safe MultiSend";
        auto bytes = core::hex_decode(packed->as_string());
        if (!bytes) return "Safe MultiSend";
        json::array calls;
        std::vector<std::string> parts;
        std::size_t pos = 0;
        while (pos + 85 <= bytes->size() && depth < 3) {
            const std::uint8_t op = (*bytes)[pos];
            Address::Raw raw{};
            std::copy_n(bytes->begin() + static_cast<std::ptrdiff_t>(pos + 1), 20, raw.begin());
            auto value = core::u256_from_be(core::ByteView(*bytes).subspan(pos + 21, 32));
            auto len = core::u256_from_be(core::ByteView(*bytes).subspan(pos + 53, 32));
            if (!value || !len || *len > U256(bytes->size() - pos - 85)) break;
            const auto n = static_cast<std::size_t>(*len);
            const Address target(raw);
            json::object sub;
            sub["to"] = target.to_checksum_string();
            sub["operation"] = op == 1 ? "delegatecall" : "call";
            if (op == 1) {
                add(e, make("safe-delegatecall", Severity::Danger,
                            "The Safe transaction is a delegate call",
                            "The Safe runs " + target.to_checksum_string() +
                                "'s code as its own: that code can change the Safe's owners."));
            }
            parts.push_back(n == 0 ? "send " + native_amount(c, *value) + " to " +
                                         target.to_checksum_string()
                                   : call(target, core::ByteView(*bytes).subspan(pos + 85, n),
                                          *value, depth + 1, sub));
            sub["summary"] = parts.back();
            calls.push_back(std::move(sub));
            pos += 85 + n;
        }
        node["calls"] = std::move(calls);
        std::string out = "Safe MultiSend of " + std::to_string(parts.size()) + " calls: ";
        for (std::size_t i = 0; i < parts.size(); ++i)
            out += (i ? "; " : "") + parts[i];
        return out;
    }
};

// ---- typed data

void permit_warnings(const Context& c, Explanation& e, const Address& spender, bool unl,
                     const std::optional<U256>& deadline, const std::string& what) {
    Walker w{c, e, c.chain_id};
    if (unl) {
        add(e, make("unlimited-approval", Severity::Warning, "Unlimited permit",
                    short_address(spender) + " may take all your " + what + "."));
    }
    if (deadline) w.far_deadline(*deadline, unl, "The permit");
    if (!is_known(c, spender)) check_poisoning(c, spender, "spender", e);
}

std::string permit_2612(const json::object& m, const json::object& domain, std::uint64_t chain,
                        const Context& c, Explanation& e) {
    auto token = address(domain, "verifyingContract");
    auto spender = address(m, "spender");
    if (!spender) return {};
    const std::string label = token ? token_label(c, chain, *token) : "a token";
    std::optional<U256> deadline = number(m, "deadline");
    bool unl = false;
    std::string amount;
    if (const json::value* allowed = m.if_contains("allowed"); allowed && allowed->is_bool()) {
        // DAI-style permit: all or nothing, "expiry" 0 meaning never.
        deadline = number(m, "expiry");
        if (deadline && *deadline == 0) deadline = kMaxU256;
        if (!allowed->as_bool())
            return "Revoke " + spender->to_checksum_string() + "'s " + label + " allowance";
        unl = true;
        amount = "an unlimited amount of " + label;
    } else {
        auto value = number(m, "value");
        if (!value) return {};
        unl = unlimited(*value);
        amount = unl ? "an unlimited amount of " + label
                     : (token ? token_amount(c, chain, *token, *value).text
                              : core::u256_to_decimal(*value) + " raw units");
    }
    permit_warnings(c, e, *spender, unl, deadline, label);
    spender_code_check(c, chain, *spender, "spender", e);
    std::string out = "Permit " + spender->to_checksum_string() + " to spend " + amount;
    if (deadline) out += " until " + format_deadline(*deadline, c.now);
    return out;
}

std::string permit2(std::string_view type, const json::object& m, std::uint64_t chain,
                    const Context& c, Explanation& e) {
    auto spender = address(m, "spender");
    if (!spender) return {};
    std::vector<std::string> parts;
    bool any_unlimited = false;
    std::optional<U256> latest;
    auto one = [&](const json::object& item, std::string_view amount_key) {
        auto token = address(item, "token");
        auto amount = number(item, amount_key);
        if (!token || !amount) return;
        const bool unl = *amount == kMaxU160 || unlimited(*amount);
        any_unlimited = any_unlimited || unl;
        parts.push_back(unl ? "an unlimited amount of " + token_label(c, chain, *token)
                            : token_amount(c, chain, *token, *amount).text);
        if (auto exp = number(item, "expiration"); exp && (!latest || *exp > *latest)) latest = exp;
    };
    const json::value* details = m.if_contains("details");
    const json::value* permitted = m.if_contains("permitted");
    if (details && details->is_object()) one(details->as_object(), "amount");
    if (details && details->is_array())
        for (const auto& d : details->as_array())
            if (d.is_object()) one(d.as_object(), "amount");
    if (permitted && permitted->is_object()) one(permitted->as_object(), "amount");
    if (permitted && permitted->is_array())
        for (const auto& d : permitted->as_array())
            if (d.is_object()) one(d.as_object(), "amount");
    const bool transfer =
        type.starts_with("Permit") && type.find("TransferFrom") != std::string_view::npos;
    std::optional<U256> deadline = transfer ? number(m, "deadline") : latest;
    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i)
        joined += (i ? ", " : "") + parts[i];
    permit_warnings(c, e, *spender, any_unlimited, deadline, "tokens");
    spender_code_check(c, chain, *spender, "spender", e);
    std::string out =
        transfer ? "Permit2: let " + spender->to_checksum_string() + " transfer " + joined + " once"
                 : "Permit2: allow " + spender->to_checksum_string() + " to spend " + joined;
    if (deadline)
        out +=
            (transfer ? ", signature valid until " : " until ") + format_deadline(*deadline, c.now);
    if (type.find("Witness") != std::string_view::npos)
        out += " (with a witness: the protocol's own order)";
    return out;
}

std::string safe_tx(const json::object& m, const Context& c, Explanation& e) {
    auto to = address(m, "to");
    if (!to) return {};
    json::object a;
    a["to"] = to->to_checksum_string();
    a["value"] = core::u256_to_decimal(number(m, "value").value_or(0));
    const json::value* data = m.if_contains("data");
    a["data"] = data && data->is_string() ? json::value(data->as_string()) : json::value("0x");
    a["operation"] = core::u256_to_decimal(number(m, "operation").value_or(0));
    Walker w{c, e, c.chain_id};
    json::object node;
    std::string out = w.safe_exec(a, 0, node);
    e.details["decoded"] = std::move(node);
    return out + " (Safe nonce " + core::u256_to_decimal(number(m, "nonce").value_or(0)) + ")";
}

// Seaport OrderComponents: what the offerer gives (offer) and what goes back to them
// (consideration items whose recipient is the offerer).
std::string seaport(const json::object& m, const Context& c, Explanation& e) {
    auto offerer = address(m, "offerer");
    const json::value* offer = m.if_contains("offer");
    const json::value* consideration = m.if_contains("consideration");
    if (!offerer || !offer || !offer->is_array() || !consideration || !consideration->is_array())
        return {};
    std::vector<std::string> gives, gets;
    U256 payment = 0;  // native (type 0) and ERC-20 (type 1) coming back to the offerer
    bool gets_items = false;
    auto describe = [&](const json::object& item) {
        const auto type = number(item, "itemType").value_or(0);
        auto token = address(item, "token");
        const U256 amount = number(item, "startAmount").value_or(0);
        if (type == 0) return native_amount(c, amount);
        if (type == 1 && token) return token_amount(c, c.chain_id, *token, amount).text;
        return "item #" + core::u256_to_decimal(number(item, "identifierOrCriteria").value_or(0)) +
               " of " + (token ? short_address(*token) : std::string("?"));
    };
    for (const auto& o : offer->as_array())
        if (o.is_object()) gives.push_back(describe(o.as_object()));
    for (const auto& k : consideration->as_array()) {
        if (!k.is_object()) continue;
        auto r = address(k.as_object(), "recipient");
        if (!r || *r != *offerer) continue;
        gets.push_back(describe(k.as_object()));
        const auto type = number(k.as_object(), "itemType").value_or(0);
        const auto amount = std::max(number(k.as_object(), "startAmount").value_or(0),
                                     number(k.as_object(), "endAmount").value_or(0));
        if (type <= 1)
            payment = saturating_add(payment, amount);
        else
            gets_items = true;
    }
    std::string g, r;
    for (std::size_t i = 0; i < gives.size(); ++i)
        g += (i ? ", " : "") + gives[i];
    for (std::size_t i = 0; i < gets.size(); ++i)
        r += (i ? ", " : "") + gets[i];
    // "Close to nothing": less than 0.0001 of a coin with 18 decimals (or raw units).
    if (!gives.empty() && !gets_items && payment < U256(100000000000000ULL)) {
        add(e, make("seaport-free-order", Severity::Danger,
                    "The order gives your assets away for (almost) nothing",
                    "You offer " + g + " and receive " + (r.empty() ? "nothing" : r) +
                        ". Anyone can fill this order and take the assets."));
    }
    return "Seaport order: give " + g + " for " + (r.empty() ? "nothing" : r);
}

}  // namespace

const std::vector<std::string_view>& warning_ids() {
    static const std::vector<std::string_view> ids = {"site-phishing-list",
                                                      "site-lookalike",
                                                      "site-not-https",
                                                      "site-punycode",
                                                      "site-mixed-script",
                                                      "eth-sign-opaque-hash",
                                                      "binary-32-byte-message",
                                                      "message-is-transaction",
                                                      "siwe-domain-mismatch",
                                                      "siwe-chain-mismatch",
                                                      "siwe-expired",
                                                      "siwe-address-mismatch",
                                                      "typed-data-chain-mismatch",
                                                      "far-deadline",
                                                      "seaport-free-order",
                                                      "safe-delegatecall",
                                                      "verifying-contract-no-code",
                                                      "unlimited-approval",
                                                      "approval-for-all",
                                                      "approval-to-new-address",
                                                      "value-above-threshold",
                                                      "fee-above-threshold",
                                                      "fee-far-above-base-fee",
                                                      "recipient-zero-address",
                                                      "recipient-token-contract",
                                                      "address-poisoning",
                                                      "no-code-at-recipient",
                                                      "transaction-chain-mismatch",
                                                      "contract-creation",
                                                      "nonce-far-ahead",
                                                      "calldata-undecodable",
                                                      "spender-no-code",
                                                      "predicted-revert"};
    return ids;
}

std::vector<Warning> site_warnings(std::string_view origin, const Settings& settings) {
    std::vector<Warning> out;
    auto o = site::parse_origin(origin);
    if (!o) return out;
    const std::string& host = o->host;
    const bool local = host == "localhost" || host.ends_with(".localhost") ||
                       host.starts_with("127.") || host == "::1";
    if (o->scheme != "https" && !local) {
        out.push_back(make("site-not-https", Severity::Warning, "The site is not encrypted",
                           std::string(origin) + " uses " + o->scheme +
                               ": anyone on the network can change what the page asks you to "
                               "sign."));
    }
    if (local) return out;
    auto verdict = site::check_phishing(host, settings);
    using K = site::PhishingVerdict::Kind;
    if (verdict.kind == K::Blocked) {
        out.push_back(make("site-phishing-list", Severity::Danger, "Known phishing site",
                           host + " is on the phishing list (entry " + verdict.match +
                               "). Do not sign anything it asks for."));
    } else if (verdict.kind == K::Fuzzy) {
        out.push_back(make("site-lookalike", Severity::Danger,
                           "The site's name imitates " + verdict.match,
                           host + " is not " + verdict.match + " but spelled almost like it."));
    }
    const bool puny = host.starts_with("xn--") || host.find(".xn--") != std::string::npos;
    const std::string unicode = puny ? site::to_unicode(host) : host;
    if (puny) {
        out.push_back(make("site-punycode", Severity::Warning,
                           "The site's name uses non-Latin letters",
                           host + " is written " + unicode + ": check it letter by letter."));
    }
    if (site::mixed_script(unicode)) {
        out.push_back(make("site-mixed-script", Severity::Danger, "The site's name mixes alphabets",
                           unicode + " mixes letters of several scripts, a trick to imitate "
                                     "another site's name."));
    }
    if (verdict.kind != K::Allowed && verdict.kind != K::Fuzzy) {
        if (auto m = site::confusable_with(unicode)) {
            out.push_back(make("site-lookalike", Severity::Danger, "The site's name imitates " + *m,
                               unicode + " looks like " + *m + " but is another site."));
        }
    }
    return out;
}

void add_site_warnings(Explanation& e, const Context& c) {
    for (auto& w : site_warnings(c.origin, settings_of(c)))
        add(e, std::move(w));
}

Explanation explain_message(core::ByteView message, const Context& c) {
    Explanation e;
    std::string text;
    if (is_text(message, text)) {
        if (auto s = parse_siwe(text)) {
            explain_siwe(*s, c, e);
        } else {
            std::string first = text.substr(0, std::min<std::size_t>(text.find('\n'), 80));
            e.summary =
                "Sign the message \"" + first + (first.size() < text.size() ? "…" : "") + "\"";
        }
        add_site_warnings(e, c);
        return e;
    }
    e.summary = "Sign " + std::to_string(message.size()) + " bytes of binary data";
    if (looks_like_transaction(message)) {
        add(e, make("message-is-transaction", Severity::Danger,
                    "The message is a serialized transaction",
                    "Its bytes decode as an Ethereum transaction: signing it may authorize that "
                    "transaction."));
    } else if (message.size() == 32) {
        add(e, make("binary-32-byte-message", Severity::Warning,
                    "The message is 32 bytes of binary data",
                    "It may be a hash standing for something you cannot see."));
    }
    add_site_warnings(e, c);
    return e;
}

Explanation explain_digest(const core::Hash32& digest, const Context& c) {
    Explanation e;
    e.summary = "Sign the opaque hash " + core::hex_encode(digest);
    add(e, make("eth-sign-opaque-hash", Severity::Danger, "eth_sign signs an opaque hash",
                "It can stand for a transaction that empties your account or any other "
                "authorization. Approve only if you computed this hash yourself."));
    add_site_warnings(e, c);
    return e;
}

Explanation explain_typed_data(std::string_view type, const json::object& domain,
                               const json::object& m, const Context& c) {
    Explanation e;
    std::uint64_t chain = c.chain_id;
    if (auto id = number(domain, "chainId")) {
        if (*id != U256(c.chain_id)) {
            add(e, make("typed-data-chain-mismatch", Severity::Danger,
                        "The typed data is for another chain",
                        "The typed data names chain " + core::u256_to_decimal(*id) +
                            ", not the selected chain " + std::to_string(c.chain_id) + "."));
        }
        if (*id <= U256(UINT64_MAX)) chain = static_cast<std::uint64_t>(*id);
    }
    const std::string name = [&] {
        const json::value* n = domain.if_contains("name");
        return n && n->is_string() ? std::string(n->as_string()) : std::string();
    }();
    std::string summary;
    if (type == "Permit" && name == "Permit2")
        summary = permit2("PermitSingle", m, chain, c, e);
    else if (type == "Permit")
        summary = permit_2612(m, domain, chain, c, e);
    else if (type == "PermitSingle" || type == "PermitBatch" || type == "PermitTransferFrom" ||
             type == "PermitBatchTransferFrom" || type.starts_with("PermitWitness") ||
             type.starts_with("PermitBatchWitness"))
        summary = permit2(type, m, chain, c, e);
    else if (type == "SafeTx")
        summary = safe_tx(m, c, e);
    else if (type == "OrderComponents" || type == "BulkOrder") {
        const json::value* tree = m.if_contains("tree");
        summary = type == "OrderComponents" ? seaport(m, c, e) : "Seaport bulk order";
        (void)tree;
    }
    if (auto vc = address(domain, "verifyingContract");
        vc && c.chain != nullptr && chain == c.chain_id) {
        if (auto code = c.chain->has_code(*vc); code && !*code) {
            add(e, make("verifying-contract-no-code", Severity::Warning,
                        "The verifying contract has no code",
                        vc->to_checksum_string() + " is not a contract on " +
                            chain_name(chain, c.settings) + "."));
        }
    }
    if (summary.empty()) {
        summary = "Sign " + std::string(type) + " data" + (name.empty() ? "" : " for " + name);
    }
    e.summary = summary + " on " + chain_name(chain, c.settings);
    add_site_warnings(e, c);
    return e;
}

// The node's pre-run of the transaction: details.simulation, and predicted-revert when it fails
// (with the reason decoded from the revert data) or needs more gas than its limit.
void explain_simulation(const Simulation& sim, const core::Transaction& tx, Explanation& e) {
    json::object node;
    std::optional<std::string> failure;
    switch (sim.outcome) {
        case Simulation::Outcome::Succeeds:
            node["outcome"] = "succeeds";
            if (sim.gas_needed && tx.gas_limit > 0 && *sim.gas_needed > tx.gas_limit) {
                failure = "it needs about " + std::to_string(*sim.gas_needed) +
                          " gas and its limit is " + std::to_string(tx.gas_limit) + " (out of gas)";
                node["outcome"] = "reverts";
            }
            break;
        case Simulation::Outcome::Reverts: {
            node["outcome"] = "reverts";
            const abi::RevertReason reason = abi::decode_revert(sim.revert_data);
            json::object r;
            r["kind"] = reason.kind == abi::RevertReason::Kind::Message   ? "Error"
                        : reason.kind == abi::RevertReason::Kind::Panic   ? "Panic"
                        : reason.kind == abi::RevertReason::Kind::Custom  ? "custom"
                        : reason.kind == abi::RevertReason::Kind::Unknown ? "unknown"
                                                                          : "none";
            if (!reason.name.empty()) r["name"] = reason.name;
            r["text"] = reason.text;
            if (!reason.arguments.empty()) r["arguments"] = reason.arguments;
            if (!sim.revert_data.empty()) r["data"] = core::hex_encode(sim.revert_data);
            node["reason"] = std::move(r);
            if (reason.kind == abi::RevertReason::Kind::Empty && !sim.node_message.empty())
                failure = sim.node_message;
            else if (reason.kind == abi::RevertReason::Kind::Message)
                failure = "\"" + reason.text + "\"";
            else
                failure = reason.text;
            break;
        }
        case Simulation::Outcome::Unknown:
            node["outcome"] = "unknown";
            break;
    }
    if (sim.gas_needed) node["gasNeeded"] = *sim.gas_needed;
    if (!sim.node_message.empty()) node["nodeMessage"] = sim.node_message;
    if (!sim.note.empty()) node["note"] = sim.note;
    e.details["simulation"] = std::move(node);
    if (failure) {
        add(e,
            make("predicted-revert", Severity::Warning, "The node predicts this transaction fails",
                 "Pre-run against the pending block, it reverts: " + *failure +
                     ". A failed transaction still pays its network fee."));
    }
}

Explanation explain_transaction(const core::Transaction& tx, const Context& c) {
    Explanation e;
    const Settings& st = settings_of(c);
    const std::uint64_t chain =
        tx.chain_id <= U256(UINT64_MAX) ? static_cast<std::uint64_t>(tx.chain_id) : c.chain_id;
    Walker w{c, e, chain};
    if (tx.chain_id != U256(c.chain_id) && tx.chain_id != 0) {
        add(e, make("transaction-chain-mismatch", Severity::Danger,
                    "The transaction is for another chain",
                    "It names chain " + core::u256_to_decimal(tx.chain_id) +
                        ", the active chain is " + std::to_string(c.chain_id) + "."));
    }
    std::string summary;
    if (!tx.to) {
        summary = "Create a contract (" + std::to_string(tx.data.size()) + " bytes of code)";
        add(e, make("contract-creation", Severity::Warning, "This transaction creates a contract",
                    "It has no recipient: its data is the code of a new contract."));
    } else if (tx.data.empty()) {
        summary = "Send " + native_amount(c, tx.value) + " to " + tx.to->to_checksum_string();
        w.recipient_checks(*tx.to, "recipient");
    } else {
        json::object node;
        summary = w.call(*tx.to, tx.data, tx.value, 0, node);
        e.details["call"] = std::move(node);
        if (tx.value != 0) summary += ", paying " + native_amount(c, tx.value);
        check_poisoning(c, *tx.to, "contract", e);
        if (c.chain != nullptr) {
            if (auto code = c.chain->has_code(*tx.to); code && !*code) {
                add(e, make("no-code-at-recipient", Severity::Warning,
                            "Data sent to an address without code",
                            tx.to->to_checksum_string() + " is not a contract: the data does " +
                                "nothing there (wrong chain or wrong address?)."));
            }
        }
    }
    if (st.value_warning_wei && tx.value > *st.value_warning_wei) {
        add(e, make("value-above-threshold", Severity::Warning, "Large amount",
                    "It sends " + native_amount(c, tx.value) + ", above your threshold of " +
                        native_amount(c, *st.value_warning_wei) + "."));
    }
    const U256 fee_per_gas = tx.type == core::TxType::Legacy || tx.type == core::TxType::Eip2930
                                 ? tx.gas_price
                                 : tx.max_fee_per_gas;
    const U256 max_fee = saturating_mul(fee_per_gas, U256(tx.gas_limit));
    if (st.fee_warning_wei && max_fee > *st.fee_warning_wei) {
        add(e, make("fee-above-threshold", Severity::Warning, "Large network fee",
                    "It may pay up to " + native_amount(c, max_fee) +
                        " in fees, above your "
                        "threshold of " +
                        native_amount(c, *st.fee_warning_wei) + "."));
    }
    if (c.chain != nullptr) {
        if (auto base = c.chain->base_fee();
            base && *base > 0 && fee_per_gas > saturating_mul(*base, U256(st.base_fee_multiple))) {
            add(e, make("fee-far-above-base-fee", Severity::Warning,
                        "The fee per gas is far above the current base fee",
                        "Up to " + format_units(fee_per_gas, 9) +
                            " gwei per gas, while the base "
                            "fee is " +
                            format_units(*base, 9) + " gwei."));
        }
        if (auto pending = c.chain->pending_nonce(c.account);
            pending && tx.nonce > *pending + st.nonce_gap) {
            add(e, make("nonce-far-ahead", Severity::Warning, "The nonce is far ahead",
                        "Nonce " + std::to_string(tx.nonce) + ", the account's next is " +
                            std::to_string(*pending) +
                            ": the transaction waits until the gap "
                            "is filled, and can surprise you later."));
        }
    }
    if (c.chain != nullptr && chain == c.chain_id) {
        if (auto sim = c.chain->simulation()) explain_simulation(*sim, tx, e);
    }
    e.summary = summary + " on " + chain_name(chain, c.settings);
    add_site_warnings(e, c);
    return e;
}

std::vector<Address> counterparties(const core::Transaction& tx) {
    std::vector<Address> out;
    if (!tx.to) return out;
    out.push_back(*tx.to);
    if (tx.data.size() < 4) return out;
    const std::uint32_t selector = (std::uint32_t(tx.data[0]) << 24) |
                                   (std::uint32_t(tx.data[1]) << 16) |
                                   (std::uint32_t(tx.data[2]) << 8) | tx.data[3];
    const abi::Function* fn = abi::find(selector);
    if (fn == nullptr) return out;
    auto args = abi::decode(fn->type, core::ByteView(tx.data).subspan(4));
    if (!args) return out;
    for (std::size_t i = 0; i < fn->type.children.size() && i < fn->type.names.size(); ++i) {
        if (fn->type.children[i].kind != abi::Type::Kind::Address) continue;
        if (auto a =
                address(*args, fn->type.names[i].empty() ? std::to_string(i) : fn->type.names[i]);
            a && std::find(out.begin(), out.end(), *a) == out.end())
            out.push_back(*a);
    }
    return out;
}

}  // namespace keybridge::insight
