#include "core/eip712.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/assert.h"
#include "core/hash.h"
#include "core/uint256.h"

namespace keybridge::core::eip712 {
namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Errors

// User text echoed in an error is shortened (a hostile name may be a megabyte long) and limited
// to printable ASCII, so that the detail is always safe to log and to put into a JSON reply.
std::string quote(std::string_view text) {
    constexpr std::size_t kMaxEcho = 64;
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "'";
    for (const char c : text.substr(0, kMaxEcho)) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7f && c != '\\') {
            out += c;
        } else {
            out += "\\x";
            out += kDigits[b >> 4];
            out += kDigits[b & 0x0f];
        }
    }
    if (text.size() > kMaxEcho) out += "...";
    return out + "'";
}

const char* kind_name(const json::value& value) {
    switch (value.kind()) {
        case json::kind::object:
            return "an object";
        case json::kind::array:
            return "an array";
        case json::kind::string:
            return "a string";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::null:
            return "null";
    }
    return "an unknown JSON value";
}

tl::unexpected<Error> fail_at(ErrorCode code, std::string_view path, std::string_view what) {
    return fail(code, std::string(path) + ": " + std::string(what));
}

// Prefixes a helper's error with the place it happened.
tl::unexpected<Error> fail_at(const Error& error, std::string_view path) {
    return fail(error.code, std::string(path) + ": " + error.detail);
}

// Appends a segment to an error path for the lifetime of the guard.
class PathGuard {
  public:
    PathGuard(std::string& path, std::string_view segment) : path_(path), size_(path.size()) {
        path_ += segment;
    }
    PathGuard(std::string& path, std::string_view first, std::string_view second)
        : PathGuard(path, first) {
        path_ += second;
    }
    // Appends "[index]" without building a temporary string (arrays are walked element by
    // element on the hot path).
    PathGuard(std::string& path, std::size_t index) : path_(path), size_(path.size()) {
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, index).ptr;
        path_ += '[';
        path_.append(digits, end);
        path_ += ']';
    }
    ~PathGuard() { path_.resize(size_); }
    PathGuard(const PathGuard&) = delete;
    PathGuard& operator=(const PathGuard&) = delete;

  private:
    std::string& path_;
    std::size_t size_;
};

std::string index_segment(std::size_t i) {
    return "[" + std::to_string(i) + "]";
}

// ---------------------------------------------------------------------------------------------
// JSON input and limits

// A lower bound of the value's compact serialised size, and its nesting depth, checked without
// recursion so that a caller-built value of any depth cannot exhaust the stack. Being a lower
// bound, every document accepted by parse_json_text also passes here.
Status check_json_limits(const json::value& root) {
    struct Pending {
        const json::value* value;
        std::size_t depth;  // containers enclosing this value
    };
    std::vector<Pending> stack{{&root, 0}};
    std::size_t size = 0;
    const auto too_large = [] {
        return fail(ErrorCode::InvalidArgument,
                    "typed data is larger than " + std::to_string(kMaxInputBytes) + " bytes");
    };
    while (!stack.empty()) {
        const Pending item = stack.back();
        stack.pop_back();
        const json::value& value = *item.value;
        if (value.is_object() || value.is_array()) {
            const std::size_t depth = item.depth + 1;
            if (depth > kMaxDepth) {
                return fail(ErrorCode::InvalidArgument,
                            "JSON nesting is deeper than " + std::to_string(kMaxDepth) + " levels");
            }
            size += 2;
            if (value.is_object()) {
                for (const auto& member : value.get_object()) {
                    size += member.key().size() + 3;
                    if (size > kMaxInputBytes) return too_large();
                    stack.push_back({&member.value(), depth});
                }
            } else {
                for (const auto& element : value.get_array()) {
                    if (++size > kMaxInputBytes) return too_large();
                    stack.push_back({&element, depth});
                }
            }
        } else if (value.is_string()) {
            size += value.get_string().size() + 2;
        } else {
            size += 1;
        }
        if (size > kMaxInputBytes) return too_large();
    }
    return {};
}

Result<json::value> parse_json_text(std::string_view text) {
    if (text.size() > kMaxInputBytes) {
        return fail(ErrorCode::InvalidArgument, "typed data is larger than " +
                                                    std::to_string(kMaxInputBytes) + " bytes (" +
                                                    std::to_string(text.size()) + ")");
    }
    json::parse_options options;
    options.max_depth = kMaxDepth;  // the parser stops early instead of building a deep tree
    json::stream_parser parser(json::storage_ptr(), options);
    boost::system::error_code ec;
    const std::size_t used = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec == json::error::too_deep) {
        return fail(ErrorCode::InvalidArgument, "JSON nesting is deeper than " +
                                                    std::to_string(kMaxDepth) + " levels (byte " +
                                                    std::to_string(used) + ")");
    }
    if (ec) {
        return fail(ErrorCode::InvalidFormat,
                    "invalid JSON at byte " + std::to_string(used) + ": " + ec.message());
    }
    return parser.release();
}

// ---------------------------------------------------------------------------------------------
// Type grammar

}  // namespace

// The parsed forms a Schema keeps (named, not anonymous: detail::Schema holds them).
namespace detail {

enum class Kind { Address, Bool, String, Bytes, FixedBytes, Int, Uint, Struct };

// A parsed member type. It views the text it was parsed from, which must outlive it (a Field's
// type inside the TypedData being encoded, or the JSON string being validated); parsing one
// allocates only for an array type.
struct TypeSpec {
    Kind kind = Kind::Struct;
    unsigned size = 0;              // bytes for FixedBytes, bits for Int and Uint
    std::string_view base;          // the type without array suffixes
    std::vector<std::size_t> dims;  // array dimensions as written, outermost last; 0 = T[]
};

// What encoding a struct type needs besides the data.
struct StructLayout {
    Hash32 type_hash;
    const std::vector<Field>* fields;
    std::vector<TypeSpec> specs;  // specs[i] = parse_type(fields[i].type)
    std::string type_text;        // encodeType
};

// A document's "types", validated, and, for a schema small enough to be remembered, the layout
// of every struct type. A function of the types object alone, so documents with equal "types"
// share one (see schema_for). Immutable once built; the layouts' views point into `types`.
struct Schema {
    TypedData::TypeMap types;  // every definition, sorted by name; always has EIP712Domain
    std::map<std::string, StructLayout, std::less<>> layouts;  // empty, or one per struct type
};

}  // namespace detail

