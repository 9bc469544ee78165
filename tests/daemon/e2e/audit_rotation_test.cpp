// keybridged end to end: the audit log rotated by size (--audit-max-size, --audit-keep) while
// policy-approved signatures arrive from several clients at once.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/eip191.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string message_text(unsigned client, unsigned n) {
    return "audit rotation " + std::to_string(client) + "/" + std::to_string(n);
}

class AuditRotationTest : public DaemonTest {
  protected:
    // Starts keybridged with a policy that approves the token client, and the rotation settings.
    void start_with_rotation(const std::string& max_size, unsigned keep) {
        const std::string policy = tmp_.write("policy", "approve origin=local\n");
        ASSERT_NO_FATAL_FAILURE(start({"--policy", policy, "--audit-max-size", max_size,
                                       "--audit-keep", std::to_string(keep),
                                       // Several clients sign as fast as they can.
                                       "--rate-limit", "1000000", "--rate-burst", "1000000"}));
        ASSERT_EQ(local().result("eth_requestAccounts").as_array().size(), 1u);
    }

    // `clients` threads each sign `per_client` distinct messages; every answer must be a
    // signature. Returns the digests the daemon should have audited.
    std::set<std::string> sign_many(unsigned clients, unsigned per_client) {
        std::atomic<unsigned> failures{0};
        std::vector<std::thread> threads;
        for (unsigned c = 0; c < clients; ++c) {
            threads.emplace_back([&, c] {
                const RpcClient client = local();
                for (unsigned n = 0; n < per_client; ++n) {
                    const std::string hex = core::hex_encode(core::as_bytes(message_text(c, n)));
                    json::value answer =
                        client.call("personal_sign", json::array{json::string(hex), kFirstAccount});
                    if (!answer.is_object() || !answer.as_object().contains("result")) ++failures;
                }
            });
        }
        for (auto& t : threads)
            t.join();
        EXPECT_EQ(failures.load(), 0u);
        std::set<std::string> digests;
        for (unsigned c = 0; c < clients; ++c) {
            for (unsigned n = 0; n < per_client; ++n) {
                digests.insert(core::hex_encode(
                    core::personal_message_hash(core::as_bytes(message_text(c, n)))));
            }
        }
        return digests;
    }

    // Stops the daemon (rotations it queued finish before it exits).
    void stop_daemon() {
        daemon_.signal(SIGTERM);
        ASSERT_EQ(daemon_.wait_exit(), 0) << daemon_.log();
    }

    // The numbers N of the audit.log.N files in the data folder.
    std::vector<unsigned> rotated_numbers() const {
        std::vector<unsigned> out;
        for (const auto& entry : fs::directory_iterator(datadir_)) {
            const std::string name = entry.path().filename().string();
            if (name.rfind("audit.log.", 0) != 0) continue;
            const std::string suffix = name.substr(10);
            EXPECT_TRUE(!suffix.empty() &&
                        suffix.find_first_not_of("0123456789") == std::string::npos)
                << "unexpected file " << name;
            out.push_back(static_cast<unsigned>(std::stoul(suffix)));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    // Every line of every file, oldest file first; each must be a whole JSON object.
    std::vector<json::object> all_entries() const {
        std::vector<std::string> files;
        auto numbers = rotated_numbers();
        for (auto it = numbers.rbegin(); it != numbers.rend(); ++it)
            files.push_back(datadir_ + "/audit.log." + std::to_string(*it));
        files.push_back(datadir_ + "/audit.log");
        std::vector<json::object> out;
        for (const auto& path : files) {
            std::ifstream in(path, std::ios::binary);
            std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
            EXPECT_TRUE(text.empty() || text.back() == '\n') << path << " ends inside a line";
            std::size_t start = 0;
            for (std::size_t end; (end = text.find('\n', start)) != std::string::npos;
                 start = end + 1) {
                json::error_code ec;
                json::value v = json::parse(text.substr(start, end - start), ec);
                EXPECT_FALSE(ec) << path << ": " << text.substr(start, end - start);
                if (!ec && v.is_object()) out.push_back(v.as_object());
            }
        }
        return out;
    }
};

TEST_F(AuditRotationTest, EverySignatureIsAuditedAcrossTheRotatedFiles) {
    // ~300 bytes per line, two lines per signature: 2 KiB files rotate every ~3 signatures.
    ASSERT_NO_FATAL_FAILURE(start_with_rotation("2K", 1000));
    const auto digests = sign_many(4, 60);
    ASSERT_NO_FATAL_FAILURE(stop_daemon());

    const auto numbers = rotated_numbers();
    // ~70 rotations' worth of lines; a queued rotation waits for the blocking thread (and its
    // flush of the previous file), so a busy machine sees fewer, larger files.
    EXPECT_GE(numbers.size(), 10u);
    EXPECT_FALSE(fs::exists(datadir_ + "/audit.log.next"));
    // No gaps: audit.log.1 … audit.log.N.
    for (std::size_t i = 0; i < numbers.size(); ++i)
        EXPECT_EQ(numbers[i], i + 1);
    // Lines written while a rotation waits for the blocking thread stay in the old file too.
    for (unsigned n : numbers) {
        const auto size = fs::file_size(datadir_ + "/audit.log." + std::to_string(n));
        EXPECT_GE(size, 2048u) << n;
        EXPECT_LE(size, 2048u + 65536u) << n;
    }

    std::set<std::string> signed_digests;
    std::size_t approved = 0;
    for (const auto& e : all_entries()) {
        const std::string decision(e.at("decision").as_string());
        if (decision == "signed") {
            EXPECT_TRUE(signed_digests.insert(std::string(e.at("digest").as_string())).second)
                << "a signature audited twice";
        } else if (decision == "approved" && e.at("method") == "personal_sign") {
            EXPECT_EQ(e.at("decidedBy"), json::value("policy line 1"));
            ++approved;
        }
    }
    EXPECT_EQ(signed_digests, digests);
    EXPECT_EQ(approved, digests.size());

    // keybridge audit reads the same files: one JSON line per signature.
    std::string output;
    ASSERT_EQ(run_program({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "audit", "--json",
                           "--decision", "signed", "--method", "personal_sign"},
                          &output),
              0)
        << output;
    EXPECT_EQ(static_cast<std::size_t>(std::count(output.begin(), output.end(), '\n')),
              digests.size());
    for (const auto& digest : digests)
        EXPECT_NE(output.find(digest), std::string::npos) << digest;
}

TEST_F(AuditRotationTest, KeepsOnlyTheConfiguredNumberOfFiles) {
    ASSERT_NO_FATAL_FAILURE(start_with_rotation("1K", 2));
    const auto digests = sign_many(2, 60);
    ASSERT_NO_FATAL_FAILURE(stop_daemon());

    EXPECT_EQ(rotated_numbers(), (std::vector<unsigned>{1, 2}));
    EXPECT_TRUE(fs::exists(datadir_ + "/audit.log"));
    // What is kept ends with the most recent lines, in the order the daemon wrote them.
    const auto kept = all_entries();
    ASSERT_GE(kept.size(), 6u);
    std::set<std::string> seen;
    for (const auto& e : kept) {
        if (e.at("decision") == "signed") {
            const std::string digest(e.at("digest").as_string());
            EXPECT_TRUE(digests.count(digest)) << digest;
            seen.insert(digest);
        }
    }
    EXPECT_LT(seen.size(), digests.size());  // older files were dropped
    EXPECT_GE(seen.size(), 2u);
}

}  // namespace
}  // namespace keybridge::test::e2e
