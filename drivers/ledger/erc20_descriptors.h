#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/bytes.h"
#include "core/result.h"
#include "core/transaction.h"

namespace keybridge::drivers::ledger {

// A token the Ethereum app can show by name and amount once it has received this descriptor
// (PROVIDE ERC 20 TOKEN INFORMATION, E0 0A 00 00 payload) right before the transaction.
struct Erc20Descriptor {
    std::string ticker;
    core::Address contract;
    std::uint32_t decimals = 0;
    std::uint32_t chain_id = 0;
    core::Bytes payload;  // ticker length || ticker || address || decimals || chain id || signature
};

// Parses one chain's list as Ledger publishes it (after base64): length (4 bytes BE) ||
// descriptor, repeated. InvalidFormat for a length or field that runs past the end.
[[nodiscard]] core::Result<std::vector<Erc20Descriptor>> parse_erc20_descriptors(
    core::ByteView list);

// The bundled descriptor of the token at `contract` on `chain_id` (drivers/ledger/erc20/), or
// nullopt. Thread-safe; the tables are decoded once, on first use.
std::optional<Erc20Descriptor> find_erc20_descriptor(std::uint64_t chain_id,
                                                     const core::Address& contract);

// The descriptor to give the app before signing `tx`: a call to a bundled token whose selector
// is one the app shows in clear (transfer, approve, transferFrom), as hw-app-eth's resolver does.
std::optional<Erc20Descriptor> erc20_descriptor_for(const core::Transaction& tx);

namespace detail {
struct Erc20Blob {
    std::uint64_t chain_id;
    const char* base64;
};
extern const Erc20Blob kErc20Blobs[];
extern const std::size_t kErc20BlobCount;
// Standard base64 (with '=' padding). InvalidFormat otherwise.
[[nodiscard]] core::Result<core::Bytes> base64_decode(std::string_view text);
}  // namespace detail

}  // namespace keybridge::drivers::ledger
