#include "core/eip712.h"

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/hash.h"
#include "core/uint256.h"
#include "test_data.h"

namespace keybridge::core::eip712 {
namespace {

namespace json = boost::json;

PrivateKey key_from_hex(std::string_view hex) {
    return test::private_key_from_hex(hex);
}

Hash32 word_of(std::string_view hex) {
    auto bytes = hex_decode_fixed<32>(hex);
    EXPECT_TRUE(bytes) << hex;
    return bytes ? *bytes : Hash32{};
}

Hash32 keccak_of(std::initializer_list<ByteView> parts) {
    return keccak256(concat(parts));
}

Hash32 keccak_text(std::string_view text) {
    return keccak256(as_bytes(text));
}

// A whole document from its parts.
std::string doc(std::string_view types, std::string_view primary, std::string_view message,
                std::string_view domain = "{}") {
    return std::string(R"({"types":)") + std::string(types) + R"(,"primaryType":")" +
           std::string(primary) + R"(","domain":)" + std::string(domain) + R"(,"message":)" +
           std::string(message) + "}";
}

// A document whose primary type T has the single member v of the given type.
std::string one_field(std::string_view type, std::string_view value) {
    return doc(std::string(R"({"EIP712Domain":[],"T":[{"name":"v","type":")") + std::string(type) +
                   R"("}]})",
               "T", std::string(R"({"v":)") + std::string(value) + "}");
}

TypedData must_parse(const std::string& text) {
    auto typed = parse(text);
    if (!typed) {
        // The callers cannot go on without a document, and TypedData has no empty state.
        std::fprintf(stderr, "parse failed: %s\n%s\n", typed.error().to_string().c_str(),
                     text.c_str());
        std::abort();
    }
    return std::move(*typed);
}

// The error of parsing, or of computing the V4/V3 digest of, a document that must fail.
Error failure(const std::string& text, Version version = Version::V4) {
    auto typed = parse(text);
    if (!typed) return typed.error();
    auto digest = signing_hash(*typed, version);
    EXPECT_FALSE(digest) << "unexpectedly accepted: " << text;
    return digest ? Error{ErrorCode::Internal, "accepted"} : digest.error();
}

// The 32-byte encoding of one value of `type` (the word after the type hash in encodeData).
Result<Hash32> encode_one(std::string_view type, std::string_view value,
                          Version version = Version::V4) {
    auto typed = parse(one_field(type, value));
    if (!typed) return fail(typed.error());
    json::value message(typed->message());
    auto data = encode_data(*typed, "T", message, version);
    if (!data) return fail(data.error());
    EXPECT_EQ(data->size(), 64u);
    Hash32 word{};
    std::copy(data->begin() + 32, data->end(), word.begin());
    return word;
}

// ---------------------------------------------------------------------------------------------
// Published vectors

TEST(Eip712, MailExampleEveryIntermediateValue) {
    const auto vector = test::load_json("eip712-mail-example.json");
    const auto& v = vector.as_object();
    const TypedData typed = must_parse(json::serialize(v.at("typedData")));

    auto encoded_type = encode_type(typed, "Mail");
    ASSERT_TRUE(encoded_type);
    EXPECT_EQ(*encoded_type, std::string(v.at("encodeType_Mail").as_string()));

    auto mail_hash = type_hash(typed, "Mail");
    ASSERT_TRUE(mail_hash);
    EXPECT_EQ(hex_encode(*mail_hash), std::string(v.at("typeHash_Mail").as_string()));
    const auto& derived = v.at("derived").as_object();
    EXPECT_EQ(hex_encode(*type_hash(typed, "Person")),
              std::string(derived.at("typeHash_Person").as_string()));
    EXPECT_EQ(hex_encode(*type_hash(typed, "EIP712Domain")),
              std::string(derived.at("typeHash_EIP712Domain").as_string()));

    const json::value message(typed.message());
    for (Version version : {Version::V3, Version::V4}) {
        auto data = encode_data(typed, "Mail", message, version);
        ASSERT_TRUE(data) << data.error().to_string();
        EXPECT_EQ(hex_encode(*data), std::string(v.at("encodeData_Mail").as_string()));
        auto struct_hash = hash_struct(typed, "Mail", message, version);
        ASSERT_TRUE(struct_hash);
        EXPECT_EQ(hex_encode(*struct_hash), std::string(v.at("hashStruct_Mail").as_string()));
        auto separator = domain_separator(typed, version);
        ASSERT_TRUE(separator);
        EXPECT_EQ(hex_encode(*separator), std::string(v.at("domainSeparator").as_string()));
        auto digest = signing_hash(typed, version);
        ASSERT_TRUE(digest);
        EXPECT_EQ(hex_encode(*digest), std::string(v.at("signingHash").as_string()));
    }

    const auto key = key_from_hex(v.at("privateKey").as_string());
    EXPECT_EQ(keccak_text("cow"), word_of(v.at("privateKey").as_string()));
    auto signed_ = sign(key, typed, Version::V4);
    ASSERT_TRUE(signed_);
    const auto signature = signed_->to_rsv();
    EXPECT_EQ(hex_encode(signature), std::string(v.at("signature").as_string()));
    EXPECT_EQ(hex_encode(ByteView(signature).first(32)), std::string(v.at("r").as_string()));
    EXPECT_EQ(hex_encode(ByteView(signature).subspan(32, 32)), std::string(v.at("s").as_string()));
    EXPECT_EQ(signature[64], v.at("v").as_int64());

    auto signer = recover_signer(typed, Version::V4, signature);
    ASSERT_TRUE(signer);
    EXPECT_EQ(signer->to_lower_string(), std::string(v.at("address").as_string()));
    EXPECT_EQ(signer->to_checksum_string(), std::string(v.at("signer").as_string()));
}

