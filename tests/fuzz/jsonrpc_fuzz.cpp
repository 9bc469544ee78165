// JSON-RPC payload parser and the transaction-request validator: hostile request bodies must give
// an error or a well-formed payload, never a crash, and every parsed call must be re-validatable.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "daemon/rpc/jsonrpc.h"
#include "daemon/rpc/params.h"

using namespace keybridge::daemon::rpc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    ParseLimits limits;
    limits.max_bytes = 64 * 1024;
    limits.max_depth = 32;
    limits.max_batch = 50;
    auto parsed = parse_payload(text, limits);
    if (auto* payload = std::get_if<Payload>(&parsed)) {
        if (payload->entries.empty() || payload->entries.size() > limits.max_batch) std::abort();
        for (const auto& entry : payload->entries) {
            if (entry.call.has_value() == entry.error.has_value()) std::abort();
            // Every answer is JSON, whatever id the request carried (1e400, 400 digits, ...).
            const std::string& id = entry.call ? entry.call->id_text : entry.id_text;
            boost::system::error_code ec;
            boost::json::parse(result_text(id, nullptr), ec);
            if (ec) std::abort();
            if (!entry.call) continue;
            if (entry.call->method.empty()) std::abort();
            // Whatever params a client sends, the transaction validator must answer cleanly.
            if (entry.call->params.is_array() && !entry.call->params.as_array().empty()) {
                (void)transaction_request(entry.call->params.as_array()[0]);
            }
        }
    }
    return 0;
}
