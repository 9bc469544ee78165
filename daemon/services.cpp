#include "daemon/services.h"

namespace keybridge::daemon {

std::stop_token ConnectionStops::token_for(std::uint64_t connection_id) {
    std::lock_guard lock(mutex_);
    if (stopping_) {
        std::stop_source stopped;
        stopped.request_stop();
        return stopped.get_token();
    }
    return sources_[connection_id].get_token();
}

void ConnectionStops::closed(std::uint64_t connection_id) {
    std::stop_source source;
    {
        std::lock_guard lock(mutex_);
        auto it = sources_.find(connection_id);
        if (it == sources_.end()) return;
        source = std::move(it->second);
        sources_.erase(it);
    }
    source.request_stop();  // outside the lock: stop callbacks may run jobs' wake-ups
}

void ConnectionStops::stop_all() {
    std::map<std::uint64_t, std::stop_source> sources;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        sources.swap(sources_);
    }
    for (auto& [id, source] : sources)
        source.request_stop();
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
