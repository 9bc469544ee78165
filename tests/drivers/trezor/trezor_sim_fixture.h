#pragma once

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "drivers/trezor/trezor_signer.h"
#include "drivers/trezor/udp_report_device.h"
#include "tests/tools/trezor_sim/sim_server.h"

namespace keybridge::test {

// A TrezorSigner connected over UDP to an in-process simulator (or, with
// KEYBRIDGE_TREZOR_EMULATOR=host:port, to a real emulator: then server is null).
struct TrezorUnderTest {
    std::unique_ptr<trezor_sim::SimServer> server;
    std::unique_ptr<drivers::trezor::TrezorSigner> signer;
};

inline const char* trezor_emulator() {
    return std::getenv("KEYBRIDGE_TREZOR_EMULATOR");
}

inline core::Result<TrezorUnderTest> start_trezor(
    trezor_sim::SimConfig config, bool use_emulator_if_set = false,
    std::optional<drivers::trezor::TrezorSigner::Options> custom = std::nullopt) {
    TrezorUnderTest out;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    if (use_emulator_if_set && trezor_emulator() != nullptr) {
        auto parsed = drivers::trezor::parse_host_port(trezor_emulator());
        if (!parsed) return tl::unexpected(parsed.error());
        host = parsed->first;
        port = parsed->second;
    } else {
        out.server = std::make_unique<trezor_sim::SimServer>(
            std::make_shared<trezor_sim::SimDevice>(std::move(config)), 0);
        if (!out.server->start()) return core::fail(core::ErrorCode::IoError, "simulator bind");
        port = out.server->port();
    }
    auto device = drivers::trezor::UdpReportDevice::open(host, port);
    if (!device) return tl::unexpected(device.error());
    if (!(*device)->ping(std::chrono::milliseconds(2000))) {
        return core::fail(core::ErrorCode::DeviceNotFound, "no PONGPONG from " + host);
    }
    drivers::trezor::TrezorSigner::Options options;
    options.device_timeout = std::chrono::milliseconds(3000);
    options.person_timeout = std::chrono::milliseconds(10000);
    if (custom) options = *custom;
    auto signer = drivers::trezor::TrezorSigner::connect(std::move(*device), options);
    if (!signer) return tl::unexpected(signer.error());
    out.signer = std::move(*signer);
    return out;
}

}  // namespace keybridge::test
