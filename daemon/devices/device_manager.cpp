#include "daemon/devices/device_manager.h"

#include <algorithm>
#include <set>

#include "daemon/log.h"

namespace keybridge::daemon::devices {

using core::ErrorCode;
using core::fail;

std::string_view to_string(DeviceState state) {
    switch (state) {
        case DeviceState::Connecting:
            return "connecting";
        case DeviceState::Ready:
            return "ready";
        case DeviceState::Locked:
            return "locked";
        case DeviceState::Dashboard:
            return "dashboard";
        case DeviceState::WrongApp:
            return "wrong-app";
        case DeviceState::NoAccess:
            return "no-access";
        case DeviceState::Busy:
            return "busy";
        case DeviceState::Unreachable:
            return "unreachable";
        case DeviceState::Error:
            return "error";
        case DeviceState::Bootloader:
            return "bootloader";
        case DeviceState::Unsupported:
            return "unsupported";
    }
    return "error";
}

namespace {

// A failed open, as the device list shows it.
DeviceReport open_failure(const DeviceCandidate& candidate, const core::Error& error) {
    DeviceReport report;
    switch (error.code) {
        case ErrorCode::IoError:
            report.state = DeviceState::NoAccess;
            break;
        case ErrorCode::DeviceBusy:
            report.state = DeviceState::Busy;
            break;
        case ErrorCode::Disconnected:
        case ErrorCode::Timeout:
        case ErrorCode::DeviceNotFound:
            report.state = DeviceState::Unreachable;
            break;
        default:
            report.state = DeviceState::Error;
    }
    report.detail = error.detail.empty() ? "cannot open " + candidate.location : error.detail;
    return report;
}

std::string describe(const DeviceCandidate& c) {
    return c.model + " (" + c.location + ")";
}

}  // namespace

DeviceManager::DeviceManager(std::unique_ptr<DeviceFactory> factory,
                             signers::SignerRegistry& registry, Settings settings)
    : factory_(std::move(factory)), registry_(registry), settings_(settings) {}

DeviceManager::~DeviceManager() {
    stop();
}

void DeviceManager::start() {
    thread_ = std::jthread([this](std::stop_token stop) { run(std::move(stop)); });
}

void DeviceManager::stop() {
    if (stopped_) return;
    stopped_ = true;
    stopping_.request_stop();
    if (thread_.joinable()) {
        thread_.request_stop();
        wake_cv_.notify_all();
        thread_.join();
    }
    std::vector<Entry> attached;
    {
        std::lock_guard lock(mutex_);
        for (auto& [location, entry] : entries_) {
            if (!entry.attached.empty()) attached.push_back(entry);
            entry.attached.clear();
        }
    }
    for (auto& entry : attached)
        registry_.detach(entry.attached);
}

void DeviceManager::wake() {
    {
        std::lock_guard lock(wake_mutex_);
        woken_ = true;
    }
    wake_cv_.notify_all();
}

void DeviceManager::run(std::stop_token stop) {
    while (!stop.stop_requested()) {
        poll_once();
        std::unique_lock lock(wake_mutex_);
        wake_cv_.wait_for(lock, stop, settings_.poll, [this] { return woken_; });
        woken_ = false;
    }
}

std::vector<core::KeyRef> DeviceManager::keys_for(const std::string& identity) const {
    std::vector<core::KeyRef> keys;
    for (const auto& route : registry_.routes()) {
        if (route.signer_id == identity) keys.push_back(route.key);
    }
    return keys;
}

void DeviceManager::detach(Entry& entry, std::string_view why) {
    if (entry.attached.empty()) return;
    registry_.detach(entry.attached);
    log::info("devices", entry.attached + " detached: " + std::string(why));
    entry.attached.clear();
    entry.keys.clear();
    // A re-probe still queued on the old lane reports about the old device: it keeps the old
    // slot, so it can neither overwrite what the next device at this location says nor leave
    // `running` set for it.
    entry.refresh = std::make_shared<Refresh>();
}

void DeviceManager::poll_once() {
    const std::vector<DeviceCandidate> found = factory_->enumerate();
    std::set<std::string> present;
    for (const auto& c : found)
        present.insert(c.location);

    // Gone from the enumeration: unplugged, or an emulator no longer configured.
    std::vector<Entry> gone;
    {
        std::lock_guard lock(mutex_);
        for (auto it = entries_.begin(); it != entries_.end();) {
            if (present.count(it->first) == 0) {
                gone.push_back(std::move(it->second));
                it = entries_.erase(it);
            } else {
                ++it;
            }
        }
        for (const auto& c : found) {
            if (entries_.count(c.location) != 0) continue;
            Entry entry;
            entry.candidate = c;
            entries_.emplace(c.location, std::move(entry));
            log::info("devices", "found " + describe(c));
        }
    }
    for (auto& entry : gone) {
        detach(entry, "unplugged");
        log::info("devices", "gone: " + describe(entry.candidate));
    }

    std::vector<std::string> locations;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [location, entry] : entries_)
            locations.push_back(location);
    }
    const std::stop_token stop = stopping_.get_token();
    for (const auto& location : locations) {
        if (stop.stop_requested()) return;
        Entry entry;
        {
            std::lock_guard lock(mutex_);
            auto it = entries_.find(location);
            if (it == entries_.end()) continue;
            entry = it->second;
        }
        step(entry, stop);
        std::lock_guard lock(mutex_);
        auto it = entries_.find(location);
        if (it != entries_.end()) it->second = std::move(entry);
    }
}