namespace {

using detail::Kind;
using detail::Schema;
using detail::StructLayout;
using detail::TypeSpec;

// Decimal digits without sign or leading zeros, at most max.
std::optional<std::size_t> parse_canonical_count(std::string_view digits, std::size_t max) {
    if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0')) {
        return std::nullopt;
    }
    std::size_t value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (value > max) return std::nullopt;
    return value;
}

std::optional<std::pair<Kind, unsigned>> atomic_kind(std::string_view base) {
    if (base == "address") return std::pair{Kind::Address, 0u};
    if (base == "bool") return std::pair{Kind::Bool, 0u};
    if (base == "string") return std::pair{Kind::String, 0u};
    if (base == "bytes") return std::pair{Kind::Bytes, 0u};
    if (base.starts_with("bytes")) {
        auto n = parse_canonical_count(base.substr(5), 32);
        if (n && *n >= 1) return std::pair{Kind::FixedBytes, static_cast<unsigned>(*n)};
        return std::nullopt;
    }
    const bool is_unsigned = base.starts_with("uint");
    if (is_unsigned || base.starts_with("int")) {
        auto n = parse_canonical_count(base.substr(is_unsigned ? 4 : 3), 256);
        if (n && *n >= 8 && *n % 8 == 0) {
            return std::pair{is_unsigned ? Kind::Uint : Kind::Int, static_cast<unsigned>(*n)};
        }
    }
    return std::nullopt;
}

// Names that are, or look like, Solidity elementary types; a struct may not take them, so that a
// definition can never shadow an atomic type.
bool looks_atomic(std::string_view name) {
    for (std::string_view exact :
         {"address", "bool", "string", "bytes", "function", "int", "uint", "fixed", "ufixed"}) {
        if (name == exact) return true;
    }
    for (std::string_view prefix : {"bytes", "uint", "int", "ufixed", "fixed"}) {
        if (name.size() > prefix.size() && name.starts_with(prefix) && name[prefix.size()] >= '0' &&
            name[prefix.size()] <= '9') {
            return true;
        }
    }
    return false;
}

bool is_identifier(std::string_view name, bool allow_dollar) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                            (allow_dollar && c == '$');
        const bool digit = c >= '0' && c <= '9';
        if (!letter && !(digit && i > 0)) return false;
    }
    return true;
}

// Struct names exclude '$': eth-sig-util finds dependencies with the regex ^\w*, which would
// cut such a name short and produce a different encodeType.
bool is_struct_name(std::string_view name) {
    return is_identifier(name, false);
}
bool is_member_name(std::string_view name) {
    return is_identifier(name, true);
}

// Parses a member type string. Whether a struct base is defined is the caller's business.
Result<TypeSpec> parse_type(std::string_view text) {
    if (text.empty()) return fail(ErrorCode::InvalidFormat, "empty type");
    if (text.size() > kMaxNameLength) {
        return fail(ErrorCode::InvalidArgument,
                    "type is longer than " + std::to_string(kMaxNameLength) + " characters");
    }
    TypeSpec spec;
    std::string_view rest = text;
    while (!rest.empty() && rest.back() == ']') {
        const std::size_t open = rest.rfind('[');
        if (open == std::string_view::npos) {
            return fail(ErrorCode::InvalidFormat, "unbalanced ']' in type " + quote(text));
        }
        const std::string_view inner = rest.substr(open + 1, rest.size() - open - 2);
        if (inner.empty()) {
            spec.dims.push_back(0);
        } else {
            auto length = parse_canonical_count(inner, kMaxInputBytes);
            if (!length || *length == 0) {
                return fail(ErrorCode::InvalidFormat, "array length in type " + quote(text) +
                                                          " must be a decimal number from 1 to " +
                                                          std::to_string(kMaxInputBytes) +
                                                          " without leading zeros");
            }
            spec.dims.push_back(*length);
        }
        rest = rest.substr(0, open);
    }
    std::reverse(spec.dims.begin(), spec.dims.end());
    if (rest.empty() || rest.find_first_of("[]") != std::string_view::npos) {
        return fail(ErrorCode::InvalidFormat, "malformed type " + quote(text));
    }
    spec.base = rest;
    if (auto atomic = atomic_kind(rest)) {
        spec.kind = atomic->first;
        spec.size = atomic->second;
    } else if (looks_atomic(rest)) {
        return fail(ErrorCode::InvalidFormat,
                    quote(rest) +
                        " is not a valid EIP-712 type (intN/uintN need N in 8..256 in "
                        "steps of 8, bytesN needs N in 1..32)");
    } else if (!is_struct_name(rest)) {
        return fail(ErrorCode::InvalidFormat, quote(rest) + " is not a valid type name");
    } else {
        spec.kind = Kind::Struct;
    }
    return spec;
}

// ---------------------------------------------------------------------------------------------
// Atomic values

constexpr std::int64_t kMaxSafeInteger = (std::int64_t{1} << 53) - 1;  // JavaScript's limit

struct Integer {
    bool negative = false;
    U256 magnitude = 0;
};

Result<Integer> integer_from_int64(std::int64_t value) {
    if (value > kMaxSafeInteger || value < -kMaxSafeInteger) {
        return fail(ErrorCode::OutOfRange,
                    "JSON number beyond 2^53-1 cannot be exact in a JavaScript dApp; pass it as a "
                    "decimal string");
    }
    const auto magnitude = static_cast<std::uint64_t>(value < 0 ? -value : value);
    return Integer{value < 0, U256(magnitude)};
}

