// keybridged end to end: start-up, the cookie, upstream nodes, graceful shutdown.
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/daemon/e2e/daemon_process.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

using Lifecycle = DaemonTest;

TEST_F(Lifecycle, NoUpstreamGives4901WithAClearMessage) {
    ASSERT_NO_FATAL_FAILURE(start());
    json::value res = local().call("eth_blockNumber");
    EXPECT_EQ(res.at("error").at("code"), json::value(4901)) << res;
    const std::string message(res.at("error").at("message").as_string());
    EXPECT_NE(message.find("no RPC node is configured for chain 1"), std::string::npos) << message;
    EXPECT_NE(message.find("--chain 1="), std::string::npos) << message;
    EXPECT_EQ(page().error_code("eth_getBalance", json::array{kFirstAccount, "latest"}), 4901);
}

TEST_F(Lifecycle, UnreachableUpstreamGives4901Quickly) {
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "1=http://127.0.0.1:1"}));
    const auto begin = std::chrono::steady_clock::now();
    json::value res = local().call("eth_blockNumber");
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
    EXPECT_EQ(res.at("error").at("code"), json::value(4901)) << res;
    EXPECT_NE(json::serialize(res).find("unreachable"), std::string::npos) << res;
    // Sending a transaction needs the node too.
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    json::value tx =
        local().call("eth_sendTransaction",
                     json::array{json::object{
                         {"from", kFirstAccount}, {"to", kFirstAccount}, {"value", "0x1"}}});
    EXPECT_EQ(tx.at("error").at("code"), json::value(4901)) << tx;
}

