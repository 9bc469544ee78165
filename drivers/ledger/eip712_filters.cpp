#include "drivers/ledger/eip712_filters.h"

#include <map>

#include <boost/json.hpp>

#include "core/hash.h"

namespace keybridge::drivers::ledger {
namespace {

namespace json = boost::json;

// The table: key -> the filters object, as published.
const json::object& filter_table() {
    static const json::object parsed = [] {
        json::error_code ec;
        json::value v = json::parse(detail::kEip712FiltersJson, ec);
        // The file is checked at build time only for its delimiter; a broken table means no
        // filters (the device then shows every field), never a crash.
        if (ec || !v.is_object()) return json::object();
        return std::move(v.get_object());
    }();
    return parsed;
}

std::string js_string(std::string_view text) {
    return json::serialize(json::value(text));
}

std::string domain_chain_id(const json::object& domain) {
    const json::value* id = domain.if_contains("chainId");
    if (id == nullptr || id->is_null()) return "0";
    if (id->is_string()) return std::string(id->get_string());
    if (id->is_int64()) return std::to_string(id->get_int64());
    if (id->is_uint64()) return std::to_string(id->get_uint64());
    if (id->is_double()) return std::to_string(static_cast<std::int64_t>(id->get_double()));
    return "0";
}

}  // namespace

std::string eip712_schema_hash(const core::eip712::TypedData& typed) {
    std::string text = "{";
    bool first_type = true;
    for (const auto& [name, fields] : typed.types()) {
        if (!first_type) text += ",";
        first_type = false;
        text += js_string(name) + ":[";
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i > 0) text += ",";
            text += "{\"name\":" + js_string(fields[i].name) +
                    ",\"type\":" + js_string(fields[i].type) + "}";
        }
        text += "]";
    }
    text += "}";
    // JavaScript's String.replace with a string pattern replaces the first match only.
    if (auto space = text.find(' '); space != std::string::npos) text.erase(space, 1);
    return core::hex_encode(core::sha224(core::as_bytes(text)), false);
}

std::optional<Eip712Filters> find_eip712_filters(const core::eip712::TypedData& typed) {
    std::string contract = "0x0000000000000000000000000000000000000000";
    if (const json::value* v = typed.domain().if_contains("verifyingContract");
        v != nullptr && v->is_string() && !v->get_string().empty()) {
        contract.assign(v->get_string().begin(), v->get_string().end());
        for (char& c : contract)
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    const std::string key =
        domain_chain_id(typed.domain()) + ":" + contract + ":" + eip712_schema_hash(typed);
    const json::value* entry = filter_table().if_contains(key);
    if (entry == nullptr || !entry->is_object()) return std::nullopt;
    const json::object& o = entry->get_object();
    Eip712Filters out;
    const json::value* name = o.if_contains("contractName");
    const json::value* fields = o.if_contains("fields");
    if (name == nullptr || !name->is_object() || fields == nullptr || !fields->is_array()) {
        return std::nullopt;
    }
    auto text = [](const json::object& obj, std::string_view k) -> std::optional<std::string> {
        const json::value* v = obj.if_contains(k);
        if (v == nullptr || !v->is_string()) return std::nullopt;
        return std::string(v->get_string());
    };
    auto label = text(name->get_object(), "label");
    auto signature = text(name->get_object(), "signature");
    if (!label || !signature) return std::nullopt;
    auto sig_bytes = core::hex_decode(*signature, core::HexPrefix::Optional);
    if (!sig_bytes) return std::nullopt;
    out.contract_label = *label;
    out.contract_signature = std::move(*sig_bytes);
    for (const auto& f : fields->get_array()) {
        if (!f.is_object()) return std::nullopt;
        const auto& fo = f.get_object();
        Eip712FieldFilter field;
        auto path = text(fo, "path");
        auto field_label = text(fo, "label");
        auto format = text(fo, "format");
        auto field_sig = text(fo, "signature");
        if (!path || !field_label || !format || !field_sig) return std::nullopt;
        auto bytes = core::hex_decode(*field_sig, core::HexPrefix::Optional);
        if (!bytes) return std::nullopt;
        field.path = *path;
        field.label = *field_label;
        field.format = *format;
        field.signature = std::move(*bytes);
        if (const json::value* c = fo.if_contains("coin_ref"); c != nullptr && c->is_int64()) {
            field.coin_ref = static_cast<int>(c->get_int64());
        }
        out.fields.push_back(std::move(field));
    }
    return out;
}

}  // namespace keybridge::drivers::ledger