Result<Integer> parse_integer(const json::value& value) {
    switch (value.kind()) {
        case json::kind::int64:
            return integer_from_int64(value.get_int64());
        case json::kind::uint64: {
            if (value.get_uint64() > static_cast<std::uint64_t>(kMaxSafeInteger)) {
                return integer_from_int64(kMaxSafeInteger + 1);  // the same OutOfRange error
            }
            return integer_from_int64(static_cast<std::int64_t>(value.get_uint64()));
        }
        case json::kind::double_: {
            // The parser yields doubles for 1.5, 1.0, 1e3 and for integers beyond 64 bits.
            const double d = value.get_double();
            if (!std::isfinite(d) || std::trunc(d) != d) {
                return fail(ErrorCode::InvalidFormat, "expected an integer, got a fraction");
            }
            if (std::fabs(d) > static_cast<double>(kMaxSafeInteger)) {
                return integer_from_int64(kMaxSafeInteger + 1);
            }
            return integer_from_int64(static_cast<std::int64_t>(d));
        }
        case json::kind::string: {
            std::string_view text = value.get_string();
            const bool negative = !text.empty() && text.front() == '-';
            const std::string_view digits = text.substr(negative ? 1 : 0);
            Result<U256> magnitude = fail(ErrorCode::Internal, "unset");
            if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
                // BigInt("-0x1") throws in JavaScript, so MetaMask refuses it as well.
                if (negative) {
                    return fail(ErrorCode::InvalidFormat, "negative hex integers are not accepted");
                }
                magnitude = parse_u256_hex(digits);
            } else {
                // Checked here so that the reported position counts the sign.
                if (digits.empty()) {
                    return fail(ErrorCode::InvalidFormat, "empty integer string");
                }
                for (std::size_t i = 0; i < digits.size(); ++i) {
                    if (digits[i] < '0' || digits[i] > '9') {
                        return fail(ErrorCode::InvalidFormat,
                                    "invalid decimal digit at position " +
                                        std::to_string(i + (negative ? 1 : 0)));
                    }
                }
                magnitude = parse_u256_decimal(digits);
            }
            if (!magnitude) return fail(magnitude.error());
            return Integer{negative && *magnitude != 0, *magnitude};
        }
        default:
            return fail(
                ErrorCode::InvalidFormat,
                std::string("expected an integer (number or string), got ") + kind_name(value));
    }
}

// 32-byte big-endian two's complement of an integer that fits intN / uintN.
Result<Hash32> integer_word(const json::value& value, unsigned bits, bool is_signed) {
    auto n = parse_integer(value);
    if (!n) return fail(n.error());
    const std::string type = (is_signed ? "int" : "uint") + std::to_string(bits);
    const auto out_of_range = [&] {
        return fail(ErrorCode::OutOfRange, (n->negative ? "-" : "") +
                                               u256_to_decimal(n->magnitude) +
                                               " is out of range for " + type);
    };
    // Range checks by bit position rather than shifts: GCC 12 misreads shifts of U256 by a
    // variable amount as unbounded loops at -O3 (-Waggressive-loop-optimizations).
    const unsigned width = n->magnitude == 0 ? 0 : boost::multiprecision::msb(n->magnitude) + 1;
    if (!is_signed) {
        if (n->negative || width > bits) return out_of_range();
    } else {
        // |min| is 2^(bits-1), max is 2^(bits-1) - 1.
        const bool is_min =
            n->negative && width == bits && boost::multiprecision::lsb(n->magnitude) == bits - 1;
        if (width > bits || (width == bits && !is_min)) return out_of_range();
    }
    Hash32 word = u256_to_be32(n->magnitude);
    if (n->negative) {
        // -m = ~m + 1 in 256 bits.
        for (auto& b : word)
            b = static_cast<std::uint8_t>(~b);
        for (std::size_t i = word.size(); i-- > 0;) {
            if (++word[i] != 0) break;
        }
    }
    return word;
}

Result<Bytes> hex_value(const json::value& value) {
    if (!value.is_string()) {
        return fail(ErrorCode::InvalidFormat,
                    std::string("expected a 0x hex string, got ") + kind_name(value));
    }
    auto bytes = hex_decode(value.get_string(), HexPrefix::Required);
    if (!bytes) return fail(bytes.error());
    return bytes;
}

Result<Address::Raw> address_value(const json::value& value) {
    if (!value.is_string()) {
        return fail(ErrorCode::InvalidFormat,
                    std::string("expected an address string, got ") + kind_name(value));
    }
    auto raw = hex_decode_fixed<20>(value.get_string(), HexPrefix::Required);
    if (!raw) {
        return fail(ErrorCode::InvalidFormat,
                    "address must be 0x followed by 40 hex digits (" + raw.error().detail + ")");
    }
    return *raw;
}

Result<bool> bool_value(const json::value& value) {
    if (!value.is_bool()) {
        return fail(ErrorCode::InvalidFormat,
                    std::string("expected true or false, got ") + kind_name(value));
    }
    return value.get_bool();
}

Result<Bytes> fixed_bytes_value(const json::value& value, unsigned size) {
    auto bytes = hex_value(value);
    if (!bytes) return fail(bytes.error());
    if (bytes->size() != size) {
        return fail(ErrorCode::InvalidArgument, "bytes" + std::to_string(size) + " needs exactly " +
                                                    std::to_string(size) + " bytes, got " +
                                                    std::to_string(bytes->size()));
    }
    return bytes;
}

Result<std::string_view> string_value(const json::value& value) {
    if (!value.is_string()) {
        return fail(ErrorCode::InvalidFormat,
                    std::string("expected a string, got ") + kind_name(value));
    }
    return std::string_view(value.get_string());
}

// The 32-byte EIP-712 encoding of an atomic or dynamic value.
Result<Hash32> atomic_word(const TypeSpec& spec, const json::value& value) {
    Hash32 word{};
    switch (spec.kind) {
        case Kind::Address: {
            auto raw = address_value(value);
            if (!raw) return fail(raw.error());
            std::copy(raw->begin(), raw->end(), word.begin() + 12);
            return word;
        }
        case Kind::Bool: {
            auto b = bool_value(value);
            if (!b) return fail(b.error());
            word[31] = *b ? 1 : 0;
            return word;
        }
        case Kind::String: {
            auto text = string_value(value);
            if (!text) return fail(text.error());
            return keccak256(as_bytes(*text));
        }
        case Kind::Bytes: {
            auto bytes = hex_value(value);
            if (!bytes) return fail(bytes.error());
            return keccak256(*bytes);
        }
        case Kind::FixedBytes: {
            auto bytes = fixed_bytes_value(value, spec.size);
            if (!bytes) return fail(bytes.error());
            std::copy(bytes->begin(), bytes->end(), word.begin());
            return word;
        }
        case Kind::Int:
        case Kind::Uint:
            return integer_word(value, spec.size, spec.kind == Kind::Int);
        case Kind::Struct:
            break;
    }
    return fail(ErrorCode::Internal, "atomic_word called for a struct type");
}

