#include "tests/tools/ledger_sim/transports.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>

namespace keybridge::tests::ledger_sim {

// ---- HID framing ----

namespace hid {

std::vector<Report> frame(ByteView message) {
    std::vector<Report> reports;
    std::size_t sent = 0;
    std::uint16_t sequence = 0;
    do {
        Report r{};
        r[0] = kChannel >> 8;
        r[1] = kChannel & 0xff;
        r[2] = kTag;
        r[3] = static_cast<std::uint8_t>(sequence >> 8);
        r[4] = static_cast<std::uint8_t>(sequence & 0xff);
        std::size_t at = 5;
        if (sequence == 0) {
            r[5] = static_cast<std::uint8_t>(message.size() >> 8);
            r[6] = static_cast<std::uint8_t>(message.size() & 0xff);
            at = 7;
        }
        std::size_t n = std::min(kReportSize - at, message.size() - sent);
        std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(sent), n,
                    r.begin() + static_cast<std::ptrdiff_t>(at));
        sent += n;
        ++sequence;
        reports.push_back(r);
    } while (sent < message.size());
    return reports;
}

core::Result<std::optional<Bytes>> Reassembler::feed(ByteView report) {
    auto restart = [&](std::string why) -> core::Result<std::optional<Bytes>> {
        message_.clear();
        expected_ = 0;
        next_sequence_ = 0;
        return core::fail(core::ErrorCode::ProtocolError, std::move(why));
    };
    if (report.size() != kReportSize)
        return restart("report of " + std::to_string(report.size()) + " bytes, expected 64");
    const std::uint16_t channel = static_cast<std::uint16_t>((report[0] << 8) | report[1]);
    if (channel != kChannel) return restart("report on channel " + std::to_string(channel));
    if (report[2] != kTag) return restart("report with tag " + std::to_string(report[2]));
    const std::uint16_t sequence = static_cast<std::uint16_t>((report[3] << 8) | report[4]);
    if (sequence != next_sequence_)
        return restart("report " + std::to_string(sequence) + " out of sequence (expected " +
                       std::to_string(next_sequence_) + ")");
    std::size_t at = 5;
    if (sequence == 0) {
        expected_ = (std::size_t{report[5]} << 8) | report[6];
        message_.clear();
        at = 7;
    }
    std::size_t n = std::min(kReportSize - at, expected_ - message_.size());
    message_.insert(message_.end(), report.begin() + static_cast<std::ptrdiff_t>(at),
                    report.begin() + static_cast<std::ptrdiff_t>(at + n));
    ++next_sequence_;
    if (message_.size() < expected_) return std::optional<Bytes>();
    Bytes done = std::move(message_);
    message_.clear();
    expected_ = 0;
    next_sequence_ = 0;
    return std::optional<Bytes>(std::move(done));
}

}  // namespace hid

void serve_hid(int fd, EthApp& app) {
    hid::Reassembler reassembler;
    std::uint8_t buffer[hid::kReportSize + 1];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        ByteView report(buffer, static_cast<std::size_t>(n));
        // hidapi writes put a report id (0) in front; a device never sees it, but accept it
        // from hosts that pass it through.
        if (report.size() == hid::kReportSize + 1 && report[0] == 0) report = report.subspan(1);
        auto fed = reassembler.feed(report);
        if (!fed) {
            std::cerr << "ledger_sim hid: dropped: " << fed.error().detail << "\n";
            continue;
        }
        if (!*fed) continue;
        Bytes answer = app.exchange(**fed);
        for (const auto& r : hid::frame(answer)) {
            ssize_t w;
            do {
                w = ::write(fd, r.data(), r.size());
            } while (w < 0 && errno == EINTR);
            if (w != static_cast<ssize_t>(r.size())) return;
        }
    }
}

// ---- Speculos APDU TCP ----

