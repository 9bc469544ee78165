#include "core/keystore.h"

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <utility>

#include <boost/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "core/hash.h"
#include "core/secp256k1.h"

namespace keybridge::core {
namespace {

namespace json = boost::json;

constexpr std::string_view kCipher = "aes-128-ctr";
constexpr std::string_view kPrf = "hmac-sha256";
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kSaltBytes = 32;
constexpr std::size_t kPrivateKeyBytes = 32;
constexpr std::size_t kMaxSecretBytes = std::size_t{1} << 20;
constexpr std::uint64_t kVersion = 3;
constexpr std::string_view kMacMismatch = "wrong password or corrupted keystore (MAC mismatch)";

// A name read from the file, made safe to put into an error detail: short and printable.
std::string shown(std::string_view text) {
    constexpr std::size_t kMax = 32;
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
        const char c = text[i];
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (text.size() > kMax) out += "...";
    return out + "\"";
}

std::string join(std::string_view prefix, std::string_view key) {
    std::string out(prefix);
    if (!out.empty()) out += '.';
    return out + std::string(key);
}

// ---- JSON access: every failure names the field by its path ----

Result<json::object> parse_object(std::string_view text, std::string_view what) {
    json::stream_parser parser;
    boost::system::error_code ec;
    const std::size_t used = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        return fail(ErrorCode::InvalidFormat, std::string(what) + " JSON is malformed at byte " +
                                                  std::to_string(used) + ": " + ec.message());
    }
    json::value value = parser.release();
    if (!value.is_object()) {
        return fail(ErrorCode::InvalidFormat, std::string(what) + " JSON must be an object");
    }
    return std::move(value.as_object());
}

Result<const json::value*> field(const json::object& object, std::string_view key,
                                 std::string_view path) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr) {
        return fail(ErrorCode::InvalidFormat, "missing field \"" + std::string(path) + "\"");
    }
    return value;
}

Result<const json::object*> object_field(const json::object& object, std::string_view key,
                                         std::string_view path) {
    auto value = field(object, key, path);
    if (!value) return fail(value.error());
    if (!(*value)->is_object()) {
        return fail(ErrorCode::InvalidFormat,
                    "field \"" + std::string(path) + "\" must be a JSON object");
    }
    return &(*value)->get_object();
}

Result<std::string_view> string_field(const json::object& object, std::string_view key,
                                      std::string_view path) {
    auto value = field(object, key, path);
    if (!value) return fail(value.error());
    if (!(*value)->is_string()) {
        return fail(ErrorCode::InvalidFormat,
                    "field \"" + std::string(path) + "\" must be a string");
    }
    const json::string& s = (*value)->get_string();
    return std::string_view(s.data(), s.size());
}

Result<std::uint64_t> uint_field(const json::object& object, std::string_view key,
                                 std::string_view path) {
    auto value = field(object, key, path);
    if (!value) return fail(value.error());
    if ((*value)->is_uint64()) return (*value)->get_uint64();
    if ((*value)->is_int64()) {
        const std::int64_t v = (*value)->get_int64();
        if (v < 0) {
            return fail(ErrorCode::OutOfRange,
                        "field \"" + std::string(path) + "\" must not be negative");
        }
        return static_cast<std::uint64_t>(v);
    }
    // Doubles too: no keystore writer emits 262144.0 or 2.6e5, and accepting them would mean
    // deciding how to round.
    return fail(ErrorCode::InvalidFormat, "field \"" + std::string(path) + "\" must be an integer");
}

Result<Bytes> hex_field(const json::object& object, std::string_view key, std::string_view path) {
    auto text = string_field(object, key, path);
    if (!text) return fail(text.error());
    auto bytes = hex_decode(*text, HexPrefix::Optional);
    if (!bytes) {
        return fail(ErrorCode::InvalidFormat,
                    "field \"" + std::string(path) + "\": " + bytes.error().detail);
    }
    return bytes;
}

Result<Bytes> hex_field_sized(const json::object& object, std::string_view key,
                              std::string_view path, std::size_t size) {
    auto bytes = hex_field(object, key, path);
    if (!bytes) return bytes;
    if (bytes->size() != size) {
        return fail(ErrorCode::InvalidFormat, "field \"" + std::string(path) + "\" must be " +
                                                  std::to_string(size) + " bytes, got " +
                                                  std::to_string(bytes->size()));
    }
    return bytes;
}

