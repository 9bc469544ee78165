// The Ledger simulator's own rules, below what the hw-app-eth Node test reaches: HID framing and
// the report loop on a socketpair, the transaction stream parser at every chunk boundary, the
// user's hold/cancel, the Speculos TCP framing and the program's --hid-fd mode.
#include <arpa/inet.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/hash.h"
#include "core/secp256k1.h"
#include "tests/tools/ledger_sim/eth_app.h"
#include "tests/tools/ledger_sim/transports.h"

extern char** environ;

namespace keybridge::tests::ledger_sim {
namespace {

using core::Bytes;

Bytes hex(std::string_view text) {
    auto bytes = core::hex_decode(text, core::HexPrefix::Optional);
    EXPECT_TRUE(bytes.has_value()) << text;
    return bytes ? *bytes : Bytes{};
}

std::uint16_t status_of(const Bytes& reply) {
    return static_cast<std::uint16_t>((reply[reply.size() - 2] << 8) | reply.back());
}

Bytes apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
           const Bytes& data) {
    Bytes out(5 + data.size());
    out[0] = cla;
    out[1] = ins;
    out[2] = p1;
    out[3] = p2;
    out[4] = static_cast<std::uint8_t>(data.size());
    std::copy(data.begin(), data.end(), out.begin() + 5);
    return out;
}

// m/44'/60'/0'/0/0 as the app reads it.
const Bytes kPath = hex("058000002c8000003c800000000000000000000000");

core::Address expected_address() {
    auto seed = core::bip39::seed_from_mnemonic(kSpeculosDefaultPhrase);
    EXPECT_TRUE(seed.has_value());
    auto address = core::bip32::ethereum_address(seed->view(), "m/44'/60'/0'/0/0");
    EXPECT_TRUE(address.has_value());
    return *address;
}

core::Address recover(const core::Hash32& digest, const Bytes& reply, std::uint8_t parity) {
    core::RecoverableSignature sig;
    std::copy_n(reply.begin() + 1, 32, sig.r.begin());
    std::copy_n(reply.begin() + 33, 32, sig.s.begin());
    sig.recovery_id = parity;
    auto key = core::recover_public_key(digest, sig);
    EXPECT_TRUE(key.has_value());
    return key ? key->address() : core::Address{};
}

struct Device {
    User user;
    std::unique_ptr<EthApp> app;
    Device() {
        auto made = EthApp::from_mnemonic(kSpeculosDefaultPhrase, "", user);
        EXPECT_TRUE(made.has_value());
        app = std::move(*made);
        app->update_config([](Config& c) { c.blind_signing = true; });
    }
};

// ---- HID framing ----

TEST(LedgerSimHid, FramesChannelTagSequenceAndLengthInTheFirstReportOnly) {
    Bytes message(200);
    for (std::size_t i = 0; i < message.size(); ++i)
        message[i] = static_cast<std::uint8_t>(i);
    auto reports = hid::frame(message);
    // 57 bytes in the first report, 59 in each following one.
    ASSERT_EQ(reports.size(), 4u);
    EXPECT_EQ(Bytes(reports[0].begin(), reports[0].begin() + 8), hex("0101050000"
                                                                     "00c8"
                                                                     "00"));
    EXPECT_EQ(Bytes(reports[1].begin(), reports[1].begin() + 6), hex("0101050001"
                                                                     "39"));
    EXPECT_EQ(Bytes(reports[3].begin(), reports[3].begin() + 5), hex("0101050003"));
    // zero padding after the last byte (200 = 57 + 59 + 59 + 25)
    EXPECT_EQ(reports[3][5 + 24], 199);
    EXPECT_EQ(reports[3][5 + 25], 0);

    hid::Reassembler reassembler;
    for (std::size_t i = 0; i < reports.size(); ++i) {
        auto fed = reassembler.feed(reports[i]);
        ASSERT_TRUE(fed.has_value());
        EXPECT_EQ(fed->has_value(), i + 1 == reports.size());
        if (*fed) {
            EXPECT_EQ(**fed, message);
        }
    }
}

TEST(LedgerSimHid, ReassemblerRejectsWrongChannelTagSequenceAndShortReports) {
    auto reports = hid::frame(Bytes(100, 0xaa));
    hid::Reassembler r;
    auto bad_channel = reports[0];
    bad_channel[1] = 0x02;
    EXPECT_FALSE(r.feed(bad_channel).has_value());
    auto bad_tag = reports[0];
    bad_tag[2] = 0x02;
    EXPECT_FALSE(r.feed(bad_tag).has_value());
    EXPECT_FALSE(r.feed(reports[1]).has_value());  // sequence 1 before 0
    EXPECT_FALSE(r.feed(Bytes(reports[0].begin(), reports[0].begin() + 63)).has_value());
    // After errors it starts afresh.
    ASSERT_TRUE(r.feed(reports[0]).has_value());
    auto second = r.feed(reports[1]);
    ASSERT_TRUE(second.has_value() && second->has_value());
    EXPECT_EQ(**second, Bytes(100, 0xaa));
}

TEST(LedgerSimHid, ServesApdusOnASeqpacketSocketpair) {
    Device device;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
    std::thread server([&] { serve_hid(fds[1], *device.app); });

    // Report bytes written out by hand: E0 06 00 00 00 (app configuration).
    Bytes report =
        hex("0101050000"
            "0005"
            "e006000000");
    report.resize(64);
    ASSERT_EQ(::write(fds[0], report.data(), report.size()), 64);
    std::uint8_t in[64];
    ASSERT_EQ(::read(fds[0], in, sizeof in), 64);
    EXPECT_EQ(Bytes(in, in + 13), hex("0101050000"
                                      "0006"
                                      "01010d00"
                                      "9000"));

    // A 65-byte write with hidapi's leading report id, and a noise report first.
    Bytes noise(64, 0xff);
    ASSERT_EQ(::write(fds[0], noise.data(), noise.size()), 64);
    Bytes with_id = hex("00");
    with_id.insert(with_id.end(), report.begin(), report.end());
    ASSERT_EQ(::write(fds[0], with_id.data(), with_id.size()), 65);
    ASSERT_EQ(::read(fds[0], in, sizeof in), 64);
    EXPECT_EQ(Bytes(in, in + 13), hex("0101050000"
                                      "0006"
                                      "01010d00"
                                      "9000"));

    // A personal message spanning three reports; the signature spans two.
    Bytes message(120, 'k');
    Bytes data = kPath;
    Bytes length = hex("00000078");
    data.insert(data.end(), length.begin(), length.end());
    data.insert(data.end(), message.begin(), message.end());
    auto frames = hid::frame(apdu(0xe0, 0x08, 0x00, 0x00, data));
    ASSERT_EQ(frames.size(), 3u);
    for (const auto& f : frames)
        ASSERT_EQ(::write(fds[0], f.data(), f.size()), 64);
    hid::Reassembler host;
    std::optional<Bytes> answer;
    while (!answer) {
        ASSERT_EQ(::read(fds[0], in, sizeof in), 64);
        auto fed = host.feed(Bytes(in, in + 64));
        ASSERT_TRUE(fed.has_value());
        answer = *fed;
    }
    ASSERT_EQ(answer->size(), 67u);
    EXPECT_EQ(status_of(*answer), 0x9000);
    std::string prefix =
        "\x19"
        "Ethereum Signed Message:\n120";
    auto digest = core::keccak256(core::concat({core::as_bytes(prefix), message}));
    EXPECT_EQ(recover(digest, *answer, static_cast<std::uint8_t>((*answer)[0] - 27)),
              expected_address());

    ::close(fds[0]);
    server.join();  // returns when the host closes
    ::close(fds[1]);
}

// ---- transaction stream ----

// A legacy EIP-155 transfer on chain 1: ... 0x80 (data) 01 80 80 (v r s).
const Bytes kLegacy = hex(
    "ec808504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080");

TEST(LedgerSimTransaction, AnyChunkingSignsTheSameUnlessAChunkEndsRightBeforeV) {
    Device device;
    auto whole = device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, kLegacy})));
    ASSERT_EQ(status_of(whole), 0x9000);
    ASSERT_EQ(whole.size(), 67u);
    EXPECT_TRUE(whole[0] == 37 || whole[0] == 38);  // 1 * 2 + 35 + parity
    EXPECT_EQ(recover(core::keccak256(kLegacy), whole, whole[0] - 37), expected_address());

    const std::size_t v_at = kLegacy.size() - 3;
    for (std::size_t size = 1; size <= kLegacy.size(); ++size) {
        Bytes reply;
        std::size_t sent = 0;
        bool first = true;
        while (sent < kLegacy.size()) {
            std::size_t n = std::min(size, kLegacy.size() - sent);
            Bytes data(kLegacy.begin() + static_cast<std::ptrdiff_t>(sent),
                       kLegacy.begin() + static_cast<std::ptrdiff_t>(sent + n));
            if (first) data = core::concat({kPath, data});
            reply = device.app->exchange(apdu(0xe0, 0x04, first ? 0x00 : 0x80, 0x00, data));
            first = false;
            sent += n;
            if (reply.size() > 2) break;  // signed
            ASSERT_EQ(status_of(reply), 0x9000) << "chunk size " << size;
        }
        ASSERT_EQ(reply.size(), 67u) << "chunk size " << size;
        if (v_at % size == 0) {
            // The quirk: signed at the boundary, without chain id, over the bytes so far.
            EXPECT_EQ(sent, v_at) << "chunk size " << size;
            ASSERT_TRUE(reply[0] == 27 || reply[0] == 28);
            Bytes head(kLegacy.begin(), kLegacy.begin() + static_cast<std::ptrdiff_t>(v_at));
            EXPECT_EQ(recover(core::keccak256(head), reply, reply[0] - 27), expected_address());
        } else {
            EXPECT_EQ(reply, whole) << "chunk size " << size;
        }
    }
}

