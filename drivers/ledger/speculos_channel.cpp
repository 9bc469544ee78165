#include "drivers/ledger/speculos_channel.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace keybridge::drivers::ledger {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class SpeculosChannel final : public ApduChannel {
  public:
    SpeculosChannel(int fd, std::string where) : fd_(fd), where_(std::move(where)) {}
    ~SpeculosChannel() override { close_socket(); }
    SpeculosChannel(const SpeculosChannel&) = delete;
    SpeculosChannel& operator=(const SpeculosChannel&) = delete;

    core::Result<ApduReply> exchange(core::ByteView command, milliseconds timeout,
                                     std::stop_token stop) override {
        if (fd_ < 0) {
            return core::fail(core::ErrorCode::Disconnected,
                              "the emulator at " + where_ + " was disconnected");
        }
        const auto deadline = Clock::now() + timeout;
        while (owed_replies_ > 0) {
            auto late = read_reply(deadline, stop);
            if (!late) {
                if (late.error().code == core::ErrorCode::Timeout) {
                    return core::fail(core::ErrorCode::Timeout,
                                      "the emulator is still busy with an earlier request "
                                      "(answer or reject it on the device)");
                }
                return finish_failed(late.error(), stop);
            }
            --owed_replies_;
        }
        core::Bytes out(4 + command.size());
        const auto length = static_cast<std::uint32_t>(command.size());
        for (int i = 0; i < 4; ++i)
            out[i] = static_cast<std::uint8_t>(length >> (8 * (3 - i)));
        std::copy(command.begin(), command.end(), out.begin() + 4);
        if (auto sent = write_all(out, deadline, stop); !sent) {
            // A partly written command leaves the stream unusable.
            close_socket();
            return core::fail(sent.error());
        }
        ++owed_replies_;
        auto reply = read_reply(deadline, stop);
        if (!reply) return finish_failed(reply.error(), stop);
        --owed_replies_;
        return reply;
    }

    std::string describe() const override { return "speculos:" + where_; }

  private:
    core::Result<ApduReply> finish_failed(const core::Error& error, const std::stop_token& stop) {
        const bool cancelled = error.code == core::ErrorCode::Disconnected && stop.stop_requested();
        // A reply half read, or a broken one, leaves the stream out of step: end the channel.
        if ((!cancelled && error.code != core::ErrorCode::Timeout) || partial_) close_socket();
        return core::fail(error);
    }

    void close_socket() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    // Waits until fd_ is ready for `events`, the deadline passes (Timeout) or stop fires.
    core::Status wait(short events, Clock::time_point deadline, const std::stop_token& stop) {
        for (;;) {
            if (stop.stop_requested()) {
                return core::fail(core::ErrorCode::Disconnected, "the request was cancelled");
            }
            const auto now = Clock::now();
            if (now >= deadline) {
                return core::fail(core::ErrorCode::Timeout, "the emulator did not answer in time");
            }
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
            pollfd p{fd_, events, 0};
            const int ready = ::poll(
                &p, 1,
                static_cast<int>(std::min(left + milliseconds(1), kStopPollInterval).count()));
            if (ready < 0 && errno != EINTR) {
                return core::fail(core::ErrorCode::IoError,
                                  fmt::format("waiting on the emulator: {}", std::strerror(errno)));
            }
            if (ready > 0) return {};
        }
    }

    core::Status write_all(core::ByteView bytes, Clock::time_point deadline,
                           const std::stop_token& stop) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            KEYBRIDGE_TRY_STATUS(wait(POLLOUT, deadline, stop));
            const ssize_t n =
                ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
                return core::fail(
                    core::ErrorCode::Disconnected,
                    fmt::format("the emulator at {} went away ({})", where_, std::strerror(errno)));
            }
            done += static_cast<std::size_t>(n);
        }
        return {};
    }

    core::Status read_exact(std::uint8_t* out, std::size_t size, Clock::time_point deadline,
                            const std::stop_token& stop) {
        std::size_t done = 0;
        while (done < size) {
            KEYBRIDGE_TRY_STATUS(wait(POLLIN, deadline, stop));
            const ssize_t n = ::recv(fd_, out + done, size - done, MSG_DONTWAIT);
            if (n == 0) {
                return core::fail(core::ErrorCode::Disconnected,
                                  "the emulator at " + where_ + " closed the connection");
            }
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
                return core::fail(
                    core::ErrorCode::Disconnected,
                    fmt::format("the emulator at {} went away ({})", where_, std::strerror(errno)));
            }
            done += static_cast<std::size_t>(n);
            partial_ = true;
        }
        return {};
    }

    core::Result<ApduReply> read_reply(Clock::time_point deadline, const std::stop_token& stop) {
        partial_ = false;
        std::uint8_t header[4];
        KEYBRIDGE_TRY_STATUS(read_exact(header, 4, deadline, stop));
        const std::uint32_t length = (std::uint32_t{header[0]} << 24) |
                                     (std::uint32_t{header[1]} << 16) |
                                     (std::uint32_t{header[2]} << 8) | header[3];
        if (length > kMaxSpeculosReply) {
            partial_ = true;
            return core::fail(core::ErrorCode::ProtocolError,
                              fmt::format("the emulator announced a reply of {} bytes (at most {} "
                                          "accepted)",
                                          length, kMaxSpeculosReply));
        }
        ApduReply reply;
        reply.data.resize(length);
        KEYBRIDGE_TRY_STATUS(read_exact(reply.data.data(), length, deadline, stop));
        std::uint8_t status[2];
        KEYBRIDGE_TRY_STATUS(read_exact(status, 2, deadline, stop));
        reply.status = static_cast<std::uint16_t>((status[0] << 8) | status[1]);
        partial_ = false;
        return reply;
    }

    int fd_;
    std::string where_;
    int owed_replies_ = 0;
    bool partial_ = false;  // part of a reply has been read: the stream is mid-message
};

}  // namespace

core::Result<std::unique_ptr<ApduChannel>> open_speculos_channel(const std::string& host,
                                                                 std::uint16_t port,
                                                                 milliseconds connect_timeout) {
    const std::string where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
        rc != 0) {
        return core::fail(core::ErrorCode::DeviceNotFound,
                          fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
    }
    std::string last_error = "no address";
    int fd = -1;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            last_error = std::strerror(errno);
            continue;
        }
        int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            rc = ::poll(&p, 1, static_cast<int>(connect_timeout.count()));
            if (rc == 1) {
                int error = 0;
                socklen_t len = sizeof error;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
                rc = error == 0 ? 0 : -1;
                errno = error;
            } else {
                if (rc == 0) errno = ETIMEDOUT;
                rc = -1;
            }
        }
        if (rc != 0) {
            last_error = std::strerror(errno);
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd < 0) {
        return core::fail(core::ErrorCode::DeviceNotFound,
                          fmt::format("no emulator at {} ({})", where, last_error));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return std::unique_ptr<ApduChannel>(std::make_unique<SpeculosChannel>(fd, where));
}

}  // namespace keybridge::drivers::ledger