TEST_F(Lifecycle, CookieIsPrivateAndRotatesOnRestart) {
    ASSERT_NO_FATAL_FAILURE(start());
    struct stat st {};
    ASSERT_EQ(::stat(cookie_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(token_.find_first_not_of("0123456789abcdef"), std::string::npos) << token_;
    const std::string first = token_;
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << daemon_.log();
    EXPECT_FALSE(fs::exists(cookie_path())) << "the cookie outlived the daemon";

    DaemonProcess second;
    ASSERT_TRUE(second.start(base_args())) << second.log();
    ASSERT_TRUE(second.wait_for_log("unlocked: "));
    const std::string rotated = read_cookie();
    EXPECT_EQ(rotated.size(), 64u);
    EXPECT_NE(rotated, first);
    RpcClient old_token(second.port(), Caller{first, "", false});
    EXPECT_EQ(old_token.post(body("eth_chainId")).status, 401);
    RpcClient new_token(second.port(), Caller{rotated, "", false});
    EXPECT_EQ(new_token.result("eth_chainId"), json::value("0x1"));
    second.signal(SIGINT);
    EXPECT_EQ(second.wait_exit(), 0);
}

TEST_F(Lifecycle, BadPolicyLineFailsStartUpNamingFileAndLine) {
    const std::string policy =
        tmp_.write("policy", "# rules\napprove method=personal_sign\nallow everything\n");
    std::vector<std::string> args = base_args();
    args.insert(args.end(), {"--policy", policy});
    EXPECT_FALSE(daemon_.start(args));
    EXPECT_EQ(daemon_.wait_exit(), 1);
    EXPECT_NE(daemon_.log().find(policy + ":3:"), std::string::npos) << daemon_.log();
    EXPECT_NE(daemon_.log().find("'allow'"), std::string::npos) << daemon_.log();
}

// A misspelled method or origin used to be accepted and never matched: a deny that never denied.
TEST_F(Lifecycle, PolicyWithUnknownMethodOrOriginFailsStartUpNamingFileAndLine) {
    const std::pair<std::string, std::string> cases[] = {
        {"approve origin=local chain=31337\ndeny method=eth_sendTransactoin\n",
         ":2: unknown method 'eth_sendTransactoin'"},
        {"\n\napprove origin=local client\n", ":3: "},
        {"approve origin=localhost:3000 method=personal_sign\n", ":1: origin 'localhost:3000'"},
        {"approve allow-warning=no-such-warning\n", ":1: unknown warning 'no-such-warning'"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string policy = tmp_.write("policy", text);
        std::vector<std::string> args = base_args();
        args.insert(args.end(), {"--policy", policy});
        DaemonProcess daemon;
        EXPECT_FALSE(daemon.start(args)) << text;
        EXPECT_EQ(daemon.wait_exit(), 1) << text;
        EXPECT_NE(daemon.log().find(policy + expected), std::string::npos) << daemon.log();
    }
}

// The log tells a user what was set up: data folder, vault state, chains with their nodes, and
// never the secret parts of a node URL (API keys live in paths, queries and credentials).
TEST_F(Lifecycle, StartUpLogNamesDataFolderVaultAndRedactedChainNodes) {
    ASSERT_NO_FATAL_FAILURE(start(
        {"--chain", "31337=http://user:secret@127.0.0.1:8545/v3/APIKEY123?key=QUERYKEY Local"},
        false));
    EXPECT_TRUE(daemon_.wait_for_log("data folder " + datadir_)) << daemon_.log();
    EXPECT_TRUE(daemon_.wait_for_log("vault: locked, 1 accounts")) << daemon_.log();
    EXPECT_TRUE(daemon_.wait_for_log("chain 31337 (Local): http://127.0.0.1:8545"))
        << daemon_.log();
    const std::string log = daemon_.log();
    for (const char* secret : {"secret", "APIKEY123", "QUERYKEY", "/v3"})
        EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in\n" << log;

    // A wrong unlock password is logged, never the password.
    json::value answer = control().call("keybridge_unlock", json::array{"not-the-password-xyz"});
    EXPECT_EQ(answer.at("error").at("code"), json::value(4100)) << answer;
    EXPECT_TRUE(daemon_.wait_for_log("unlock refused: wrong password")) << daemon_.log();
    EXPECT_EQ(daemon_.log().find("not-the-password-xyz"), std::string::npos);
}

TEST_F(Lifecycle, BadCommandLineExitsWithUsageError) {
    std::string output;
    EXPECT_EQ(run_program({KEYBRIDGE_DAEMON_PATH, "--listen", "0.0.0.0:8645"}, &output), 2);
    EXPECT_NE(output.find("loopback"), std::string::npos) << output;
    EXPECT_EQ(run_program({KEYBRIDGE_DAEMON_PATH, "--threads", "zero"}, &output), 2);
    EXPECT_NE(output.find("--threads"), std::string::npos) << output;
    EXPECT_EQ(run_program({KEYBRIDGE_DAEMON_PATH, "--version"}, &output), 0);
    EXPECT_NE(output.find("keybridged "), std::string::npos) << output;
}

// --threads 3: each network thread runs its own event loop and serves the connections the
// listener hands it in turn. Clients signing at once on six WebSockets (two per thread) and over
// HTTP are all answered, every audit line (two per signature, written outside the log's lock by
// whichever thread signed) is whole, and SIGTERM ends every loop: the daemon exits.
TEST_F(Lifecycle, SeveralNetworkThreadsServeTheirConnectionsAndStopTogether) {
    const std::string policy = tmp_.write("policy", "approve origin=local\n");
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "3", "--policy", policy}));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    constexpr int kSockets = 6;
    constexpr int kEach = 15;
    std::vector<std::unique_ptr<WsClient>> sockets;
    for (int i = 0; i < kSockets; ++i) {
        sockets.push_back(std::make_unique<WsClient>(port(), local().caller()));
        ASSERT_TRUE(sockets.back()->open()) << sockets.back()->error();
    }
    std::atomic<int> signed_count{0};
    std::vector<std::thread> callers;
    for (auto& socket : sockets) {
        callers.emplace_back([&, ws = socket.get()] {
            for (int j = 0; j < kEach; ++j) {
                const json::value r =
                    ws->call("personal_sign", json::array{"0x6869", kFirstAccount});
                if (r.is_object() && r.as_object().contains("result")) ++signed_count;
            }
        });
    }
    callers.emplace_back([&] {
        for (int j = 0; j < kEach; ++j) {
            const json::value r =
                local().call("personal_sign", json::array{"0x6869", kFirstAccount});
            if (r.is_object() && r.as_object().contains("result")) ++signed_count;
        }
    });
    for (auto& t : callers)
        t.join();
    EXPECT_EQ(signed_count.load(), (kSockets + 1) * kEach);
    for (auto& socket : sockets)
        EXPECT_EQ(socket->call("eth_chainId").at("result"), json::value("0x1"));

    std::ifstream audit(datadir_ + "/audit.log");
    int signed_lines = 0;
    for (std::string line; std::getline(audit, line);) {
        json::error_code ec;
        const json::value v = json::parse(line, ec);
        ASSERT_FALSE(ec) << "torn audit line: " << line;
        if (v.at("decision") == json::value("signed")) ++signed_lines;
    }
    EXPECT_EQ(signed_lines, (kSockets + 1) * kEach);

    sockets.clear();
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << daemon_.log();
}