void DeviceManager::step(Entry& entry, std::stop_token stop) {
    const auto now = std::chrono::steady_clock::now();
    // A device whose connection died: detach it, open it again.
    if (entry.device && entry.device->gone()) {
        detach(entry, "the connection was lost");
        entry.device.reset();
        if (entry.report.state == DeviceState::Ready ||
            entry.report.state == DeviceState::Connecting) {
            DeviceReport lost;
            lost.state = DeviceState::Unreachable;
            lost.detail = "the connection to the device was lost";
            entry.report = std::move(lost);
        }
    }
    if (!entry.device) {
        if (now < entry.retry_at) return;
        auto opened = factory_->open(entry.candidate);
        if (!opened) {
            const DeviceReport failure = open_failure(entry.candidate, opened.error());
            if (failure.detail != entry.report.detail)
                log::info("devices", describe(entry.candidate) + ": " + failure.detail);
            entry.report = failure;
            entry.retry_at = now + settings_.retry_open;
            return;
        }
        entry.device = std::shared_ptr<Device>(std::move(*opened));
        entry.polls_since_probe = settings_.refresh_every;  // ask at once
    }

    if (entry.attached.empty()) {
        // Not serving yet: ask on this thread (nothing else talks to it).
        DeviceReport report = entry.device->probe(stop);
        if (report.state != entry.report.state || report.detail != entry.report.detail) {
            log::info("devices", describe(entry.candidate) + ": " +
                                     std::string(to_string(report.state)) +
                                     (report.detail.empty() ? "" : " (" + report.detail + ")"));
        }
        entry.report = std::move(report);
        if (entry.device->gone()) return;  // detached and re-opened at the next poll
        auto signer = entry.device->signer();
        // A locked Trezor serves too: its PIN is asked through the approver when it signs.
        const bool serves = entry.report.state == DeviceState::Ready ||
                            (entry.report.state == DeviceState::Locked &&
                             entry.candidate.family == core::SignerFamily::Trezor);
        if (!serves || !signer || entry.report.identity.empty()) return;
        const std::string id = signer->id();
        if (registry_.attached(id)) {
            // Two devices with the same seed: the first one found keeps serving.
            entry.report.detail =
                "another device with the same seed (" + id + ") is already in use; this one waits";
            return;
        }
        entry.keys = keys_for(id);
        entry.device->set_keys(entry.keys);
        registry_.attach(signer);
        entry.attached = id;
        log::info("devices", describe(entry.candidate) + " attached as " + id + " (" +
                                 std::to_string(entry.keys.size()) + " vault accounts)");
        return;
    }

    // Attached: what a refresh job found since the last poll.
    {
        std::lock_guard lock(entry.refresh->mutex);
        if (entry.refresh->report) {
            entry.report = std::move(*entry.refresh->report);
            entry.refresh->report.reset();
        }
    }
    if (entry.device->gone()) {
        detach(entry, "the connection was lost");
        entry.device.reset();
        return;
    }
    auto lane = registry_.lane(entry.attached);
    if (!lane) {  // detached by someone else (shutdown)
        entry.attached.clear();
        return;
    }
    // The vault's accounts for this device changed (keybridge account add --ledger): the
    // signer learns them on its lane, between signatures.
    if (auto keys = keys_for(entry.attached); keys != entry.keys) {
        entry.keys = keys;
        lane->run(stop, [device = entry.device, keys = std::move(keys)](std::stop_token) mutable {
            device->set_keys(std::move(keys));
        });
    }
    if (++entry.polls_since_probe < settings_.refresh_every) return;
    if (entry.refresh->running.exchange(true)) return;  // the last one still waits its turn
    entry.polls_since_probe = 0;
    lane->run(stop, [device = entry.device, refresh = entry.refresh](std::stop_token token) {
        if (!token.stop_requested()) {
            DeviceReport report = device->probe(token);
            std::lock_guard lock(refresh->mutex);
            refresh->report = std::move(report);
        }
        refresh->running.store(false);
    });
}

