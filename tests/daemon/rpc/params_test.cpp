#include "daemon/rpc/params.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "core/uint256.h"

namespace keybridge::daemon::rpc {
namespace {

TEST(RpcParams, QuantityIsMinimalLowerCaseHex) {
    EXPECT_EQ(quantity(0), "0x0");
    EXPECT_EQ(quantity(1), "0x1");
    EXPECT_EQ(quantity(15), "0xf");
    EXPECT_EQ(quantity(16), "0x10");
    EXPECT_EQ(quantity(31337), "0x7a69");
    EXPECT_EQ(quantity(UINT64_MAX), "0xffffffffffffffff");
}

// quantity() spells numbers itself for speed; it must agree with the core's 256-bit spelling.
TEST(RpcParams, QuantityMatchesCoreSpelling) {
    std::vector<std::uint64_t> values{0,
                                      1,
                                      9,
                                      10,
                                      255,
                                      256,
                                      4095,
                                      4096,
                                      0x7a69,
                                      (std::uint64_t{1} << 53) - 1,
                                      UINT64_MAX - 1,
                                      UINT64_MAX};
    for (unsigned shift = 0; shift < 64; ++shift) {
        values.push_back(std::uint64_t{1} << shift);
        values.push_back((std::uint64_t{1} << shift) - 1);
        values.push_back(0x0123456789abcdefULL >> shift);
    }
    std::size_t checked = 0;
    for (const std::uint64_t v : values) {
        EXPECT_EQ(quantity(v), core::u256_to_quantity(core::U256(v))) << v;
        ++checked;
    }
    EXPECT_EQ(checked, 12u + 3u * 64u);
}

}  // namespace
}  // namespace keybridge::daemon::rpc
