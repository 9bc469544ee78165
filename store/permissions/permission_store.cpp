#include "store/permissions/permission_store.h"

#include <algorithm>
#include <ctime>
#include <mutex>
#include <utility>

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

struct PermissionStore::State : std::enable_shared_from_this<State> {
    State(std::string file, std::optional<Background> bg, std::size_t memory_chains)
        : path(std::move(file)), background(std::move(bg)), recent(memory_chains) {}

    // Whether the origin's chain belongs in the file. Caller holds mutex.
    bool persisted_locked(const std::string& origin) const {
        return origin == kLocalOrigin || grants.count(origin) != 0;
    }
    // The persisted state changed: written now (no background: the write's status) or by the
    // background (always success). Caller holds mutex.
    core::Status changed_locked();
    std::string serialize_locked() const;
    // Starts a background write unless one runs. Caller holds mutex.
    void schedule_locked();
    // One background write; posts the next one if changes arrived meanwhile.
    void write_job();

    const std::string path;
    const std::optional<Background> background;

    mutable std::mutex mutex;
    std::map<std::string, Grant> grants;
    std::map<std::string, std::uint64_t> chains;  // persisted: granted origins and kLocalOrigin
    RecentChains recent;                          // every other origin, memory only
    std::uint64_t changes = 0;                    // persisted state's version in memory
    std::uint64_t saved = 0;                      // the version on disk
    bool writing = false;                         // a background write is posted or running
    std::vector<std::pair<std::uint64_t, Saved>> waiting;  // version each waits for
    std::uint64_t writes = 0;
};

core::Status PermissionStore::State::changed_locked() {
    ++changes;
    if (background) {
        schedule_locked();
        return {};
    }
    const std::uint64_t version = changes;
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(path, serialize_locked()));
    ++writes;
    saved = version;
    return {};
}

void PermissionStore::State::schedule_locked() {
    if (writing) return;
    writing = true;
    background->run([self = shared_from_this()] { self->write_job(); });
}

void PermissionStore::State::write_job() {
    std::string text;
    std::uint64_t version = 0;
    {
        std::lock_guard lock(mutex);
        version = changes;
        text = serialize_locked();  // only granted origins: as large as the user made it
    }
    const core::Status status = vault::write_file_atomic(path, text);
    std::vector<Saved> answered;
    {
        std::lock_guard lock(mutex);
        ++writes;
        if (status) saved = std::max(saved, version);
        for (auto it = waiting.begin(); it != waiting.end();) {
            if (it->first > version) {
                ++it;
                continue;
            }
            answered.push_back(std::move(it->second));
            it = waiting.erase(it);
        }
        // Changes made during this write go with the next one. After a failure only new
        // changes (or a new waiter) start another, so a full disk is not retried in a loop.
        if (changes > version) {
            background->run([self = shared_from_this()] { self->write_job(); });
        } else {
            writing = false;
        }
    }
    if (!status && background->failed) background->failed(status.error());
    for (auto& saved_callback : answered)
        saved_callback(status);
}

PermissionStore::~PermissionStore() = default;

core::Result<PermissionStore> PermissionStore::open(const std::string& datadir,
                                                    std::optional<Background> background,
                                                    std::size_t memory_chains) {
    auto state = std::make_shared<State>(datadir + "/permissions.json", std::move(background),
                                         memory_chains);
    const std::string& path = state->path;
    if (!vault::path_exists(path)) return PermissionStore(std::move(state));
    auto text = vault::read_file(path);
    if (!text) return fail(text.error());
    json::error_code ec;
    json::value root = json::parse(*text, ec);
    auto damaged = [&](const std::string& why) {
        return fail(ErrorCode::InvalidFormat, path + " is damaged: " + why);
    };
    if (ec || !root.is_object()) return damaged("not a JSON object");
    const json::value* origins = root.as_object().if_contains("origins");
    if (origins == nullptr || !origins->is_object()) return damaged("no 'origins' object");
    std::vector<std::pair<std::string, std::uint64_t>> chains;
    for (const auto& [key, entry] : origins->as_object()) {
        // Earlier versions kept token clients under "local-client"; the one name is "local" now.
        const std::string origin =
            key == "local-client" ? std::string(kLocalOrigin) : std::string(key);
        if (!entry.is_object()) return damaged("entry of " + origin + " is not an object");
        const json::object& o = entry.as_object();
        if (const json::value* accounts = o.if_contains("accounts")) {
            Grant grant;
            if (!read_addresses(*accounts, grant.accounts)) return damaged("accounts of " + origin);
            if (const json::value* at = o.if_contains("grantedAt"); at && at->is_int64()) {
                grant.granted_at = at->as_int64();
            }
            if (const json::value* offered = o.if_contains("offered")) {
                if (!read_addresses(*offered, grant.offered))
                    return damaged("offered accounts of " + origin);
            }
            state->grants[origin] = std::move(grant);
        }
        if (const json::value* chain = o.if_contains("chainId")) {
            if (!chain->is_int64() || chain->as_int64() <= 0)
                return damaged("chainId of " + origin);
            chains.emplace_back(origin, static_cast<std::uint64_t>(chain->as_int64()));
        }
    }
    // Once every grant is known: where each chain belongs.
    for (const auto& [origin, chain_id] : chains) {
        if (state->persisted_locked(origin)) {
            state->chains[origin] = chain_id;
        } else {
            state->recent.set(origin, chain_id);
        }
    }
    return PermissionStore(std::move(state));
}

