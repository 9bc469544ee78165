#include "daemon/rpc/params.h"

namespace keybridge::daemon::rpc {

namespace json = boost::json;

namespace {

RpcError bad(std::string_view where, std::string_view message) {
    return invalid_params_error(std::string(where) + ": " + std::string(message));
}

std::string where(std::size_t i, std::string_view what) {
    return "params[" + std::to_string(i) + "] (" + std::string(what) + ")";
}

ParamResult<core::U256> quantity_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (!v->is_string())
        return tl::unexpected(bad(key, "must be a hex quantity string such as \"0x1\""));
    auto q = core::parse_u256_hex(v->as_string());
    if (!q) return tl::unexpected(bad(key, q.error().detail));
    return *q;
}

ParamResult<std::uint64_t> u64_field(const json::object& o, std::string_view key) {
    auto q = quantity_field(o, key);
    if (!q) return tl::unexpected(q.error());
    if (*q > core::U256(UINT64_MAX)) return tl::unexpected(bad(key, "does not fit in 64 bits"));
    return static_cast<std::uint64_t>(*q);
}

}  // namespace

RpcError invalid_params_error(std::string message) {
    return RpcError{kInvalidParams, std::move(message), std::nullopt};
}

std::string quantity(std::uint64_t v) {
    // The same text as core::u256_to_quantity, without the 256-bit detour: eth_chainId answers
    // with this on every call, and the conversion was its largest single cost.
    static constexpr char kDigits[] = "0123456789abcdef";
    char text[2 + 16];
    char* end = text + sizeof text;
    char* p = end;
    do {
        *--p = kDigits[v & 15];
        v >>= 4;
    } while (v != 0);
    *--p = 'x';
    *--p = '0';
    return std::string(p, end);
}

ParamResult<const json::array*> positional(const json::value& params, std::size_t min,
                                           std::size_t max) {
    static const json::array kEmpty;
    const json::array* a = &kEmpty;
    if (params.is_array()) {
        a = &params.as_array();
    } else if (!params.is_null()) {
        return tl::unexpected(invalid_params_error("params must be an array"));
    }
    if (a->size() < min || a->size() > max) {
        std::string expected =
            min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
        return tl::unexpected(invalid_params_error("expected " + expected + " parameters, got " +
                                                   std::to_string(a->size())));
    }
    return a;
}

ParamResult<core::Address> address_at(const json::array& a, std::size_t i, std::string_view what) {
    if (i >= a.size() || !a[i].is_string())
        return tl::unexpected(bad(where(i, what), "must be an address string"));
    auto address = core::Address::parse(a[i].as_string());
    if (!address) return tl::unexpected(bad(where(i, what), address.error().detail));
    return *address;
}

ParamResult<std::string> string_at(const json::array& a, std::size_t i, std::string_view what) {
    if (i >= a.size() || !a[i].is_string())
        return tl::unexpected(bad(where(i, what), "must be a string"));
    return std::string(a[i].as_string());
}

ParamResult<core::Bytes> hex_at(const json::array& a, std::size_t i, std::string_view what) {
    auto s = string_at(a, i, what);
    if (!s) return tl::unexpected(s.error());
    auto bytes = core::hex_decode(*s, core::HexPrefix::Required);
    if (!bytes) return tl::unexpected(bad(where(i, what), bytes.error().detail));
    return *bytes;
}

ParamResult<std::uint64_t> chain_id_of(const json::value& v, std::string_view what) {
    if (!v.is_string())
        return tl::unexpected(bad(what, "chainId must be a hex string such as \"0x1\""));
    auto q = core::parse_quantity(v.as_string());
    if (!q) return tl::unexpected(bad(what, "chainId: " + q.error().detail));
    if (*q == 0 || *q > core::U256((std::uint64_t{1} << 53) - 1)) {
        return tl::unexpected(bad(what, "chainId must be between 1 and 2^53-1"));
    }
    return static_cast<std::uint64_t>(*q);
}

