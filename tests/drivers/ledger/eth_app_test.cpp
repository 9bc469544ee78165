#include "drivers/ledger/eth_app.h"

#include <gtest/gtest.h>

#include "core/eip712.h"
#include "core/transaction.h"
#include "tests/drivers/ledger/ledger_test_util.h"

namespace keybridge::drivers::ledger::eth {
namespace {

using core::ErrorCode;
using test::ledger::hex;
using test::ledger::kPath;

constexpr const char* kPathHex = "058000002c8000003c800000000000000000000000";

std::string h(const core::Bytes& bytes) {
    return core::hex_encode(bytes, false);
}

TEST(LedgerEthApp, ApduHeaderCarriesLcAndRefusesLongData) {
    EXPECT_EQ(h(*make_apdu(0xe0, 0x06, 0, 0)), "e006000000");
    EXPECT_EQ(h(*make_apdu(0xe0, 0x02, 1, 0, hex("aabb"))), "e002010002aabb");
    auto too_long = make_apdu(0xe0, 0x04, 0, 0, core::Bytes(256));
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().code, ErrorCode::InvalidArgument);
}

TEST(LedgerEthApp, PathIsStepCountThenBigEndianIndices) {
    EXPECT_EQ(h(*encode_path(kPath)), kPathHex);
    EXPECT_EQ(h(*encode_path("m/44'/60'/5'")), "038000002c8000003c80000005");
    EXPECT_FALSE(encode_path("m"));
    EXPECT_FALSE(encode_path("m/1/2/3/4/5/6/7/8/9/10/11"));
    EXPECT_FALSE(encode_path("44'/60'"));
}

TEST(LedgerEthApp, GetAddressApduSelectsDisplayAndChainCode) {
    EXPECT_EQ(h(*get_address_apdu(kPath, false, false)), std::string("e002000015") + kPathHex);
    EXPECT_EQ(h(*get_address_apdu(kPath, true, false)).substr(0, 8), "e0020100");
    EXPECT_EQ(h(*get_address_apdu(kPath, false, true)).substr(0, 8), "e0020001");
}

TEST(LedgerEthApp, ParsesAddressAndRefusesOneThatIsNotTheKeys) {
    const auto key = test::ledger::key_at(kPath);
    core::Bytes reply = test::ledger::address_reply(key);
    auto parsed = parse_address(reply, false);
    ASSERT_TRUE(parsed) << parsed.error().detail;
    EXPECT_EQ(parsed->address.to_checksum_string(), test::ledger::kAddress);
    EXPECT_FALSE(parsed->chain_code);

    // Upper-case hex digits are what some app versions send: accepted.
    core::Bytes upper = reply;
    for (std::size_t i = 67; i < 107; ++i)
        if (upper[i] >= 'a' && upper[i] <= 'f') upper[i] = static_cast<std::uint8_t>(upper[i] - 32);
    EXPECT_TRUE(parse_address(upper, false));

    core::Bytes lie = reply;
    lie[70] = lie[70] == '0' ? '1' : '0';  // an address that is not the key's
    auto refused = parse_address(lie, false);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::ProtocolError);

    core::Bytes with_code = reply;
    with_code.insert(with_code.end(), 32, 0x11);
    auto coded = parse_address(with_code, true);
    ASSERT_TRUE(coded);
    EXPECT_EQ((*coded->chain_code)[0], 0x11);
    EXPECT_FALSE(parse_address(with_code, false));  // trailing bytes
    EXPECT_FALSE(parse_address(reply, true));       // chain code missing
    EXPECT_FALSE(parse_address(core::ByteView(reply).first(60), false));
    EXPECT_FALSE(parse_address(core::Bytes{}, false));
    core::Bytes bad_key = reply;
    bad_key[5] ^= 0xff;  // no longer on the curve
    EXPECT_FALSE(parse_address(bad_key, false));
}