TEST(Eip712, EthSigUtilVectorsDigestAndSignature) {
    const auto vectors = test::load_json("metamask-eth-sig-util-vectors.json");
    const auto key = key_from_hex(vectors.at("privateKey").as_string());
    const std::string address(vectors.at("address").as_string());
    std::size_t run = 0;
    for (const auto& value : vectors.at("cases").as_array()) {
        const auto& c = value.as_object();
        SCOPED_TRACE(std::string(c.at("name").as_string()));
        const std::string version(c.at("version").as_string());
        const auto* expected = c.if_contains("signingHash");
        if (expected == nullptr) expected = c.if_contains("signingHash_derived");
        ASSERT_NE(expected, nullptr);
        const std::string signature(c.at("signature").as_string());

        if (version == "V1") {
            auto digest = legacy_v1_hash(c.at("typedData"));
            ASSERT_TRUE(digest) << digest.error().to_string();
            EXPECT_EQ(hex_encode(*digest), std::string(expected->as_string()));
            auto text_digest = legacy_v1_hash(json::serialize(c.at("typedData")));
            ASSERT_TRUE(text_digest);
            EXPECT_EQ(*text_digest, *digest);
            auto ours = sign_legacy_v1(key, c.at("typedData"));
            ASSERT_TRUE(ours);
            EXPECT_EQ(hex_encode(ours->to_rsv()), signature);
            auto sig = RecoverableSignature::from_rsv(*hex_decode(signature));
            ASSERT_TRUE(sig);
            auto pub = recover_public_key(*digest, *sig);
            ASSERT_TRUE(pub);
            EXPECT_EQ(pub->address().to_checksum_string(), address);
            ++run;
            continue;
        }

        ASSERT_TRUE(version == "V3" || version == "V4");
        const Version ver = version == "V3" ? Version::V3 : Version::V4;
        // Both overloads of parse must agree.
        auto typed = parse(c.at("typedData"));
        ASSERT_TRUE(typed) << typed.error().to_string();
        auto typed_from_text = parse(json::serialize(c.at("typedData")));
        ASSERT_TRUE(typed_from_text);
        auto digest = signing_hash(*typed, ver);
        ASSERT_TRUE(digest) << digest.error().to_string();
        EXPECT_EQ(hex_encode(*digest), std::string(expected->as_string()));
        EXPECT_EQ(*signing_hash(*typed_from_text, ver), *digest);
        auto ours = sign(key, *typed, ver);
        ASSERT_TRUE(ours);
        EXPECT_EQ(hex_encode(ours->to_rsv()), signature);
        auto signer = recover_signer(*typed, ver, *hex_decode(signature));
        ASSERT_TRUE(signer);
        EXPECT_EQ(signer->to_checksum_string(), address);
        ++run;
    }
    EXPECT_EQ(run, 7u);
}

// hash_typed_data computes in one pass what a Signer receives. Each part must equal what the
// separate functions compute from scratch, and signing the precomputed digest must give the
// published signature: for every V3/V4 eth-sig-util vector and the Mail example in both versions.
TEST(Eip712, HashedTypedDataEqualsFromScratchHashes) {
    const auto vectors = test::load_json("metamask-eth-sig-util-vectors.json");
    const auto key = key_from_hex(vectors.at("privateKey").as_string());
    const auto check = [&](const TypedData& typed, Version version, std::string_view digest_hex,
                           std::string_view signature_hex) {
        auto hashed = hash_typed_data(typed, version);  // a copy: `typed` stays for comparison
        ASSERT_TRUE(hashed) << hashed.error().to_string();
        EXPECT_EQ(hashed->version(), version);
        EXPECT_EQ(hashed->typed().types(), typed.types());
        EXPECT_EQ(hashed->typed().primary_type(), typed.primary_type());
        EXPECT_EQ(hashed->typed().domain(), typed.domain());
        EXPECT_EQ(hashed->typed().message(), typed.message());
        EXPECT_EQ(hashed->domain_separator(), *domain_separator(typed, version));
        if (typed.primary_type() == kDomainTypeName) {
            EXPECT_FALSE(hashed->message_hash());
        } else {
            ASSERT_TRUE(hashed->message_hash());
            auto message_hash =
                hash_struct(typed, typed.primary_type(), json::value(typed.message()), version);
            ASSERT_TRUE(message_hash);
            EXPECT_EQ(*hashed->message_hash(), *message_hash);
        }
        EXPECT_EQ(hashed->digest(), *signing_hash(typed, version));
        EXPECT_EQ(hex_encode(hashed->digest()), digest_hex);
        const auto signature = sign(key, *hashed);
        EXPECT_EQ(hex_encode(signature.to_rsv()), signature_hex);
        EXPECT_EQ(signature, *sign(key, typed, version));
    };

    std::size_t run = 0;
    for (const auto& value : vectors.at("cases").as_array()) {
        const auto& c = value.as_object();
        const std::string version(c.at("version").as_string());
        if (version == "V1") continue;  // legacy documents have no EIP-712 structure
        SCOPED_TRACE(std::string(c.at("name").as_string()));
        const auto* expected = c.if_contains("signingHash");
        if (expected == nullptr) expected = c.if_contains("signingHash_derived");
        ASSERT_NE(expected, nullptr);
        const TypedData typed = must_parse(json::serialize(c.at("typedData")));
        check(typed, version == "V3" ? Version::V3 : Version::V4,
              std::string(expected->as_string()), std::string(c.at("signature").as_string()));
        ++run;
    }
    EXPECT_EQ(run, 6u);

    const auto mail = test::load_json("eip712-mail-example.json");
    const TypedData typed = must_parse(json::serialize(mail.at("typedData")));
    const auto mail_key = key_from_hex(mail.at("privateKey").as_string());
    for (Version version : {Version::V3, Version::V4}) {
        auto hashed = hash_typed_data(typed, version);
        ASSERT_TRUE(hashed);
        EXPECT_EQ(hex_encode(hashed->domain_separator()),
                  std::string(mail.at("domainSeparator").as_string()));
        ASSERT_TRUE(hashed->message_hash());
        EXPECT_EQ(hex_encode(*hashed->message_hash()),
                  std::string(mail.at("hashStruct_Mail").as_string()));
        EXPECT_EQ(hex_encode(hashed->digest()), std::string(mail.at("signingHash").as_string()));
        EXPECT_EQ(hex_encode(sign(mail_key, *hashed).to_rsv()),
                  std::string(mail.at("signature").as_string()));
        ++run;
    }
    EXPECT_EQ(run, 8u);
}

// The digest of `text` computed on a thread of its own: nothing remembered from earlier calls.
Hash32 digest_on_a_new_thread(const std::string& text, Version version) {
    Hash32 out{};
    std::thread([&] {
        auto digest = signing_hash(must_parse(text), version);
        EXPECT_TRUE(digest) << text;
        if (digest) out = *digest;
    }).join();
    return out;
}

Hash32 digest_here(const std::string& text, Version version) {
    auto digest = signing_hash(must_parse(text), version);
    EXPECT_TRUE(digest) << text;
    return digest ? *digest : Hash32{};
}

