#include "daemon/net/inq_receive.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

namespace keybridge::daemon::net {

int reported_queue_length(const msghdr& message) {
    // CMSG_NXTHDR takes a non-const header; it only reads it.
    auto& readable = const_cast<msghdr&>(message);
    for (cmsghdr* c = CMSG_FIRSTHDR(&readable); c != nullptr; c = CMSG_NXTHDR(&readable, c)) {
        if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ &&
            c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int queued = 0;
            std::memcpy(&queued, CMSG_DATA(c), sizeof queued);
            return queued;
        }
    }
    return -1;
}

QueueReportingReceiver::QueueReportingReceiver(boost::asio::ip::tcp::socket& socket) {
#if KEYBRIDGE_INQ_RECEIVE
    const int on = 1;
    if (::setsockopt(socket.native_handle(), SOL_TCP, TCP_INQ, &on, sizeof on) != 0) return;
    reactor_ = &boost::asio::use_service<boost::asio::detail::reactor>(
        boost::asio::query(socket.get_executor(), boost::asio::execution::context));
#else
    (void)socket;
#endif
}

}  // namespace keybridge::daemon::net
