#include "tests/tools/trezor_sim/sim_server.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <sstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/message_types.h"

namespace keybridge::trezor_sim {
namespace {

int bind_udp(std::uint16_t port, std::uint16_t* bound) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    *bound = ntohs(address.sin_port);
    return fd;
}

}  // namespace

SimServer::SimServer(std::shared_ptr<SimDevice> device, std::uint16_t port)
    : device_(std::move(device)), port_(port) {}

SimServer::~SimServer() {
    stop();
}

bool SimServer::start() {
    fd_ = bind_udp(port_, &port_);
    if (fd_ < 0) return false;
    control_fd_ = bind_udp(static_cast<std::uint16_t>(port_ == 0 ? 0 : port_ + 1), &control_port_);
    if (control_fd_ < 0) control_fd_ = bind_udp(0, &control_port_);
    if (control_fd_ < 0 || ::pipe2(wake_, O_CLOEXEC) != 0) return false;
    thread_ = std::thread([this] { run(); });
    return true;
}

void SimServer::stop() {
    if (thread_.joinable()) {
        const char byte = 'x';
        [[maybe_unused]] auto n = ::write(wake_[1], &byte, 1);
        thread_.join();
    }
    for (int* fd : {&fd_, &control_fd_, &wake_[0], &wake_[1]}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
}

std::string SimServer::control(const std::string& command) {
    std::istringstream in(command);
    std::string verb, argument;
    in >> verb >> argument;
    if (verb == "answer" && (argument == "approve" || argument == "reject")) {
        device_->set_answer(argument == "approve" ? UserAnswer::Approve : UserAnswer::Reject);
        return "ok";
    }
    if (verb == "delay" && !argument.empty()) {
        device_->set_delay(std::chrono::milliseconds(std::stol(argument)));
        return "ok";
    }
    if (verb == "lock") {
        device_->lock();
        return "ok";
    }
    if (verb == "matrix") return device_->matrix();
    if (verb == "positions") return device_->positions_for(argument);
    if (verb == "buttons") return std::to_string(device_->button_requests());
    return "error: unknown command";
}

void SimServer::run() {
    SimAssembler assembler;
    SimAssembler debug_assembler;
    sockaddr_storage host{};
    socklen_t host_length = 0;
    // Replies of a slow person wait here until they are due (or a Cancel replaces them).
    std::optional<SimStep> pending;
    auto due = std::chrono::steady_clock::now();

    auto send_message = [&](const SimMessage& message) {
        for (const auto& report : to_reports(message)) {
            ::sendto(fd_, report.data(), report.size(), 0, reinterpret_cast<sockaddr*>(&host),
                     host_length);
        }
    };
    auto deliver = [&](SimStep step) {
        if (step.delay.count() > 0) {
            pending = std::move(step);
            due = std::chrono::steady_clock::now() + pending->delay;
            return;
        }
        for (const auto& message : step.replies)
            send_message(message);
    };

    for (;;) {
        pollfd fds[3] = {{fd_, POLLIN, 0}, {control_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        int timeout = -1;
        if (pending) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                due - std::chrono::steady_clock::now());
            timeout = static_cast<int>(std::max<long>(0, left.count()));
        }
        ::poll(fds, 3, timeout);
        if (fds[2].revents != 0) return;
        if (pending && std::chrono::steady_clock::now() >= due) {
            SimStep step = std::move(*pending);
            pending.reset();
            for (const auto& message : step.replies)
                send_message(message);
        }
        if ((fds[1].revents & POLLIN) != 0) {
            char buffer[256];
            sockaddr_storage from{};
            socklen_t from_length = sizeof from;
            const ssize_t n = ::recvfrom(control_fd_, buffer, sizeof buffer, 0,
                                         reinterpret_cast<sockaddr*>(&from), &from_length);
            if (n == 64 && buffer[0] == '?') {
                // DebugLink, framed like the wallet link: DebugLinkDecision (100) presses a
                // button; field 1 (yes_no on the One, button on newer firmware) 1 means yes.
                auto message =
                    debug_assembler.push(reinterpret_cast<const std::uint8_t*>(buffer), 64);
                if (message && message->type == 100) {
                    const bool yes = message->payload == std::string("\x08\x01", 2);
                    if (host_length > 0) deliver(device_->decision(yes));
                }
            } else if (n > 0) {
                const std::string answer =
                    control(std::string(buffer, static_cast<std::size_t>(n)));
                ::sendto(control_fd_, answer.data(), answer.size(), 0,
                         reinterpret_cast<sockaddr*>(&from), from_length);
            }
        }
        if ((fds[0].revents & POLLIN) != 0) {
            std::uint8_t buffer[128];
            sockaddr_storage from{};
            socklen_t from_length = sizeof from;
            const ssize_t n = ::recvfrom(fd_, buffer, sizeof buffer, 0,
                                         reinterpret_cast<sockaddr*>(&from), &from_length);
            if (n <= 0 || unplugged_) continue;
            host = from;
            host_length = from_length;
            if (n == 8 && std::memcmp(buffer, "PINGPING", 8) == 0) {
                ::sendto(fd_, "PONGPONG", 8, 0, reinterpret_cast<sockaddr*>(&host), host_length);
                continue;
            }
            auto message = assembler.push(buffer, static_cast<std::size_t>(n));
            if (!message) continue;
            if (pending) {
                // The person is still pressing; only a Cancel (or a new session) gets through.
                if (message->type == trezor::kWireId<trezor::Cancel> ||
                    message->type == trezor::kWireId<trezor::Initialize>) {
                    pending.reset();
                    if (message->type == trezor::kWireId<trezor::Cancel>) {
                        send_message(device_->cancel());
                        continue;
                    }
                } else {
                    continue;
                }
            }
            deliver(device_->handle(*message));
        }
    }
}

}  // namespace keybridge::trezor_sim
