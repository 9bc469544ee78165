#pragma once

#include <string>
#include <string_view>

namespace keybridge::core {

// One small, stable set of failure kinds shared by every module. The daemon maps each code to a
// JSON-RPC error number in exactly one table; a released code never changes meaning.
enum class ErrorCode {
    InvalidArgument,  // a caller passed a value outside the function's contract
    InvalidFormat,    // input bytes/text could not be parsed (hex, RLP, JSON, paths, ...)
    InvalidChecksum,  // parsed, but a checksum (EIP-55, BIP39, base58check) did not match
    OutOfRange,       // a number does not fit the declared width or bounds
    NotSupported,     // recognised but deliberately not handled (e.g. EIP-4844 transactions)
    CryptoFailure,    // a crypto library call failed on valid-looking input
    WrongPassword,    // decryption MAC mismatch
    IoError,          // a file or OS call failed
    NotFound,         // the named item (vault, account, file) does not exist
    AlreadyExists,    // creating something that is already there
    LimitExceeded,    // a configured limit (queue length, rate) was reached: retry later
    DeviceNotFound,
    DeviceBusy,
    Disconnected,
    Timeout,
    UserCancelled,
    PinRequired,
    VaultLocked,  // the software keystore is locked: unlock it, then retry
    ProtocolError,  // a peer (device, node) broke its protocol
    Internal,       // a bug; logged and reported as such
};

// Stable lower_snake name, used in logs and machine-readable output.
std::string_view to_string(ErrorCode code);

struct Error {
    ErrorCode code;
    std::string detail;  // human-readable, never contains secrets

    // "invalid_format: odd number of hex digits"
    std::string to_string() const;
};

}  // namespace keybridge::core
