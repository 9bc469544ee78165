#include "core/keystore.h"

#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/secp256k1.h"
#include "test_data.h"

namespace keybridge::core {
namespace {

namespace json = boost::json;

std::string text_of(const json::value& v) {
    return std::string(v.as_string());
}

// "0x"-less, lower-case, left-padded to 32 bytes: the form a decrypted key must have.
std::string padded_key_hex(std::string hex) {
    if (hex.rfind("0x", 0) == 0) hex = hex.substr(2);
    for (char& c : hex)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return std::string(64 - hex.size(), '0') + hex;
}

Address address_of(const SecretBuffer& key) {
    auto private_key = PrivateKey::from_bytes(key.view());
    EXPECT_TRUE(private_key);
    if (!private_key) return Address{};
    return PublicKey::from_private(*private_key).address();
}

template <typename T>
void expect_error(const Result<T>& result, ErrorCode code, const std::string& fragment) {
    ASSERT_FALSE(result) << "expected " << to_string(code) << " mentioning '" << fragment << "'";
    EXPECT_EQ(result.error().code, code) << result.error().to_string();
    EXPECT_NE(result.error().detail.find(fragment), std::string::npos)
        << "detail '" << result.error().detail << "' should mention '" << fragment << "'";
}

// The ethereum/tests and geth files share one layout: { name: { json, password, priv } }.
// Returns how many cases decrypted to priv; every case must.
int check_name_json_password_priv_file(const std::string& file) {
    const json::value data = test::load_json(file);
    int passed = 0;
    for (const auto& [name, entry] : data.as_object()) {
        SCOPED_TRACE(file + " / " + std::string(name));
        const json::object& c = entry.as_object();
        const std::string keystore = json::serialize(c.at("json"));
        const std::string password = text_of(c.at("password"));
        auto result = decrypt_keystore(keystore, as_bytes(password));
        if (!result) {
            ADD_FAILURE() << result.error().to_string();
            continue;
        }
        EXPECT_EQ(result->private_key.size(), 32u);
        EXPECT_EQ(hex_encode(result->private_key.view(), false),
                  padded_key_hex(text_of(c.at("priv"))));
        const json::object& ks = c.at("json").as_object();
        if (const auto* a = ks.if_contains("address")) {
            if (!result->address) {
                ADD_FAILURE() << "the address field was not returned";
                continue;
            }
            EXPECT_EQ(hex_encode(result->address->view(), false), text_of(*a));
            EXPECT_EQ(*result->address, address_of(result->private_key));
        } else {
            EXPECT_FALSE(result->address);
        }
        ++passed;
    }
    return passed;
}

TEST(KeystoreVectors, EthereumTestsBasicTestsAllDecrypt) {
    // test1/test2 are the spec's examples; test2 is scrypt N=2^18 with r=1, p=8, which OpenSSL
    // refuses, so this also proves the Crypto++ path.
    EXPECT_EQ(check_name_json_password_priv_file("ethereum-tests-basic_tests.json"), 5);
}

TEST(KeystoreVectors, GethVectorsAllDecryptAndPadShortKeys) {
    EXPECT_EQ(check_name_json_password_priv_file("geth-v3_test_vector.json"), 4);

    // The 31- and 30-byte plaintexts come back left-padded with zeros to 32 bytes.
    const json::value data = test::load_json("geth-v3_test_vector.json");
    for (const char* name : {"31_byte_key", "30_byte_key"}) {
        SCOPED_TRACE(name);
        const json::object& c = data.at(name).as_object();
        auto result = decrypt_keystore(json::serialize(c.at("json")), as_bytes("foo"));
        ASSERT_TRUE(result) << result.error().to_string();
        const std::string short_hex = text_of(c.at("priv"));
        const std::size_t zeros = 32 - short_hex.size() / 2;
        for (std::size_t i = 0; i < zeros; ++i)
            EXPECT_EQ(result->private_key.data()[i], 0);
        EXPECT_EQ(hex_encode(result->private_key.view().subspan(zeros), false), short_hex);
    }
}

TEST(KeystoreVectors, EthersWalletsAllDecrypt) {
    // geth, parity and ethers files: "Crypto" casing, missing address, an x-ethers block, extra
    // "name"/"meta" fields, an upper-case id, and the empty password (given as "0x").
    const json::value data = test::load_json("ethers-testcases-wallets-keystore.json");
    int passed = 0;
    for (const auto& entry : data.at("cases").as_array()) {
        const json::object& c = entry.as_object();
        SCOPED_TRACE(text_of(c.at("name")));
        auto password = hex_decode(text_of(c.at("password")), HexPrefix::Required);
        ASSERT_TRUE(password);
        const std::string utf8 = text_of(c.at("password_utf8"));
        EXPECT_EQ(std::string(password->begin(), password->end()), utf8);

        const std::string content = text_of(c.at("content"));
        auto result = decrypt_keystore(content, *password);
        if (!result) {
            ADD_FAILURE() << result.error().to_string();
            continue;
        }
        EXPECT_EQ(hex_encode(result->private_key.view(), false),
                  padded_key_hex(text_of(c.at("derived").at("privateKey"))));
        const Address derived = address_of(result->private_key);
        EXPECT_EQ(derived.to_checksum_string(), text_of(c.at("address")));
        const bool has_address = content.find("\"address\"") != std::string::npos;
        EXPECT_EQ(result->address.has_value(), has_address);
        if (result->address) {
            EXPECT_EQ(*result->address, derived);
        }
        ++passed;
    }
    EXPECT_EQ(passed, 7);
}

TEST(KeystoreVectors, DecryptSecretReadsAVectorsBareCryptoObject) {
    // decrypt_secret takes the crypto object alone; a keystore's is a valid one (here pbkdf2).
    const json::value data = test::load_json("ethereum-tests-basic_tests.json");
    const json::object& c = data.at("evilnonce").as_object();
    auto secret = decrypt_secret(json::serialize(c.at("json").at("crypto")), as_bytes("bar"));
    ASSERT_TRUE(secret) << secret.error().to_string();
    EXPECT_EQ(hex_encode(secret->view(), false), text_of(c.at("priv")));
}

// ---- encryption ----

TEST(KeystoreEncrypt, RoundTripsWithLightParameters) {
    auto key = PrivateKey::generate();
    ASSERT_TRUE(key);
    auto text = encrypt_keystore(key->view(), as_bytes("correct horse"), kScryptLight);
    ASSERT_TRUE(text) << text.error().to_string();
    auto back = decrypt_keystore(*text, as_bytes("correct horse"));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_TRUE(constant_time_equal(back->private_key.view(), key->view()));
    ASSERT_TRUE(back->address);
    EXPECT_EQ(*back->address, PublicKey::from_private(*key).address());
}

TEST(KeystoreEncrypt, RoundTripsWithStandardParameters) {
    auto key = PrivateKey::generate();
    ASSERT_TRUE(key);
    auto text = encrypt_keystore(key->view(), as_bytes("pw"));  // default: N=2^18, r=8, p=1
    ASSERT_TRUE(text) << text.error().to_string();
    const json::value doc = json::parse(*text);
    EXPECT_EQ(doc.at("crypto").at("kdfparams").at("n").to_number<std::uint64_t>(), 262144u);
    EXPECT_EQ(doc.at("crypto").at("kdfparams").at("r").to_number<std::uint64_t>(), 8u);
    EXPECT_EQ(doc.at("crypto").at("kdfparams").at("p").to_number<std::uint64_t>(), 1u);
    auto back = decrypt_keystore(*text, as_bytes("pw"));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_TRUE(constant_time_equal(back->private_key.view(), key->view()));
}

std::vector<std::string> keys_in_order(const json::object& object) {
    std::vector<std::string> out;
    for (const auto& kv : object)
        out.emplace_back(kv.key());
    return out;
}

TEST(KeystoreEncrypt, WritesGethFieldNamesOrderAndLowerCaseHex) {
    auto key = PrivateKey::generate();
    ASSERT_TRUE(key);
    auto text = encrypt_keystore(key->view(), as_bytes("pw"), kScryptLight);
    ASSERT_TRUE(text) << text.error().to_string();
    EXPECT_EQ(text->find_first_of(" \n\t"), std::string::npos) << "geth writes one compact line";

    const json::object doc = json::parse(*text).as_object();
    using V = std::vector<std::string>;
    EXPECT_EQ(keys_in_order(doc), (V{"address", "crypto", "id", "version"}));
    const json::object& crypto = doc.at("crypto").as_object();
    EXPECT_EQ(keys_in_order(crypto),
              (V{"cipher", "ciphertext", "cipherparams", "kdf", "kdfparams", "mac"}));
    const json::object& kdfparams = crypto.at("kdfparams").as_object();
    EXPECT_EQ(keys_in_order(kdfparams), (V{"dklen", "n", "p", "r", "salt"}));

    const std::regex hex40("^[0-9a-f]{40}$"), hex32("^[0-9a-f]{32}$"), hex64("^[0-9a-f]{64}$");
    const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    EXPECT_TRUE(std::regex_match(text_of(doc.at("address")), hex40));
    EXPECT_EQ(text_of(doc.at("address")),
              hex_encode(PublicKey::from_private(*key).address().view(), false));
    EXPECT_TRUE(std::regex_match(text_of(doc.at("id")), uuid4)) << doc.at("id");
    EXPECT_TRUE(doc.at("version").is_int64() || doc.at("version").is_uint64());
    EXPECT_EQ(doc.at("version").to_number<int>(), 3);
    EXPECT_EQ(text_of(crypto.at("cipher")), "aes-128-ctr");
    EXPECT_EQ(text_of(crypto.at("kdf")), "scrypt");
    EXPECT_TRUE(std::regex_match(text_of(crypto.at("ciphertext")), hex64));
    EXPECT_TRUE(std::regex_match(text_of(crypto.at("cipherparams").at("iv")), hex32));
    EXPECT_TRUE(std::regex_match(text_of(crypto.at("mac")), hex64));
    EXPECT_TRUE(std::regex_match(text_of(kdfparams.at("salt")), hex64));
    EXPECT_EQ(kdfparams.at("dklen").to_number<int>(), 32);
    EXPECT_EQ(kdfparams.at("n").to_number<int>(), 4096);
    EXPECT_EQ(kdfparams.at("r").to_number<int>(), 8);
    EXPECT_EQ(kdfparams.at("p").to_number<int>(), 1);
}

TEST(KeystoreEncrypt, UsesFreshSaltIvAndIdEachTime) {
    auto key = PrivateKey::generate();
    ASSERT_TRUE(key);
    auto a = encrypt_keystore(key->view(), as_bytes("pw"), kScryptLight);
    auto b = encrypt_keystore(key->view(), as_bytes("pw"), kScryptLight);
    ASSERT_TRUE(a && b);
    const json::value da = json::parse(*a), db = json::parse(*b);
    EXPECT_NE(da.at("id"), db.at("id"));
    EXPECT_NE(da.at("crypto").at("kdfparams").at("salt"),
              db.at("crypto").at("kdfparams").at("salt"));
    EXPECT_NE(da.at("crypto").at("cipherparams").at("iv"),
              db.at("crypto").at("cipherparams").at("iv"));
    EXPECT_NE(da.at("crypto").at("ciphertext"), db.at("crypto").at("ciphertext"));
}

TEST(KeystoreEncrypt, RejectsInvalidKeysAndOverLimitParameters) {
    const Bytes zero(32, 0);
    expect_error(encrypt_keystore(zero, as_bytes("pw"), kScryptLight), ErrorCode::InvalidArgument,
                 "");
    const Bytes short_key(31, 1);
    expect_error(encrypt_keystore(short_key, as_bytes("pw"), kScryptLight),
                 ErrorCode::InvalidArgument, "");
    const Bytes key(32, 1);
    expect_error(encrypt_keystore(key, as_bytes("pw"), ScryptParams{std::uint64_t{1} << 21, 8, 1}),
                 ErrorCode::OutOfRange, "kdfparams.n");
    expect_error(encrypt_keystore(key, as_bytes("pw"), ScryptParams{1000, 8, 1}),
                 ErrorCode::OutOfRange, "power of two");
}

TEST(KeystoreSecret, RoundTripsArbitraryBytes) {
    const std::string phrase =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "about";
    auto text = encrypt_secret(as_bytes(phrase), as_bytes("vault pw"), kScryptLight);
    ASSERT_TRUE(text) << text.error().to_string();
    const json::object crypto = json::parse(*text).as_object();
    EXPECT_EQ(keys_in_order(crypto),
              (std::vector<std::string>{"cipher", "ciphertext", "cipherparams", "kdf", "kdfparams",
                                        "mac"}));
    auto back = decrypt_secret(*text, as_bytes("vault pw"));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->text(), phrase);
    expect_error(decrypt_secret(*text, as_bytes("vault PW")), ErrorCode::WrongPassword,
                 "MAC mismatch");

