#include "daemon/approvals/audit_log.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/hash.h"
#include "daemon/turn_end.h"

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

    // Every line of audit.log.N … audit.log.1, audit.log, oldest first.
    std::vector<std::string> all_lines(unsigned keep) {
        std::vector<std::string> out;
        for (unsigned n = keep; n >= 1; --n) {
            for (auto& l : lines(dir_ + "/audit.log." + std::to_string(n)))
                out.push_back(std::move(l));
        }
        for (auto& l : lines(dir_ + "/audit.log"))
            out.push_back(std::move(l));
        return out;
    }
    bool exists(const std::string& name) const {
        return std::filesystem::exists(dir_ + "/" + name);
    }
    std::uintmax_t size_of(const std::string& name) const {
        return std::filesystem::file_size(dir_ + "/" + name);
    }
    // True when the file ends with a newline (no line torn at its end).
    bool ends_with_newline(const std::string& name) const {
        std::ifstream in(dir_ + "/" + name, std::ios::binary | std::ios::ate);
        if (in.tellg() <= 0) return true;
        in.seekg(-1, std::ios::end);
        return in.get() == '\n';
    }

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

std::uint64_t id_of(const std::string& line);

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

// A policy's approval is held back until the signature made inline right after it, and both
// go out in one write(). A rotation after every write() shows how many there were: lines of one
// write() end up in the same file.
TEST_F(AuditLogTest, AHeldLineSharesOneWriteWithTheThreadsNextLine) {
    auto log = AuditLog::open(dir_, AuditRotation{1, 4});
    ASSERT_TRUE(log) << log.error().detail;
    const auto a = *core::Address::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    const core::Hash32 digest = core::keccak256(core::as_bytes("signed"));
    ApprovalRequest r = request("local", a);
    {
        AuditLog::HeldLine held(*log, r, "approved", "policy line 1");
        EXPECT_TRUE(lines(log->path()).empty()) << "held, not written";
        log->record(r, "signed", "approved", digest);
    }
    EXPECT_TRUE(lines(log->path()).empty());
    const auto together = lines(dir_ + "/audit.log.1");
    ASSERT_EQ(together.size(), 2u) << "the two lines were two write()s";
    EXPECT_NE(together[0].find("\"decision\":\"approved\""), std::string::npos);
    EXPECT_NE(together[1].find("\"decision\":\"signed\""), std::string::npos);
    EXPECT_FALSE(exists("audit.log.2"));
    // Without a hold, each line is its own write().
    log->record(r, "approved", "policy line 1");
    log->record(r, "signed", "approved", digest);
    EXPECT_EQ(lines(dir_ + "/audit.log.1").size(), 1u);
    EXPECT_EQ(lines(dir_ + "/audit.log.2").size(), 1u);
}

TEST_F(AuditLogTest, AHeldLineIsWrittenWhenItsScopeEndsOrItIsReleased) {
    auto log = AuditLog::open(dir_);
    ASSERT_TRUE(log) << log.error().detail;
    ApprovalRequest first = request("local", std::nullopt);
    ApprovalRequest second = first;
    second.id = 43;
    { AuditLog::HeldLine held(*log, first, "approved", "policy line 1"); }
    ASSERT_EQ(lines(log->path()).size(), 1u) << "a held line never outlives its scope";
    {
        AuditLog::HeldLine held(*log, second, "approved", "policy line 2");
        log->release_held();
        EXPECT_EQ(lines(log->path()).size(), 2u);
        log->release_held();  // nothing left to write
    }
    EXPECT_EQ(lines(log->path()).size(), 2u) << "a released line is written once";
    {
        // A second hold on the thread writes the first: the order of lines stays the order of
        // the decisions.
        AuditLog::HeldLine outer(*log, first, "approved", "outer");
        AuditLog::HeldLine inner(*log, second, "approved", "inner");
        const auto now = lines(log->path());
        ASSERT_EQ(now.size(), 3u);
        EXPECT_NE(now[2].find("outer"), std::string::npos);
    }
    const auto all = lines(log->path());
    ASSERT_EQ(all.size(), 4u);
    EXPECT_NE(all[3].find("inner"), std::string::npos);
}

