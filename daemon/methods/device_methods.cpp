// keybridge_devices (the hardware wallets keybridged sees) and keybridge_deviceAddress (what
// address a device derives at a path: `keybridge account add --ledger / --trezor`). A Trezor that
// wants its PIN or passphrase for the address asks for it as any signature does: a needs-input
// stage of an approval entry (method keybridge_deviceAddress) that an approver answers.
#include <ctime>
#include <memory>
#include <string>

#include "core/bip32.h"
#include "daemon/log.h"
#include "daemon/methods/approval_prompter.h"
#include "daemon/rpc/params.h"
#include "daemon/services.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;

json::value text_or_null(const std::string& text) {
    return text.empty() ? json::value(nullptr) : json::value(text);
}

json::object device_json(const devices::DeviceManager::Listed& d) {
    json::object o;
    o["id"] = text_or_null(d.report.identity);
    o["family"] = core::to_string(d.candidate.family);
    o["model"] = d.report.model.empty() ? d.candidate.model : d.report.model;
    o["transport"] = d.candidate.transport;
    o["location"] = d.candidate.location;
    o["state"] = devices::to_string(d.report.state);
    o["app"] = text_or_null(d.report.app);
    o["appVersion"] = text_or_null(d.report.app_version);
    o["blindSigning"] =
        d.report.blind_signing ? json::value(*d.report.blind_signing) : json::value(nullptr);
    o["firmware"] = text_or_null(d.report.firmware);
    o["label"] = text_or_null(d.report.label);
    o["detail"] = d.report.detail;
    o["attached"] = d.attached;
    o["accounts"] = d.accounts;
    return o;
}

}  // namespace

void register_device_methods(rpc::Dispatcher& d, Services& s) {
    d.add({"keybridge_devices",
           "hardware wallets found on USB or configured (--speculos, --trezor-emulator): model, "
           "transport, app, "
           "app version, state and what to do",
           rpc::Access::TokenOnly, [&s](const auto&, const json::value&, rpc::Reply reply) {
               json::array out;
               if (s.devices != nullptr) {
                   for (const auto& listed : s.devices->list())
                       out.push_back(device_json(listed));
               }
               reply(json::value(std::move(out)));
           }});
    d.add({"keybridge_deviceAddress",
           "the address a connected device derives at a path: params [path] or [path, device]",
           rpc::Access::ApproverOnly,
           [&s](const auto& client, const json::value& params, rpc::Reply reply) {
               auto p = rpc::positional(params, 1, 2);
               if (!p) return reply(tl::unexpected(p.error()));
               auto path = rpc::string_at(**p, 0, "path");
               if (!path) return reply(tl::unexpected(path.error()));
               if (auto parsed = core::bip32::parse_path(*path); !parsed)
                   return reply(tl::unexpected(
                       rpc::invalid_params_error("params[0] (path): " + parsed.error().detail)));
               std::string wanted;
               if ((*p)->size() == 2 && !(**p)[1].is_null()) {
                   auto device = rpc::string_at(**p, 1, "device");
                   if (!device) return reply(tl::unexpected(device.error()));
                   wanted = *device;
               }
               if (s.devices == nullptr)
                   return reply(tl::unexpected(rpc::to_rpc_error(
                       {core::ErrorCode::DeviceNotFound, "keybridged watches no devices"})));
               auto chosen = s.devices->choose(wanted);
               if (!chosen) return reply(tl::unexpected(rpc::to_rpc_error(chosen.error())));
               auto signer = s.signers.signer(*chosen);
               auto lane = s.signers.lane(*chosen);
               if (!signer || !lane)
                   return reply(tl::unexpected(rpc::to_rpc_error(
                       {core::ErrorCode::DeviceNotFound, *chosen + " was just unplugged"})));
               // On the device's lane: never beside a signature of the same device.
               // The entry the PIN / passphrase prompts would stand in (approvers see it only
               // when the device asks for one).
               auto entry = std::make_shared<approvals::ApprovalRequest>();
               entry->id = s.approvals.reserve_id();
               entry->origin = std::string(approvals::kLocalClientOrigin);
               entry->authenticated = true;
               entry->connection_id = client->connection_id;
               entry->method = "keybridge_deviceAddress";
               entry->created = static_cast<std::int64_t>(std::time(nullptr));
               entry->summary = "keybridge account add: the address at " + *path + " on " + *chosen;
               entry->details = json::object{{"device", *chosen}, {"path", *path}};
               lane->run(
                   s.stops.token_for(client->connection_id),
                   [&s, entry, signer, reply, path = *path, id = *chosen](std::stop_token token) {
                       if (token.stop_requested())
                           return reply(tl::unexpected(
                               rpc::to_rpc_error({core::ErrorCode::Disconnected, "cancelled"})));
                       ApprovalPrompter prompter(s.approvals, *entry, token);
                       const core::SignContext context{token, prompter};
                       auto address = signer->address_at(context, path);
                       s.approvals.complete(entry->id);
                       if (!address)
                           return reply(tl::unexpected(rpc::to_rpc_error(address.error())));
                       const core::SignerInfo info = signer->info();
                       log::info("devices", id + ": address asked at " + path);
                       reply(json::value(json::object{{"device", id},
                                                      {"family", core::to_string(info.family)},
                                                      {"model", info.model},
                                                      {"path", path},
                                                      {"address", address->to_checksum_string()}}));
                   });
           }});
}

}  // namespace keybridge::daemon
