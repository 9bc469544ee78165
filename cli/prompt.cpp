#include "cli/prompt.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>

namespace keybridge::cli {
namespace {

using core::ErrorCode;
using core::fail;
using core::SecretBuffer;

constexpr std::size_t kMaxSecret = 64 * 1024;

// Reads up to a newline (or EOF) from fd into a secret buffer, without any std::string copy.
core::Result<SecretBuffer> read_line_secret(int fd, const std::string& what) {
    SecretBuffer buffer(kMaxSecret);
    std::size_t used = 0;
    while (used < buffer.size()) {
        char c = 0;
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(ErrorCode::IoError, "cannot read " + what + ": " + std::strerror(errno));
        }
        if (n == 0 || c == '\n') break;
        buffer.data()[used++] = static_cast<std::uint8_t>(c);
    }
    if (used == buffer.size()) return fail(ErrorCode::OutOfRange, what + " is too long");
    if (used > 0 && buffer.data()[used - 1] == '\r') --used;
    buffer.truncate(used);
    return buffer;
}

class Tty {
  public:
    Tty() : fd_(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) {}
    ~Tty() {
        if (fd_ >= 0) ::close(fd_);
    }
    Tty(const Tty&) = delete;
    Tty& operator=(const Tty&) = delete;
    int fd() const { return fd_; }
    void write(const std::string& text) const {
        if (::write(fd_, text.data(), text.size()) < 0) {
            // Nothing sensible to do: the read that follows reports a dead terminal.
        }
    }

  private:
    int fd_;
};

// While echo is off, a Ctrl-C (or a hang-up or kill) would end the process and leave the user's
// terminal silent. These handlers put the saved terminal state back, then let the signal do what
// it would have done. Only async-signal-safe calls (tcsetattr, sigaction, raise) are used.
volatile std::sig_atomic_t g_echo_off_fd = -1;
termios g_saved_termios{};  // written before g_echo_off_fd is set
constexpr std::array<int, 4> kFatalSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void restore_terminal_and_reraise(int sig) {
    if (g_echo_off_fd >= 0) ::tcsetattr(g_echo_off_fd, TCSANOW, &g_saved_termios);
    // SA_RESETHAND made the disposition the default again; the signal is blocked until this
    // handler returns, then delivered with its default effect.
    ::raise(sig);
}

// Installs the handlers for the lifetime of the object; signals that were ignored stay ignored.
class EchoOffGuard {
  public:
    EchoOffGuard(int fd, const termios& saved) {
        g_saved_termios = saved;
        g_echo_off_fd = fd;
        struct sigaction action {};
        action.sa_handler = restore_terminal_and_reraise;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND;
        for (std::size_t i = 0; i < kFatalSignals.size(); ++i) {
            ::sigaction(kFatalSignals[i], nullptr, &previous_[i]);
            if (previous_[i].sa_handler != SIG_IGN) ::sigaction(kFatalSignals[i], &action, nullptr);
        }
    }
    ~EchoOffGuard() {
        for (std::size_t i = 0; i < kFatalSignals.size(); ++i)
            ::sigaction(kFatalSignals[i], &previous_[i], nullptr);
        g_echo_off_fd = -1;
    }
    EchoOffGuard(const EchoOffGuard&) = delete;
    EchoOffGuard& operator=(const EchoOffGuard&) = delete;

  private:
    std::array<struct sigaction, kFatalSignals.size()> previous_{};
};

}  // namespace

core::Result<SecretBuffer> prompt_secret(const std::string& prompt,
                                         const std::string& file_option) {
    Tty tty;
    if (tty.fd() < 0) {
        return fail(ErrorCode::IoError,
                    "no terminal to ask on; pass --" + file_option + " FILE instead");
    }
    termios saved{};
    const bool is_terminal = ::tcgetattr(tty.fd(), &saved) == 0;
    std::optional<EchoOffGuard> guard;
    if (is_terminal) {
        guard.emplace(tty.fd(), saved);  // before echo goes off
        termios silent = saved;
        silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        silent.c_lflag |= ECHONL;
        ::tcsetattr(tty.fd(), TCSAFLUSH, &silent);
    }
    tty.write(prompt);
    auto secret = read_line_secret(tty.fd(), "the answer");
    if (is_terminal) ::tcsetattr(tty.fd(), TCSAFLUSH, &saved);
    return secret;
}

core::Result<std::string> prompt_line(const std::string& prompt) {
    Tty tty;
    if (tty.fd() < 0) {
        return fail(ErrorCode::IoError, "no terminal to ask on; pass --yes to skip questions");
    }
    tty.write(prompt);
    auto line = read_line_secret(tty.fd(), "the answer");
    if (!line) return fail(line.error());
    return std::string(line->text());
}

core::Result<bool> confirm(const std::string& question) {
    if (!have_terminal()) {
        return fail(ErrorCode::IoError,
                    "no terminal to ask \"" + question + "\"; pass --yes to answer yes");
    }
    auto answer = prompt_line(question + " [y/N] ");
    if (!answer) return fail(answer.error());
    return *answer == "y" || *answer == "Y" || *answer == "yes";
}

bool have_terminal() {
    Tty tty;
    return tty.fd() >= 0;
}

void tell(const std::string& text) {
    Tty tty;
    if (tty.fd() >= 0) tty.write(text);
}

}  // namespace keybridge::cli