// Type hashes and domain separators are remembered per thread (HashMemo): whatever a thread
// hashed before, each document must digest exactly as it does on a thread that hashed nothing.
TEST(Eip712, RememberedTypeHashesAndDomainSeparatorsFollowEveryChange) {
    const auto mail = test::load_json("eip712-mail-example.json");
    const json::value base = mail.at("typedData");
    const auto variant = [&](const auto& edit) {
        json::value copy = base;
        edit(copy.as_object());
        return json::serialize(copy);
    };
    const std::vector<std::string> docs = {
        json::serialize(base),
        variant([](json::object& d) { d["domain"].as_object()["chainId"] = 2; }),
        variant([](json::object& d) { d["domain"].as_object()["name"] = "Ether Mail 2"; }),
        // The same domain values under the domain's members in another order.
        variant([](json::object& d) {
            auto& fields = d["types"].as_object()["EIP712Domain"].as_array();
            std::swap(fields[1], fields[2]);
        }),
        // A member renamed in a type the message uses (and in the message).
        variant([](json::object& d) {
            d["types"].as_object()["Person"].as_array()[1].as_object()["name"] = "account";
            for (const char* who : {"from", "to"}) {
                auto& person = d["message"].as_object()[who].as_object();
                person["account"] = person["wallet"];
                person.erase("wallet");
            }
        }),
    };
    for (Version version : {Version::V3, Version::V4}) {
        std::vector<Hash32> fresh;
        for (const auto& text : docs)
            fresh.push_back(digest_on_a_new_thread(text, version));
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            for (std::size_t j = i + 1; j < fresh.size(); ++j)
                EXPECT_NE(fresh[i], fresh[j]) << i << " and " << j;
        }
        EXPECT_EQ(hex_encode(fresh[0]), std::string(mail.at("signingHash").as_string()));
        // Interleaved, each one twice, on one thread.
        for (int round = 0; round < 2; ++round) {
            for (std::size_t i = 0; i < docs.size(); ++i)
                EXPECT_EQ(digest_here(docs[i], version), fresh[i]) << "document " << i;
        }
        // More distinct domains than a thread keeps (64), then the first document again.
        for (std::size_t i = 0; i < 200; ++i) {
            const std::string text = variant([i](json::object& d) {
                d["domain"].as_object()["name"] = "app " + std::to_string(i);
            });
            if (i % 37 == 0)
                EXPECT_EQ(digest_here(text, version), digest_on_a_new_thread(text, version));
            else
                digest_here(text, version);
        }
        EXPECT_EQ(digest_here(docs[0], version), fresh[0]);
    }
}

// Documents with equal "types" share one validated schema per thread (with the layouts worked
// out once); any difference in the types gives another one, and the digests stay those of a
// thread that remembered nothing.
TEST(Eip712, EqualTypesShareOneSchema) {
    const auto mail = test::load_json("eip712-mail-example.json");
    const std::string text = json::serialize(mail.at("typedData"));
    const TypedData first = must_parse(text);
    const TypedData second = must_parse(text);
    EXPECT_EQ(&first.schema(), &second.schema());

    json::value renamed = mail.at("typedData");
    renamed.as_object()["types"].as_object()["Mail"].as_array()[2].as_object()["name"] = "body";
    auto& message = renamed.as_object()["message"].as_object();
    message["body"] = message["contents"];
    message.erase("contents");
    const std::string renamed_text = json::serialize(renamed);
    const TypedData other = must_parse(renamed_text);
    EXPECT_NE(&other.schema(), &first.schema());
    EXPECT_EQ(digest_here(renamed_text, Version::V4),
              digest_on_a_new_thread(renamed_text, Version::V4));

    // The same definitions with the keys of "types" in another order: equal as JSON, and it
    // must digest the same whether or not it shares the schema.
    json::value reordered = mail.at("typedData");
    json::object types_reversed;
    const auto& types = reordered.as_object()["types"].as_object();
    for (auto it = types.end(); it != types.begin();) {
        --it;
        types_reversed[it->key()] = it->value();
    }
    reordered.as_object()["types"] = std::move(types_reversed);
    const std::string reordered_text = json::serialize(reordered);
    EXPECT_NE(reordered_text, text);
    EXPECT_EQ(hex_encode(digest_here(reordered_text, Version::V4)),
              std::string(mail.at("signingHash").as_string()));

    // A schema with more members than a thread remembers is validated per document.
    json::value large = mail.at("typedData");
    json::array members;
    for (int i = 0; i < 70; ++i)
        members.push_back(json::object{{"name", "f" + std::to_string(i)}, {"type", "uint8"}});
    large.as_object()["types"].as_object()["Unused"] = std::move(members);
    const std::string large_text = json::serialize(large);
    EXPECT_NE(&must_parse(large_text).schema(), &must_parse(large_text).schema());
    // An unused definition changes no encodeType: the Mail example's digest.
    EXPECT_EQ(hex_encode(digest_here(large_text, Version::V4)),
              std::string(mail.at("signingHash").as_string()));
}

TEST(Eip712, HashedTypedDataFailsWhereSigningHashFails) {
    const TypedData typed = must_parse(one_field("uint8[]", "[1, 2]"));
    auto v3 = hash_typed_data(typed, Version::V3);
    ASSERT_FALSE(v3);
    EXPECT_EQ(v3.error().code, ErrorCode::NotSupported);
    EXPECT_EQ(v3.error().detail, signing_hash(typed, Version::V3).error().detail);
    const TypedData out_of_range = must_parse(one_field("uint8", "256"));
    auto v4 = hash_typed_data(out_of_range, Version::V4);
    ASSERT_FALSE(v4);
    EXPECT_EQ(v4.error().code, ErrorCode::OutOfRange);
    EXPECT_EQ(v4.error().detail, signing_hash(out_of_range, Version::V4).error().detail);
}

TEST(Eip712, MinimalMessageDigestIsDomainOnly) {
    const TypedData typed = must_parse(doc(R"({"EIP712Domain":[]})", "EIP712Domain", "{}"));
    // hashStruct of a member-less struct is the hash of its type hash alone.
    const Hash32 separator = keccak_of({keccak_text("EIP712Domain()")});
    EXPECT_EQ(*domain_separator(typed, Version::V4), separator);
    const std::uint8_t prefix[2] = {0x19, 0x01};
    EXPECT_EQ(*signing_hash(typed, Version::V4), keccak_of({prefix, separator}));
}

TEST(Eip712, MissingDomainTypeIsEmptyStruct) {
    const TypedData typed =
        must_parse(doc(R"({"M":[{"name":"a","type":"bool"}]})", "M", R"({"a":true})"));
    ASSERT_NE(typed.find_type("EIP712Domain"), nullptr);
    EXPECT_TRUE(typed.find_type("EIP712Domain")->empty());
    EXPECT_EQ(*domain_separator(typed, Version::V4), keccak_of({keccak_text("EIP712Domain()")}));
}

// ---------------------------------------------------------------------------------------------
// encodeType

TEST(Eip712, EncodeTypeSortsDependenciesByName) {
    const TypedData typed = must_parse(doc(R"({
        "Zed": [{"name":"b","type":"Beta[][2]"},{"name":"a","type":"Alpha"}],
        "Beta": [{"name":"x","type":"Alpha"}],
        "Alpha": [{"name":"n","type":"uint8"}],
        "Unused": []})",
                                           "Zed", "{}"));
    EXPECT_EQ(*encode_type(typed, "Zed"), "Zed(Beta[][2] b,Alpha a)Alpha(uint8 n)Beta(Alpha x)");
    EXPECT_EQ(*encode_type(typed, "Beta"), "Beta(Alpha x)Alpha(uint8 n)");
    EXPECT_EQ(*encode_type(typed, "Unused"), "Unused()");
    auto unknown = encode_type(typed, "Nope");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, ErrorCode::InvalidArgument);
}