std::optional<Grant> PermissionStore::grant(const std::string& origin) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->grants.find(origin);
    if (it == state_->grants.end()) return std::nullopt;
    return it->second;
}

std::vector<core::Address> PermissionStore::accounts(const std::string& origin) const {
    auto g = grant(origin);
    return g ? g->accounts : std::vector<core::Address>{};
}

bool PermissionStore::granted(const std::string& origin, const core::Address& account) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->grants.find(origin);
    if (it == state_->grants.end()) return false;
    const auto& accounts = it->second.accounts;
    return std::find(accounts.begin(), accounts.end(), account) != accounts.end();
}

std::map<std::string, Grant> PermissionStore::all() const {
    std::lock_guard lock(state_->mutex);
    return state_->grants;
}

namespace {

// The origin has a grant from now on: its chain moves from memory to the file.
void persist_chain(std::map<std::string, std::uint64_t>& chains, RecentChains& recent,
                   const std::string& origin) {
    if (auto chain_id = recent.take(origin)) chains[origin] = *chain_id;
}

}  // namespace

core::Status PermissionStore::set_accounts(const std::string& origin,
                                           std::vector<core::Address> accounts) {
    std::lock_guard lock(state_->mutex);
    Grant& g = state_->grants[origin];
    g.accounts = std::move(accounts);
    g.granted_at = static_cast<std::int64_t>(std::time(nullptr));
    persist_chain(state_->chains, state_->recent, origin);
    return state_->changed_locked();
}

core::Status PermissionStore::record_connect(const std::string& origin,
                                             std::vector<core::Address> granted,
                                             const std::vector<core::Address>& shown) {
    std::lock_guard lock(state_->mutex);
    Grant& g = state_->grants[origin];
    add_missing(g.offered, granted);
    add_missing(g.offered, shown);
    g.accounts = std::move(granted);
    g.granted_at = static_cast<std::int64_t>(std::time(nullptr));
    persist_chain(state_->chains, state_->recent, origin);
    return state_->changed_locked();
}

core::Status PermissionStore::record_declined(const std::string& origin,
                                              const std::vector<core::Address>& shown) {
    std::lock_guard lock(state_->mutex);
    auto it = state_->grants.find(origin);
    if (it == state_->grants.end()) return {};
    add_missing(it->second.offered, shown);
    return state_->changed_locked();
}

core::Result<bool> PermissionStore::revoke(const std::string& origin) {
    std::lock_guard lock(state_->mutex);
    const bool had = state_->grants.erase(origin) > 0;
    if (!had) return false;
    if (origin != kLocalOrigin) {
        if (auto it = state_->chains.find(origin); it != state_->chains.end()) {
            state_->recent.set(origin, it->second);
            state_->chains.erase(it);
        }
    }
    KEYBRIDGE_TRY_STATUS(state_->changed_locked());
    return true;
}

std::optional<std::uint64_t> PermissionStore::selected_chain(const std::string& origin) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->chains.find(origin);
    if (it != state_->chains.end()) return it->second;
    return state_->recent.find(origin);
}

core::Status PermissionStore::select_chain(const std::string& origin, std::uint64_t chain_id) {
    std::lock_guard lock(state_->mutex);
    if (!state_->persisted_locked(origin)) {
        state_->recent.set(origin, chain_id);
        return {};
    }
    auto [it, added] = state_->chains.try_emplace(origin, chain_id);
    if (!added && it->second == chain_id) return {};
    it->second = chain_id;
    return state_->changed_locked();
}

void PermissionStore::when_saved(Saved saved) {
    std::unique_lock lock(state_->mutex);
    if (state_->changes == state_->saved) {
        lock.unlock();
        return saved({});
    }
    if (!state_->background) {  // the last synchronous write failed: try again now
        const std::uint64_t version = state_->changes;
        core::Status status = vault::write_file_atomic(state_->path, state_->serialize_locked());
        ++state_->writes;
        if (status) state_->saved = version;
        lock.unlock();
        return saved(status);
    }
    state_->waiting.emplace_back(state_->changes, std::move(saved));
    state_->schedule_locked();
}

core::Status PermissionStore::flush() {
    std::lock_guard lock(state_->mutex);
    if (state_->changes == state_->saved) return {};
    const std::uint64_t version = state_->changes;
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(state_->path, state_->serialize_locked()));
    ++state_->writes;
    state_->saved = version;
    return {};
}

std::uint64_t PermissionStore::writes() const {
    std::lock_guard lock(state_->mutex);
    return state_->writes;
}

std::size_t PermissionStore::memory_chains() const {
    std::lock_guard lock(state_->mutex);
    return state_->recent.size();
}

std::string PermissionStore::State::serialize_locked() const {
    json::object origins;
    auto entry_for = [&](const std::string& origin) -> json::object& {
        if (!origins.contains(origin)) origins[origin] = json::object{};
        return origins[origin].as_object();
    };
    for (const auto& [origin, grant] : grants) {
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
    for (const auto& [origin, chain] : chains) {
        entry_for(origin)["chainId"] = static_cast<std::int64_t>(chain);
    }
    json::object root;
    root["version"] = 1;
    root["origins"] = std::move(origins);
    return json::serialize(root) + "\n";
}

}  // namespace keybridge::permissions
