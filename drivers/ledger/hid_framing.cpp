#include "drivers/ledger/hid_framing.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace keybridge::drivers::ledger {
namespace {

void put_u16(std::uint8_t* out, std::uint16_t value) {
    out[0] = static_cast<std::uint8_t>(value >> 8);
    out[1] = static_cast<std::uint8_t>(value & 0xff);
}

std::uint16_t get_u16(const std::uint8_t* in) {
    return static_cast<std::uint16_t>((in[0] << 8) | in[1]);
}

}  // namespace

core::Result<std::vector<Report>> frame_apdu(core::ByteView apdu, std::uint16_t channel) {
    if (apdu.size() > kMaxFramedLength) {
        return core::fail(core::ErrorCode::InvalidArgument,
                          fmt::format("an APDU of {} bytes is longer than HID framing carries "
                                      "({} bytes)",
                                      apdu.size(), kMaxFramedLength));
    }
    std::vector<Report> reports;
    std::size_t offset = 0;
    std::uint16_t sequence = 0;
    do {
        Report report{};
        put_u16(report.data(), channel);
        report[2] = kTagApdu;
        put_u16(report.data() + 3, sequence);
        std::size_t header = 5;
        if (sequence == 0) {
            put_u16(report.data() + 5, static_cast<std::uint16_t>(apdu.size()));
            header = 7;
        }
        const std::size_t take = std::min(kReportSize - header, apdu.size() - offset);
        std::copy_n(apdu.begin() + static_cast<std::ptrdiff_t>(offset), take,
                    report.begin() + static_cast<std::ptrdiff_t>(header));
        offset += take;
        reports.push_back(report);
        ++sequence;
    } while (offset < apdu.size());
    return reports;
}

HidReassembler::HidReassembler(std::uint16_t channel, std::size_t max_length)
    : channel_(channel), max_length_(std::min(max_length, kMaxFramedLength)) {}

void HidReassembler::reset() {
    started_ = false;
    complete_ = false;
    failed_ = false;
    next_sequence_ = 0;
    expected_length_ = 0;
    message_.clear();
}

core::Result<bool> HidReassembler::feed(core::ByteView report) {
    // Once broken, the rest of the message cannot be trusted: the caller resets first.
    auto refuse = [this](std::string detail) {
        failed_ = true;
        return core::fail(core::ErrorCode::ProtocolError, "Ledger HID: " + std::move(detail));
    };
    if (failed_) return refuse("a report after a framing error (reset first)");
    if (complete_) return refuse("a report after the message was complete");
    if (report.size() != kReportSize) {
        return refuse(
            fmt::format("a report of {} bytes (expected {})", report.size(), kReportSize));
    }
    const std::uint16_t channel = get_u16(report.data());
    if (channel != channel_) {
        return refuse(fmt::format("channel 0x{:04x} (expected 0x{:04x})", channel, channel_));
    }
    if (report[2] != kTagApdu) {
        return refuse(fmt::format("tag 0x{:02x} (expected 0x{:02x})", report[2], kTagApdu));
    }
    const std::uint16_t sequence = get_u16(report.data() + 3);
    if (sequence != next_sequence_) {
        return refuse(fmt::format("sequence index {} (expected {})", sequence, next_sequence_));
    }
    std::size_t header = 5;
    if (sequence == 0) {
        expected_length_ = get_u16(report.data() + 5);
        if (expected_length_ > max_length_) {
            return refuse(fmt::format("a message of {} bytes announced (at most {} accepted)",
                                      expected_length_, max_length_));
        }
        header = 7;
        started_ = true;
        message_.clear();
        message_.reserve(expected_length_);
    }
    const std::size_t take = std::min(kReportSize - header, expected_length_ - message_.size());
    message_.insert(message_.end(), report.begin() + static_cast<std::ptrdiff_t>(header),
                    report.begin() + static_cast<std::ptrdiff_t>(header + take));
    // 0xffff reports would carry far more than kMaxFramedLength, so the index cannot wrap before
    // the message is complete.
    ++next_sequence_;
    complete_ = message_.size() == expected_length_;
    return complete_;
}

}  // namespace keybridge::drivers::ledger