TEST(Eip712, CyclicTypesTerminate) {
    const TypedData typed = must_parse(doc(R"({
        "A": [{"name":"b","type":"B[]"}],
        "B": [{"name":"a","type":"A"},{"name":"self","type":"B"}]})",
                                           "A", R"({"b":[]})"));
    EXPECT_EQ(*encode_type(typed, "A"), "A(B[] b)B(A a,B self)");
    EXPECT_EQ(*encode_type(typed, "B"), "B(A a,B self)A(B[] b)");
}

TEST(Eip712, SelfReferenceThroughArraysHashesEachLevel) {
    const std::string types = R"({"EIP712Domain":[],"Tree":[{"name":"kids","type":"Tree[]"}]})";
    const TypedData typed = must_parse(doc(types, "Tree", R"({"kids":[{"kids":[]},{"kids":[]}]})"));
    const Hash32 tree_type = keccak_text("Tree(Tree[] kids)");
    const Hash32 leaf = keccak_of({tree_type, keccak256({})});
    const Hash32 root = keccak_of({tree_type, keccak_of({leaf, leaf})});
    EXPECT_EQ(*hash_struct(typed, "Tree", json::value(typed.message()), Version::V4), root);
}

// ---------------------------------------------------------------------------------------------
// Atomic values

TEST(Eip712, IntegerEncodingAndRanges) {
    EXPECT_EQ(*encode_one("uint8", "255"), u256_to_be32(255));
    EXPECT_EQ(*encode_one("uint8", R"("0xff")"), u256_to_be32(255));
    EXPECT_EQ(*encode_one("uint8", R"("0XFF")"), u256_to_be32(255));
    EXPECT_EQ(*encode_one("uint16", R"("00042")"), u256_to_be32(42));
    EXPECT_EQ(*encode_one("uint16", "1e3"), u256_to_be32(1000));  // integral double
    EXPECT_EQ(*encode_one("uint16", "7.0"), u256_to_be32(7));
    EXPECT_EQ(*encode_one("int8", "127"), u256_to_be32(127));
    EXPECT_EQ(*encode_one("int8", R"("-0")"), Hash32{});
    Hash32 minus_one;
    minus_one.fill(0xff);
    EXPECT_EQ(*encode_one("int256", "-1"), minus_one);
    Hash32 minus_128 = minus_one;
    minus_128[31] = 0x80;
    EXPECT_EQ(*encode_one("int8", "-128"), minus_128);
    EXPECT_EQ(*encode_one("int8", R"("-128")"), minus_128);
    // The extremes of 256 bits.
    const std::string max_uint256 =
        "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"";
    EXPECT_EQ(*encode_one("uint256", max_uint256), minus_one);
    Hash32 min_int256{};
    min_int256[0] = 0x80;
    const std::string min_int =
        "\"-57896044618658097711785492504343953926634992332820282019728792003956564819968\"";
    EXPECT_EQ(*encode_one("int256", min_int), min_int256);
    // JavaScript's largest safe integer is accepted as a number.
    EXPECT_EQ(*encode_one("uint64", "9007199254740991"), u256_to_be32(9007199254740991ULL));
    EXPECT_EQ(*encode_one("uint64", R"("18446744073709551615")"),
              u256_to_be32(18446744073709551615ULL));

    const std::string too_big = max_uint256.substr(0, max_uint256.size() - 2) + "6\"";
    const std::string too_small = min_int.substr(0, min_int.size() - 2) + "9\"";
    for (const auto& [type, value] : std::vector<std::pair<std::string, std::string>>{
             {"uint8", "256"},
             {"uint8", R"("0x100")"},
             {"int8", "-129"},
             {"int8", "128"},
             {"uint8", "-1"},
             {"uint8", R"("-1")"},
             {"uint256", too_big},
             {"int256", too_small},
             {"uint64", "9007199254740992"},  // beyond 2^53 - 1: unsafe in JavaScript
             {"int64", "-9007199254740992"},
             {"uint64", "18446744073709551615"},  // parsed as uint64, still unsafe
             {"uint256", "1e300"}}) {
        auto r = encode_one(type, value);
        ASSERT_FALSE(r) << type << " = " << value;
        EXPECT_EQ(r.error().code, ErrorCode::OutOfRange) << type << " = " << value;
    }
    for (auto [type, value] :
         std::initializer_list<std::pair<const char*, const char*>>{{"uint8", "1.5"},
                                                                    {"int8", "-0.25"},
                                                                    {"uint8", R"("")"},
                                                                    {"uint8", R"("1.0")"},
                                                                    {"uint8", R"(" 1")"},
                                                                    {"uint8", R"("+1")"},
                                                                    {"int8", R"("-0x1")"},
                                                                    {"uint8", R"("0x")"},
                                                                    {"uint8", "true"},
                                                                    {"uint8", "[1]"}}) {
        auto r = encode_one(type, value);
        ASSERT_FALSE(r) << type << " = " << value;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << type << " = " << value;
    }
}

TEST(Eip712, FloatErrorNamesTheField) {
    auto r = encode_one("uint8", "1.5");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("T.v"), std::string::npos) << r.error().detail;
}

