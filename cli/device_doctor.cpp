#include "cli/device_doctor.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "core/text.h"
#include "drivers/usb/device_ids.h"

namespace keybridge::cli {
namespace {

namespace json = boost::json;

constexpr const char* kUaccessFile = "20-keybridge-ledger.rules";
constexpr const char* kPlugdevFile = "20-keybridge-ledger-plugdev.rules";
constexpr const char* kReload = " && sudo udevadm control --reload-rules && sudo udevadm trigger";

bool exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

// A rules file in udev's folders that names the Ledger vendor id; empty when none does.
std::string installed_rule(const DoctorEnvironment& env) {
    const std::string vendor = drivers::usb::hex4(drivers::usb::kLedgerVendorId);
    for (const auto& dir : env.udev_dirs) {
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) continue;
        std::vector<std::string> names;
        while (const dirent* e = ::readdir(d)) {
            const std::string name = e->d_name;
            if (name.size() > 6 && name.substr(name.size() - 6) == ".rules") names.push_back(name);
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& name : names) {
            std::ifstream in(dir + "/" + name);
            std::string line;
            while (std::getline(in, line)) {
                if (!line.empty() && line[0] == '#') continue;
                if (core::ascii_lower(line).find(vendor) != std::string::npos)
                    return dir + "/" + name;
            }
        }
    }
    return "";
}

struct Holder {
    int pid = 0;
    std::string program;
};

// Processes (of this user; others' /proc/PID/fd cannot be read) with `node` open.
std::vector<Holder> holders_of(const DoctorEnvironment& env, const std::string& node) {
    std::vector<Holder> out;
    DIR* proc = ::opendir(env.proc.c_str());
    if (proc == nullptr) return out;
    while (const dirent* e = ::readdir(proc)) {
        const std::string name = e->d_name;
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        const int pid = std::stoi(name);
        if (pid == env.own_pid) continue;
        const std::string fd_dir = env.proc + "/" + name + "/fd";
        DIR* fds = ::opendir(fd_dir.c_str());
        if (fds == nullptr) continue;
        bool holds = false;
        while (const dirent* f = ::readdir(fds)) {
            char target[PATH_MAX];
            const std::string link = fd_dir + "/" + f->d_name;
            const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
            if (n > 0 && std::string(target, static_cast<std::size_t>(n)) == node) {
                holds = true;
                break;
            }
        }
        ::closedir(fds);
        if (!holds) continue;
        std::string program;
        std::ifstream(env.proc + "/" + name + "/comm") >> program;
        out.push_back({pid, program.empty() ? "?" : program});
    }
    ::closedir(proc);
    std::sort(out.begin(), out.end(),
              [](const Holder& a, const Holder& b) { return a.pid < b.pid; });
    return out;
}

std::string install_command(const std::string& rules, const char* file_name) {
    const std::string source =
        rules.empty() ? std::string("udev/") + file_name + " (from the keybridge sources)" : rules;
    return "sudo install -m 0644 " + source + " /etc/udev/rules.d/" + kReload +
           " (then unplug the Ledger and plug it in again)";
}

std::string field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return "";
    return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

std::vector<unsigned long> version_numbers(const std::string& text) {
    std::vector<unsigned long> out;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, '.')) {
        if (part.empty() || part.size() > 9 || !std::all_of(part.begin(), part.end(), ::isdigit))
            return {};
        out.push_back(std::stoul(part));
    }
    return out;
}

}  // namespace

