#include "tests/daemon/e2e/tcp_segments.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace keybridge::test::e2e {

std::uint32_t tcp_data_segments_received(int fd) {
    tcp_info info{};
    socklen_t size = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return 0;
    return info.tcpi_data_segs_in;
}

}  // namespace keybridge::test::e2e