// ---- the crypto object ----

struct CryptoBox {
    Bytes iv;
    Bytes ciphertext;
    Bytes mac;
    KdfParams kdf;
};

Result<KdfParams> parse_kdf(const json::object& crypto, std::string_view prefix) {
    const std::string kdf_path = join(prefix, "kdf");
    auto name = string_field(crypto, "kdf", kdf_path);
    if (!name) return fail(name.error());
    const std::string params_path = join(prefix, "kdfparams");
    auto params = object_field(crypto, "kdfparams", params_path);
    if (!params) return fail(params.error());
    const json::object& p = **params;
    auto path = [&](std::string_view key) { return join(params_path, key); };

    KdfParams out;
    if (*name == "scrypt") {
        ScryptParams s;
        auto n = uint_field(p, "n", path("n"));
        if (!n) return fail(n.error());
        auto r = uint_field(p, "r", path("r"));
        if (!r) return fail(r.error());
        auto pp = uint_field(p, "p", path("p"));
        if (!pp) return fail(pp.error());
        s.n = *n;
        s.r = *r;
        s.p = *pp;
        out.function = s;
    } else if (*name == "pbkdf2") {
        auto prf = string_field(p, "prf", path("prf"));
        if (!prf) return fail(prf.error());
        if (*prf != kPrf) {
            return fail(ErrorCode::NotSupported,
                        "pbkdf2 prf " + shown(*prf) + " is not supported (only hmac-sha256)");
        }
        auto c = uint_field(p, "c", path("c"));
        if (!c) return fail(c.error());
        out.function = Pbkdf2Params{*c};
    } else {
        return fail(ErrorCode::NotSupported,
                    "kdf " + shown(*name) + " is not supported (only scrypt and pbkdf2)");
    }
    auto dklen = uint_field(p, "dklen", path("dklen"));
    if (!dklen) return fail(dklen.error());
    out.dklen = *dklen;
    auto salt = hex_field(p, "salt", path("salt"));
    if (!salt) return fail(salt.error());
    if (salt->empty()) {
        return fail(ErrorCode::InvalidFormat, "field \"" + path("salt") + "\" must not be empty");
    }
    out.salt = std::move(*salt);
    return out;
}

// Reads and checks every field of a crypto object, so that nothing can fail for format reasons
// once the (expensive) KDF has run. `prefix` is the object's path for error details.
Result<CryptoBox> parse_crypto(const json::object& crypto, std::string_view prefix,
                               std::size_t max_plaintext, std::string_view plaintext_kind) {
    CryptoBox box;
    auto cipher = string_field(crypto, "cipher", join(prefix, "cipher"));
    if (!cipher) return fail(cipher.error());
    if (*cipher != kCipher) {
        return fail(ErrorCode::NotSupported,
                    "cipher " + shown(*cipher) + " is not supported (only aes-128-ctr)");
    }
    const std::string cipherparams_path = join(prefix, "cipherparams");
    auto cipherparams = object_field(crypto, "cipherparams", cipherparams_path);
    if (!cipherparams) return fail(cipherparams.error());
    auto iv = hex_field_sized(**cipherparams, "iv", join(cipherparams_path, "iv"), kIvBytes);
    if (!iv) return fail(iv.error());
    box.iv = std::move(*iv);

    const std::string ciphertext_path = join(prefix, "ciphertext");
    auto ciphertext = hex_field(crypto, "ciphertext", ciphertext_path);
    if (!ciphertext) return fail(ciphertext.error());
    if (ciphertext->empty()) {
        return fail(ErrorCode::InvalidFormat,
                    "field \"" + ciphertext_path + "\" must not be empty");
    }
    if (ciphertext->size() > max_plaintext) {
        return fail(ErrorCode::InvalidFormat,
                    "field \"" + ciphertext_path + "\": " + std::string(plaintext_kind) +
                        " is at most " + std::to_string(max_plaintext) + " bytes, got " +
                        std::to_string(ciphertext->size()));
    }
    box.ciphertext = std::move(*ciphertext);

    auto kdf = parse_kdf(crypto, prefix);
    if (!kdf) return fail(kdf.error());
    box.kdf = std::move(*kdf);

    auto mac = hex_field_sized(crypto, "mac", join(prefix, "mac"), kMacBytes);
    if (!mac) return fail(mac.error());
    box.mac = std::move(*mac);
    return box;
}

