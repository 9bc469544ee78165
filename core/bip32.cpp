#include "core/bip32.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <secp256k1.h>

#include "core/assert.h"
#include "core/base58.h"
#include "core/hash.h"

namespace keybridge::core::bip32 {
namespace {

// The secp256k1 group order n, big-endian.
constexpr std::array<std::uint8_t, 32> kOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

// IL < n, compared without data-dependent branches (IL is secret for private derivation).
bool below_order(ByteView value) {
    int borrow = 0;  // value - n: a final borrow means value < n
    for (std::size_t i = value.size(); i-- > 0;) {
        const int d = static_cast<int>(value[i]) - static_cast<int>(kOrder[i]) - borrow;
        borrow = (d >> 8) & 1;
    }
    return borrow == 1;
}

void put_be32(std::uint8_t* out, std::uint32_t v) {
    out[0] = static_cast<std::uint8_t>(v >> 24);
    out[1] = static_cast<std::uint8_t>(v >> 16);
    out[2] = static_cast<std::uint8_t>(v >> 8);
    out[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get_be32(const std::uint8_t* in) {
    return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) |
           (std::uint32_t{in[2]} << 8) | std::uint32_t{in[3]};
}

// 44' or 0 for messages.
std::string format_index(std::uint32_t index) {
    return std::to_string(index & ~kHardened) + ((index & kHardened) ? "'" : "");
}

std::string hex_byte(std::uint8_t b) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%02x", b);
    return text;
}

// A path component for an error message, cut if it is long.
std::string quote_component(std::string_view component) {
    constexpr std::size_t kMaxShown = 24;
    if (component.size() <= kMaxShown) return "'" + std::string(component) + "'";
    return "'" + std::string(component.substr(0, kMaxShown)) + "...'";
}

Result<std::uint32_t> parse_component(std::string_view component, std::size_t position) {
    const std::string where = "path component " + std::to_string(position);
    if (component.empty()) return fail(ErrorCode::InvalidFormat, where + " is empty");
    std::string_view digits = component;
    bool hardened = false;
    const char last = digits.back();
    if (last == '\'' || last == 'h' || last == 'H') {
        hardened = true;
        digits.remove_suffix(1);
    }
    const bool all_digits =
        !digits.empty() &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!all_digits) {
        return fail(ErrorCode::InvalidFormat,
                    where + " " + quote_component(component) +
                        " is not a decimal index with an optional ', h or H");
    }
    if (digits.size() > 1 && digits.front() == '0') {
        return fail(ErrorCode::InvalidFormat,
                    where + " " + quote_component(component) + " has a leading zero");
    }
    // Ten digits cover every value below 2^31; check the count first so the sum cannot overflow.
    std::uint64_t value = 0;
    if (digits.size() <= 10) {
        for (const char c : digits)
            value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (digits.size() > 10 || value >= kHardened) {
        return fail(ErrorCode::OutOfRange, where + " " + quote_component(component) +
                                               ": the index must be below 2^31 (2147483648)");
    }
    return static_cast<std::uint32_t>(value) | (hardened ? kHardened : 0u);
}

}  // namespace

// ---- paths ----

Result<std::vector<std::uint32_t>> parse_path(std::string_view text) {
    if (text.empty() || text.front() != 'm') {
        return fail(ErrorCode::InvalidFormat, "path must start with 'm' (e.g. m/44'/60'/0'/0/0)");
    }
    std::vector<std::uint32_t> indices;
    if (text.size() == 1) return indices;
    if (text[1] != '/') {
        return fail(ErrorCode::InvalidFormat, "path must be 'm' or start with 'm/'");
    }
    std::string_view rest = text.substr(2);
    std::size_t position = 1;
    while (true) {
        const std::size_t slash = rest.find('/');
        const std::string_view component = rest.substr(0, slash);
        if (indices.size() == kMaxDepth) {
            return fail(ErrorCode::OutOfRange, "path has more than " + std::to_string(kMaxDepth) +
                                                   " components (the BIP32 depth limit)");
        }
        auto index = parse_component(component, position);
        if (!index) return fail(index.error());
        indices.push_back(*index);
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
        ++position;
    }
    return indices;
}

std::string format_path(std::span<const std::uint32_t> indices) {
    std::string out = "m";
    for (const std::uint32_t index : indices)
        out += "/" + format_index(index);
    return out;
}

// ---- tweaks ----

namespace detail {

Result<PrivateKey> add_tweak(const PrivateKey& parent, ByteView il) {
    if (il.size() != 32) return fail(ErrorCode::InvalidArgument, "IL must be 32 bytes");
    if (!below_order(il)) {
        return fail(ErrorCode::CryptoFailure, "IL is not below the curve order n");
    }
    SecretBuffer key = SecretBuffer::copy_of(parent.view());
    const int tweaked = secp256k1_ec_seckey_tweak_add(secp256k1_ctx(), key.data(), il.data());
    wipe_stack();  // the library's scalar copies of the parent and child keys
    if (tweaked != 1) return fail(ErrorCode::CryptoFailure, "the derived private key is zero");
    return PrivateKey::from_bytes(key.view());
}

Result<PublicKey> add_tweak(const PublicKey& parent, ByteView il) {
    if (il.size() != 32) return fail(ErrorCode::InvalidArgument, "IL must be 32 bytes");
    if (!below_order(il)) {
        return fail(ErrorCode::CryptoFailure, "IL is not below the curve order n");
    }
    const auto sec = parent.uncompressed();
    secp256k1_pubkey point;
    // parent is a PublicKey, so it was validated when it was made.
    KEYBRIDGE_ASSERT(secp256k1_ec_pubkey_parse(secp256k1_ctx(), &point, sec.data(), sec.size()) ==
                     1);
    if (secp256k1_ec_pubkey_tweak_add(secp256k1_ctx(), &point, il.data()) != 1) {
        return fail(ErrorCode::CryptoFailure, "the derived public key is the point at infinity");
    }
    std::array<std::uint8_t, 65> out{};
    std::size_t len = out.size();
    KEYBRIDGE_ASSERT(secp256k1_ec_pubkey_serialize(secp256k1_ctx(), out.data(), &len, &point,
                                                   SECP256K1_EC_UNCOMPRESSED) == 1);
    return PublicKey::parse(out);
}

}  // namespace detail

// ---- keys ----

ExtendedKey::ExtendedKey(std::uint8_t depth, const Fingerprint& parent, std::uint32_t child,
                         SecretBuffer chain_code, std::optional<PrivateKey> private_key,
                         const PublicKey& public_key)
    : depth_(depth),
      parent_fingerprint_(parent),
      child_number_(child),
      chain_code_(std::move(chain_code)),
      private_key_(std::move(private_key)),
      public_key_(public_key) {
    KEYBRIDGE_ASSERT(chain_code_.size() == 32);
}

Result<ExtendedKey> ExtendedKey::from_seed(ByteView seed) {
    if (seed.size() < 16 || seed.size() > 64) {
        return fail(ErrorCode::InvalidArgument,
                    "BIP32 seed must be 16 to 64 bytes, got " + std::to_string(seed.size()));
    }
    Hash64 i = hmac_sha512(as_bytes("Bitcoin seed"), seed);
    ScopedWipe wipe(i);
    auto key = PrivateKey::from_bytes(ByteView(i).first(32));
    if (!key) {
        return fail(ErrorCode::CryptoFailure,
                    "this seed gives an invalid master key (IL is 0 or >= n); use another seed");
    }
    const PublicKey pub = PublicKey::from_private(*key);
    return ExtendedKey(0, Fingerprint{}, 0, SecretBuffer::copy_of(ByteView(i).subspan(32)),
                       std::move(*key), pub);
}

Result<ExtendedKey> ExtendedKey::derive_child(std::uint32_t index) const {
    const bool hardened = (index & kHardened) != 0;
    if (hardened && !is_private()) {
        return fail(ErrorCode::InvalidArgument,
                    "cannot derive hardened child " + format_index(index) + " from a public key");
    }
    if (depth_ == kMaxDepth) {
        return fail(ErrorCode::OutOfRange,
                    "cannot derive below depth " + std::to_string(kMaxDepth));
    }
    // data = 0x00 || k || ser32(i) (hardened) or serP(K) || ser32(i): secret in the first case.
    SecretBuffer data(37);
    if (hardened) {
        std::memcpy(data.data() + 1, private_key_->data(), 32);
    } else {
        const auto compressed = public_key_.compressed();
        std::memcpy(data.data(), compressed.data(), compressed.size());
    }
    put_be32(data.data() + 33, index);
    Hash64 i = hmac_sha512(chain_code_.view(), data.view());
    ScopedWipe wipe(i);
    const ByteView il = ByteView(i).first(32);
    SecretBuffer child_chain = SecretBuffer::copy_of(ByteView(i).subspan(32));

    const auto invalid_child = [&](const Error& e) {
        return fail(ErrorCode::CryptoFailure, "child " + format_index(index) + " is invalid (" +
                                                  e.detail + "); BIP32 says to use the next index");
    };
    if (is_private()) {
        auto child = detail::add_tweak(*private_key_, il);
        if (!child) return invalid_child(child.error());
        const PublicKey pub = PublicKey::from_private(*child);
        return ExtendedKey(static_cast<std::uint8_t>(depth_ + 1), fingerprint(), index,
                           std::move(child_chain), std::move(*child), pub);
    }
    auto child = detail::add_tweak(public_key_, il);
    if (!child) return invalid_child(child.error());
    return ExtendedKey(static_cast<std::uint8_t>(depth_ + 1), fingerprint(), index,
                       std::move(child_chain), std::nullopt, *child);
}

Result<ExtendedKey> ExtendedKey::derive_path(std::span<const std::uint32_t> indices) const {
    ExtendedKey current = clone();
    for (std::size_t step = 0; step < indices.size(); ++step) {
        auto next = current.derive_child(indices[step]);
        if (!next) {
            return fail(next.error().code, "path step " + std::to_string(step + 1) + " (" +
                                               format_index(indices[step]) +
                                               "): " + next.error().detail);
        }
        current = std::move(*next);
    }
    return current;
}

Result<ExtendedKey> ExtendedKey::derive_path(std::string_view path) const {
    auto indices = parse_path(path);
    if (!indices) return fail(indices.error());
    return derive_path(*indices);
}

ExtendedKey ExtendedKey::clone() const {
    std::optional<PrivateKey> key;
    if (private_key_) {
        auto copy = PrivateKey::from_bytes(private_key_->view());
        KEYBRIDGE_ASSERT(copy.has_value());  // it was valid when this key was made
        key.emplace(std::move(*copy));
    }
    return ExtendedKey(depth_, parent_fingerprint_, child_number_,
                       SecretBuffer::copy_of(chain_code_.view()), std::move(key), public_key_);
}

ExtendedKey ExtendedKey::to_public() const {
    return ExtendedKey(depth_, parent_fingerprint_, child_number_,
                       SecretBuffer::copy_of(chain_code_.view()), std::nullopt, public_key_);
}

Fingerprint ExtendedKey::fingerprint() const {
    const auto compressed = public_key_.compressed();
    const Hash20 id = ripemd160(sha256(compressed));
    Fingerprint out{};
    std::memcpy(out.data(), id.data(), out.size());
    return out;
}

SecretBuffer ExtendedKey::serialize(bool as_private) const {
    SecretBuffer out(kSerializedSize);
    std::uint8_t* p = out.data();
    put_be32(p, as_private ? kVersionXprv : kVersionXpub);
    p[4] = depth_;
    std::memcpy(p + 5, parent_fingerprint_.data(), 4);
    put_be32(p + 9, child_number_);
    std::memcpy(p + 13, chain_code_.data(), 32);
    if (as_private) {
        p[45] = 0x00;
        std::memcpy(p + 46, private_key_->data(), 32);
    } else {
        const auto compressed = public_key_.compressed();
        std::memcpy(p + 45, compressed.data(), compressed.size());
    }
    return out;
}

std::string ExtendedKey::to_xpub() const {
    return base58check_encode(serialize(false).view());
}

Result<SecretBuffer> ExtendedKey::to_xprv() const {
    if (!is_private()) {
        return fail(ErrorCode::InvalidArgument, "this extended key has no private key");
    }
    return base58check_encode_secret(serialize(true).view());
}

Result<ExtendedKey> ExtendedKey::parse(std::string_view text) {
    auto decoded = base58check_decode(text);
    if (!decoded) {
        return fail(decoded.error().code, "extended key: " + decoded.error().detail);
    }
    if (decoded->size() != kSerializedSize) {
        return fail(ErrorCode::InvalidFormat, "extended key must decode to " +
                                                  std::to_string(kSerializedSize) + " bytes, got " +
                                                  std::to_string(decoded->size()));
    }
    const std::uint8_t* p = decoded->data();
    const std::uint32_t version = get_be32(p);
    if (version != kVersionXprv && version != kVersionXpub) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%08x", version);
        return fail(ErrorCode::InvalidFormat,
                    std::string("unknown extended key version ") + hex +
                        " (only mainnet xprv 0x0488ade4 and xpub 0x0488b21e are accepted)");
    }
    const bool is_xprv = version == kVersionXprv;
    const std::uint8_t depth = p[4];
    Fingerprint parent{};
    std::memcpy(parent.data(), p + 5, 4);
    const std::uint32_t child = get_be32(p + 9);
    if (depth == 0 && parent != Fingerprint{}) {
        return fail(ErrorCode::InvalidFormat,
                    "extended key has depth 0 (master) but a non-zero parent fingerprint");
    }
    if (depth == 0 && child != 0) {
        return fail(ErrorCode::InvalidFormat,
                    "extended key has depth 0 (master) but a non-zero child number");
    }
    SecretBuffer chain_code = SecretBuffer::copy_of(decoded->view().subspan(13, 32));
    const ByteView key_data = decoded->view().subspan(45, 33);

