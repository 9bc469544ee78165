// Ledger HID reassembly and the Ethereum app's reply parsers: must never crash or read beyond
// their input. Input: one selector byte, then the bytes cut into 64-byte reports (the last may be
// short) for the reassembler, or given whole to a reply parser.
#include <cstdint>
#include <cstdlib>

#include "core/bytes.h"
#include "core/eip712.h"
#include "drivers/ledger/eth_app.h"
#include "drivers/ledger/hid_framing.h"

using namespace keybridge;
using namespace keybridge::drivers::ledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t selector = data[0];
    const core::ByteView rest(data + 1, size - 1);

    switch (selector % 8) {
        case 0:
        case 1: {
            // A small limit now and then, so that the announced-length check is reached.
            const std::size_t limit = selector % 8 == 0 ? kMaxFramedLength : 300;
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
        case 6: {
            // Typed data as the device receives it in full mode: every APDU fits, or the
            // document is refused.
            const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
            auto typed = core::eip712::parse(text);
            if (!typed) break;
            auto hashed =
                core::eip712::hash_typed_data(std::move(*typed), core::eip712::Version::V4);
            if (!hashed) break;
            if (auto apdus = eth::eip712_full_apdus("m/44'/60'/0'/0/0", *hashed)) {
                for (const auto* list : {&apdus->definitions, &apdus->implementations}) {
                    for (const auto& apdu : *list) {
                        if (apdu.size() < 5 || apdu.size() != 5u + apdu[4]) std::abort();
                    }
                }
            }
            break;
        }
        case 7: {
            // The transaction chunker: the chunks cover the payload, none is longer than 255,
            // and a legacy transaction's last chunk is never the short tail.
            if (rest.size() < 3) break;
            const std::size_t payload = (std::size_t{rest[0]} << 8 | rest[1]) + 1;
            const std::size_t tail = rest[2] % 40;
            const bool legacy = (selector & 0x80) != 0;
            const auto sizes = eth::transaction_chunk_sizes(payload, legacy, tail);
            std::size_t total = 0;
            for (std::size_t chunk : sizes) {
                if (chunk == 0 || chunk > 255) std::abort();
                total += chunk;
            }
            if (total != payload) std::abort();
            if (legacy && sizes.size() > 1 && sizes.back() <= tail) std::abort();
            break;
        }
        case 5:
            (void)eth::status_error(
                static_cast<std::uint16_t>(rest.size() >= 2 ? (rest[0] << 8) | rest[1] : 0),
                eth::Request::Transaction, (selector & 0x80) != 0);
            break;
    }
    return 0;
}
