#include "daemon/services.h"

namespace keybridge::daemon {

std::stop_token ConnectionStops::token_for(std::uint64_t connection_id) {
    Shard& shard = shard_of(connection_id);
    std::lock_guard lock(shard.mutex);
    // Read under the shard's lock: stop_all() sets it before it takes any.
    if (stopping_.load()) {
        std::stop_source stopped;
        stopped.request_stop();
        return stopped.get_token();
    }
    return shard.sources[connection_id].get_token();
}

void ConnectionStops::closed(std::uint64_t connection_id) {
    std::stop_source source;
    {
        Shard& shard = shard_of(connection_id);
        std::lock_guard lock(shard.mutex);
        auto it = shard.sources.find(connection_id);
        if (it == shard.sources.end()) return;
        source = std::move(it->second);
        shard.sources.erase(it);
    }
    source.request_stop();  // outside the lock: stop callbacks may run jobs' wake-ups
}

void ConnectionStops::release(std::uint64_t connection_id) {
    std::stop_source source;  // destroyed outside the lock
    Shard& shard = shard_of(connection_id);
    std::lock_guard lock(shard.mutex);
    auto it = shard.sources.find(connection_id);
    if (it == shard.sources.end()) return;
    source = std::move(it->second);
    shard.sources.erase(it);
}

std::size_t ConnectionStops::stop_all() {
    stopping_.store(true);
    std::size_t count = 0;
    for (Shard& shard : shards_) {
        std::map<std::uint64_t, std::stop_source> sources;
        {
            std::lock_guard lock(shard.mutex);
            sources.swap(shard.sources);
        }
        count += sources.size();
        for (auto& [id, source] : sources)
            source.request_stop();
    }
    return count;
}

std::size_t ConnectionStops::tracked() {
    std::size_t count = 0;
    for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        count += shard.sources.size();
    }
    return count;
}

std::vector<signers::AccountRoute> account_routes(const std::vector<vault::Account>& accounts) {
    std::vector<signers::AccountRoute> routes;
    routes.reserve(accounts.size());
    for (const auto& a : accounts) {
        switch (a.source) {
            case vault::AccountSource::Seed:
                routes.push_back({{a.address, a.path}, "software"});
                break;
            case vault::AccountSource::Imported:
                routes.push_back({{a.address, ""}, "software"});
                break;
            case vault::AccountSource::Hardware:
                routes.push_back({{a.address, a.path}, a.device});
                break;
        }
    }
    return routes;
}

std::vector<core::Address> Services::all_accounts() {
    return signers.accounts();
}

}  // namespace keybridge::daemon