TEST(Eip712, AddressAnyCaseNoChecksum) {
    Hash32 expected{};
    for (std::size_t i = 12; i < 32; ++i)
        expected[i] = 0xab;
    EXPECT_EQ(*encode_one("address", "\"0xabababababababababababababababababababab\""), expected);
    EXPECT_EQ(*encode_one("address", "\"0xABABABABABABABABABABABABABABABABABABABAB\""), expected);
    // Mixed case with a wrong EIP-55 checksum: accepted, as MetaMask does.
    EXPECT_TRUE(encode_one("address", "\"0xDD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\""));
    for (const char* bad :
         {"\"abababababababababababababababababababab\"",
          "\"0xababababababababababababababababababab\"", "\"0xzz\"", "1", "true"}) {
        auto r = encode_one("address", bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << bad;
    }
}

TEST(Eip712, BoolOnlyTrueOrFalse) {
    Hash32 one{};
    one[31] = 1;
    EXPECT_EQ(*encode_one("bool", "true"), one);
    EXPECT_EQ(*encode_one("bool", "false"), Hash32{});
    for (const char* bad : {"1", "0", R"("true")", R"("false")"}) {
        auto r = encode_one("bool", bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << bad;
    }
}

TEST(Eip712, FixedBytesExactLengthRightPadded) {
    Hash32 expected{};
    expected[0] = 0xde;
    expected[1] = 0xad;
    expected[2] = 0xbe;
    expected[3] = 0xef;
    EXPECT_EQ(*encode_one("bytes4", R"("0xdeadbeef")"), expected);
    EXPECT_EQ(*encode_one("bytes4", R"("0xDEADBEEF")"), expected);
    Hash32 full;
    full.fill(0x11);
    EXPECT_EQ(*encode_one("bytes32", "\"0x" + std::string(64, '1') + "\""), full);

    auto short_value = encode_one("bytes4", R"("0xdeadbe")");
    ASSERT_FALSE(short_value);
    EXPECT_EQ(short_value.error().code, ErrorCode::InvalidArgument);
    auto long_value = encode_one("bytes4", R"("0xdeadbeef00")");
    ASSERT_FALSE(long_value);
    EXPECT_EQ(long_value.error().code, ErrorCode::InvalidArgument);
    for (const char* bad : {R"("deadbeef")", R"("0xdeadbee")", "3735928559"}) {
        auto r = encode_one("bytes4", bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << bad;
    }
}

TEST(Eip712, DynamicBytesAndStringsAreHashed) {
    EXPECT_EQ(*encode_one("bytes", R"("0x")"), keccak256({}));
    const Bytes payload = {0x01, 0x02, 0xff};
    EXPECT_EQ(*encode_one("bytes", R"("0x0102FF")"), keccak256(payload));
    EXPECT_EQ(*encode_one("string", R"("h\u00e9llo")"), keccak_text("h\xc3\xa9llo"));
    EXPECT_EQ(*encode_one("string", R"("0x1234")"), keccak_text("0x1234"));  // text, not hex
    for (auto [type, value] :
         std::initializer_list<std::pair<const char*, const char*>>{{"bytes", R"("hello")"},
                                                                    {"bytes", R"("0x123")"},
                                                                    {"bytes", "12"},
                                                                    {"string", "12"},
                                                                    {"string", "true"}}) {
        auto r = encode_one(type, value);
        ASSERT_FALSE(r) << type << " = " << value;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << type << " = " << value;
    }
}

TEST(Eip712, NullAtomicValuesAreRefused) {
    for (const char* type : {"string", "uint8", "address", "bytes", "uint8[]"}) {
        auto r = encode_one(type, "null");
        ASSERT_FALSE(r) << type;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument) << type;
    }
}

// ---------------------------------------------------------------------------------------------
// Arrays and structs

TEST(Eip712, NestedArraysHashElementsInOrder) {
    auto word = encode_one("uint8[2][]", "[[1,2],[3,4]]");
    ASSERT_TRUE(word) << word.error().to_string();
    const Hash32 first = keccak_of({u256_to_be32(1), u256_to_be32(2)});
    const Hash32 second = keccak_of({u256_to_be32(3), u256_to_be32(4)});
    EXPECT_EQ(*word, keccak_of({first, second}));
    EXPECT_EQ(*encode_one("string[]", "[]"), keccak256({}));
    EXPECT_EQ(*encode_one("string[][1]", R"([["a"]])"), keccak_of({keccak_of({keccak_text("a")})}));
}

TEST(Eip712, FixedArrayLengthIsChecked) {
    for (const char* bad : {"[[1,2,3]]", "[[1]]", "[]"}) {
        auto r = encode_one("uint8[2][1]", bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument) << bad;
    }
    auto r = encode_one("uint8[2][]", "[[1,2],[3]]");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("T.v[1]"), std::string::npos) << r.error().detail;
}

TEST(Eip712, ArrayValueMustBeArray) {
    auto r = encode_one("uint8[]", "1");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat);
}

TEST(Eip712, StructsInArraysAreHashStructs) {
    const std::string types = R"({"EIP712Domain":[],
        "P":[{"name":"n","type":"uint8"}],
        "M":[{"name":"ps","type":"P[]"}]})";
    const TypedData typed = must_parse(doc(types, "M", R"({"ps":[{"n":1},null,{"n":2}]})"));
    const Hash32 p_type = keccak_text("P(uint8 n)");
    const Hash32 p1 = keccak_of({p_type, u256_to_be32(1)});
    const Hash32 p2 = keccak_of({p_type, u256_to_be32(2)});
    const Hash32 expected =
        keccak_of({keccak_text("M(P[] ps)P(uint8 n)"), keccak_of({p1, Hash32{}, p2})});
    EXPECT_EQ(*hash_struct(typed, "M", json::value(typed.message()), Version::V4), expected);
}

TEST(Eip712, V4MissingStructIsZeroButMissingAtomicFails) {
    const std::string types = R"({"EIP712Domain":[],
        "P":[{"name":"n","type":"uint8"}],
        "M":[{"name":"p","type":"P"},{"name":"s","type":"string"}]})";
    const Hash32 m_type = keccak_text("M(P p,string s)P(uint8 n)");
    for (const char* message : {R"({"s":"x"})", R"({"p":null,"s":"x"})"}) {
        const TypedData typed = must_parse(doc(types, "M", message));
        EXPECT_EQ(*hash_struct(typed, "M", json::value(typed.message()), Version::V4),
                  keccak_of({m_type, Hash32{}, keccak_text("x")}))
            << message;
    }
    auto missing_atomic = failure(doc(types, "M", R"({"p":{"n":1}})"));
    EXPECT_EQ(missing_atomic.code, ErrorCode::InvalidArgument);
    EXPECT_NE(missing_atomic.detail.find("message.s"), std::string::npos);
    auto missing_nested = failure(doc(types, "M", R"({"p":{},"s":"x"})"));
    EXPECT_EQ(missing_nested.code, ErrorCode::InvalidArgument);
    EXPECT_NE(missing_nested.detail.find("message.p.n"), std::string::npos);
}

TEST(Eip712, V3OmitsMissingMembersAndRefusesNullStructs) {
    const std::string types = R"({"EIP712Domain":[],
        "P":[{"name":"n","type":"uint8"}],
        "M":[{"name":"p","type":"P"},{"name":"s","type":"string"}]})";
    const TypedData typed = must_parse(doc(types, "M", R"({"s":"x"})"));
    auto data = encode_data(typed, "M", json::value(typed.message()), Version::V3);
    ASSERT_TRUE(data);
    EXPECT_EQ(*data, concat({keccak_text("M(P p,string s)P(uint8 n)"), keccak_text("x")}));

    auto null_struct = failure(doc(types, "M", R"({"p":null,"s":"x"})"), Version::V3);
    EXPECT_EQ(null_struct.code, ErrorCode::InvalidArgument);
}

TEST(Eip712, V3RefusesArraysWithNotSupported) {
    const auto vectors = test::load_json("metamask-eth-sig-util-vectors.json");
    const auto& array_case = vectors.at("cases").as_array().at(3);
    ASSERT_NE(std::string(array_case.at("name").as_string()).find("array"), std::string::npos);
    auto typed = parse(array_case.at("typedData"));
    ASSERT_TRUE(typed);
    auto v3 = signing_hash(*typed, Version::V3);
    ASSERT_FALSE(v3);
    EXPECT_EQ(v3.error().code, ErrorCode::NotSupported);
    EXPECT_TRUE(signing_hash(*typed, Version::V4));

    auto direct = encode_one("uint8[]", "[1]", Version::V3);
    ASSERT_FALSE(direct);
    EXPECT_EQ(direct.error().code, ErrorCode::NotSupported);
}