struct DaemonThread {
    pid_t tid = 0;
    std::string name;
    int policy = -1;  // sched_getscheduler's answer
};

std::vector<DaemonThread> threads_of(pid_t pid) {
    std::vector<DaemonThread> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        DaemonThread t;
        t.tid = static_cast<pid_t>(std::stol(entry.path().filename().string()));
        std::ifstream(entry.path() / "comm") >> t.name;
        t.policy = ::sched_getscheduler(t.tid);
        out.push_back(t);
    }
    return out;
}

// The threads running the network loops: the main thread (the first loop) and kb-net-1.. (the
// others, named once they run). Empty until all `count` are there with their policy applied.
std::vector<DaemonThread> network_threads(pid_t pid, int count, int expected_policy) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        std::vector<DaemonThread> network;
        for (const auto& t : threads_of(pid)) {
            if (t.tid == pid || t.name.rfind("kb-net-", 0) == 0) network.push_back(t);
        }
        bool settled = static_cast<int>(network.size()) == count;
        for (const auto& t : network)
            settled = settled && t.policy == expected_policy;
        if (settled) return network;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return {};
}

// Under --network-scheduling batch the network threads do not preempt the client that woke
// them (a fuller read and write later, docs/BENCHMARKS.md); the blocking-work thread keeps the
// normal policy, and --network-scheduling normal leaves every thread as it was. (The default,
// adaptive, is tested with pipelining clients in answer_coalescing_test.cpp.)
TEST_F(Lifecycle, NetworkThreadsAreNamedAndRunUnderBatchSchedulingWhenAsked) {
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "3", "--network-scheduling", "batch"}));
    EXPECT_TRUE(daemon_.wait_for_log("3 network threads, batch scheduling")) << daemon_.log();
    auto network = network_threads(daemon_.pid(), 3, SCHED_BATCH);
    ASSERT_EQ(network.size(), 3U) << daemon_.log();
    std::vector<std::string> names;
    for (const auto& t : network)
        if (t.tid != daemon_.pid()) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"kb-net-1", "kb-net-2"}));
    int normal = 0;
    for (const auto& t : threads_of(daemon_.pid()))
        if (t.policy == SCHED_OTHER) ++normal;
    EXPECT_GE(normal, 1) << "the blocking-work thread should keep SCHED_OTHER";
    EXPECT_EQ(local().call("eth_chainId").at("result"), json::value("0x1"));
}

TEST_F(Lifecycle, NormalNetworkSchedulingLeavesEveryThreadAsItWas) {
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "2", "--network-scheduling", "normal"}));
    EXPECT_TRUE(daemon_.wait_for_log("2 network threads, normal scheduling")) << daemon_.log();
    EXPECT_EQ(network_threads(daemon_.pid(), 2, SCHED_OTHER).size(), 2U) << daemon_.log();
    for (const auto& t : threads_of(daemon_.pid()))
        EXPECT_EQ(t.policy, SCHED_OTHER) << t.name;
}