// solidityPack form of an atomic value (legacy v1 hashing).
Status append_packed(const TypeSpec& spec, const json::value& value, Bytes& out) {
    switch (spec.kind) {
        case Kind::Address: {
            auto raw = address_value(value);
            if (!raw) return fail(raw.error());
            out.insert(out.end(), raw->begin(), raw->end());
            return {};
        }
        case Kind::Bool: {
            auto b = bool_value(value);
            if (!b) return fail(b.error());
            out.push_back(*b ? 1 : 0);
            return {};
        }
        case Kind::String: {
            auto text = string_value(value);
            if (!text) return fail(text.error());
            const ByteView bytes = as_bytes(*text);
            out.insert(out.end(), bytes.begin(), bytes.end());
            return {};
        }
        case Kind::Bytes:
        case Kind::FixedBytes: {
            auto bytes =
                spec.kind == Kind::Bytes ? hex_value(value) : fixed_bytes_value(value, spec.size);
            if (!bytes) return fail(bytes.error());
            out.insert(out.end(), bytes->begin(), bytes->end());
            return {};
        }
        case Kind::Int:
        case Kind::Uint: {
            auto word = integer_word(value, spec.size, spec.kind == Kind::Int);
            if (!word) return fail(word.error());
            out.insert(out.end(), word->end() - spec.size / 8, word->end());
            return {};
        }
        case Kind::Struct:
            break;
    }
    return fail(ErrorCode::Internal, "append_packed called for a struct type");
}

void append(Bytes& out, const Hash32& word) {
    out.insert(out.end(), word.begin(), word.end());
}

// ---------------------------------------------------------------------------------------------
// Encoding

// Type hashes and domain separators recur: a dApp signs with the same few struct types under one
// domain again and again, and each costs Keccak-f permutations (a type hash one or two, a domain
// separator four with its two strings: some 7 of the ~16 of a typical request). Each thread
// keeps the latest ones, keyed by everything they are a function of, so a hit gives exactly
// what hashing would. No lock, and nothing secret: both are hashes of what the dApp sent.
// Bounded: the table is emptied when full, and long keys are not kept.
class HashMemo {
  public:
    static constexpr std::size_t kMaxEntries = 64;
    static constexpr std::size_t kMaxKeyBytes = 1024;

    const Hash32* find(const std::string& key) const {
        const auto it = entries_.find(key);
        return it == entries_.end() ? nullptr : &it->second;
    }
    void keep(std::string key, const Hash32& hash) {
        if (key.size() > kMaxKeyBytes) return;
        if (entries_.size() >= kMaxEntries) entries_.clear();
        entries_.emplace(std::move(key), hash);
    }

  private:
    std::unordered_map<std::string, Hash32> entries_;
};

// keccak256(encodeType(T)), keyed by the encodeType text itself.
Hash32 memoised_type_hash(std::string text) {
    thread_local HashMemo memo;
    if (const Hash32* hit = memo.find(text)) return *hit;
    const Hash32 hash = keccak256(as_bytes(text));
    memo.keep(std::move(text), hash);
    return hash;
}

void append_definition(std::string& out, std::string_view name, const std::vector<Field>& fields) {
    out += name;
    out += '(';
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ',';
        out += fields[i].type;
        out += ' ';
        out += fields[i].name;
    }
    out += ')';
}

// encodeType over a set of definitions (encode_type below, and a Schema being built).
Result<std::string> encode_type_in(const TypedData::TypeMap& types, std::string_view type_name) {
    const auto find = [&](std::string_view name) -> const std::vector<Field>* {
        auto it = types.find(name);
        return it == types.end() ? nullptr : &it->second;
    };
    const std::vector<Field>* fields = find(type_name);
    if (fields == nullptr) {
        return fail(ErrorCode::InvalidArgument, quote(type_name) + " is not a defined struct type");
    }
    // Depth-first walk with a visited set: cycles (Mail.replyTo: Mail) end here.
    std::set<std::string_view> deps;  // views into the types' own strings
    std::vector<const std::vector<Field>*> pending{fields};
    while (!pending.empty()) {
        const std::vector<Field>* current = pending.back();
        pending.pop_back();
        for (const Field& field : *current) {
            auto spec = parse_type(field.type);
            if (!spec) return fail(spec.error());
            if (spec->kind != Kind::Struct || spec->base == type_name) continue;
            if (!deps.insert(spec->base).second) continue;
            const std::vector<Field>* dep = find(spec->base);
            if (dep == nullptr) {
                return fail(ErrorCode::Internal, "undefined type survived parsing");
            }
            pending.push_back(dep);
        }
    }
    std::string out;
    append_definition(out, type_name, *fields);
    for (const std::string_view dep : deps)
        append_definition(out, dep, *find(dep));
    return out;
}

// The layout of struct `name` among `types`; InvalidArgument when it is not defined. Its views
// point into `types`.
Result<StructLayout> make_layout(const TypedData::TypeMap& types, std::string_view name) {
    const auto it = types.find(name);
    if (it == types.end()) {
        return fail(ErrorCode::InvalidArgument, quote(name) + " is not a defined struct type");
    }
    const std::vector<Field>* fields = &it->second;
    auto text = encode_type_in(types, name);
    if (!text) return fail(text.error());
    StructLayout layout{{}, fields, {}, *text};
    layout.type_hash = memoised_type_hash(std::move(*text));
    layout.specs.reserve(fields->size());
    for (const Field& field : *fields) {
        auto spec = parse_type(field.type);
        if (!spec) return fail(spec.error());  // parse() accepted every member type
        layout.specs.push_back(std::move(*spec));
    }
    return layout;
}

// One hashing run over a TypedData (one digest, or one of the public hash functions): holds the
// version and memoises each struct type's layout, i.e. its encodeType/typeHash and its parsed
// member types, so that a struct type used a thousand times (an array of structs, or the same
// struct in the domain and the message) is described and hashed once. The layouts live only as
// long as the Encoder; across calls, only type hashes and domain separators are remembered
// (HashMemo).
class Encoder {
  public:
    Encoder(const TypedData& typed, Version version) : typed_(typed), version_(version) {}

    // The layout of struct `name`: the schema's, or worked out here once for a schema too large
    // to have them. InvalidArgument when it is not defined.
    Result<const StructLayout*> layout(std::string_view name) {
        const auto& known = typed_.schema().layouts;
        if (auto it = known.find(name); it != known.end()) return &it->second;
        if (auto it = layouts_.find(name); it != layouts_.end()) return &it->second;
        auto made = make_layout(typed_.types(), name);
        if (!made) return fail(made.error());
        // std::map nodes do not move: the pointer stays valid while more layouts are added.
        return &layouts_.emplace(std::string(name), std::move(*made)).first->second;
    }