TEST(Eip712, RecursiveVectorDiffersBetweenV3AndV4) {
    // V3 leaves the inner replyTo out; V4 encodes it as a zero word.
    const auto vectors = test::load_json("metamask-eth-sig-util-vectors.json");
    const auto& recursive = vectors.at("cases").as_array().at(2);
    auto typed = parse(recursive.at("typedData"));
    ASSERT_TRUE(typed);
    auto v3 = signing_hash(*typed, Version::V3);
    auto v4 = signing_hash(*typed, Version::V4);
    ASSERT_TRUE(v3);
    ASSERT_TRUE(v4);
    EXPECT_NE(*v3, *v4);
    EXPECT_EQ(hex_encode(*v4), std::string(recursive.at("signingHash_derived").as_string()));
}

// The attack: a wallet shows every key of the message, the hash covers only declared members.
TEST(Eip712, ExtraMessageKeysAreRefusedAtTheTopLevel) {
    const std::string types = R"({"EIP712Domain":[{"name":"name","type":"string"}],
        "Permit":[{"name":"owner","type":"address"},{"name":"spender","type":"address"},
                  {"name":"value","type":"uint256"}]})";
    const std::string message = R"({"owner":"0x29C76e6aD8f28BB1004902578Fb108c507Be341b",
        "spender":"0x1111111111111111111111111111111111111111",
        "value":"115792089237316195423570985008687907853269984665640564039457584007913129639935",
        "note":"Approve 1 USDC"})";
    const std::string text = doc(types, "Permit", message, R"({"name":"USD Coin"})");
    for (Version version : {Version::V4, Version::V3}) {
        const Error e = failure(text, version);
        EXPECT_EQ(e.code, ErrorCode::InvalidArgument);
        EXPECT_NE(e.detail.find("message.note: extra data provided in the message"),
                  std::string::npos)
            << e.detail;
        EXPECT_NE(e.detail.find("'Permit'"), std::string::npos) << e.detail;
    }
    const TypedData typed = must_parse(text);
    EXPECT_FALSE(hash_typed_data(typed, Version::V4));
    EXPECT_FALSE(encode_data(typed, "Permit", json::value(typed.message()), Version::V4));
    EXPECT_FALSE(hash_struct(typed, "Permit", json::value(typed.message()), Version::V4));
    EXPECT_FALSE(recover_signer(typed, Version::V4, Bytes(65, 0)));

    // The same document without the note is signed.
    json::value clean = json::parse(text);
    clean.at("message").as_object().erase("note");
    EXPECT_TRUE(hash_typed_data(must_parse(json::serialize(clean)), Version::V4));
}

TEST(Eip712, ExtraKeysAreRefusedInNestedStructs) {
    const std::string types = R"({"EIP712Domain":[],
        "P":[{"name":"n","type":"uint8"}],
        "M":[{"name":"p","type":"P"},{"name":"s","type":"string"}]})";
    for (Version version : {Version::V4, Version::V3}) {
        const Error e = failure(doc(types, "M", R"({"p":{"n":1,"x":2},"s":"a"})"), version);
        EXPECT_EQ(e.code, ErrorCode::InvalidArgument);
        EXPECT_NE(e.detail.find("message.p.x: extra data provided in the message"),
                  std::string::npos)
            << e.detail;
        EXPECT_NE(e.detail.find("struct 'P'"), std::string::npos) << e.detail;
    }
    // A key in place of a member that is absent is still an extra key (V3 omits absent members).
    const Error swapped = failure(doc(types, "M", R"({"p":{"m":1},"s":"a"})"), Version::V3);
    EXPECT_NE(swapped.detail.find("message.p.m"), std::string::npos) << swapped.detail;
}

TEST(Eip712, ExtraKeysAreRefusedInArraysOfStructs) {
    const std::string types = R"({"EIP712Domain":[],
        "P":[{"name":"n","type":"uint8"}],
        "M":[{"name":"ps","type":"P[]"},{"name":"grid","type":"P[2][]"}]})";
    const Error in_list =
        failure(doc(types, "M", R"({"ps":[{"n":1},{"n":2,"to":"me"}],"grid":[]})"));
    EXPECT_EQ(in_list.code, ErrorCode::InvalidArgument);
    EXPECT_NE(in_list.detail.find("message.ps[1].to: extra data"), std::string::npos)
        << in_list.detail;
    const Error in_grid =
        failure(doc(types, "M", R"({"ps":[],"grid":[[{"n":1},{"n":2}],[{"n":3},{"n":4,"":0}]]})"));
    EXPECT_EQ(in_grid.code, ErrorCode::InvalidArgument);
    EXPECT_NE(in_grid.detail.find("message.grid[1][1].: extra data"), std::string::npos)
        << in_grid.detail;
    EXPECT_TRUE(
        signing_hash(must_parse(doc(types, "M", R"({"ps":[{"n":1}],"grid":[[{"n":1},{"n":2}]]})")),
                     Version::V4));
}

TEST(Eip712, ExtraKeysAreRefusedInTheDomain) {
    const std::string types = R"({"EIP712Domain":[{"name":"name","type":"string"}],"M":[]})";
    auto extra = parse(doc(types, "M", "{}", R"({"name":"x","verifyingContract":"0x00"})"));
    ASSERT_FALSE(extra);
    EXPECT_EQ(extra.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(extra.error().detail.find("domain.verifyingContract: extra data provided"),
              std::string::npos)
        << extra.error().detail;
}

TEST(Eip712, DomainOnlyDocumentMustHaveAnEmptyMessage) {
    // eth-sig-util hashes only the domain when primaryType is EIP712Domain.
    const std::string types = R"({"EIP712Domain":[{"name":"name","type":"string"}]})";
    auto shown = parse(doc(types, "EIP712Domain", R"({"name":"other"})", R"({"name":"x"})"));
    ASSERT_FALSE(shown);
    EXPECT_EQ(shown.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(shown.error().detail.find("message:"), std::string::npos) << shown.error().detail;
    EXPECT_TRUE(
        signing_hash(must_parse(doc(types, "EIP712Domain", "{}", R"({"name":"x"})")), Version::V4));
}

TEST(Eip712, StructValueMustBeObject) {
    const std::string types = R"({"EIP712Domain":[],
        "P":[{"name":"n","type":"uint8"}],"M":[{"name":"p","type":"P"}]})";
    auto e = failure(doc(types, "M", R"({"p":[1]})"));
    EXPECT_EQ(e.code, ErrorCode::InvalidFormat);
    EXPECT_NE(e.detail.find("message.p"), std::string::npos);
}