namespace {

// Reads exactly n bytes unless the peer closes, an error occurs, or wake_fd becomes readable.
bool read_exact(int fd, int wake_fd, std::uint8_t* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
        int ready = ::poll(fds, 2, -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0 || (fds[1].revents & POLLIN)) return false;
        ssize_t r = ::read(fd, out + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

bool write_all(int fd, const Bytes& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        ssize_t w = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        sent += static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

core::Result<std::unique_ptr<ApduTcpServer>> ApduTcpServer::start(EthApp& app, User& user,
                                                                  std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::fail(core::ErrorCode::IoError, std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 8) != 0) {
        std::string why = std::strerror(errno);
        ::close(fd);
        return core::fail(core::ErrorCode::IoError,
                          "cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    auto server =
        std::unique_ptr<ApduTcpServer>(new ApduTcpServer(app, user, fd, ntohs(addr.sin_port)));
    if (::pipe2(server->wake_, O_CLOEXEC) != 0)
        return core::fail(core::ErrorCode::IoError, std::strerror(errno));
    server->thread_ = std::thread([s = server.get()] { s->run(); });
    return server;
}

ApduTcpServer::ApduTcpServer(EthApp& app, User& user, int listen_fd, std::uint16_t port)
    : app_(app), user_(user), listen_fd_(listen_fd), port_(port) {}

ApduTcpServer::~ApduTcpServer() {
    stopping_ = true;
    user_.cancel();
    if (wake_[1] >= 0) {
        std::uint8_t b = 1;
        [[maybe_unused]] auto w = ::write(wake_[1], &b, 1);
    }
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
    if (wake_[0] >= 0) ::close(wake_[0]);
    if (wake_[1] >= 0) ::close(wake_[1]);
}

void ApduTcpServer::unplug() {
    // The connection is marked gone before the prompt is released, so the answer the app then
    // produces is never sent.
    int fd = client_fd_.exchange(-1);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    user_.cancel();
}

void ApduTcpServer::run() {
    while (!stopping_) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        int ready = ::poll(fds, 2, -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0 || (fds[1].revents & POLLIN)) return;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        client_fd_ = fd;
        serve_client(fd);
        client_fd_ = -1;
        ::close(fd);
    }
}

void ApduTcpServer::serve_client(int fd) {
    for (;;) {
        std::uint8_t head[4];
        if (!read_exact(fd, wake_[0], head, 4)) return;
        const std::size_t length = (std::size_t{head[0]} << 24) | (std::size_t{head[1]} << 16) |
                                   (std::size_t{head[2]} << 8) | head[3];
        if (length > 4 + 1 + 255 + 1) return;  // no APDU is that long: not a Speculos client
        Bytes apdu(length);
        if (length > 0 && !read_exact(fd, wake_[0], apdu.data(), length)) return;
        Bytes answer = app_.exchange(apdu);
        if (client_fd_.load() != fd || stopping_) return;
        // The reply and its framing go out in one write: hw-transport-node-speculos decodes
        // each 'data' event as one whole reply.
        const std::size_t data_length = answer.size() - 2;
        Bytes out{static_cast<std::uint8_t>(data_length >> 24),
                  static_cast<std::uint8_t>(data_length >> 16),
                  static_cast<std::uint8_t>(data_length >> 8),
                  static_cast<std::uint8_t>(data_length)};
        out.insert(out.end(), answer.begin(), answer.end());
        if (!write_all(fd, out)) return;
    }
}

// ---- control protocol ----

namespace {

// An optional status word written as 4 hex digits ("6982"); empty text is fine (no change).
std::optional<std::uint16_t> status_word(const std::string& text) {
    if (text.empty()) return std::uint16_t{0};
    if (text.size() != 4) return std::nullopt;
    for (char ch : text) {
        if (!std::isxdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    }
    return static_cast<std::uint16_t>(std::stoul(text, nullptr, 16));
}

}  // namespace

std::string control_command(EthApp& app, User& user, ApduTcpServer* server, std::string_view line) {
    std::istringstream in{std::string(line)};
    std::string command;
    std::string argument;
    in >> command;
    in >> argument;
    std::string extra;  // only "open NAME SW" has a third word
    in >> extra;
    std::string more;
    if (in >> more || (!extra.empty() && command != "open")) return "error too many words";
    auto no_argument = [&] { return argument.empty(); };

    if ((command == "approve" || command == "reject" || command == "hold") && no_argument()) {
        user.set_mode(command == "approve"  ? UserMode::Approve
                      : command == "reject" ? UserMode::Reject
                                            : UserMode::Hold);
        return "ok";
    }
    if (command == "press" && (argument == "approve" || argument == "reject")) {
        user.press(argument == "approve" ? UserAnswer::Approve : UserAnswer::Reject);
        return "ok";
    }
    if (command == "wait-prompt") {
        long ms = 5000;
        if (!argument.empty()) {
            char* end = nullptr;
            ms = std::strtol(argument.c_str(), &end, 10);
            if (*end != '\0' || ms < 0) return "error wait-prompt takes milliseconds";
        }
        auto text = user.wait_for_prompt(std::chrono::milliseconds(ms));
        return text ? "ok " + *text : "error timeout";
    }
    if (command == "unlock" && no_argument()) {
        app.update_config([&](Config& c) { c.state = DeviceState::Ready; });
        return "ok";
    }
    if (command == "lock" || command == "dashboard") {
        auto sw = status_word(argument);
        if (!sw) return "error the status word is 4 hex digits";
        app.update_config([&](Config& c) {
            c.state = command == "lock" ? DeviceState::Locked : DeviceState::Dashboard;
            if (!argument.empty()) (command == "lock" ? c.locked_status : c.dashboard_status) = *sw;
        });
        return "ok";
    }
    if (command == "open" && !argument.empty()) {
        auto sw = status_word(extra);
        if (!sw) return "error the status word is 4 hex digits";
        app.update_config([&](Config& c) {
            if (argument == "ethereum" || argument == "Ethereum") {
                c.state = DeviceState::Ready;
            } else {
                c.state = DeviceState::OtherApp;
                c.other_app = argument;
                if (!extra.empty()) c.other_app_status = *sw;
            }
        });
        return "ok";
    }
    if (command == "blind" && (argument == "on" || argument == "off")) {
        app.update_config([&](Config& c) { c.blind_signing = argument == "on"; });
        return "ok";
    }
    if (command == "cal-test-key" && (argument == "on" || argument == "off")) {
        app.update_config([&](Config& c) { c.trust_cal_test_key = argument == "on"; });
        return "ok";
    }
    if (command == "version") {
        auto version = AppVersion::parse(argument);
        if (!version) return "error " + version.error().detail;
        app.update_config([&](Config& c) { c.version = *version; });
        return "ok";
    }
    if (command == "unplug" && no_argument()) {
        if (!server) return "error no APDU server to unplug";
        server->unplug();
        return "ok";
    }
    if (command == "status" && no_argument()) {
        Config c = app.config();
        std::string mode = user.mode() == UserMode::Approve  ? "approve"
                           : user.mode() == UserMode::Reject ? "reject"
                                                             : "hold";
        return "ok state=" + std::string(to_string(c.state)) +
               " app=" + (c.state == DeviceState::OtherApp ? c.other_app : "Ethereum") +
               " version=" + c.version.to_string() + " blind=" + (c.blind_signing ? "on" : "off") +
               " user=" + mode + " waiting=" + (user.waiting() ? "yes" : "no") +
               " prompts=" + std::to_string(user.prompts().size()) +
               " apdus=" + std::to_string(app.apdu_count()) +
               " interrupted=" + std::to_string(app.interrupted_flows());
    }
    if (command == "last-prompt" && no_argument()) {
        auto prompts = user.prompts();
        if (prompts.empty()) return "error none";
        return "ok " + prompts.back();
    }
    return "error unknown command: " + std::string(line);
}

}  // namespace keybridge::tests::ledger_sim