TEST(LedgerSimTransaction, TypedTransactionsIgnoreTheBoundaryRuleAndAnswerParity) {
    Device device;
    // EIP-1559 on chain 1, no calldata.
    const Bytes tx =
        hex("02ef012a845968f2ff8506fc23ac0082520894444444444444444444444444444444444444444487038d"
            "7ea4c6800080c0");
    auto whole = device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, tx})));
    ASSERT_EQ(whole.size(), 67u);
    ASSERT_LE(whole[0], 1);
    EXPECT_EQ(recover(core::keccak256(tx), whole, whole[0]), expected_address());
    for (std::size_t size : {1u, 2u, 3u, 7u, 20u}) {
        Bytes reply;
        for (std::size_t sent = 0; sent < tx.size(); sent += size) {
            Bytes data(tx.begin() + static_cast<std::ptrdiff_t>(sent),
                       tx.begin() + static_cast<std::ptrdiff_t>(std::min(tx.size(), sent + size)));
            if (sent == 0) data = core::concat({kPath, data});
            reply = device.app->exchange(apdu(0xe0, 0x04, sent == 0 ? 0x00 : 0x80, 0x00, data));
        }
        EXPECT_EQ(reply, whole) << "chunk size " << size;
    }
}

TEST(LedgerSimTransaction, LargeChainIdTruncatesVToOneByte) {
    Device device;
    // chain id 0x02a15c308d: the app keeps its first four bytes (0x02a15c30).
    const Bytes tx =
        hex("e80c843b9aca0082520894111111111111111111111111111111111111111105808502a15c308d8080");
    auto reply = device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, tx})));
    ASSERT_EQ(reply.size(), 67u);
    const std::uint32_t base = (0x02a15c30u * 2 + 35) & 0xff;
    const std::uint8_t parity = static_cast<std::uint8_t>((reply[0] - base) & 0xff);
    ASSERT_LE(parity, 1);
    EXPECT_EQ(recover(core::keccak256(tx), reply, parity), expected_address());
}

