// keybridged end to end: the audit lines of the signatures a network thread makes in one turn
// of its event loop go out in one write, and every reply still follows its own line. The daemon
// is stopped (SIGSTOP) while sixteen clients send a personal_sign each, so that each network
// thread finds its clients' requests ready at once when it continues.
#include <signal.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/eip191.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;

// The write system calls the process has made (/proc/PID/io "syscw"): audit lines are the
// daemon's only writes while it signs (its answers leave through sendmsg, which is not counted).
std::uint64_t process_write_calls(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/io");
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value) {
        if (key == "syscw:") return value;
    }
    ADD_FAILURE() << "no syscw in /proc/" << pid << "/io";
    return 0;
}

std::string audit_file_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string turn_message(unsigned round, unsigned client) {
    return "turn " + std::to_string(round) + " client " + std::to_string(client);
}

class AuditTurns : public DaemonTest {};

TEST_F(AuditTurns, SignaturesOfOneTurnShareOneWriteAndEachReplyFollowsItsLine) {
    const std::string policy = tmp_.write("policy", "approve origin=local\n");
    ASSERT_NO_FATAL_FAILURE(
        start({"--policy", policy, "--rate-limit", "1000000", "--rate-burst", "1000000"}));
    ASSERT_EQ(local().result("eth_requestAccounts").as_array().size(), 1u);
    constexpr unsigned kClients = 16;
    constexpr unsigned kRounds = 3;
    std::vector<std::unique_ptr<WsClient>> clients;
    for (unsigned c = 0; c < kClients; ++c) {
        clients.push_back(std::make_unique<WsClient>(port(), local_caller()));
        ASSERT_TRUE(clients.back()->open()) << clients.back()->error();
        // A first signature each, so that nothing below is a connection's first.
        const std::string hex = core::hex_encode(core::as_bytes("warm up"));
        ASSERT_TRUE(clients.back()
                        ->call("personal_sign", json::array{json::string(hex), kFirstAccount})
                        .as_object()
                        .contains("result"));
    }
    const std::string audit_path = datadir_ + "/audit.log";
    std::uint64_t writes = 0;
    for (unsigned round = 0; round < kRounds; ++round) {
        ASSERT_EQ(::kill(daemon_.pid(), SIGSTOP), 0);
        for (unsigned c = 0; c < kClients; ++c) {
            const std::string hex = core::hex_encode(core::as_bytes(turn_message(round, c)));
            const std::string call = R"({"jsonrpc":"2.0","id":)" + std::to_string(c) +
                                     R"(,"method":"personal_sign","params":[")" + hex + R"(",")" +
                                     kFirstAccount + R"("]})";
            ASSERT_TRUE(clients[c]->send_text(call));
        }
        // Loopback delivers into the stopped daemon's receive queues at once.
        const std::uint64_t before = process_write_calls(daemon_.pid());
        ASSERT_EQ(::kill(daemon_.pid(), SIGCONT), 0);
        for (unsigned c = 0; c < kClients; ++c) {
            const auto answer = clients[c]->read_json();
            ASSERT_TRUE(answer && answer->as_object().contains("result")) << c;
            // The reply left after the line that records its signature.
            const std::string digest = core::hex_encode(
                core::personal_message_hash(core::as_bytes(turn_message(round, c))));
            EXPECT_NE(audit_file_text(audit_path).find(digest), std::string::npos)
                << "round " << round << ", client " << c << ": answered before its audit line";
        }
        writes += process_write_calls(daemon_.pid()) - before;
    }
    // One write per network thread and turn (two threads): 6 for the 48 signatures; a write per
    // signature before. The bound leaves room for a request that reached its thread a turn late.
    EXPECT_LE(writes, 12u) << "audit writes for " << kClients * kRounds << " signatures";
}

}  // namespace
}  // namespace keybridge::test::e2e
