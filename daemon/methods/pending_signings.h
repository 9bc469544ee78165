#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

namespace keybridge::daemon {

// The signing requests in flight, each with the origin that made it and the chain it was made
// for, from arrival until it is signed (or fails). When an origin selects another chain, its
// requests for the old chain are cancelled (docs/RPC.md, "Chains"): a request is never shown,
// judged by the policy or signed after the dApp moved to another chain. Thread-safe.
class PendingSignings {
  public:
    // One request's registration; the flow keeps it until it replies.
    class Ticket {
      public:
        Ticket(std::string origin, std::uint64_t chain_id)
            : origin_(std::move(origin)), chain_id_(chain_id) {}

        const std::string& origin() const { return origin_; }
        std::uint64_t chain_id() const { return chain_id_; }
        // True once a chain switch cancelled it; the chain the origin moved to.
        bool cancelled() const { return cancelled_.load(); }
        std::uint64_t switched_to() const { return switched_to_.load(); }
        // Fires when cancelled: stops a signer job (a device waiting for its button).
        std::stop_token stop_token() const { return stop_.get_token(); }

      private:
        friend class PendingSignings;
        std::string origin_;
        std::uint64_t chain_id_;
        std::size_t shard_ = 0;          // where PendingSignings keeps it
        std::uint64_t approval_id_ = 0;  // guarded by its shard's mutex
        std::atomic<bool> cancelled_{false};
        std::atomic<std::uint64_t> switched_to_{0};
        std::stop_source stop_;
    };
    using TicketPtr = std::shared_ptr<Ticket>;

    // Registers a request of `origin` made for `chain_id`.
    TicketPtr open(std::string origin, std::uint64_t chain_id);
    // The request ended (replied): it is forgotten.
    void close(const TicketPtr& ticket);
    // The request's approval entry, so that a chain switch can withdraw it from the queue. False
    // (nothing recorded) when the ticket was already cancelled.
    bool attach_approval(const TicketPtr& ticket, std::uint64_t approval_id);

    // `origin` now uses `chain_id`: every open ticket of that origin for another chain is
    // cancelled (its stop token fires). Returns the approval ids of the cancelled tickets that
    // have one, for the caller to withdraw from the approval queue.
    std::vector<std::uint64_t> chain_selected(const std::string& origin, std::uint64_t chain_id);

    std::size_t size() const;

  private:
    // A ticket lives in the shard of the thread that opened it: the network threads open and
    // close every request's ticket, and with one lock and one list they passed its cache lines
    // back and forth on every signature. chain_selected (a chain switch, rare) visits them all.
    static constexpr std::size_t kShards = 8;
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        std::vector<TicketPtr> open;
    };
    static std::size_t this_threads_shard();

    std::array<Shard, kShards> shards_;
};

}  // namespace keybridge::daemon