// AES-128-CTR over in -> out (same length; CTR encryption and decryption are the same operation).
// The counter is the whole 128-bit iv, incremented big-endian with wrap-around, as in Go's
// cipher.NewCTR (the "evilnonce" vector's all-ones iv depends on it).
Status aes_128_ctr(ByteView key, ByteView iv, ByteView in, std::uint8_t* out) {
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                        &EVP_CIPHER_CTX_free);
    int len = 0;
    int tail = 0;
    // EVP_CIPHER_CTX_free cleanses the expanded key schedule.
    const bool ok =
        ctx != nullptr &&
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ctr(), nullptr, key.data(), iv.data()) == 1 &&
        EVP_EncryptUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) == 1 &&
        static_cast<std::size_t>(len) == in.size() &&
        EVP_EncryptFinal_ex(ctx.get(), out + len, &tail) == 1 && tail == 0;
    if (!ok) {
        ERR_clear_error();
        return fail(ErrorCode::CryptoFailure, "AES-128-CTR failed");
    }
    return {};
}

Hash32 compute_mac(const SecretBuffer& derived, ByteView ciphertext) {
    Keccak256 hash;  // its state is a Crypto++ SecBlock, wiped when destroyed
    hash.update(derived.view().subspan(16, 16)).update(ciphertext);
    return hash.finish();
}

// Runs the KDF, checks the MAC and decrypts into a buffer of out_size bytes, right-aligned (the
// zeros in front are geth's padding of short keys).
Result<SecretBuffer> open_box(const CryptoBox& box, ByteView password, const KdfLimits& limits,
                              std::size_t out_size) {
    auto derived = derive_key(box.kdf, password, limits);
    if (!derived) return fail(derived.error());
    const Hash32 mac = compute_mac(*derived, box.ciphertext);
    if (!constant_time_equal(mac, box.mac)) {
        return fail(ErrorCode::WrongPassword, std::string(kMacMismatch));
    }
    SecretBuffer plaintext(out_size);
    KEYBRIDGE_TRY_STATUS(aes_128_ctr(derived->view().first(16), box.iv, box.ciphertext,
                                     plaintext.data() + (out_size - box.ciphertext.size())));
    return plaintext;
}

// Encrypts plaintext into a crypto object with geth's field order (Go marshals the struct fields
// in declaration order and the kdfparams map with sorted keys).
Result<json::object> seal(ByteView plaintext, ByteView password, const ScryptParams& params) {
    KdfParams kdf{params, Bytes(kSaltBytes), 32};
    KEYBRIDGE_TRY_STATUS(check_kdf_params(kdf));  // before spending entropy or time
    KEYBRIDGE_TRY_STATUS(random_bytes(kdf.salt));
    Bytes iv(kIvBytes);
    KEYBRIDGE_TRY_STATUS(random_bytes(iv));
    auto derived = derive_key(kdf, password);
    if (!derived) return fail(derived.error());
    Bytes ciphertext(plaintext.size());
    KEYBRIDGE_TRY_STATUS(aes_128_ctr(derived->view().first(16), iv, plaintext, ciphertext.data()));
    const Hash32 mac = compute_mac(*derived, ciphertext);

    json::object kdfparams;
    kdfparams["dklen"] = kdf.dklen;
    kdfparams["n"] = params.n;
    kdfparams["p"] = params.p;
    kdfparams["r"] = params.r;
    kdfparams["salt"] = hex_encode(kdf.salt, false);
    json::object cipherparams;
    cipherparams["iv"] = hex_encode(iv, false);
    json::object crypto;
    crypto["cipher"] = kCipher;
    crypto["ciphertext"] = hex_encode(ciphertext, false);
    crypto["cipherparams"] = std::move(cipherparams);
    crypto["kdf"] = "scrypt";
    crypto["kdfparams"] = std::move(kdfparams);
    crypto["mac"] = hex_encode(mac, false);
    return crypto;
}

