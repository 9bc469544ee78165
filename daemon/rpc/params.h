#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include <boost/json.hpp>
#include <tl/expected.hpp>

#include "core/address.h"
#include "core/bytes.h"
#include "core/transaction.h"
#include "core/uint256.h"
#include "daemon/rpc/jsonrpc.h"

namespace keybridge::daemon::rpc {

// Parameter access for positional (array) params. Every error is -32602 and names the parameter
// by position and meaning: "params[1] (address): address has an invalid EIP-55 checksum".
template <typename T>
using ParamResult = tl::expected<T, RpcError>;

// params must be an array of between min and max elements (null counts as []).
RpcError invalid_params_error(std::string message);

ParamResult<const boost::json::array*> positional(const boost::json::value& params, std::size_t min,
                                                  std::size_t max);

ParamResult<core::Address> address_at(const boost::json::array& a, std::size_t i,
                                      std::string_view what);
ParamResult<std::string> string_at(const boost::json::array& a, std::size_t i,
                                   std::string_view what);
// 0x-prefixed hex of any length.
ParamResult<core::Bytes> hex_at(const boost::json::array& a, std::size_t i, std::string_view what);
ParamResult<std::uint64_t> chain_id_of(const boost::json::value& v, std::string_view what);

// An eth_sendTransaction / eth_signTransaction object. Fields the caller left out stay unset so
// the daemon can fill them (nonce, gas, fees, chain id).
struct TransactionRequest {
    std::optional<core::Address> from;
    std::optional<core::Address> to;
    std::optional<std::uint64_t> gas;
    std::optional<core::U256> gas_price;
    std::optional<core::U256> max_fee_per_gas;
    std::optional<core::U256> max_priority_fee_per_gas;
    core::U256 value = 0;
    core::Bytes data;
    std::optional<std::uint64_t> nonce;
    std::optional<std::uint64_t> chain_id;
    std::optional<int> type;  // 0, 1, 2
    std::optional<core::AccessList> access_list;
};
ParamResult<TransactionRequest> transaction_request(const boost::json::value& v);

// JSON views for approvers and results.
boost::json::object transaction_json(const core::Transaction& tx, const core::Address& from);

std::string quantity(std::uint64_t v);

}  // namespace keybridge::daemon::rpc