// Each HTTP request has a connection id of its own; what a signature keeps for its connection
// (the stop token that cancels its job if the client leaves) goes once it is answered. At
// shutdown the daemon says how many connections still had one: only the open WebSocket.
TEST_F(Lifecycle, AnsweredHttpSignaturesLeaveNothingBehind) {
    const std::string policy = tmp_.write("policy", "approve origin=local\n");
    ASSERT_NO_FATAL_FAILURE(start({"--policy", policy}));
    ASSERT_NO_FATAL_FAILURE(connect_account(local()));
    for (int i = 0; i < 40; ++i) {
        const json::value r = local().call("personal_sign", json::array{"0x6869", kFirstAccount});
        ASSERT_TRUE(r.is_object() && r.as_object().contains("result")) << json::serialize(r);
    }
    WsClient ws(port(), local().caller());
    ASSERT_TRUE(ws.open()) << ws.error();
    const json::value r = ws.call("personal_sign", json::array{"0x6869", kFirstAccount});
    ASSERT_TRUE(r.is_object() && r.as_object().contains("result")) << json::serialize(r);
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << daemon_.log();
    EXPECT_NE(daemon_.log().find("stopping the signer jobs of 1 connection(s)"), std::string::npos)
        << daemon_.log();
}

TEST_F(Lifecycle, PortInUseFailsStartUp) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string other_data = tmp_.path() + "/other";
    std::string output;
    const int status = run_program({KEYBRIDGE_DAEMON_PATH, "--datadir", other_data, "--listen",
                                    "127.0.0.1:" + std::to_string(port())},
                                   &output, 20s);
    EXPECT_EQ(status, 1) << output;
    EXPECT_NE(output.find(std::to_string(port())), std::string::npos) << output;
    EXPECT_EQ(local().result("eth_chainId"), json::value("0x1"));
}

TEST_F(Lifecycle, SecondDaemonOnTheSameDatadirIsRefusedAndLeavesTheCookie) {
    ASSERT_NO_FATAL_FAILURE(start());
    // Another port: the bind would succeed, the data folder is what they would share.
    std::string output;
    const int status = run_program(
        {KEYBRIDGE_DAEMON_PATH, "--datadir", datadir_, "--listen", "127.0.0.1:0"}, &output, 20s);
    EXPECT_EQ(status, 1) << output;
    EXPECT_NE(output.find(datadir_), std::string::npos) << output;
    // The first daemon's cookie is untouched and still opens the door.
    EXPECT_EQ(read_cookie(), token_);
    EXPECT_EQ(local().result("eth_chainId"), json::value("0x1"));
    // Same port: refused as well, and again the cookie stays.
    run_program({KEYBRIDGE_DAEMON_PATH, "--datadir", datadir_, "--listen",
                 "127.0.0.1:" + std::to_string(port())},
                &output, 20s);
    EXPECT_EQ(read_cookie(), token_);
}

TEST_F(Lifecycle, SigtermAnswersWaitingRequestsWith4900AndClosesWith1001) {
    ASSERT_NO_FATAL_FAILURE(start());
    // A WebSocket client and an HTTP page wait for approvals.
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open()) << ws.error();
    ASSERT_TRUE(ws.send_text(body("eth_requestAccounts", json::array{}, 77)));
    auto http_wait =
        std::async(std::launch::async, [&] { return page().post(body("eth_requestAccounts")); });
    ASSERT_EQ(wait_pending(control(), 2).size(), 2u);

    daemon_.signal(SIGTERM);
    // The WebSocket hears the answer first, then the close.
    bool answered = false;
    for (int i = 0; i < 5; ++i) {
        auto message = ws.read_json(5s);
        if (!message) break;
        const json::object& o = message->as_object();
        if (o.contains("id")) {
            EXPECT_EQ(o.at("id"), json::value(77));
            EXPECT_EQ(o.at("error").at("code"), json::value(4900)) << *message;
            answered = true;
        }
    }
    EXPECT_TRUE(answered) << "the waiting WebSocket request got no answer";
    EXPECT_TRUE(ws.closed());
    EXPECT_EQ(ws.close_code(), 1001) << ws.end_error();

    HttpResponse res = http_wait.get();
    EXPECT_EQ(res.status, 200) << res.error;
    EXPECT_EQ(res.json().at("error").at("code"), json::value(4900)) << res.body;

    EXPECT_EQ(daemon_.wait_exit(), 0) << daemon_.log();
    EXPECT_FALSE(fs::exists(cookie_path()));
    EXPECT_NE(daemon_.log().find("stopped"), std::string::npos);
}

