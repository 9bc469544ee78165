#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/result.h"

namespace keybridge::pairing {

// One browser extension the user allowed to relay the requests of the pages it serves
// (docs/RPC.md, "The browser extension"). The extension proves itself with a secret that
// keybridged handed it once, at pairing; the file keeps only that secret's SHA-256.
struct Pairing {
    std::string extension_id;    // "abcdefghijklmnopabcdefghijklmnop" (chrome-extension://ID)
    std::string name;            // what the extension called itself when it asked
    std::int64_t paired_at = 0;  // unix seconds
    core::Hash32 secret_hash{};
};

// Whether `id` can be an extension id: 1 to 64 characters of [a-z0-9._-] (Chromium uses 32
// letters a-p; Firefox a UUID or an address-like id).
bool extension_id_valid(std::string_view id);

// The paired extensions in <datadir>/pairings.json (0600; every change written atomically and
// durably before the call returns). Thread-safe. Writes are small and rare (a pairing is a
// decision of the user): the daemon makes them on its blocking thread.
class PairingStore {
  public:
    // Loads the file if present; InvalidFormat naming the file when it is damaged.
    [[nodiscard]] static core::Result<PairingStore> open(const std::string& datadir);
    PairingStore(PairingStore&&) noexcept = default;

    std::vector<Pairing> all() const;  // by extension id
    std::optional<Pairing> find(const std::string& extension_id) const;
    // Whether `secret` is the one handed to this extension (compared in constant time, by hash).
    bool verify(const std::string& extension_id, core::ByteView secret) const;

    // Records (or replaces: a new secret for the same id) a pairing and writes the file. On a
    // failed write nothing changes in memory either.
    [[nodiscard]] core::Status add(Pairing pairing);
    // Removes the pairing; false when there was none. Written before it returns.
    [[nodiscard]] core::Result<bool> revoke(const std::string& extension_id);

  private:
    struct State {
        std::string path;
        mutable std::mutex mutex;
        std::map<std::string, Pairing> pairings;
    };
    explicit PairingStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
    static std::string serialize(const std::map<std::string, Pairing>& pairings);
    std::unique_ptr<State> state_;
};

}  // namespace keybridge::pairing