    if (is_xprv) {
        if (key_data[0] != 0x00) {
            return fail(ErrorCode::InvalidFormat,
                        "xprv key data must be 0x00 followed by the private key, but starts with " +
                            hex_byte(key_data[0]));
        }
        auto key = PrivateKey::from_bytes(key_data.subspan(1));
        if (!key) {
            return fail(ErrorCode::InvalidFormat,
                        "xprv private key is zero or not below the curve order");
        }
        const PublicKey pub = PublicKey::from_private(*key);
        return ExtendedKey(depth, parent, child, std::move(chain_code), std::move(*key), pub);
    }
    if (key_data[0] != 0x02 && key_data[0] != 0x03) {
        return fail(ErrorCode::InvalidFormat,
                    "xpub key data must be a compressed public key (02 or 03 first), but starts "
                    "with " +
                        hex_byte(key_data[0]));
    }
    auto pub = PublicKey::parse(key_data);
    if (!pub) {
        return fail(ErrorCode::InvalidFormat, "xpub public key is not a point on secp256k1");
    }
    return ExtendedKey(depth, parent, child, std::move(chain_code), std::nullopt, *pub);
}

// ---- Ethereum ----

Result<PrivateKey> ethereum_private_key(ByteView seed, std::string_view path) {
    auto master = ExtendedKey::from_seed(seed);
    if (!master) return fail(master.error());
    auto node = master->derive_path(path);
    if (!node) return fail(node.error());
    return PrivateKey::from_bytes(node->private_key()->view());
}

Result<Address> ethereum_address(ByteView seed, std::string_view path) {
    auto master = ExtendedKey::from_seed(seed);
    if (!master) return fail(master.error());
    auto node = master->derive_path(path);
    if (!node) return fail(node.error());
    return node->address();
}

}  // namespace keybridge::core::bip32