TEST(LedgerEthApp, ParsesConfigurationAndAppVersion) {
    auto config = parse_configuration(hex("01010a03"));
    ASSERT_TRUE(config);
    EXPECT_TRUE(config->blind_signing());
    EXPECT_EQ(config->version(), "1.10.3");
    EXPECT_FALSE(parse_configuration(hex("0001")));
    EXPECT_FALSE(parse_configuration(hex("00010a03"))->blind_signing());

    // format 1, "Ethereum", "1.10.3", flags 1 byte
    auto app = parse_app_and_version(hex("0108457468657265756d06312e31302e33010a"));
    ASSERT_TRUE(app) << app.error().detail;
    EXPECT_EQ(app->name, "Ethereum");
    EXPECT_EQ(app->version, "1.10.3");
    EXPECT_EQ(h(app->flags), "0a");
    EXPECT_TRUE(parse_app_and_version(hex("0105424f4c4f5305322e312e30")));
    EXPECT_FALSE(parse_app_and_version(hex("0108457468")));            // name runs past the end
    EXPECT_FALSE(parse_app_and_version(hex("0208457468657265756d")));  // unknown format
    EXPECT_FALSE(parse_app_and_version(hex("0103457468")));            // no version
    EXPECT_EQ(h(get_app_and_version_apdu()), "b001000000");
    EXPECT_EQ(h(get_configuration_apdu()), "e006000000");
}

TEST(LedgerEthApp, ComparesVersions) {
    EXPECT_TRUE(version_at_least("1.9.19", 1, 9, 19));
    EXPECT_TRUE(version_at_least("1.10.0", 1, 9, 19));
    EXPECT_TRUE(version_at_least("2.0.0-rc1", 1, 9, 19));
    EXPECT_FALSE(version_at_least("1.9.18", 1, 9, 19));
    EXPECT_FALSE(version_at_least("1.8.99", 1, 9, 19));
    EXPECT_FALSE(version_at_least("garbage", 1, 0, 0));
    EXPECT_FALSE(version_at_least("", 0, 0, 0));
}

core::Transaction legacy_tx(std::size_t data_size, core::U256 chain_id = 1) {
    core::Transaction tx;
    tx.type = core::TxType::Legacy;
    tx.chain_id = chain_id;
    tx.nonce = 1;
    tx.gas_price = 20'000'000'000ull;
    tx.gas_limit = 100000;
    tx.to = *core::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    tx.value = 1;
    tx.data = core::Bytes(data_size, 0xab);
    return tx;
}

std::size_t payload_size(const core::Transaction& tx) {
    return 21 + core::encode_unsigned(tx).size();
}

TEST(LedgerEthApp, TransactionFirstChunkCarriesThePath) {
    auto tx = legacy_tx(0);
    auto apdus = sign_transaction_apdus(kPath, tx);
    ASSERT_TRUE(apdus);
    ASSERT_EQ(apdus->size(), 1u);
    const core::Bytes expected_data = core::concat({hex(kPathHex), core::encode_unsigned(tx)});
    EXPECT_EQ(
        h((*apdus)[0]),
        "e0040000" +
            core::hex_encode(core::Bytes{static_cast<std::uint8_t>(expected_data.size())}, false) +
            h(expected_data));
}

TEST(LedgerEthApp, LegacyLastChunkIsNeverTheShortTailTheAppMisreads) {
    // Find data sizes that leave 1..3 bytes (the RLP of chain id 1, 0, 0) for a last 255 chunk.
    int checked = 0;
    for (std::size_t data = 200; data < 1200; ++data) {
        auto tx = legacy_tx(data);
        const std::size_t size = payload_size(tx);
        auto apdus = sign_transaction_apdus(kPath, tx);
        ASSERT_TRUE(apdus);
        core::Bytes joined;
        for (std::size_t i = 0; i < apdus->size(); ++i) {
            const auto& a = (*apdus)[i];
            EXPECT_EQ(a[2], i == 0 ? 0x00 : 0x80);
            EXPECT_EQ(a[4], a.size() - 5);
            EXPECT_LE(a.size() - 5, 255u);
            joined.insert(joined.end(), a.begin() + 5, a.end());
        }
        EXPECT_EQ(joined, core::concat({hex(kPathHex), core::encode_unsigned(tx)}));
        const std::size_t last = apdus->back().size() - 5;
        if (apdus->size() > 1) {
            EXPECT_GT(last, 3u) << "data " << data;
        }
        if (size % 255 >= 1 && size % 255 <= 3) {
            ++checked;
            // The chunk is the largest size below 255 that leaves a safe tail.
            const std::size_t chunk = (*apdus)[0].size() - 5;
            EXPECT_LT(chunk, 255u);
            for (std::size_t bigger = chunk + 1; bigger <= 255; ++bigger) {
                const std::size_t tail = size % bigger;
                EXPECT_TRUE(tail >= 1 && tail <= 3) << bigger;
            }
        }
    }
    EXPECT_GT(checked, 5);
}

