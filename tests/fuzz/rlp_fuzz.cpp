// RLP and transaction decoders: must never crash; whatever decodes must re-encode to exactly the
// input (both decoders accept only canonical forms), and a decoded transaction's hash must be
// the hash of the input.
#include <cstdint>
#include <cstdlib>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/rlp.h"
#include "core/transaction.h"

using namespace keybridge::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);

    if (auto item = rlp::decode(input)) {
        if (rlp::encode(*item) != Bytes(input.begin(), input.end())) std::abort();
        // A string that passes the strict integer check must be the canonical integer encoding.
        if (auto value = rlp::decode_uint(*item, "fuzz")) {
            if (rlp::encode_uint(*value) != Bytes(input.begin(), input.end())) std::abort();
        }
    }

    if (auto tx = decode_signed(input)) {
        auto again = encode_signed(tx->tx, tx->signature);
        if (!again || *again != tx->raw || tx->raw != Bytes(input.begin(), input.end())) {
            std::abort();
        }
        if (tx->hash != keccak256(input)) std::abort();
        (void)check_fee_rules(tx->tx);
    }
    return 0;
}
