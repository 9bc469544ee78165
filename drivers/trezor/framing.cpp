#include "drivers/trezor/framing.h"

#include <algorithm>
#include <string>

#include "core/assert.h"

namespace keybridge::drivers::trezor {

std::vector<Report> encode_reports(std::uint16_t type, core::ByteView payload) {
    KEYBRIDGE_ASSERT(payload.size() <= kMaxMessageLength);
    std::vector<Report> reports;
    Report first{};
    first[0] = '?';
    first[1] = '#';
    first[2] = '#';
    first[3] = static_cast<std::uint8_t>(type >> 8);
    first[4] = static_cast<std::uint8_t>(type);
    const auto length = static_cast<std::uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i)
        first[5 + i] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
    std::size_t used = std::min(payload.size(), kFirstPayload);
    std::copy_n(payload.begin(), used, first.begin() + 9);
    reports.push_back(first);
    while (used < payload.size()) {
        Report next{};
        next[0] = '?';
        const std::size_t n = std::min(payload.size() - used, kNextPayload);
        std::copy_n(payload.begin() + static_cast<std::ptrdiff_t>(used), n, next.begin() + 1);
        used += n;
        reports.push_back(next);
    }
    return reports;
}

void Reassembler::reset() {
    in_progress_ = false;
    type_ = 0;
    expected_ = 0;
    payload_.clear();
}

core::Result<std::optional<WireMessage>> Reassembler::feed(core::ByteView report) {
    if (report.size() != kReportSize) {
        return core::fail(
            core::ErrorCode::ProtocolError,
            "Trezor report of " + std::to_string(report.size()) + " bytes (reports are 64 bytes)");
    }
    std::size_t offset = 0;
    if (!in_progress_) {
        if (report[0] != '?' || report[1] != '#' || report[2] != '#') {
            ++skipped_;
            return std::nullopt;
        }
        type_ = static_cast<std::uint16_t>(report[3] << 8 | report[4]);
        expected_ = static_cast<std::uint32_t>(report[5]) << 24 |
                    static_cast<std::uint32_t>(report[6]) << 16 |
                    static_cast<std::uint32_t>(report[7]) << 8 | report[8];
        if (expected_ > kMaxMessageLength) {
            const std::uint32_t declared = expected_;
            reset();
            return core::fail(core::ErrorCode::ProtocolError,
                              "Trezor message declares " + std::to_string(declared) +
                                  " bytes (more than " + std::to_string(kMaxMessageLength) + ")");
        }
        in_progress_ = true;
        payload_.clear();
        payload_.reserve(expected_);
        offset = 9;
    } else {
        if (report[0] != '?') {
            reset();
            return core::fail(core::ErrorCode::ProtocolError,
                              "Trezor continuation report without its '?' marker");
        }
        offset = 1;
    }
    const std::size_t n = std::min<std::size_t>(expected_ - payload_.size(), kReportSize - offset);
    payload_.insert(payload_.end(), report.begin() + static_cast<std::ptrdiff_t>(offset),
                    report.begin() + static_cast<std::ptrdiff_t>(offset + n));
    if (payload_.size() < expected_) return std::nullopt;
    WireMessage message{type_, std::move(payload_)};
    reset();
    return message;
}

}  // namespace keybridge::drivers::trezor