TEST(LedgerEthApp, ChunkSizesFollowTheTailRule) {
    EXPECT_EQ(transaction_chunk_sizes(100, true, 3), (std::vector<std::size_t>{100}));
    EXPECT_EQ(transaction_chunk_sizes(510, true, 3), (std::vector<std::size_t>{255, 255}));
    EXPECT_EQ(transaction_chunk_sizes(257, false, 0), (std::vector<std::size_t>{255, 2}));
    // 257 % 255 = 2 <= 3: 254 leaves 3 (still short), 253 leaves 4.
    EXPECT_EQ(transaction_chunk_sizes(257, true, 3), (std::vector<std::size_t>{253, 4}));
    // A larger chain id makes a larger tail: 260 % 255 = 5 <= 7.
    EXPECT_EQ(transaction_chunk_sizes(260, true, 7), (std::vector<std::size_t>{252, 8}));
}

TEST(LedgerEthApp, TypedTransactionsAreCutAt255) {
    core::Transaction tx = legacy_tx(600);
    tx.type = core::TxType::Eip1559;
    tx.max_fee_per_gas = 10;
    tx.max_priority_fee_per_gas = 1;
    auto apdus = sign_transaction_apdus(kPath, tx);
    ASSERT_TRUE(apdus);
    const std::size_t size = 21 + core::encode_unsigned(tx).size();
    ASSERT_EQ(apdus->size(), (size + 254) / 255);
    for (std::size_t i = 0; i + 1 < apdus->size(); ++i)
        EXPECT_EQ((*apdus)[i].size(), 260u);
    EXPECT_EQ((*apdus)[1][5], core::encode_unsigned(tx)[255 - 21]);
}

TEST(LedgerEthApp, ReconstructsTransactionRecoveryIdFromTheTruncatedV) {
    auto tx = legacy_tx(0, 1);
    EXPECT_EQ(*transaction_recovery_id(37, tx), 0);
    EXPECT_EQ(*transaction_recovery_id(38, tx), 1);
    EXPECT_FALSE(transaction_recovery_id(27, tx));
    tx.chain_id = 137;  // 137 * 2 + 35 = 309 -> 0x35 in one byte
    EXPECT_EQ(*transaction_recovery_id(0x35, tx), 0);
    EXPECT_EQ(*transaction_recovery_id(0x36, tx), 1);
    tx.chain_id = core::U256(0x0100000000ull);  // 5 bytes: the app keeps 0x01000000
    EXPECT_EQ(*transaction_recovery_id(35, tx), 0);
    EXPECT_EQ(*transaction_recovery_id(36, tx), 1);
    tx.chain_id = core::U256(0x01020304aaull);  // keeps 0x01020304 -> 0x...08 + 35 = 0x2b
    EXPECT_EQ(*transaction_recovery_id(0x2b, tx), 0);
    EXPECT_EQ(*transaction_recovery_id(0x2c, tx), 1);
    tx.eip155 = false;
    EXPECT_EQ(*transaction_recovery_id(28, tx), 1);
    EXPECT_FALSE(transaction_recovery_id(35, tx));
    tx.type = core::TxType::Eip2930;
    EXPECT_EQ(*transaction_recovery_id(1, tx), 1);
    auto bad = transaction_recovery_id(27, tx);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::ProtocolError);
}