    // Appends encodeData(type, data). depth counts the structs and arrays around data.
    Status encode_struct(std::string_view type, const json::value& data, std::string& path,
                         std::size_t depth, Bytes& out) {
        if (depth > kMaxDepth) {
            return fail_at(ErrorCode::InvalidArgument, path,
                           "nesting is deeper than " + std::to_string(kMaxDepth) + " levels");
        }
        auto found = layout(type);
        if (!found) return fail_at(found.error(), path);
        if (!data.is_object()) {
            return fail_at(
                ErrorCode::InvalidFormat, path,
                "expected an object for struct " + quote(type) + ", got " + kind_name(data));
        }
        const StructLayout& layout = **found;
        const json::object& object = data.get_object();
        KEYBRIDGE_TRY_STATUS(refuse_undeclared_keys(type, *layout.fields, object, path));
        out.reserve(out.size() + 32 * (layout.fields->size() + 1));
        append(out, layout.type_hash);
        for (std::size_t i = 0; i < layout.fields->size(); ++i) {
            const Field& field = (*layout.fields)[i];
            const json::value* value = object.if_contains(field.name);
            // eth-sig-util V3 leaves absent members out of the encoding altogether.
            if (version_ == Version::V3 && value == nullptr) continue;
            PathGuard guard(path, ".", field.name);
            const TypeSpec& spec = layout.specs[i];
            KEYBRIDGE_TRY_STATUS(encode_value(spec, spec.dims.size(), value, path, depth, out));
        }
        return {};
    }

    Result<Hash32> hash_struct(std::string_view type, const json::value& data, std::string& path,
                               std::size_t depth) {
        Bytes encoded;
        KEYBRIDGE_TRY_STATUS(encode_struct(type, data, path, depth, encoded));
        return keccak256(encoded);
    }

    // hashStruct(EIP712Domain, domain). It is a function of the domain type's encodeType (which
    // spells out every type the domain uses), the version's rules and the domain's JSON, so
    // those are the memo's key; only a successful hash is kept.
    Result<Hash32> domain_separator(const json::value& domain, std::string& path) {
        thread_local HashMemo memo;
        auto found = layout(kDomainTypeName);
        if (!found) return hash_struct(kDomainTypeName, domain, path, 1);  // says why
        std::string key = (*found)->type_text;
        key += version_ == Version::V3 ? "\nv3\n" : "\nv4\n";
        key += json::serialize(domain);
        if (const Hash32* hit = memo.find(key)) return *hit;
        auto separator = hash_struct(kDomainTypeName, domain, path, 1);
        if (separator) memo.keep(std::move(key), *separator);
        return separator;
    }

  private:
    // A key of `object` that is not a member of struct `type` would be shown to whoever approves
    // the signature but left out of the hash: refused, as go-ethereum does ("extra data provided
    // in the message"). Object keys are unique after parsing, so counting the declared members
    // present (hashed lookups) decides it; the undeclared key is searched for only on failure.
    static Status refuse_undeclared_keys(std::string_view type, const std::vector<Field>& fields,
                                         const json::object& object, std::string& path) {
        std::size_t declared_present = 0;
        for (const Field& field : fields) {
            if (object.contains(field.name)) ++declared_present;
        }
        if (declared_present == object.size()) return {};
        const auto extra = std::find_if(object.begin(), object.end(), [&](const auto& entry) {
            return std::none_of(fields.begin(), fields.end(), [&](const Field& f) {
                return f.name == std::string_view(entry.key());
            });
        });
        KEYBRIDGE_ASSERT(extra != object.end());  // the counts differ only if one is undeclared
        const std::string_view key = extra->key();
        PathGuard guard(path, ".", key);
        return fail_at(ErrorCode::InvalidArgument, path,
                       "extra data provided in the message: " + quote(key) +
                           " is not a member of struct " + quote(type) +
                           ", so it would be shown but not signed");
    }

    // Appends the 32-byte encoding of a member value of type spec with its first `dims`
    // dimensions; value is nullptr when the member is absent.
    Status encode_value(const TypeSpec& spec, std::size_t dims, const json::value* value,
                        std::string& path, std::size_t depth, Bytes& out) {
        if (dims > 0) return encode_array(spec, dims, value, path, depth, out);
        if (spec.kind == Kind::Struct) {
            if (value == nullptr || value->is_null()) {
                if (version_ == Version::V4) {
                    append(out, Hash32{});  // eth-sig-util V4: absent struct = zero word
                    return {};
                }
                return fail_at(
                    ErrorCode::InvalidArgument, path,
                    "null value for struct " + quote(spec.base) + " cannot be encoded in V3");
            }
            auto hash = hash_struct(spec.base, *value, path, depth + 1);
            if (!hash) return fail(hash.error());
            append(out, *hash);
            return {};
        }
        if (value == nullptr) {
            return fail_at(ErrorCode::InvalidArgument, path,
                           "missing value of type " + quote(spec.base));
        }
        if (value->is_null()) {
            return fail_at(ErrorCode::InvalidArgument, path,
                           "null value for type " + quote(spec.base));
        }
        auto word = atomic_word(spec, *value);
        if (!word) return fail_at(word.error(), path);
        append(out, *word);
        return {};
    }

    Status encode_array(const TypeSpec& spec, std::size_t dims, const json::value* value,
                        std::string& path, std::size_t depth, Bytes& out) {
        if (version_ == Version::V3) {
            return fail_at(ErrorCode::NotSupported, path,
                           "arrays are not supported by eth_signTypedData_v3; use v4");
        }
        if (value == nullptr || value->is_null()) {
            return fail_at(ErrorCode::InvalidArgument, path, "missing array value");
        }
        if (!value->is_array()) {
            return fail_at(ErrorCode::InvalidFormat, path,
                           std::string("expected an array, got ") + kind_name(*value));
        }
        if (depth + 1 > kMaxDepth) {
            return fail_at(ErrorCode::InvalidArgument, path,
                           "nesting is deeper than " + std::to_string(kMaxDepth) + " levels");
        }
        const json::array& elements = value->get_array();
        const std::size_t fixed = spec.dims[dims - 1];
        if (fixed != 0 && elements.size() != fixed) {
            return fail_at(ErrorCode::InvalidArgument, path,
                           "fixed-size array needs exactly " + std::to_string(fixed) +
                               " elements, got " + std::to_string(elements.size()));
        }
        Keccak256 hasher;
        Bytes word;
        for (std::size_t i = 0; i < elements.size(); ++i) {
            PathGuard guard(path, i);
            word.clear();
            KEYBRIDGE_TRY_STATUS(encode_value(spec, dims - 1, &elements[i], path, depth + 1, word));
            hasher.update(word);
        }
        append(out, hasher.finish());
        return {};
    }