// On a network thread (a turn_end::Scope), the lines of the signatures made in one turn of the
// event loop go out in one write at its end, and each reply (`then`) runs after that write. A
// rotation after every write shows how many there were.
TEST_F(AuditLogTest, TheSignaturesOfOneTurnShareOneWriteAndTheirRepliesFollowIt) {
    auto log = AuditLog::open(dir_, AuditRotation{1, 8});
    ASSERT_TRUE(log) << log.error().detail;
    const auto a = *core::Address::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    const core::Hash32 digest = core::keccak256(core::as_bytes("signed"));
    boost::asio::io_context ioc;
    turn_end::Scope scope(ioc);
    std::vector<std::size_t> written_at_reply;
    for (std::uint64_t id = 1; id <= 3; ++id) {
        boost::asio::post(ioc, [&, id] {
            ApprovalRequest r = request("local", a);
            r.id = id;
            // A policy's approval held for the signature joins the turn's write too.
            AuditLog::HeldLine held(*log, r, "approved", "policy line 1");
            log->record_then(r, "signed", "approved", digest, [&] {
                written_at_reply.push_back(lines(dir_ + "/audit.log.1").size());
            });
            EXPECT_FALSE(exists("audit.log.1")) << "written before the end of the turn";
        });
    }
    ioc.run();
    const auto together = lines(dir_ + "/audit.log.1");
    ASSERT_EQ(together.size(), 6u) << "the turn's lines were more than one write";
    EXPECT_FALSE(exists("audit.log.2"));
    for (std::size_t i = 0; i < together.size(); ++i) {
        EXPECT_EQ(id_of(together[i]), i / 2 + 1);
        EXPECT_NE(together[i].find(i % 2 ? "\"signed\"" : "\"approved\""), std::string::npos);
    }
    EXPECT_EQ(written_at_reply, (std::vector<std::size_t>{6, 6, 6}))
        << "every reply runs after the write";
}

// Off a network thread (no scope), the line is written at once and the reply runs right after.
TEST_F(AuditLogTest, WithoutATurnTheLineIsWrittenBeforeTheReplyRuns) {
    auto log = AuditLog::open(dir_);
    ASSERT_TRUE(log) << log.error().detail;
    const core::Hash32 digest = core::keccak256(core::as_bytes("signed"));
    std::size_t written = 0;
    log->record_then(request("local", std::nullopt), "signed", "approved", digest,
                     [&] { written = lines(log->path()).size(); });
    EXPECT_EQ(written, 1u);
}

// Any other line recorded in the turn writes the waiting lines first, in the order recorded;
// the replies still wait for the end of the turn.
TEST_F(AuditLogTest, AnotherLineOfTheTurnWritesTheWaitingOnesFirst) {
    auto log = AuditLog::open(dir_);
    ASSERT_TRUE(log) << log.error().detail;
    const core::Hash32 digest = core::keccak256(core::as_bytes("signed"));
    boost::asio::io_context ioc;
    turn_end::Scope scope(ioc);
    bool replied = false;
    boost::asio::post(ioc, [&] {
        ApprovalRequest signed_one = request("local", std::nullopt);
        ApprovalRequest denied = signed_one;
        denied.id = 7;
        log->record_then(signed_one, "signed", "approved", digest, [&] { replied = true; });
        log->record(denied, "denied", "policy line 2");
        const auto now = lines(log->path());
        ASSERT_EQ(now.size(), 2u);
        EXPECT_EQ(id_of(now[0]), 42u);
        EXPECT_EQ(id_of(now[1]), 7u);
        EXPECT_FALSE(replied);
    });
    ioc.run();
    EXPECT_TRUE(replied);
    EXPECT_EQ(lines(log->path()).size(), 2u) << "a line is written once";
}

// A loop stopped before the end of its turn: the scope's end writes the lines, then replies.
TEST_F(AuditLogTest, LinesOfATurnCutShortAreWrittenWhenTheScopeEnds) {
    auto log = AuditLog::open(dir_);
    ASSERT_TRUE(log) << log.error().detail;
    const core::Hash32 digest = core::keccak256(core::as_bytes("signed"));
    boost::asio::io_context ioc;
    std::size_t written = 0;
    {
        turn_end::Scope scope(ioc);
        boost::asio::post(ioc, [&] {
            log->record_then(request("local", std::nullopt), "signed", "approved", digest,
                             [&] { written = lines(log->path()).size(); });
            ioc.stop();
        });
        ioc.run();
        EXPECT_TRUE(lines(log->path()).empty());
    }
    EXPECT_EQ(written, 1u);
}