TEST(LedgerSimTransaction, CalldataNeedsBlindSigning) {
    Device device;
    device.app->update_config([](Config& c) { c.blind_signing = false; });
    const Bytes tx =
        hex("e7038459682f0082ea6094c02aaa39b223fe8d0a0e5c4f27ead9083c756cc28084a9059cbb058080");
    auto reply = device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, tx})));
    EXPECT_EQ(status_of(reply), 0x6A80);
    device.app->update_config([](Config& c) { c.blind_signing = true; });
    reply = device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, tx})));
    EXPECT_EQ(reply.size(), 67u);
}

TEST(LedgerSimTransaction, AnotherCommandCutsAMultiApduFlowShortAndIsCounted) {
    Device device;
    const Bytes head(kLegacy.begin(), kLegacy.begin() + 20);
    const Bytes rest(kLegacy.begin() + 20, kLegacy.end());
    EXPECT_EQ(device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, head}))),
              hex("9000"));
    EXPECT_EQ(device.app->interrupted_flows(), 0u);
    // Another host's request lands between the chunks.
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x02, 0x00, 0x00, kPath))), 0x9000);
    EXPECT_EQ(device.app->interrupted_flows(), 1u);
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x04, 0x80, 0x00, rest))), 0x6985);
    // Uninterrupted flows, and configuration polls in between, do not count.
    EXPECT_EQ(device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, head}))),
              hex("9000"));
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x06, 0x00, 0x00, {}))), 0x9000);
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xb0, 0x01, 0x00, 0x00, {}))), 0x9000);
    EXPECT_EQ(device.app->exchange(apdu(0xe0, 0x04, 0x80, 0x00, rest)).size(), 67u);
    EXPECT_EQ(device.app->interrupted_flows(), 1u);
    EXPECT_EQ(device.app->apdu_count(), 7u);
}

