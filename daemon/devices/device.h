#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/result.h"
#include "core/signer.h"

namespace keybridge::daemon::devices {

// What stands between a device and signing, as `keybridge devices` and `keybridge doctor` say it.
enum class DeviceState {
    Connecting,   // found, not asked yet
    Ready,        // the Ethereum app is open: it signs
    Locked,       // waiting for its PIN
    Dashboard,    // unlocked, no app open
    WrongApp,     // another app is open
    NoAccess,     // the node cannot be opened (permissions: udev rules)
    Busy,         // another program holds it
    Unreachable,  // an emulator that does not answer on its port
    Error,        // anything else; the detail says what
    Bootloader,   // a Trezor in bootloader mode: listed, never signs
    Unsupported,  // a model keybridge cannot talk to yet (a Trezor that speaks only THP)
};

std::string_view to_string(DeviceState state);  // "ready", "locked", "dashboard", "wrong-app", …

// What a probe learnt about a device. `detail` is for people: what is wrong and what to do.
struct DeviceReport {
    DeviceState state = DeviceState::Connecting;
    // The device's identity once its Ethereum app answered ("ledger:1a2b3c4d", the same for the
    // same seed on any device); what hardware accounts in the vault name. Empty before.
    std::string identity;
    std::string app;          // "Ethereum"; the dashboard's name, another app's name
    std::string app_version;  // "1.10.4"
    std::optional<bool> blind_signing;
    std::string detail;
    // What the device said about itself (a Trezor's Features); empty when it does not say.
    std::string model;     // "Trezor Safe 3": overrides the candidate's model in the list
    std::string firmware;  // "2.8.1"
    std::string label;     // the name its owner gave it
};

// Where enumeration found a device.
struct DeviceCandidate {
    // Unique while it is plugged in or configured: "hid:/dev/hidraw3", "speculos:127.0.0.1:9999".
    std::string location;
    std::string transport;  // "usb", "speculos", "emulator" (--trezor-emulator)
    std::string model;      // "Nano S Plus"; for an emulator, what it was configured as
    core::SignerFamily family = core::SignerFamily::Ledger;
};

// One opened device. The manager calls probe() and set_keys() from its own thread until the
// device's signer is attached to the registry, and afterwards only as jobs on the signer's lane:
// never two calls at once, never beside a signature.
class Device {
  public:
    virtual ~Device() = default;
    // Asks the device its state (a round trip or two: app and version, settings, and the
    // identity once the Ethereum app answers). A device that went away says so with a report
    // whose state is Error or Unreachable and `gone()` true afterwards.
    virtual DeviceReport probe(std::stop_token stop) = 0;
    // True once the device (or emulator connection) is dead: the manager drops and re-opens it.
    virtual bool gone() const = 0;
    // The signer, once probe() found the identity (the same object every time); else nullptr.
    virtual std::shared_ptr<core::Signer> signer() = 0;
    // The vault's hardware accounts that name this device's identity.
    virtual void set_keys(std::vector<core::KeyRef> keys) = 0;
};

// Finds and opens devices: the real one enumerates hidraw nodes and the --speculos endpoints;
// tests pass fakes. Called from the device manager's thread only.
class DeviceFactory {
  public:
    virtual ~DeviceFactory() = default;
    // What is plugged in or configured now. Cheap (no device round trip): called every poll.
    virtual std::vector<DeviceCandidate> enumerate() = 0;
    // Opens the device. Errors: IoError with the reason (permission denied, busy) — the
    // manager lists the device with that reason and tries again later.
    [[nodiscard]] virtual core::Result<std::unique_ptr<Device>> open(
        const DeviceCandidate& candidate) = 0;
};

}  // namespace keybridge::daemon::devices
