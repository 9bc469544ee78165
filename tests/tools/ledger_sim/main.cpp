// keybridge_ledger_sim: the simulated Ledger Ethereum app as a program, for tests in any language.
//
//   keybridge_ledger_sim [--port N] [--hid-fd FD] [--control-port N]
//                        [--seed-phrase-file F] [--app-version X.Y.Z] [--blind-signing on|off]
//                        [--state ready|locked|dashboard|app:NAME] [--user approve|reject|hold]
//                        [--cal-test-key on|off]
//
// --port N serves the Speculos APDU protocol on 127.0.0.1:N (0: a free port); --hid-fd FD serves
// raw 64-byte HID reports on an inherited SOCK_SEQPACKET descriptor. At least one is needed. The
// seed phrase file holds a BIP39 phrase (default: Speculos's default test phrase). Once ready the
// program prints one line on stdout:
//   ready apdu_port=N control_port=M      (0 for what is not served)
// The control protocol (transports.h, control_command) is read line by line from the control port
// (one client at a time) when --control-port is given, else from stdin; each line gets one answer
// line. The program ends on "quit", at the end of stdin when stdin is a pipe, socket or terminal
// (stdin control; /dev/null or a file keeps it serving), when the HID peer closes (HID only), or
// on SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/tools/ledger_sim/eth_app.h"
#include "tests/tools/ledger_sim/transports.h"

namespace {

using namespace keybridge::tests::ledger_sim;

int usage(const std::string& why) {
    std::cerr << "keybridge_ledger_sim: " << why
              << "\nusage: keybridge_ledger_sim [--port N] [--hid-fd FD] [--control-port N] "
                 "[--seed-phrase-file F] [--app-version X.Y.Z] [--blind-signing on|off] "
                 "[--state ready|locked|dashboard|app:NAME] [--user approve|reject|hold] "
                 "[--cal-test-key on|off]\n";
    return 2;
}

bool parse_number(const std::string& text, long max, long& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtol(text.c_str(), &end, 10);
    return !text.empty() && *end == '\0' && errno == 0 && out >= 0 && out <= max;
}

// Serves control lines to one TCP client at a time, forever (the process ends on "quit").
void serve_control_port(int listen_fd, EthApp& app, User& user, ApduTcpServer* server) {
    for (;;) {
        int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return;
        }
        std::string pending;
        char buffer[512];
        for (;;) {
            ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            pending.append(buffer, static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = pending.find('\n')) != std::string::npos) {
                std::string line = pending.substr(0, nl);
                pending.erase(0, nl + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line == "quit") {
                    [[maybe_unused]] auto w = ::write(fd, "ok\n", 3);
                    std::_Exit(0);
                }
                std::string answer = control_command(app, user, server, line) + "\n";
                if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) break;
            }
        }
        ::close(fd);
    }
}

}  // namespace

