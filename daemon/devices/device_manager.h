#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "daemon/devices/device.h"
#include "daemon/signers/signer_registry.h"

namespace keybridge::daemon::devices {

// Keeps the registry's device signers in step with what is plugged in: a thread of its own
// (never a network thread) polls the factory's cheap enumeration (~1 s), opens what appeared,
// asks each device its state, attaches a device's signer to the SignerRegistry once its
// Ethereum app answers with an identity, and detaches what went away (unplugged, emulator
// gone). An attached device is only touched on its lane (status re-probe every few polls, its
// keys when the vault's accounts change), so the manager never interleaves with a signature.
// list() and find() are thread-safe; the rest belongs to the owner (the Server).
class DeviceManager {
  public:
    struct Settings {
        std::chrono::milliseconds poll{1000};
        // An attached device's state is asked again every this many polls (on its lane).
        int refresh_every = 3;
        // After a failed open, the next try waits this long.
        std::chrono::milliseconds retry_open{2000};
    };

    DeviceManager(std::unique_ptr<DeviceFactory> factory, signers::SignerRegistry& registry,
                  Settings settings);
    ~DeviceManager();  // stop()
    DeviceManager(const DeviceManager&) = delete;
    DeviceManager& operator=(const DeviceManager&) = delete;

    // Starts the polling thread (the first poll runs at once).
    void start();
    // Stops polling and detaches every device it attached. Idempotent.
    void stop();
    // Polls again now rather than at the next tick (the vault's accounts changed).
    void wake();
    // One poll on the calling thread (tests drive the manager without its thread).
    void poll_once();

    struct Listed {
        DeviceCandidate candidate;
        DeviceReport report;
        bool attached = false;     // its signer serves the vault's accounts now
        std::size_t accounts = 0;  // vault accounts that name its identity
    };
    // Every device found, in location order.
    std::vector<Listed> list() const;

    // The attached device to ask for an address: by identity ("ledger:1a2b3c4d"), or the only
    // attached device when `identity` is empty. DeviceNotFound with what to do (which devices
    // are there and why none can be used; "several: name one with --device").
    [[nodiscard]] core::Result<std::string> choose(std::string_view identity) const;

    // Why a device of `family` that is plugged in cannot serve because of a mode it is in (a
    // Trezor in bootloader mode: "Trezor One is in bootloader mode: …"), for the errors of
    // requests that need one; empty when no such device is there. Thread-safe.
    std::string blocked_by_mode(core::SignerFamily family) const;

  private:
    // What a lane job hands back to the poller.
    struct Refresh {
        std::mutex mutex;
        std::optional<DeviceReport> report;
        std::atomic<bool> running{false};
    };
    struct Entry {
        DeviceCandidate candidate;
        std::shared_ptr<Device> device;
        DeviceReport report;
        std::string attached;  // the signer id attached to the registry; empty when not
        std::vector<core::KeyRef> keys;
        int polls_since_probe = 0;
        std::chrono::steady_clock::time_point retry_at{};
        std::shared_ptr<Refresh> refresh = std::make_shared<Refresh>();
    };

    void run(std::stop_token stop);
    std::vector<core::KeyRef> keys_for(const std::string& identity) const;
    // Brings one entry forward: open, probe, attach, refresh. Runs without the lock held
    // across device calls; `entry` is a copy put back by the caller.
    void step(Entry& entry, std::stop_token stop);
    void detach(Entry& entry, std::string_view why);

    std::unique_ptr<DeviceFactory> factory_;
    signers::SignerRegistry& registry_;
    Settings settings_;

    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;  // by location

    std::mutex wake_mutex_;
    std::condition_variable_any wake_cv_;
    bool woken_ = false;
    std::jthread thread_;
    std::stop_source stopping_;  // for poll_once() callers and the lane jobs
    bool stopped_ = false;
};

}  // namespace keybridge::daemon::devices
