#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace keybridge::drivers::ledger {

// Ledger's HID transport framing, as pure functions over bytes (no I/O). An APDU (a command, or
// a reply: data || status word) travels in 64-byte reports:
//   every report: channel (2 bytes BE, 0x0101) || tag (0x05, APDU) || sequence index (2 bytes BE,
//                 0 for the first report, +1 for each next)
//   first report: then the APDU's length (2 bytes BE), then the first 57 bytes of the APDU
//   next reports: then the next 59 bytes
// The last report is padded with zeros. (hidapi wants a report-id byte 0x00 in front of each
// written report; that belongs to the hidapi device, not here.)
inline constexpr std::size_t kReportSize = 64;
inline constexpr std::uint16_t kHidChannel = 0x0101;
inline constexpr std::uint8_t kTagApdu = 0x05;
inline constexpr std::size_t kMaxFramedLength = 0xffff;  // the length field has 2 bytes
inline constexpr std::size_t kFirstReportPayload = kReportSize - 7;
inline constexpr std::size_t kNextReportPayload = kReportSize - 5;

using Report = std::array<std::uint8_t, kReportSize>;

// The reports that carry `apdu`. InvalidArgument when it is longer than kMaxFramedLength.
// An empty APDU gives one report announcing length 0.
[[nodiscard]] core::Result<std::vector<Report>> frame_apdu(core::ByteView apdu,
                                                           std::uint16_t channel = kHidChannel);

// Rebuilds one framed message from its reports, checking everything a device could get wrong.
// feed() errors (ProtocolError; the reassembler must be reset() before reuse):
//   a report that is not exactly kReportSize bytes, a wrong channel or tag, a sequence index
//   other than the expected one, a first report announcing more than max_length bytes, a report
//   fed after the message was complete.
// It reads only within the report it is given, and the message never grows beyond the length
// the first report announced (the rest of the last report is padding). Not thread-safe.
class HidReassembler {
  public:
    explicit HidReassembler(std::uint16_t channel = kHidChannel,
                            std::size_t max_length = kMaxFramedLength);

    // Takes the next report: true when the message is now complete (see message()), false when
    // more reports are needed.
    [[nodiscard]] core::Result<bool> feed(core::ByteView report);
    bool complete() const { return complete_; }
    // Whether feed() has taken a first report of the current message.
    bool started() const { return started_; }
    // The message so far (all of it once complete()).
    const core::Bytes& message() const { return message_; }
    // Forgets the current message; the next report must be a first one (sequence 0).
    void reset();

  private:
    std::uint16_t channel_;
    std::size_t max_length_;
    bool started_ = false;
    bool complete_ = false;
    bool failed_ = false;
    std::uint16_t next_sequence_ = 0;
    std::size_t expected_length_ = 0;
    core::Bytes message_;
};

}  // namespace keybridge::drivers::ledger