Result<std::string> random_uuid_v4() {
    std::array<std::uint8_t, 16> b{};
    KEYBRIDGE_TRY_STATUS(random_bytes(b));
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    const std::string h = hex_encode(b, false);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

}  // namespace

Result<DecryptedKeystore> decrypt_keystore(std::string_view json_text, ByteView password,
                                           const KdfLimits& limits) {
    auto root = parse_object(json_text, "keystore");
    if (!root) return fail(root.error());

    auto version = uint_field(*root, "version", "version");
    if (!version) return fail(version.error());
    if (*version != kVersion) {
        return fail(ErrorCode::NotSupported,
                    "keystore version " + std::to_string(*version) + " is not supported (only 3)");
    }

    // geth once wrote "Crypto"; Go's case-insensitive field matching still reads it.
    const json::value* lower = root->if_contains("crypto");
    const json::value* upper = root->if_contains("Crypto");
    if (lower != nullptr && upper != nullptr) {
        return fail(ErrorCode::InvalidFormat, "both \"crypto\" and \"Crypto\" are present");
    }
    const std::string_view crypto_key = upper != nullptr ? "Crypto" : "crypto";
    auto crypto = object_field(*root, crypto_key, crypto_key);
    if (!crypto) return fail(crypto.error());

    std::optional<Address> address;
    if (const json::value* a = root->if_contains("address"); a != nullptr && !a->is_null()) {
        auto raw = hex_field_sized(*root, "address", "address", 20);
        if (!raw) return fail(raw.error());
        Address::Raw bytes{};
        std::copy(raw->begin(), raw->end(), bytes.begin());
        address = Address(bytes);
    }

    auto box = parse_crypto(**crypto, crypto_key, kPrivateKeyBytes, "a private key");
    if (!box) return fail(box.error());
    auto key = open_box(*box, password, limits, kPrivateKeyBytes);
    if (!key) return fail(key.error());

    auto private_key = PrivateKey::from_bytes(key->view());
    if (!private_key) {
        return fail(ErrorCode::InvalidFormat,
                    "the decrypted key is not a valid secp256k1 private key");
    }
    if (address && *address != PublicKey::from_private(*private_key).address()) {
        return fail(ErrorCode::InvalidFormat, "address field does not match the decrypted key");
    }
    return DecryptedKeystore{std::move(*key), address};
}

Result<std::string> encrypt_keystore(ByteView private_key, ByteView password,
                                     const ScryptParams& params) {
    auto key = PrivateKey::from_bytes(private_key);
    if (!key) return fail(key.error());
    const Address address = PublicKey::from_private(*key).address();
    auto crypto = seal(key->view(), password, params);
    if (!crypto) return fail(crypto.error());
    auto id = random_uuid_v4();
    if (!id) return fail(id.error());

    json::object doc;
    doc["address"] = hex_encode(address.view(), false);
    doc["crypto"] = std::move(*crypto);
    doc["id"] = *id;
    doc["version"] = kVersion;
    return json::serialize(doc);
}

Result<std::string> encrypt_secret(ByteView plaintext, ByteView password,
                                   const ScryptParams& params) {
    if (plaintext.empty() || plaintext.size() > kMaxSecretBytes) {
        return fail(ErrorCode::InvalidArgument,
                    "a secret to encrypt must be 1 to " + std::to_string(kMaxSecretBytes) +
                        " bytes, got " + std::to_string(plaintext.size()));
    }
    auto crypto = seal(plaintext, password, params);
    if (!crypto) return fail(crypto.error());
    return json::serialize(*crypto);
}

Result<SecretBuffer> decrypt_secret(std::string_view json_text, ByteView password,
                                    const KdfLimits& limits) {
    auto root = parse_object(json_text, "encrypted secret");
    if (!root) return fail(root.error());
    auto box = parse_crypto(*root, "", kMaxSecretBytes, "a secret");
    if (!box) return fail(box.error());
    return open_box(*box, password, limits, box->ciphertext.size());
}

}  // namespace keybridge::core
