// A bounded ABI decoder for the bundled function table. Input is hostile calldata: every offset
// and length is checked against the data before use, and arrays are capped.
#include "insight/abi.h"

#include <algorithm>

#include "core/address.h"
#include "core/assert.h"
#include "core/uint256.h"

namespace keybridge::insight::abi {
namespace {

namespace json = boost::json;

core::Error bad(const std::string& what) {
    return core::Error{core::ErrorCode::InvalidFormat, "calldata: " + what};
}

core::Result<Type> parse_type(std::string_view text);

// Splits "a,b,(c,d)" at top-level commas.
std::vector<std::string_view> split_top(std::string_view text) {
    std::vector<std::string_view> out;
    int depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i < text.size() && text[i] == '(') ++depth;
        if (i < text.size() && text[i] == ')') --depth;
        if (i == text.size() || (text[i] == ',' && depth == 0)) {
            if (i > start) out.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

core::Result<Type> parse_tuple(std::string_view inner) {
    Type t;
    t.kind = Type::Kind::Tuple;
    for (std::string_view item : split_top(inner)) {
        // "name:type"; a type may itself hold colons inside parentheses, so split at the first.
        const auto colon = item.find(':');
        if (colon == std::string_view::npos) return tl::unexpected(bad("parameter without name"));
        auto child = parse_type(item.substr(colon + 1));
        if (!child) return child;
        t.names.emplace_back(item.substr(0, colon));
        t.children.push_back(std::move(*child));
    }
    return t;
}

unsigned parse_size(std::string_view digits, unsigned fallback) {
    if (digits.empty()) return fallback;
    unsigned n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9' || n > 100000) return 0;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    return n;
}

core::Result<Type> parse_type(std::string_view text) {
    // Array suffixes bind last: "(…)[2][]" is an array of fixed arrays of tuples.
    if (!text.empty() && text.back() == ']') {
        const auto open = text.rfind('[');
        if (open == std::string_view::npos) return tl::unexpected(bad("bad array type"));
        auto element = parse_type(text.substr(0, open));
        if (!element) return element;
        Type t;
        const std::string_view len = text.substr(open + 1, text.size() - open - 2);
        t.kind = len.empty() ? Type::Kind::Array : Type::Kind::FixedArray;
        t.size = parse_size(len, 0);
        if (t.kind == Type::Kind::FixedArray && (t.size == 0 || t.size > kMaxElements))
            return tl::unexpected(bad("bad array length"));
        t.children.push_back(std::move(*element));
        return t;
    }
    if (!text.empty() && text.front() == '(') {
        if (text.back() != ')') return tl::unexpected(bad("bad tuple type"));
        return parse_tuple(text.substr(1, text.size() - 2));
    }
    Type t;
    if (text == "address") {
        t.kind = Type::Kind::Address;
    } else if (text == "bool") {
        t.kind = Type::Kind::Bool;
    } else if (text == "string") {
        t.kind = Type::Kind::String;
    } else if (text == "bytes") {
        t.kind = Type::Kind::Bytes;
    } else if (text.starts_with("uint") || text.starts_with("int")) {
        const bool is_unsigned = text.front() == 'u';
        t.kind = is_unsigned ? Type::Kind::Uint : Type::Kind::Int;
        t.size = parse_size(text.substr(is_unsigned ? 4 : 3), 256);
        if (t.size == 0 || t.size > 256 || t.size % 8 != 0)
            return tl::unexpected(bad("bad integer type"));
    } else if (text.starts_with("bytes")) {
        t.kind = Type::Kind::FixedBytes;
        t.size = parse_size(text.substr(5), 0);
        if (t.size == 0 || t.size > 32) return tl::unexpected(bad("bad bytesN type"));
    } else {
        return tl::unexpected(bad("unknown type " + std::string(text)));
    }
    return t;
}

std::size_t head_size(const Type& t) {
    if (t.dynamic()) return 32;
    if (t.kind == Type::Kind::FixedArray) return t.size * head_size(t.children[0]);
    if (t.kind == Type::Kind::Tuple) {
        std::size_t n = 0;
        for (const auto& c : t.children)
            n += head_size(c);
        return n;
    }
    return 32;
}

class Decoder {
  public:
    explicit Decoder(core::ByteView data) : data_(data) {}

    // The value of type t whose head sits at `pos` in the encoding that starts at `base`.
    core::Result<json::value> value(const Type& t, std::size_t base, std::size_t pos) {
        if (++steps_ > 20000) return tl::unexpected(bad("too many values"));
        if (t.dynamic()) {
            auto offset = word_size(pos);
            if (!offset) return tl::unexpected(offset.error());
            if (*offset > data_.size() - std::min(data_.size(), base))
                return tl::unexpected(bad("offset out of range"));
            return body(t, base + *offset);
        }
        return body(t, pos);
    }

    core::Result<json::value> top(const Type& tuple) { return body(tuple, 0); }

  private:
    core::Result<core::ByteView> word(std::size_t pos) const {
        if (pos > data_.size() || data_.size() - pos < 32)
            return tl::unexpected(bad("data ends early"));
        return data_.subspan(pos, 32);
    }

    core::Result<std::size_t> word_size(std::size_t pos) const {
        auto w = word(pos);
        if (!w) return tl::unexpected(w.error());
        for (std::size_t i = 0; i < 24; ++i)
            if ((*w)[i] != 0) return tl::unexpected(bad("offset or length too large"));
        std::size_t n = 0;
        for (std::size_t i = 24; i < 32; ++i)
            n = (n << 8) | (*w)[i];
        if (n > data_.size()) return tl::unexpected(bad("offset or length too large"));
        return n;
    }

    core::Result<json::value> sequence(const Type& element, std::size_t count, std::size_t start) {
        if (count > kMaxElements) return tl::unexpected(bad("too many array elements"));
        json::array out;
        std::size_t pos = start;
        for (std::size_t i = 0; i < count; ++i) {
            auto v = value(element, start, pos);
            if (!v) return v;
            out.push_back(std::move(*v));
            pos += head_size(element);
        }
        return json::value(std::move(out));
    }

    core::Result<json::value> body(const Type& t, std::size_t pos) {
        using K = Type::Kind;
        switch (t.kind) {
            case K::Uint:
            case K::Int: {
                auto w = word(pos);
                if (!w) return tl::unexpected(w.error());
                auto n = core::u256_from_be(*w);
                if (!n) return tl::unexpected(n.error());
                if (t.kind == K::Int && ((*w)[0] & 0x80) != 0) {
                    const core::U256 magnitude = (~*n) + 1;
                    return json::value("-" + core::u256_to_decimal(magnitude));
                }
                return json::value(core::u256_to_decimal(*n));
            }
            case K::Address: {
                auto w = word(pos);
                if (!w) return tl::unexpected(w.error());
                for (std::size_t i = 0; i < 12; ++i)
                    if ((*w)[i] != 0) return tl::unexpected(bad("dirty address padding"));
                core::Address::Raw raw{};
                std::copy_n(w->begin() + 12, 20, raw.begin());
                return json::value(core::Address(raw).to_checksum_string());
            }
            case K::Bool: {
                auto w = word(pos);
                if (!w) return tl::unexpected(w.error());
                for (std::size_t i = 0; i < 31; ++i)
                    if ((*w)[i] != 0) return tl::unexpected(bad("dirty bool"));
                if ((*w)[31] > 1) return tl::unexpected(bad("dirty bool"));
                return json::value((*w)[31] == 1);
            }
            case K::FixedBytes: {
                auto w = word(pos);
                if (!w) return tl::unexpected(w.error());
                return json::value(core::hex_encode(w->subspan(0, t.size)));
            }
            case K::Bytes:
            case K::String: {
                auto len = word_size(pos);
                if (!len) return tl::unexpected(len.error());
                if (data_.size() - pos - 32 < *len)
                    return tl::unexpected(bad("bytes run past data"));
                const auto bytes = data_.subspan(pos + 32, *len);
                if (t.kind == K::String)
                    return json::value(std::string(bytes.begin(), bytes.end()));
                return json::value(core::hex_encode(bytes));
            }
            case K::Array: {
                auto count = word_size(pos);
                if (!count) return tl::unexpected(count.error());
                return sequence(t.children[0], *count, pos + 32);
            }
            case K::FixedArray:
                return sequence(t.children[0], t.size, pos);
            case K::Tuple: {
                json::object out;
                std::size_t head = pos;
                for (std::size_t i = 0; i < t.children.size(); ++i) {
                    auto v = value(t.children[i], pos, head);
                    if (!v) return v;
                    const std::string key = t.names[i].empty() ? std::to_string(i) : t.names[i];
                    out[key] = std::move(*v);
                    head += head_size(t.children[i]);
                }
                return json::value(std::move(out));
            }
        }
        return tl::unexpected(bad("unknown type"));
    }

    core::ByteView data_;
    std::size_t steps_ = 0;
};

struct RawEntry {
    std::uint32_t selector;
    std::string_view family;
    std::string_view name;
    std::string_view params;
};

constexpr RawEntry kTable[] = {
#include "insight/generated/abi_table.inc"
};

}  // namespace

bool Type::dynamic() const {
    switch (kind) {
        case Kind::Bytes:
        case Kind::String:
        case Kind::Array:
            return true;
        case Kind::FixedArray:
            return children[0].dynamic();
        case Kind::Tuple:
            return std::any_of(children.begin(), children.end(),
                               [](const Type& c) { return c.dynamic(); });
        default:
            return false;
    }
}

std::string Type::canonical() const {
    switch (kind) {
        case Kind::Uint:
            return "uint" + std::to_string(size);
        case Kind::Int:
            return "int" + std::to_string(size);
        case Kind::Address:
            return "address";
        case Kind::Bool:
            return "bool";
        case Kind::FixedBytes:
            return "bytes" + std::to_string(size);
        case Kind::Bytes:
            return "bytes";
        case Kind::String:
            return "string";
        case Kind::Array:
            return children[0].canonical() + "[]";
        case Kind::FixedArray:
            return children[0].canonical() + "[" + std::to_string(size) + "]";
        case Kind::Tuple: {
            std::string out = "(";
            for (std::size_t i = 0; i < children.size(); ++i) {
                if (i > 0) out += ',';
                out += children[i].canonical();
            }
            return out + ")";
        }
    }
    return {};
}

core::Result<Type> parse_params(std::string_view text) {
    return parse_tuple(text);
}

core::Result<json::object> decode(const Type& tuple, core::ByteView data) {
    Decoder d(data);
    // The arguments are the tuple's body itself, not an offset to it.
    auto v = d.top(tuple);
    if (!v) return tl::unexpected(v.error());
    return std::move(v->as_object());
}

std::string Function::signature() const {
    const std::string params_canonical = type.canonical();  // "(a,b)"
    return std::string(name) + params_canonical;
}

namespace {
constexpr RawEntry kErrors[] = {
#include "insight/generated/errors.inc"
};

// A generated table, its parameter types parsed once (the generator wrote them, sorted by
// selector).
template <std::size_t N>
std::vector<Function> parse_table(const RawEntry (&raw)[N]) {
    std::vector<Function> out;
    out.reserve(N);
    for (const RawEntry& e : raw) {
        auto type = parse_params(e.params);
        KEYBRIDGE_ASSERT(type.has_value());
        out.push_back(Function{e.selector, e.family, e.name, e.params, std::move(*type)});
    }
    return out;
}

const Function* find_in(const std::vector<Function>& sorted, std::uint32_t selector) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), selector,
                               [](const Function& f, std::uint32_t s) { return f.selector < s; });
    return it != sorted.end() && it->selector == selector ? &*it : nullptr;
}
}  // namespace

