#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/common.pb.h"
#include "proto/ethereum.pb.h"
#include "proto/ethereum_eip712.pb.h"
#include "proto/management.pb.h"
#include "proto/messages.pb.h"

namespace keybridge::trezor {

// The message-type <-> wire-id registry: kWireId<M> is the number protocol v1 frames carry ahead
// of a serialized M. A message without an entry here cannot be sent (compile error).
template <class M>
inline constexpr bool kHasWireId = false;
template <class M>
inline constexpr std::uint16_t kWireId = 0;

#define KEYBRIDGE_TREZOR_WIRE_ID(Message)             \
    template <>                                       \
    inline constexpr bool kHasWireId<Message> = true; \
    template <>                                       \
    inline constexpr std::uint16_t kWireId<Message> = \
        static_cast<std::uint16_t>(MessageType_##Message);

KEYBRIDGE_TREZOR_WIRE_ID(Initialize)
KEYBRIDGE_TREZOR_WIRE_ID(Ping)
KEYBRIDGE_TREZOR_WIRE_ID(Success)
KEYBRIDGE_TREZOR_WIRE_ID(Failure)
KEYBRIDGE_TREZOR_WIRE_ID(Features)
KEYBRIDGE_TREZOR_WIRE_ID(PinMatrixRequest)
KEYBRIDGE_TREZOR_WIRE_ID(PinMatrixAck)
KEYBRIDGE_TREZOR_WIRE_ID(Cancel)
KEYBRIDGE_TREZOR_WIRE_ID(ButtonRequest)
KEYBRIDGE_TREZOR_WIRE_ID(ButtonAck)
KEYBRIDGE_TREZOR_WIRE_ID(PassphraseRequest)
KEYBRIDGE_TREZOR_WIRE_ID(PassphraseAck)
KEYBRIDGE_TREZOR_WIRE_ID(GetFeatures)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumGetAddress)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumAddress)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumSignTx)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumTxRequest)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumTxAck)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumSignMessage)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumMessageSignature)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumGetPublicKey)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumPublicKey)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumSignTxEIP1559)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumSignTypedData)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumTypedDataStructRequest)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumTypedDataStructAck)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumTypedDataValueRequest)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumTypedDataValueAck)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumTypedDataSignature)
KEYBRIDGE_TREZOR_WIRE_ID(EthereumSignTypedHash)

#undef KEYBRIDGE_TREZOR_WIRE_ID

// "EthereumSignTx" for 58; "message 1234" for an id this registry does not know.
std::string message_name(std::uint16_t wire_id);

}  // namespace keybridge::trezor