TEST(Eip712, DomainValuesAreEncodedAndUndeclaredKeysRefused) {
    const std::string types = R"({"EIP712Domain":[{"name":"name","type":"string"},
        {"name":"chainId","type":"uint256"}],"M":[]})";
    const TypedData typed = must_parse(doc(types, "M", "{}", R"({"name":"x","chainId":"0x1"})"));
    EXPECT_EQ(*domain_separator(typed, Version::V4),
              keccak_of({keccak_text("EIP712Domain(string name,uint256 chainId)"), keccak_text("x"),
                         u256_to_be32(1)}));

    auto extra = parse(doc(types, "M", "{}", R"({"name":"x","chainId":1,"salt":"0x00"})"));
    ASSERT_FALSE(extra);
    EXPECT_EQ(extra.error().code, ErrorCode::InvalidArgument);
    auto no_domain_type = parse(doc(R"({"M":[]})", "M", "{}", R"({"chainId":1})"));
    ASSERT_FALSE(no_domain_type);
    EXPECT_EQ(no_domain_type.error().code, ErrorCode::InvalidArgument);

    auto missing = failure(doc(types, "M", "{}", R"({"name":"x"})"));
    EXPECT_EQ(missing.code, ErrorCode::InvalidArgument);
    EXPECT_NE(missing.detail.find("domain.chainId"), std::string::npos);
}

TEST(Eip712, DomainMayNotContainStructs) {
    auto r = parse(doc(R"({"EIP712Domain":[{"name":"p","type":"P"}],"P":[]})", "P", "{}"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::NotSupported);
}

// ---------------------------------------------------------------------------------------------
// Document validation

TEST(Eip712, RejectsUnknownTypes) {
    auto r = parse(doc(R"({"EIP712Domain":[],"M":[{"name":"p","type":"Person"}]})", "M", "{}"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().detail.find("types.M[0].type"), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find("Person"), std::string::npos);
    auto in_array = parse(doc(R"({"M":[{"name":"p","type":"Person[2]"}]})", "M", "{}"));
    ASSERT_FALSE(in_array);
    EXPECT_EQ(in_array.error().code, ErrorCode::InvalidArgument);
}

TEST(Eip712, RejectsMalformedTypeStrings) {
    for (const char* type :
         {"uint7",     "uint",        "int",      "uint264",           "uint08",    "bytes0",
          "bytes33",   "bytes01",     "uint8[0]", "uint8[01]",         "uint8[-1]", "uint8[",
          "uint8]",    "[]",          "uint8[2",  "uint8[[]]",         "uint8[]x",  "",
          "two words", "fixed128x18", "function", "uint8[99999999999]"}) {
        auto r = parse(one_field(type, "1"));
        ASSERT_FALSE(r) << type;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << type << ": " << r.error().detail;
    }
}

TEST(Eip712, RejectsBadNames) {
    for (const char* types :
         {R"({"uint256":[]})", R"({"bytes3":[]})", R"({"9Lives":[]})", R"({"A-B":[]})",
          R"({"A$":[]})", R"({"":[]})", R"({"M":[{"name":"a b","type":"bool"}]})",
          R"({"M":[{"name":"","type":"bool"}]})"}) {
        auto r = parse(doc(types, "M", "{}"));
        ASSERT_FALSE(r) << types;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << types << ": " << r.error().detail;
    }
    // Echoed names are cut short and kept to printable ASCII.
    auto odd = parse(doc("{\"\xc3\x84" + std::string(100, 'x') + "\":[]}", "M", "{}"));
    ASSERT_FALSE(odd);
    EXPECT_NE(odd.error().detail.find("'\\xc3\\x84xx"), std::string::npos) << odd.error().detail;
    EXPECT_NE(odd.error().detail.find("...'"), std::string::npos) << odd.error().detail;
    EXPECT_LT(odd.error().detail.size(), 200u);
    // '$' is fine in member names.
    EXPECT_TRUE(parse(doc(R"({"M":[{"name":"$x","type":"bool"}]})", "M", "{}")));
}

TEST(Eip712, RejectsDuplicateMembers) {
    auto r =
        parse(doc(R"({"M":[{"name":"a","type":"bool"},{"name":"a","type":"uint8"}]})", "M", "{}"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().detail.find("types.M[1]"), std::string::npos) << r.error().detail;
}

TEST(Eip712, PrimaryTypeMustBePresentAndDefined) {
    auto missing = parse(R"({"types":{"M":[]},"domain":{},"message":{}})");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::InvalidFormat);
    EXPECT_NE(missing.error().detail.find("primaryType"), std::string::npos);

    auto undefined = parse(doc(R"({"M":[]})", "N", "{}"));
    ASSERT_FALSE(undefined);
    EXPECT_EQ(undefined.error().code, ErrorCode::InvalidArgument);

    auto not_string = parse(R"({"types":{"M":[]},"primaryType":1,"domain":{},"message":{}})");
    ASSERT_FALSE(not_string);
    EXPECT_EQ(not_string.error().code, ErrorCode::InvalidFormat);
}

TEST(Eip712, RejectsWrongJsonKinds) {
    for (const std::string& text : std::initializer_list<std::string>{
             "[]",
             "\"typed\"",
             R"({"primaryType":"M","domain":{},"message":{}})",
             R"({"types":[],"primaryType":"M","domain":{},"message":{}})",
             doc(R"({"M":{}})", "M", "{}"),
             doc(R"({"M":[1]})", "M", "{}"),
             doc(R"({"M":[{"name":1,"type":"bool"}]})", "M", "{}"),
             doc(R"({"M":[{"name":"a","type":true}]})", "M", "{}"),
             doc(R"({"M":[{"name":"a"}]})", "M", "{}"),
             doc(R"({"M":[{"type":"bool"}]})", "M", "{}"),
             doc(R"({"M":[]})", "M", "[]"),
             doc(R"({"M":[]})", "M", "{}", "null"),
             R"({"types":{"M":[]},"primaryType":"M","message":{}})",
             R"({"types":{"M":[]},"primaryType":"M","domain":{}})",
             R"({"types":{"M":[]},"primaryType":"M","domain":{},"message":{})",  // truncated
             R"({"types":{"M":[]},"primaryType":"M","domain":{},"message":{}} x)",
             "\"\xff\"",
         }) {
        auto r = parse(text);
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidFormat) << text << ": " << r.error().detail;
    }
}

TEST(Eip712, RefusesDeepNestingInTextAndValues) {
    // 70 levels of arrays inside the message: refused by the parser, before any tree is built.
    const std::string deep_value = std::string(70, '[') + std::string(70, ']');
    auto text = parse(one_field("uint8[]", deep_value));
    ASSERT_FALSE(text);
    EXPECT_EQ(text.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(text.error().detail.find("deeper"), std::string::npos);

    // The same limit for an already-built value, checked without recursion.
    json::value nested = json::array();
    for (int i = 0; i < 1000; ++i) {
        json::array outer;
        outer.push_back(std::move(nested));
        nested = std::move(outer);
    }
    json::object root;
    root["types"] = json::object();
    root["primaryType"] = "EIP712Domain";
    root["domain"] = json::object();
    root["message"] = json::object{{"deep", std::move(nested)}};
    auto value = parse(json::value(std::move(root)));
    ASSERT_FALSE(value);
    EXPECT_EQ(value.error().code, ErrorCode::InvalidArgument);

    // Document and message are two levels, so 62 array levels in message.v reach exactly 64.
    std::string type = "uint8";
    for (int i = 0; i < 62; ++i)
        type += "[]";
    auto at_limit = parse(one_field(type, std::string(62, '[') + std::string(62, ']')));
    ASSERT_TRUE(at_limit) << at_limit.error().to_string();
    EXPECT_TRUE(signing_hash(*at_limit, Version::V4));
    auto over_limit = parse(one_field(type + "[]", std::string(63, '[') + std::string(63, ']')));
    ASSERT_FALSE(over_limit);
    EXPECT_EQ(over_limit.error().code, ErrorCode::InvalidArgument);
}

TEST(Eip712, EncoderLimitsDepthOfCallerData) {
    // A recursive type and caller-built data 100 levels deep: hash_struct stops at kMaxDepth.
    const TypedData typed = must_parse(doc(R"({"N":[{"name":"next","type":"N"}]})", "N", "{}"));
    json::value data = json::object();
    for (int i = 0; i < 100; ++i) {
        json::object outer;
        outer["next"] = std::move(data);
        data = std::move(outer);
    }
    auto r = hash_struct(typed, "N", data, Version::V4);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().detail.find("deeper"), std::string::npos);
}

TEST(Eip712, RefusesOversizedInputAndTooManyDefinitions) {
    std::string big = one_field("string", "\"" + std::string(kMaxInputBytes, 'a') + "\"");
    auto r = parse(big);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    auto as_value = parse(json::parse(big));
    ASSERT_FALSE(as_value);
    EXPECT_EQ(as_value.error().code, ErrorCode::InvalidArgument);

    std::string types = "{";
    for (std::size_t i = 0; i <= kMaxStructTypes; ++i) {
        types += (i ? ",\"S" : "\"S") + std::to_string(i) + "\":[]";
    }
    types += "}";
    auto many = parse(doc(types, "S0", "{}"));
    ASSERT_FALSE(many);
    EXPECT_EQ(many.error().code, ErrorCode::InvalidArgument);

    std::string fields = "[";
    for (std::size_t i = 0; i <= kMaxFields; ++i) {
        fields +=
            (i ? ",{\"name\":\"f" : "{\"name\":\"f") + std::to_string(i) + "\",\"type\":\"bool\"}";
    }
    fields += "]";
    auto wide = parse(doc("{\"M\":" + fields + "}", "M", "{}"));
    ASSERT_FALSE(wide);
    EXPECT_EQ(wide.error().code, ErrorCode::InvalidArgument);

    auto long_name = parse(one_field("S" + std::string(kMaxNameLength, 's'), "{}"));
    ASSERT_FALSE(long_name);
    EXPECT_EQ(long_name.error().code, ErrorCode::InvalidArgument);
}

TEST(Eip712, SignAndRecoverRoundTrip) {
    const auto key =
        key_from_hex("0x4646464646464646464646464646464646464646464646464646464646464646");
    const TypedData typed = must_parse(one_field("int16[]", R"([-1, 2, "-300"])"));
    auto signed_ = sign(key, typed, Version::V4);
    ASSERT_TRUE(signed_);
    const auto signature = signed_->to_rsv();
    auto signer = recover_signer(typed, Version::V4, signature);
    ASSERT_TRUE(signer);
    EXPECT_EQ(*signer, PublicKey::from_private(key).address());
    auto bad = recover_signer(typed, Version::V4, ByteView(signature).first(64));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidFormat);
    // V3 cannot hash this message, so it cannot sign it either.
    auto v3 = sign(key, typed, Version::V3);
    ASSERT_FALSE(v3);
    EXPECT_EQ(v3.error().code, ErrorCode::NotSupported);
}