const std::vector<Function>& table() {
    static const std::vector<Function> functions = parse_table(kTable);
    return functions;
}

const Function* find(std::uint32_t selector) {
    return find_in(table(), selector);
}

const std::vector<Function>& error_table() {
    static const std::vector<Function> errors = parse_table(kErrors);
    return errors;
}

const Function* find_error(std::uint32_t selector) {
    return find_in(error_table(), selector);
}

std::string_view panic_meaning(const core::U256& code) {
    // Solidity's panic codes (the language documentation, "Panic via assert and error checks").
    if (code > core::U256(0xff)) return "unknown panic code";
    switch (static_cast<unsigned>(code)) {
        case 0x00:
            return "generic compiler panic";
        case 0x01:
            return "assertion failed";
        case 0x11:
            return "arithmetic overflow or underflow";
        case 0x12:
            return "division or modulo by zero";
        case 0x21:
            return "conversion to an enum out of range";
        case 0x22:
            return "incorrectly encoded storage byte array";
        case 0x31:
            return "pop() on an empty array";
        case 0x32:
            return "array index out of bounds";
        case 0x41:
            return "out of memory (too large an allocation)";
        case 0x51:
            return "call to an uninitialised internal function";
        default:
            return "unknown panic code";
    }
}

namespace {

std::string argument_text(const json::value& v) {
    if (v.is_string()) return std::string(v.as_string());
    return json::serialize(v);
}

}  // namespace

