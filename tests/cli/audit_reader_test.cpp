#include "cli/audit_reader.h"

#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

// 2026-12-04T21:30:00Z
constexpr std::time_t kNow = 1796419800;

TEST(AuditReader, SinceAcceptsDatesTimesAndDurations) {
    EXPECT_EQ(since_cutoff("2026-12-04", kNow).value(), "2026-12-04T00:00:00Z");
    EXPECT_EQ(since_cutoff("2026-12-04T21:05:09Z", kNow).value(), "2026-12-04T21:05:09Z");
    EXPECT_EQ(since_cutoff("2026-12-04T21:05:09", kNow).value(), "2026-12-04T21:05:09Z");
    EXPECT_EQ(since_cutoff("90s", kNow).value(), "2026-12-04T21:28:30Z");
    EXPECT_EQ(since_cutoff("30m", kNow).value(), "2026-12-04T21:00:00Z");
    EXPECT_EQ(since_cutoff("1h", kNow).value(), "2026-12-04T20:30:00Z");
    EXPECT_EQ(since_cutoff("2d", kNow).value(), "2026-12-02T21:30:00Z");
    EXPECT_EQ(since_cutoff("1w", kNow).value(), "2026-11-27T21:30:00Z");
    for (const char* bad :
         {"", "h", "1", "1y", "-1h", "1.5h", "2026-1-04", "2026-12-04 21:00:00", "2026-13-01",
          "2026-12-32", "2026-12-04T24:00:00Z", "yesterday", "9999999999h"}) {
        auto cutoff = since_cutoff(bad, kNow);
        EXPECT_FALSE(cutoff) << bad;
        if (!cutoff) {
            EXPECT_EQ(cutoff.error().code, core::ErrorCode::InvalidArgument);
        }
    }
}

AuditEntry entry(std::string origin, std::string method, std::string account, std::string decision,
                 std::string time) {
    boost::json::object o{{"time", time},     {"id", 1},      {"origin", origin},
                          {"method", method}, {"chainId", 1}, {"decision", decision}};
    if (!account.empty()) o["account"] = account;
    return AuditEntry{boost::json::serialize(o), o};
}

AuditFilter filter(std::string AuditFilter::*field, std::string value) {
    AuditFilter f;
    f.*field = std::move(value);
    return f;
}

TEST(AuditReader, FilterMatchesEachFieldAndTheLocalAlias) {
    const auto e =
        entry("local client", "personal_sign", "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8",
              "signed", "2026-12-04T10:00:00Z");
    EXPECT_TRUE(AuditFilter{}.matches(e));
    EXPECT_TRUE(filter(&AuditFilter::origin, "local").matches(e));
    EXPECT_TRUE(filter(&AuditFilter::origin, "local client").matches(e));
    EXPECT_FALSE(filter(&AuditFilter::origin, "https://app.example").matches(e));
    EXPECT_FALSE(filter(&AuditFilter::origin, "loc").matches(e));
    EXPECT_TRUE(filter(&AuditFilter::method, "personal_sign").matches(e));
    EXPECT_FALSE(filter(&AuditFilter::method, "personal").matches(e));
    EXPECT_TRUE(
        filter(&AuditFilter::account, "0x73d0385f4d8e00c5e6504c6030f47bf6212736a8").matches(e));
    EXPECT_FALSE(
        filter(&AuditFilter::account, "0xFA01a39f8Abaeb660c3137f14A310d0b414b2A15").matches(e));
    EXPECT_TRUE(filter(&AuditFilter::since, "2026-12-04T10:00:00Z").matches(e));
    EXPECT_FALSE(filter(&AuditFilter::since, "2026-12-04T10:00:01Z").matches(e));
    EXPECT_TRUE(filter(&AuditFilter::decision, "signed").matches(e));
    EXPECT_FALSE(filter(&AuditFilter::decision, "approved").matches(e));
    // An entry without an account never matches an account filter.
    const auto no_account =
        entry("https://a.example", "eth_requestAccounts", "", "approved", "2026-12-04T10:00:00Z");
    EXPECT_FALSE(filter(&AuditFilter::account, "0x73d0385f4d8e00c5e6504c6030f47bf6212736a8")
                     .matches(no_account));
}

TEST(AuditReader, TableEscapesEveryCell) {
    const auto e =
        entry("https://x.example\x1b[2J", "personal_sign", "", "signed", "2026-12-04T10:00:00Z");
    const std::string table = render_audit_table({e});
    EXPECT_EQ(table.find('\x1b'), std::string::npos);
    EXPECT_NE(table.find("https://x.example\\x1b[2J"), std::string::npos) << table;
    EXPECT_EQ(table.rfind("TIME", 0), 0u);
}

}  // namespace
}  // namespace keybridge::cli