// ---- the user ----

TEST(LedgerSimUser, HeldPromptEndsWithDenialWhenCancelled) {
    Device device;
    device.user.set_mode(UserMode::Hold);
    auto pending = std::async(std::launch::async, [&] {
        return device.app->exchange(apdu(0xe0, 0x02, 0x01, 0x00, kPath));
    });
    auto prompt = device.user.wait_for_prompt(std::chrono::seconds(5));
    ASSERT_TRUE(prompt.has_value());
    EXPECT_NE(prompt->find("Verify address " + expected_address().to_checksum_string()),
              std::string::npos)
        << *prompt;
    EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
    device.user.cancel();
    EXPECT_EQ(status_of(pending.get()), 0x6985);
}

TEST(LedgerSimUser, QueuedAnswersComeFirstThenTheMode) {
    Device device;
    device.user.press(UserAnswer::Reject);
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x02, 0x01, 0x00, kPath))), 0x6985);
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x02, 0x01, 0x00, kPath))), 0x9000);
    EXPECT_EQ(device.user.prompts().size(), 2u);
}

// ---- control protocol ----

TEST(LedgerSimControl, CommandsChangeTheDevice) {
    Device device;
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "version 1.9.18"), "ok");
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x1a, 0x00, 0x00, hex("41")))), 0x6D00);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "lock"), "ok");
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xb0, 0x01, 0x00, 0x00, {}))), 0x5515);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "lock 6982"), "ok");
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x02, 0x00, 0x00, kPath))), 0x6982);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "dashboard 6e01"), "ok");
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x02, 0x00, 0x00, kPath))), 0x6E01);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "open Bitcoin 6d02"), "ok");
    EXPECT_EQ(status_of(device.app->exchange(apdu(0xe0, 0x02, 0x00, 0x00, kPath))), 0x6D02);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "lock 69").rfind("error", 0), 0u);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "lock 0x69").rfind("error", 0),
              0u);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "blind on off").rfind("error", 0),
              0u);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "unlock"), "ok");
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "blind off"), "ok");
    EXPECT_EQ(device.app->exchange(apdu(0xe0, 0x06, 0x00, 0x00, {})), hex("0001091290"
                                                                          "00"));
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "status"),
              "ok state=ready app=Ethereum version=1.9.18 blind=off user=approve waiting=no "
              "prompts=0 apdus=6 interrupted=0");
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "unplug").rfind("error", 0), 0u);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "press maybe").rfind("error", 0),
              0u);
    EXPECT_EQ(control_command(*device.app, device.user, nullptr, "wait-prompt 10"),
              "error timeout");
}