RevertReason decode_revert(core::ByteView data) {
    RevertReason out;
    if (data.empty()) {
        out.kind = RevertReason::Kind::Empty;
        out.text = "no reason given";
        return out;
    }
    if (data.size() < 4) {
        out.kind = RevertReason::Kind::Unknown;
        out.text = "unrecognised revert data " + core::hex_encode(data);
        return out;
    }
    const std::uint32_t selector = (std::uint32_t(data[0]) << 24) | (std::uint32_t(data[1]) << 16) |
                                   (std::uint32_t(data[2]) << 8) | data[3];
    const core::ByteView body = data.subspan(4);
    out.selector = selector;
    if (selector == kErrorStringSelector) {
        static const Type string_tuple = *parse_params("message:string");
        if (auto args = decode(string_tuple, body)) {
            out.kind = RevertReason::Kind::Message;
            out.name = "Error";
            out.text = std::string(args->at("message").as_string());
            out.arguments = std::move(*args);
            return out;
        }
    } else if (selector == kPanicSelector) {
        static const Type panic_tuple = *parse_params("code:uint256");
        if (auto args = decode(panic_tuple, body)) {
            auto code = core::parse_u256(std::string(args->at("code").as_string()));
            if (code) {
                out.kind = RevertReason::Kind::Panic;
                out.name = "Panic";
                out.panic_code = *code;
                const std::string hex = core::u256_to_quantity(*code);
                out.text = "panic " + hex + ": " + std::string(panic_meaning(*code));
                out.arguments = std::move(*args);
                return out;
            }
        }
    } else if (const Function* error = find_error(selector)) {
        if (auto args = decode(error->type, body)) {
            out.kind = RevertReason::Kind::Custom;
            out.name = std::string(error->name);
            std::string text = out.name + "(";
            bool first = true;
            for (const auto& [key, value] : *args) {
                if (!first) text += ", ";
                first = false;
                text += std::string(key) + ": " + argument_text(value);
            }
            out.text = text + ")";
            out.arguments = std::move(*args);
            return out;
        }
    }
    out.kind = RevertReason::Kind::Unknown;
    out.text = "custom error " + core::hex_encode(data.subspan(0, 4)) +
               " (not in the bundled ABIs) with " + std::to_string(body.size()) + " bytes of data";
    return out;
}

}  // namespace keybridge::insight::abi
