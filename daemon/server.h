#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/result.h"
#include "daemon/approvals/approval_queue.h"
#include "daemon/approvals/audit_log.h"
#include "daemon/desktop_notifier.h"
#include "daemon/devices/device_manager.h"
#include "daemon/events/event_hub.h"
#include "daemon/extension/extension_relay.h"
#include "daemon/net/control_listener.h"
#include "daemon/net/listener.h"
#include "daemon/net/server_context.h"
#include "daemon/options.h"
#include "store/chains/chain_store.h"
#include "store/pairing/pairing_store.h"
#include "store/permissions/permission_store.h"
#include "daemon/rpc/dispatcher.h"
#include "daemon/services.h"
#include "daemon/subscriptions/chain_feeds.h"
#include "daemon/upstream/upstream_client.h"
#include "daemon/vault_watcher.h"
#include "daemon/signers/signer_registry.h"
#include "drivers/software/software_signer.h"

namespace keybridge::daemon {

// keybridged as one object: opens the data folder, writes the cookie, binds the listeners,
// serves until SIGINT/SIGTERM, then shuts down gracefully: stop accepting, answer pending
// approvals with 4900, close WebSockets with 1001 after their queued replies, join the threads.
class Server {
  public:
    explicit Server(Config config);
    ~Server();

    // Everything that can fail at start-up, with a message naming what (a bad policy line, a
    // port in use, a damaged permissions file).
    [[nodiscard]] core::Status start();
    // Serves until a signal arrives (or stop() is called). Returns after shutdown completes.
    void run();
    void stop();

    const std::vector<std::uint16_t>& ports() const { return ports_; }
    // Where device watchers, emulator options and tests attach signers (after start()).
    signers::SignerRegistry& signers() { return signers_; }
    // Before start(): find devices with this factory instead of the system's (USB and
    // --speculos; also when `factory` is null); tests pass fakes. `settings`: poll interval.
    void set_device_factory(std::unique_ptr<devices::DeviceFactory> factory,
                            devices::DeviceManager::Settings settings = {});
    devices::DeviceManager* devices() { return devices_.get(); }
    // Before start(): `gate` runs on the audit history's loader thread before it reads the
    // files (tests hold the load with it), and a signing request's explanation waits at most
    // `wait` for the history (default Services::history_wait).
    void set_history_gate(std::function<void()> gate) { history_gate_ = std::move(gate); }
    void set_history_wait(std::chrono::milliseconds wait) { history_wait_ = wait; }

  private:
    // The steps of start(), in order.
    [[nodiscard]] core::Status take_instance_lock();
    [[nodiscard]] core::Result<std::string> write_cookie();
    [[nodiscard]] core::Status open_stores();
    [[nodiscard]] core::Status make_services();
    void watch_vault();
    void start_devices();
    void register_methods();
    void make_server_context(std::string token);
    void watch_signals();
    void log_configuration();
    [[nodiscard]] core::Status open_listeners();
    [[nodiscard]] core::Status write_page_launcher();
    void start_serving();
    [[nodiscard]] core::Status unlock_at_start();
    void load_audit_history();

    void announce_pending(const approvals::ApprovalRequest& request);
    void shutdown();
    // Stops the io_context once no connection is left, or at the deadline.
    void stop_when_idle(std::chrono::steady_clock::time_point deadline);
    void schedule_audit_sync();
    // Every network thread's io_context: ioc_ first.
    std::vector<boost::asio::io_context*> network_contexts();
    void stop_network();
    static void name_network_thread(int index);
    // Runs network loop `index` on the calling thread under --network-scheduling (a refused
    // policy is logged, not fatal), numbered, with its end-of-turn work.
    void run_network_loop(boost::asio::io_context& ioc, int index);

    Config config_;
    // Declared before ioc_ so it outlives it: destroying ioc_ destroys the handlers still
    // queued at exit (reads of idle connections), and with them sessions that use the context.
    std::unique_ptr<net::ServerContext> context_;
    // One more event loop per further network thread (--threads N: N - 1 of them), each run by
    // its own thread and serving its share of the connections only (Listener). One io_context
    // run by N threads hands every ready socket from the thread in epoll_wait to another through
    // a mutex and a futex wake-up; separate loops never wait for each other.
    std::vector<std::unique_ptr<boost::asio::io_context>> more_network_;
    std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
        more_network_work_;
    // The first network thread's event loop: the listeners, the control socket, timers, the
    // services' work, and its share of the connections. Declared after the others, so destroyed
    // before them: an accept still pending in it holds a socket of the next thread's loop.
    boost::asio::io_context ioc_{1};
    boost::asio::thread_pool blocking_{1};
    std::optional<boost::asio::signal_set> signals_;
    std::optional<boost::asio::steady_timer> audit_timer_;
    std::optional<boost::asio::steady_timer> stop_timer_;
    std::optional<permissions::PermissionStore> permissions_;
    std::optional<pairing::PairingStore> pairings_;  // the paired browser extensions
    // The user's chains and chosen nodes (chains.json).
    std::optional<chains::ChainStore> saved_chains_;
    std::optional<approvals::AuditLog> audit_;
    std::optional<approvals::ApprovalQueue> approvals_;
    signers::SignerRegistry signers_{std::make_shared<drivers::software::SoftwareSigner>(),
                                     config_.signing_worker};
    EventHub events_;
    std::optional<upstream::UpstreamClient> upstream_;
    std::optional<ChainRegistry> chains_;
    std::optional<subscriptions::ChainFeeds> feeds_;  // uses upstream_ and chains_
    std::optional<Services> services_;
    // Uses services_ and pairings_; its timers go before ioc_.
    std::optional<extension::ExtensionRelay> extension_relay_;
    std::unique_ptr<devices::DeviceFactory> device_factory_;
    devices::DeviceManager::Settings device_settings_;
    std::unique_ptr<devices::DeviceManager> devices_;
    rpc::Dispatcher dispatcher_;
    std::vector<std::shared_ptr<net::Listener>> listeners_;
    std::shared_ptr<net::ControlListener> control_;
    std::string control_path_;
    // Follows changes the keybridge tool makes to the vault while we run.
    std::shared_ptr<VaultWatcher> vault_watcher_;
    std::atomic<bool> vault_reload_queued_{false};
    std::vector<std::uint16_t> ports_;
    std::string cookie_path_;
    std::string page_url_;       // the approval page on the first listener, "http://…/ui/"
    std::string launcher_path_;  // its launcher file, once written
    std::unique_ptr<DesktopNotifier> notifier_;  // new approval requests on the desktop
    int instance_lock_ = -1;                     // flock on <datadir>/keybridged.lock while we run
    // Reads the audit history (AuditLog::load_history) once the listeners serve; joined before
    // the audit log goes.
    std::thread history_loader_;
    std::function<void()> history_gate_;
    std::optional<std::chrono::milliseconds> history_wait_;
    bool stopped_ = false;
};

}  // namespace keybridge::daemon
