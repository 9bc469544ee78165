#include "daemon/server.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "core/hash.h"
#include "daemon/devices/ledger_device.h"
#include "daemon/devices/system_factory.h"
#include "daemon/devices/trezor_device.h"
#include "daemon/log.h"
#include "daemon/service_notify.h"
#include "daemon/read_mostly.h"
#include "daemon/turn_end.h"
#include "store/datadir/daemon_files.h"
#include "store/vault/secure_file.h"
#include "store/vault/vault.h"

namespace keybridge::daemon {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Many connections need many descriptors: raise the soft limit to the hard one.
void raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

}  // namespace

Server::Server(Config config) : config_(std::move(config)) {
    for (unsigned i = 1; i < config_.threads; ++i) {
        more_network_.push_back(std::make_unique<asio::io_context>(1));
        more_network_work_.push_back(asio::make_work_guard(*more_network_.back()));
    }
}

std::vector<asio::io_context*> Server::network_contexts() {
    std::vector<asio::io_context*> contexts{&ioc_};
    for (auto& ioc : more_network_)
        contexts.push_back(ioc.get());
    return contexts;
}

void Server::stop_network() {
    ioc_.stop();
    for (auto& ioc : more_network_)
        ioc->stop();
}

Server::~Server() {
    if (history_loader_.joinable()) history_loader_.join();
    if (!cookie_path_.empty()) ::unlink(cookie_path_.c_str());
    if (!launcher_path_.empty()) ::unlink(launcher_path_.c_str());
    if (!control_path_.empty()) ::unlink(control_path_.c_str());
    if (instance_lock_ >= 0) ::close(instance_lock_);  // releases the flock
}

core::Status Server::start() {
    raise_fd_limit();
    KEYBRIDGE_TRY_STATUS(vault::ensure_private_dir(config_.datadir));
    KEYBRIDGE_TRY_STATUS(take_instance_lock());
    auto token = write_cookie();
    if (!token) return core::fail(token.error());
    KEYBRIDGE_TRY_STATUS(open_stores());
    KEYBRIDGE_TRY_STATUS(make_services());
    watch_vault();
    start_devices();
    register_methods();
    make_server_context(std::move(*token));
    watch_signals();
    log_configuration();
    KEYBRIDGE_TRY_STATUS(open_listeners());
    KEYBRIDGE_TRY_STATUS(write_page_launcher());
    if (config_.desktop_notifications) {
        notifier_ = std::make_unique<DesktopNotifier>(launcher_path_);
        notifier_->start();
    }
    start_serving();
    return unlock_at_start();
}

// One daemon per data folder: a second one would replace the first one's cookie (and remove it
// on exit) and write the same permissions file.
core::Status Server::take_instance_lock() {
    const std::string lock_path = datadir::lock_path(config_.datadir);
    instance_lock_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (instance_lock_ < 0) {
        return core::fail(core::ErrorCode::IoError,
                          "cannot open " + lock_path + ": " + std::strerror(errno));
    }
    if (::flock(instance_lock_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(instance_lock_);
        instance_lock_ = -1;
        if (error == EWOULDBLOCK) {
            return core::fail(
                core::ErrorCode::AlreadyExists,
                "another keybridged is running with the data folder " + config_.datadir);
        }
        return core::fail(core::ErrorCode::IoError,
                          "cannot lock " + lock_path + ": " + std::strerror(error));
    }
    return {};
}

// The cookie token: fresh at every start, readable only by this user.
core::Result<std::string> Server::write_cookie() {
    std::array<std::uint8_t, 32> token_bytes{};
    KEYBRIDGE_TRY_STATUS(core::random_bytes(token_bytes));
    std::string token = core::hex_encode(token_bytes, false);
    core::secure_wipe(token_bytes.data(), token_bytes.size());
    cookie_path_ = datadir::cookie_path(config_.datadir);
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(cookie_path_, token));
    return token;
}

