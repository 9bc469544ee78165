// keybridged: the local JSON-RPC daemon. Until the server lands (issue 4) this binary only parses
// its options, reports where it will listen and waits for a signal; it never claims to serve.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kVersion = "0.1.0";
constexpr std::string_view kDefaultListen = "127.0.0.1:8645";

void print_help() {
    std::printf(
        "Usage: keybridged [--listen HOST:PORT] [--version] [--help]\n"
        "\n"
        "  --listen HOST:PORT  loopback address to serve JSON-RPC on (default %.*s)\n"
        "  --version           print the version and exit\n"
        "  --help              print this help and exit\n",
        static_cast<int>(kDefaultListen.size()), kDefaultListen.data());
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen(kDefaultListen);
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            print_help();
            return 0;
        }
        if (arg == "--version") {
            std::printf("keybridged %.*s\n", static_cast<int>(kVersion.size()), kVersion.data());
            return 0;
        }
        if (arg == "--listen" && i + 1 < argc) {
            listen = argv[++i];
            continue;
        }
        std::fprintf(stderr, "keybridged: unknown or incomplete option '%s' (see --help)\n",
                     argv[i]);
        return 2;
    }

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);

    std::fprintf(
        stderr,
        "keybridged %.*s: configured to listen on %s. The JSON-RPC server is not built yet "
        "(issue 4), so nothing is served; press Ctrl-C to stop.\n",
        static_cast<int>(kVersion.size()), kVersion.data(), listen.c_str());
    int received = 0;
    sigwait(&signals, &received);
    std::fprintf(stderr, "keybridged: received %s, stopping\n", strsignal(received));
    return 0;
}
