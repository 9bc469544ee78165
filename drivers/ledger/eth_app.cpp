#include "drivers/ledger/eth_app.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/bip32.h"
#include "core/rlp.h"
#include "core/uint256.h"
#include "drivers/ledger/erc20_descriptors.h"

namespace keybridge::drivers::ledger::eth {
namespace {

namespace json = boost::json;
using core::Bytes;
using core::ByteView;
using core::ErrorCode;

core::Error protocol(std::string detail) {
    return {ErrorCode::ProtocolError, "Ledger: " + std::move(detail)};
}

void put_u32(Bytes& out, std::uint32_t value) {
    for (int i = 3; i >= 0; --i)
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

Bytes apdu_unchecked(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                     ByteView data) {
    // Sized first and filled with memcpy: GCC 12 reports a bogus -Warray-bounds for insert()
    // into a 5-byte vector when this is inlined with empty data (Release builds).
    Bytes out(5 + data.size());
    out[0] = cla;
    out[1] = ins;
    out[2] = p1;
    out[3] = p2;
    out[4] = static_cast<std::uint8_t>(data.size());
    if (!data.empty()) std::memcpy(out.data() + 5, data.data(), data.size());
    return out;
}

// ---- EIP-712 full mode ----

// A member type split as hw-app-eth splits it: "uint8[2][]" -> base "uint8", levels [2, none]
// in the order written.
struct SplitType {
    std::string base;
    std::vector<std::optional<std::size_t>> levels;
};

core::Result<SplitType> split_type(std::string_view type) {
    SplitType out;
    const auto bracket = type.find('[');
    out.base = std::string(type.substr(0, bracket));
    std::string_view rest = bracket == std::string_view::npos ? "" : type.substr(bracket);
    while (!rest.empty()) {
        const auto close = rest.find(']');
        if (rest.front() != '[' || close == std::string_view::npos) {
            return core::fail(ErrorCode::InvalidFormat,
                              "malformed array type " + std::string(type));
        }
        const std::string_view digits = rest.substr(1, close - 1);
        if (digits.empty()) {
            out.levels.emplace_back(std::nullopt);
        } else {
            std::size_t n = 0;
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
            if (ec != std::errc() || end != digits.data() + digits.size()) {
                return core::fail(ErrorCode::InvalidFormat,
                                  "malformed array size in " + std::string(type));
            }
            out.levels.emplace_back(n);
        }
        rest.remove_prefix(close + 1);
    }
    return out;
}

// The app's type keys.
enum class TypeKey : std::uint8_t {
    Custom = 0,
    Int = 1,
    Uint = 2,
    Address = 3,
    Bool = 4,
    String = 5,
    FixedBytes = 6,
    DynamicBytes = 7
};

struct AtomicType {
    TypeKey key = TypeKey::Custom;
    std::optional<std::size_t> size;  // bytes: intN/uintN -> N/8, bytesN -> N
};

bool parse_suffix(std::string_view text, std::size_t& out) {
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

AtomicType classify(std::string_view base) {
    std::size_t n = 0;
    if (base == "address") return {TypeKey::Address, std::nullopt};
    if (base == "bool") return {TypeKey::Bool, std::nullopt};
    if (base == "string") return {TypeKey::String, std::nullopt};
    if (base == "bytes") return {TypeKey::DynamicBytes, std::nullopt};
    if (base.starts_with("bytes") && parse_suffix(base.substr(5), n)) {
        return {TypeKey::FixedBytes, n};
    }
    if (base.starts_with("uint") && parse_suffix(base.substr(4), n)) return {TypeKey::Uint, n / 8};
    if (base.starts_with("int") && parse_suffix(base.substr(3), n)) return {TypeKey::Int, n / 8};
    return {TypeKey::Custom, std::nullopt};
}

core::Error too_big(std::string what) {
    return {ErrorCode::NotSupported,
            "the typed data cannot be sent field by field (" + std::move(what) + ")"};
}

// TypeDesc || [name length || name] || [size] || [level count || levels] || key length || key.
core::Result<Bytes> field_definition(const core::eip712::Field& field) {
    auto split = split_type(field.type);
    if (!split) return core::fail(split.error());
    const AtomicType atomic = classify(split->base);
    Bytes out;
    std::uint8_t desc = static_cast<std::uint8_t>(atomic.key);
    if (!split->levels.empty()) desc |= 0x80;
    if (atomic.size) desc |= 0x40;
    out.push_back(desc);
    if (atomic.key == TypeKey::Custom) {
        if (split->base.size() > 255) return core::fail(too_big("type name " + split->base));
        out.push_back(static_cast<std::uint8_t>(split->base.size()));
        out.insert(out.end(), split->base.begin(), split->base.end());
    }
    if (atomic.size) out.push_back(static_cast<std::uint8_t>(*atomic.size));
    if (!split->levels.empty()) {
        if (split->levels.size() > 255) return core::fail(too_big("array depth"));
        out.push_back(static_cast<std::uint8_t>(split->levels.size()));
        for (const auto& level : split->levels) {
            if (!level) {
                out.push_back(0);
            } else {
                if (*level > 255) return core::fail(too_big("fixed array size"));
                out.push_back(1);
                out.push_back(static_cast<std::uint8_t>(*level));
            }
        }
    }
    if (field.name.size() > 255) return core::fail(too_big("member name " + field.name));
    out.push_back(static_cast<std::uint8_t>(field.name.size()));
    out.insert(out.end(), field.name.begin(), field.name.end());
    if (out.size() > kMaxApduData) return core::fail(too_big("member " + field.name));
    return out;
}

// Hex digits to bytes, an odd count padded with a leading zero (as hw-app-eth's hexBuffer).
core::Result<Bytes> hex_as_written(std::string_view text) {
    std::string digits(text.substr(2));
    if (digits.size() % 2 != 0) digits.insert(digits.begin(), '0');
    return core::hex_decode(digits, core::HexPrefix::Forbidden);
}

core::Result<Bytes> integer_value(const json::value& value, const AtomicType& type) {
    bool negative = false;
    core::U256 magnitude = 0;
    if (value.is_string()) {
        std::string_view text = value.get_string();
        if (text.starts_with("0x")) return hex_as_written(text);
        negative = text.starts_with("-");
        if (negative) text.remove_prefix(1);
        auto parsed = core::parse_u256(text);
        if (!parsed) return core::fail(parsed.error());
        magnitude = *parsed;
    } else if (value.is_int64()) {
        const std::int64_t v = value.get_int64();
        negative = v < 0;
        magnitude = negative ? core::U256(0ull - static_cast<std::uint64_t>(v))
                             : core::U256(static_cast<std::uint64_t>(v));
    } else if (value.is_uint64()) {
        magnitude = value.get_uint64();
    } else if (value.is_double()) {
        // core::eip712 accepted it: integral, within 2^53.
        const double d = value.get_double();
        negative = d < 0;
        magnitude = static_cast<std::uint64_t>(std::fabs(d));
    } else {
        return core::fail(ErrorCode::InvalidFormat, "expected an integer");
    }
    if (negative && magnitude != 0) {
        // Two's complement in the type's width (hw-app-eth: 2^bits - |v|); uintN never gets here
        // (core refuses negative unsigned values).
        const std::size_t width = type.key == TypeKey::Int && type.size ? *type.size : 32;
        Bytes out(width, 0xff);
        const core::Hash32 word = core::u256_to_be32(magnitude - 1);
        for (std::size_t i = 0; i < width; ++i)
            out[width - 1 - i] = static_cast<std::uint8_t>(~word[31 - i]);
        // Minimal, as the library prints the number in hex.
        auto first = std::find_if(out.begin(), out.end() - 1, [](std::uint8_t b) { return b; });
        return Bytes(first, out.end());
    }
    Bytes out = core::u256_to_minimal_be(magnitude);
    if (out.empty()) out.push_back(0);
    return out;
}

core::Result<Bytes> atomic_value(const json::value& value, const AtomicType& type) {
    switch (type.key) {
        case TypeKey::Int:
        case TypeKey::Uint:
            return integer_value(value, type);
        case TypeKey::Bool:
            if (!value.is_bool()) return core::fail(ErrorCode::InvalidFormat, "expected a bool");
            return Bytes{static_cast<std::uint8_t>(value.get_bool() ? 1 : 0)};
        case TypeKey::Address: {
            if (!value.is_string()) return core::fail(ErrorCode::InvalidFormat, "expected text");
            auto bytes = core::hex_decode(value.get_string(), core::HexPrefix::Required);
            if (!bytes || bytes->size() != 20) {
                return core::fail(ErrorCode::InvalidFormat, "expected an address");
            }
            return bytes;
        }
        case TypeKey::String: {
            if (!value.is_string()) return core::fail(ErrorCode::InvalidFormat, "expected text");
            const std::string_view text = value.get_string();
            return Bytes(text.begin(), text.end());
        }
        case TypeKey::FixedBytes:
        case TypeKey::DynamicBytes:
            if (!value.is_string()) return core::fail(ErrorCode::InvalidFormat, "expected hex");
            return core::hex_decode(value.get_string(), core::HexPrefix::Required);
        case TypeKey::Custom:
            break;
    }
    return core::fail(ErrorCode::Internal, "not an atomic type");
}

class ImplementationWriter {
  public:
    explicit ImplementationWriter(const core::eip712::TypedData& typed) : typed_(typed) {}

    // Filters to interleave (see eip712_full_apdus). coin_tokens: coin reference -> token
    // address text; chain_id: the domain's, for descriptor lookups.
    void set_filters(const Eip712Filters* filters, bool discarded_fields,
                     std::map<int, std::string> coin_tokens, std::uint64_t chain_id) {
        filters_ = filters;
        discarded_fields_ = discarded_fields;
        coin_tokens_ = std::move(coin_tokens);
        chain_id_ = chain_id;
    }

    // E0 1E 00 0F: the contract's name, the number of filters, Ledger's signature.
    core::Status contract_name() {
        if (filters_ == nullptr) return {};
        Bytes payload;
        KEYBRIDGE_TRY_STATUS(append_short(payload, core::as_bytes(filters_->contract_label)));
        if (filters_->fields.size() > 255) return core::fail(too_big("filter count"));
        payload.push_back(static_cast<std::uint8_t>(filters_->fields.size()));
        KEYBRIDGE_TRY_STATUS(append_short(payload, filters_->contract_signature));
        return push(kInsEip712Filtering, 0x00, 0x0f, payload);
    }

    std::vector<Eip712TokenStep> take_steps() { return std::move(steps_); }

    core::Status root(std::string_view name) {
        if (name.size() > kMaxApduData) return core::fail(too_big("type name"));
        out_.push_back(
            apdu_unchecked(kCla, kInsEip712StructImplementation, 0x00, 0x00, core::as_bytes(name)));
        return {};
    }

    // The members of struct `type` from object `value`, in declared order.
    core::Status members(std::string_view type, const json::value* value, int depth = 0,
                         const std::string& path = "") {
        const auto* fields = typed_.find_type(type);
        if (fields == nullptr) return core::fail(ErrorCode::InvalidArgument, "undefined type");
        if (value == nullptr || !value->is_object()) {
            return core::fail(ErrorCode::NotSupported,
                              "a null or missing struct cannot be sent field by field");
        }
        for (const auto& field : *fields) {
            const json::value* member = value->get_object().if_contains(field.name);
            auto split = split_type(field.type);
            if (!split) return core::fail(split.error());
            // hw-app-eth's paths: message members by name, nested ones joined with '.', array
            // entries as "[]"; the domain's members have no path.
            const std::string child =
                !root_path_ ? std::string() : (path.empty() ? field.name : path + "." + field.name);
            KEYBRIDGE_TRY_STATUS(member_value(*split, 0, member, depth + 1, child));
        }
        return {};
    }

    // Whether members() below names paths (the message) or not (the domain).
    void name_paths(bool on) { root_path_ = on; }

    std::vector<Bytes> take() { return std::move(out_); }

  private:
    core::Status append_short(Bytes& out, ByteView bytes) {
        if (bytes.size() > 255) return core::fail(too_big("a filter field over 255 bytes"));
        out.push_back(static_cast<std::uint8_t>(bytes.size()));
        out.insert(out.end(), bytes.begin(), bytes.end());
        return {};
    }

    core::Status push(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, ByteView data) {
        if (data.size() > kMaxApduData) return core::fail(too_big("a filter APDU"));
        out_.push_back(apdu_unchecked(kCla, ins, p1, p2, data));
        return {};
    }

    // The token's descriptor, once per coin reference (255: every time), as hw-app-eth does.
    core::Status provide_token(int coin_ref) {
        if (coin_ref != 255 && provided_.count(coin_ref) != 0) return {};
        auto token = coin_tokens_.find(coin_ref);
        if (token == coin_tokens_.end()) return {};
        auto address = core::Address::parse(token->second);
        if (!address) {
            // Mixed case with a bad checksum: the lookup is by lower case anyway.
            std::string lower = token->second;
            for (char& c : lower)
                c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            address = core::Address::parse(lower);
        }
        if (!address) return {};
        auto descriptor = find_erc20_descriptor(chain_id_, *address);
        if (!descriptor) return {};
        KEYBRIDGE_TRY_STATUS(push(kInsProvideErc20, 0x00, 0x00, descriptor->payload));
        steps_.push_back({out_.size() - 1, true, coin_ref, 0});
        provided_.insert(coin_ref);
        return {};
    }

    core::Status show_field(const Eip712FieldFilter& filter, bool discarded) {
        Bytes label;
        KEYBRIDGE_TRY_STATUS(append_short(label, core::as_bytes(filter.label)));
        Bytes signature;
        KEYBRIDGE_TRY_STATUS(append_short(signature, filter.signature));
        const std::uint8_t p1 = discarded ? 0x01 : 0x00;
        const int coin = filter.coin_ref.value_or(0);
        if (filter.format == "raw" || filter.format == "datetime") {
            return push(kInsEip712Filtering, p1, filter.format == "raw" ? 0xff : 0xfc,
                        core::concat({label, signature}));
        }
        if (filter.format == "token") {
            if (filter.coin_ref) KEYBRIDGE_TRY_STATUS(provide_token(coin));
            Bytes payload{static_cast<std::uint8_t>(coin)};
            payload.insert(payload.end(), signature.begin(), signature.end());
            KEYBRIDGE_TRY_STATUS(push(kInsEip712Filtering, p1, 0xfd, payload));
            steps_.push_back({out_.size() - 1, false, coin, 5});
            return {};
        }
        if (filter.format == "amount") {
            if (coin == 255) KEYBRIDGE_TRY_STATUS(provide_token(255));
            Bytes payload = label;
            payload.push_back(static_cast<std::uint8_t>(coin));
            payload.insert(payload.end(), signature.begin(), signature.end());
            KEYBRIDGE_TRY_STATUS(push(kInsEip712Filtering, p1, 0xfe, payload));
            steps_.push_back({out_.size() - 1, false, coin, 5 + label.size()});
            return {};
        }
        return core::fail(ErrorCode::NotSupported, "an EIP-712 filter format " + filter.format);
    }

    const Eip712FieldFilter* filter_at(const std::string& path) const {
        if (filters_ == nullptr || !root_path_) return nullptr;
        for (const auto& f : filters_->fields)
            if (f.path == path) return &f;
        return nullptr;
    }

    core::Status member_value(const SplitType& type, std::size_t level, const json::value* value,
                              int depth, const std::string& path) {
        if (depth > static_cast<int>(core::eip712::kMaxDepth)) {
            return core::fail(too_big("nesting"));
        }
        if (value == nullptr || value->is_null()) {
            return core::fail(ErrorCode::NotSupported,
                              "a missing or null member cannot be sent field by field");
        }
        if (level < type.levels.size()) {
            if (!value->is_array()) return core::fail(ErrorCode::InvalidFormat, "expected array");
            const auto& array = value->get_array();
            if (array.size() > 255) return core::fail(too_big("array of more than 255"));
            const std::uint8_t size = static_cast<std::uint8_t>(array.size());
            out_.push_back(apdu_unchecked(kCla, kInsEip712StructImplementation, 0x00, 0x0f,
                                          ByteView(&size, 1)));
            const std::string entry_path = root_path_ ? path + ".[]" : std::string();
            if (array.empty() && filters_ != nullptr && discarded_fields_ && root_path_) {
                // The filters of fields that will never come are discarded, so that the app
                // does not wait for them.
                for (const auto& f : filters_->fields) {
                    if (!f.path.starts_with(entry_path)) continue;
                    Bytes discard;
                    KEYBRIDGE_TRY_STATUS(append_short(discard, core::as_bytes(f.path)));
                    KEYBRIDGE_TRY_STATUS(push(kInsEip712Filtering, 0x00, 0x01, discard));
                    KEYBRIDGE_TRY_STATUS(show_field(f, /*discarded=*/true));
                }
            }
            for (const auto& element : array)
                KEYBRIDGE_TRY_STATUS(
                    member_value(type, level + 1, &element, depth + 1, entry_path));
            return {};
        }
        const AtomicType atomic = classify(type.base);
        if (atomic.key == TypeKey::Custom) return members(type.base, value, depth, path);
        if (const auto* filter = filter_at(path)) {
            KEYBRIDGE_TRY_STATUS(show_field(*filter, /*discarded=*/false));
        }
        auto raw = atomic_value(*value, atomic);
        if (!raw) return core::fail(raw.error());
        if (raw->size() > 0xffff) return core::fail(too_big("a value over 65535 bytes"));
        Bytes data{static_cast<std::uint8_t>(raw->size() >> 8),
                   static_cast<std::uint8_t>(raw->size() & 0xff)};
        data.insert(data.end(), raw->begin(), raw->end());
        for (std::size_t offset = 0; offset < data.size(); offset += kMaxApduData) {
            const std::size_t take = std::min(kMaxApduData, data.size() - offset);
            const bool last = offset + take == data.size();
            out_.push_back(apdu_unchecked(kCla, kInsEip712StructImplementation, last ? 0x00 : 0x01,
                                          0xff, ByteView(data).subspan(offset, take)));
        }
        return {};
    }

    const core::eip712::TypedData& typed_;
    std::vector<Bytes> out_;
    const Eip712Filters* filters_ = nullptr;
    bool discarded_fields_ = false;
    bool root_path_ = false;
    std::map<int, std::string> coin_tokens_;
    std::uint64_t chain_id_ = 0;
    std::set<int> provided_;
    std::vector<Eip712TokenStep> steps_;
};

// hw-app-eth's getValueFromPath for a token filter: the message value at a dotted path (no
// arrays), as text.
std::optional<std::string> value_at(const json::object& message, std::string_view path) {
    const json::value* at = nullptr;
    const json::object* object = &message;
    while (true) {
        const auto dot = path.find('.');
        const std::string_view key = path.substr(0, dot);
        if (object == nullptr || key == "[]") return std::nullopt;
        at = object->if_contains(key);
        if (at == nullptr) return std::nullopt;
        if (dot == std::string_view::npos) break;
        object = at->is_object() ? &at->get_object() : nullptr;
        path.remove_prefix(dot + 1);
    }
    if (!at->is_string()) return std::nullopt;
    return std::string(at->get_string());
}

}  // namespace

core::Result<Bytes> make_apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                              ByteView data) {
    if (data.size() > kMaxApduData) {
        return core::fail(
            ErrorCode::InvalidArgument,
            fmt::format("APDU data of {} bytes (at most {})", data.size(), kMaxApduData));
    }
    return apdu_unchecked(cla, ins, p1, p2, data);
}

core::Result<Bytes> encode_path(std::string_view path) {
    auto indices = core::bip32::parse_path(path);
    if (!indices) return core::fail(indices.error());
    if (indices->empty() || indices->size() > kMaxPathDepth) {
        return core::fail(ErrorCode::InvalidArgument,
                          fmt::format("a Ledger takes paths of 1 to {} steps; {} has {}",
                                      kMaxPathDepth, path, indices->size()));
    }
    Bytes out{static_cast<std::uint8_t>(indices->size())};
    for (std::uint32_t index : *indices)
        put_u32(out, index);
    return out;
}

// ---- identity ----

Bytes get_app_and_version_apdu() {
    return apdu_unchecked(kDashboardCla, kInsGetAppAndVersion, 0, 0, {});
}

core::Result<AppAndVersion> parse_app_and_version(ByteView data) {
    std::size_t at = 0;
    auto field = [&](const char* what) -> core::Result<ByteView> {
        if (at >= data.size())
            return core::fail(protocol(fmt::format("app info without {}", what)));
        const std::size_t length = data[at++];
        if (length > data.size() - at) {
            return core::fail(protocol(fmt::format("app info: {} runs past the reply", what)));
        }
        ByteView out = data.subspan(at, length);
        at += length;
        return out;
    };
    if (data.empty() || data[0] != 0x01) {
        return core::fail(protocol("app info in an unknown format"));
    }
    at = 1;
    AppAndVersion out;
    auto name = field("a name");
    if (!name) return core::fail(name.error());
    auto version = field("a version");
    if (!version) return core::fail(version.error());
    out.name.assign(name->begin(), name->end());
    out.version.assign(version->begin(), version->end());
    if (at < data.size()) {
        auto flags = field("flags");
        if (!flags) return core::fail(flags.error());
        out.flags.assign(flags->begin(), flags->end());
    }
    return out;
}

Bytes get_configuration_apdu() {
    return apdu_unchecked(kCla, kInsGetConfiguration, 0, 0, {});
}

std::string AppConfiguration::version() const {
    return fmt::format("{}.{}.{}", major, minor, patch);
}

core::Result<AppConfiguration> parse_configuration(ByteView data) {
    if (data.size() < 4) {
        return core::fail(protocol(fmt::format("app configuration of {} bytes", data.size())));
    }
    return AppConfiguration{data[0], data[1], data[2], data[3]};
}

bool version_at_least(std::string_view version, int major, int minor, int patch) {
    int parts[3] = {0, 0, 0};
    const char* p = version.data();
    const char* end = version.data() + version.size();
    for (int i = 0; i < 3; ++i) {
        auto [next, ec] = std::from_chars(p, end, parts[i]);
        if (ec != std::errc()) return false;
        p = next;
        if (i < 2) {
            if (p == end || *p != '.') return false;
            ++p;
        }
    }
    if (parts[0] != major) return parts[0] > major;
    if (parts[1] != minor) return parts[1] > minor;
    return parts[2] >= patch;
}

// ---- addresses ----

core::Result<Bytes> get_address_apdu(std::string_view path, bool display, bool chain_code,
                                     std::optional<std::uint64_t> chain_id) {
    auto encoded = encode_path(path);
    if (!encoded) return core::fail(encoded.error());
    if (chain_id) {
        for (int i = 7; i >= 0; --i)
            encoded->push_back(static_cast<std::uint8_t>(*chain_id >> (8 * i)));
    }
    return apdu_unchecked(kCla, kInsGetAddress, display ? 0x01 : 0x00, chain_code ? 0x01 : 0x00,
                          *encoded);
}

core::Result<AddressReply> parse_address(ByteView data, bool chain_code) {
    if (data.size() < 1 || data[0] != 65 || data.size() < 1 + 65 + 1) {
        return core::fail(protocol("get address: the public key is not 65 bytes"));
    }
    auto key = core::PublicKey::parse(data.subspan(1, 65));
    if (!key) return core::fail(protocol("get address: the public key is not on the curve"));
    const std::size_t address_length = data[66];
    if (address_length != 40) {
        return core::fail(
            protocol(fmt::format("get address: an address of {} characters", address_length)));
    }
    const std::size_t expected = 1 + 65 + 1 + 40 + (chain_code ? 32 : 0);
    if (data.size() != expected) {
        return core::fail(protocol(
            fmt::format("get address: a reply of {} bytes (expected {})", data.size(), expected)));
    }
    const std::string text(data.begin() + 67, data.begin() + 67 + 40);
    std::string lower = "0x";
    for (char c : text)
        lower.push_back(static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c));
    auto address = core::Address::parse(lower);
    if (!address) return core::fail(protocol("get address: the address is not hex"));
    if (*address != key->address()) {
        return core::fail(protocol("get address: the address is not the public key's"));
    }
    AddressReply out{*key, *address, std::nullopt};
    if (chain_code) {
        core::Hash32 code{};
        std::copy_n(data.begin() + 107, 32, code.begin());
        out.chain_code = code;
    }
    return out;
}

// ---- signatures ----

core::Result<DeviceSignature> parse_signature(ByteView data) {
    if (data.size() != 65) {
        return core::fail(
            protocol(fmt::format("a signature of {} bytes (expected 65)", data.size())));
    }
    DeviceSignature out;
    out.v = data[0];
    std::copy_n(data.begin() + 1, 32, out.r.begin());
    std::copy_n(data.begin() + 33, 32, out.s.begin());
    return out;
}

std::vector<std::size_t> transaction_chunk_sizes(std::size_t payload_size, bool legacy,
                                                 std::size_t tail_size) {
    std::size_t chunk = kTransactionChunk;
    if (legacy && payload_size > kTransactionChunk) {
        auto safe = [&](std::size_t size) {
            const std::size_t last = payload_size % size;
            return last == 0 || last > tail_size;
        };
        if (!safe(kTransactionChunk)) {
            for (std::size_t size = kTransactionChunk - 1; size > 0; --size) {
                if (safe(size)) {
                    chunk = size;
                    break;
                }
            }
        }
    }
    std::vector<std::size_t> sizes;
    std::size_t done = 0;
    do {
        sizes.push_back(std::min(chunk, payload_size - done));
        done += sizes.back();
    } while (done < payload_size);
    return sizes;
}

core::Result<Bytes> provide_erc20_apdu(ByteView descriptor) {
    return make_apdu(kCla, kInsProvideErc20, 0x00, 0x00, descriptor);
}

core::Result<std::vector<Bytes>> sign_transaction_apdus(std::string_view path,
                                                        const core::Transaction& tx) {
    auto payload = encode_path(path);
    if (!payload) return core::fail(payload.error());
    const Bytes unsigned_tx = core::encode_unsigned(tx);
    payload->insert(payload->end(), unsigned_tx.begin(), unsigned_tx.end());

    std::size_t tail = 0;
    const bool legacy = tx.type == core::TxType::Legacy;
    if (legacy) {
        // The last three fields of the unsigned list: chain id, 0, 0 with EIP-155; to, value,
        // data without. Their RLP list, less its first header byte, is what must never be left
        // alone in the last chunk (hw-app-eth measures it the same way).
        Bytes fields;
        if (tx.eip155) {
            fields = core::concat({core::rlp::encode_uint(tx.chain_id), core::rlp::encode_uint(0),
                                   core::rlp::encode_uint(0)});
        } else {
            const Bytes to = tx.to ? Bytes(tx.to->view().begin(), tx.to->view().end()) : Bytes{};
            fields = core::concat({core::rlp::encode_string(to), core::rlp::encode_uint(tx.value),
                                   core::rlp::encode_string(tx.data)});
        }
        tail = core::rlp::encode_list_payload(fields).size() - 1;
    }
    std::vector<Bytes> apdus;
    std::size_t offset = 0;
    for (std::size_t size : transaction_chunk_sizes(payload->size(), legacy, tail)) {
        apdus.push_back(apdu_unchecked(kCla, kInsSignTransaction, offset == 0 ? 0x00 : 0x80, 0x00,
                                       ByteView(*payload).subspan(offset, size)));
        offset += size;
    }
    return apdus;
}

core::Result<std::uint8_t> transaction_recovery_id(std::uint8_t v, const core::Transaction& tx) {
    auto bad = [&] {
        return core::fail(protocol(fmt::format("the signature's v ({}) fits neither parity", v)));
    };
    if (tx.type != core::TxType::Legacy) {
        if (v <= 1) return v;
        return bad();
    }
    if (!tx.eip155 || tx.chain_id == 0) {
        if (v == 27 || v == 28) return static_cast<std::uint8_t>(v - 27);
        return bad();
    }
    // The app keeps the 4 most significant bytes of the chain id, computes chainId * 2 + 35 +
    // parity, and returns the low byte.
    Bytes id = core::u256_to_minimal_be(tx.chain_id);
    if (id.size() > 4) id.resize(4);
    std::uint64_t id32 = 0;
    for (std::uint8_t b : id)
        id32 = (id32 << 8) | b;
    const std::uint64_t base = id32 * 2 + 35;
    if (v == (base & 0xff)) return 0;
    if (v == ((base + 1) & 0xff)) return 1;
    return bad();
}

core::Result<std::vector<Bytes>> sign_personal_message_apdus(std::string_view path,
                                                             ByteView message) {
    auto encoded = encode_path(path);
    if (!encoded) return core::fail(encoded.error());
    if (message.size() > 0xffffffffull) {
        return core::fail(ErrorCode::InvalidArgument, "message too long for a Ledger");
    }
    Bytes first = *encoded;
    put_u32(first, static_cast<std::uint32_t>(message.size()));
    const std::size_t first_take = std::min(message.size(), kPersonalMessageChunk - first.size());
    first.insert(first.end(), message.begin(),
                 message.begin() + static_cast<std::ptrdiff_t>(first_take));
    std::vector<Bytes> apdus{apdu_unchecked(kCla, kInsSignPersonalMessage, 0x00, 0x00, first)};
    for (std::size_t offset = first_take; offset < message.size();
         offset += kPersonalMessageChunk) {
        const std::size_t take = std::min(kPersonalMessageChunk, message.size() - offset);
        apdus.push_back(apdu_unchecked(kCla, kInsSignPersonalMessage, 0x80, 0x00,
                                       message.subspan(offset, take)));
    }
    return apdus;
}

core::Result<std::uint8_t> message_recovery_id(std::uint8_t v) {
    if (v == 27 || v == 28) return static_cast<std::uint8_t>(v - 27);
    if (v == 0 || v == 1) return v;
    return core::fail(protocol(fmt::format("the signature's v ({}) is not 27 or 28", v)));
}

core::Result<Bytes> sign_eip712_hashed_apdu(std::string_view path, const core::Hash32& domain,
                                            const core::Hash32& message) {
    auto data = encode_path(path);
    if (!data) return core::fail(data.error());
    data->insert(data->end(), domain.begin(), domain.end());
    data->insert(data->end(), message.begin(), message.end());
    return make_apdu(kCla, kInsSignEip712, 0x00, 0x00, *data);
}

core::Result<Eip712FullApdus> eip712_full_apdus(std::string_view path,
                                                const core::eip712::HashedTypedData& hashed,
                                                const Eip712Filters* filters,
                                                bool discarded_fields) {
    const core::eip712::TypedData& typed = hashed.typed();
    if (typed.primary_type() == core::eip712::kDomainTypeName) {
        return core::fail(ErrorCode::NotSupported, "typed data whose primary type is EIP712Domain");
    }
    Eip712FullApdus out;
    for (const auto& [name, fields] : typed.types()) {
        if (name.size() > kMaxApduData) return core::fail(too_big("type name " + name));
        out.definitions.push_back(
            apdu_unchecked(kCla, kInsEip712StructDefinition, 0x00, 0x00, core::as_bytes(name)));
        for (const auto& field : fields) {
            auto definition = field_definition(field);
            if (!definition) return core::fail(definition.error());
            out.definitions.push_back(
                apdu_unchecked(kCla, kInsEip712StructDefinition, 0x00, 0xff, *definition));
        }
    }
    ImplementationWriter writer(typed);
    if (filters != nullptr) {
        out.activate = apdu_unchecked(kCla, kInsEip712Filtering, 0x01, 0x00, {});
        std::map<int, std::string> coin_tokens;
        bool verifying_contract = false;
        for (const auto& f : filters->fields) {
            if (f.format == "token" && f.coin_ref) {
                auto token = value_at(typed.message(), f.path);
                if (!token) {
                    return core::fail(ErrorCode::NotSupported,
                                      "a token filter on " + f.path + " (arrays of tokens)");
                }
                coin_tokens[*f.coin_ref] = *token;
            }
            verifying_contract = verifying_contract || (f.format == "amount" && f.coin_ref == 255);
        }
        if (verifying_contract) {
            if (const json::value* v = typed.domain().if_contains("verifyingContract");
                v != nullptr && v->is_string()) {
                coin_tokens[255] = std::string(v->get_string());
            }
        }
        std::uint64_t chain_id = 0;
        if (const json::value* id = typed.domain().if_contains("chainId"); id != nullptr) {
            if (id->is_int64() && id->get_int64() > 0) {
                chain_id = static_cast<std::uint64_t>(id->get_int64());
            } else if (id->is_uint64()) {
                chain_id = id->get_uint64();
            } else if (id->is_string()) {
                if (auto parsed = core::parse_u256(id->get_string());
                    parsed && *parsed <= 0xffffffffu) {
                    chain_id = static_cast<std::uint64_t>(*parsed);
                }
            }
        }
        writer.set_filters(filters, discarded_fields, std::move(coin_tokens), chain_id);
    }
    const json::value domain(typed.domain());
    const json::value message(typed.message());
    KEYBRIDGE_TRY_STATUS(writer.root(core::eip712::kDomainTypeName));
    KEYBRIDGE_TRY_STATUS(writer.members(core::eip712::kDomainTypeName, &domain));
    KEYBRIDGE_TRY_STATUS(writer.contract_name());
    KEYBRIDGE_TRY_STATUS(writer.root(typed.primary_type()));
    writer.name_paths(true);
    KEYBRIDGE_TRY_STATUS(writer.members(typed.primary_type(), &message));
    out.implementations = writer.take();
    out.token_steps = writer.take_steps();
    auto encoded = encode_path(path);
    if (!encoded) return core::fail(encoded.error());
    out.sign = apdu_unchecked(kCla, kInsSignEip712, 0x00, 0x01, *encoded);
    return out;
}

// ---- status words ----

std::string status_name(std::uint16_t status) {
    switch (status) {
        case kSwOk:
            return "success";
        case kSwDenied:
            return "denied by the user";
        case kSwUserRefused:
            return "refused by the user";
        case kSwLocked:
            return "locked device";
        case kSwSecurityStatus:
            return "security status not satisfied";
        case kSwInvalidData:
            return "invalid data";
        case kSwInsNotSupported:
            return "instruction not supported";
        case kSwClaNotSupported:
            return "class not supported";
        case kSwAppNotOpen:
            return "app not open";
        case kSwUnknownApdu:
            return "unknown APDU";
        case kSwAppNotOpen2:
            return "app not open";
        case 0x6700:
            return "incorrect length";
        case 0x6b00:
            return "incorrect P1/P2";
        case 0x6501:
            return "transaction type not supported";
        case 0x6502:
            return "chain id too large";
        case 0x6503:
            return "plugin error";
        case 0x6504:
            return "int256 conversion failed";
        case 0x6984:
            return "plugin not installed";
        case 0x6a84:
            return "not enough memory";
        default:
            break;
    }
    if ((status & 0xff00) == 0x6f00) return fmt::format("technical problem 0x{:04x}", status);
    return fmt::format("0x{:04x}", status);
}

core::Error status_error(std::uint16_t status, Request request, std::optional<bool> blind_signing) {
    const std::string sw = fmt::format(" (status 0x{:04x})", status);
    switch (status) {
        case kSwDenied:
        case kSwUserRefused:
            return {ErrorCode::UserCancelled, "rejected on the Ledger"};
        case kSwLocked:
        case kSwSecurityStatus:
            return {ErrorCode::DeviceNotFound,
                    "the Ledger is locked: unlock it with its PIN and open the Ethereum app" + sw};
        case kSwClaNotSupported:
        case kSwAppNotOpen:
        case kSwUnknownApdu:
        case kSwAppNotOpen2:
            return {ErrorCode::DeviceNotFound,
                    "the Ethereum app is not open on the Ledger: open it" + sw};
        case kSwInsNotSupported:
            return {ErrorCode::NotSupported,
                    "the Ledger does not know this command: open the Ethereum app, or update it "
                    "in Ledger Live if it is open" +
                        sw};
        case kSwInvalidData:
            if ((request == Request::Transaction || request == Request::TypedData) &&
                blind_signing.has_value() && !*blind_signing) {
                return {ErrorCode::NotSupported,
                        "the Ledger refused the contract data: enable \"Blind signing\" in the "
                        "Ethereum app's settings on the device, then try again" +
                            sw};
            }
            return {ErrorCode::ProtocolError,
                    "the Ethereum app refused the data as invalid (if it is a contract call, "
                    "\"Blind signing\" may need to be enabled in the app's settings)" +
                        sw};
        case 0x6501:
            return {
                ErrorCode::NotSupported,
                "this Ethereum app version does not support the transaction type: update it" + sw};
        case 0x6502:
            return {ErrorCode::NotSupported, "the Ethereum app cannot sign for this chain id" + sw};
        case 0x6984:
            return {ErrorCode::NotSupported,
                    "the Ledger lacks the app plugin this contract needs" + sw};
        default:
            break;
    }
    return {ErrorCode::ProtocolError, "the Ledger answered: " + status_name(status) + sw};
}

}  // namespace keybridge::drivers::ledger::eth
