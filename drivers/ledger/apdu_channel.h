#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>

#include "core/bytes.h"
#include "core/result.h"

namespace keybridge::drivers::ledger {

// What a Ledger answered to one APDU: the data and the 2-byte status word (0x9000 = success).
struct ApduReply {
    core::Bytes data;
    std::uint16_t status = 0;
};

// How long a channel waits for the device at a time before it looks at the stop token again:
// the longest a stopped exchange keeps running.
inline constexpr std::chrono::milliseconds kStopPollInterval{50};

// One APDU exchange at a time with a Ledger, over whichever transport reaches it: USB HID
// (64-byte reports, hidapi) or TCP to the Speculos emulator's APDU port. The Ethereum app
// protocol runs on this interface and cannot tell which transport is below it.
//
// exchange() errors: Timeout (no complete reply in time), Disconnected (the device or emulator
// went away; the channel is dead afterwards), ProtocolError (a reply that breaks the framing:
// wrong channel, bad sequence, a length that lies), Disconnected also when `stop` fires while
// waiting. A status word other than 0x9000 is not an error here: the protocol layer maps it.
// Not thread-safe: the device's lane makes one exchange at a time.
class ApduChannel {
  public:
    virtual ~ApduChannel() = default;

    [[nodiscard]] virtual core::Result<ApduReply> exchange(core::ByteView command,
                                                           std::chrono::milliseconds timeout,
                                                           std::stop_token stop) = 0;
    // Where the device is, for logs and `keybridge devices`: "hid:/dev/hidraw3",
    // "speculos:127.0.0.1:9999".
    virtual std::string describe() const = 0;
};

}  // namespace keybridge::drivers::ledger
