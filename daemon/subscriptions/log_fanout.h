#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "daemon/subscriptions/log_filter.h"

namespace keybridge::daemon::subscriptions {

// The logs subscriptions of one chain served by one eth_getLogs per block range, however many
// there are (1,280 subscriptions once made 1,280 queries per poll): the node is asked for
// merged(), a filter that selects at least every subscription's logs, and split() then picks
// each filter's logs from that answer with LogFilter::matches, as each subscription's own query
// did before. Pure: no I/O.
class LogFanout {
  public:
    // Bounds on the merged filter, under what nodes and providers accept (geth refuses more than
    // 1,000 addresses or topics per position); past them that part selects anything.
    static constexpr std::size_t kMaxMergedAddresses = 1000;
    static constexpr std::size_t kMaxMergedTopics = 1000;
    // Blocks per eth_getLogs when the merged filter selects any address: every log of a busy
    // chain (hundreds per block on mainnet) must fit the upstream answer limit (32 MiB).
    static constexpr std::size_t kAnyAddressBlocks = 4;

    // `filters`: the distinct filters of the chain's logs subscriptions (LogFilter::key differs).
    explicit LogFanout(std::vector<LogFilter> filters = {});

    bool empty() const { return filters_.empty(); }
    // address: the union of the filters' addresses when every filter names some (and the union
    // stays within kMaxMergedAddresses), else any. topics: as many positions as the shortest
    // filter has; position i is the union of the filters' topics there when every filter
    // restricts it (within kMaxMergedTopics), else any. Every log a filter matches, it matches.
    const LogFilter& merged() const { return merged_; }
    // How many blocks one eth_getLogs may span: kAnyAddressBlocks when merged() selects any
    // address; 0 (no bound beyond the poll's window) otherwise.
    std::size_t max_blocks() const { return merged_.addresses.empty() ? kAnyAddressBlocks : 0; }
    // Each filter's logs among `logs` (the node's answers for merged(), in block order), as
    // (LogFilter::key, logs in the node's order), in the order the filters were given.
    std::vector<std::pair<std::string, boost::json::array>> split(
        const boost::json::array& logs) const;

  private:
    std::vector<LogFilter> filters_;
    LogFilter merged_;
    // Which filters may match a log of an address: those naming it, and any_address_.
    std::unordered_map<std::string, std::vector<std::size_t>> by_address_;
    std::vector<std::size_t> any_address_;
};

}  // namespace keybridge::daemon::subscriptions
