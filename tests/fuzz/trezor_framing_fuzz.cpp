// Trezor protocol v1 reassembly: the input is cut into 64-byte reports and fed to the driver's
// Reassembler and, in parallel, to the simulator's independent reader. Neither may crash; both
// must deliver the same messages; every delivered message must fit the limit and re-encode into
// reports that read back to the same message.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "drivers/trezor/framing.h"
#include "tests/tools/trezor_sim/sim_wire.h"

using namespace keybridge;
using drivers::trezor::kReportSize;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    drivers::trezor::Reassembler reader;
    trezor_sim::SimAssembler independent(drivers::trezor::kMaxMessageLength);
    for (std::size_t at = 0; at + kReportSize <= size; at += kReportSize) {
        const core::ByteView report(data + at, kReportSize);
        auto ours = reader.feed(report);
        auto theirs = independent.push(data + at, kReportSize);
        const bool ours_done = ours && ours->has_value();
        if (ours_done != theirs.has_value()) std::abort();
        if (!ours_done) continue;
        const drivers::trezor::WireMessage& message = **ours;
        if (message.type != theirs->type ||
            std::string(message.payload.begin(), message.payload.end()) != theirs->payload) {
            std::abort();
        }
        if (message.payload.size() > drivers::trezor::kMaxMessageLength) std::abort();
        drivers::trezor::Reassembler again;
        std::optional<drivers::trezor::WireMessage> back;
        for (const auto& r : drivers::trezor::encode_reports(message.type, message.payload)) {
            auto fed = again.feed(r);
            if (!fed) std::abort();
            if (*fed) back = std::move(**fed);
        }
        if (!back || *back != message) std::abort();
    }
    // A report of the wrong size is refused, never read past its end.
    if (size % kReportSize != 0) {
        const std::size_t tail = size % kReportSize;
        if (reader.feed(core::ByteView(data + size - tail, tail))) std::abort();
    }
    return 0;
}