// Another thread's line neither takes nor waits for this thread's held line.
TEST_F(AuditLogTest, AHeldLineBelongsToItsThread) {
    auto log = AuditLog::open(dir_);
    ASSERT_TRUE(log) << log.error().detail;
    ApprovalRequest mine = request("local", std::nullopt);
    ApprovalRequest theirs = mine;
    theirs.id = 7;
    {
        AuditLog::HeldLine held(*log, mine, "approved", "policy line 1");
        std::thread([&] { log->record(theirs, "denied", "policy line 2"); }).join();
        std::thread([&] { log->release_held(); }).join();
        const auto now = lines(log->path());
        ASSERT_EQ(now.size(), 1u);
        EXPECT_EQ(id_of(now[0]), 7u);
    }
    const auto all = lines(log->path());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(id_of(all[1]), 42u);
}

// A transaction's "signed" line carries its counterparties; they are the history insight judges
// new addresses against, kept in memory and read back from every kept file at the next open.
TEST_F(AuditLogTest, CounterpartiesOfSignedTransactionsAreTheHistory) {
    const auto account = *core::Address::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    const auto token = *core::Address::parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");
    const auto friend_ = *core::Address::parse("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const auto spender = *core::Address::parse("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const core::Hash32 digest = core::keccak256(core::as_bytes("tx"));
    {
        auto log = AuditLog::open(dir_, AuditRotation{600, 10});
        ASSERT_TRUE(log) << log.error().detail;
        EXPECT_TRUE(log->counterparties(31337).empty());
        ApprovalRequest transfer = request("https://app.example", account);
        transfer.chain_id = 31337;
        transfer.counterparties = {token, friend_};
        log->record(transfer, "approved", "user");  // a decision line: no history yet
        EXPECT_TRUE(log->counterparties(31337).empty());
        log->record(transfer, "signed", "approved", digest);
        EXPECT_EQ(log->counterparties(31337), (std::vector<core::Address>{token, friend_}));
        EXPECT_TRUE(log->counterparties(1).empty());  // per chain
        // Enough lines to rotate: the history spans audit.log.N and audit.log.
        ApprovalRequest approval = transfer;
        approval.counterparties = {token, spender};
        for (int i = 0; i < 6; ++i)
            log->record(approval, "signed", "approved", digest);
        log->sync();
        EXPECT_EQ(log->counterparties(31337),
                  (std::vector<core::Address>{token, friend_, spender}));
    }
    EXPECT_TRUE(exists("audit.log.1"));
    const auto text = all_lines(10);
    ASSERT_FALSE(text.empty());
    EXPECT_NE(text[1].find("\"counterparties\":[\"" + token.to_checksum_string() + "\",\"" +
                           friend_.to_checksum_string() + "\"]"),
              std::string::npos)
        << text[1];
    auto reopened = AuditLog::open(dir_, AuditRotation{600, 10});
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->counterparties(31337),
              (std::vector<core::Address>{token, friend_, spender}));
}

// HistoryLoad::Deferred: open() reads nothing; counterparties() has what record() adds until
// load_history() reads the files as they were at open() (a rotation meanwhile changes nothing)
// and puts their addresses first, each address once.
TEST_F(AuditLogTest, DeferredHistoryIsLoadingUntilLoadedThenMergesTheLinesRecordedMeanwhile) {
    const auto account = *core::Address::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    const auto a = *core::Address::parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");
    const auto b = *core::Address::parse("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const auto c = *core::Address::parse("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const auto d = *core::Address::parse("0x90f79bf6eb2c4f870365e785982e1f101e93b906");
    const core::Hash32 digest = core::keccak256(core::as_bytes("tx"));
    ApprovalRequest tx = request("https://app.example", account);
    const AuditRotation rotation{700, 10};
    {
        auto log = AuditLog::open(dir_, rotation);
        ASSERT_TRUE(log);
        EXPECT_TRUE(log->history_loaded());
        tx.counterparties = {a};
        for (int i = 0; i < 4; ++i)  // rotates: the history spans audit.log.N and audit.log
            log->record(tx, "signed", "approved", digest);
        tx.counterparties = {b};
        log->record(tx, "signed", "approved", digest);
    }
    ASSERT_TRUE(exists("audit.log.1"));

    auto log = AuditLog::open(dir_, rotation, {}, AuditLog::HistoryLoad::Deferred);
    ASSERT_TRUE(log);
    EXPECT_FALSE(log->history_loaded());
    int ready = 0;
    log->when_history_loaded([&] { ++ready; });
    EXPECT_TRUE(log->counterparties(31337).empty());
    // Recorded while loading: c (new) and b (in the files too); then rotations rename every
    // file the load is about to read.
    tx.counterparties = {c, b};
    log->record(tx, "signed", "approved", digest);
    EXPECT_EQ(log->counterparties(31337), (std::vector<core::Address>{c, b}));
    tx.counterparties = {d};
    for (int i = 0; i < 6; ++i)
        log->record(tx, "signed", "approved", digest);
    EXPECT_EQ(ready, 0);
    EXPECT_FALSE(log->history_loaded());

    log->load_history();
    EXPECT_TRUE(log->history_loaded());
    EXPECT_EQ(ready, 1);
    EXPECT_EQ(log->counterparties(31337), (std::vector<core::Address>{a, b, c, d}));
    log->load_history();  // once only
    EXPECT_EQ(log->counterparties(31337), (std::vector<core::Address>{a, b, c, d}));
    log->when_history_loaded([&] { ++ready; });  // loaded: at once
    EXPECT_EQ(ready, 2);
    // A fresh start reads the same history from the files.
    auto reopened = AuditLog::open(dir_, rotation);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->counterparties(31337), (std::vector<core::Address>{a, b, c, d}));
}

