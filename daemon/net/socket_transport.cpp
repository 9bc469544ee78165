#include "daemon/net/socket_transport.h"

#include "core/secret_buffer.h"

namespace keybridge::daemon::net {

SocketTransport::~SocketTransport() {
    if (held_) core::secure_wipe(held_.get(), kHeldBytes);
}

void SocketTransport::start_reading_ahead() {
    if (!held_) held_ = std::make_unique<char[]>(kHeldBytes);
}

void SocketTransport::release_held(std::size_t served) {
    core::secure_wipe(held_.get() + held_begin_, served);
    held_begin_ += served;
    if (held_begin_ == held_end_) held_begin_ = held_end_ = 0;
}

}  // namespace keybridge::daemon::net
