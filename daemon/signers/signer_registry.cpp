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

SignerRegistry::SignerRegistry(std::shared_ptr<drivers::software::SoftwareSigner> software,
                               bool spillover)
    : software_(std::move(software)) {
    std::shared_ptr<SignerLane> lane;
    if (spillover)
        lane = std::make_shared<SpilloverLane>("signing");
    else
        lane = std::make_shared<InlineLane>();
    attached_.emplace(software_->id(), Attached{software_, std::move(lane)});
}

SignerRegistry::~SignerRegistry() {
    stop_all();
}

void SignerRegistry::attach(std::shared_ptr<core::Signer> signer) {
    const std::string id = signer->id();
    std::shared_ptr<SignerLane> lane;
    if (signer->info().blocking)
        lane = std::make_shared<ThreadLane>(id);
    else
        lane = std::make_shared<InlineLane>();
    std::shared_ptr<SignerLane> replaced;
    {
        std::lock_guard lock(mutex_);
        auto& slot = attached_[id];
        replaced = std::move(slot.lane);
        slot = Attached{std::move(signer), std::move(lane)};
    }
    if (replaced) replaced->stop();
}

void SignerRegistry::detach(const std::string& signer_id) {
    std::shared_ptr<SignerLane> lane;
    {
        std::lock_guard lock(mutex_);
        if (signer_id == software_->id()) return;  // the keystore is always there
        auto it = attached_.find(signer_id);
        if (it == attached_.end()) return;
        lane = std::move(it->second.lane);
        attached_.erase(it);
    }
    lane->stop();  // outside the lock: jobs answering their callers may call back in
}

bool SignerRegistry::attached(const std::string& signer_id) const {
    std::lock_guard lock(mutex_);
    return attached_.count(signer_id) != 0;
}

std::shared_ptr<SignerLane> SignerRegistry::lane(const std::string& signer_id) const {
    std::lock_guard lock(mutex_);
    auto it = attached_.find(signer_id);
    return it == attached_.end() ? nullptr : it->second.lane;
}

std::shared_ptr<core::Signer> SignerRegistry::signer(const std::string& signer_id) const {
    std::lock_guard lock(mutex_);
    auto it = attached_.find(signer_id);
    return it == attached_.end() ? nullptr : it->second.signer;
}

std::vector<std::shared_ptr<core::Signer>> SignerRegistry::signers() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<core::Signer>> out;
    for (const auto& [id, a] : attached_)
        out.push_back(a.signer);
    return out;
}

void SignerRegistry::set_accounts(std::vector<AccountRoute> accounts) {
    std::lock_guard lock(mutex_);
    accounts_ = std::move(accounts);
}

std::vector<core::Address> SignerRegistry::accounts() const {
    std::lock_guard lock(mutex_);
    std::vector<core::Address> out;
    out.reserve(accounts_.size());
    for (const auto& a : accounts_)
        out.push_back(a.key.address);
    return out;
}

std::vector<AccountRoute> SignerRegistry::routes() const {
    std::lock_guard lock(mutex_);
    return accounts_;
}

core::Result<Route> SignerRegistry::route(const core::Address& account) const {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(accounts_.begin(), accounts_.end(),
                           [&](const AccountRoute& a) { return a.key.address == account; });
    if (it == accounts_.end()) {
        return fail(ErrorCode::NotFound,
                    account.to_checksum_string() + " is not an account of this vault");
    }
    auto signer = attached_.find(it->signer_id);
    if (signer == attached_.end()) return fail(ErrorCode::DeviceNotFound, connect_hint(*it));
    return Route{signer->second.signer, signer->second.lane, it->key};
}

core::Result<Route> SignerRegistry::check(const core::Address& account) const {
    auto found = route(account);
    if (!found) return found;
    if (auto ready = found->signer->ready(found->key); !ready) return fail(ready.error());
    return found;
}

void SignerRegistry::stop_all() {
    std::vector<std::shared_ptr<SignerLane>> lanes;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, a] : attached_)
            lanes.push_back(a.lane);
    }
    for (auto& lane : lanes)
        lane->stop();
}

}  // namespace keybridge::daemon::signers