// Writers record new counterparties while another thread loads a large history: every address
// ends up in the history exactly once, the files' before the ones recorded meanwhile.
TEST_F(AuditLogTest, RecordsDuringALoadEndUpInTheHistoryExactlyOnce) {
    auto address_of = [](unsigned n) {
        core::Address::Raw raw{};
        raw[0] = 0xab;
        raw[16] = static_cast<std::uint8_t>(n >> 24);
        raw[17] = static_cast<std::uint8_t>(n >> 16);
        raw[18] = static_cast<std::uint8_t>(n >> 8);
        raw[19] = static_cast<std::uint8_t>(n);
        return core::Address(raw);
    };
    const auto account = *core::Address::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    const core::Hash32 digest = core::keccak256(core::as_bytes("tx"));
    constexpr unsigned kInFiles = 1500;  // distinct addresses in the files, within the limit
    constexpr unsigned kFiller = 20000;  // lines without counterparties: the load takes a while
    {
        // Before each address, filler lines: the addresses come in their order.
        std::ofstream out(dir_ + "/audit.log");
        std::uint64_t id = 0;
        for (unsigned n = 0; n < kInFiles; ++n) {
            json::object o{{"time", "2026-01-01T00:00:00Z"},
                           {"origin", "local"},
                           {"method", "eth_sendTransaction"},
                           {"chainId", 7},
                           {"decision", "signed"},
                           {"decidedBy", "approved"}};
            for (unsigned f = 0; f < kFiller / kInFiles; ++f) {
                o["id"] = ++id;
                out << json::serialize(o) << "\n";
            }
            o["id"] = ++id;
            o["counterparties"] = json::array{json::string(address_of(n).to_checksum_string())};
            out << json::serialize(o) << "\n";
        }
    }
    auto log = AuditLog::open(dir_, AuditRotation{1 << 20, 3}, {}, AuditLog::HistoryLoad::Deferred);
    ASSERT_TRUE(log);
    constexpr unsigned kWriters = 3;
    constexpr unsigned kEach = 300;
    std::atomic<bool> go{false};
    std::vector<std::thread> writers;
    for (unsigned w = 0; w < kWriters; ++w) {
        writers.emplace_back([&, w] {
            while (!go.load())
                std::this_thread::yield();
            ApprovalRequest r = request("local", account);
            r.chain_id = 7;
            for (unsigned i = 0; i < kEach; ++i) {
                // Half new addresses, half already in the files.
                const unsigned n =
                    i % 2 == 0 ? kInFiles + w * kEach + i : (w * kEach + i) % kInFiles;
                r.counterparties = {address_of(n)};
                log->record(r, "signed", "approved", digest);
            }
        });
    }
    std::thread loader([&] {
        go.store(true);
        log->load_history();
    });
    for (auto& t : writers)
        t.join();
    loader.join();
    ASSERT_TRUE(log->history_loaded());
    const std::vector<core::Address> history = log->counterparties(7);
    std::set<core::Address> unique(history.begin(), history.end());
    EXPECT_EQ(unique.size(), history.size()) << "an address is in the history twice";
    EXPECT_EQ(history.size(), kInFiles + kWriters * kEach / 2);
    for (unsigned n = 0; n < kInFiles; ++n)
        ASSERT_EQ(history[n], address_of(n)) << "the files' addresses come first, in order";
    for (unsigned w = 0; w < kWriters; ++w)
        for (unsigned i = 0; i < kEach; i += 2)
            EXPECT_TRUE(unique.count(address_of(kInFiles + w * kEach + i))) << w << " " << i;
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

std::uint64_t id_of(const std::string& line) {
    json::error_code ec;
    const json::value v = json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("id")) return 0;
    return v.at("id").to_number<std::uint64_t>();
}

