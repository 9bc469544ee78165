#include "tests/tools/ledger_sim/eth_app.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "core/bip39.h"
#include "core/hash.h"
#include "core/rlp.h"
#include "core/secp256k1.h"
#include "core/uint256.h"

#include <openssl/sha.h>
#include <secp256k1.h>

namespace keybridge::tests::ledger_sim {

namespace {

using core::Hash32;

constexpr std::uint16_t kOk = 0x9000;
constexpr std::uint16_t kDenied = 0x6985;
constexpr std::uint16_t kBadData = 0x6A80;
constexpr std::uint16_t kBadP1P2 = 0x6B00;
constexpr std::uint16_t kBadLength = 0x6700;
constexpr std::uint16_t kUnknownIns = 0x6D00;
constexpr std::uint16_t kUnknownCla = 0x6E00;
constexpr std::uint16_t kTxTypeNotSupported = 0x6501;

constexpr std::size_t kMaxPathLength = 10;  // the app refuses deeper paths
constexpr std::size_t kMaxTokens = 5;       // token descriptors kept for one transaction

// The public key that signs ERC-20 token descriptors in release builds of the Ethereum app
// (Ledger's production "erc20signer" key, as published in the app's source). The signature is
// ECDSA over SHA-256(ticker || address || decimals (4 bytes BE) || chain id (4 bytes BE)), DER.
// The descriptors in the npm package @ledgerhq/cryptoassets-evm-signatures carry it.
constexpr std::uint8_t kLedgerTokenKey[65] = {
    0x04, 0x5e, 0x6c, 0x10, 0x20, 0xc1, 0x4d, 0xc4, 0x64, 0x42, 0xfe, 0x89, 0xf9,
    0x7c, 0x0b, 0x68, 0xcd, 0xb1, 0x59, 0x76, 0xdc, 0x24, 0xf2, 0x4c, 0x31, 0x6e,
    0x7b, 0x30, 0xfe, 0x4e, 0x8c, 0xc7, 0x6b, 0x14, 0x89, 0x15, 0x0c, 0x21, 0x51,
    0x4e, 0xbf, 0x44, 0x0f, 0xf5, 0xde, 0xa5, 0x39, 0x3d, 0x83, 0xde, 0x53, 0x58,
    0xcd, 0x09, 0x8f, 0xce, 0x8f, 0xd0, 0xf8, 0x1d, 0xaa, 0x94, 0x97, 0x91, 0x83};

// The same role in app builds made with the CAL test key (HAVE_CAL_TEST_KEY), as published in the
// app's source: the descriptors and EIP-712 filters that hw-app-eth's own recorded fixtures carry
// are signed with it, so Ledger's emulator runs accept it. Trusted only when Config says so.
constexpr std::uint8_t kLedgerCalTestKey[65] = {
    0x04, 0x4c, 0xca, 0x8f, 0xad, 0x49, 0x6a, 0xa5, 0x04, 0x0a, 0x00, 0xa7, 0xeb,
    0x2f, 0x5c, 0xc3, 0xb8, 0x53, 0x76, 0xd8, 0x8b, 0xa1, 0x47, 0xa7, 0xd7, 0x05,
    0x4a, 0x99, 0xc6, 0x40, 0x56, 0x18, 0x87, 0xfe, 0x17, 0xa0, 0x96, 0xe3, 0x6c,
    0x3b, 0x52, 0x3b, 0x24, 0x4f, 0x3e, 0x2f, 0xf7, 0xf8, 0x40, 0xae, 0x26, 0xc4,
    0xe7, 0x7a, 0xd3, 0xbc, 0x73, 0x9a, 0xf5, 0xde, 0x6f, 0x2d, 0x77, 0xa7, 0xb6};

Bytes reply(std::uint16_t sw) {
    return {static_cast<std::uint8_t>(sw >> 8), static_cast<std::uint8_t>(sw & 0xff)};
}

Bytes reply(Bytes data, std::uint16_t sw) {
    data.push_back(static_cast<std::uint8_t>(sw >> 8));
    data.push_back(static_cast<std::uint8_t>(sw & 0xff));
    return data;
}

std::uint32_t read_be32(ByteView b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// The path that starts every signing request: a count byte, then that many 4-byte BE indices.
// Advances `pos`; nullopt when malformed.
std::optional<std::vector<std::uint32_t>> read_path(ByteView data, std::size_t& pos) {
    if (pos >= data.size()) return std::nullopt;
    std::size_t count = data[pos];
    if (count == 0 || count > kMaxPathLength) return std::nullopt;
    if (data.size() - pos - 1 < count * 4) return std::nullopt;
    std::vector<std::uint32_t> path;
    for (std::size_t i = 0; i < count; ++i)
        path.push_back(read_be32(data, pos + 1 + 4 * i));
    pos += 1 + count * 4;
    return path;
}

std::string path_text(const std::vector<std::uint32_t>& path) {
    std::string out = "m";
    for (auto index : path) {
        out += '/';
        out += std::to_string(index & 0x7fffffffU);
        if (index & 0x80000000U) out += '\'';
    }
    return out;
}

// One RLP item header: whether it is a list, how long the header is and how long its payload.
struct RlpHead {
    bool list = false;
    std::size_t header = 0;
    std::size_t length = 0;
};

enum class HeadStatus { Ok, Incomplete, Bad };

HeadStatus read_head(ByteView b, std::size_t pos, RlpHead& out) {
    if (pos >= b.size()) return HeadStatus::Incomplete;
    std::uint8_t first = b[pos];
    if (first < 0x80) {
        out = {false, 0, 1};
        return HeadStatus::Ok;
    }
    if (first <= 0xb7 || (first >= 0xc0 && first <= 0xf7)) {
        bool list = first >= 0xc0;
        out = {list, 1, static_cast<std::size_t>(first - (list ? 0xc0 : 0x80))};
        return HeadStatus::Ok;
    }
    bool list = first >= 0xf8;
    std::size_t size_bytes = first - (list ? 0xf7 : 0xb7);
    if (size_bytes > 4) return HeadStatus::Bad;  // no transaction is that large
    if (b.size() - pos - 1 < size_bytes) return HeadStatus::Incomplete;
    std::size_t length = 0;
    for (std::size_t i = 0; i < size_bytes; ++i)
        length = (length << 8) | b[pos + 1 + i];
    out = {list, 1 + size_bytes, length};
    return HeadStatus::Ok;
}

enum class TxKind { Legacy, AccessList, DynamicFee };

struct TxScan {
    enum class State { NeedMore, Complete, EndsBeforeV, Bad } state = State::NeedMore;
    bool has_calldata = false;
    std::optional<Bytes> to;  // the destination, once its field has arrived
};

// Follows a transaction as far as its bytes have arrived, the way the app's stream parser does.
TxScan scan_transaction(ByteView tx) {
    TxScan result;
    if (tx.empty()) return result;
    std::size_t start = 0;
    TxKind kind = TxKind::Legacy;
    if (tx[0] <= 0x7f) {
        if (tx[0] == 0x01) {
            kind = TxKind::AccessList;
        } else if (tx[0] == 0x02) {
            kind = TxKind::DynamicFee;
        } else {
            result.state = TxScan::State::Bad;
            return result;
        }
        start = 1;
    }
    RlpHead outer;
    auto status = read_head(tx, start, outer);
    if (status == HeadStatus::Bad || (status == HeadStatus::Ok && !outer.list)) {
        result.state = TxScan::State::Bad;
        return result;
    }
    if (status == HeadStatus::Incomplete) return result;
    const std::size_t total = start + outer.header + outer.length;
    const std::size_t data_field = kind == TxKind::Legacy ? 5 : kind == TxKind::AccessList ? 6 : 7;
    std::size_t pos = start + outer.header;
    std::size_t field = 0;
    while (pos < tx.size() && pos < total) {
        RlpHead head;
        auto s = read_head(tx, pos, head);
        if (s == HeadStatus::Bad) {
            result.state = TxScan::State::Bad;
            return result;
        }
        if (s == HeadStatus::Incomplete) break;
        if (field == data_field && head.length > 0 && !head.list) result.has_calldata = true;
        std::size_t end = pos + head.header + head.length;
        if (end > tx.size()) break;
        if (field == data_field - 2 && !head.list) {
            result.to = Bytes(tx.begin() + static_cast<std::ptrdiff_t>(pos + head.header),
                              tx.begin() + static_cast<std::ptrdiff_t>(end));
        }
        pos = end;
        ++field;
    }
    if (tx.size() > total) {
        result.state = TxScan::State::Bad;
    } else if (tx.size() == total) {
        result.state = TxScan::State::Complete;
    } else if (kind == TxKind::Legacy && pos == tx.size() && field == 6) {
        // The app's parser stops when a chunk ends exactly where v would start: it takes the
        // transaction for a pre-EIP-155 one (hw-app-eth and geth size chunks to avoid this).
        result.state = TxScan::State::EndsBeforeV;
    }
    return result;
}

std::string hex_or_zero(const Bytes& value) {
    return value.empty() ? "0" : core::hex_encode(value);
}

// ---- EIP-712 full mode: struct definitions and the streamed implementation ----

enum class FieldKind : std::uint8_t {
    Custom = 0,
    Int = 1,
    Uint = 2,
    Address = 3,
    Bool = 4,
    String = 5,
    FixedBytes = 6,
    DynamicBytes = 7,
};

struct FieldType {
    FieldKind kind = FieldKind::Custom;
    std::string custom;                              // struct name for Custom
    std::size_t size = 0;                            // bytes, for Int/Uint/FixedBytes
    std::vector<std::optional<std::size_t>> levels;  // as written: T[2][] has {2, dynamic}

    std::string base_name() const {
        switch (kind) {
            case FieldKind::Custom:
                return custom;
            case FieldKind::Int:
                return "int" + std::to_string(size * 8);
            case FieldKind::Uint:
                return "uint" + std::to_string(size * 8);
            case FieldKind::Address:
                return "address";
            case FieldKind::Bool:
                return "bool";
            case FieldKind::String:
                return "string";
            case FieldKind::FixedBytes:
                return "bytes" + std::to_string(size);
            case FieldKind::DynamicBytes:
                return "bytes";
        }
        return {};
    }
    std::string type_name() const {
        std::string out = base_name();
        for (const auto& level : levels)
            out += level ? "[" + std::to_string(*level) + "]" : "[]";
        return out;
    }
};

struct StructField {
    FieldType type;
    std::string name;
};

struct StructDef {
    std::string name;
    std::vector<StructField> fields;
};

// Parses one INS 0x1A P2 0xFF payload (the layout hw-app-eth's makeTypeEntryStructBuffer
// writes): type byte (bit 7 array, bit 6 has size, low nibble kind), [name len, name] for
// custom types, [size], [level count, per level 0 | 1 size], name len, name.
std::optional<StructField> parse_struct_field(ByteView data) {
    std::size_t pos = 0;
    auto take = [&](std::size_t n) -> std::optional<ByteView> {
        if (data.size() - pos < n) return std::nullopt;
        ByteView out = data.subspan(pos, n);
        pos += n;
        return out;
    };
    auto type_byte = take(1);
    if (!type_byte) return std::nullopt;
    std::uint8_t t = (*type_byte)[0];
    if (t & 0x30) return std::nullopt;
    StructField field;
    std::uint8_t kind = t & 0x0f;
    if (kind > 7) return std::nullopt;
    field.type.kind = static_cast<FieldKind>(kind);
    if (field.type.kind == FieldKind::Custom) {
        auto len = take(1);
        if (!len) return std::nullopt;
        auto name = take((*len)[0]);
        if (!name || name->empty()) return std::nullopt;
        field.type.custom.assign(name->begin(), name->end());
    }
    bool has_size = t & 0x40;
    bool needs_size = field.type.kind == FieldKind::Int || field.type.kind == FieldKind::Uint ||
                      field.type.kind == FieldKind::FixedBytes;
    if (has_size != needs_size) return std::nullopt;
    if (has_size) {
        auto size = take(1);
        if (!size) return std::nullopt;
        field.type.size = (*size)[0];
        if (field.type.size == 0 || field.type.size > 32) return std::nullopt;
    }
    if (t & 0x80) {
        auto count = take(1);
        if (!count || (*count)[0] == 0) return std::nullopt;
        for (std::size_t i = 0; i < (*count)[0]; ++i) {
            auto level = take(1);
            if (!level) return std::nullopt;
            if ((*level)[0] == 0) {
                field.type.levels.push_back(std::nullopt);
            } else if ((*level)[0] == 1) {
                auto size = take(1);
                if (!size) return std::nullopt;
                field.type.levels.push_back(std::size_t{(*size)[0]});
            } else {
                return std::nullopt;
            }
        }
    }
    auto len = take(1);
    if (!len) return std::nullopt;
    auto name = take((*len)[0]);
    if (!name || name->empty() || pos != data.size()) return std::nullopt;
    field.name.assign(name->begin(), name->end());
    return field;
}

}  // namespace

struct Token {
    Bytes address;
    std::string ticker;
    std::uint32_t decimals = 0;
    std::uint32_t chain_id = 0;
};

struct AppSession {
    // INS 0x0A: descriptors provided for the next transaction (oldest replaced first)
    // Slots filled in turn (the answer to INS 0x0A is the slot), the oldest overwritten when all
    // are used; cleared when a signature completes.
    std::vector<Token> tokens = std::vector<Token>(kMaxTokens);
    std::size_t next_token_slot = 0;
    // INS 0x04
    struct {
        bool active = false;
        std::vector<std::uint32_t> path;
        Bytes tx;
    } tx;
    // INS 0x08
    struct {
        bool active = false;
        std::vector<std::uint32_t> path;
        std::size_t total = 0;
        Bytes data;
    } message;
    // INS 0x1A / 0x1C
    struct Frame {
        const StructDef* def = nullptr;  // struct frame when set, else an array frame
        std::size_t index = 0;           // next member (struct frames)
        FieldType element;               // element type (array frames)
        std::size_t remaining = 0;       // elements still to come (array frames)
        Bytes encoded;
    };
    struct {
        std::vector<StructDef> defs;
        bool implementing = false;
        std::vector<Frame> stack;
        bool root_is_domain = false;
        std::optional<Hash32> domain_hash;
        std::optional<Hash32> message_hash;
        // a field value split over several APDUs
        std::optional<std::size_t> value_length;
        Bytes value;
        // filtering (INS 0x1E)
        bool filtering = false;
        std::optional<std::size_t> filters_expected;
        std::set<std::string> filtered_paths;  // a filter repeated per array element counts once
        std::optional<std::string> discarded_path;
        std::string contract_name;
        std::vector<std::string> labels;
        // from the domain's values, for filter signatures
        std::uint64_t chain_id = 0;
        Bytes contract = Bytes(20, 0);
    } eip712;

