// Insight's ABI decoder against ethers v6: tests/data/insight-ethers-calldata.json holds calldata
// that ethers' Interface encoded and ethers' own decoding of it (tests/node/
// insight_ethers_fixtures.mjs writes it; insight_ethers_fixtures_current checks it is current).
// Every call must be found in the bundled table under the same signature and decode to exactly
// ethers' arguments.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "insight/abi.h"

namespace keybridge::insight {
namespace {

namespace json = boost::json;

json::object load_fixtures() {
    std::ifstream in(std::string(KEYBRIDGE_TEST_DATA_DIR) + "/insight-ethers-calldata.json");
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str()).as_object();
}

TEST(InsightEthersFixtures, DecodesAsEthersDoes) {
    const json::object file = load_fixtures();
    const json::array& fixtures = file.at("fixtures").as_array();
    ASSERT_GE(fixtures.size(), 15u);
    for (const json::value& item : fixtures) {
        const json::object& f = item.as_object();
        const std::string signature(f.at("signature").as_string());
        SCOPED_TRACE(signature);
        auto data = core::hex_decode(std::string_view(f.at("calldata").as_string()));
        ASSERT_TRUE(data.has_value());
        ASSERT_GE(data->size(), 4u);
        const std::uint32_t selector = (std::uint32_t((*data)[0]) << 24) |
                                       (std::uint32_t((*data)[1]) << 16) |
                                       (std::uint32_t((*data)[2]) << 8) | (*data)[3];
        const abi::Function* fn = abi::find(selector);
        ASSERT_NE(fn, nullptr) << "not in the table";
        EXPECT_EQ(fn->signature(), signature);
        auto args = abi::decode(fn->type, core::ByteView(*data).subspan(4));
        ASSERT_TRUE(args.has_value()) << args.error().detail;
        EXPECT_EQ(json::value(*args), f.at("arguments"))
            << "insight: " << json::serialize(*args)
            << "\nethers:  " << json::serialize(f.at("arguments"));
    }
}

}  // namespace
}  // namespace keybridge::insight
