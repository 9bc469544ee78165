// Issue 9's self-approval attack and the approver role that stops it: approvals are seen and
// decided only on the control socket (a process of keybridged's own user, SO_PEERCRED), never
// with the cookie token a script is handed; a request is never decided by the connection that
// made it; deny rules hold for every caller; the audit log names the approver session.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <sstream>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using ApproverRole = DaemonTest;

json::array sign_params(std::string_view text) {
    return json::array{json::string(core::hex_encode(core::as_bytes(text))), kFirstAccount};
}

std::string audit_text(const std::string& datadir) {
    std::ifstream in(datadir + "/audit.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST_F(ApproverRole, TheCookieTokenCanNeitherListNorDecideNorUnlock) {
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_EQ(local().error_code("keybridge_pendingApprovals"), 4100);
    EXPECT_EQ(local().error_code("keybridge_decide", json::array{1, "approve"}), 4100);
    EXPECT_EQ(
        local().error_code("keybridge_respond", json::array{1, json::object{{"cancel", true}}}),
        4100);
    // The password goes only where the tool could check who listens.
    EXPECT_EQ(local().error_code("keybridge_unlock", json::array{kVaultPassword}), 4100);
    WsClient watcher(port(), local_caller());
    ASSERT_TRUE(watcher.open());
    EXPECT_EQ(
        watcher.call("eth_subscribe", json::array{"keybridge_approvals"}).at("error").at("code"),
        json::value(4100));
    // The token still does what scripts need.
    EXPECT_TRUE(local().result("keybridge_status").is_object());
    // And the control socket does all of it.
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
}

// The script of the finding: it holds the token, drops it on a second connection, claims an
// Origin, and answers its own approval. Its request now waits for a real approver.
TEST_F(ApproverRole, AScriptWithTheTokenCannotApproveItsOwnPageRequest) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page("https://claimed.example")));
    RpcClient claimed = page("https://claimed.example");
    auto signing = std::async(std::launch::async, [&] {
        return claimed.call("personal_sign", sign_params("self-approved?"));
    });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(local().error_code("keybridge_decide", decision_for(pending[0], "approve")), 4100);
    EXPECT_EQ(signing.wait_for(300ms), std::future_status::timeout) << "decided by the token";
    EXPECT_EQ(control().result("keybridge_pendingApprovals").as_array().size(), 1u);
    // A person rejects it.
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "reject")),
              json::value(true));
    EXPECT_EQ(signing.get().at("error").at("code"), json::value(4001));
}

TEST_F(ApproverRole, DenyRulesHoldForCallersWithoutTheToken) {
    const std::string policy = tmp_.write("policy", "deny method=eth_sign\n");
    ASSERT_NO_FATAL_FAILURE(start({"--policy", policy, "--enable-eth-sign"}));
    ASSERT_NO_FATAL_FAILURE(connect_account(page("https://claimed.example")));
    // eth_sign from a claimed page: refused at once, no approver ever asked.
    json::value answer =
        page("https://claimed.example")
            .call("eth_sign", json::array{kFirstAccount, "0x" + std::string(64, 'a')});
    EXPECT_EQ(answer.at("error").at("code"), json::value(4001)) << answer;
    EXPECT_NE(json::serialize(answer).find("policy"), std::string::npos) << answer;
    EXPECT_EQ(control().result("keybridge_pendingApprovals"), json::array{});
}

TEST_F(ApproverRole, ARequestIsNeverDecidedByTheConnectionThatMadeIt) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    ControlConnection both(control_path());
    ASSERT_TRUE(both.connected()) << both.error();
    // A signing request on the control connection (id 7), then its own attempt to approve it.
    ASSERT_TRUE(both.send_line(json::serialize(json::object{{"jsonrpc", "2.0"},
                                                            {"id", 7},
                                                            {"method", "personal_sign"},
                                                            {"params", sign_params("mine")}})));
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    json::value self = both.call("keybridge_decide", decision_for(pending[0], "approve"), 8);
    EXPECT_EQ(self.at("error").at("code"), json::value(4100)) << self;
    EXPECT_NE(json::serialize(self).find("another approver"), std::string::npos) << self;
    // Another approver session may.
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "approve")),
              json::value(true));
    json::value signed_answer;
    for (int i = 0; i < 3 && !signed_answer.is_object(); ++i) {
        auto line = both.read_line(10s);
        ASSERT_TRUE(line);
        json::value v = json::parse(*line);
        if (v.as_object().if_contains("id") && v.at("id") == json::value(7)) signed_answer = v;
    }
    ASSERT_TRUE(signed_answer.is_object());
    EXPECT_TRUE(signed_answer.as_object().contains("result")) << signed_answer;
}

TEST_F(ApproverRole, TheAuditLogNamesTheApproverSession) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(connect_account(page()));
    auto signing = std::async(std::launch::async,
                              [&] { return page().call("personal_sign", sign_params("audited")); });
    json::array pending = wait_pending(control(), 1);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(control().result("keybridge_decide", decision_for(pending[0], "approve")),
              json::value(true));
    EXPECT_TRUE(signing.get().as_object().contains("result"));
    const std::string text = audit_text(datadir_);
    const std::string expected = "\"decidedBy\":\"control#";
    EXPECT_NE(text.find(expected), std::string::npos) << text;
    EXPECT_NE(text.find(" pid " + std::to_string(::getpid())), std::string::npos) << text;
    EXPECT_EQ(text.find("\"decidedBy\":\"user\""), std::string::npos) << text;
}

TEST_F(ApproverRole, TheControlSocketIsPrivateAndChecksThePeersUser) {
    ASSERT_NO_FATAL_FAILURE(start());
    struct stat st {};
    ASSERT_EQ(::stat(control_path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    // Even with the file opened up, another user's process gets nothing: the daemon checks
    // SO_PEERCRED and hangs up.
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0755), 0);
    ASSERT_EQ(::chmod(datadir_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(control_path().c_str(), 0666), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", control_path().c_str());
        if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ::_exit(11);
        const char request[] =
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"keybridge_pendingApprovals\"}\n";
        (void)::send(fd, request, sizeof request - 1, MSG_NOSIGNAL);
        char reply[256];
        const ssize_t n = ::recv(fd, reply, sizeof reply, 0);
        ::_exit(n <= 0 ? 0 : 12);  // closed (or reset) without an answer
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ::chmod(datadir_.c_str(), 0700);
    ::chmod(tmp_.path().c_str(), 0700);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_TRUE(daemon_.wait_for_log("refused a control connection from uid 65534"))
        << daemon_.log();
}

}  // namespace
}  // namespace keybridge::test::e2e