    void reset_signing() {
        tx = {};
        message = {};
    }
};

// ---- AppVersion ----

core::Result<AppVersion> AppVersion::parse(std::string_view text) {
    int parts[3] = {0, 0, 0};
    std::size_t pos = 0;
    for (int i = 0; i < 3; ++i) {
        if (i > 0) {
            if (pos >= text.size() || text[pos] != '.')
                return core::fail(core::ErrorCode::InvalidFormat, "app version must be X.Y.Z");
            ++pos;
        }
        auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), parts[i]);
        if (ec != std::errc() || end == text.data() + pos || parts[i] > 255 || parts[i] < 0)
            return core::fail(core::ErrorCode::InvalidFormat, "app version must be X.Y.Z");
        pos = static_cast<std::size_t>(end - text.data());
    }
    if (pos != text.size())
        return core::fail(core::ErrorCode::InvalidFormat, "app version must be X.Y.Z");
    return AppVersion{parts[0], parts[1], parts[2]};
}

std::string AppVersion::to_string() const {
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string_view to_string(DeviceState state) {
    switch (state) {
        case DeviceState::Ready:
            return "ready";
        case DeviceState::Locked:
            return "locked";
        case DeviceState::Dashboard:
            return "dashboard";
        case DeviceState::OtherApp:
            return "other-app";
    }
    return "?";
}

// ---- User ----

void User::set_mode(UserMode mode) {
    std::lock_guard lock(mutex_);
    mode_ = mode;
    changed_.notify_all();
}

UserMode User::mode() const {
    std::lock_guard lock(mutex_);
    return mode_;
}

void User::press(UserAnswer answer) {
    std::lock_guard lock(mutex_);
    queued_.push_back(answer);
    changed_.notify_all();
}

void User::cancel() {
    std::lock_guard lock(mutex_);
    queued_.clear();
    ++cancel_generation_;
    changed_.notify_all();
}

std::optional<UserAnswer> User::confirm(std::string text) {
    std::unique_lock lock(mutex_);
    prompts_.push_back(std::move(text));
    const std::uint64_t generation = cancel_generation_;
    waiting_ = true;
    changed_.notify_all();
    std::optional<UserAnswer> answer;
    changed_.wait(lock, [&] {
        if (cancel_generation_ != generation) return true;
        if (!queued_.empty()) {
            answer = queued_.front();
            queued_.pop_front();
            return true;
        }
        if (mode_ == UserMode::Approve) answer = UserAnswer::Approve;
        if (mode_ == UserMode::Reject) answer = UserAnswer::Reject;
        return answer.has_value();
    });
    waiting_ = false;
    return answer;
}

std::vector<std::string> User::prompts() const {
    std::lock_guard lock(mutex_);
    return prompts_;
}

bool User::waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
}

