#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/result.h"
#include "store/permissions/recent_chains.h"

namespace keybridge::permissions {

// The origin of token clients (scripts holding the cookie token). No web page can send it as
// its Origin header, so its chain choice is persisted like a granted origin's.
inline constexpr std::string_view kLocalOrigin = "local";

// What the user granted one origin (EIP-2255 "eth_accounts" permission) and which chain the
// origin has selected (per origin, as MetaMask does).
struct Grant {
    std::vector<core::Address> accounts;  // empty: no account exposed
    std::int64_t granted_at = 0;          // unix seconds
    // Every account a decided connect request listed for this origin, granted or declined: a
    // connected origin is asked again only for accounts outside this list (account_methods.cpp).
    std::vector<core::Address> offered;
};

// Grants in <datadir>/permissions.json (0600, atomic writes), and each origin's chain.
//
// What reaches the file: the grants, and the chain of origins that have one (and of
// kLocalOrigin). The chain of any other origin lives in memory only, in a RecentChains of
// `memory_chains` origins: an Origin header is only a header, so without a grant a name costs
// nothing on disk, and a flood of names pushes the least recently used choices out.
//
// When it is written: with no Background given (the keybridge tool), every change is written
// before the call returns, and the call returns the write's status. With a Background (the
// daemon), a change only updates memory and asks the background for a write; writes coalesce:
// at most one runs at a time, and it writes the state of that moment, so a thousand changes
// while one write runs cost one more write, not a thousand. Mutators then always succeed; a
// caller that must know its change is on disk (the daemon answers grants and revocations only
// then) asks when_saved. Thread-safe.
class PermissionStore {
  public:
    // Where the daemon's writes run, off its network threads.
    struct Background {
        // Runs a job on a worker thread (the jobs of one store never overlap: a write posts the
        // next one only when it has finished).
        std::function<void(std::function<void()>)> run;
        // A write failed (the daemon logs it); changes stay in memory and go with the next write.
        std::function<void(const core::Error&)> failed;
    };
    using Saved = std::function<void(core::Status)>;

    // Loads the file if present. InvalidFormat naming the file when it is damaged. Chains of
    // origins without a grant found in the file (written by earlier versions) are kept in memory
    // and leave the file with the next write.
    [[nodiscard]] static core::Result<PermissionStore> open(
        const std::string& datadir, std::optional<Background> background = std::nullopt,
        std::size_t memory_chains = RecentChains::kDefaultCapacity);
    PermissionStore(PermissionStore&& other) noexcept = default;
    ~PermissionStore();

    std::optional<Grant> grant(const std::string& origin) const;
    std::vector<core::Address> accounts(const std::string& origin) const;
    // Whether `account` is among the origin's granted accounts (what every signature asks:
    // without copying the grant).
    bool granted(const std::string& origin, const core::Address& account) const;
    std::map<std::string, Grant> all() const;

    [[nodiscard]] core::Status set_accounts(const std::string& origin,
                                            std::vector<core::Address> accounts);
    // A connect request was approved: the origin sees exactly `granted` from now on, and every
    // account in `shown` (and `granted`) counts as offered to it.
    [[nodiscard]] core::Status record_connect(const std::string& origin,
                                              std::vector<core::Address> granted,
                                              const std::vector<core::Address>& shown);
    // A connect request of an origin that has a grant was declined: its grant stays, the accounts
    // in `shown` count as offered. Nothing is recorded for an origin without a grant.
    [[nodiscard]] core::Status record_declined(const std::string& origin,
                                               const std::vector<core::Address>& shown);
    // Removes the origin's grant (and what it was offered); true when there was one. Its chain
    // stays selected, in memory only from then on.
    [[nodiscard]] core::Result<bool> revoke(const std::string& origin);

    std::optional<std::uint64_t> selected_chain(const std::string& origin) const;
    // Written only for an origin with a grant (or kLocalOrigin), and only when it changed.
    [[nodiscard]] core::Status select_chain(const std::string& origin, std::uint64_t chain_id);

    // Calls saved(ok) once every change made before this call is on disk, or saved(error) when
    // the write that carried them failed. Inline when nothing is waiting to be written, else
    // from the background's thread after that write.
    void when_saved(Saved saved);
    // Writes what is not on disk yet, on the calling thread. For the daemon's exit, once its
    // background has finished (no write of this store may run at the same time).
    [[nodiscard]] core::Status flush();

    // Writes of the file this object attempted so far, to see that they coalesce.
    std::uint64_t writes() const;
    // Origins whose chain is kept in memory only.
    std::size_t memory_chains() const;

  private:
    struct State;
    explicit PermissionStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

    std::shared_ptr<State> state_;
};

}  // namespace keybridge::permissions
