#pragma once

#include "core/error.h"

namespace keybridge::cli {

// The tool's exit codes (documented in `keybridge --help`); stable for scripts.
enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,        // I/O or other failure, the vault already exists, no keybridged
    kExitUsage = 2,          // bad command line
    kExitWrongPassword = 3,  // a password did not open the vault, keystore or backup
    kExitNotFound = 4,       // no vault, unknown account
    kExitDeclined = 5,       // the user answered no, or a confirmation quiz failed
    kExitInvalidInput = 6,   // a bad phrase, key, keystore or backup file
};

inline int exit_code_for(core::ErrorCode code) {
    switch (code) {
        case core::ErrorCode::WrongPassword:
            return kExitWrongPassword;
        case core::ErrorCode::InvalidFormat:
        case core::ErrorCode::InvalidChecksum:
        case core::ErrorCode::OutOfRange:
        case core::ErrorCode::NotSupported:
            return kExitInvalidInput;
        case core::ErrorCode::UserCancelled:
            return kExitDeclined;
        case core::ErrorCode::NotFound:
            return kExitNotFound;
        case core::ErrorCode::InvalidArgument:
            // The tool reports what the command line got wrong (a missing or conflicting option,
            // a value outside its set) as InvalidArgument; bad file or typed content is
            // InvalidFormat / OutOfRange / InvalidChecksum.
            return kExitUsage;
        default:
            return kExitFailure;
    }
}

}  // namespace keybridge::cli
