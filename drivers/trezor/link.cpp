#include "drivers/trezor/link.h"

#include <algorithm>
#include <string>

namespace keybridge::drivers::trezor {

Link::Link(std::unique_ptr<ReportDevice> device)
    : device_(std::move(device)), description_(device_->describe()) {}

core::Status Link::send_raw(std::uint16_t type, const google::protobuf::MessageLite& message) {
    std::string payload;
    if (!message.SerializeToString(&payload) || payload.size() > kMaxMessageLength) {
        return core::fail(core::ErrorCode::InvalidArgument,
                          "cannot serialize " + ::keybridge::trezor::message_name(type) +
                              " (a required field missing, or too large)");
    }
    core::Status status;
    for (Report& report : encode_reports(type, core::as_bytes(payload))) {
        if (status) status = device_->write(report);
        std::fill(report.begin(), report.end(), 0);
    }
    // A PinMatrixAck or PassphraseAck leaves no copy behind.
    std::fill(payload.begin(), payload.end(), '\0');
    return status;
}

core::Result<WireMessage> Link::receive(std::chrono::milliseconds timeout,
                                        const std::stop_token& stop) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            reader_.reset();
            return core::fail(core::ErrorCode::Timeout, description_ + " did not answer in time");
        }
        auto report = device_->read(left, stop);
        if (!report) {
            reader_.reset();
            return tl::unexpected(report.error());
        }
        auto message = reader_.feed(*report);
        if (!message) return tl::unexpected(message.error());
        if (*message) return std::move(**message);
    }
}

void Link::discard_pending(std::chrono::milliseconds quiet) {
    std::stop_source never;
    while (device_->read(quiet, never.get_token())) {
    }
    reader_.reset();
}

}  // namespace keybridge::drivers::trezor
