// The commands about hardware wallets: devices (what keybridged sees), account add --ledger (an
// account whose key stays on the device), doctor (what stops a device from working).
#include <cstdint>
#include <cstdio>
#include <future>
#include <set>
#include <string>
#include <thread>

#include <poll.h>
#include <unistd.h>

#include "cli/command.h"
#include "cli/daemon_client.h"
#include "cli/device_doctor.h"
#include "cli/prompt.h"
#include "cli/terminal_text.h"
#include "store/vault/vault.h"

namespace keybridge::cli {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::fail;
using core::Result;
using core::Status;

// Asking a device for an address may wait for it (a busy lane, a slow emulator) and for the
// person (a Trezor's PIN or passphrase, the device's back-off after a wrong PIN).
constexpr std::chrono::seconds kDeviceCallTimeout{300};

std::string field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return "";
    return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

Result<json::array> list_devices(DaemonClient& client) {
    auto listed = client.call("keybridge_devices", json::array{});
    if (!listed) return fail(listed.error());
    if (!listed->is_array())
        return fail(ErrorCode::ProtocolError, "keybridge_devices: not an array");
    return listed->as_array();
}

Result<Report> run_devices(Context& ctx) {
    auto client = DaemonClient::open(ctx.datadir);
    if (!client) return fail(client.error());
    auto devices = list_devices(*client);
    if (!devices) return fail(devices.error());
    Report report;
    report.data["devices"] = *devices;
    if (devices->empty()) {
        report.text =
            "No devices found. Plug in your Ledger, unlock it and open its Ethereum app; "
            "'keybridge doctor' says what is in the way.";
        return report;
    }
    for (const auto& item : *devices) {
        if (!item.is_object()) continue;
        const json::object& d = item.as_object();
        const std::string id = field(d, "id");
        const std::string app = field(d, "app");
        const bool trezor = field(d, "family") == "trezor";
        std::string line = (trezor ? "" : "Ledger ") + field(d, "model") + "  " +
                           field(d, "transport") + "  " + field(d, "location") + "  " +
                           field(d, "state");
        if (trezor) {
            if (!field(d, "firmware").empty()) line += "  firmware " + field(d, "firmware");
            if (!field(d, "label").empty())
                line += "  \"" + terminal_safe(field(d, "label")) + "\"";
        } else if (!app.empty()) {
            line += "  " + app + " " + field(d, "appVersion");
        }
        if (!id.empty()) line += "  " + id + "  " + field(d, "accounts") + " accounts";
        report.text += line + "\n";
        const std::string detail = field(d, "detail");
        if (!detail.empty()) report.text += "    " + detail + "\n";
    }
    return report;
}

// The derivation path of `account add --ledger`.
Result<std::string> ledger_path(const Context& ctx) {
    const auto index = ctx.args.value("index");
    const auto path = ctx.args.value("path");
    const bool live = ctx.args.flag("ledger-live");
    const bool bip44 = ctx.args.flag("bip44");
    if (index && path) return fail(ErrorCode::InvalidArgument, "give --index or --path, not both");
    if (!index && !path)
        return fail(ErrorCode::InvalidArgument, "--index N or --path P is required");
    if (live && bip44)
        return fail(ErrorCode::InvalidArgument, "--ledger-live and --bip44 exclude each other");
    if (path) {
        if (live || bip44)
            return fail(ErrorCode::InvalidArgument,
                        "--ledger-live and --bip44 choose a path for --index; --path names one");
        return *path;
    }
    const std::string& text = *index;
    if (text.empty() || text.size() > 10 ||
        text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoull(text) >= (std::uint64_t{1} << 31))
        return fail(ErrorCode::InvalidArgument, "--index must be a number from 0 to 2147483647");
    // Ledger Live's accounts by default on a Ledger: what a Ledger user has used so far; on a
    // Trezor, BIP44 (Trezor Suite's and MetaMask's).
    const std::string_view templ =
        bip44 || ctx.args.flag("trezor") ? vault::kBip44Template : vault::kLedgerLiveTemplate;
    std::string out(templ);
    out.replace(out.find("{i}"), 3, text);
    return out;
}

// Answers a needs-input stage of our own address request: the PIN as positions on the grid only
// the Trezor shows, or the passphrase, typed without echo on the terminal and sent from locked
// memory. An empty answer cancels the request.
Status answer_input(DaemonSocket& socket, std::uint64_t id, const std::string& input) {
    if (input == "pin") {
        tell(
            "Your Trezor shows a grid of digits. Type the positions of your PIN's digits on it,\n"
            "as on a numeric keypad:\n    7 8 9\n    4 5 6\n    1 2 3\n");
    }
    auto secret = prompt_secret(input == "pin" ? "PIN positions (empty to cancel): "
                                               : "Trezor passphrase (empty to cancel): ",
                                "");
    if (!secret) return fail(secret.error());
    Result<RpcAnswer> sent =
        secret->size() == 0
            ? socket.call_raw("keybridge_respond", json::array{id, json::object{{"cancel", true}}},
                              DaemonClient::kDefaultTimeout)
            : socket.call_with_secret(
                  "keybridge_respond",
                  "[" + std::to_string(id) + ",{" + json::serialize(json::string(input)) + ":",
                  std::string_view(reinterpret_cast<const char*>(secret->data()), secret->size()),
                  "}]", DaemonClient::kDefaultTimeout);
    if (!sent) return fail(sent.error());
    if (sent->error) return fail(error_from_rpc(*sent->error));
    return {};
}

// keybridge_deviceAddress, on a connection of its own while this one watches the approval
// events: a Trezor that wants its PIN or passphrase for the address asks through a needs-input
// stage of an entry with method keybridge_deviceAddress. With a terminal on stdin the tool asks
// itself; otherwise any approver (keybridge approve, the approval page) answers it, and the tool
// says so on stderr. The PIN and passphrase are never arguments and never printed.
Result<json::value> device_address(DaemonClient& client, const std::string& path,
                                   const std::optional<std::string>& device) {
    auto socket = client.open_socket();
    if (!socket) return fail(socket.error());
    auto subscribed = (*socket)->call("eth_subscribe", json::array{"keybridge_approvals"},
                                      DaemonClient::kDefaultTimeout);
    if (!subscribed) return fail(subscribed.error());
    const json::array params{json::string(path),
                             device ? json::value(*device) : json::value(nullptr)};
    DaemonClient caller = client;
    auto answer = std::async(std::launch::async, [caller, params]() mutable {
        return caller.call("keybridge_deviceAddress", params, kDeviceCallTimeout);
    });
    const bool terminal = ::isatty(STDIN_FILENO) == 1 && have_terminal();
    std::set<std::pair<std::uint64_t, std::string>> asked;
    bool open = true;
    while (answer.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
        pollfd p{(*socket)->wake_fd(), POLLIN, 0};
        if (open)
            (void)::poll(&p, 1, 200);
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        while (open) {
            auto next = (*socket)->poll_notification();
            if (!next) {
                open = false;  // the call's own answer says what happened
                break;
            }
            if (!*next) break;
            const json::value* result = (*next)->if_contains("params");
            result = result != nullptr && result->is_object()
                         ? result->as_object().if_contains("result")
                         : nullptr;
            if (result == nullptr || !result->is_object()) continue;
            const json::object& event = result->as_object();
            const json::value* request = event.if_contains("request");
            if (field(event, "type") == "removed" || request == nullptr || !request->is_object())
                continue;
            const json::object& r = request->as_object();
            const json::value* details = r.if_contains("details");
            if (field(r, "method") != "keybridge_deviceAddress" ||
                field(r, "stage") != "needs-input" || details == nullptr || !details->is_object() ||
                field(details->as_object(), "path") != path ||
                (device && field(details->as_object(), "device") != *device))
                continue;
            const json::value* id = r.if_contains("id");
            const std::string input = field(r, "input");
            if (id == nullptr || (input != "pin" && input != "passphrase")) continue;
            std::uint64_t number = 0;
            if (id->is_uint64())
                number = id->as_uint64();
            else if (id->is_int64() && id->as_int64() > 0)
                number = static_cast<std::uint64_t>(id->as_int64());
            else
                continue;
            if (!asked.insert({number, input}).second) continue;
            if (!terminal) {
                std::fprintf(stderr,
                             "keybridge: the Trezor asks for its %s: answer it in an approver "
                             "(keybridge approve, or the approval page), request %llu\n",
                             input == "pin" ? "PIN" : "passphrase",
                             static_cast<unsigned long long>(number));
                continue;
            }
            if (auto answered = answer_input(**socket, number, input); !answered) {
                std::fprintf(stderr, "keybridge: %s\n",
                             terminal_safe(answered.error().detail).c_str());
            }
        }
    }
    return answer.get();
}

Result<Report> run_account_add(Context& ctx) {
    const bool ledger = ctx.args.flag("ledger");
    const bool trezor = ctx.args.flag("trezor");
    if (ledger == trezor)
        return fail(ErrorCode::InvalidArgument,
                    "say which kind of device holds the account: --ledger or --trezor");
    if (trezor && ctx.args.flag("ledger-live"))
        return fail(ErrorCode::InvalidArgument, "--ledger-live is for Ledger accounts");
    const std::string family = trezor ? "trezor" : "ledger";
    auto path = ledger_path(ctx);
    if (!path) return fail(path.error());
    // The vault first: no device round trip for a vault that is not there.
    auto vault = vault::Vault::open(ctx.datadir);
    if (!vault) return fail(vault.error());
    auto client = DaemonClient::open(ctx.datadir);
    if (!client) return fail(client.error());
    auto device = ctx.args.value("device");
    if (!device) {
        // The one attached device of the kind asked for (a Ledger and a Trezor may both be
        // connected).
        auto devices = list_devices(*client);
        if (!devices) return fail(devices.error());
        std::vector<std::string> ids;
        for (const auto& item : *devices) {
            if (!item.is_object()) continue;
            const json::object& d = item.as_object();
            if (field(d, "family") == family && field(d, "attached") == "true")
                ids.push_back(field(d, "id"));
        }
        if (ids.size() > 1)
            return fail(ErrorCode::InvalidArgument,
                        "several " + family +
                            " devices are connected: name one with --device "
                            "(keybridge devices)");
        if (ids.size() == 1) device = ids[0];
    }
    auto answer = device_address(*client, *path, device);
    if (!answer) return fail(answer.error());
    if (!answer->is_object())
        return fail(ErrorCode::ProtocolError, "keybridge_deviceAddress: not an object");
    const json::object& a = answer->as_object();
    auto address = core::Address::parse(field(a, "address"));
    const std::string identity = field(a, "device");
    if (!address || identity.empty() || field(a, "path") != *path)
        return fail(ErrorCode::ProtocolError, "keybridge_deviceAddress: unexpected answer");
    if (identity.rfind(family + ":", 0) != 0)
        return fail(ErrorCode::InvalidArgument, identity + " is not a " +
                                                    (trezor ? "Trezor" : "Ledger") +
                                                    ": connect one, or name it with --device");
    auto added =
        vault->add_hardware_account(*address, identity, *path, ctx.args.value("name").value_or(""));
    if (!added) return fail(added.error());
    Report report;
    report.data["account"] = json::object{{"address", address->to_checksum_string()},
                                          {"name", added->name},
                                          {"device", identity},
                                          {"model", field(a, "model")},
                                          {"path", *path}};
    report.text = "Added " + address->to_checksum_string() + " (" + terminal_safe(added->name) +
                  ") on " + (trezor ? "" : "Ledger ") + field(a, "model") + " " + identity +
                  " at " + *path + ": its key stays on the device, which confirms every signature.";
    return report;
}

std::string render(const std::vector<Finding>& findings) {
    std::string text;
    for (const auto& f : findings) {
        text +=
            std::string(f.problem ? "[problem] " : "[ok]      ") + f.subject + ": " + f.text + "\n";
        if (!f.fix.empty()) text += "          fix: " + f.fix + "\n";
    }
    return text;
}

Result<Report> run_doctor(Context& ctx) {
    std::vector<Finding> findings = check_usb(system_environment());
    bool daemon_running = false;
    auto client = DaemonClient::open(ctx.datadir);
    auto devices = client ? list_devices(*client) : Result<json::array>(fail(client.error()));
    if (devices) {
        daemon_running = true;
        for (auto& f : check_daemon_devices(*devices))
            findings.push_back(std::move(f));
        if (devices->empty()) findings.push_back({false, "keybridged", "sees no device", ""});
    } else {
        findings.push_back({false, "keybridged", "did not answer (" + devices.error().detail + ")",
                            "start it (keybridged, or: systemctl --user start keybridged) to "
                            "check each device's app and settings"});
    }
    std::size_t problems = 0;
    json::array out;
    for (const auto& f : findings) {
        problems += f.problem ? 1 : 0;
        out.push_back(json::object{
            {"problem", f.problem}, {"subject", f.subject}, {"text", f.text}, {"fix", f.fix}});
    }
    Report report;
    report.data["findings"] = std::move(out);
    report.data["problems"] = problems;
    report.data["daemonRunning"] = daemon_running;
    report.text = render(findings) +
                  (problems == 0 ? std::string("No problems found.")
                                 : std::to_string(problems) +
                                       (problems == 1 ? " problem" : " problems") + " found.");
    return report;
}

}  // namespace

