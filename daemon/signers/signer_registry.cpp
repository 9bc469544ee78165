#include "daemon/signers/signer_registry.h"

#include <algorithm>

namespace keybridge::daemon::signers {

using core::ErrorCode;
using core::fail;

namespace {

// "connect your Ledger (ledger:0001) holding 0xAb…": what a person must do, in their words.
std::string connect_hint(const AccountRoute& route) {
    const std::string& id = route.signer_id;
    const bool ledger = id.rfind("ledger:", 0) == 0;
    return std::string("connect your ") + (ledger ? "Ledger" : "Trezor") + " (" + id +
           ") holding " + route.key.address.to_checksum_string() +
           (ledger ? " and open its Ethereum app" : " and unlock it");
}

}  // namespace

// The software signer's routing, before the vault's accounts are known.
std::shared_ptr<const SignerRegistry::Routing> SignerRegistry::initial_routing(
    const std::shared_ptr<drivers::software::SoftwareSigner>& software, bool spillover) {
    std::shared_ptr<SignerLane> lane;
    if (spillover)
        lane = std::make_shared<SpilloverLane>("signing");
    else
        lane = std::make_shared<InlineLane>();
    auto routing = std::make_shared<Routing>();
    routing->attached.emplace(software->id(), Attached{software, std::move(lane)});
    return routing;
}

SignerRegistry::SignerRegistry(std::shared_ptr<drivers::software::SoftwareSigner> software,
                               bool spillover)
    : software_(std::move(software)), routing_(initial_routing(software_, spillover)) {}

SignerRegistry::~SignerRegistry() {
    stop_all();
}

template <class Change>
auto SignerRegistry::republish(Change&& change) {
    std::lock_guard lock(write_mutex_);
    auto next = std::make_shared<Routing>(*routing_.get());
    auto result = change(*next);
    routing_.publish(std::move(next));
    return result;
}

void SignerRegistry::attach(std::shared_ptr<core::Signer> signer) {
    const std::string id = signer->id();
    std::shared_ptr<SignerLane> lane;
    if (signer->info().blocking)
        lane = std::make_shared<ThreadLane>(id);
    else
        lane = std::make_shared<InlineLane>();
    std::shared_ptr<SignerLane> replaced = republish([&](Routing& routing) {
        auto& slot = routing.attached[id];
        auto old_lane = std::move(slot.lane);
        slot = Attached{std::move(signer), std::move(lane)};
        return old_lane;
    });
    if (replaced) replaced->stop();
}

void SignerRegistry::detach(const std::string& signer_id) {
    if (signer_id == software_->id()) return;  // the keystore is always there
    std::shared_ptr<SignerLane> lane = republish([&](Routing& routing) {
        std::shared_ptr<SignerLane> gone;
        auto it = routing.attached.find(signer_id);
        if (it == routing.attached.end()) return gone;
        gone = std::move(it->second.lane);
        routing.attached.erase(it);
        return gone;
    });
    // Outside the lock: jobs answering their callers may call back in.
    if (lane) lane->stop();
}

bool SignerRegistry::attached(const std::string& signer_id) const {
    return routing_.get()->attached.count(signer_id) != 0;
}

std::shared_ptr<SignerLane> SignerRegistry::lane(const std::string& signer_id) const {
    const auto routing = routing_.get();
    auto it = routing->attached.find(signer_id);
    return it == routing->attached.end() ? nullptr : it->second.lane;
}

std::shared_ptr<core::Signer> SignerRegistry::signer(const std::string& signer_id) const {
    const auto routing = routing_.get();
    auto it = routing->attached.find(signer_id);
    return it == routing->attached.end() ? nullptr : it->second.signer;
}

std::vector<std::shared_ptr<core::Signer>> SignerRegistry::signers() const {
    const auto routing = routing_.get();
    std::vector<std::shared_ptr<core::Signer>> out;
    for (const auto& [id, a] : routing->attached)
        out.push_back(a.signer);
    return out;
}

void SignerRegistry::set_accounts(std::vector<AccountRoute> accounts) {
    republish([&](Routing& routing) {
        routing.accounts = std::move(accounts);
        return true;
    });
}

std::vector<core::Address> SignerRegistry::accounts() const {
    const auto routing = routing_.get();
    std::vector<core::Address> out;
    out.reserve(routing->accounts.size());
    for (const auto& a : routing->accounts)
        out.push_back(a.key.address);
    return out;
}

std::vector<AccountRoute> SignerRegistry::routes() const {
    return routing_.get()->accounts;
}

core::Result<Route> SignerRegistry::route(const core::Address& account) const {
    const auto routing = routing_.get();
    const auto& accounts = routing->accounts;
    auto it = std::find_if(accounts.begin(), accounts.end(),
                           [&](const AccountRoute& a) { return a.key.address == account; });
    if (it == accounts.end()) {
        return fail(ErrorCode::NotFound,
                    account.to_checksum_string() + " is not an account of this vault");
    }
    auto found = routing->attached.find(it->signer_id);
    if (found == routing->attached.end()) return fail(ErrorCode::DeviceNotFound, connect_hint(*it));
    // Handles that share the routing's reference count (this thread's own, see ReadMostly)
    // rather than the signer's and the lane's, which every thread would bump.
    return Route{std::shared_ptr<core::Signer>(routing, found->second.signer.get()),
                 std::shared_ptr<SignerLane>(routing, found->second.lane.get()), it->key};
}

core::Result<Route> SignerRegistry::check(const core::Address& account) const {
    auto found = route(account);
    if (!found) return found;
    if (auto ready = found->signer->ready(found->key); !ready) return fail(ready.error());
    return found;
}

void SignerRegistry::stop_all() {
    const auto routing = routing_.get();
    for (const auto& [id, a] : routing->attached)
        a.lane->stop();
}

}  // namespace keybridge::daemon::signers
