#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/eip712.h"

namespace keybridge::drivers::ledger {

// Ledger's signed EIP-712 filters for one known message schema (drivers/ledger/eip712_filters/):
// the name the device shows for the contract, and for chosen message fields a label and how
// to show the value.
struct Eip712FieldFilter {
    std::string path;             // "details.amount", "permitted.[].token"
    std::string label;            // "Amount allowance"
    std::string format;           // "raw", "datetime", "token", "amount"
    std::optional<int> coin_ref;  // token/amount pairs; 255: the domain's verifying contract
    core::Bytes signature;
};
struct Eip712Filters {
    std::string contract_label;
    core::Bytes contract_signature;
    std::vector<Eip712FieldFilter> fields;
};

// The schema hash Ledger keys filters by: SHA-224 (lower-case hex) of the document's types as
// JavaScript's JSON.stringify writes them with every object's keys sorted, less its first space.
std::string eip712_schema_hash(const core::eip712::TypedData& typed);

// The bundled filters for this document (by chain id, verifying contract and schema hash), or
// nullopt. Thread-safe; the table is parsed once, on first use.
std::optional<Eip712Filters> find_eip712_filters(const core::eip712::TypedData& typed);

namespace detail {
extern const char* const kEip712FiltersJson;
}

}  // namespace keybridge::drivers::ledger