// The permissions file, the audit log and the approval queue with its policy.
core::Status Server::open_stores() {
    // Written on the blocking thread, coalesced (a flood of chain switches of granted origins
    // costs one write at a time); origins without a grant keep their chain in memory only.
    permissions::PermissionStore::Background writes;
    writes.run = [this](std::function<void()> job) { asio::post(blocking_, std::move(job)); };
    writes.failed = [](const core::Error& error) {
        log::error("permissions", "writing permissions.json failed: " + error.detail);
    };
    auto permissions = permissions::PermissionStore::open(config_.datadir, std::move(writes));
    if (!permissions) return core::fail(permissions.error());
    permissions_.emplace(std::move(*permissions));
    auto pairings = pairing::PairingStore::open(config_.datadir);
    if (!pairings) return core::fail(pairings.error());
    pairings_.emplace(std::move(*pairings));
    auto saved_chains = chains::ChainStore::open(config_.datadir);
    if (!saved_chains) return core::fail(saved_chains.error());
    saved_chains_.emplace(std::move(*saved_chains));
    // Rotation renames files and flushes the retired one: on the blocking thread, not the
    // network thread that wrote the line crossing the size limit. The counterparty history is
    // read once we serve (load_audit_history): up to 80 MiB of lines would delay the start.
    auto audit = approvals::AuditLog::open(
        config_.datadir, {config_.audit_max_bytes, config_.audit_keep},
        [this](std::function<void()> job) { asio::post(blocking_, std::move(job)); },
        approvals::AuditLog::HistoryLoad::Deferred);
    if (!audit) return core::fail(audit.error());
    audit_.emplace(std::move(*audit));
    approvals::Policy policy;
    if (!config_.policy_file.empty()) {
        auto loaded = approvals::Policy::load(config_.policy_file);
        if (!loaded) return core::fail(loaded.error());
        policy = std::move(*loaded);
        log::info("approvals", "policy " + config_.policy_file + ": " +
                                   std::to_string(policy.size()) + " rules");
    }
    approvals_.emplace(
        ioc_.get_executor(),
        approvals::QueueLimits{config_.max_pending_approvals, config_.max_pending_per_origin,
                               config_.max_pending_local},
        std::chrono::seconds(config_.approval_timeout_s), std::move(policy), &*audit_);
    approvals_->set_listener(
        [this](const approvals::ApprovalRequest& request, approvals::ApprovalQueue::Event change) {
            using Event = approvals::ApprovalQueue::Event;
            const char* type = change == Event::Added     ? "added"
                               : change == Event::Updated ? "updated"
                                                          : "removed";
            json::object event{{"type", type}, {"request", request.to_json()}};
            events_.publish(EventHub::Topic::Approvals, "", event);
            if (change == Event::Added) announce_pending(request);
        });
    return {};
}

// A new request waits for a person. Nobody listening for approvals (no `keybridge approve`, no
// approval page): its caller hears so at once, rather than waiting out the timeout in silence.
void Server::announce_pending(const approvals::ApprovalRequest& request) {
    if (notifier_) {
        notifier_->notify("keybridge: a request waits for you",
                          request.origin + " asks: " +
                              (request.summary.empty() ? request.method : request.summary));
    }
    if (!context_ || events_.subscribers(EventHub::Topic::Approvals) != 0) return;
    std::shared_ptr<EventSink> sink;
    {
        std::lock_guard lock(context_->sinks_mutex);
        auto it = context_->sinks.find(request.connection_id);
        if (it != context_->sinks.end()) sink = it->second.lock();
    }
    // A page behind a paired extension: its state's sink wraps this as keybridge_relayEvent.
    if (!sink && extension_relay_) sink = extension_relay_->origin_sink(request.connection_id);
    if (!sink) return;  // an HTTP caller: nothing can be pushed to it
    sink->push(json::serialize(rpc::make_notification(
        "keybridge_requestStatus",
        json::object{{"id", request.id},
                     {"method", request.method},
                     {"status", "no-approver"},
                     {"message",
                      "no approver is connected: open the approval page (keybridge ui) or run "
                      "keybridge approve to decide this request"}})));
}