TEST_F(AuditLogTest, RotatesAtTheSizeLimitAndKeepsTheConfiguredNumberOfFiles) {
    constexpr std::uint64_t kMax = 2048;
    auto log = AuditLog::open(dir_, AuditRotation{kMax, 3});
    ASSERT_TRUE(log) << log.error().detail;
    ApprovalRequest r = request("https://app.example", std::nullopt);
    constexpr std::uint64_t kLines = 200;  // ~150 bytes each: about 15 rotations
    std::size_t longest = 0;
    for (std::uint64_t i = 1; i <= kLines; ++i) {
        r.id = i;
        log->record(r, "approved", "user");
    }
    for (const auto& l : all_lines(3))
        longest = std::max(longest, l.size() + 1);
    ASSERT_GT(longest, 100u);
    EXPECT_TRUE(exists("audit.log.1"));
    EXPECT_TRUE(exists("audit.log.2"));
    EXPECT_TRUE(exists("audit.log.3"));
    EXPECT_FALSE(exists("audit.log.4"));
    EXPECT_FALSE(exists("audit.log.next"));
    // A rotated file reached the limit with its last line, and holds no more than that line.
    for (const char* name : {"audit.log.1", "audit.log.2", "audit.log.3"}) {
        EXPECT_GE(size_of(name), kMax) << name;
        EXPECT_LT(size_of(name), kMax + longest) << name;
        EXPECT_TRUE(ends_with_newline(name)) << name;
    }
    EXPECT_LT(size_of("audit.log"), kMax);
    // What is kept is the most recent lines, in order, without a gap.
    const auto kept = all_lines(3);
    ASSERT_FALSE(kept.empty());
    EXPECT_EQ(id_of(kept.back()), kLines);
    for (std::size_t i = 1; i < kept.size(); ++i)
        EXPECT_EQ(id_of(kept[i]), id_of(kept[i - 1]) + 1) << kept[i];
}

TEST_F(AuditLogTest, ExistingLogCountsTowardsTheLimitAfterARestart) {
    {
        auto log = AuditLog::open(dir_, AuditRotation{4096, 2});
        ASSERT_TRUE(log);
        for (int i = 0; i < 20; ++i)
            log->record(request("local client", std::nullopt), "approved", "user");
    }
    const auto before = size_of("audit.log");
    ASSERT_LT(before, 4096u);
    ASSERT_FALSE(exists("audit.log.1"));
    // A smaller limit at the next start: the first line written rotates the old content away.
    auto log = AuditLog::open(dir_, AuditRotation{1024, 2});
    ASSERT_TRUE(log);
    log->record(request("local client", std::nullopt), "approved", "user");
    EXPECT_TRUE(exists("audit.log.1"));
    EXPECT_GT(size_of("audit.log.1"), before);
    EXPECT_EQ(size_of("audit.log"), 0u);
    EXPECT_EQ(all_lines(2).size(), 21u);
}

TEST_F(AuditLogTest, FilesBeyondASmallerKeepAreRemovedAtTheNextRotation) {
    for (int n = 1; n <= 6; ++n)
        std::ofstream(dir_ + "/audit.log." + std::to_string(n)) << "{\"id\":" << 100 - n << "}\n";
    auto log = AuditLog::open(dir_, AuditRotation{1024, 2});
    ASSERT_TRUE(log);
    for (int i = 0; i < 10; ++i)
        log->record(request("local client", std::nullopt), "approved", "user");
    EXPECT_TRUE(exists("audit.log.1"));
    EXPECT_TRUE(exists("audit.log.2"));
    for (int n = 3; n <= 6; ++n)
        EXPECT_FALSE(exists("audit.log." + std::to_string(n))) << n;
    // audit.log.1 moved to .2; what was .2 and older is gone.
    EXPECT_EQ(lines(dir_ + "/audit.log.2"), std::vector<std::string>{"{\"id\":99}"});
}