std::optional<std::string> User::wait_for_prompt(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return waiting_; })) return std::nullopt;
    return prompts_.back();
}

// ---- EthApp ----

EthApp::EthApp(core::bip32::ExtendedKey master, User& user)
    : master_(std::move(master)), user_(user), session_(std::make_unique<AppSession>()) {}

EthApp::~EthApp() = default;

core::Result<std::unique_ptr<EthApp>> EthApp::create(ByteView seed, User& user) {
    auto master = core::bip32::ExtendedKey::from_seed(seed);
    if (!master) return core::fail(master.error());
    return std::unique_ptr<EthApp>(new EthApp(std::move(*master), user));
}

core::Result<std::unique_ptr<EthApp>> EthApp::from_mnemonic(std::string_view phrase,
                                                            std::string_view passphrase,
                                                            User& user) {
    auto seed = core::bip39::seed_from_mnemonic(phrase, passphrase);
    if (!seed) return core::fail(seed.error());
    return create(seed->view(), user);
}

Config EthApp::config() const {
    std::lock_guard lock(config_mutex_);
    return config_;
}

void EthApp::set_config(const Config& config) {
    std::lock_guard lock(config_mutex_);
    config_ = config;
}

namespace {

// Everything one exchange needs; the handlers below are free functions over it.
struct Context {
    const core::bip32::ExtendedKey& master;
    User& user;
    const Config& config;
};

std::optional<core::bip32::ExtendedKey> derive(const Context& ctx,
                                               const std::vector<std::uint32_t>& path) {
    auto key = ctx.master.derive_path(path);
    if (!key) return std::nullopt;
    return std::move(*key);
}

// Signs digest with the key at path; the reply is v || r || s with v from make_v(recovery id).
template <typename MakeV>
Bytes sign_reply(const Context& ctx, const std::vector<std::uint32_t>& path, const Hash32& digest,
                 MakeV make_v) {
    auto key = derive(ctx, path);
    if (!key || !key->private_key()) return reply(kBadData);
    auto signature = core::sign_digest(*key->private_key(), digest);
    Bytes out;
    out.push_back(make_v(signature.recovery_id & 1));
    out.insert(out.end(), signature.r.begin(), signature.r.end());
    out.insert(out.end(), signature.s.begin(), signature.s.end());
    return reply(std::move(out), kOk);
}

bool approved(const Context& ctx, std::string prompt) {
    auto answer = ctx.user.confirm(std::move(prompt));
    return answer && *answer == UserAnswer::Approve;
}

Bytes get_app_and_version(const Context& ctx) {
    std::string name;
    std::string version;
    switch (ctx.config.state) {
        case DeviceState::Locked:
            return reply(ctx.config.locked_status);
        case DeviceState::Dashboard:
            name = "BOLOS";
            version = ctx.config.firmware_version;
            break;
        case DeviceState::OtherApp:
            name = ctx.config.other_app;
            version = ctx.config.other_app_version;
            break;
        case DeviceState::Ready:
            name = "Ethereum";
            version = ctx.config.version.to_string();
            break;
    }
    Bytes out{0x01, static_cast<std::uint8_t>(name.size())};
    out.insert(out.end(), name.begin(), name.end());
    out.push_back(static_cast<std::uint8_t>(version.size()));
    out.insert(out.end(), version.begin(), version.end());
    out.push_back(0x01);  // one byte of flags
    out.push_back(0x00);
    return reply(std::move(out), kOk);
}

Bytes get_configuration(const Context& ctx, ByteView data) {
    if (!data.empty()) return reply(kBadLength);
    const auto& v = ctx.config.version;
    Bytes out{static_cast<std::uint8_t>(ctx.config.blind_signing ? 0x01 : 0x00),
              static_cast<std::uint8_t>(v.major), static_cast<std::uint8_t>(v.minor),
              static_cast<std::uint8_t>(v.patch)};
    return reply(std::move(out), kOk);
}

Bytes get_address(const Context& ctx, std::uint8_t p1, std::uint8_t p2, ByteView data) {
    if (p1 > 1 || p2 > 1) return reply(kBadP1P2);
    std::size_t pos = 0;
    auto path = read_path(data, pos);
    if (!path) return reply(kBadData);
    // An optional 8-byte chain id follows (it only changes how some chains checksum).
    if (data.size() != pos && data.size() != pos + 8) return reply(kBadData);
    auto key = derive(ctx, *path);
    if (!key) return reply(kBadData);
    std::string address = key->address().to_checksum_string().substr(2);
    if (p1 == 1 && !approved(ctx, "Verify address 0x" + address + " at " + path_text(*path)))
        return reply(kDenied);
    auto pub = key->public_key().uncompressed();
    Bytes out{static_cast<std::uint8_t>(pub.size())};
    out.insert(out.end(), pub.begin(), pub.end());
    out.push_back(static_cast<std::uint8_t>(address.size()));
    out.insert(out.end(), address.begin(), address.end());
    if (p2 == 1) {
        auto chain_code = key->chain_code();
        out.insert(out.end(), chain_code.begin(), chain_code.end());
    }
    return reply(std::move(out), kOk);
}

// ---- INS 0x0A: ERC-20 token descriptor ----

// Payload: ticker length, ticker, contract address (20), decimals (4 BE), chain id (4 BE), then the
// DER signature by Ledger's token key over everything but the first byte.
// Whether der (a DER ECDSA signature) signs digest with a CAL key the configured app trusts.
bool verify_cal(const Config& config, const Hash32& digest, ByteView der) {
    auto* ctx = core::secp256k1_ctx();
    secp256k1_ecdsa_signature signature;
    if (!secp256k1_ecdsa_signature_parse_der(ctx, &signature, der.data(), der.size())) return false;
    // Ledger's signer does not normalise s; libsecp256k1 verifies only the low form.
    secp256k1_ecdsa_signature_normalize(ctx, &signature, &signature);
    for (const std::uint8_t* raw : {kLedgerTokenKey, kLedgerCalTestKey}) {
        if (raw == kLedgerCalTestKey && !config.trust_cal_test_key) continue;
        secp256k1_pubkey key;
        if (secp256k1_ec_pubkey_parse(ctx, &key, raw, 65) &&
            secp256k1_ecdsa_verify(ctx, &signature, digest.data(), &key))
            return true;
    }
    return false;
}

Bytes provide_token(const Context& ctx, AppSession& s, std::uint8_t p1, std::uint8_t p2,
                    ByteView data) {
    if (p1 != 0x00 || p2 != 0x00) return reply(kBadP1P2);
    if (data.empty()) return reply(kBadData);
    const std::size_t ticker_length = data[0];
    const std::size_t signed_end = 1 + ticker_length + 20 + 4 + 4;
    if (ticker_length == 0 || ticker_length > 10 || data.size() <= signed_end)
        return reply(kBadData);
    ByteView signed_part = data.subspan(1, signed_end - 1);
    ByteView der = data.subspan(signed_end);
    if (!verify_cal(ctx.config, core::sha256(signed_part), der)) return reply(kBadData);
    const auto at = [&](std::size_t offset) {
        return data.begin() + static_cast<std::ptrdiff_t>(offset);
    };
    Token token;
    token.ticker.assign(at(1), at(1 + ticker_length));
    token.address.assign(at(1 + ticker_length), at(1 + ticker_length + 20));
    token.decimals = read_be32(data, 1 + ticker_length + 20);
    token.chain_id = read_be32(data, 1 + ticker_length + 24);
    const std::size_t slot = s.next_token_slot;
    s.tokens[slot] = std::move(token);
    s.next_token_slot = (slot + 1) % kMaxTokens;
    return reply(Bytes{static_cast<std::uint8_t>(slot)}, kOk);
}

const Token* find_token(const std::vector<Token>& tokens, const Bytes& address) {
    for (const auto& t : tokens) {
        if (!t.address.empty() && t.address == address) return &t;
    }
    return nullptr;
}

// A token amount with its decimals: 1500000 with 6 decimals is "1.5".
std::string token_amount(ByteView word, std::uint32_t decimals) {
    auto value = core::u256_from_be(word);
    if (!value) return "?";
    std::string digits = core::u256_to_decimal(*value);
    if (decimals == 0 || decimals > 77) return digits;
    if (digits.size() <= decimals) digits.insert(0, decimals + 1 - digits.size(), '0');
    std::string whole = digits.substr(0, digits.size() - decimals);
    std::string fraction = digits.substr(digits.size() - decimals);
    while (!fraction.empty() && fraction.back() == '0')
        fraction.pop_back();
    return fraction.empty() ? whole : whole + "." + fraction;
}

// What the app shows for ERC-20 transfer(address,uint256) / approve(address,uint256) calldata on
// a token the host described for this chain; nullopt when it cannot (blind signing needed).
std::optional<std::string> erc20_view(const std::vector<Token>& tokens, const Bytes& to,
                                      const Bytes& chain_id, const Bytes& data) {
    const Token* token = find_token(tokens, to);
    if (!token || data.size() != 4 + 64 || chain_id.size() > 4) return std::nullopt;
    std::uint32_t chain = 0;
    for (auto b : chain_id)
        chain = (chain << 8) | b;
    if (chain != token->chain_id) return std::nullopt;
    const Bytes selector(data.begin(), data.begin() + 4);
    const bool transfer = selector == Bytes{0xa9, 0x05, 0x9c, 0xbb};
    const bool approve = selector == Bytes{0x09, 0x5e, 0xa7, 0xb3};
    if (!transfer && !approve) return std::nullopt;
    for (std::size_t i = 4; i < 16; ++i) {
        if (data[i] != 0) return std::nullopt;  // not an address
    }
    const std::string who = core::hex_encode(ByteView(data).subspan(16, 20));
    const std::string amount = token_amount(ByteView(data).subspan(36, 32), token->decimals);
    return (transfer ? "Send " : "Approve ") + amount + " " + token->ticker +
           (transfer ? " to " : " for ") + who;
}

// ---- INS 0x04: sign transaction ----

Bytes finish_transaction(const Context& ctx, AppSession& s, bool ends_before_v) {
    Bytes tx = std::move(s.tx.tx);
    auto path = std::move(s.tx.path);
    s.tx = {};
    // Token descriptors serve one transaction.
    const std::vector<Token> tokens = std::move(s.tokens);
    s.tokens = std::vector<Token>(kMaxTokens);
    s.next_token_slot = 0;
    const bool legacy = tx[0] > 0x7f;
    Bytes chain_id;
    std::string summary;
    if (ends_before_v) {
        summary = "Review transaction (legacy, no chain id)";
    } else {
        ByteView body = ByteView(tx).subspan(legacy ? 0 : 1);
        auto decoded = core::rlp::decode(body);
        if (!decoded || !decoded->is_list) return reply(kBadData);
        const auto& items = decoded->items;
        const std::size_t expected = legacy ? 9 : (tx[0] == 0x01 ? 8 : 9);
        const std::size_t list_field = legacy ? items.size() : expected - 1;  // accessList
        if (items.size() != expected && !(legacy && items.size() == 6)) return reply(kBadData);
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (items[i].is_list != (i == list_field)) return reply(kBadData);
            if (i != list_field && items[i].bytes.size() > 32 && i != (legacy ? 5u : expected - 2))
                return reply(kBadData);
        }
        const std::size_t to_field = legacy ? 3 : (tx[0] == 0x01 ? 4 : 5);
        const auto& to = items[to_field].bytes;
        if (!to.empty() && to.size() != 20) return reply(kBadData);
        if (legacy) {
            if (items.size() == 9) chain_id = items[6].bytes;
        } else {
            chain_id = items[0].bytes;
        }
        const auto& value = items[to_field + 1].bytes;
        const auto& calldata = items[to_field + 2].bytes;
        std::string shown;
        if (!calldata.empty() && !ctx.config.blind_signing) {
            auto view = erc20_view(tokens, to, chain_id, calldata);
            if (!view) return reply(kBadData);  // blind signing needed
            shown = ": " + *view;
        }
        summary = std::string("Review transaction (") +
                  (legacy          ? "legacy"
                   : tx[0] == 0x01 ? "EIP-2930"
                                   : "EIP-1559") +
                  ") chain " + hex_or_zero(chain_id) + " to " +
                  (to.empty() ? std::string("contract creation") : core::hex_encode(to)) +
                  " value " + hex_or_zero(value) + " data " + std::to_string(calldata.size()) +
                  " bytes" + shown;
    }
    if (!approved(ctx, summary + " from " + path_text(path))) return reply(kDenied);
    const Hash32 digest = core::keccak256(tx);
    if (!legacy) {
        return sign_reply(ctx, path, digest, [](std::uint8_t parity) { return parity; });
    }
    // v is one byte: chain id (its first 4 bytes at most, read big-endian) * 2 + 35 + parity,
    // truncated; 27 + parity without a chain id.
    std::uint32_t chain = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(4, chain_id.size()); ++i)
        chain = (chain << 8) | chain_id[i];
    return sign_reply(ctx, path, digest, [chain](std::uint8_t parity) {
        if (chain == 0) return static_cast<std::uint8_t>(27 + parity);
        return static_cast<std::uint8_t>((chain * 2 + 35 + parity) & 0xff);
    });
}

