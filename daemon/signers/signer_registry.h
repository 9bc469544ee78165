#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/signer.h"
#include "daemon/read_mostly.h"
#include "daemon/signers/signer_lane.h"
#include "drivers/software/software_signer.h"

namespace keybridge::daemon::signers {

// One account of the vault as the registry routes it.
struct AccountRoute {
    core::KeyRef key;
    std::string signer_id;  // "software", or the device identity the vault recorded
};

// Everything needed to sign with one account: the signer, its lane and the key reference.
struct Route {
    std::shared_ptr<core::Signer> signer;
    std::shared_ptr<SignerLane> lane;
    core::KeyRef key;
};

// Owns the account list and knows which signer holds each account: the vault's seed and imported
// accounts → the software signer (always attached, spillover lane); hardware accounts → the device
// with the identity the vault recorded, once it is attached (its own thread lane). Device
// watchers and the --speculos / --trezor-emulator options call attach/detach at run time.
// Thread-safe.
class SignerRegistry {
  public:
    // `spillover`: the software signer's lane is a SpilloverLane (its worker signs while the
    // calling network thread is saturated); otherwise an InlineLane.
    explicit SignerRegistry(std::shared_ptr<drivers::software::SoftwareSigner> software,
                            bool spillover = true);
    ~SignerRegistry();
    SignerRegistry(const SignerRegistry&) = delete;
    SignerRegistry& operator=(const SignerRegistry&) = delete;

    drivers::software::SoftwareSigner& software() { return *software_; }

    // A signer appears (a device plugged in, an emulator configured). A blocking signer gets a
    // thread lane. Replaces an attached signer with the same id (its lane stops first).
    void attach(std::shared_ptr<core::Signer> signer);
    // The signer is gone: its lane stops, so running and queued jobs end with a stopped token.
    void detach(const std::string& signer_id);
    bool attached(const std::string& signer_id) const;
    // The lane of an attached signer (nullptr when none is attached under that id): work that
    // must not run beside its signatures (a device's status probe, "what address is at this
    // path?") runs there, in turn.
    std::shared_ptr<SignerLane> lane(const std::string& signer_id) const;
    // The attached signer with that id, or nullptr.
    std::shared_ptr<core::Signer> signer(const std::string& signer_id) const;
    std::vector<std::shared_ptr<core::Signer>> signers() const;

    // The vault's accounts, in the vault's order (the software signer learns its own).
    void set_accounts(std::vector<AccountRoute> accounts);
    std::vector<core::Address> accounts() const;
    std::vector<AccountRoute> routes() const;

    // Where account signs, or why it cannot now:
    //   NotFound        not an account of this vault
    //   DeviceNotFound  "connect your Ledger (ledger:…) holding 0x… and open its Ethereum app"
    //   what the signer's ready() says (VaultLocked, …)
    [[nodiscard]] core::Result<Route> check(const core::Address& account) const;
    // As check(), without asking the signer whether it is ready (for requests that wait for an
    // unlock): NotFound / DeviceNotFound only.
    [[nodiscard]] core::Result<Route> route(const core::Address& account) const;

    // Shutdown: every lane stops (before the listeners close, so waiting clients are answered).
    void stop_all();

  private:
    struct Attached {
        std::shared_ptr<core::Signer> signer;
        std::shared_ptr<SignerLane> lane;
    };
    // Every signature reads it twice and it changes on unlock, vault edits and device plugs:
    // read-mostly, so the network threads share no lock or reference count for it.
    struct Routing {
        std::map<std::string, Attached> attached;  // by signer id; "software" always present
        std::vector<AccountRoute> accounts;
    };
    static std::shared_ptr<const Routing> initial_routing(
        const std::shared_ptr<drivers::software::SoftwareSigner>& software, bool spillover);
    // Applies `change` to a copy of the routing and publishes it; returns what change returns.
    template <class Change>
    auto republish(Change&& change);

    std::shared_ptr<drivers::software::SoftwareSigner> software_;
    std::mutex write_mutex_;  // one writer at a time: copy, change, publish
    ReadMostly<Routing> routing_;
};

}  // namespace keybridge::daemon::signers
