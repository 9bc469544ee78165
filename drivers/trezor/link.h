#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>

#include <google/protobuf/message_lite.h>

#include "core/result.h"
#include "drivers/trezor/framing.h"
#include "drivers/trezor/report_device.h"
#include "proto/message_types.h"

namespace keybridge::drivers::trezor {

// The message layer over a ReportDevice: typed protobuf messages out, wire messages in.
// Thread-compatible (one flow at a time, as the daemon's lane guarantees).
class Link {
  public:
    explicit Link(std::unique_ptr<ReportDevice> device);

    // Serializes and sends one message. Disconnected when the device is gone.
    template <class M>
    [[nodiscard]] core::Status send(const M& message) {
        static_assert(::keybridge::trezor::kHasWireId<M>, "message without a wire id");
        return send_raw(::keybridge::trezor::kWireId<M>, message);
    }

    // Waits for the next complete message: Timeout after `timeout`, Disconnected when stop
    // fires, ProtocolError for broken framing (the reader resynchronises for the next call).
    [[nodiscard]] core::Result<WireMessage> receive(std::chrono::milliseconds timeout,
                                                    const std::stop_token& stop);

    // Drops whatever the device still had queued (after a Cancel or a timeout).
    void discard_pending(std::chrono::milliseconds quiet);

    const std::string& describe() const { return description_; }

  private:
    [[nodiscard]] core::Status send_raw(std::uint16_t type,
                                        const google::protobuf::MessageLite& message);

    std::unique_ptr<ReportDevice> device_;
    std::string description_;
    Reassembler reader_;
};

// Parses a received message as M: ProtocolError when its type is not M's or it does not parse.
template <class M>
[[nodiscard]] core::Result<M> parse_as(const WireMessage& message) {
    M parsed;
    if (message.type != ::keybridge::trezor::kWireId<M> ||
        !parsed.ParseFromArray(message.payload.data(), static_cast<int>(message.payload.size()))) {
        return core::fail(core::ErrorCode::ProtocolError,
                          "Trezor sent " + ::keybridge::trezor::message_name(message.type) +
                              " that does not parse as " +
                              ::keybridge::trezor::message_name(::keybridge::trezor::kWireId<M>));
    }
    return parsed;
}

}  // namespace keybridge::drivers::trezor
