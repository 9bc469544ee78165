#include "daemon/net/http_routes.h"

namespace keybridge::daemon::net {

std::string_view to_string(Capability capability) {
    switch (capability) {
        case Capability::None:
            return "none";
        case Capability::Caller:
            return "caller";
        case Capability::Token:
            return "token";
        case Capability::Approver:
            return "approver";
    }
    return "unknown";
}

bool Capabilities::grant(Capability required) const {
    switch (required) {
        case Capability::None:
            return true;
        case Capability::Caller:
            return caller;
        case Capability::Token:
            return token;
        case Capability::Approver:
            return approver;
    }
    return false;
}

}  // namespace keybridge::daemon::net
