#include "store/permissions/permission_store.h"

#include <algorithm>
#include <ctime>

#include <boost/json.hpp>

#include "store/vault/secure_file.h"

namespace keybridge::permissions {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;

namespace {

// Adds the addresses of `more` that `list` lacks, keeping the order of both.
void add_missing(std::vector<core::Address>& list, const std::vector<core::Address>& more) {
    for (const auto& a : more) {
        if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(a);
    }
}

// An array of address strings into `out`; false when `v` is anything else.
bool read_addresses(const json::value& v, std::vector<core::Address>& out) {
    if (!v.is_array()) return false;
    for (const json::value& a : v.as_array()) {
        if (!a.is_string()) return false;
        auto address = core::Address::parse(a.as_string());
        if (!address) return false;
        out.push_back(*address);
    }
    return true;
}

}  // namespace

PermissionStore::PermissionStore(PermissionStore&& other) noexcept {
    std::lock_guard lock(other.mutex_);
    path_ = std::move(other.path_);
    grants_ = std::move(other.grants_);
    chains_ = std::move(other.chains_);
}

core::Result<PermissionStore> PermissionStore::open(const std::string& datadir) {
    PermissionStore store;
    store.path_ = datadir + "/permissions.json";
    if (!vault::path_exists(store.path_)) return store;
    auto text = vault::read_file(store.path_);
    if (!text) return fail(text.error());
    json::error_code ec;
    json::value root = json::parse(*text, ec);
    auto damaged = [&](const std::string& why) {
        return fail(ErrorCode::InvalidFormat, store.path_ + " is damaged: " + why);
    };
    if (ec || !root.is_object()) return damaged("not a JSON object");
    const json::value* origins = root.as_object().if_contains("origins");
    if (origins == nullptr || !origins->is_object()) return damaged("no 'origins' object");
    for (const auto& [key, entry] : origins->as_object()) {
        // Earlier versions kept token clients under "local-client"; the one name is "local" now.
        const std::string origin = key == "local-client" ? "local" : std::string(key);
        if (!entry.is_object())
            return damaged("entry of " + std::string(origin) + " is not an object");
        const json::object& o = entry.as_object();
        if (const json::value* accounts = o.if_contains("accounts")) {
            Grant grant;
            if (!read_addresses(*accounts, grant.accounts))
                return damaged("accounts of " + std::string(origin));
            if (const json::value* at = o.if_contains("grantedAt"); at && at->is_int64()) {
                grant.granted_at = at->as_int64();
            }
            if (const json::value* offered = o.if_contains("offered")) {
                if (!read_addresses(*offered, grant.offered))
                    return damaged("offered accounts of " + std::string(origin));
            }
            store.grants_[std::string(origin)] = std::move(grant);
        }
        if (const json::value* chain = o.if_contains("chainId")) {
            if (!chain->is_int64() || chain->as_int64() <= 0)
                return damaged("chainId of " + std::string(origin));
            store.chains_[std::string(origin)] = static_cast<std::uint64_t>(chain->as_int64());
        }
    }
    return store;
}

std::optional<Grant> PermissionStore::grant(const std::string& origin) const {
    std::lock_guard lock(mutex_);
    auto it = grants_.find(origin);
    if (it == grants_.end()) return std::nullopt;
    return it->second;
}

std::vector<core::Address> PermissionStore::accounts(const std::string& origin) const {
    auto g = grant(origin);
    return g ? g->accounts : std::vector<core::Address>{};
}

std::map<std::string, Grant> PermissionStore::all() const {
    std::lock_guard lock(mutex_);
    return grants_;
}

core::Status PermissionStore::set_accounts(const std::string& origin,
                                           std::vector<core::Address> accounts) {
    std::lock_guard lock(mutex_);
    Grant& g = grants_[origin];
    g.accounts = std::move(accounts);
    g.granted_at = static_cast<std::int64_t>(std::time(nullptr));
    return save_locked();
}

core::Status PermissionStore::record_connect(const std::string& origin,
                                             std::vector<core::Address> granted,
                                             const std::vector<core::Address>& shown) {
    std::lock_guard lock(mutex_);
    Grant& g = grants_[origin];
    add_missing(g.offered, granted);
    add_missing(g.offered, shown);
    g.accounts = std::move(granted);
    g.granted_at = static_cast<std::int64_t>(std::time(nullptr));
    return save_locked();
}

core::Status PermissionStore::record_declined(const std::string& origin,
                                              const std::vector<core::Address>& shown) {
    std::lock_guard lock(mutex_);
    auto it = grants_.find(origin);
    if (it == grants_.end()) return {};
    add_missing(it->second.offered, shown);
    return save_locked();
}

core::Result<bool> PermissionStore::revoke(const std::string& origin) {
    std::lock_guard lock(mutex_);
    const bool had = grants_.erase(origin) > 0;
    if (!had) return false;
    KEYBRIDGE_TRY_STATUS(save_locked());
    return true;
}

std::optional<std::uint64_t> PermissionStore::selected_chain(const std::string& origin) const {
    std::lock_guard lock(mutex_);
    auto it = chains_.find(origin);
    if (it == chains_.end()) return std::nullopt;
    return it->second;
}

core::Status PermissionStore::select_chain(const std::string& origin, std::uint64_t chain_id) {
    std::lock_guard lock(mutex_);
    chains_[origin] = chain_id;
    return save_locked();
}

core::Status PermissionStore::save_locked() const {
    json::object origins;
    auto entry_for = [&](const std::string& origin) -> json::object& {
        if (!origins.contains(origin)) origins[origin] = json::object{};
        return origins[origin].as_object();
    };
    for (const auto& [origin, grant] : grants_) {
        json::array accounts;
        for (const auto& a : grant.accounts)
            accounts.push_back(json::string(a.to_checksum_string()));
        json::object& e = entry_for(origin);
        e["accounts"] = std::move(accounts);
        e["grantedAt"] = grant.granted_at;
        if (!grant.offered.empty()) {
            json::array offered;
            for (const auto& a : grant.offered)
                offered.push_back(json::string(a.to_checksum_string()));
            e["offered"] = std::move(offered);
        }
    }
    for (const auto& [origin, chain] : chains_) {
        entry_for(origin)["chainId"] = static_cast<std::int64_t>(chain);
    }
    json::object root;
    root["version"] = 1;
    root["origins"] = std::move(origins);
    return vault::write_file_atomic(path_, json::serialize(root) + "\n");
}

}  // namespace keybridge::permissions
