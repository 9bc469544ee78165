#include "proto/message_types.h"

#include <string>

namespace keybridge::trezor {

std::string message_name(std::uint16_t wire_id) {
    if (MessageType_IsValid(wire_id)) {
        std::string name = MessageType_Name(static_cast<MessageType>(wire_id));
        constexpr std::string_view kPrefix = "MessageType_";
        if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
        return name;
    }
    return "message " + std::to_string(wire_id);
}

}  // namespace keybridge::trezor