// Upstream nodes, chains, chain feeds, and the Services the methods share, with the vault's
// account list (known from its metadata without a password).
core::Status Server::make_services() {
    upstream_.emplace(ioc_.get_executor());
    chains_.emplace(apply_saved_chains(config_.chains, saved_chains_->all()),
                    config_.default_chain_id);
    subscriptions::ChainFeeds::Settings feed_settings;
    feed_settings.poll_interval = std::chrono::milliseconds(config_.poll_interval_ms);
    feed_settings.filters.max_per_owner = config_.max_subscriptions;
    feeds_.emplace(
        ioc_.get_executor(), *upstream_,
        [this](std::uint64_t chain_id) -> std::optional<std::string> {
            auto chain = chains_->find(chain_id);
            if (!chain || chain->rpc_url.empty()) return std::nullopt;
            return chain->rpc_url;
        },
        feed_settings);
    services_.emplace(config_, ioc_.get_executor(), blocking_, *permissions_, *approvals_, signers_,
                      events_, *upstream_, *chains_, *feeds_);
    if (history_wait_) services_->history_wait = *history_wait_;
    // The account list is known from the vault's metadata without a password.
    if (vault::Vault::exists(config_.datadir)) {
        auto vault = vault::Vault::open(config_.datadir);
        if (!vault) return core::fail(vault.error());
        signers_.set_accounts(account_routes(vault->accounts()));
        std::vector<drivers::software::SoftwareSigner::AccountRef> refs;
        for (const auto& a : vault->accounts()) {
            if (a.source != vault::AccountSource::Hardware)
                refs.push_back({a.address, a.source == vault::AccountSource::Seed ? a.path : ""});
        }
        signers_.software().set_listed(std::move(refs));
    }
    return {};
}

// Changes made with the tool while we run: re-read on the blocking thread (the vault's lock may
// be held by the tool for seconds of key derivation), one pending re-read at a time.
void Server::watch_vault() {
    vault_watcher_ =
        std::make_shared<VaultWatcher>(asio::make_strand(ioc_), config_.datadir, [this] {
            if (vault_reload_queued_.exchange(true)) return;
            asio::post(blocking_, [this] {
                vault_reload_queued_.store(false);
                reload_vault_accounts(*services_);
            });
        });
    if (auto watching = vault_watcher_->start(); !watching) {
        log::warn("vault", watching.error().detail +
                               " (accounts changed with the tool show after the next unlock)");
        vault_watcher_.reset();
    }
}

void Server::set_device_factory(std::unique_ptr<devices::DeviceFactory> factory,
                                devices::DeviceManager::Settings settings) {
    device_factory_ = std::move(factory);
    device_settings_ = settings;
}

// Hardware wallets: USB (hidraw) and the --speculos emulators, polled on the manager's own
// thread; their signers join the registry as they become ready.
void Server::start_devices() {
    if (!device_factory_) {  // the system's: USB (hidraw) and --speculos
        devices::SystemDeviceFactory::Settings settings;
        settings.usb = config_.usb_devices;
        settings.speculos = config_.speculos;
        settings.trezor_emulators = config_.trezor_emulators;
        device_factory_ = std::make_unique<devices::SystemDeviceFactory>(
            std::move(settings), devices::open_ledger, devices::open_trezor);
    }
    devices_ = std::make_unique<devices::DeviceManager>(std::move(device_factory_), signers_,
                                                        device_settings_);
    services_->devices = devices_.get();
    for (const auto& endpoint : config_.speculos)
        log::info("devices", "Speculos emulator at " + endpoint);
    for (const auto& endpoint : config_.trezor_emulators)
        log::info("devices", "Trezor emulator at " + endpoint);
    devices_->start();
}

