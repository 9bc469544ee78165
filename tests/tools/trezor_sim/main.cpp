// keybridge_trezor_sim: the Trezor simulator as a program, for tests in other languages.
//   keybridge_trezor_sim [--port N] [--mnemonic-file F] [--pin DIGITS] [--pin-on-device]
//                        [--passphrase-protection]
//                        [--device-passphrase P] [--model 1|T|"Safe 3"|"Safe 5"] [--label L]
//                        [--device-id ID] [--reject] [--delay-ms MS] [--bootloader]
//                        [--debuglink-buttons]   (buttons wait for DebugLinkDecision on port + 1)
//                        [--pin-backoff-ms MS]   (after n wrong PINs the check waits 2^(n-1) MS)
// Prints "port P control C" on stdout once listening, then serves until killed (SIGTERM/SIGINT).
// The mnemonic defaults to "all all ... all" (12 words); the control port protocol is described
// in sim_server.h.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include <unistd.h>

#include "tests/tools/trezor_sim/sim_server.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

int usage(const char* message) {
    std::cerr << "keybridge_trezor_sim: " << message << "\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace keybridge::trezor_sim;
    SimConfig config;
    std::uint16_t port = 21324;
    bool reject = false;
    long delay_ms = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (arg == "--port") {
            const char* v = value();
            if (!v) return usage("--port needs a value");
            port = static_cast<std::uint16_t>(std::stoul(v));
        } else if (arg == "--mnemonic-file") {
            const char* v = value();
            if (!v) return usage("--mnemonic-file needs a value");
            std::ifstream in(v);
            if (!std::getline(in, config.mnemonic)) return usage("cannot read the mnemonic file");
        } else if (arg == "--pin") {
            const char* v = value();
            if (!v) return usage("--pin needs a value");
            config.pin = v;
        } else if (arg == "--pin-on-device") {
            config.pin_on_device = true;
        } else if (arg == "--passphrase-protection") {
            config.passphrase_protection = true;
        } else if (arg == "--device-passphrase") {
            const char* v = value();
            if (!v) return usage("--device-passphrase needs a value");
            config.device_passphrase = v;
        } else if (arg == "--model") {
            const char* v = value();
            if (!v) return usage("--model needs a value");
            config.model = v;
            if (config.model == "1") config.major = 1, config.minor = 12, config.patch = 1;
        } else if (arg == "--label") {
            const char* v = value();
            if (!v) return usage("--label needs a value");
            config.label = v;
        } else if (arg == "--device-id") {
            const char* v = value();
            if (!v) return usage("--device-id needs a value");
            config.device_id = v;
        } else if (arg == "--reject") {
            reject = true;
        } else if (arg == "--delay-ms") {
            const char* v = value();
            if (!v) return usage("--delay-ms needs a value");
            delay_ms = std::stol(v);
        } else if (arg == "--debuglink-buttons") {
            config.debuglink_buttons = true;
        } else if (arg == "--pin-backoff-ms") {
            const char* v = value();
            if (!v) return usage("--pin-backoff-ms needs a value");
            config.pin_backoff_unit = std::chrono::milliseconds(std::stol(v));
        } else if (arg == "--bootloader") {
            config.bootloader_mode = true;
        } else {
            return usage("unknown option (see the comment at the top of main.cpp)");
        }
    }
    auto device = std::make_shared<SimDevice>(config);
    device->set_answer(reject ? UserAnswer::Reject : UserAnswer::Approve);
    device->set_delay(std::chrono::milliseconds(delay_ms));
    SimServer server(device, port);
    if (!server.start()) {
        std::perror("keybridge_trezor_sim: bind");
        return 1;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::cout << "port " << server.port() << " control " << server.control_port() << std::endl;
    while (!g_stop)
        ::pause();
    server.stop();
    return 0;
}