// docs/RPC.md: at shutdown a WebSocket client learns the fate of each pending request (4900)
// before keybridge_disconnect, and the close frame comes last.
TEST_F(Lifecycle, SigtermSends4900AnswersBeforeTheDisconnectNotification) {
    ASSERT_NO_FATAL_FAILURE(start());
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open()) << ws.error();
    ASSERT_TRUE(ws.send_text(body("eth_requestAccounts", json::array{}, 41)));
    // Another kind of request: a second connect request of the caller would be refused (-32002).
    ASSERT_TRUE(
        ws.send_text(body("wallet_addEthereumChain",
                          json::array{json::object{{"chainId", "0x7a69"},
                                                   {"chainName", "Local"},
                                                   {"rpcUrls", json::array{"http://127.0.0.1:1"}}}},
                          42)));
    ASSERT_EQ(wait_pending(control(), 2).size(), 2u);

    daemon_.signal(SIGTERM);
    std::vector<std::string> order;  // "41", "42", "disconnect"
    while (auto message = ws.read_json(5s)) {
        const json::object& o = message->as_object();
        if (o.contains("id")) {
            EXPECT_EQ(o.at("error").at("code"), json::value(4900)) << *message;
            order.push_back(json::serialize(o.at("id")));
        } else if (o.at("method") == "keybridge_disconnect") {
            EXPECT_EQ(o.at("params").at("code"), json::value(4900)) << *message;
            order.push_back("disconnect");
        }
    }
    ASSERT_EQ(order.size(), 3u) << ws.end_error();
    EXPECT_EQ(order.back(), "disconnect") << "keybridge_disconnect came before an answer";
    EXPECT_EQ(ws.close_code(), 1001) << ws.end_error();
    EXPECT_EQ(daemon_.wait_exit(), 0) << daemon_.log();
}

TEST_F(Lifecycle, SigtermWithIdleClientsExitsPromptly) {
    ASSERT_NO_FATAL_FAILURE(start());
    WsClient ws(port(), local_caller());
    ASSERT_TRUE(ws.open());
    HttpConnection idle(port());
    ASSERT_EQ(idle.send(local().request(body("eth_chainId"))).status, 200);
    RawConnection silent(port());
    const auto begin = std::chrono::steady_clock::now();
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(10s), 0) << daemon_.log();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
    EXPECT_TRUE(ws.wait_closed(2s));
    EXPECT_EQ(ws.close_code(), 1001) << ws.end_error();
}

