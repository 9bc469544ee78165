#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "drivers/ledger/apdu_channel.h"

namespace keybridge::drivers::ledger {

// The APDU port of the Speculos emulator (and of the project's own simulator): each command goes
// out as a 4-byte big-endian length and the APDU; each reply comes back as a 4-byte big-endian
// length of its data, the data, then the 2-byte status word (not counted in the length).
// A reply announcing more than kMaxSpeculosReply bytes is a ProtocolError and ends the channel
// (the stream cannot be trusted after it); a closed connection is Disconnected, also final.
// A reply still owed when an exchange gave up (Timeout, stop) is read and dropped at the start
// of the next exchange. Not thread-safe.
inline constexpr std::size_t kMaxSpeculosReply = 0x10000;

// Connects to host:port (a numeric address or a name), waiting at most connect_timeout.
// DeviceNotFound when nothing listens there or it cannot be reached in time.
[[nodiscard]] core::Result<std::unique_ptr<ApduChannel>> open_speculos_channel(
    const std::string& host, std::uint16_t port,
    std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(2000));

}  // namespace keybridge::drivers::ledger