void Server::register_methods() {
    register_chain_methods(dispatcher_, *services_);
    register_account_methods(dispatcher_, *services_);
    register_signing_methods(dispatcher_, *services_);
    register_admin_methods(dispatcher_, *services_);
    register_device_methods(dispatcher_, *services_);
    register_page_methods(dispatcher_, *services_, *audit_);
    register_chain_admin_methods(dispatcher_, *services_, *saved_chains_);
    // The approval page's address: known once the listeners are bound (the handler reads it then).
    dispatcher_.add(
        {"keybridge_approvalPage",
         "where the approval page is: its URL and the launcher file that opens it",
         rpc::Access::ApproverOnly, [this](const auto&, const json::value&, rpc::Reply reply) {
             if (page_url_.empty() || launcher_path_.empty()) {
                 return reply(tl::unexpected(rpc::RpcError{
                     rpc::kDisconnected, "the approval page is not being served", std::nullopt}));
             }
             reply(json::object{{"url", page_url_}, {"launcher", launcher_path_}});
         }});
    // A one-time address of the approval page for a paired extension's popup (docs/RPC.md,
    // keybridge_pageLogin): the user trusts the extension they paired as they trust the
    // launcher file, and the code it gets works once, for a minute.
    dispatcher_.add(
        {"keybridge_pageLogin",
         "a paired browser extension's one-time address of the approval page, logged in",
         rpc::Access::Anyone,
         [this](const auto& client, const json::value& params, rpc::Reply reply) {
             if (auto p = rpc::positional(params, 0, 0); !p)
                 return reply(tl::unexpected(p.error()));
             if (!extension_relay_->paired(client->connection_id)) {
                 return reply(tl::unexpected(rpc::RpcError{
                     rpc::kUnauthorized,
                     "keybridge_pageLogin is for a browser extension's connection paired with "
                     "keybridge_pair; open the page with `keybridge ui`",
                     std::nullopt}));
             }
             if (page_url_.empty() || !context_ || !context_->login_codes) {
                 return reply(tl::unexpected(rpc::RpcError{
                     rpc::kDisconnected, "the approval page is not being served", std::nullopt}));
             }
             auto code = context_->login_codes->issue();
             if (!code) return reply(tl::unexpected(rpc::to_rpc_error(code.error())));
             // page_url_ ends in "/ui/".
             const std::string url = page_url_ + "login-code?code=" + std::string(code->text());
             reply(json::object{
                 {"url", url},
                 {"expiresIn", static_cast<std::int64_t>(net::PageLoginCodes::kLife.count())}});
         }});
    // The browser extension's pairing and relay. A page state it drops ends like a connection
    // (context_ exists by the time any request runs).
    extension_relay_.emplace(ioc_.get_executor(), *services_, dispatcher_, *pairings_,
                             [this](std::uint64_t connection_id) {
                                 if (context_ && context_->connection_closed)
                                     context_->connection_closed(connection_id);
                             });
    extension_relay_->register_methods(dispatcher_);
    // Relayed calls count in their page's own token bucket (context_ exists by then).
    extension_relay_->set_admission(
        [this](const rpc::Client& page) { return !context_ || context_->admit(page, 1); });
}

void Server::make_server_context(std::string token) {
    context_ = std::make_unique<net::ServerContext>(config_, dispatcher_, std::move(token));
    if (auto page = net::PageAccess::create()) {
        context_->page = std::make_shared<const net::PageAccess>(std::move(*page));
        context_->login_codes = std::make_shared<net::PageLoginCodes>();
    } else {
        log::error("net", "no approval page: " + page.error().detail);
    }
    context_->health = [this] {
        // "starting" until the --password-file unlock at start has finished.
        return json::object{
            {"status", services_->startup_unlock_pending.load() ? "starting" : "ok"},
            {"version", kVersion},
            {"unlocked", signers_.software().unlocked()}};
    };
    context_->relays_pages = [this](std::uint64_t connection_id) {
        return extension_relay_->paired(connection_id);
    };
    context_->connection_closed = [this](std::uint64_t connection_id) {
        approvals_->cancel_connection(connection_id);
        services_->stops.closed(connection_id);  // its signer jobs, queued or running, stop
        feeds_->drop_connection(connection_id);  // its chain's poller stops if nobody is left
        extension_relay_->connection_closed(connection_id);  // a paired extension's socket
    };
    context_->request_answered = [this](std::uint64_t connection_id) {
        services_->stops.release(connection_id);
    };
}

// Before the listeners: a SIGTERM that arrives once we announce the port must shut down cleanly.
void Server::watch_signals() {
    signals_.emplace(ioc_, SIGINT, SIGTERM);
    signals_->async_wait([this](boost::system::error_code ec, int signal) {
        if (ec) return;
        log::info("server", std::string("received ") + strsignal(signal) + ", shutting down");
        shutdown();
    });
}

core::Status Server::open_listeners() {
    // The control socket first: once a TCP port is announced, the tool can reach us too.
    control_ = std::make_shared<net::ControlListener>(ioc_, *context_);
    KEYBRIDGE_TRY_STATUS(control_->open(datadir::control_socket_path(config_.datadir)));
    control_path_ = datadir::control_socket_path(config_.datadir);
    log::info("net", "control socket " + control_path_);
    for (const auto& text : config_.listen) {
        auto endpoint = parse_listen(text);
        if (!endpoint) return core::fail(endpoint.error());
        boost::system::error_code ec;
        auto address = asio::ip::make_address(endpoint->host, ec);
        auto listener = std::make_shared<net::Listener>(ioc_, *context_, network_contexts());
        auto opened = listener->open({address, endpoint->port});
        if (!opened) {
            // ::1 may be missing (IPv6 disabled); the IPv4 loopback is enough then. But an
            // address someone else holds is refused: browsers and scripts trying it would talk
            // to that program believing it is keybridged.
            if (address.is_v6() && config_.listen.size() > 1 &&
                opened.error().code != core::ErrorCode::AlreadyExists) {
                log::warn("net", opened.error().detail + " (continuing without it)");
                continue;
            }
            return core::fail(opened.error());
        }
        ports_.push_back(listener->port());
        if (page_url_.empty()) {
            page_url_ = "http://" +
                        (address.is_v6() ? "[" + endpoint->host + "]" : endpoint->host) + ":" +
                        std::to_string(listener->port()) + "/ui/";
        }
        log::info("net", "listening on " +
                             (address.is_v6() ? "[" + endpoint->host + "]" : endpoint->host) + ":" +
                             std::to_string(listener->port()));
        listeners_.push_back(std::move(listener));
    }
    return {};
}

