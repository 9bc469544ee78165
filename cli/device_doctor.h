#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "drivers/usb/hidraw_scan.h"

namespace keybridge::cli {

// keybridge doctor: what stops a hardware wallet from working, in plain words, each with what
// to do (the exact command where there is one).
struct Finding {
    bool problem = false;  // false: fine, or for information
    std::string subject;   // "Ledger Nano S Plus (/dev/hidraw3)", "udev rules"
    std::string text;      // what is the matter
    std::string fix;       // what to do; a command to run when there is one
};

// Where the checks look: the real system, or copies in tests.
struct DoctorEnvironment {
    drivers::usb::SysfsRoots sysfs;
    std::string proc = "/proc";
    std::vector<std::string> udev_dirs = {"/etc/udev/rules.d", "/run/udev/rules.d",
                                          "/usr/lib/udev/rules.d", "/lib/udev/rules.d"};
    // Whether this user may open a node for reading and writing (access(2) by default).
    std::function<bool(const std::string& node)> can_open;
    // Our rules files, as installed (PREFIX/share/keybridge/udev) or in the sources; empty when
    // none was found.
    std::string uaccess_rules;
    std::string plugdev_rules;
    int own_pid = 0;  // left out of "held by another program"
};

// The environment of this machine (can_open = access(R_OK|W_OK); the rules next to the
// installed program or in the source tree it was built from).
DoctorEnvironment system_environment();

// USB: each Ledger's APDU node; whether this user may open it (else whether our udev rule is
// installed, with the command that installs it, or the plugdev alternative); which other
// programs hold it open (Ledger Live, a browser) and to close them; no Ledger at all.
std::vector<Finding> check_usb(const DoctorEnvironment& env);

// The devices keybridged lists (keybridge_devices): locked, dashboard, another app, an app too
// old for what keybridge uses, blind signing off, an emulator that does not answer, a device
// whose accounts are not in the vault yet.
std::vector<Finding> check_daemon_devices(const boost::json::array& devices);

// The first Ethereum app version that has everything keybridge uses (EIP-712 full mode).
inline constexpr const char* kMinimumEthereumApp = "1.9.19";

// "1.10.4" < "1.9.19"? Compared number by number; false when either is not a version.
bool version_older(const std::string& version, const std::string& than);

}  // namespace keybridge::cli