Bytes sign_transaction(const Context& ctx, AppSession& s, std::uint8_t p1, std::uint8_t p2,
                       ByteView data) {
    if (p2 != 0x00 || (p1 != 0x00 && p1 != 0x80)) {
        s.tx = {};
        return reply(kBadP1P2);
    }
    if (p1 == 0x00) {
        s.tx = {};
        std::size_t pos = 0;
        auto path = read_path(data, pos);
        if (!path) return reply(kBadData);
        s.tx.active = true;
        s.tx.path = std::move(*path);
        data = data.subspan(pos);
    } else if (!s.tx.active) {
        return reply(kDenied);
    }
    if (data.empty()) {
        s.tx = {};
        return reply(kBadData);
    }
    if (s.tx.tx.empty() && data[0] <= 0x7f &&
        ((data[0] != 0x01 && data[0] != 0x02) || ctx.config.version < AppVersion{1, 9, 0})) {
        // EIP-2930 and EIP-1559 came with app 1.9.0; other types (blobs, ...) are not signed.
        s.tx = {};
        return reply(kTxTypeNotSupported);
    }
    s.tx.tx.insert(s.tx.tx.end(), data.begin(), data.end());
    TxScan scan = scan_transaction(s.tx.tx);
    if (scan.state == TxScan::State::Bad) {
        s.tx = {};
        return reply(kBadData);
    }
    if (scan.has_calldata && !ctx.config.blind_signing &&
        !(scan.to && find_token(s.tokens, *scan.to))) {
        // Contract data the app cannot show: refused unless blind signing is on.
        s.tx = {};
        return reply(kBadData);
    }
    if (scan.state == TxScan::State::NeedMore) return reply(kOk);
    return finish_transaction(ctx, s, scan.state == TxScan::State::EndsBeforeV);
}