TEST_F(AuditLogTest, StartAfterACrashBetweenTheRenamesLosesNothing) {
    // The state a crash leaves between "audit.log → audit.log.1" and "audit.log.next →
    // audit.log": no audit.log, an empty audit.log.next.
    std::ofstream(dir_ + "/audit.log.1") << "{\"id\":1}\n{\"id\":2}\n";
    std::ofstream(dir_ + "/audit.log.next").flush();
    auto log = AuditLog::open(dir_, AuditRotation{1024, 3});
    ASSERT_TRUE(log) << log.error().detail;
    EXPECT_FALSE(exists("audit.log.next"));
    ApprovalRequest r = request("local client", std::nullopt);
    r.id = 3;
    log->record(r, "approved", "user");
    const auto all = all_lines(3);
    ASSERT_EQ(all.size(), 3u);
    for (std::uint64_t i = 0; i < 3; ++i)
        EXPECT_EQ(id_of(all[i]), i + 1);
}

// Runs jobs on its own thread, as the server's blocking-work thread does.
class BackgroundRunner {
  public:
    BackgroundRunner() : thread_([this] { work(); }) {}
    ~BackgroundRunner() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    void post(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
            ++posted_;
        }
        cv_.notify_all();
    }
    std::size_t posted() {
        std::lock_guard lock(mutex_);
        return posted_;
    }

  private:
    void work() {
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping, and everything queued ran
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            lock.lock();
        }
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::size_t posted_ = 0;
    bool stop_ = false;
    std::thread thread_;
};

TEST_F(AuditLogTest, NoLineIsLostOrSplitWhileWritersRaceManyRotations) {
    constexpr unsigned kWriters = 4;
    constexpr std::uint64_t kPerWriter = 3000;
    constexpr std::uint64_t kMaxPerWriter = 60000;
    constexpr unsigned kKeep = 1000;  // keep everything, so that every line can be counted
    std::size_t rotations = 0;
    std::optional<AuditLog> log;  // outlives the runner, which finishes its queued rotations
    std::vector<std::uint64_t> written(kWriters, 0);
    {
        BackgroundRunner runner;
        auto opened =
            AuditLog::open(dir_, AuditRotation{4096, kKeep},
                           [&](std::function<void()> job) { runner.post(std::move(job)); });
        ASSERT_TRUE(opened) << opened.error().detail;
        log.emplace(std::move(*opened));
        std::vector<std::thread> writers;
        for (unsigned w = 0; w < kWriters; ++w) {
            writers.emplace_back([&, w] {
                ApprovalRequest r = request("writer " + std::to_string(w), std::nullopt);
                // At least kPerWriter lines, and on until three rotations have raced the writers:
                // on a loaded machine a slow fdatasync lets fewer of them fit in kPerWriter lines.
                std::uint64_t i = 0;
                for (; i < kPerWriter || (runner.posted() < 3 && i < kMaxPerWriter); ++i) {
                    r.id = w * 1000000 + i;
                    log->record(r, "approved", "user");
                    if (i % 500 == 0) log->sync();
                    // Pauses let queued rotations run between bursts of lines, as they do
                    // between requests in the daemon; during the bursts they race the writers.
                    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
                }
                written[w] = i;
            });
        }
        for (auto& t : writers)
            t.join();
        rotations = runner.posted();
    }
    // Each rotation flushes the file it retires (fdatasync: up to hundreds of milliseconds on a
    // busy disk) while the writers keep going, so the files outgrow the limit and how many
    // rotations fit in the run varies; every one of them raced four writers.
    EXPECT_GE(rotations, 3u);
    EXPECT_FALSE(exists("audit.log.next"));
    std::vector<std::uint64_t> next(kWriters, 0);
    std::size_t total = 0;
    for (const auto& line : all_lines(kKeep)) {
        json::error_code ec;
        const json::value v = json::parse(line, ec);
        ASSERT_FALSE(ec) << "torn line: " << line;
        const std::uint64_t id = v.at("id").to_number<std::uint64_t>();
        const unsigned w = static_cast<unsigned>(id / 1000000);
        ASSERT_LT(w, kWriters);
        // Each writer's lines appear once, in the order it wrote them, across all files.
        ASSERT_EQ(id % 1000000, next[w]) << "writer " << w;
        ++next[w];
        ++total;
    }
    EXPECT_EQ(next, written);
    EXPECT_EQ(total, std::accumulate(written.begin(), written.end(), std::uint64_t{0}));
    for (unsigned n = 1; exists("audit.log." + std::to_string(n)); ++n)
        EXPECT_TRUE(ends_with_newline("audit.log." + std::to_string(n))) << n;
}

}  // namespace
}  // namespace keybridge::daemon::approvals
