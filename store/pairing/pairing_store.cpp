#include "store/pairing/pairing_store.h"

#include <boost/json.hpp>

#include "core/secret_buffer.h"
#include "store/vault/secure_file.h"

namespace keybridge::pairing {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;

bool extension_id_valid(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

core::Result<PairingStore> PairingStore::open(const std::string& datadir) {
    auto state = std::make_unique<State>();
    state->path = datadir + "/pairings.json";
    const std::string& path = state->path;
    if (!vault::path_exists(path)) return PairingStore(std::move(state));
    auto text = vault::read_file(path, 1024 * 1024);
    if (!text) return fail(text.error());
    auto damaged = [&](const std::string& why) {
        return fail(ErrorCode::InvalidFormat, path + " is damaged: " + why);
    };
    json::error_code ec;
    json::value root = json::parse(*text, ec);
    if (ec || !root.is_object()) return damaged("not a JSON object");
    const json::value* list = root.as_object().if_contains("extensions");
    if (list == nullptr || !list->is_object()) return damaged("no 'extensions' object");
    for (const auto& [key, value] : list->as_object()) {
        const std::string id(key);
        if (!extension_id_valid(id)) return damaged("bad extension id '" + id + "'");
        const json::object* o = value.if_object();
        if (o == nullptr) return damaged("entry of " + id + " is not an object");
        Pairing p;
        p.extension_id = id;
        if (const json::value* n = o->if_contains("name"); n != nullptr && n->is_string())
            p.name = std::string(n->as_string());
        if (const json::value* t = o->if_contains("pairedAt"); t != nullptr && t->is_int64())
            p.paired_at = t->as_int64();
        const json::value* h = o->if_contains("secretSha256");
        if (h == nullptr || !h->is_string()) return damaged("no secretSha256 for " + id);
        auto hash = core::hex_decode_fixed<32>(h->as_string());
        if (!hash) return damaged("secretSha256 of " + id + ": " + hash.error().detail);
        p.secret_hash = *hash;
        state->pairings.emplace(id, std::move(p));
    }
    return PairingStore(std::move(state));
}

std::string PairingStore::serialize(const std::map<std::string, Pairing>& pairings) {
    json::object list;
    for (const auto& [id, p] : pairings) {
        list[id] = json::object{{"name", p.name},
                                {"pairedAt", p.paired_at},
                                {"secretSha256", core::hex_encode(p.secret_hash)}};
    }
    return json::serialize(json::object{{"version", 1}, {"extensions", std::move(list)}}) + "\n";
}

std::vector<Pairing> PairingStore::all() const {
    std::lock_guard lock(state_->mutex);
    std::vector<Pairing> out;
    for (const auto& [id, p] : state_->pairings)
        out.push_back(p);
    return out;
}

std::optional<Pairing> PairingStore::find(const std::string& extension_id) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->pairings.find(extension_id);
    if (it == state_->pairings.end()) return std::nullopt;
    return it->second;
}

bool PairingStore::verify(const std::string& extension_id, core::ByteView secret) const {
    const core::Hash32 presented = core::sha256(secret);
    std::lock_guard lock(state_->mutex);
    auto it = state_->pairings.find(extension_id);
    if (it == state_->pairings.end()) return false;
    return core::constant_time_equal(presented, it->second.secret_hash);
}

core::Status PairingStore::add(Pairing pairing) {
    if (!extension_id_valid(pairing.extension_id))
        return fail(ErrorCode::InvalidArgument, "not an extension id");
    std::lock_guard lock(state_->mutex);
    auto next = state_->pairings;
    next[pairing.extension_id] = std::move(pairing);
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(state_->path, serialize(next)));
    state_->pairings = std::move(next);
    return {};
}

core::Result<bool> PairingStore::revoke(const std::string& extension_id) {
    std::lock_guard lock(state_->mutex);
    if (state_->pairings.count(extension_id) == 0) return false;
    auto next = state_->pairings;
    next.erase(extension_id);
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(state_->path, serialize(next)));
    state_->pairings = std::move(next);
    return true;
}

}  // namespace keybridge::pairing
