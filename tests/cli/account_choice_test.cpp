#include "cli/account_choice.h"

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

namespace json = boost::json;

constexpr const char* kA = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8";
constexpr const char* kB = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
constexpr const char* kC = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";

// A connect request offering A (granted, default), B (named) and C (default).
json::object connect_request() {
    json::array accounts{
        json::object{{"address", kA}, {"granted", true}, {"default", true}},
        json::object{{"address", kB}, {"name", "Savings"}, {"granted", false}, {"default", false}},
        "not an object",
        json::object{{"address", kC}, {"default", true}},
    };
    return json::object{{"id", 3},
                        {"method", "eth_requestAccounts"},
                        {"details", json::object{{"accounts", std::move(accounts)}}}};
}

TEST(ConnectCandidates, ReadsTheOfferedAccountsAndSkipsMalformedEntries) {
    auto candidates = connect_candidates(connect_request());
    ASSERT_EQ(candidates.size(), 3u);
    EXPECT_EQ(candidates[0].address, kA);
    EXPECT_TRUE(candidates[0].granted);
    EXPECT_TRUE(candidates[0].is_default);
    EXPECT_EQ(candidates[1].name, "Savings");
    EXPECT_FALSE(candidates[1].granted);
    EXPECT_FALSE(candidates[1].is_default);
    EXPECT_EQ(candidates[2].address, kC);
    EXPECT_EQ(default_selection(candidates), "1,3");
    EXPECT_TRUE(connect_candidates(json::object{{"method", "personal_sign"}}).empty());
}

TEST(SelectAccounts, EmptyAnswerTakesTheDefaultsAndAllTakesEveryAccount) {
    auto candidates = connect_candidates(connect_request());
    EXPECT_EQ(*select_accounts("", candidates), (std::vector<std::string>{kA, kC}));
    EXPECT_EQ(*select_accounts("  ", candidates), (std::vector<std::string>{kA, kC}));
    EXPECT_EQ(*select_accounts("ALL", candidates), (std::vector<std::string>{kA, kB, kC}));
}

TEST(SelectAccounts, NumbersAndAddressesInTheOrderGiven) {
    auto candidates = connect_candidates(connect_request());
    EXPECT_EQ(*select_accounts("3,1", candidates), (std::vector<std::string>{kC, kA}));
    EXPECT_EQ(*select_accounts(" 2 , 3 ", candidates), (std::vector<std::string>{kB, kC}));
    EXPECT_EQ(*select_accounts("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed 1", candidates),
              (std::vector<std::string>{kB, kA}));
}

TEST(SelectAccounts, RefusesWhatIsNotInTheListOrRepeated) {
    auto candidates = connect_candidates(connect_request());
    for (const char* bad : {"0", "4", "1,x", "99999999999", "0xdeadbeef", "all,1", "-1"}) {
        auto r = select_accounts(bad, candidates);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, core::ErrorCode::InvalidArgument) << bad;
        EXPECT_NE(r.error().detail.find("is not in the list"), std::string::npos) << bad;
    }
    auto twice = select_accounts("1, 1", candidates);
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().detail.find("named twice"), std::string::npos);
}

}  // namespace
}  // namespace keybridge::cli
