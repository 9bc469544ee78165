// What the approval page shows besides the queue (its management views): the vault's accounts
// and the recent decisions of the audit log.
#include <boost/asio/post.hpp>

#include "daemon/log.h"
#include "daemon/services.h"
#include "store/vault/vault.h"

namespace keybridge::daemon {
namespace {

namespace json = boost::json;
using rpc::RpcError;

constexpr std::size_t kMaxRecentDecisions = 500;

std::string_view source_name(vault::AccountSource source) {
    switch (source) {
        case vault::AccountSource::Seed:
            return "seed";
        case vault::AccountSource::Imported:
            return "imported";
        case vault::AccountSource::Hardware:
            return "hardware";
    }
    return "unknown";
}

}  // namespace

void register_page_methods(rpc::Dispatcher& d, Services& s, approvals::AuditLog& audit) {
    d.add({"keybridge_accounts", "the vault's accounts with their names, kinds and devices",
           rpc::Access::TokenOnly, [&s](const auto&, const json::value&, rpc::Reply reply) {
               // The vault's files are read under its lock: on the blocking thread.
               boost::asio::post(s.blocking, [&s, reply = std::move(reply)] {
                   json::array out;
                   if (vault::Vault::exists(s.config.datadir)) {
                       auto opened = vault::Vault::open(s.config.datadir);
                       if (!opened) {
                           return reply(tl::unexpected(RpcError{
                               rpc::kInternalError,
                               "cannot read the vault: " + opened.error().detail, std::nullopt}));
                       }
                       for (const auto& a : opened->accounts()) {
                           json::object o{{"address", a.address.to_checksum_string()},
                                          {"source", source_name(a.source)}};
                           o["name"] = a.name.empty() ? json::value(nullptr) : json::value(a.name);
                           o["path"] = a.path.empty() ? json::value(nullptr) : json::value(a.path);
                           o["device"] =
                               a.device.empty() ? json::value(nullptr) : json::value(a.device);
                           out.push_back(std::move(o));
                       }
                   }
                   reply(json::value(std::move(out)));
               });
           }});
    d.add({"keybridge_recentDecisions",
           "the latest decisions of the audit log, newest first: params [limit]",
           rpc::Access::ApproverOnly,
           [&s, &audit](const auto&, const json::value& params, rpc::Reply reply) {
               std::size_t limit = 50;
               if (const json::array* a = params.if_array(); a != nullptr && !a->empty()) {
                   const json::value& v = a->front();
                   if (!v.is_int64() || v.as_int64() < 1 ||
                       v.as_int64() > static_cast<std::int64_t>(kMaxRecentDecisions)) {
                       return reply(
                           tl::unexpected(RpcError{rpc::kInvalidParams,
                                                   "params[0]: the number of decisions, 1 to " +
                                                       std::to_string(kMaxRecentDecisions),
                                                   std::nullopt}));
                   }
                   limit = static_cast<std::size_t>(v.as_int64());
               }
               boost::asio::post(s.blocking, [&audit, limit, reply = std::move(reply)] {
                   auto entries = audit.recent(limit);
                   if (!entries) {
                       return reply(tl::unexpected(
                           RpcError{rpc::kInternalError, entries.error().detail, std::nullopt}));
                   }
                   json::array out;
                   for (auto& e : *entries)
                       out.push_back(std::move(e));
                   reply(json::value(std::move(out)));
               });
           }});
}

}  // namespace keybridge::daemon
