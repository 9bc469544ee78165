#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/result.h"

namespace keybridge::permissions {

// What the user granted one origin (EIP-2255 "eth_accounts" permission) and which chain the
// origin has selected (per origin, as MetaMask does).
struct Grant {
    std::vector<core::Address> accounts;  // empty: no account exposed
    std::int64_t granted_at = 0;          // unix seconds
};

// Persistent grants in <datadir>/permissions.json (0600, atomic writes). Thread-safe.
class PermissionStore {
  public:
    // Loads the file if present. InvalidFormat naming the file when it is damaged.
    [[nodiscard]] static core::Result<PermissionStore> open(const std::string& datadir);
    PermissionStore(PermissionStore&& other) noexcept;

    std::optional<Grant> grant(const std::string& origin) const;
    std::vector<core::Address> accounts(const std::string& origin) const;
    std::map<std::string, Grant> all() const;

    [[nodiscard]] core::Status set_accounts(const std::string& origin,
                                            std::vector<core::Address> accounts);
    // Removes the origin's grant; true when there was one.
    [[nodiscard]] core::Result<bool> revoke(const std::string& origin);

    std::optional<std::uint64_t> selected_chain(const std::string& origin) const;
    [[nodiscard]] core::Status select_chain(const std::string& origin, std::uint64_t chain_id);

  private:
    PermissionStore() = default;
    [[nodiscard]] core::Status save_locked() const;

    std::string path_;
    mutable std::mutex mutex_;
    std::map<std::string, Grant> grants_;
    std::map<std::string, std::uint64_t> chains_;
};

}  // namespace keybridge::permissions