// ---- INS 0x08: personal message ----

Bytes sign_message(const Context& ctx, AppSession& s, std::uint8_t p1, std::uint8_t p2,
                   ByteView data) {
    if (p2 != 0x00 || (p1 != 0x00 && p1 != 0x80)) {
        s.message = {};
        return reply(kBadP1P2);
    }
    if (p1 == 0x00) {
        s.message = {};
        std::size_t pos = 0;
        auto path = read_path(data, pos);
        if (!path || data.size() - pos < 4) return reply(kBadData);
        s.message.total = read_be32(data, pos);
        pos += 4;
        s.message.path = std::move(*path);
        s.message.active = true;
        data = data.subspan(pos);
    } else if (!s.message.active) {
        return reply(kDenied);
    }
    if (data.size() > s.message.total - s.message.data.size()) {
        s.message = {};
        return reply(kBadData);
    }
    s.message.data.insert(s.message.data.end(), data.begin(), data.end());
    if (s.message.data.size() < s.message.total) return reply(kOk);
    auto path = std::move(s.message.path);
    Bytes message = std::move(s.message.data);
    s.message = {};
    if (!approved(ctx, "Sign message (" + std::to_string(message.size()) + " bytes) with " +
                           path_text(path)))
        return reply(kDenied);
    std::string prefix =
        "\x19"
        "Ethereum Signed Message:\n" +
        std::to_string(message.size());
    const Hash32 digest = core::keccak256(core::concat({core::as_bytes(prefix), message}));
    return sign_reply(ctx, path, digest,
                      [](std::uint8_t parity) { return static_cast<std::uint8_t>(27 + parity); });
}

// ---- INS 0x0C / 0x1A / 0x1C: EIP-712 ----

Hash32 eip712_digest(const Hash32& domain, const Hash32& message) {
    Bytes preimage{0x19, 0x01};
    preimage.insert(preimage.end(), domain.begin(), domain.end());
    preimage.insert(preimage.end(), message.begin(), message.end());
    return core::keccak256(preimage);
}

