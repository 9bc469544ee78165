#include "core/error.h"

namespace keybridge::core {

std::string_view to_string(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidArgument:
            return "invalid_argument";
        case ErrorCode::InvalidFormat:
            return "invalid_format";
        case ErrorCode::InvalidChecksum:
            return "invalid_checksum";
        case ErrorCode::OutOfRange:
            return "out_of_range";
        case ErrorCode::NotSupported:
            return "not_supported";
        case ErrorCode::CryptoFailure:
            return "crypto_failure";
        case ErrorCode::WrongPassword:
            return "wrong_password";
        case ErrorCode::IoError:
            return "io_error";
        case ErrorCode::NotFound:
            return "not_found";
        case ErrorCode::AlreadyExists:
            return "already_exists";
        case ErrorCode::LimitExceeded:
            return "limit_exceeded";
        case ErrorCode::DeviceNotFound:
            return "device_not_found";
        case ErrorCode::DeviceBusy:
            return "device_busy";
        case ErrorCode::Disconnected:
            return "disconnected";
        case ErrorCode::Timeout:
            return "timeout";
        case ErrorCode::UserCancelled:
            return "user_cancelled";
        case ErrorCode::PinRequired:
            return "pin_required";
        case ErrorCode::VaultLocked:
            return "vault_locked";
        case ErrorCode::ProtocolError:
            return "protocol_error";
        case ErrorCode::Internal:
            return "internal";
    }
    return "unknown";
}

std::string Error::to_string() const {
    std::string out(core::to_string(code));
    if (!detail.empty()) {
        out += ": ";
        out += detail;
    }
    return out;
}

}  // namespace keybridge::core