TEST(LedgerEthApp, PersonalMessageChunksOf150WithLengthInTheFirst) {
    core::Bytes message(300);
    for (std::size_t i = 0; i < message.size(); ++i)
        message[i] = static_cast<std::uint8_t>(i);
    auto apdus = sign_personal_message_apdus(kPath, message);
    ASSERT_TRUE(apdus);
    ASSERT_EQ(apdus->size(), 3u);
    EXPECT_EQ(h((*apdus)[0]).substr(0, 10 + 42 + 8),
              std::string("e008000096") + kPathHex + "0000012c");
    EXPECT_EQ((*apdus)[0].size(), 5u + 150);
    EXPECT_EQ(h((*apdus)[1]).substr(0, 10), "e008800096");
    EXPECT_EQ((*apdus)[1][5], 125);  // 150 - 21 - 4 bytes went first
    EXPECT_EQ(h((*apdus)[2]).substr(0, 10), "e008800019");
    auto empty = sign_personal_message_apdus(kPath, {});
    ASSERT_TRUE(empty);
    ASSERT_EQ(empty->size(), 1u);
    EXPECT_EQ(h((*empty)[0]), std::string("e008000019") + kPathHex + "00000000");
    EXPECT_EQ(*message_recovery_id(27), 0);
    EXPECT_EQ(*message_recovery_id(28), 1);
    EXPECT_FALSE(message_recovery_id(29));
}

TEST(LedgerEthApp, Eip712HashedModeSendsBothHashesAfterThePath) {
    core::Hash32 domain{}, message{};
    domain.fill(0x01);
    message.fill(0x02);
    auto apdu = sign_eip712_hashed_apdu(kPath, domain, message);
    ASSERT_TRUE(apdu);
    EXPECT_EQ(h(*apdu), std::string("e00c000055") + kPathHex + core::hex_encode(domain, false) +
                            core::hex_encode(message, false));
}

core::eip712::HashedTypedData hashed(std::string_view json) {
    auto typed = core::eip712::parse(json);
    EXPECT_TRUE(typed) << typed.error().detail;
    auto out = core::eip712::hash_typed_data(std::move(*typed), core::eip712::Version::V4);
    EXPECT_TRUE(out) << out.error().detail;
    return std::move(*out);
}

constexpr std::string_view kMail = R"({
  "types": {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                     {"name": "chainId", "type": "uint256"},
                     {"name": "verifyingContract", "type": "address"}],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
    "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"},
             {"name": "contents", "type": "string"}]
  },
  "primaryType": "Mail",
  "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
             "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {"from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
              "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
              "contents": "Hello, Bob!"}
})";

TEST(LedgerEthApp, Eip712FullModeDefinitionsInNameOrder) {
    auto apdus = eip712_full_apdus(kPath, hashed(kMail));
    ASSERT_TRUE(apdus) << apdus.error().detail;
    std::vector<std::string> defs;
    for (const auto& a : apdus->definitions)
        defs.push_back(h(a));
    const std::vector<std::string> expected = {
        "e01a00000c" + core::hex_encode(core::as_bytes("EIP712Domain"), false),
        "e01a00ff06"
        "05"
        "04" +
            core::hex_encode(core::as_bytes("name"), false),
        "e01a00ff09"
        "05"
        "07" +
            core::hex_encode(core::as_bytes("version"), false),
        "e01a00ff0a"
        "42"
        "20"
        "07" +
            core::hex_encode(core::as_bytes("chainId"), false),
        "e01a00ff13"
        "03"
        "11" +
            core::hex_encode(core::as_bytes("verifyingContract"), false),
        "e01a000004" + core::hex_encode(core::as_bytes("Mail"), false),
        "e01a00ff0d"
        "00"
        "06" +
            core::hex_encode(core::as_bytes("Person"), false) + "04" +
            core::hex_encode(core::as_bytes("from"), false),
        "e01a00ff0b"
        "00"
        "06" +
            core::hex_encode(core::as_bytes("Person"), false) + "02" +
            core::hex_encode(core::as_bytes("to"), false),
        "e01a00ff0a"
        "05"
        "08" +
            core::hex_encode(core::as_bytes("contents"), false),
        "e01a000006" + core::hex_encode(core::as_bytes("Person"), false),
        "e01a00ff06"
        "05"
        "04" +
            core::hex_encode(core::as_bytes("name"), false),
        "e01a00ff08"
        "03"
        "06" +
            core::hex_encode(core::as_bytes("wallet"), false),
    };
    EXPECT_EQ(defs, expected);
}