// What a user needs to debug a set-up: where the data is, the vault's state, each chain and its
// node. Node URLs often carry API keys in their path or query, so only scheme://host[:port].
void Server::log_configuration() {
    log::info("server", "data folder " + config_.datadir);
    log::info("server", std::to_string(config_.threads) + " network thread" +
                            (config_.threads == 1 ? "" : "s") + ", " +
                            to_string(config_.network_scheduling) + " scheduling");
    const std::size_t accounts = signers_.accounts().size();
    if (accounts == 0 && !vault::Vault::exists(config_.datadir)) {
        log::info("vault", "absent (create one with 'keybridge init' or 'keybridge restore')");
    } else {
        log::info("vault",
                  "locked, " + std::to_string(accounts) + " accounts" +
                      (config_.password_file.empty() ? " (keybridge unlock)"
                                                     : " (unlocking with the password file)"));
    }
    for (const auto& chain : config_.chains) {
        log::info("upstream", "chain " + std::to_string(chain.chain_id) + " (" + chain.name +
                                  "): " +
                                  (chain.rpc_url.empty() ? std::string("no RPC node")
                                                         : log::redact_url(chain.rpc_url)) +
                                  (chain.chain_id == config_.default_chain_id ? ", default" : ""));
    }
}

// The launcher of the approval page (page_access.h): a 0600 file in the 0700 data folder, like
// the cookie, written atomically; `keybridge ui` opens it.
core::Status Server::write_page_launcher() {
    if (!context_->page || page_url_.empty()) return {};
    const std::string login =
        page_url_.substr(0, page_url_.size() - 4) + std::string(net::PageAccess::kLoginPath);
    const core::SecretBuffer html = context_->page->launcher_html(login);
    const std::string path = datadir::page_launcher_path(config_.datadir);
    KEYBRIDGE_TRY_STATUS(vault::write_file_atomic(path, html.view()));
    launcher_path_ = path;
    return {};
}

void Server::start_serving() {
    audit_timer_.emplace(ioc_);
    schedule_audit_sync();
    for (auto& l : listeners_)
        l->start();
    control_->start();
    load_audit_history();
}

// On a thread of its own, not the blocking thread: a start-up unlock's key derivation or an
// audit rotation queued there would wait for the read, and the read for them. Explanations
// computed meanwhile wait for it (signing_flow.cpp, after_history).
void Server::load_audit_history() {
    history_loader_ = std::thread([this] {
        if (history_gate_) history_gate_();
        const auto started = std::chrono::steady_clock::now();
        audit_->load_history();
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        log::info("approvals", "audit history loaded in " + std::to_string(took.count()) + " ms");
    });
}

core::Status Server::unlock_at_start() {
    if (config_.password_file.empty()) return {};
    auto password = vault::read_secret_file(config_.password_file);
    if (!password) return core::fail(password.error());
    // Requests arriving meanwhile wait for this unlock; READY and /health's "ok" follow it.
    services_->startup_unlock_pending.store(true);
    unlock_vault(*services_, std::move(*password), [this](core::Status status) {
        if (!status) log::error("vault", "unlock at start failed: " + status.error().detail);
        services_->startup_unlock_pending.store(false);
        notify_service_manager("READY=1");
    });
    return {};
}

void Server::schedule_audit_sync() {
    audit_timer_->expires_after(std::chrono::seconds(1));
    audit_timer_->async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        // fdatasync waits for the disk (milliseconds): not on a network thread.
        asio::post(blocking_, [this] { audit_->sync(); });
        schedule_audit_sync();
    });
}