Bytes sign_typed(const Context& ctx, AppSession& s, std::uint8_t p1, std::uint8_t p2,
                 ByteView data) {
    if (ctx.config.version < AppVersion{1, 5, 0}) return reply(kUnknownIns);
    if (p1 != 0x00 || p2 > 0x01 || (p2 == 0x01 && ctx.config.version < AppVersion{1, 9, 19})) {
        s.eip712 = {};
        return reply(kBadP1P2);
    }
    std::size_t pos = 0;
    auto path = read_path(data, pos);
    if (!path) {
        s.eip712 = {};
        return reply(kBadData);
    }
    Hash32 domain{};
    Hash32 message{};
    std::string what;
    if (p2 == 0x00) {
        if (data.size() - pos != 64) return reply(kBadData);
        std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos), 32, domain.begin());
        std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos) + 32, 32, message.begin());
        what = "Sign typed data (hashed) domain " + core::hex_encode(domain) + " message " +
               core::hex_encode(message);
    } else {
        auto& e = s.eip712;
        const bool complete = e.domain_hash && e.message_hash && e.stack.empty();
        if (pos != data.size() || !complete) {
            s.eip712 = {};
            return reply(kBadData);
        }
        if (e.filtering &&
            (!e.filters_expected || *e.filters_expected != e.filtered_paths.size())) {
            s.eip712 = {};
            return reply(kBadData);  // the message info announced another number of filters
        }
        domain = *e.domain_hash;
        message = *e.message_hash;
        what = "Sign typed data (fields shown) domain " + core::hex_encode(domain) + " message " +
               core::hex_encode(message);
        if (e.filtering) {
            what += " [" + e.contract_name + ":";
            for (const auto& label : e.labels)
                what += " " + label + ";";
            what += "]";
        }
        s.eip712 = {};
    }
    s.tokens = std::vector<Token>(kMaxTokens);  // descriptors serve one signature
    s.next_token_slot = 0;
    if (!approved(ctx, what + " with " + path_text(*path))) return reply(kDenied);
    return sign_reply(ctx, *path, eip712_digest(domain, message),
                      [](std::uint8_t parity) { return static_cast<std::uint8_t>(27 + parity); });
}

Bytes struct_definition(AppSession& s, std::uint8_t p1, std::uint8_t p2, ByteView data) {
    auto& e = s.eip712;
    if (p1 != 0x00 || (p2 != 0x00 && p2 != 0xFF)) return reply(kBadP1P2);
    if (e.implementing) {
        // Definitions come first: a new one after the implementation started begins anew.
        s.eip712 = {};
    }
    if (p2 == 0x00) {
        if (data.empty()) return reply(kBadData);
        std::string name(data.begin(), data.end());
        for (const auto& def : e.defs) {
            if (def.name == name) return reply(kBadData);
        }
        e.defs.push_back({std::move(name), {}});
        return reply(kOk);
    }
    if (e.defs.empty()) return reply(kBadData);
    auto field = parse_struct_field(data);
    if (!field) return reply(kBadData);
    e.defs.back().fields.push_back(std::move(*field));
    return reply(kOk);
}

const StructDef* find_def(const AppSession& s, std::string_view name) {
    for (const auto& def : s.eip712.defs) {
        if (def.name == name) return &def;
    }
    return nullptr;
}

// encodeType: the struct, then every struct it references (transitively), sorted by name.
std::optional<std::string> encode_type(const AppSession& s, const StructDef& root) {
    std::set<std::string> referenced;
    std::vector<const StructDef*> todo{&root};
    while (!todo.empty()) {
        const StructDef* def = todo.back();
        todo.pop_back();
        for (const auto& f : def->fields) {
            if (f.type.kind != FieldKind::Custom || f.type.custom == root.name) continue;
            if (referenced.insert(f.type.custom).second) {
                const StructDef* next = find_def(s, f.type.custom);
                if (!next) return std::nullopt;
                todo.push_back(next);
            }
        }
    }
    auto one = [&](const StructDef& def) {
        std::string out = def.name + "(";
        for (std::size_t i = 0; i < def.fields.size(); ++i) {
            if (i) out += ",";
            out += def.fields[i].type.type_name() + " " + def.fields[i].name;
        }
        return out + ")";
    };
    std::string out = one(root);
    for (const auto& name : referenced)
        out += one(*find_def(s, name));
    return out;
}

// What the streamed implementation expects next, after descending into nested structs.
enum class Expect { Array, Value, Nothing, Error };

// Pops finished frames (folding their encodings into the parent) and pushes frames for nested
// structs until the next APDU-carried item (an array length or a value) is at the top.
Expect settle(AppSession& s, const FieldType** next) {
    auto& e = s.eip712;
    while (!e.stack.empty()) {
        auto& top = e.stack.back();
        const FieldType* type = nullptr;
        if (top.def) {
            if (top.index < top.def->fields.size()) type = &top.def->fields[top.index].type;
        } else if (top.remaining > 0) {
            type = &top.element;
        }
        if (!type) {
            const Hash32 hash = core::keccak256(top.encoded);
            e.stack.pop_back();
            if (e.stack.empty()) {
                (e.root_is_domain ? e.domain_hash : e.message_hash) = hash;
                return Expect::Nothing;
            }
            auto& parent = e.stack.back();
            parent.encoded.insert(parent.encoded.end(), hash.begin(), hash.end());
            if (parent.def) {
                ++parent.index;
            } else {
                --parent.remaining;
            }
            continue;
        }
        if (!type->levels.empty()) {
            *next = type;
            return Expect::Array;
        }
        if (type->kind == FieldKind::Custom) {
            const StructDef* def = find_def(s, type->custom);
            if (!def) return Expect::Error;
            auto encoded_type = encode_type(s, *def);
            if (!encoded_type) return Expect::Error;
            const Hash32 type_hash = core::keccak256(core::as_bytes(*encoded_type));
            AppSession::Frame frame;
            frame.def = def;
            frame.encoded.assign(type_hash.begin(), type_hash.end());
            e.stack.push_back(std::move(frame));
            continue;
        }
        *next = type;
        return Expect::Value;
    }
    return Expect::Nothing;
}

// The 32-byte encodeData word of an atomic value.
std::optional<Hash32> encode_atomic(const FieldType& type, ByteView value) {
    Hash32 word{};
    switch (type.kind) {
        case FieldKind::String:
        case FieldKind::DynamicBytes:
            return core::keccak256(value);
        case FieldKind::FixedBytes:
            if (value.size() > type.size) return std::nullopt;
            std::copy(value.begin(), value.end(), word.begin());
            return word;
        case FieldKind::Int:
        case FieldKind::Uint:
        case FieldKind::Address:
        case FieldKind::Bool: {
            std::size_t limit = type.kind == FieldKind::Address ? 20
                                : type.kind == FieldKind::Bool  ? 1
                                                                : type.size;
            if (value.size() > limit) return std::nullopt;
            if (type.kind == FieldKind::Bool && !value.empty() && value[0] > 1) return std::nullopt;
            if (type.kind == FieldKind::Int && !value.empty() && (value[0] & 0x80))
                word.fill(0xff);  // sign extension
            std::copy(value.begin(), value.end(),
                      word.end() - static_cast<std::ptrdiff_t>(value.size()));
            return word;
        }
        case FieldKind::Custom:
            break;
    }
    return std::nullopt;
}