    const TypedData& typed_;
    Version version_;
    std::map<std::string, StructLayout, std::less<>> layouts_;
};

// Validates a document's "types" (the rules in eip712.h) into a Schema; the layouts are left to
// the caller.
Result<std::shared_ptr<Schema>> build_schema(const json::object& types) {
    auto schema = std::make_shared<Schema>();
    if (types.size() > kMaxStructTypes) {
        return fail_at(ErrorCode::InvalidArgument, "types",
                       "more than " + std::to_string(kMaxStructTypes) + " struct types");
    }
    std::size_t total_fields = 0;
    // Members of struct type, checked once every name is known. The views point into `types`.
    struct StructMember {
        std::string_view owner;
        std::size_t index;
        std::string_view type;
    };
    std::vector<StructMember> struct_members;
    for (const auto& definition : types) {
        const std::string_view name = definition.key();
        if (name.size() > kMaxNameLength) {
            return fail_at(ErrorCode::InvalidArgument, "types",
                           "type name " + quote(name) + " is longer than " +
                               std::to_string(kMaxNameLength) + " characters");
        }
        if (!is_struct_name(name)) {
            return fail_at(ErrorCode::InvalidFormat, "types",
                           "struct name " + quote(name) +
                               " must use letters, digits and _ and not start with a digit");
        }
        std::string path = "types." + std::string(name);  // a validated identifier from here on
        if (looks_atomic(name)) {
            return fail_at(ErrorCode::InvalidFormat, path,
                           "a struct may not take the name of an atomic type");
        }
        if (!definition.value().is_array()) {
            return fail_at(ErrorCode::InvalidFormat, path,
                           std::string("expected an array of {name, type}, got ") +
                               kind_name(definition.value()));
        }
        std::vector<Field>& fields = schema->types[std::string(name)];
        const json::array& members = definition.value().get_array();
        // Duplicate names: a struct's few members are compared in place; a long list (hostile
        // input) is indexed so that the check stays O(n log n).
        constexpr std::size_t kCompareInPlace = 16;
        std::set<std::string_view> seen;
        const auto is_duplicate = [&](std::string_view field_name) {
            if (members.size() > kCompareInPlace) return !seen.insert(field_name).second;
            return std::any_of(fields.begin(), fields.end(),
                               [&](const Field& f) { return f.name == field_name; });
        };
        for (std::size_t i = 0; i < members.size(); ++i) {
            PathGuard guard(path, i);
            if (++total_fields > kMaxFields) {
                return fail_at(ErrorCode::InvalidArgument, "types",
                               "more than " + std::to_string(kMaxFields) + " members in all");
            }
            if (!members[i].is_object()) {
                return fail_at(
                    ErrorCode::InvalidFormat, path,
                    std::string("expected an object {name, type}, got ") + kind_name(members[i]));
            }
            const json::object& member = members[i].get_object();
            const json::value* member_name = member.if_contains("name");
            const json::value* member_type = member.if_contains("type");
            if (member_name == nullptr || member_type == nullptr) {
                return fail_at(ErrorCode::InvalidFormat, path,
                               member_name == nullptr ? "missing \"name\"" : "missing \"type\"");
            }
            if (!member_name->is_string() || !member_type->is_string()) {
                return fail_at(ErrorCode::InvalidFormat, path,
                               "\"name\" and \"type\" must be strings");
            }
            const std::string_view field_name = member_name->get_string();
            if (field_name.size() > kMaxNameLength) {
                return fail_at(
                    ErrorCode::InvalidArgument, path,
                    "member name is longer than " + std::to_string(kMaxNameLength) + " characters");
            }
            if (!is_member_name(field_name)) {
                return fail_at(ErrorCode::InvalidFormat, path,
                               "member name " + quote(field_name) + " is not an identifier");
            }
            if (is_duplicate(field_name)) {
                return fail_at(
                    ErrorCode::InvalidArgument, path,
                    "duplicate member " + quote(field_name) + " in struct " + quote(name));
            }
            auto spec = parse_type(member_type->get_string());
            if (!spec) return fail_at(spec.error(), path + ".type");
            if (spec->kind == Kind::Struct) struct_members.push_back({name, i, spec->base});
            fields.push_back(
                Field{std::string(field_name), std::string(member_type->get_string())});
        }
    }
    // eth-sig-util supplies an empty domain type when the document has none.
    schema->types.try_emplace(std::string(kDomainTypeName));

    // Second pass, now that every name is known; in name order, as the types are kept, so that
    // the first error reported does not depend on the order of the document's keys.
    std::sort(struct_members.begin(), struct_members.end(), [](const auto& a, const auto& b) {
        return std::pair(a.owner, a.index) < std::pair(b.owner, b.index);
    });
    for (const StructMember& member : struct_members) {
        const bool defined = schema->types.contains(member.type);
        if (defined && member.owner != kDomainTypeName) continue;
        const std::string path =
            "types." + std::string(member.owner) + index_segment(member.index) + ".type";
        if (!defined) {
            return fail_at(ErrorCode::InvalidArgument, path,
                           "unknown type " + quote(member.type) + " (not defined in types)");
        }
        return fail_at(ErrorCode::NotSupported, path, "EIP712Domain members may not be structs");
    }
    return schema;
}

// The largest schema remembered per thread (members of all types together): larger ones are
// validated per document and their layouts worked out per hashing run.
constexpr std::size_t kRememberedSchemaFields = 64;
constexpr std::size_t kRememberedSchemas = 8;

std::size_t field_count(const TypedData::TypeMap& types) {
    std::size_t count = 0;
    for (const auto& [name, fields] : types)
        count += fields.size();
    return count;
}

// Whether two JSON values are equal with their object keys in the same order: a sufficient test
// of equality that costs a tenth of boost::json's (which looks every key up by its hash). A
// dApp's documents spell their types alike, so a different order only costs a rebuild.
bool same_in_order(const json::value& a, const json::value& b);

bool same_in_order(const json::object& a, const json::object& b) {
    if (a.size() != b.size()) return false;
    return std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
        return x.key() == y.key() && same_in_order(x.value(), y.value());
    });
}