// ---- Speculos TCP ----

TEST(LedgerSimTcp, RepliesWithDataLengthDataAndStatusWord) {
    Device device;
    auto server = ApduTcpServer::start(*device.app, device.user, 0);
    ASSERT_TRUE(server.has_value());
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((*server)->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    Bytes request =
        hex("00000005"
            "e006000000");
    ASSERT_EQ(::write(fd, request.data(), request.size()), 9);
    std::uint8_t in[32];
    std::size_t got = 0;
    while (got < 10) {
        auto n = ::read(fd, in + got, sizeof in - got);
        ASSERT_GT(n, 0);
        got += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(Bytes(in, in + got), hex("00000004"
                                       "01010d00"
                                       "9000"));
    // An unknown instruction: no data, just the status word.
    request =
        hex("00000004"
            "e0ff0000");
    ASSERT_EQ(::write(fd, request.data(), request.size()), 8);
    got = 0;
    while (got < 6) {
        auto n = ::read(fd, in + got, sizeof in - got);
        ASSERT_GT(n, 0);
        got += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(Bytes(in, in + got), hex("00000000"
                                       "6d00"));
    ::close(fd);
}

// ---- the program's raw HID mode ----

TEST(LedgerSimProgram, ServesHidOnAnInheritedDescriptorAndExitsWhenTheHostCloses) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
    std::string fd_text = std::to_string(fds[1]);
    std::string version_text = "1.10.2";
    const char* argv[] = {KEYBRIDGE_LEDGER_SIM_PATH, "--hid-fd",           fd_text.c_str(),
                          "--app-version",           version_text.c_str(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, KEYBRIDGE_LEDGER_SIM_PATH, &actions, nullptr,
                          const_cast<char**>(argv), environ),
              0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);

    auto frames = hid::frame(hex("b001000000"));
    ASSERT_EQ(::write(fds[0], frames[0].data(), 64), 64);
    std::uint8_t in[64];
    ASSERT_EQ(::read(fds[0], in, sizeof in), 64);
    hid::Reassembler host;
    auto fed = host.feed(Bytes(in, in + 64));
    ASSERT_TRUE(fed.has_value() && fed->has_value());
    EXPECT_EQ(**fed, core::concat({hex("0108"), core::as_bytes("Ethereum"), hex("06"),
                                   core::as_bytes("1.10.2"),
                                   hex("0100"
                                       "9000")}));
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(LedgerSimProgram, AnswersControlLinesOnItsControlPort) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const char* argv[] = {KEYBRIDGE_LEDGER_SIM_PATH,
                          "--port",
                          "0",
                          "--control-port",
                          "0",
                          "--user",
                          "hold",
                          "--state",
                          "app:Solana",
                          nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, KEYBRIDGE_LEDGER_SIM_PATH, &actions, nullptr,
                          const_cast<char**>(argv), environ),
              0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    std::string ready;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n')
        ready += c;
    ::close(out[0]);
    unsigned apdu_port = 0;
    unsigned control_port = 0;
    ASSERT_EQ(
        std::sscanf(ready.c_str(), "ready apdu_port=%u control_port=%u", &apdu_port, &control_port),
        2)
        << ready;
    EXPECT_NE(apdu_port, 0u);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(control_port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    auto ask = [&](std::string line) {
        line += "\n";
        EXPECT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
        std::string answer;
        while (::read(fd, &c, 1) == 1 && c != '\n')
            answer += c;
        return answer;
    };
    EXPECT_EQ(ask("status"),
              "ok state=other-app app=Solana version=1.13.0 blind=off user=hold "
              "waiting=no prompts=0 apdus=0 interrupted=0");
    EXPECT_EQ(ask("blind on"), "ok");
    EXPECT_EQ(ask("open ethereum"), "ok");
    EXPECT_EQ(ask("status"),
              "ok state=ready app=Ethereum version=1.13.0 blind=on user=hold waiting=no prompts=0 "
              "apdus=0 interrupted=0");
    EXPECT_EQ(ask("quit"), "ok");
    ::close(fd);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(LedgerSimProgram, KeepsServingWithStdinFromDevNullUntilTerminated) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const char* argv[] = {KEYBRIDGE_LEDGER_SIM_PATH, "--port", "0", nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, KEYBRIDGE_LEDGER_SIM_PATH, &actions, nullptr,
                          const_cast<char**>(argv), environ),
              0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    std::string ready;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n')
        ready += c;
    ::close(out[0]);
    unsigned port = 0;
    ASSERT_EQ(std::sscanf(ready.c_str(), "ready apdu_port=%u", &port), 1) << ready;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "the simulator exited at stdin's end";
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    Bytes request =
        hex("00000005"
            "b001000000");
    ASSERT_EQ(::write(fd, request.data(), request.size()), 9);
    std::uint8_t in[64];
    EXPECT_GT(::read(fd, in, sizeof in), 6);
    ::close(fd);
    ::kill(pid, SIGTERM);
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

// ---- hostile input ----

TEST(LedgerSimRobustness, RandomAndMutatedApdusOnlyEverGetStatusWords) {
    Device device;
    device.user.set_mode(UserMode::Reject);
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    auto next = [&] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    // Valid starting points, mutated byte by byte, plus pure noise on every instruction.
    const std::vector<Bytes> seeds = {
        apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, kLegacy})),
        apdu(0xe0, 0x1a, 0x00, 0xff, hex("8301000777616c6c657473")),
        apdu(0xe0, 0x1a, 0x00, 0xff, hex("c201040000000006646570746879")),
        apdu(0xe0, 0x1c, 0x00, 0xff, hex("00020102")),
        apdu(0xe0, 0x0a, 0x00, 0x00,
             hex("0455534443a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48000000060000000130450221")),
        apdu(0xe0, 0x08, 0x00, 0x00, core::concat({kPath, hex("00000003616263")})),
        apdu(0xe0, 0x0c, 0x00, 0x00, core::concat({kPath, Bytes(64, 0x11)})),
    };
    const std::uint8_t instructions[] = {0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x1a, 0x1c, 0x1e};
    for (int round = 0; round < 20000; ++round) {
        Bytes a;
        if (round % 2 == 0) {
            a = seeds[next() % seeds.size()];
            for (int flips = 1 + static_cast<int>(next() % 4); flips > 0; --flips)
                a[5 + next() % (a.size() - 5)] = static_cast<std::uint8_t>(next());
            if (next() % 4 == 0) a.resize(5 + next() % (a.size() - 4));
            a[4] = static_cast<std::uint8_t>(a.size() - 5);
        } else {
            Bytes data(next() % 80);
            for (auto& b : data)
                b = static_cast<std::uint8_t>(next());
            a = apdu(0xe0, instructions[next() % sizeof instructions],
                     static_cast<std::uint8_t>(next() % 3 == 0 ? next() : 0),
                     static_cast<std::uint8_t>(next() % 3 == 0 ? next() : 0), data);
        }
        Bytes reply = device.app->exchange(a);
        ASSERT_GE(reply.size(), 2u);
    }
    // Still a working device afterwards.
    device.user.set_mode(UserMode::Approve);
    auto reply = device.app->exchange(apdu(0xe0, 0x04, 0x00, 0x00, core::concat({kPath, kLegacy})));
    EXPECT_EQ(reply.size(), 67u);
}

}  // namespace
}  // namespace keybridge::tests::ledger_sim