    const Bytes one{0x42};
    auto single = encrypt_secret(one, {}, kScryptLight);  // empty password is legal
    ASSERT_TRUE(single);
    auto single_back = decrypt_secret(*single, {});
    ASSERT_TRUE(single_back);
    EXPECT_EQ(hex_encode(single_back->view(), false), "42");
}

TEST(KeystoreSecret, RejectsEmptyAndOversizedPlaintexts) {
    expect_error(encrypt_secret({}, as_bytes("pw"), kScryptLight), ErrorCode::InvalidArgument,
                 "1 to");
    const Bytes big((std::size_t{1} << 20) + 1, 7);
    expect_error(encrypt_secret(big, as_bytes("pw"), kScryptLight), ErrorCode::InvalidArgument,
                 "1 to");
}

// ---- decryption failures ----

// ethers' wallet_random3: scrypt n=1024, r=4, p=2, password "foo", written with "Crypto". Cheap to
// decrypt, so the mutation tests below run in milliseconds.
json::object base_keystore() {
    const json::value data = test::load_json("ethers-testcases-wallets-keystore.json");
    for (const auto& entry : data.at("cases").as_array()) {
        if (entry.at("name") == "wallet_random3") {
            return json::parse(text_of(entry.at("content"))).as_object();
        }
    }
    ADD_FAILURE() << "wallet_random3 not found";
    return {};
}

std::string mutated(const std::function<void(json::object& root, json::object& crypto)>& edit) {
    json::object root = base_keystore();
    edit(root, root["Crypto"].as_object());
    return json::serialize(root);
}

json::object& kdfparams(json::object& crypto) {
    return crypto["kdfparams"].as_object();
}

TEST(KeystoreDecrypt, BaseKeystoreDecrypts) {
    // Guards the mutation tests: their base is valid, so each failure is due to its edit.
    auto ok = decrypt_keystore(mutated([](json::object&, json::object&) {}), as_bytes("foo"));
    ASSERT_TRUE(ok) << ok.error().to_string();
    EXPECT_EQ(hex_encode(ok->private_key.view(), false),
              "4242424242424242424242424242424242424242424242424242424242424242");
}

TEST(KeystoreDecrypt, WrongPasswordIsMacMismatch) {
    auto r = decrypt_keystore(mutated([](json::object&, json::object&) {}), as_bytes("fop"));
    expect_error(r, ErrorCode::WrongPassword, "");
    EXPECT_EQ(r.error().detail, "wrong password or corrupted keystore (MAC mismatch)");
    expect_error(decrypt_keystore(mutated([](json::object&, json::object&) {}), {}),
                 ErrorCode::WrongPassword, "MAC mismatch");
}

TEST(KeystoreDecrypt, FlippedCiphertextOrMacByteIsMacMismatch) {
    for (const char* field : {"ciphertext", "mac"}) {
        for (std::size_t pos : {0u, 17u, 63u}) {
            SCOPED_TRACE(std::string(field) + " digit " + std::to_string(pos));
            const std::string text = mutated([&](json::object&, json::object& crypto) {
                std::string hex = text_of(crypto[field]);
                hex[pos] = hex[pos] == '0' ? '1' : '0';
                crypto[field] = hex;
            });
            expect_error(decrypt_keystore(text, as_bytes("foo")), ErrorCode::WrongPassword,
                         "MAC mismatch");
        }
    }
}

TEST(KeystoreDecrypt, TruncatedJsonIsInvalidFormatAtEveryLength) {
    const std::string text = mutated([](json::object&, json::object&) {});
    int checked = 0;
    for (std::size_t len = 0; len < text.size(); ++len) {
        auto r = decrypt_keystore(std::string_view(text).substr(0, len), as_bytes("foo"));
        ASSERT_FALSE(r) << "prefix of " << len << " bytes decrypted";
        ASSERT_EQ(r.error().code, ErrorCode::InvalidFormat) << r.error().to_string();
        ++checked;
    }
    EXPECT_EQ(checked, static_cast<int>(text.size()));
    expect_error(decrypt_keystore("{\"version\":3,", as_bytes("x")), ErrorCode::InvalidFormat,
                 "malformed at byte 13");
    expect_error(decrypt_keystore("{} trailing", as_bytes("x")), ErrorCode::InvalidFormat,
                 "malformed");
    expect_error(decrypt_keystore("[1,2]", as_bytes("x")), ErrorCode::InvalidFormat,
                 "must be an object");
}

TEST(KeystoreDecrypt, HugeScryptNIsRefusedBeforeAnyWork) {
    // Each would allocate gigabytes or run for minutes if the bounds were not checked first.
    for (std::uint64_t n :
         {std::uint64_t{1} << 21, std::uint64_t{1} << 30, std::uint64_t{1} << 62}) {
        SCOPED_TRACE(n);
        const std::string text =
            mutated([&](json::object&, json::object& crypto) { kdfparams(crypto)["n"] = n; });
        expect_error(decrypt_keystore(text, as_bytes("foo")), ErrorCode::OutOfRange, "kdfparams.n");
    }
    const std::string huge_p = mutated([](json::object&, json::object& crypto) {
        kdfparams(crypto)["n"] = std::uint64_t{1} << 20;
        kdfparams(crypto)["r"] = 1;
        kdfparams(crypto)["p"] = 1000;  // r * p within 2^10, but 2^30 units of work
    });
    expect_error(decrypt_keystore(huge_p, as_bytes("foo")), ErrorCode::OutOfRange, "scrypt work");
    const std::string huge_memory = mutated([](json::object&, json::object& crypto) {
        kdfparams(crypto)["n"] = std::uint64_t{1} << 20;
        kdfparams(crypto)["r"] = 16;  // 2 GiB table
        kdfparams(crypto)["p"] = 1;
    });
    expect_error(decrypt_keystore(huge_memory, as_bytes("foo")), ErrorCode::OutOfRange,
                 "scrypt memory");
    const std::string huge_c = mutated([](json::object&, json::object& crypto) {
        crypto["kdf"] = "pbkdf2";
        kdfparams(crypto) = {
            {"c", 4'000'000'000u}, {"dklen", 32}, {"prf", "hmac-sha256"}, {"salt", "abcd"}};
    });
    expect_error(decrypt_keystore(huge_c, as_bytes("foo")), ErrorCode::OutOfRange, "kdfparams.c");
}

TEST(KeystoreDecrypt, BadScryptParametersAreOutOfRangeNamingTheParameter) {
    struct ScryptCase {
        const char* key;
        json::value value;
        const char* fragment;
    };
    const std::vector<ScryptCase> cases = {
        {"n", 1000, "kdfparams.n must be a power of two"},
        {"n", 1, "kdfparams.n must be a power of two"},
        {"n", 0, "kdfparams.n must be a power of two"},
        {"n", -1024, "kdfparams.n\" must not be negative"},
        {"r", 0, "kdfparams.r must be at least 1"},
        {"p", 0, "kdfparams.p must be at least 1"},
        {"r", 2048, "kdfparams.r * kdfparams.p"},
        {"p", std::uint64_t{1} << 62, "kdfparams.r * kdfparams.p"},
        {"dklen", 16, "kdfparams.dklen"},
        {"dklen", 31, "kdfparams.dklen"},
        {"dklen", 65, "kdfparams.dklen"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(c.key) + " = " + json::serialize(c.value));
        const std::string text = mutated(
            [&](json::object&, json::object& crypto) { kdfparams(crypto)[c.key] = c.value; });
        expect_error(decrypt_keystore(text, as_bytes("foo")), ErrorCode::OutOfRange, c.fragment);
    }
    EXPECT_EQ(cases.size(), 11u);
}

TEST(KeystoreDecrypt, NonIntegerParametersAreInvalidFormat) {
    for (json::value v : {json::value("1024"), json::value(1024.0), json::value(nullptr)}) {
        SCOPED_TRACE(json::serialize(v));
        const std::string text =
            mutated([&](json::object&, json::object& crypto) { kdfparams(crypto)["n"] = v; });
        expect_error(decrypt_keystore(text, as_bytes("foo")), ErrorCode::InvalidFormat,
                     "\"Crypto.kdfparams.n\" must be an integer");
    }
}

TEST(KeystoreDecrypt, UnsupportedAlgorithmsAreNotSupported) {
    expect_error(decrypt_keystore(mutated([](json::object&, json::object& crypto) {
                                      crypto["cipher"] = "aes-128-cbc";
                                  }),
                                  as_bytes("foo")),
                 ErrorCode::NotSupported, "cipher \"aes-128-cbc\"");
    expect_error(decrypt_keystore(mutated([](json::object&, json::object& crypto) {
                                      crypto["kdf"] = "argon2id";
                                  }),
                                  as_bytes("foo")),
                 ErrorCode::NotSupported, "kdf \"argon2id\"");
    expect_error(decrypt_keystore(
                     mutated([](json::object&, json::object& crypto) {
                         crypto["kdf"] = "pbkdf2";
                         kdfparams(crypto) = {
                             {"c", 10}, {"dklen", 32}, {"prf", "hmac-sha512"}, {"salt", "abcd"}};
                     }),
                     as_bytes("foo")),
                 ErrorCode::NotSupported, "prf \"hmac-sha512\"");
    expect_error(
        decrypt_keystore(mutated([](json::object& root, json::object&) { root["version"] = 2; }),
                         as_bytes("foo")),
        ErrorCode::NotSupported, "version 2");
    // Names from the file are shortened and made printable before they reach an error detail.
    auto r = decrypt_keystore(mutated([](json::object&, json::object& crypto) {
                                  crypto["cipher"] = std::string(100, 'A') + "\n";
                              }),
                              as_bytes("foo"));
    expect_error(r, ErrorCode::NotSupported, "AAA...\" is not supported");
    EXPECT_LT(r.error().detail.size(), 100u);
}

TEST(KeystoreDecrypt, BadHexLengthsAreInvalidFormatNamingTheField) {
    struct HexCase {
        std::function<void(json::object&)> edit;
        const char* fragment;
    };
    const std::vector<HexCase> cases = {
        {[](json::object& c) { c["cipherparams"].as_object()["iv"] = std::string(30, 'a'); },
         "\"Crypto.cipherparams.iv\" must be 16 bytes, got 15"},
        {[](json::object& c) { c["cipherparams"].as_object()["iv"] = std::string(34, 'a'); },
         "\"Crypto.cipherparams.iv\" must be 16 bytes, got 17"},
        {[](json::object& c) { c["cipherparams"].as_object()["iv"] = "xyz0"; },
         "\"Crypto.cipherparams.iv\": invalid hex digit"},
        {[](json::object& c) { c["mac"] = std::string(62, 'a'); },
         "\"Crypto.mac\" must be 32 bytes, got 31"},
        {[](json::object& c) { c["mac"] = "abc"; }, "\"Crypto.mac\": odd number"},
        {[](json::object& c) { kdfparams(c)["salt"] = ""; },
         "\"Crypto.kdfparams.salt\" must not be empty"},
        {[](json::object& c) { c["ciphertext"] = ""; }, "\"Crypto.ciphertext\" must not be empty"},
        {[](json::object& c) { c["ciphertext"] = std::string(66, 'a'); },
         "a private key is at most 32 bytes, got 33"},
        {[](json::object& c) { c["ciphertext"] = 12; }, "\"Crypto.ciphertext\" must be a string"},
        {[](json::object& c) { c["cipherparams"] = "iv"; },
         "\"Crypto.cipherparams\" must be a JSON object"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].fragment);
        const std::string text =
            mutated([&](json::object&, json::object& crypto) { cases[i].edit(crypto); });
        expect_error(decrypt_keystore(text, as_bytes("foo")), ErrorCode::InvalidFormat,
                     cases[i].fragment);
    }
    EXPECT_EQ(cases.size(), 10u);
}

TEST(KeystoreDecrypt, MissingFieldsAreInvalidFormatNamingTheField) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"version"}, "version"},
        {{"Crypto"}, "crypto"},
        {{"Crypto", "cipher"}, "Crypto.cipher"},
        {{"Crypto", "cipherparams"}, "Crypto.cipherparams"},
        {{"Crypto", "cipherparams", "iv"}, "Crypto.cipherparams.iv"},
        {{"Crypto", "ciphertext"}, "Crypto.ciphertext"},
        {{"Crypto", "kdf"}, "Crypto.kdf"},
        {{"Crypto", "kdfparams"}, "Crypto.kdfparams"},
        {{"Crypto", "kdfparams", "n"}, "Crypto.kdfparams.n"},
        {{"Crypto", "kdfparams", "r"}, "Crypto.kdfparams.r"},
        {{"Crypto", "kdfparams", "p"}, "Crypto.kdfparams.p"},
        {{"Crypto", "kdfparams", "dklen"}, "Crypto.kdfparams.dklen"},
        {{"Crypto", "kdfparams", "salt"}, "Crypto.kdfparams.salt"},
        {{"Crypto", "mac"}, "Crypto.mac"},
    };
    for (const auto& [path, name] : cases) {
        SCOPED_TRACE(name);
        json::object root = base_keystore();
        json::object* parent = &root;
        for (std::size_t i = 0; i + 1 < path.size(); ++i)
            parent = &(*parent)[path[i]].as_object();
        ASSERT_EQ(parent->erase(path.back()), 1u);
        expect_error(decrypt_keystore(json::serialize(root), as_bytes("foo")),
                     ErrorCode::InvalidFormat, "missing field \"" + name + "\"");
    }
    EXPECT_EQ(cases.size(), 14u);
}

