#pragma once

#include <vector>

#include "core/address.h"
#include "core/bytes.h"
#include "core/rlp.h"

namespace keybridge::core {

// One EIP-2930 access list entry: an account and the storage slots the transaction declares it
// will touch.
struct AccessListEntry {
    Address address;
    std::vector<Hash32> storage_keys;

    friend bool operator==(const AccessListEntry&, const AccessListEntry&) = default;
};

using AccessList = std::vector<AccessListEntry>;

// The RLP item [[address, [key, ...]], ...], ready to be added to a transaction's field list.
Bytes encode_access_list(const AccessList& list);

// Strict decoding of that item: a list of 2-element lists, each address a 20-byte string and each
// key a 32-byte string. InvalidFormat naming the entry and key index otherwise.
[[nodiscard]] Result<AccessList> decode_access_list(const rlp::Item& item);

}  // namespace keybridge::core
