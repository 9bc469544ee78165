#include "core/access_list.h"

#include <string>

namespace keybridge::core {

Bytes encode_access_list(const AccessList& list) {
    rlp::ListBuilder entries;
    for (const AccessListEntry& entry : list) {
        rlp::ListBuilder keys;
        for (const Hash32& key : entry.storage_keys) {
            keys.add_string(key);
        }
        entries.add_encoded(rlp::ListBuilder()
                                .add_string(entry.address.view())
                                .add_encoded(keys.finish())
                                .finish());
    }
    return entries.finish();
}

Result<AccessList> decode_access_list(const rlp::Item& item) {
    if (!item.is_list) {
        return fail(ErrorCode::InvalidFormat, "accessList: expected a list, got a string at byte " +
                                                  std::to_string(item.offset));
    }
    AccessList list;
    list.reserve(item.items.size());
    for (std::size_t i = 0; i < item.items.size(); ++i) {
        const rlp::Item& entry = item.items[i];
        const std::string where = "accessList[" + std::to_string(i) + "]";
        if (!entry.is_list || entry.items.size() != 2) {
            return fail(ErrorCode::InvalidFormat,
                        where + ": expected a list of [address, storageKeys] at byte " +
                            std::to_string(entry.offset));
        }
        auto address = rlp::decode_fixed<20>(entry.items[0], where + ".address");
        if (!address) return fail(address.error());
        const rlp::Item& keys = entry.items[1];
        if (!keys.is_list) {
            return fail(ErrorCode::InvalidFormat, where + ".storageKeys: expected a list at byte " +
                                                      std::to_string(keys.offset));
        }
        AccessListEntry decoded{Address(*address), {}};
        decoded.storage_keys.reserve(keys.items.size());
        for (std::size_t k = 0; k < keys.items.size(); ++k) {
            auto key = rlp::decode_fixed<32>(keys.items[k],
                                             where + ".storageKeys[" + std::to_string(k) + "]");
            if (!key) return fail(key.error());
            decoded.storage_keys.push_back(*key);
        }
        list.push_back(std::move(decoded));
    }
    return list;
}

}  // namespace keybridge::core