TEST(LedgerEthApp, Eip712FullModeImplementationsWalkDomainThenMessage) {
    auto apdus = eip712_full_apdus(kPath, hashed(kMail));
    ASSERT_TRUE(apdus);
    std::vector<std::string> impl;
    for (const auto& a : apdus->implementations)
        impl.push_back(h(a));
    auto text = [](std::string_view s) { return core::hex_encode(core::as_bytes(s), false); };
    const std::vector<std::string> expected = {
        "e01c00000c" + text("EIP712Domain"),
        "e01c00ff0c"
        "000a" +
            text("Ether Mail"),
        "e01c00ff03"
        "0001" +
            text("1"),
        "e01c00ff03"
        "0001"
        "01",
        "e01c00ff16"
        "0014"
        "cccccccccccccccccccccccccccccccccccccccc",
        "e01c000004" + text("Mail"),
        "e01c00ff05"
        "0003" +
            text("Cow"),
        "e01c00ff16"
        "0014"
        "cd2a3d9f938e13cd947ec05abc7fe734df8dd826",
        "e01c00ff05"
        "0003" +
            text("Bob"),
        "e01c00ff16"
        "0014"
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "e01c00ff0d"
        "000b" +
            text("Hello, Bob!"),
    };
    EXPECT_EQ(impl, expected);
    EXPECT_EQ(h(apdus->sign), std::string("e00c000115") + kPathHex);
}

TEST(LedgerEthApp, Eip712FullModeValueEncodings) {
    const std::string doc = std::string(R"({
      "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}],
                "T": [{"name": "a", "type": "int8"}, {"name": "b", "type": "int256"},
                      {"name": "c", "type": "uint16"}, {"name": "d", "type": "uint256"},
                      {"name": "e", "type": "bool"}, {"name": "f", "type": "bytes4"},
                      {"name": "g", "type": "bytes"}, {"name": "h", "type": "uint8[2][]"},
                      {"name": "i", "type": "string"}]},
      "primaryType": "T",
      "domain": {"chainId": "0"},
      "message": {"a": -1, "b": "-2", "c": "0x00ff", "d": "256", "e": true, "f": "0xdeadbeef",
                  "g": "0x", "h": [[1, 2], [3, 4], [5, 6]], "i": ")") +
                            std::string(300, 'x') + "\"}}";
    auto apdus = eip712_full_apdus(kPath, hashed(doc));
    ASSERT_TRUE(apdus) << apdus.error().detail;
    // Definitions of the T members.
    const auto& defs = apdus->definitions;
    EXPECT_EQ(h(defs[3]),
              "e01a00ff04"
              "4101"
              "0161");  // int8: size 1
    EXPECT_EQ(h(defs[4]),
              "e01a00ff04"
              "4120"
              "0162");  // int256
    EXPECT_EQ(h(defs[8]),
              "e01a00ff04"
              "4604"
              "0166");  // bytes4
    EXPECT_EQ(h(defs[9]),
              "e01a00ff03"
              "07"
              "0167");  // bytes
    EXPECT_EQ(h(defs[10]),
              "e01a00ff08"
              "c201"
              "02"
              "0102"
              "00"
              "0168");  // uint8[2][]
    std::vector<std::string> impl;
    for (const auto& a : apdus->implementations)
        impl.push_back(h(a));
    EXPECT_EQ(impl[1],
              "e01c00ff03"
              "0001"
              "00");  // chain id "0"
    EXPECT_EQ(impl[3],
              "e01c00ff03"
              "0001"
              "ff");  // int8 -1
    EXPECT_EQ(impl[4],
              "e01c00ff22"
              "0020" +
                  std::string(62, 'f') + "fe");  // int256 -2
    EXPECT_EQ(impl[5],
              "e01c00ff04"
              "0002"
              "00ff");  // hex as written
    EXPECT_EQ(impl[6],
              "e01c00ff04"
              "0002"
              "0100");  // 256
    EXPECT_EQ(impl[7],
              "e01c00ff03"
              "0001"
              "01");
    EXPECT_EQ(impl[8],
              "e01c00ff06"
              "0004"
              "deadbeef");
    EXPECT_EQ(impl[9],
              "e01c00ff02"
              "0000");
    EXPECT_EQ(impl[10],
              "e01c000f01"
              "03");  // outer array: 3 entries
    EXPECT_EQ(impl[11],
              "e01c000f01"
              "02");  // each inner: 2
    EXPECT_EQ(impl[12],
              "e01c00ff03"
              "0001"
              "01");
    // 300 characters + 2 length bytes = 302: 255 with P1 01, then 47 with P1 00.
    const std::string& first = impl[impl.size() - 2];
    const std::string& second = impl.back();
    EXPECT_EQ(first.substr(0, 14), "e01c01ffff012c");
    EXPECT_EQ(first.size(), 2u * (5 + 255));
    EXPECT_EQ(second.substr(0, 10), "e01c00ff2f");
}