TEST_F(Lifecycle, ChainSelectionIsPerOriginAndNotified) {
    ASSERT_NO_FATAL_FAILURE(start({"--chain", "31337=http://127.0.0.1:1 Local"}));
    WsClient ws(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(ws.open());
    json::value sub = ws.call("eth_subscribe", json::array{"chainChanged"});
    ASSERT_TRUE(sub.as_object().contains("result")) << sub;
    EXPECT_EQ(page().result("eth_chainId"), json::value("0x1"));
    EXPECT_EQ(page().result("wallet_switchEthereumChain",
                            json::array{json::object{{"chainId", "0x7a69"}}}),
              json::value(nullptr));
    json::value event = ws.next_notification(5s);
    ASSERT_TRUE(event.is_object());
    EXPECT_EQ(event.at("params").at("subscription"), sub.at("result"));
    EXPECT_EQ(event.at("params").at("result"), json::value("0x7a69"));
    EXPECT_EQ(page().result("eth_chainId"), json::value("0x7a69"));
    EXPECT_EQ(page().result("net_version"), json::value("31337"));
    EXPECT_EQ(page("https://other.example").result("eth_chainId"), json::value("0x1"));
    EXPECT_EQ(page().error_code("wallet_switchEthereumChain",
                                json::array{json::object{{"chainId", "0x5"}}}),
              4902);
    EXPECT_EQ(page().error_code("wallet_switchEthereumChain",
                                json::array{json::object{{"chainId", "5"}}}),
              -32602);
    // Subscriptions need a WebSocket; ids belong to their connection.
    EXPECT_EQ(page().error_code("eth_subscribe", json::array{"chainChanged"}), 4200);
    EXPECT_EQ(page().error_code("eth_subscribe", json::array{"newHeads"}), 4200);
    WsClient other(port(), Caller{"", kPageOrigin, false});
    ASSERT_TRUE(other.open());
    EXPECT_EQ(other.call("eth_unsubscribe", json::array{sub.at("result")}).at("result"),
              json::value(false));
    EXPECT_EQ(ws.call("eth_unsubscribe", json::array{sub.at("result")}).at("result"),
              json::value(true));
    EXPECT_EQ(ws.call("eth_unsubscribe", json::array{sub.at("result")}).at("result"),
              json::value(false));
    // This page has no grant: its selection lived in memory only and is gone after a restart
    // (a granted origin's is kept: permissions_flood_test.cpp).
    daemon_.signal(SIGTERM);
    ASSERT_EQ(daemon_.wait_exit(), 0);
    DaemonProcess second;
    std::vector<std::string> args = base_args();
    args.insert(args.end(), {"--chain", "31337=http://127.0.0.1:1"});
    ASSERT_TRUE(second.start(args)) << second.log();
    EXPECT_EQ(RpcClient(second.port(), Caller{"", kPageOrigin, false}).result("eth_chainId"),
              json::value("0x1"));
}

// A node URL with an API key given with --chain is readable by every local user in
// /proc/PID/cmdline; from the config file it is not. The file must be private to the user.
TEST_F(Lifecycle, ChainsFromAPrivateConfigFileAndNotFromOneOthersCanRead) {
    const std::string config =
        tmp_.write("keybridged.conf",
                   "# nodes with API keys stay off the command line\n"
                   "chain = 31337=http://127.0.0.1:1/v3/APIKEY123?key=QUERYKEY Local\n"
                   "chain-id = 31337\n");
    ASSERT_NO_FATAL_FAILURE(start({"--config", config}));
    EXPECT_TRUE(daemon_.wait_for_log("chain 31337 (Local): http://127.0.0.1:1")) << daemon_.log();
    std::string cmdline;
    {
        std::ifstream in("/proc/" + std::to_string(daemon_.pid()) + "/cmdline");
        cmdline.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    EXPECT_NE(cmdline.find(config), std::string::npos) << "not the daemon's command line?";
    EXPECT_EQ(cmdline.find("APIKEY123"), std::string::npos) << cmdline;
    // The file's chain is the one used: selected by default, and its node is asked.
    EXPECT_EQ(local().result("eth_chainId"), json::value("0x7a69"));
    json::value res = local().call("eth_blockNumber");
    EXPECT_EQ(res.at("error").at("code"), json::value(4901)) << res;
    EXPECT_NE(json::serialize(res).find("unreachable"), std::string::npos) << res;
    daemon_.signal(SIGTERM);
    EXPECT_EQ(daemon_.wait_exit(), 0) << daemon_.log();

    // Readable by the group or by everyone: keybridged refuses to start, and says how to fix it.
    fs::permissions(config,
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                        fs::perms::others_read,
                    fs::perm_options::replace);
    std::vector<std::string> args = base_args();
    args.insert(args.end(), {"--config", config});
    DaemonProcess open_file;
    EXPECT_FALSE(open_file.start(args));
    EXPECT_EQ(open_file.wait_exit(), 2) << open_file.log();
    EXPECT_NE(open_file.log().find(config + " is open to other users (mode 0644)"),
              std::string::npos)
        << open_file.log();
    EXPECT_NE(open_file.log().find("chmod 600"), std::string::npos) << open_file.log();
    EXPECT_EQ(open_file.log().find("APIKEY123"), std::string::npos) << open_file.log();
}

}  // namespace
}  // namespace keybridge::test::e2e