bool version_older(const std::string& version, const std::string& than) {
    const auto a = version_numbers(version);
    const auto b = version_numbers(than);
    if (a.empty() || b.empty()) return false;
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

DoctorEnvironment system_environment() {
    DoctorEnvironment env;
    env.can_open = [](const std::string& node) { return ::access(node.c_str(), R_OK | W_OK) == 0; };
    env.own_pid = static_cast<int>(::getpid());
    // The rules as make install put them (PREFIX/share/keybridge/udev, beside PREFIX/bin), as
    // the Debian package did (/usr/lib/udev/rules.d), or in the sources this tool was built from.
    std::vector<std::string> folders;
    char self[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        std::string bin(self, static_cast<std::size_t>(n));
        bin.resize(bin.rfind('/'));
        folders.push_back(bin + "/../share/keybridge/udev");
    }
    folders.push_back("/usr/lib/udev/rules.d");
#ifdef KEYBRIDGE_SOURCE_DIR
    folders.push_back(std::string(KEYBRIDGE_SOURCE_DIR) + "/udev");
#endif
    for (const auto& folder : folders) {
        if (env.uaccess_rules.empty() && exists(folder + "/" + kUaccessFile))
            env.uaccess_rules = folder + "/" + kUaccessFile;
        if (env.plugdev_rules.empty() && exists(folder + "/" + kPlugdevFile))
            env.plugdev_rules = folder + "/" + kPlugdevFile;
    }
    return env;
}

std::vector<Finding> check_usb(const DoctorEnvironment& env) {
    std::vector<Finding> out;
    std::string rule;  // looked up once, when needed
    bool rule_checked = false;
    bool any = false;
    for (const auto& node : drivers::usb::scan_hidraw(env.sysfs)) {
        const auto* model = drivers::usb::find_usb_model(node.vendor_id, node.product_id);
        if (model == nullptr || node.interface != model->apdu_interface) continue;
        any = true;
        const std::string subject = "Ledger " + std::string(model->name) + " (" + node.node + ")";
        if (env.can_open && !env.can_open(node.node)) {
            if (!rule_checked) {
                rule = installed_rule(env);
                rule_checked = true;
            }
            if (rule.empty()) {
                out.push_back({true, subject,
                               "you may not open it: no udev rule gives your user access to "
                               "Ledger devices",
                               "install keybridge's rule: " +
                                   install_command(env.uaccess_rules, kUaccessFile)});
            } else {
                out.push_back(
                    {true, subject,
                     "you may not open it, although " + rule +
                         " names Ledger devices: its uaccess tag serves only a user logged in at "
                         "this computer's screen (not over ssh), or the Ledger was plugged in "
                         "before the rule was installed",
                     "unplug the Ledger and plug it in again; over ssh or without a desktop "
                     "session use the plugdev rule instead: " +
                         install_command(env.plugdev_rules, kPlugdevFile) +
                         " && sudo usermod -aG plugdev \"$USER\" (then log in again)"});
            }
        } else {
            out.push_back({false, subject, "you may open it", ""});
        }
        for (const auto& holder : holders_of(env, node.node)) {
            if (holder.program == "keybridged") {
                out.push_back({false, subject,
                               "keybridged (pid " + std::to_string(holder.pid) + ") has it open",
                               ""});
                continue;
            }
            out.push_back(
                {true, subject,
                 "held by another program: " + holder.program + " (pid " +
                     std::to_string(holder.pid) +
                     "); while it talks to the Ledger, keybridged's requests fail or get its "
                     "answers",
                 "quit " + holder.program +
                     " (Ledger Live, or a browser tab using the Ledger), "
                     "or: kill " +
                     std::to_string(holder.pid)});
        }
    }
    if (!any) {
        out.push_back({false, "USB", "no Ledger found on USB",
                       "plug it in with a data cable (some cables only charge) and unlock it "
                       "with its PIN"});
    }
    return out;
}

// A Trezor as keybridged reports it (family "trezor"): no apps, so the state alone says it.
static void check_trezor_device(const json::object& d, std::vector<Finding>& out) {
    const std::string state = field(d, "state");
    const std::string detail = field(d, "detail");
    const std::string subject = field(d, "model") + " (" + field(d, "location") + ")";
    auto problem = [&](std::string text, std::string fix) {
        if (!detail.empty() && text.find(detail) == std::string::npos) text += " (" + detail + ")";
        out.push_back({true, subject, std::move(text), std::move(fix)});
    };
    if (state == "ready") {
        const std::string accounts = field(d, "accounts");
        if (accounts == "0") {
            out.push_back({false, subject, "ready, but no account of the vault is on it",
                           "keybridge account add --trezor --index 0"});
        } else {
            out.push_back(
                {false, subject,
                 "ready: firmware " + field(d, "firmware") + ", " + accounts + " accounts", ""});
        }
    } else if (state == "locked") {
        // Not a problem: the first request asks for the PIN through the approver.
        out.push_back({false, subject,
                       "locked" + (detail.empty() ? std::string() : " (" + detail + ")"), ""});
    } else if (state == "bootloader") {
        problem("in bootloader mode: nothing is signed on it",
                "unplug it and plug it in again without touching the screen or buttons");
    } else if (state == "unsupported") {
        problem("not supported yet",
                "keybridge speaks protocol v1 only; this model needs the Trezor-Host Protocol");
    } else if (state == "no-access") {
        problem("keybridged may not open it",
                "install keybridge's udev rules (udev/README.md), then plug it in again");
    } else if (state == "busy") {
        problem("another program holds it", "quit Trezor Suite or Trezor Bridge");
    } else if (state == "unreachable") {
        problem("does not answer",
                field(d, "transport") == "emulator"
                    ? "start the Trezor emulator with its UDP port there, or fix keybridged's "
                      "--trezor-emulator option"
                    : "unplug it and plug it in again");
    } else if (state == "connecting") {
        out.push_back({false, subject, "keybridged is connecting to it", ""});
    } else {
        problem("cannot be used", "see the detail; unplug it and plug it in again");
    }
}

std::vector<Finding> check_daemon_devices(const json::array& devices) {
    std::vector<Finding> out;
    for (const auto& item : devices) {
        if (!item.is_object()) continue;
        const json::object& d = item.as_object();
        if (field(d, "family") == "trezor") {
            check_trezor_device(d, out);
            continue;
        }
        const std::string state = field(d, "state");
        const std::string detail = field(d, "detail");
        const std::string app = field(d, "app");
        const std::string version = field(d, "appVersion");
        const std::string subject =
            "Ledger " + field(d, "model") + " (" + field(d, "location") + ")";
        auto problem = [&](std::string text, std::string fix) {
            if (!detail.empty() && text.find(detail) == std::string::npos)
                text += " (" + detail + ")";
            out.push_back({true, subject, std::move(text), std::move(fix)});
        };
        if (state == "locked") {
            problem("locked", "unlock the Ledger with its PIN");
        } else if (state == "dashboard") {
            problem("on its dashboard: no app is open", "open the Ethereum app on the Ledger");
        } else if (state == "wrong-app") {
            problem("the " + (app.empty() ? std::string("wrong") : app) + " app is open",
                    "quit it on the Ledger and open the Ethereum app");
        } else if (state == "no-access") {
            problem("keybridged may not open it", "see the USB findings above for the udev rule");
        } else if (state == "busy") {
            problem("another program holds it", "quit Ledger Live or the program using it");
        } else if (state == "unreachable") {
            problem("does not answer",
                    field(d, "transport") == "speculos"
                        ? "start Speculos with its APDU port there (speculos --apdu-port PORT "
                          "…), or fix keybridged's --speculos option"
                        : "unplug it and plug it in again");
        } else if (state == "connecting") {
            out.push_back({false, subject, "keybridged is connecting to it", ""});
        } else if (state != "ready") {
            problem("cannot be used", "see the detail; unplug it and plug it in again");
        } else {
            bool fine = true;
            if (version_older(version, kMinimumEthereumApp)) {
                fine = false;
                out.push_back(
                    {true, subject,
                     "its Ethereum app " + version +
                         " is too old: typed data (EIP-712) shows "
                         "only as hashes before " +
                         kMinimumEthereumApp,
                     "update the Ethereum app in Ledger Live (My Ledger), then open it again"});
            }
            const json::value* blind = d.if_contains("blindSigning");
            if (blind != nullptr && blind->is_bool() && !blind->as_bool()) {
                fine = false;
                out.push_back({true, subject,
                               "blind signing is off: contract calls the Ledger cannot decode "
                               "are refused on the device",
                               "on the Ledger, in the Ethereum app: Settings > Blind signing > "
                               "enable it"});
            }
            const std::string accounts = field(d, "accounts");
            if (accounts == "0") {
                out.push_back({false, subject, "ready, but no account of the vault is on it",
                               "keybridge account add --ledger --index 0"});
            } else if (fine) {
                out.push_back({false, subject,
                               "ready: Ethereum app " + version + ", " + accounts + " accounts",
                               ""});
            }
        }
    }
    return out;
}

}  // namespace keybridge::cli