int main(int argc, char** argv) {
    long apdu_port = -1;
    long hid_fd = -1;
    long control_port = -1;
    std::string phrase_file;
    Config config;
    UserMode mode = UserMode::Approve;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc) return usage("missing value after " + arg);
        std::string value = argv[++i];
        if (arg == "--port") {
            if (!parse_number(value, 65535, apdu_port)) return usage("bad --port");
        } else if (arg == "--hid-fd") {
            if (!parse_number(value, 1 << 20, hid_fd)) return usage("bad --hid-fd");
        } else if (arg == "--control-port") {
            if (!parse_number(value, 65535, control_port)) return usage("bad --control-port");
        } else if (arg == "--seed-phrase-file") {
            phrase_file = value;
        } else if (arg == "--app-version") {
            auto version = AppVersion::parse(value);
            if (!version) return usage(version.error().detail);
            config.version = *version;
        } else if (arg == "--cal-test-key") {
            if (value != "on" && value != "off") return usage("--cal-test-key takes on or off");
            config.trust_cal_test_key = value == "on";
        } else if (arg == "--blind-signing") {
            if (value != "on" && value != "off") return usage("--blind-signing takes on or off");
            config.blind_signing = value == "on";
        } else if (arg == "--state") {
            if (value == "ready") {
                config.state = DeviceState::Ready;
            } else if (value == "locked") {
                config.state = DeviceState::Locked;
            } else if (value == "dashboard") {
                config.state = DeviceState::Dashboard;
            } else if (value.rfind("app:", 0) == 0 && value.size() > 4) {
                config.state = DeviceState::OtherApp;
                config.other_app = value.substr(4);
            } else {
                return usage("bad --state");
            }
        } else if (arg == "--user") {
            if (value == "approve") {
                mode = UserMode::Approve;
            } else if (value == "reject") {
                mode = UserMode::Reject;
            } else if (value == "hold") {
                mode = UserMode::Hold;
            } else {
                return usage("bad --user");
            }
        } else {
            return usage("unknown option " + arg);
        }
    }
    if (apdu_port < 0 && hid_fd < 0) return usage("give --port or --hid-fd");

    std::string phrase(kSpeculosDefaultPhrase);
    if (!phrase_file.empty()) {
        std::ifstream in(phrase_file);
        if (!in) return usage("cannot read " + phrase_file);
        std::ostringstream text;
        text << in.rdbuf();
        phrase = text.str();
        while (!phrase.empty() && std::isspace(static_cast<unsigned char>(phrase.back())))
            phrase.pop_back();
    }

    ::signal(SIGPIPE, SIG_IGN);
    User user;
    user.set_mode(mode);
    auto app = EthApp::from_mnemonic(phrase, "", user);
    std::fill(phrase.begin(), phrase.end(), '\0');
    if (!app) return usage("bad seed phrase: " + app.error().detail);
    (*app)->set_config(config);

    std::unique_ptr<ApduTcpServer> server;
    if (apdu_port >= 0) {
        auto started = ApduTcpServer::start(**app, user, static_cast<std::uint16_t>(apdu_port));
        if (!started) {
            std::cerr << "keybridge_ledger_sim: " << started.error().detail << "\n";
            return 1;
        }
        server = std::move(*started);
    }

    int control_fd = -1;
    std::uint16_t bound_control = 0;
    if (control_port >= 0) {
        control_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(control_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(control_port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(control_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(control_fd, 4) != 0) {
            std::cerr << "keybridge_ledger_sim: cannot listen on the control port: "
                      << std::strerror(errno) << "\n";
            return 1;
        }
        socklen_t len = sizeof addr;
        ::getsockname(control_fd, reinterpret_cast<sockaddr*>(&addr), &len);
        bound_control = ntohs(addr.sin_port);
    }

    std::cout << "ready apdu_port=" << (server ? server->port() : 0)
              << " control_port=" << bound_control << std::endl;

    std::thread hid_thread;
    if (hid_fd >= 0) {
        hid_thread = std::thread([&] {
            serve_hid(static_cast<int>(hid_fd), **app);
            if (!server) std::_Exit(0);  // HID only: the host went away
        });
        hid_thread.detach();
    }

    if (control_fd >= 0) {
        serve_control_port(control_fd, **app, user, server.get());
        return 0;
    }
    std::string line;
    bool quit = false;
    while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "quit") {
            std::cout << "ok" << std::endl;
            quit = true;
            break;
        }
        std::cout << control_command(**app, user, server.get(), line) << std::endl;
    }
    // The end of a pipe, socket or terminal means the controlling program is gone: stop. Stdin
    // from /dev/null or a file controls nothing: keep serving (until SIGTERM, or the HID peer
    // closing in HID-only mode).
    struct stat in {};
    const bool controlled =
        ::fstat(0, &in) == 0 && (S_ISFIFO(in.st_mode) || S_ISSOCK(in.st_mode) || ::isatty(0));
    if (!quit && !controlled) {
        for (;;)
            ::pause();
    }
    std::_Exit(0);
}