// ---------------------------------------------------------------------------------------------
// Legacy v1

TEST(Eip712, LegacyV1PacksValues) {
    const auto doc_v1 = json::parse(R"([
        {"type":"string","name":"message","value":"Hi"},
        {"type":"uint","name":"amount","value":"0x0102"},
        {"type":"int16","name":"delta","value":-2},
        {"type":"bool","name":"ok","value":true},
        {"type":"address","name":"to","value":"0x00000000000000000000000000000000000000aa"},
        {"type":"bytes2","name":"tag","value":"0xbeef"},
        {"type":"bytes","name":"blob","value":"0x0102"}])");
    const std::string schema =
        "string messageuint amountint16 deltabool okaddress tobytes2 tagbytes blob";
    Bytes packed = {'H', 'i'};
    const Hash32 amount = u256_to_be32(0x0102);
    packed.insert(packed.end(), amount.begin(), amount.end());
    packed.insert(packed.end(), {0xff, 0xfe, 0x01});
    packed.insert(packed.end(), 19, 0x00);
    packed.insert(packed.end(), {0xaa, 0xbe, 0xef, 0x01, 0x02});
    const Hash32 expected = keccak_of({keccak_text(schema), keccak256(packed)});
    auto digest = legacy_v1_hash(doc_v1);
    ASSERT_TRUE(digest) << digest.error().to_string();
    EXPECT_EQ(*digest, expected);
}

TEST(Eip712, LegacyV1RejectsMalformedInput) {
    const std::pair<const char*, ErrorCode> cases[] = {
        {"[]", ErrorCode::InvalidFormat},
        {"{}", ErrorCode::InvalidFormat},
        {"[1]", ErrorCode::InvalidFormat},
        {R"([{"type":"string","value":"x"}])", ErrorCode::InvalidFormat},
        {R"([{"type":"string","name":"","value":"x"}])", ErrorCode::InvalidFormat},
        {R"([{"name":"a","value":"x"}])", ErrorCode::InvalidFormat},
        {R"([{"type":"string","name":"a"}])", ErrorCode::InvalidArgument},
        {R"([{"type":"uint8[]","name":"a","value":[1]}])", ErrorCode::NotSupported},
        {R"([{"type":"Person","name":"a","value":{}}])", ErrorCode::InvalidArgument},
        {R"([{"type":"uint8","name":"a","value":256}])", ErrorCode::OutOfRange},
        {R"([{"type":"bytes","name":"a","value":"text"}])", ErrorCode::InvalidFormat},
        {R"([{"type":"string","name":"a","value":"x"})", ErrorCode::InvalidFormat},
    };
    for (const auto& [text, code] : cases) {
        auto r = legacy_v1_hash(text);
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, code) << text << ": " << r.error().detail;
    }
}

}  // namespace
}  // namespace keybridge::core::eip712