bool same_in_order(const json::value& a, const json::value& b) {
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case json::kind::object:
            return same_in_order(a.get_object(), b.get_object());
        case json::kind::array: {
            const json::array& x = a.get_array();
            const json::array& y = b.get_array();
            return x.size() == y.size() &&
                   std::equal(x.begin(), x.end(), y.begin(),
                              [](const auto& p, const auto& q) { return same_in_order(p, q); });
        }
        default:
            return a == b;  // scalars and strings
    }
}

// The Schema of a "types" object. A dApp signs under the same few types again and again, so each
// thread remembers the last kRememberedSchemas small ones with their layouts worked out, keyed by
// the types object itself (compared as JSON: equal objects validate and lay out alike). Only
// valid schemas are remembered; nothing in them is secret.
Result<std::shared_ptr<const Schema>> schema_for(const json::object& types) {
    struct Remembered {
        json::object types;
        std::shared_ptr<const Schema> schema;
    };
    thread_local std::vector<Remembered> remembered;
    for (const Remembered& entry : remembered) {
        if (same_in_order(entry.types, types)) return entry.schema;
    }
    auto schema = build_schema(types);
    if (!schema) return fail(schema.error());
    if (field_count((*schema)->types) > kRememberedSchemaFields) return std::move(*schema);
    for (const auto& [name, fields] : (*schema)->types) {
        auto layout = make_layout((*schema)->types, name);
        if (!layout) return fail(layout.error());  // cannot happen: every reference is defined
        (*schema)->layouts.emplace(name, std::move(*layout));
    }
    if (remembered.size() >= kRememberedSchemas) remembered.erase(remembered.begin());
    // A copy in the default storage: the document's may be the request's (a wiping arena).
    remembered.push_back({json::object(types, json::storage_ptr()), *schema});
    return std::move(*schema);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TypedData

const TypedData::TypeMap& TypedData::types() const {
    return schema_->types;
}

const std::vector<Field>* TypedData::find_type(std::string_view name) const {
    auto it = schema_->types.find(name);
    return it == schema_->types.end() ? nullptr : &it->second;
}

Result<TypedData> parse(std::string_view json_text) {
    auto value = parse_json_text(json_text);
    if (!value) return fail(value.error());
    return TypedData::from_json(*value, &*value);
}

Result<TypedData> parse(const json::value& json) {
    // Text went through parse_json_text, which enforces the same limits while parsing.
    KEYBRIDGE_TRY_STATUS(check_json_limits(json));
    return TypedData::from_json(json, nullptr);
}

Result<TypedData> TypedData::from_json(const json::value& json, json::value* owned) {
    if (!json.is_object()) {
        return fail(ErrorCode::InvalidFormat,
                    std::string("typed data must be a JSON object, got ") + kind_name(json));
    }
    const json::object& root = json.get_object();
    TypedData out;

    const json::value* types = root.if_contains("types");
    if (types == nullptr) return fail(ErrorCode::InvalidFormat, "missing \"types\"");
    if (!types->is_object()) {
        return fail_at(ErrorCode::InvalidFormat, "types",
                       std::string("expected an object, got ") + kind_name(*types));
    }
    auto schema = schema_for(types->get_object());
    if (!schema) return fail(schema.error());
    out.schema_ = std::move(*schema);

    const json::value* primary = root.if_contains("primaryType");
    if (primary == nullptr) return fail(ErrorCode::InvalidFormat, "missing \"primaryType\"");
    if (!primary->is_string()) {
        return fail_at(ErrorCode::InvalidFormat, "primaryType",
                       std::string("expected a string, got ") + kind_name(*primary));
    }
    out.primary_type_ = std::string(primary->get_string());
    if (out.find_type(out.primary_type_) == nullptr) {
        return fail_at(ErrorCode::InvalidArgument, "primaryType",
                       quote(out.primary_type_) + " is not defined in types");
    }

    const json::value* domain = root.if_contains("domain");
    if (domain == nullptr) return fail(ErrorCode::InvalidFormat, "missing \"domain\"");
    if (!domain->is_object()) {
        return fail_at(ErrorCode::InvalidFormat, "domain",
                       std::string("expected an object, got ") + kind_name(*domain));
    }
    const std::vector<Field>& domain_fields = *out.find_type(kDomainTypeName);
    for (const auto& entry : domain->get_object()) {
        const bool declared =
            std::any_of(domain_fields.begin(), domain_fields.end(),
                        [&](const Field& f) { return f.name == std::string_view(entry.key()); });
        if (!declared) {
            return fail_at(ErrorCode::InvalidArgument, "domain." + std::string(entry.key()),
                           "extra data provided in the domain: " + quote(entry.key()) +
                               " is not a member of EIP712Domain, so it would be shown but not "
                               "signed");
        }
    }

    const json::value* message = root.if_contains("message");
    if (message == nullptr) return fail(ErrorCode::InvalidFormat, "missing \"message\"");
    if (!message->is_object()) {
        return fail_at(ErrorCode::InvalidFormat, "message",
                       std::string("expected an object, got ") + kind_name(*message));
    }
    // eth-sig-util signs only the domain then; anything in the message would go unsigned.
    if (out.primary_type_ == kDomainTypeName && !message->get_object().empty()) {
        return fail_at(ErrorCode::InvalidArgument, "message",
                       "primaryType \"EIP712Domain\" signs only the domain, so the message must "
                       "be empty: its content would be shown but not signed");
    }
    if (owned != nullptr) {
        // `domain` and `message` point into *owned: the checks above are done with them.
        json::object& document = owned->get_object();
        out.domain_ = std::move(document["domain"]);
        out.message_ = std::move(document["message"]);
    } else {
        out.domain_ = *domain;
        out.message_ = *message;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Hashing

Result<std::string> encode_type(const TypedData& typed, std::string_view type_name) {
    return encode_type_in(typed.types(), type_name);
}

Result<Hash32> type_hash(const TypedData& typed, std::string_view type_name) {
    auto text = encode_type(typed, type_name);
    if (!text) return fail(text.error());
    return keccak256(as_bytes(*text));
}

Result<Bytes> encode_data(const TypedData& typed, std::string_view type_name,
                          const json::value& data, Version version) {
    Encoder encoder(typed, version);
    std::string path(type_name);
    Bytes out;
    KEYBRIDGE_TRY_STATUS(encoder.encode_struct(type_name, data, path, 1, out));
    return out;
}

Result<Hash32> hash_struct(const TypedData& typed, std::string_view type_name,
                           const json::value& data, Version version) {
    Encoder encoder(typed, version);
    std::string path(type_name);
    return encoder.hash_struct(type_name, data, path, 1);
}

Result<Hash32> domain_separator(const TypedData& typed, Version version) {
    Encoder encoder(typed, version);
    std::string path = "domain";
    return encoder.hash_struct(kDomainTypeName, typed.domain_, path, 1);
}

namespace {

struct Hashes {
    Hash32 domain_separator;
    std::optional<Hash32> message_hash;
    Hash32 digest;
};

// The domain separator, message hash and digest in one Encoder, so that a struct type used in
// both the domain and the message is described once.
Result<Hashes> compute_hashes(const TypedData& typed, const json::value& domain,
                              const json::value& message, Version version) {
    Encoder encoder(typed, version);
    std::string path = "domain";
    auto separator = encoder.domain_separator(domain, path);
    if (!separator) return fail(separator.error());
    Hashes out{*separator, std::nullopt, {}};
    Keccak256 hasher;
    const std::uint8_t prefix[2] = {0x19, 0x01};
    hasher.update(prefix).update(*separator);
    if (typed.primary_type() != kDomainTypeName) {
        path = "message";
        auto message_hash = encoder.hash_struct(typed.primary_type(), message, path, 1);
        if (!message_hash) return fail(message_hash.error());
        out.message_hash = *message_hash;
        hasher.update(*message_hash);
    }
    out.digest = hasher.finish();
    return out;
}

}  // namespace

Result<Hash32> signing_hash(const TypedData& typed, Version version) {
    auto hashes = compute_hashes(typed, typed.domain_, typed.message_, version);
    if (!hashes) return fail(hashes.error());
    return hashes->digest;
}

Result<HashedTypedData> hash_typed_data(TypedData typed, Version version) {
    auto hashes = compute_hashes(typed, typed.domain_, typed.message_, version);
    if (!hashes) return fail(hashes.error());
    HashedTypedData out(std::move(typed), version);
    out.domain_separator_ = hashes->domain_separator;
    out.message_hash_ = hashes->message_hash;
    out.digest_ = hashes->digest;
    return out;
}

Result<RecoverableSignature> sign(const PrivateKey& key, const TypedData& typed, Version version) {
    auto digest = signing_hash(typed, version);
    if (!digest) return fail(digest.error());
    return sign_digest(key, *digest);
}

RecoverableSignature sign(const PrivateKey& key, const HashedTypedData& hashed) {
    return sign_digest(key, hashed.digest());
}

Result<Address> recover_signer(const TypedData& typed, Version version, ByteView signature) {
    auto sig = RecoverableSignature::from_rsv(signature);
    if (!sig) return fail(sig.error());
    auto digest = signing_hash(typed, version);
    if (!digest) return fail(digest.error());
    auto pub = recover_public_key(*digest, *sig, /*require_low_s=*/false);
    if (!pub) return fail(pub.error());
    return pub->address();
}

// ---------------------------------------------------------------------------------------------
// Legacy v1

Result<Hash32> legacy_v1_hash(std::string_view json_text) {
    auto value = parse_json_text(json_text);
    if (!value) return fail(value.error());
    return legacy_v1_hash(*value);
}

Result<Hash32> legacy_v1_hash(const json::value& json) {
    KEYBRIDGE_TRY_STATUS(check_json_limits(json));
    if (!json.is_array() || json.get_array().empty()) {
        return fail(ErrorCode::InvalidFormat, "legacy typed data must be a non-empty JSON array");
    }
    const json::array& entries = json.get_array();
    if (entries.size() > kMaxFields) {
        return fail(ErrorCode::InvalidArgument,
                    "legacy typed data has more than " + std::to_string(kMaxFields) + " entries");
    }
    Keccak256 schema;
    Bytes packed;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::string path = index_segment(i);
        if (!entries[i].is_object()) {
            return fail_at(ErrorCode::InvalidFormat, path,
                           std::string("expected an object {type, name, value}, got ") +
                               kind_name(entries[i]));
        }
        const json::object& entry = entries[i].get_object();
        const json::value* type = entry.if_contains("type");
        const json::value* name = entry.if_contains("name");
        const json::value* value = entry.if_contains("value");
        if (type == nullptr || !type->is_string()) {
            return fail_at(ErrorCode::InvalidFormat, path, "\"type\" must be a string");
        }
        if (name == nullptr || !name->is_string() || name->get_string().empty()) {
            return fail_at(ErrorCode::InvalidFormat, path, "\"name\" must be a non-empty string");
        }
        if (name->get_string().size() > kMaxNameLength) {
            return fail_at(ErrorCode::InvalidArgument, path,
                           "name is longer than " + std::to_string(kMaxNameLength) + " characters");
        }
        const std::string_view type_text = type->get_string();
        // solidityPack reads the bare "int"/"uint" as 256 bits; the schema keeps the text.
        const std::string_view canonical = type_text == "uint"  ? "uint256"
                                           : type_text == "int" ? "int256"
                                                                : type_text;
        auto spec = parse_type(canonical);
        if (!spec) return fail_at(spec.error(), path + ".type");
        if (!spec->dims.empty()) {
            return fail_at(ErrorCode::NotSupported, path + ".type",
                           "array types are not supported in legacy typed data");
        }
        if (spec->kind == Kind::Struct) {
            return fail_at(
                ErrorCode::InvalidArgument, path + ".type",
                "unknown type " + quote(type_text) + " (legacy typed data has no struct types)");
        }
        if (value == nullptr || value->is_null()) {
            return fail_at(ErrorCode::InvalidArgument, path + ".value", "missing value");
        }
        auto status = append_packed(*spec, *value, packed);
        if (!status) return fail_at(status.error(), path + ".value");
        schema.update(as_bytes(type_text))
            .update(as_bytes(" "))
            .update(as_bytes(std::string_view(name->get_string())));
    }
    Keccak256 outer;
    outer.update(schema.finish()).update(keccak256(packed));
    return outer.finish();
}

Result<RecoverableSignature> sign_legacy_v1(const PrivateKey& key, const json::value& json) {
    auto digest = legacy_v1_hash(json);
    if (!digest) return fail(digest.error());
    return sign_digest(key, *digest);
}

}  // namespace keybridge::core::eip712