ParamResult<TransactionRequest> transaction_request(const json::value& v) {
    if (!v.is_object())
        return tl::unexpected(invalid_params_error("params[0] (transaction) must be an object"));
    const json::object& o = v.as_object();
    static const std::vector<std::string_view> kKnown = {
        "from",  "to",   "gas",   "gasLimit", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas",
        "value", "data", "input", "nonce",    "chainId",  "type",         "accessList"};
    for (const auto& [key, value] : o) {
        if (std::find(kKnown.begin(), kKnown.end(), std::string_view(key)) == kKnown.end()) {
            return tl::unexpected(bad("transaction", "unknown field '" + std::string(key) + "'"));
        }
    }
    TransactionRequest r;
    auto address_field = [&](std::string_view key) -> ParamResult<std::optional<core::Address>> {
        const json::value* f = o.if_contains(key);
        if (f == nullptr || f->is_null()) return std::optional<core::Address>{};
        if (!f->is_string()) return tl::unexpected(bad(key, "must be an address string"));
        auto a = core::Address::parse(f->as_string());
        if (!a) return tl::unexpected(bad(key, a.error().detail));
        return std::optional<core::Address>(*a);
    };
    auto from = address_field("from");
    if (!from) return tl::unexpected(from.error());
    r.from = *from;
    auto to = address_field("to");
    if (!to) return tl::unexpected(to.error());
    r.to = *to;
    for (std::string_view key : {"gas", "gasLimit"}) {
        if (o.contains(key) && !o.at(key).is_null()) {
            auto g = u64_field(o, key);
            if (!g) return tl::unexpected(g.error());
            r.gas = *g;
        }
    }
    auto opt_u256 = [&](std::string_view key, std::optional<core::U256>& out) -> ParamResult<bool> {
        if (!o.contains(key) || o.at(key).is_null()) return false;
        auto q = quantity_field(o, key);
        if (!q) return tl::unexpected(q.error());
        out = *q;
        return true;
    };
    for (auto [key, field] :
         {std::pair{"gasPrice", &r.gas_price}, std::pair{"maxFeePerGas", &r.max_fee_per_gas},
          std::pair{"maxPriorityFeePerGas", &r.max_priority_fee_per_gas}}) {
        auto ok = opt_u256(key, *field);
        if (!ok) return tl::unexpected(ok.error());
    }
    std::optional<core::U256> value;
    if (auto ok = opt_u256("value", value); !ok) return tl::unexpected(ok.error());
    r.value = value.value_or(0);
    const json::value* data = o.if_contains("data");
    const json::value* input = o.if_contains("input");
    if (data && input && *data != *input) {
        return tl::unexpected(bad("transaction", "data and input differ"));
    }
    if (const json::value* d = data ? data : input; d && !d->is_null()) {
        if (!d->is_string()) return tl::unexpected(bad("data", "must be a hex string"));
        auto bytes = core::hex_decode(d->as_string(), core::HexPrefix::Required);
        if (!bytes) return tl::unexpected(bad("data", bytes.error().detail));
        r.data = std::move(*bytes);
    }
    if (o.contains("nonce") && !o.at("nonce").is_null()) {
        auto n = u64_field(o, "nonce");
        if (!n) return tl::unexpected(n.error());
        r.nonce = *n;
    }
    if (o.contains("chainId") && !o.at("chainId").is_null()) {
        auto c = chain_id_of(o.at("chainId"), "chainId");
        if (!c) return tl::unexpected(c.error());
        r.chain_id = *c;
    }
    if (o.contains("type") && !o.at("type").is_null()) {
        auto t = u64_field(o, "type");
        if (!t) return tl::unexpected(t.error());
        if (*t == 3 || *t == 4) {
            return tl::unexpected(RpcError{kUnsupportedMethod,
                                           *t == 3
                                               ? "EIP-4844 blob transactions are not supported"
                                               : "EIP-7702 set-code transactions are not supported",
                                           std::nullopt});
        }
        if (*t > 2) return tl::unexpected(bad("type", "must be 0x0, 0x1 or 0x2"));
        r.type = static_cast<int>(*t);
    }
    if (const json::value* list = o.if_contains("accessList"); list && !list->is_null()) {
        if (!list->is_array()) return tl::unexpected(bad("accessList", "must be an array"));
        core::AccessList access;
        std::size_t i = 0;
        for (const json::value& e : list->as_array()) {
            const std::string at = "accessList[" + std::to_string(i++) + "]";
            if (!e.is_object()) return tl::unexpected(bad(at, "must be an object"));
            const json::value* address = e.as_object().if_contains("address");
            const json::value* keys = e.as_object().if_contains("storageKeys");
            if (!address || !address->is_string())
                return tl::unexpected(bad(at, "address missing"));
            auto a = core::Address::parse(address->as_string());
            if (!a) return tl::unexpected(bad(at + ".address", a.error().detail));
            core::AccessListEntry entry{*a, {}};
            if (keys && !keys->is_null()) {
                if (!keys->is_array())
                    return tl::unexpected(bad(at + ".storageKeys", "must be an array"));
                for (const json::value& k : keys->as_array()) {
                    if (!k.is_string())
                        return tl::unexpected(bad(at + ".storageKeys", "must hold hex strings"));
                    auto key = core::hex_decode_fixed<32>(k.as_string(), core::HexPrefix::Required);
                    if (!key) return tl::unexpected(bad(at + ".storageKeys", key.error().detail));
                    entry.storage_keys.push_back(*key);
                }
            }
            access.push_back(std::move(entry));
        }
        r.access_list = std::move(access);
    }
    return r;
}

json::object transaction_json(const core::Transaction& tx, const core::Address& from) {
    json::object o;
    o["type"] = quantity(static_cast<std::uint64_t>(tx.type));
    o["from"] = from.to_checksum_string();
    o["to"] = tx.to ? json::value(tx.to->to_checksum_string()) : json::value(nullptr);
    o["value"] = core::u256_to_quantity(tx.value);
    o["valueWei"] = core::u256_to_decimal(tx.value);
    o["nonce"] = quantity(tx.nonce);
    o["gas"] = quantity(tx.gas_limit);
    if (tx.type == core::TxType::Eip1559) {
        o["maxFeePerGas"] = core::u256_to_quantity(tx.max_fee_per_gas);
        o["maxPriorityFeePerGas"] = core::u256_to_quantity(tx.max_priority_fee_per_gas);
    } else {
        o["gasPrice"] = core::u256_to_quantity(tx.gas_price);
    }
    o["chainId"] = core::u256_to_quantity(tx.chain_id);
    o["data"] = core::hex_encode(tx.data);
    if (!tx.access_list.empty()) {
        json::array list;
        for (const auto& e : tx.access_list) {
            json::array keys;
            for (const auto& k : e.storage_keys)
                keys.push_back(json::string(core::hex_encode(k)));
            list.push_back(
                json::object{{"address", e.address.to_checksum_string()}, {"storageKeys", keys}});
        }
        o["accessList"] = std::move(list);
    }
    return o;
}

}  // namespace keybridge::daemon::rpc