TEST(KeystoreDecrypt, Pbkdf2MissingPrfOrCIsInvalidFormat) {
    for (const char* missing : {"prf", "c"}) {
        SCOPED_TRACE(missing);
        const std::string text = mutated([&](json::object&, json::object& crypto) {
            crypto["kdf"] = "pbkdf2";
            kdfparams(crypto) = {{"c", 10}, {"dklen", 32}, {"prf", "hmac-sha256"}, {"salt", "ab"}};
            kdfparams(crypto).erase(missing);
        });
        expect_error(decrypt_keystore(text, as_bytes("foo")), ErrorCode::InvalidFormat,
                     std::string("missing field \"Crypto.kdfparams.") + missing + "\"");
    }
}

TEST(KeystoreDecrypt, AmbiguousCryptoObjectIsInvalidFormat) {
    const std::string text =
        mutated([](json::object& root, json::object& crypto) { root["crypto"] = crypto; });
    expect_error(decrypt_keystore(text, as_bytes("foo")), ErrorCode::InvalidFormat,
                 "both \"crypto\" and \"Crypto\"");
}

TEST(KeystoreDecrypt, AddressFieldMustMatchTheKey) {
    const std::string other = mutated([](json::object& root, json::object&) {
        root["address"] = "0000000000000000000000000000000000000001";
    });
    expect_error(decrypt_keystore(other, as_bytes("foo")), ErrorCode::InvalidFormat,
                 "address field does not match");
    const std::string bad = mutated([](json::object& root, json::object&) {
        root["address"] = "17c5185167401ed00cf5f5b2fc97d9bbfdb7d0";
    });
    expect_error(decrypt_keystore(bad, as_bytes("foo")), ErrorCode::InvalidFormat,
                 "\"address\" must be 20 bytes, got 19");
    // 0x-prefixed, checksummed and absent addresses are all fine.
    for (const char* a : {"0x17c5185167401eD00cF5F5b2fc97D9BBfDb7D025", ""}) {
        SCOPED_TRACE(a);
        const std::string text = mutated([&](json::object& root, json::object&) {
            if (*a) {
                root["address"] = a;
            } else {
                root.erase("address");
            }
        });
        auto r = decrypt_keystore(text, as_bytes("foo"));
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(r->address.has_value(), *a != 0);
    }
}

