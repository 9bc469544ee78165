// EIP-712 typed data and legacy v1 hashing over arbitrary JSON text: must never crash or hang,
// and whatever hashes must hash the same way again from the already-parsed form.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "core/eip712.h"

using namespace keybridge::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto typed = eip712::parse(text)) {
        for (const auto& [name, fields] : typed->types()) {
            auto encoded = eip712::encode_type(*typed, name);
            // Every defined struct has an encodeType that starts with its own definition.
            if (!encoded || encoded->compare(0, name.size() + 1, name + "(") != 0) std::abort();
        }
        for (auto version : {eip712::Version::V3, eip712::Version::V4}) {
            auto digest = eip712::signing_hash(*typed, version);
            if (!digest) continue;
            // A document that hashes must hash identically when re-parsed from its parts.
            boost::json::object again;
            boost::json::object types;
            for (const auto& [name, fields] : typed->types()) {
                boost::json::array members;
                for (const auto& f : fields) {
                    members.push_back(boost::json::object{{"name", f.name}, {"type", f.type}});
                }
                types[name] = std::move(members);
            }
            again["types"] = std::move(types);
            again["primaryType"] = typed->primary_type();
            again["domain"] = typed->domain();
            again["message"] = typed->message();
            auto reparsed = eip712::parse(boost::json::value(std::move(again)));
            if (!reparsed) std::abort();
            auto digest_again = eip712::signing_hash(*reparsed, version);
            if (!digest_again || *digest_again != *digest) std::abort();
        }
    }

    (void)eip712::legacy_v1_hash(text);
    return 0;
}
