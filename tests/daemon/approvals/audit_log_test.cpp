#include "daemon/approvals/audit_log.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/hash.h"

namespace keybridge::daemon::approvals {
namespace {

namespace json = boost::json;

class AuditLogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "keybridge_audit_XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::vector<std::string> lines(const std::string& path) {
        std::ifstream in(path);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);)
            out.push_back(line);
        return out;
    }

    std::string dir_;
};

ApprovalRequest request(std::string origin, std::optional<core::Address> account) {
    ApprovalRequest r;
    r.id = 42;
    r.origin = std::move(origin);
    r.method = "personal_sign";
    r.account = account;
    r.chain_id = 31337;
    return r;
}

// The text the log wrote when it serialised a boost::json::object of these fields.
std::string object_text(const ApprovalRequest& r, std::string_view decision,
                        std::string_view decided_by, const std::optional<core::Hash32>& digest,
                        const std::string& time) {
    json::object o;
    o["time"] = time;
    o["id"] = r.id;
    o["origin"] = r.origin;
    o["method"] = r.method;
    if (r.account) o["account"] = r.account->to_checksum_string();
    o["chainId"] = r.chain_id;
    o["decision"] = decision;
    o["decidedBy"] = decided_by;
    if (digest) o["digest"] = core::hex_encode(*digest);
    return json::serialize(o);
}

TEST_F(AuditLogTest, LinesAreTheJsonObjectTextWithClientTextEscaped) {
    auto log = AuditLog::open(dir_);
    ASSERT_TRUE(log) << log.error().detail;
    const auto a = core::Address::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    const auto b = core::Address::parse("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    ASSERT_TRUE(a && b);
    const core::Hash32 digest = core::keccak256(core::as_bytes("signed"));
    // Quotes, backslashes, control characters and non-ASCII text must come out as JSON.
    const std::vector<ApprovalRequest> requests{
        request("https://app.example", *a), request("local", *a),
        request("odd \"origin\" \\ with\ttab\nand \x01 control", *b),
        request("caf\xc3\xa9 \xe2\x82\xac", std::nullopt), request("https://app.example", *b)};
    for (const auto& r : requests) {
        log->record(r, "approved", "policy line 1");
        log->record(r, "signed", "approved", digest);
    }
    log->sync();
    const auto written = lines(log->path());
    ASSERT_EQ(written.size(), 2 * requests.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
        json::error_code ec;
        const json::value parsed = json::parse(written[i], ec);
        ASSERT_FALSE(ec) << written[i];
        const std::string time(parsed.as_object().at("time").as_string());
        const auto& r = requests[i / 2];
        const bool signed_line = i % 2 == 1;
        EXPECT_EQ(written[i],
                  object_text(r, signed_line ? "signed" : "approved",
                              signed_line ? "approved" : "policy line 1",
                              signed_line ? std::optional(digest) : std::nullopt, time));
        EXPECT_EQ(parsed.as_object().at("origin").as_string(), r.origin);
    }
}

TEST_F(AuditLogTest, SyncWithoutNewLinesIsHarmless) {
    auto log = AuditLog::open(dir_);
    ASSERT_TRUE(log) << log.error().detail;
    log->sync();  // nothing written yet
    log->record(request("local", std::nullopt), "approved", "user");
    log->sync();
    log->sync();  // nothing new since the last flush
    log->record(request("local", std::nullopt), "rejected", "user");
    log->sync();
    EXPECT_EQ(lines(log->path()).size(), 2u);
}

}  // namespace
}  // namespace keybridge::daemon::approvals
