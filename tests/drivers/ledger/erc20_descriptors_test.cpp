#include "drivers/ledger/erc20_descriptors.h"

#include <gtest/gtest.h>

#include "drivers/ledger/eth_app.h"

namespace keybridge::drivers::ledger {
namespace {

TEST(LedgerErc20Descriptors, BundledTablesHoldWellKnownTokens) {
    // USDT on Ethereum and USDC on Polygon, as Ledger's list names them.
    auto usdt = find_erc20_descriptor(
        1, *core::Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7"));
    ASSERT_TRUE(usdt);
    EXPECT_EQ(usdt->ticker, "USDT");
    EXPECT_EQ(usdt->decimals, 6u);
    EXPECT_EQ(usdt->chain_id, 1u);
    // The payload is what the APDU carries: ticker length, ticker, address, decimals, chain id,
    // then a DER signature.
    ASSERT_GT(usdt->payload.size(), 1 + 4 + 20 + 8 + 8u);
    EXPECT_EQ(usdt->payload[0], 4);
    EXPECT_EQ(usdt->payload[1 + 4 + 20 + 8], 0x30);  // DER sequence
    // The same contract on another chain is not that token.
    EXPECT_FALSE(find_erc20_descriptor(
        137, *core::Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7")));
    EXPECT_FALSE(find_erc20_descriptor(1, core::Address{}));
}

TEST(LedgerErc20Descriptors, EveryBundledListDecodesAndNamesItsOwnChain) {
    // 19 chains, 1162 descriptors in @ledgerhq/cryptoassets-evm-signatures 13.7.1 (counted
    // when the files were copied); Ethereum's list has 98.
    ASSERT_EQ(detail::kErc20BlobCount, 19u);
    std::size_t total = 0;
    for (std::size_t i = 0; i < detail::kErc20BlobCount; ++i) {
        const auto& blob = detail::kErc20Blobs[i];
        auto bytes = detail::base64_decode(blob.base64);
        ASSERT_TRUE(bytes) << blob.chain_id;
        auto list = parse_erc20_descriptors(*bytes);
        ASSERT_TRUE(list) << blob.chain_id << ": " << list.error().detail;
        for (const auto& d : *list)
            EXPECT_EQ(d.chain_id, blob.chain_id);
        if (blob.chain_id == 1) {
            EXPECT_EQ(list->size(), 98u);
        }
        total += list->size();
    }
    EXPECT_EQ(total, 1162u);
}

TEST(LedgerErc20Descriptors, OnlyClearSignedSelectorsOfKnownTokensGetADescriptor) {
    core::Transaction tx;
    tx.chain_id = 1;
    tx.to = *core::Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7");
    tx.data = *core::hex_decode("a9059cbb" + std::string(128, '0'));
    auto found = erc20_descriptor_for(tx);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->ticker, "USDT");
    auto apdu = eth::provide_erc20_apdu(found->payload);
    ASSERT_TRUE(apdu);
    EXPECT_EQ(core::hex_encode(core::ByteView(*apdu).first(4), false), "e00a0000");
    tx.data = *core::hex_decode("095ea7b3" + std::string(128, '0'));  // approve
    EXPECT_TRUE(erc20_descriptor_for(tx));
    tx.data = *core::hex_decode("12345678");  // some other call
    EXPECT_FALSE(erc20_descriptor_for(tx));
    tx.data.clear();
    EXPECT_FALSE(erc20_descriptor_for(tx));
    tx.data = *core::hex_decode("a9059cbb");
    tx.to.reset();
    EXPECT_FALSE(erc20_descriptor_for(tx));
}

TEST(LedgerErc20Descriptors, ParserRefusesListsThatRunPastTheEnd) {
    // One descriptor "AB", address 0x11.., decimals 2, chain 1, a 3-byte "signature".
    core::Bytes item{2, 'A', 'B'};
    item.insert(item.end(), 20, 0x11);
    item.insert(item.end(), {0, 0, 0, 2, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc});
    core::Bytes list{0, 0, 0, static_cast<std::uint8_t>(item.size())};
    list.insert(list.end(), item.begin(), item.end());
    auto parsed = parse_erc20_descriptors(list);
    ASSERT_TRUE(parsed) << parsed.error().detail;
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].ticker, "AB");
    EXPECT_EQ((*parsed)[0].decimals, 2u);
    EXPECT_EQ((*parsed)[0].payload, item);
    core::Bytes cut(list.begin(), list.end() - 1);
    EXPECT_FALSE(parse_erc20_descriptors(cut));
    core::Bytes lying = list;
    lying[3] = 200;
    EXPECT_FALSE(parse_erc20_descriptors(lying));
    EXPECT_FALSE(parse_erc20_descriptors(core::Bytes{0, 0}));
    EXPECT_EQ(*detail::base64_decode("TWFu"), (core::Bytes{'M', 'a', 'n'}));
    EXPECT_EQ(*detail::base64_decode("TWE="), (core::Bytes{'M', 'a'}));
    EXPECT_EQ(*detail::base64_decode("TQ=="), (core::Bytes{'M'}));
    EXPECT_FALSE(detail::base64_decode("TQ="));
    EXPECT_FALSE(detail::base64_decode("T!=="));
    EXPECT_FALSE(detail::base64_decode("T=Q="));
}

}  // namespace
}  // namespace keybridge::drivers::ledger