// "kb-net-N" in top -H, ps -L and /proc/PID/task/*/comm (the first loop is the main thread).
void Server::name_network_thread(int index) {
    const std::string name = "kb-net-" + std::to_string(index);
    ::pthread_setname_np(::pthread_self(), name.c_str());
}

void Server::run_network_loop(asio::io_context& ioc, int index) {
    SchedulingGovernor governor;  // used under Adaptive only
    std::optional<network_scheduling::Scope> adapting;
    if (config_.network_scheduling == NetworkScheduling::Adaptive) {
        adapting.emplace(governor);
    } else if (auto applied = schedule_this_thread(config_.network_scheduling); !applied) {
        log::warn("server", applied.error().detail + "; the network thread keeps its policy");
    }
    network_thread::Scope numbered(index);
    turn_end::Scope turns(ioc);
    ioc.run();
}

void Server::run() {
    if (!services_->startup_unlock_pending.load()) notify_service_manager("READY=1");
    std::vector<std::thread> threads;
    // Each network thread ends its turns with the work its requests deferred (turn_end.h), and
    // has a number for its own copies of read-mostly state (read_mostly.h).
    int number = 0;
    for (auto& ioc : more_network_)
        threads.emplace_back([this, &ioc, index = ++number] {
            name_network_thread(index);
            run_network_loop(*ioc, index);
        });
    // The first loop runs on the main thread, which starts no thread after this point: the
    // blocking-work and device threads, started before, keep the normal policy.
    run_network_loop(ioc_, 0);
    for (auto& t : threads)
        t.join();
    blocking_.join();
    if (history_loader_.joinable()) history_loader_.join();
    if (audit_) audit_->sync();
    if (permissions_) {
        if (auto saved = permissions_->flush(); !saved)
            log::error("permissions", "writing permissions.json failed: " + saved.error().detail);
    }
    log::info("server", "stopped");
}

void Server::stop() {
    asio::post(ioc_, [this] { shutdown(); });
}

void Server::shutdown() {
    if (stopped_) return;
    stopped_ = true;
    notify_service_manager("STOPPING=1");
    context_->stopping = true;
    for (auto& l : listeners_)
        l->stop();
    control_->stop();
    signals_->cancel();
    audit_timer_->cancel();
    if (vault_watcher_) vault_watcher_->stop();
    if (notifier_) notifier_->stop();
    // Pending approvals are answered with 4900. Those answers reach the connections after the
    // close requests below (they hop through the executor), so a WebSocket with requests in
    // flight defers keybridge_disconnect and its close frame until they are answered
    // (WsSession::close): docs/RPC.md promises the 4900 answers first.
    approvals_->cancel_all();
    // Signer jobs, queued or running (a device waiting for its button), end now and answer.
    const std::size_t stopped = services_->stops.stop_all();
    log::info("server", "stopping the signer jobs of " + std::to_string(stopped) +
                            " connection(s) with a stop token");
    // Device polling ends and the devices leave the registry (their lanes stop).
    if (devices_) devices_->stop();
    signers_.stop_all();
    feeds_->stop_all();
    std::vector<std::shared_ptr<EventSink>> sinks;
    {
        std::lock_guard lock(context_->sinks_mutex);
        for (auto& [id, weak] : context_->sinks) {
            if (auto sink = weak.lock()) sinks.push_back(std::move(sink));
        }
    }
    const std::string disconnect = json::serialize(rpc::make_notification(
        "keybridge_disconnect",
        json::object{{"code", rpc::kDisconnected}, {"message", "keybridged is shutting down"}}));
    for (auto& sink : sinks)
        sink->close(1001, "keybridged is shutting down", disconnect);
    // Give close handshakes and in-flight HTTP replies a moment, then stop: as soon as every
    // connection is gone, or after 500 ms at most (an idle keep-alive HTTP client holds its
    // connection until it sends again, so the count may never reach zero).
    stop_when_idle(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
}

void Server::stop_when_idle(std::chrono::steady_clock::time_point deadline) {
    const std::size_t open = context_->connections.load() + control_->open_connections();
    if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
        stop_network();
        return;
    }
    stop_timer_.emplace(ioc_, std::chrono::milliseconds(5));
    stop_timer_->async_wait(
        [this, deadline](boost::system::error_code) { stop_when_idle(deadline); });
}

}  // namespace keybridge::daemon
