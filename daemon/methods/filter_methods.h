#pragma once

#include "daemon/rpc/dispatcher.h"

namespace keybridge::daemon {

struct Services;

// eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter, eth_getFilterChanges,
// eth_getFilterLogs, eth_uninstallFilter: on the origin's chain's node, under local ids that
// only the client that made them can use (subscriptions::ClientFilters).
void register_filter_methods(rpc::Dispatcher& dispatcher, Services& services);

}  // namespace keybridge::daemon