TEST(KeystoreDecrypt, PlaintextThatIsNotAValidKeyIsInvalidFormat) {
    // A correctly encrypted file whose plaintext is the zero scalar.
    const Bytes zero(32, 0);
    auto crypto = encrypt_secret(zero, as_bytes("pw"), kScryptLight);
    ASSERT_TRUE(crypto);
    const std::string doc = "{\"crypto\":" + *crypto + ",\"version\":3}";
    expect_error(decrypt_keystore(doc, as_bytes("pw")), ErrorCode::InvalidFormat,
                 "not a valid secp256k1 private key");
}

TEST(KeystoreDecrypt, TighterLimitsRefuseBeforeTheKdf) {
    const std::string text = mutated([](json::object&, json::object&) {});
    KdfLimits limits;
    limits.max_scrypt_n = 512;  // the base keystore has n = 1024
    expect_error(decrypt_keystore(text, as_bytes("foo"), limits), ErrorCode::OutOfRange,
                 "kdfparams.n = 1024 exceeds the limit of 512");
    limits = KdfLimits{};
    limits.max_scrypt_work = 1024;  // n * r * p = 8192
    expect_error(decrypt_keystore(text, as_bytes("foo"), limits), ErrorCode::OutOfRange,
                 "scrypt work");
}

}  // namespace
}  // namespace keybridge::core
