#include "core/signer.h"

namespace keybridge::core {

std::string_view to_string(SignerFamily family) {
    switch (family) {
        case SignerFamily::Software:
            return "software";
        case SignerFamily::Ledger:
            return "ledger";
        case SignerFamily::Trezor:
            return "trezor";
    }
    return "unknown";
}

}  // namespace keybridge::core
