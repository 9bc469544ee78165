#include "drivers/ledger/eip712_filters.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "drivers/ledger/eth_app.h"

namespace keybridge::drivers::ledger {
namespace {

core::eip712::TypedData load(const std::string& name) {
    std::ifstream in(std::string(KEYBRIDGE_TEST_DATA_DIR) + "/ledger/hw-app-eth/" + name);
    std::stringstream text;
    text << in.rdbuf();
    auto typed = core::eip712::parse(text.str());
    EXPECT_TRUE(typed) << typed.error().detail;
    return std::move(*typed);
}

TEST(LedgerEip712Filters, SchemaHashIsSha224OfTheSortedTypesAsJavaScriptWritesThem) {
    // Values computed independently (Python: json.dumps of the sorted types, compact, sha224).
    EXPECT_EQ(eip712_schema_hash(load("message-0.json")),
              "1fd77fb96a82b9c1de173fa836e20da791158ea832a3d07c6725f47c");
    EXPECT_EQ(eip712_schema_hash(load("message-16-permit2.json")),
              "4d593149e876e739220f3b5ede1b38a0213d76c4705b1547c4323df3");
}

TEST(LedgerEip712Filters, FindsPermit2OnPolygonAndNothingForAnUnknownSchema) {
    auto filters = find_eip712_filters(load("message-16-permit2.json"));
    ASSERT_TRUE(filters);
    EXPECT_FALSE(filters->contract_label.empty());
    ASSERT_EQ(filters->fields.size(), 4u);
    EXPECT_EQ(filters->fields[0].format, "token");
    EXPECT_EQ(filters->fields[0].coin_ref, 0);
    EXPECT_EQ(filters->fields[1].format, "amount");
    EXPECT_EQ(filters->fields[3].format, "datetime");
    EXPECT_EQ(filters->fields[0].signature.front(), 0x30);  // DER
    EXPECT_FALSE(find_eip712_filters(load("message-0.json")));
}

TEST(LedgerEip712Filters, FilteredApdusCarryLabelsAndTokenSteps) {
    auto typed = load("message-16-permit2.json");
    auto filters = find_eip712_filters(typed);
    ASSERT_TRUE(filters);
    auto hashed = core::eip712::hash_typed_data(std::move(typed), core::eip712::Version::V4);
    ASSERT_TRUE(hashed);
    auto plain = eth::eip712_full_apdus("m/44'/60'/0'/0/0", *hashed);
    auto filtered = eth::eip712_full_apdus("m/44'/60'/0'/0/0", *hashed, &*filters, true);
    ASSERT_TRUE(plain);
    ASSERT_TRUE(filtered) << filtered.error().detail;
    EXPECT_FALSE(plain->activate);
    ASSERT_TRUE(filtered->activate);
    EXPECT_EQ(core::hex_encode(*filtered->activate, false), "e01e010000");
    EXPECT_EQ(filtered->definitions, plain->definitions);
    // Every plain APDU is still there, in order, with filter APDUs (0x1E, 0x0A) between them.
    std::size_t next = 0;
    int filter_apdus = 0;
    for (const auto& apdu : filtered->implementations) {
        if (apdu[1] == eth::kInsEip712Filtering || apdu[1] == eth::kInsProvideErc20) {
            ++filter_apdus;
            continue;
        }
        ASSERT_LT(next, plain->implementations.size());
        EXPECT_EQ(apdu, plain->implementations[next++]);
    }
    EXPECT_EQ(next, plain->implementations.size());
    EXPECT_GE(filter_apdus, 5);  // contract name + four labels (+ the token's descriptor)
    // The token label and the amount label take the index the app gives the token.
    int patches = 0;
    for (const auto& step : filtered->token_steps) {
        if (!step.provides) {
            ++patches;
            EXPECT_LT(step.patch_at, filtered->implementations[step.apdu].size());
        }
    }
    EXPECT_EQ(patches, 2);
}

}  // namespace
}  // namespace keybridge::drivers::ledger
