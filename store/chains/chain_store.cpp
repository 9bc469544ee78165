#include "store/chains/chain_store.h"

#include <boost/json.hpp>

#include "store/vault/secure_file.h"

namespace keybridge::chains {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;

namespace {

constexpr std::uint64_t kMaxChainId = (std::uint64_t{1} << 53) - 1;
constexpr std::size_t kMaxNameBytes = 64;
constexpr std::size_t kMaxUrlBytes = 2048;

bool control_char(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

}  // namespace

core::Status check_chain_id(std::uint64_t chain_id) {
    if (chain_id < 1 || chain_id > kMaxChainId)
        return fail(ErrorCode::InvalidArgument, "the chain id must be 1 to 2^53-1");
    return {};
}

core::Status check_chain_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameBytes)
        return fail(ErrorCode::InvalidArgument,
                    "the chain name must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");
    for (char c : name) {
        if (control_char(static_cast<unsigned char>(c)))
            return fail(ErrorCode::InvalidArgument,
                        "the chain name must not hold control characters");
    }
    if (name.front() == ' ' || name.back() == ' ')
        return fail(ErrorCode::InvalidArgument,
                    "the chain name must not start or end with a space");
    return {};
}

core::Status check_rpc_url(std::string_view url) {
    if (url.size() > kMaxUrlBytes)
        return fail(ErrorCode::InvalidArgument,
                    "the node URL is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
    std::string_view rest;
    if (url.substr(0, 7) == "http://") {
        rest = url.substr(7);
    } else if (url.substr(0, 8) == "https://") {
        rest = url.substr(8);
    } else {
        return fail(ErrorCode::InvalidArgument, "the node URL must start with http:// or https://");
    }
    for (char c : url) {
        if (c == ' ' || control_char(static_cast<unsigned char>(c)))
            return fail(ErrorCode::InvalidArgument,
                        "the node URL must not hold spaces or control characters");
    }
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority = authority.substr(at + 1);
    std::string_view host = authority;
    if (!host.empty() && host.front() == '[') {
        host = host.substr(0, host.find(']') == std::string_view::npos ? 0 : host.find(']') + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    if (host.empty() || host == "[]")
        return fail(ErrorCode::InvalidArgument, "the node URL has no host");
    return {};
}

core::Result<ChainStore> ChainStore::open(const std::string& datadir) {
    auto state = std::make_unique<State>();
    state->path = datadir + "/" + std::string(kFileName);
    const std::string& path = state->path;
    if (!vault::path_exists(path)) return ChainStore(std::move(state));
    auto text = vault::read_file(path, 1024 * 1024);
    if (!text) return fail(text.error());
    auto damaged = [&](const std::string& why) {
        return fail(ErrorCode::InvalidFormat, path + " is damaged: " + why);
    };
    json::error_code ec;
    json::value root = json::parse(*text, ec);
    if (ec || !root.is_object()) return damaged("not a JSON object");
    const json::value* list = root.as_object().if_contains("chains");
    if (list == nullptr || !list->is_object()) return damaged("no 'chains' object");
    for (const auto& [key, value] : list->as_object()) {
        SavedChain c;
        const std::string id(key);
        try {
            std::size_t used = 0;
            c.chain_id = std::stoull(id, &used);
            if (used != id.size()) return damaged("bad chain id '" + id + "'");
        } catch (const std::exception&) {
            return damaged("bad chain id '" + id + "'");
        }
        if (!check_chain_id(c.chain_id) || id.front() == '0')
            return damaged("bad chain id '" + id + "'");
        const json::object* o = value.if_object();
        if (o == nullptr) return damaged("entry of chain " + id + " is not an object");
        const json::value* name = o->if_contains("name");
        const json::value* url = o->if_contains("rpcUrl");
        const json::value* added = o->if_contains("added");
        if (name == nullptr || !name->is_string() || !check_chain_name(name->as_string()))
            return damaged("bad name for chain " + id);
        if (url == nullptr || !url->is_string() || !check_rpc_url(url->as_string()))
            return damaged("bad rpcUrl for chain " + id);
        if (added == nullptr || !added->is_bool()) return damaged("bad 'added' for chain " + id);
        c.name = std::string(name->as_string());
        c.rpc_url = std::string(url->as_string());
        c.added = added->as_bool();
        state->chains.emplace(c.chain_id, std::move(c));
    }
    return ChainStore(std::move(state));
}

std::string ChainStore::serialize(const std::map<std::uint64_t, SavedChain>& chains) {
    json::object list;
    for (const auto& [id, c] : chains) {
        list[std::to_string(id)] =
            json::object{{"name", c.name}, {"rpcUrl", c.rpc_url}, {"added", c.added}};
    }
    return json::serialize(json::object{{"version", 1}, {"chains", std::move(list)}}) + "\n";
}

std::vector<SavedChain> ChainStore::all() const {
    std::lock_guard lock(state_->mutex);
    std::vector<SavedChain> out;
    for (const auto& [id, c] : state_->chains)
        out.push_back(c);
    return out;
}

std::optional<SavedChain> ChainStore::find(std::uint64_t chain_id) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->chains.find(chain_id);
    if (it == state_->chains.end()) return std::nullopt;
    return it->second;
}

core::Status ChainStore::put(SavedChain chain) {
    KEYBRIDGE_TRY_STATUS(check_chain_id(chain.chain_id));
    KEYBRIDGE_TRY_STATUS(check_chain_name(chain.name));
    KEYBRIDGE_TRY_STATUS(check_rpc_url(chain.rpc_url));
    std::lock_guard lock(state_->mutex);
    auto next = state_->chains;
    next[chain.chain_id] = std::move(chain);
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(state_->path, serialize(next)));
    state_->chains = std::move(next);
    return {};
}

core::Result<bool> ChainStore::remove(std::uint64_t chain_id) {
    std::lock_guard lock(state_->mutex);
    if (state_->chains.count(chain_id) == 0) return false;
    auto next = state_->chains;
    next.erase(chain_id);
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(state_->path, serialize(next)));
    state_->chains = std::move(next);
    return true;
}

}  // namespace keybridge::chains