Bytes struct_implementation(AppSession& s, std::uint8_t p1, std::uint8_t p2, ByteView data) {
    auto& e = s.eip712;
    auto fail_all = [&](std::uint16_t sw) {
        s.eip712 = {};
        return reply(sw);
    };
    if (p1 > 0x01 || (p2 != 0x00 && p2 != 0x0F && p2 != 0xFF)) return fail_all(kBadP1P2);
    if (p2 != 0xFF && e.value_length) return fail_all(kBadData);  // a value was cut short
    e.implementing = true;
    const FieldType* next = nullptr;
    if (p2 == 0x00) {
        if (!e.stack.empty() || p1 != 0x00) return fail_all(kBadData);
        std::string name(data.begin(), data.end());
        const StructDef* def = find_def(s, name);
        if (!def) return fail_all(kBadData);
        auto encoded_type = encode_type(s, *def);
        if (!encoded_type) return fail_all(kBadData);
        e.root_is_domain = name == "EIP712Domain";
        if (!e.root_is_domain && !e.domain_hash) return fail_all(kBadData);
        const Hash32 type_hash = core::keccak256(core::as_bytes(*encoded_type));
        AppSession::Frame frame;
        frame.def = def;
        frame.encoded.assign(type_hash.begin(), type_hash.end());
        e.stack.push_back(std::move(frame));
        if (settle(s, &next) == Expect::Error) return fail_all(kBadData);
        return reply(kOk);
    }
    Expect expect = settle(s, &next);
    if (p2 == 0x0F) {
        if (expect != Expect::Array || p1 != 0x00 || data.size() != 1) return fail_all(kBadData);
        const std::size_t count = data[0];
        // As in Solidity, the last level written is the outermost: T[2][] is a dynamic array of
        // T[2], so its first array APDU gives the dynamic count.
        const auto& outer = next->levels.back();
        if (outer && *outer != count) return fail_all(kBadData);
        AppSession::Frame frame;
        frame.element = *next;
        frame.element.levels.pop_back();
        frame.remaining = count;
        e.stack.push_back(std::move(frame));
        if (settle(s, &next) == Expect::Error) return fail_all(kBadData);
        return reply(kOk);
    }
    // A field value: 2-byte BE length then the bytes, possibly over several APDUs (P1 0x01 on
    // all but the last).
    if (expect != Expect::Value) return fail_all(kBadData);
    if (!e.value_length) {
        if (data.size() < 2) return fail_all(kBadData);
        e.value_length = (std::size_t{data[0]} << 8) | data[1];
        data = data.subspan(2);
    }
    if (data.size() > *e.value_length - e.value.size()) return fail_all(kBadData);
    e.value.insert(e.value.end(), data.begin(), data.end());
    const bool done = e.value.size() == *e.value_length;
    if (done != (p1 == 0x00)) return fail_all(kBadData);
    if (!done) return reply(kOk);
    auto word = encode_atomic(*next, e.value);
    if (!word) return fail_all(kBadData);
    auto& top = e.stack.back();
    if (e.root_is_domain && e.stack.size() == 1 && top.def) {
        // The filters' signatures cover the domain's chain id and verifying contract.
        const std::string& field = top.def->fields[top.index].name;
        if (field == "chainId") {
            e.chain_id = 0;
            for (std::size_t i = 24; i < 32; ++i)
                e.chain_id = (e.chain_id << 8) | (*word)[i];
        } else if (field == "verifyingContract" && e.value.size() == 20) {
            e.contract = e.value;
        }
    }
    e.value_length.reset();
    e.value.clear();
    top.encoded.insert(top.encoded.end(), word->begin(), word->end());
    if (top.def) {
        ++top.index;
    } else {
        --top.remaining;
    }
    if (settle(s, &next) == Expect::Error) return fail_all(kBadData);
    return reply(kOk);
}

// ---- INS 0x1E: EIP-712 filtering ----

// The schema hash the filters' signatures cover: SHA-224 of the struct definitions as the app
// rebuilds them, {"Name":[{"name":"field","type":"type"},...],...} in the order received.
std::array<std::uint8_t, 28> schema_hash(const AppSession& s) {
    auto quoted = [](const std::string& text) {
        std::string out = "\"";
        for (char ch : text) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        return out + "\"";
    };
    std::string json = "{";
    for (std::size_t i = 0; i < s.eip712.defs.size(); ++i) {
        const auto& def = s.eip712.defs[i];
        if (i) json += ",";
        json += quoted(def.name) + ":[";
        for (std::size_t j = 0; j < def.fields.size(); ++j) {
            if (j) json += ",";
            json += "{\"name\":" + quoted(def.fields[j].name) +
                    ",\"type\":" + quoted(def.fields[j].type.type_name()) + "}";
        }
        json += "]";
    }
    json += "}";
    std::array<std::uint8_t, 28> out{};
    SHA224(reinterpret_cast<const unsigned char*>(json.data()), json.size(), out.data());
    return out;
}

// The path of the field the next value belongs to: member names from the root, each followed by
// ".[]" per array level of that member ("to.[].wallets.[]").
std::optional<std::pair<std::string, const FieldType*>> current_field(const AppSession& s) {
    std::string path;
    const FieldType* type = nullptr;
    for (const auto& frame : s.eip712.stack) {
        if (!frame.def) continue;
        if (frame.index >= frame.def->fields.size()) return std::nullopt;
        const auto& field = frame.def->fields[frame.index];
        if (!path.empty()) path += ".";
        path += field.name;
        for (std::size_t i = 0; i < field.type.levels.size(); ++i)
            path += ".[]";
        type = &field.type;
    }
    if (!type) return std::nullopt;
    return std::make_pair(path, type);
}

