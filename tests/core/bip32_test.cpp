#include "core/bip32.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/base58.h"
#include "core/bip39.h"
#include "test_data.h"

namespace keybridge::core::bip32 {
namespace {

namespace json = boost::json;

std::string str(const json::value& v) {
    return std::string(v.as_string());
}

Bytes from_hex(std::string_view hex) {
    auto bytes = hex_decode(hex, HexPrefix::Optional);
    EXPECT_TRUE(bytes) << hex;
    return bytes ? *bytes : Bytes{};
}

std::vector<std::uint32_t> indices_of(const json::value& v) {
    std::vector<std::uint32_t> out;
    for (const auto& i : v.as_array())
        out.push_back(static_cast<std::uint32_t>(i.to_number<std::uint64_t>()));
    return out;
}

std::string xprv_of(const ExtendedKey& key) {
    auto text = key.to_xprv();
    EXPECT_TRUE(text);
    return text ? std::string(text->text()) : std::string();
}

// ---- paths ----

TEST(Bip32Path, ParsesAllHardenedMarkers) {
    const std::vector<std::uint32_t> expected = {44 | kHardened, 60 | kHardened, 0 | kHardened, 0,
                                                 0};
    for (const std::string_view text :
         {"m/44'/60'/0'/0/0", "m/44h/60h/0h/0/0", "m/44H/60H/0H/0/0", "m/44'/60h/0H/0/0"}) {
        auto path = parse_path(text);
        ASSERT_TRUE(path) << text << ": " << path.error().to_string();
        EXPECT_EQ(*path, expected);
    }
    auto master = parse_path("m");
    ASSERT_TRUE(master);
    EXPECT_TRUE(master->empty());
    auto extremes = parse_path("m/0/2147483647/2147483647'");
    ASSERT_TRUE(extremes);
    EXPECT_EQ(*extremes, (std::vector<std::uint32_t>{0, 0x7fffffff, 0xffffffff}));
}

TEST(Bip32Path, FormatsWithApostrophesAndRoundTrips) {
    EXPECT_EQ(format_path({}), "m");
    const std::vector<std::uint32_t> path = {44 | kHardened, 60 | kHardened, 0 | kHardened, 0, 7};
    EXPECT_EQ(format_path(path), "m/44'/60'/0'/0/7");
    auto parsed = parse_path("m/44h/60H/0'/0/7");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(format_path(*parsed), "m/44'/60'/0'/0/7");
    EXPECT_EQ(format_path(std::vector<std::uint32_t>{0xffffffff}), "m/2147483647'");
}

TEST(Bip32Path, RejectsMalformedPathsNamingTheComponent) {
    struct Bad {
        std::string_view text;
        ErrorCode code;
        std::string detail;
    };
    const std::string not_number = " is not a decimal index with an optional ', h or H";
    const Bad cases[] = {
        {"", ErrorCode::InvalidFormat, "path must start with 'm' (e.g. m/44'/60'/0'/0/0)"},
        {"M/0", ErrorCode::InvalidFormat, "path must start with 'm' (e.g. m/44'/60'/0'/0/0)"},
        {"/0", ErrorCode::InvalidFormat, "path must start with 'm' (e.g. m/44'/60'/0'/0/0)"},
        {"44'/0", ErrorCode::InvalidFormat, "path must start with 'm' (e.g. m/44'/60'/0'/0/0)"},
        {" m/0", ErrorCode::InvalidFormat, "path must start with 'm' (e.g. m/44'/60'/0'/0/0)"},
        {"m0", ErrorCode::InvalidFormat, "path must be 'm' or start with 'm/'"},
        {"m ", ErrorCode::InvalidFormat, "path must be 'm' or start with 'm/'"},
        {"m/", ErrorCode::InvalidFormat, "path component 1 is empty"},
        {"m//0", ErrorCode::InvalidFormat, "path component 1 is empty"},
        {"m/0/", ErrorCode::InvalidFormat, "path component 2 is empty"},
        {"m/44'/+1", ErrorCode::InvalidFormat, "path component 2 '+1'" + not_number},
        {"m/-1", ErrorCode::InvalidFormat, "path component 1 '-1'" + not_number},
        {"m/ 1", ErrorCode::InvalidFormat, "path component 1 ' 1'" + not_number},
        {"m/1 ", ErrorCode::InvalidFormat, "path component 1 '1 '" + not_number},
        {"m/1' ", ErrorCode::InvalidFormat, "path component 1 '1' '" + not_number},
        {"m/1''", ErrorCode::InvalidFormat, "path component 1 '1'''" + not_number},
        {"m/1'h", ErrorCode::InvalidFormat, "path component 1 '1'h'" + not_number},
        {"m/'", ErrorCode::InvalidFormat, "path component 1 '''" + not_number},
        {"m/0x10", ErrorCode::InvalidFormat, "path component 1 '0x10'" + not_number},
        {"m/44'/60'/a/0", ErrorCode::InvalidFormat, "path component 3 'a'" + not_number},
        {"m/01", ErrorCode::InvalidFormat, "path component 1 '01' has a leading zero"},
        {"m/2147483648", ErrorCode::OutOfRange,
         "path component 1 '2147483648': the index must be below 2^31 (2147483648)"},
        {"m/0/2147483648'", ErrorCode::OutOfRange,
         "path component 2 '2147483648'': the index must be below 2^31 (2147483648)"},
        {"m/99999999999999999999999", ErrorCode::OutOfRange,
         "path component 1 '99999999999999999999999': the index must be below 2^31 (2147483648)"},
    };
    std::size_t run = 0;
    for (const auto& c : cases) {
        auto path = parse_path(c.text);
        ASSERT_FALSE(path) << c.text;
        EXPECT_EQ(path.error().code, c.code) << c.text;
        EXPECT_EQ(path.error().detail, c.detail) << c.text;
        ++run;
    }
    EXPECT_EQ(run, 24u);
}

TEST(Bip32Path, LimitsDepthTo255) {
    std::string text = "m";
    for (int i = 0; i < 255; ++i)
        text += "/1";
    auto deepest = parse_path(text);
    ASSERT_TRUE(deepest);
    EXPECT_EQ(deepest->size(), 255u);
    auto too_deep = parse_path(text + "/1");
    ASSERT_FALSE(too_deep);
    EXPECT_EQ(too_deep.error().code, ErrorCode::OutOfRange);
    EXPECT_EQ(too_deep.error().detail, "path has more than 255 components (the BIP32 depth limit)");
}

// ---- the BIP32 test vectors ----

TEST(Bip32, DerivesAllSeventeenChainsByPathAndByIndex) {
    const json::value doc = test::load_json("bip32-test-vectors.json");
    std::size_t chains = 0;
    for (const auto& vector : doc.at("valid").as_array()) {
        const Bytes seed = from_hex(str(vector.at("seed")));
        auto master = ExtendedKey::from_seed(seed);
        ASSERT_TRUE(master) << master.error().to_string();
        for (const auto& chain : vector.at("chains").as_array()) {
            SCOPED_TRACE(str(vector.at("name")) + " " + str(chain.at("chain")));
            const std::string xprv = str(chain.at("ext_prv"));
            const std::string xpub = str(chain.at("ext_pub"));
            const auto indices = indices_of(chain.at("indices"));

            // By path text (both the ' form and the BIP's H form) and by index list.
            auto by_path = master->derive_path(std::string_view(str(chain.at("path"))));
            auto by_h_path = master->derive_path(std::string_view(str(chain.at("chain"))));
            auto by_index = master->derive_path(std::span<const std::uint32_t>(indices));
            ASSERT_TRUE(by_path);
            ASSERT_TRUE(by_h_path);
            ASSERT_TRUE(by_index);
            for (const ExtendedKey* key : {&*by_path, &*by_h_path, &*by_index}) {
                EXPECT_EQ(xprv_of(*key), xprv);
                EXPECT_EQ(key->to_xpub(), xpub);
                EXPECT_EQ(key->to_public().to_xpub(), xpub);
                EXPECT_EQ(key->depth(), indices.size());
                EXPECT_EQ(key->child_number(), indices.empty() ? 0u : indices.back());
            }
            // Step by step with derive_child.
            ExtendedKey step = master->clone();
            for (const std::uint32_t index : indices) {
                auto next = step.derive_child(index);
                ASSERT_TRUE(next);
                EXPECT_EQ(next->parent_fingerprint(), step.fingerprint());
                step = std::move(*next);
            }
            EXPECT_EQ(xprv_of(step), xprv);
            EXPECT_EQ(format_path(indices), str(chain.at("path")));
            ++chains;
        }
    }
    EXPECT_EQ(chains, 17u);
}

TEST(Bip32, PublicDerivationMatchesForNonHardenedSteps) {
    const json::value doc = test::load_json("bip32-test-vectors.json");
    std::size_t chains = 0;
    std::size_t public_steps = 0;
    for (const auto& vector : doc.at("valid").as_array()) {
        auto master = ExtendedKey::from_seed(from_hex(str(vector.at("seed"))));
        ASSERT_TRUE(master);
        for (const auto& chain : vector.at("chains").as_array()) {
            const auto indices = indices_of(chain.at("indices"));
            // Derive privately up to the last hardened step, then publicly from its xpub.
            std::size_t first_public = 0;
            for (std::size_t i = 0; i < indices.size(); ++i) {
                if (indices[i] & kHardened) first_public = i + 1;
            }
            if (first_public == indices.size()) continue;
            SCOPED_TRACE(str(chain.at("chain")));
            auto base =
                master->derive_path(std::span<const std::uint32_t>(indices).first(first_public));
            ASSERT_TRUE(base);
            // Start from the parsed xpub text, so parsing feeds derivation too.
            auto pub = ExtendedKey::parse(base->to_xpub());
            ASSERT_TRUE(pub);
            ASSERT_FALSE(pub->is_private());
            for (std::size_t i = first_public; i < indices.size(); ++i) {
                auto next = pub->derive_child(indices[i]);
                ASSERT_TRUE(next);
                pub = std::move(*next);
                ++public_steps;
            }
            EXPECT_EQ(pub->to_xpub(), str(chain.at("ext_pub")));
            ++chains;
        }
    }
    EXPECT_EQ(chains, 6u);
    EXPECT_EQ(public_steps, 7u);
}

TEST(Bip32, EverySerializedKeyRoundTripsThroughParsing) {
    const json::value doc = test::load_json("bip32-test-vectors.json");
    std::size_t keys = 0;
    for (const auto& vector : doc.at("valid").as_array()) {
        for (const auto& chain : vector.at("chains").as_array()) {
            const std::string xprv = str(chain.at("ext_prv"));
            const std::string xpub = str(chain.at("ext_pub"));
            const auto indices = indices_of(chain.at("indices"));

            auto prv = ExtendedKey::parse(xprv);
            ASSERT_TRUE(prv) << xprv << ": " << prv.error().to_string();
            EXPECT_TRUE(prv->is_private());
            EXPECT_EQ(xprv_of(*prv), xprv);
            EXPECT_EQ(prv->to_xpub(), xpub);
            EXPECT_EQ(prv->depth(), indices.size());

            auto pub = ExtendedKey::parse(xpub);
            ASSERT_TRUE(pub) << xpub << ": " << pub.error().to_string();
            EXPECT_FALSE(pub->is_private());
            EXPECT_EQ(pub->to_xpub(), xpub);
            EXPECT_EQ(pub->public_key(), prv->public_key());
            EXPECT_EQ(pub->fingerprint(), prv->fingerprint());
            EXPECT_TRUE(std::equal(pub->chain_code().begin(), pub->chain_code().end(),
                                   prv->chain_code().begin()));
            auto no_private = pub->to_xprv();
            ASSERT_FALSE(no_private);
            EXPECT_EQ(no_private.error().code, ErrorCode::InvalidArgument);
            keys += 2;
        }
    }
    EXPECT_EQ(keys, 34u);
}

TEST(Bip32, RejectsAllSixteenInvalidKeysOfVector5) {
    // Each published reason, and the error we must give for it.
    const std::map<std::string, std::pair<ErrorCode, std::string>> expected = {
        {"pubkey version / prvkey mismatch",
         {ErrorCode::InvalidFormat,
          "xpub key data must be a compressed public key (02 or 03 "
          "first), but starts with 0x00"}},
        {"prvkey version / pubkey mismatch",
         {ErrorCode::InvalidFormat,
          "xprv key data must be 0x00 followed by the private key, but starts with 0x03"}},
        {"invalid pubkey prefix 04",
         {ErrorCode::InvalidFormat,
          "xpub key data must be a compressed public key (02 or 03 "
          "first), but starts with 0x04"}},
        {"invalid prvkey prefix 04",
         {ErrorCode::InvalidFormat,
          "xprv key data must be 0x00 followed by the private key, but starts with 0x04"}},
        {"invalid pubkey prefix 01",
         {ErrorCode::InvalidFormat,
          "xpub key data must be a compressed public key (02 or 03 "
          "first), but starts with 0x01"}},
        {"invalid prvkey prefix 01",
         {ErrorCode::InvalidFormat,
          "xprv key data must be 0x00 followed by the private key, but starts with 0x01"}},
        {"zero depth with non-zero parent fingerprint",
         {ErrorCode::InvalidFormat,
          "extended key has depth 0 (master) but a non-zero parent fingerprint"}},
        {"zero depth with non-zero index",
         {ErrorCode::InvalidFormat,
          "extended key has depth 0 (master) but a non-zero child number"}},
        {"unknown extended key version",
         {ErrorCode::InvalidFormat, "unknown extended key version"}},
        {"private key 0 not in 1..n-1",
         {ErrorCode::InvalidFormat, "xprv private key is zero or not below the curve order"}},
        {"private key n not in 1..n-1",
         {ErrorCode::InvalidFormat, "xprv private key is zero or not below the curve order"}},
        {"invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007",
         {ErrorCode::InvalidFormat, "xpub public key is not a point on secp256k1"}},
        {"invalid checksum",
         {ErrorCode::InvalidChecksum, "extended key: Base58Check checksum does not match"}},
    };
    const json::value doc = test::load_json("bip32-test-vectors.json");
    std::size_t rejected = 0;
    for (const auto& bad : doc.at("invalid").as_array()) {
        const std::string key = str(bad.at("ext_key"));
        const std::string reason = str(bad.at("reason"));
        SCOPED_TRACE(reason);
        auto parsed = ExtendedKey::parse(key);
        ASSERT_FALSE(parsed);
        const auto it = expected.find(reason);
        ASSERT_NE(it, expected.end()) << "no expectation for reason: " << reason;
        EXPECT_EQ(parsed.error().code, it->second.first);
        // The detail starts with the expected text (the version message adds the value).
        EXPECT_EQ(parsed.error().detail.substr(0, it->second.second.size()), it->second.second);
        // The key text itself is never echoed.
        EXPECT_EQ(parsed.error().detail.find(key.substr(4, 20)), std::string::npos);
        ++rejected;
    }
    EXPECT_EQ(rejected, 16u);
}

TEST(Bip32, RejectsExtendedKeysOfTheWrongLengthOrEncoding) {
    for (const std::size_t size : {0u, 77u, 79u}) {
        auto parsed = ExtendedKey::parse(base58check_encode(Bytes(size, 0x04)));
        ASSERT_FALSE(parsed);
        EXPECT_EQ(parsed.error().code, ErrorCode::InvalidFormat);
        EXPECT_EQ(parsed.error().detail,
                  "extended key must decode to 78 bytes, got " + std::to_string(size));
    }
    auto not_base58 = ExtendedKey::parse("xpub0");
    ASSERT_FALSE(not_base58);
    EXPECT_EQ(not_base58.error().code, ErrorCode::InvalidFormat);
    EXPECT_EQ(not_base58.error().detail,
              "extended key: character '0' at position 4 is not in the Base58 alphabet");
    // Testnet (tpub) versions are not accepted.
    Bytes tpub(78, 0);
    tpub[0] = 0x04, tpub[1] = 0x35, tpub[2] = 0x87, tpub[3] = 0xcf, tpub[45] = 0x02;
    auto testnet = ExtendedKey::parse(base58check_encode(tpub));
    ASSERT_FALSE(testnet);
    EXPECT_EQ(testnet.error().detail,
              "unknown extended key version 0x043587cf (only mainnet xprv 0x0488ade4 and xpub "
              "0x0488b21e are accepted)");
}

// ---- derivation edge cases ----

TEST(Bip32, RefusesHardenedDerivationFromAPublicKey) {
    auto master = ExtendedKey::from_seed(from_hex("000102030405060708090a0b0c0d0e0f"));
    ASSERT_TRUE(master);
    const ExtendedKey pub = master->to_public();
    auto child = pub.derive_child(44 | kHardened);
    ASSERT_FALSE(child);
    EXPECT_EQ(child.error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(child.error().detail, "cannot derive hardened child 44' from a public key");

    auto path = pub.derive_path("m/0/1h");
    ASSERT_FALSE(path);
    EXPECT_EQ(path.error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(path.error().detail,
              "path step 2 (1'): cannot derive hardened child 1' from a public key");

    auto bad_path = master->derive_path("m/x");
    ASSERT_FALSE(bad_path);
    EXPECT_EQ(bad_path.error().code, ErrorCode::InvalidFormat);
}

TEST(Bip32, StopsAtDepth255) {
    auto master = ExtendedKey::from_seed(from_hex("000102030405060708090a0b0c0d0e0f"));
    ASSERT_TRUE(master);
    const std::vector<std::uint32_t> path(255, 1);
    auto deepest = master->to_public().derive_path(std::span<const std::uint32_t>(path));
    ASSERT_TRUE(deepest);
    EXPECT_EQ(deepest->depth(), 255);
    auto round = ExtendedKey::parse(deepest->to_xpub());
    ASSERT_TRUE(round);
    EXPECT_EQ(round->depth(), 255);
    auto beyond = deepest->derive_child(0);
    ASSERT_FALSE(beyond);
    EXPECT_EQ(beyond.error().code, ErrorCode::OutOfRange);
    EXPECT_EQ(beyond.error().detail, "cannot derive below depth 255");
}

TEST(Bip32, ChildTweakFailsWhenILIsNotBelowTheOrderOrTheResultIsZero) {
    // Forcing these through HMAC output is infeasible (~2^-127), so the arithmetic step that
    // derive_child uses is tested directly.
    const Bytes n = from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    const Bytes n_plus_1 =
        from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142");
    const Bytes n_minus_1 =
        from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
    const Bytes all_ff(32, 0xff);
    Bytes one(32, 0);
    one[31] = 1;
    Bytes two(32, 0);
    two[31] = 2;
    auto key_one = PrivateKey::from_bytes(one);
    auto key_two = PrivateKey::from_bytes(two);
    ASSERT_TRUE(key_one);
    ASSERT_TRUE(key_two);
    const PublicKey point_one = PublicKey::from_private(*key_one);

    for (const Bytes* il : {&n, &n_plus_1, &all_ff}) {
        auto priv = detail::add_tweak(*key_one, *il);
        ASSERT_FALSE(priv);
        EXPECT_EQ(priv.error().code, ErrorCode::CryptoFailure);
        EXPECT_EQ(priv.error().detail, "IL is not below the curve order n");
        auto pub = detail::add_tweak(point_one, *il);
        ASSERT_FALSE(pub);
        EXPECT_EQ(pub.error().detail, "IL is not below the curve order n");
    }
    // 1 + (n - 1) = 0 mod n; G + (n - 1)G = infinity.
    auto zero = detail::add_tweak(*key_one, n_minus_1);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, ErrorCode::CryptoFailure);
    EXPECT_EQ(zero.error().detail, "the derived private key is zero");
    auto infinity = detail::add_tweak(point_one, n_minus_1);
    ASSERT_FALSE(infinity);
    EXPECT_EQ(infinity.error().code, ErrorCode::CryptoFailure);
    EXPECT_EQ(infinity.error().detail, "the derived public key is the point at infinity");

    // The largest valid tweak works, and the private and public paths agree: 2 + (n - 1) = 1.
    auto sum = detail::add_tweak(*key_two, n_minus_1);
    ASSERT_TRUE(sum);
    EXPECT_TRUE(std::equal(sum->view().begin(), sum->view().end(), one.begin()));
    auto point_sum = detail::add_tweak(PublicKey::from_private(*key_two), n_minus_1);
    ASSERT_TRUE(point_sum);
    EXPECT_EQ(*point_sum, point_one);
}

TEST(Bip32, AcceptsOnlySeedsOf16To64Bytes) {
    for (const std::size_t size : {0u, 15u, 65u, 128u}) {
        auto master = ExtendedKey::from_seed(Bytes(size, 1));
        ASSERT_FALSE(master);
        EXPECT_EQ(master.error().code, ErrorCode::InvalidArgument);
        EXPECT_EQ(master.error().detail,
                  "BIP32 seed must be 16 to 64 bytes, got " + std::to_string(size));
    }
    EXPECT_TRUE(ExtendedKey::from_seed(Bytes(16, 1)));
    EXPECT_TRUE(ExtendedKey::from_seed(Bytes(64, 1)));
}

TEST(Bip32, CloneIsIndependentAndEqual) {
    auto master = ExtendedKey::from_seed(from_hex("000102030405060708090a0b0c0d0e0f"));
    ASSERT_TRUE(master);
    const ExtendedKey copy = master->clone();
    EXPECT_EQ(xprv_of(copy), xprv_of(*master));
    EXPECT_NE(copy.chain_code().data(), master->chain_code().data());
}

// ---- Ethereum ----

TEST(Bip32Ethereum, AllAllPhraseGivesTheKnownAddress) {
    // Trezor's well-known test phrase, no passphrase, default Ethereum path.
    auto seed = bip39::seed_from_mnemonic("all all all all all all all all all all all all");
    ASSERT_TRUE(seed);
    auto address = ethereum_address(seed->view(), "m/44'/60'/0'/0/0");
    ASSERT_TRUE(address) << address.error().to_string();
    EXPECT_EQ(address->to_checksum_string(), "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");
    auto default_path = ethereum_address(seed->view());
    ASSERT_TRUE(default_path);
    EXPECT_EQ(*default_path, *address);

    auto key = ethereum_private_key(seed->view(), kEthereumPath);
    ASSERT_TRUE(key);
    EXPECT_EQ(PublicKey::from_private(*key).address(), *address);

    // The next account differs; a bad path is reported.
    auto second = ethereum_address(seed->view(), "m/44'/60'/0'/0/1");
    ASSERT_TRUE(second);
    EXPECT_NE(*second, *address);
    auto bad = ethereum_address(seed->view(), "m/44'/60'/0'/0/");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail, "path component 5 is empty");
}

}  // namespace
}  // namespace keybridge::core::bip32