TEST(LedgerEthApp, Eip712FullModeRefusesWhatItCannotCarry) {
    // A null struct member (v4 encodes it as zeros; the device cannot be told).
    auto null_member = eip712_full_apdus(kPath, hashed(R"({
      "types": {"EIP712Domain": [], "P": [{"name": "x", "type": "string"}],
                "T": [{"name": "p", "type": "P"}]},
      "primaryType": "T", "domain": {}, "message": {"p": null}})"));
    ASSERT_FALSE(null_member);
    EXPECT_EQ(null_member.error().code, ErrorCode::NotSupported);
    auto domain_only = eip712_full_apdus(kPath, hashed(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"}]},
      "primaryType": "EIP712Domain", "domain": {"name": "x"}, "message": {}})"));
    ASSERT_FALSE(domain_only);
    EXPECT_EQ(domain_only.error().code, ErrorCode::NotSupported);
}

TEST(LedgerEthApp, StatusWordsBecomeErrorsThatSayWhatToDo) {
    EXPECT_EQ(status_error(0x6985, Request::Transaction).code, ErrorCode::UserCancelled);
    EXPECT_EQ(status_error(0x5501, Request::PersonalMessage).code, ErrorCode::UserCancelled);
    const auto locked = status_error(0x5515, Request::Transaction);
    EXPECT_EQ(locked.code, ErrorCode::DeviceNotFound);
    EXPECT_NE(locked.detail.find("locked"), std::string::npos);
    const auto closed = status_error(0x6e00, Request::Address);
    EXPECT_EQ(closed.code, ErrorCode::DeviceNotFound);
    EXPECT_NE(closed.detail.find("open"), std::string::npos);
    EXPECT_EQ(status_error(0x6e01, Request::Address).code, ErrorCode::DeviceNotFound);
    EXPECT_EQ(status_error(0x6d00, Request::TypedData).code, ErrorCode::NotSupported);
    const auto blind = status_error(0x6a80, Request::Transaction, false);
    EXPECT_EQ(blind.code, ErrorCode::NotSupported);
    EXPECT_NE(blind.detail.find("Blind signing"), std::string::npos);
    EXPECT_EQ(status_error(0x6a80, Request::Transaction, true).code, ErrorCode::ProtocolError);
    EXPECT_EQ(status_error(0x6a80, Request::PersonalMessage, false).code, ErrorCode::ProtocolError);
    const auto odd = status_error(0x6f01, Request::Transaction);
    EXPECT_EQ(odd.code, ErrorCode::ProtocolError);
    EXPECT_NE(odd.detail.find("0x6f01"), std::string::npos);
    EXPECT_EQ(status_name(0x6985), "denied by the user");
}

TEST(LedgerEthApp, SignatureReplyIsExactly65Bytes) {
    core::Bytes reply(65, 0x22);
    reply[0] = 27;
    auto sig = parse_signature(reply);
    ASSERT_TRUE(sig);
    EXPECT_EQ(sig->v, 27);
    EXPECT_EQ(sig->r[0], 0x22);
    reply.push_back(0);
    EXPECT_FALSE(parse_signature(reply));
    EXPECT_FALSE(parse_signature(core::ByteView(reply).first(64)));
}

}  // namespace
}  // namespace keybridge::drivers::ledger::eth