Bytes eip712_filtering(const Context& ctx, AppSession& s, std::uint8_t p1, std::uint8_t p2,
                       ByteView data) {
    auto& e = s.eip712;
    auto fail_all = [&](std::uint16_t sw) {
        s.eip712 = {};
        return reply(sw);
    };
    if (p1 > 0x01) return fail_all(kBadP1P2);
    if (p2 == 0x00) {
        if (e.implementing) return fail_all(kDenied);  // activation comes before the values
        e.filtering = true;
        return reply(kOk);
    }
    if (!e.filtering) return fail_all(kDenied);
    std::size_t pos = 0;
    auto take = [&](std::size_t n) -> std::optional<ByteView> {
        if (data.size() - pos < n) return std::nullopt;
        ByteView out = data.subspan(pos, n);
        pos += n;
        return out;
    };
    auto take_name = [&]() -> std::optional<ByteView> {
        auto length = take(1);
        if (!length) return std::nullopt;
        return take((*length)[0]);
    };
    auto take_signature = [&]() -> std::optional<ByteView> {
        auto sig = take_name();
        if (!sig || pos != data.size()) return std::nullopt;
        return sig;
    };
    if (p2 == 0x01) {  // the path of a filter for a field inside an empty array
        auto path = take_name();
        if (!path || pos != data.size()) return fail_all(kBadData);
        e.discarded_path = std::string(path->begin(), path->end());
        return reply(kOk);
    }
    // Every signature starts with the magic byte, the chain id (8 bytes BE), the verifying
    // contract and the schema hash.
    auto preimage = [&](std::uint8_t magic) {
        Bytes out{magic};
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(e.chain_id >> shift));
        out.insert(out.end(), e.contract.begin(), e.contract.end());
        const auto schema = schema_hash(s);
        out.insert(out.end(), schema.begin(), schema.end());
        return out;
    };
    if (p2 == 0x0F) {  // message info: after the domain's values, before the message's
        if (!e.root_is_domain || !e.domain_hash || !e.stack.empty()) return fail_all(kDenied);
        auto name = take_name();
        auto count = take(1);
        auto sig = take_signature();
        if (!name || !count || !sig) return fail_all(kBadData);
        Bytes signed_part = preimage(183);
        signed_part.push_back((*count)[0]);
        signed_part.insert(signed_part.end(), name->begin(), name->end());
        if (!verify_cal(ctx.config, core::sha256(signed_part), *sig)) return fail_all(kBadData);
        e.filters_expected = (*count)[0];
        e.contract_name.assign(name->begin(), name->end());
        return reply(kOk);
    }
    if (p2 != 0xFC && p2 != 0xFD && p2 != 0xFE && p2 != 0xFF) return fail_all(kBadP1P2);
    if (e.root_is_domain || e.stack.empty()) return fail_all(kDenied);  // message fields only
    std::string path;
    const FieldType* type = nullptr;
    if (p1 == 0x01) {
        if (!e.discarded_path) return fail_all(kBadData);
        path = *e.discarded_path;
        e.discarded_path.reset();
    } else {
        auto field = current_field(s);
        if (!field) return fail_all(kBadData);
        path = field->first;
        type = field->second;
    }
    std::optional<ByteView> name;
    std::optional<ByteView> token;
    std::uint8_t magic = 0;
    if (p2 == 0xFD) {
        magic = 11;
        token = take(1);
    } else {
        magic = p2 == 0xFF ? 72 : p2 == 0xFC ? 33 : 22;
        name = take_name();
        if (p2 == 0xFE) token = take(1);
    }
    auto sig = take_signature();
    if (!sig || (p2 != 0xFD && !name) || ((p2 == 0xFD || p2 == 0xFE) && !token))
        return fail_all(kBadData);
    Bytes signed_part = preimage(magic);
    signed_part.insert(signed_part.end(), path.begin(), path.end());
    if (name) signed_part.insert(signed_part.end(), name->begin(), name->end());
    if (token) signed_part.push_back((*token)[0]);
    if (!verify_cal(ctx.config, core::sha256(signed_part), *sig)) return fail_all(kBadData);
    if (type) {
        // The format must suit the field: dates and amounts are uints, a token is an address.
        const bool wants_uint = p2 == 0xFC || p2 == 0xFE;
        if (wants_uint && type->kind != FieldKind::Uint) return fail_all(kBadData);
        if (p2 == 0xFD && type->kind != FieldKind::Address) return fail_all(kBadData);
    }
    if (token) {
        const std::uint8_t index = (*token)[0];
        const bool known = index == 0xFF && p2 == 0xFE
                               ? find_token(s.tokens, e.contract) != nullptr
                               : index < kMaxTokens && !s.tokens[index].address.empty();
        if (!known) return fail_all(kBadData);  // no descriptor provided for that token
    }
    if (e.filtered_paths.insert(path).second && name && !name->empty())
        e.labels.emplace_back(name->begin(), name->end());
    return reply(kOk);
}

}  // namespace

Bytes EthApp::exchange(ByteView apdu) {
    apdus_.fetch_add(1);
    const Config config = this->config();
    Context ctx{master_, user_, config};
    auto& s = *session_;
    if (apdu.size() < 4) return reply(kBadLength);
    const std::uint8_t cla = apdu[0];
    const std::uint8_t ins = apdu[1];
    const std::uint8_t p1 = apdu[2];
    const std::uint8_t p2 = apdu[3];
    ByteView data;
    if (apdu.size() > 4) {
        if (apdu.size() != 5u + apdu[4]) return reply(kBadLength);
        data = apdu.subspan(5);
    }

    if (config.state == DeviceState::Locked) return reply(config.locked_status);
    if (cla == 0xB0) {
        if (ins == 0x01) return get_app_and_version(ctx);
        return reply(kUnknownIns);
    }
    if (config.state == DeviceState::Dashboard) return reply(config.dashboard_status);
    if (config.state == DeviceState::OtherApp) return reply(config.other_app_status);
    if (cla != 0xE0) return reply(kUnknownCla);

    // Any command other than the continuation of a multi-APDU signature ends that signature
    // (counted: a host that interleaves two requests' APDUs shows up here). The read-only
    // configuration poll is the exception (B0 01 is answered above, also without effect).
    if (ins != 0x06) {
        const bool typed_flow = ins == 0x1A || ins == 0x1C || ins == 0x1E || ins == 0x0C;
        // (token descriptors may come in the middle of a typed-data flow, for amount filters)
        const bool keeps_typed = typed_flow || ins == 0x0A;
        if ((ins != 0x04 && s.tx.active) || (ins != 0x08 && s.message.active) ||
            (!keeps_typed && s.eip712.implementing))
            interrupted_.fetch_add(1);
        if (ins != 0x04) s.tx = {};
        if (ins != 0x08) s.message = {};
        if (!keeps_typed) s.eip712 = {};
    }

    switch (ins) {
        case 0x06:
            return get_configuration(ctx, data);
        case 0x02:
            return get_address(ctx, p1, p2, data);
        case 0x0A:
            return provide_token(ctx, s, p1, p2, data);
        case 0x04:
            return sign_transaction(ctx, s, p1, p2, data);
        case 0x08:
            return sign_message(ctx, s, p1, p2, data);
        case 0x0C:
            return sign_typed(ctx, s, p1, p2, data);
        case 0x1A:
            if (config.version < AppVersion{1, 9, 19}) return reply(kUnknownIns);
            return struct_definition(s, p1, p2, data);
        case 0x1C:
            if (config.version < AppVersion{1, 9, 19}) return reply(kUnknownIns);
            return struct_implementation(s, p1, p2, data);
        case 0x1E:
            if (config.version < AppVersion{1, 9, 19}) return reply(kUnknownIns);
            return eip712_filtering(ctx, s, p1, p2, data);
        default:
            return reply(kUnknownIns);
    }
}

}  // namespace keybridge::tests::ledger_sim