std::vector<Command> device_commands() {
    return {
        {"devices",
         "keybridge devices [--json]",
         "hardware wallets keybridged sees: model, transport, app, app version, state",
         {},
         run_devices},
        {"account add",
         "keybridge account add (--ledger | --trezor) (--index N [--ledger-live | --bip44] | "
         "--path P) [--device ID] [--name NAME]",
         "add an account whose key stays on a connected Ledger or Trezor (keybridged asks the "
         "device)",
         {{"ledger", "", "the account is on a Ledger"},
          {"trezor", "", "the account is on a Trezor (--index N: m/44'/60'/0'/0/N)"},
          {"index", "N",
           "account number N: m/44'/60'/N'/0/0 on a Ledger (Ledger Live), m/44'/60'/0'/0/N on a "
           "Trezor"},
          {"ledger-live", "", "with --index: Ledger Live paths m/44'/60'/N'/0/0"},
          {"bip44", "", "with --index: BIP44 paths m/44'/60'/0'/0/N (MetaMask, Trezor)"},
          {"path", "P", "any derivation path, e.g. m/44'/60'/1'/0/3"},
          {"device", "ID", "the device to ask when several are connected (keybridge devices)"},
          {"name", "NAME", "account name"}},
         run_account_add},
        {"doctor",
         "keybridge doctor [--json]",
         "explain what stops a hardware wallet from working (permissions, udev rules, other "
         "programs, locked, wrong app, app too old, blind signing) and how to fix it",
         {},
         run_doctor},
    };
}

}  // namespace keybridge::cli
