#pragma once

#include <cstdint>

namespace keybridge::test::e2e {

// Segments carrying data that the socket `fd` has received (TCP_INFO's tcpi_data_segs_in,
// Linux 4.6+), 0 when it cannot be read. In a file of its own: the field is only in the kernel's
// <linux/tcp.h>, whose struct tcp_info clashes with the older one of <netinet/tcp.h>, which
// Asio includes.
std::uint32_t tcp_data_segments_received(int fd);

}  // namespace keybridge::test::e2e