std::vector<DeviceManager::Listed> DeviceManager::list() const {
    std::vector<Listed> out;
    std::lock_guard lock(mutex_);
    for (const auto& [location, entry] : entries_) {
        Listed l{entry.candidate, entry.report, !entry.attached.empty(), 0};
        if (!entry.report.identity.empty()) l.accounts = keys_for(entry.report.identity).size();
        out.push_back(std::move(l));
    }
    return out;
}

std::string DeviceManager::blocked_by_mode(core::SignerFamily family) const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& [location, entry] : entries_) {
        if (entry.candidate.family != family || !entry.attached.empty() ||
            entry.report.state != DeviceState::Bootloader)
            continue;
        out += (out.empty() ? "" : "; ") + entry.report.detail;
    }
    return out;
}

core::Result<std::string> DeviceManager::choose(std::string_view identity) const {
    std::vector<std::string> attached;
    std::string not_ready;  // what stops the others, for the message
    {
        std::lock_guard lock(mutex_);
        for (const auto& [location, entry] : entries_) {
            if (!entry.attached.empty()) {
                attached.push_back(entry.attached);
            } else {
                not_ready += (not_ready.empty() ? "" : "; ") + describe(entry.candidate) + ": " +
                             std::string(to_string(entry.report.state)) +
                             (entry.report.detail.empty() ? "" : " (" + entry.report.detail + ")");
            }
        }
    }
    const std::string others = not_ready.empty() ? "" : " Found: " + not_ready + ".";
    if (!identity.empty()) {
        if (std::find(attached.begin(), attached.end(), identity) != attached.end())
            return std::string(identity);
        return fail(ErrorCode::DeviceNotFound, "no device " + std::string(identity) +
                                                   " is connected with its Ethereum app open." +
                                                   others);
    }
    if (attached.size() == 1) return attached.front();
    if (attached.empty()) {
        // The one reason that is no fault of keybridge's set-up comes first, plainly.
        const std::string mode = blocked_by_mode(core::SignerFamily::Trezor);
        if (!mode.empty()) return fail(ErrorCode::DeviceNotFound, mode + "." + others);
        return fail(ErrorCode::DeviceNotFound,
                    "no Ledger is ready: connect it, unlock it and open its Ethereum app "
                    "(keybridge devices shows what keybridged sees)." +
                        others);
    }
    std::string names;
    for (const auto& a : attached)
        names += (names.empty() ? "" : ", ") + a;
    return fail(ErrorCode::InvalidArgument,
                "several devices are ready (" + names + "): name one with --device");
}

}  // namespace keybridge::daemon::devices
