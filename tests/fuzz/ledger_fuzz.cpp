// Ledger HID reassembly and the Ethereum app's reply parsers: must never crash or read beyond
// their input. Input: one selector byte, then the bytes cut into 64-byte reports (the last may be
// short) for the reassembler, or given whole to a reply parser.
#include <cstdint>
#include <cstdlib>

#include "core/bytes.h"
#include "drivers/ledger/eth_app.h"
#include "drivers/ledger/hid_framing.h"

using namespace keybridge;
using namespace keybridge::drivers::ledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t selector = data[0];
    const core::ByteView rest(data + 1, size - 1);

    switch (selector % 6) {
        case 0:
        case 1: {
            // A small limit now and then, so that the announced-length check is reached.
            const std::size_t limit = selector % 6 == 0 ? kMaxFramedLength : 300;
            HidReassembler reassembler(kHidChannel, limit);
            for (std::size_t at = 0; at < rest.size(); at += kReportSize) {
                const auto report = rest.subspan(at, std::min(kReportSize, rest.size() - at));
                auto done = reassembler.feed(report);
                if (reassembler.message().size() > limit) std::abort();
                if (!done) break;
                if (*done) {
                    // A complete message frames back into reports that reassemble to itself.
                    auto again = frame_apdu(reassembler.message());
                    if (!again) std::abort();
                    HidReassembler check;
                    for (const auto& r : *again) {
                        if (!check.feed(r)) std::abort();
                    }
                    if (!check.complete() || check.message() != reassembler.message()) std::abort();
                    break;
                }
            }
            break;
        }
        case 2:
            (void)eth::parse_address(rest, (selector & 0x80) != 0);
            break;
        case 3:
            if (auto app = eth::parse_app_and_version(rest)) {
                (void)eth::version_at_least(app->version, 1, 9, 19);
            }
            break;
        case 4:
            (void)eth::parse_configuration(rest);
            (void)eth::parse_signature(rest);
            break;
        case 5:
            (void)eth::status_error(
                static_cast<std::uint16_t>(rest.size() >= 2 ? (rest[0] << 8) | rest[1] : 0),
                eth::Request::Transaction, (selector & 0x80) != 0);
            break;
    }
    return 0;
}
