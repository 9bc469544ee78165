#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace keybridge::chains {

// A chain the user set up on the approval page or with `keybridge chain` (docs/RPC.md,
// "keybridge_addChain"): either a chain of their own (`added`), or a new upstream node for a
// chain of the configuration file (then `name` is the configured one, kept for the listing).
struct SavedChain {
    std::uint64_t chain_id = 0;
    std::string name;
    std::string rpc_url;  // may hold an API key: never logged (log::redact_url)
    bool added = false;
};

// The checks every way in applies (the RPC methods, the tool, the file when read):
// chain ids 1 to 2^53-1 (what a JavaScript number holds exactly, as --chain); names 1 to 64
// bytes with no control characters (pages show them as text, never as markup); node URLs
// http:// or https:// with a host, at most 2048 bytes, no spaces or control characters.
// InvalidArgument saying what is wrong (never echoing the URL: it may hold a key).
[[nodiscard]] core::Status check_chain_id(std::uint64_t chain_id);
[[nodiscard]] core::Status check_chain_name(std::string_view name);
[[nodiscard]] core::Status check_rpc_url(std::string_view url);

// The user's chains in <datadir>/chains.json (0600; every change written atomically and durably
// before the call returns). Thread-safe. Writes are rare (a decision of the user): the daemon
// makes them on its blocking thread.
class ChainStore {
  public:
    static constexpr std::string_view kFileName = "chains.json";

    // Loads the file if present; InvalidFormat naming the file when it is damaged.
    [[nodiscard]] static core::Result<ChainStore> open(const std::string& datadir);
    ChainStore(ChainStore&&) noexcept = default;

    std::vector<SavedChain> all() const;  // by chain id
    std::optional<SavedChain> find(std::uint64_t chain_id) const;

    // Records (or replaces) the chain and writes the file. InvalidArgument for what the checks
    // above refuse; on a failed write nothing changes in memory either.
    [[nodiscard]] core::Status put(SavedChain chain);
    // Forgets the chain; false when it was not saved. Written before it returns.
    [[nodiscard]] core::Result<bool> remove(std::uint64_t chain_id);

  private:
    struct State {
        std::string path;
        mutable std::mutex mutex;
        std::map<std::uint64_t, SavedChain> chains;
    };
    explicit ChainStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
    static std::string serialize(const std::map<std::uint64_t, SavedChain>& chains);
    std::unique_ptr<State> state_;
};

}  // namespace keybridge::chains
