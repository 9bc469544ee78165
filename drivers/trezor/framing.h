#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace keybridge::drivers::trezor {

// Trezor protocol v1 framing, as pure functions: a message is cut into 64-byte reports. The
// first report is '?' '#' '#', the 2-byte big-endian message type, the 4-byte big-endian payload
// length and the first 55 payload bytes; every continuation report is '?' and the next 63 bytes.
// The last report is padded with zeros. (Over hidapi a 0x00 report id goes in front; that is
// the transport's business, not the codec's.)

inline constexpr std::size_t kReportSize = 64;
inline constexpr std::size_t kFirstPayload = kReportSize - 9;
inline constexpr std::size_t kNextPayload = kReportSize - 1;
// Declared lengths above this are refused as absurd: the largest message either side sends in
// the Ethereum flows is a few kilobytes (data travels in <= 1024-byte chunks).
inline constexpr std::uint32_t kMaxMessageLength = 1u << 20;

using Report = std::array<std::uint8_t, kReportSize>;

struct WireMessage {
    std::uint16_t type = 0;
    core::Bytes payload;

    friend bool operator==(const WireMessage&, const WireMessage&) = default;
};

// The reports carrying one message: ceil((9 + size) / 64) reports, at least one.
// Precondition: payload.size() <= kMaxMessageLength (asserted).
std::vector<Report> encode_reports(std::uint16_t type, core::ByteView payload);

// Reassembles messages from reports read one at a time. Not thread-safe.
//   - Waiting for a header, a report that does not start with "?##" is skipped (counted in
//     skipped()): the reader resynchronises on the next header after garbage or a stale tail.
//   - A header declaring more than kMaxMessageLength bytes: ProtocolError, and the reader waits
//     for the next header.
//   - Inside a message, a report that does not start with '?': ProtocolError (the message is
//     dropped, the reader waits for a header).
//   - A report that is not exactly 64 bytes: ProtocolError, state unchanged.
// feed() returns the message once its last byte arrived, nullopt while more is needed or after
// a skipped report.
class Reassembler {
  public:
    [[nodiscard]] core::Result<std::optional<WireMessage>> feed(core::ByteView report);

    // A message is partly received (its header arrived, continuations are missing).
    bool in_progress() const { return in_progress_; }
    std::size_t skipped() const { return skipped_; }
    void reset();

  private:
    bool in_progress_ = false;
    std::uint16_t type_ = 0;
    std::uint32_t expected_ = 0;
    core::Bytes payload_;
    std::size_t skipped_ = 0;
};

}  // namespace keybridge::drivers::trezor
