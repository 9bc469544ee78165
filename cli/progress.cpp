#include "cli/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string_view>

namespace keybridge::cli {
namespace {

using namespace std::chrono_literals;

constexpr auto kProgressDelay = 500ms;
constexpr auto kFrameInterval = 120ms;
// Braille spinner frames (U+280B ...): one terminal cell each.
constexpr std::array<std::string_view, 10> kFrames = {"\u280b", "\u2819", "\u2839", "\u2838",
                                                      "\u283c", "\u2834", "\u2826", "\u2827",
                                                      "\u2807", "\u280f"};

void write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n <= 0) return;  // a dead terminal: the spinner is only decoration
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

Progress::Progress(bool enabled, std::string text) : text_(std::move(text)) {
    if (!enabled) return;
    fd_ = ::open("/dev/tty", O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) return;
    thread_ = std::thread([this] { spin(); });
}

Progress::~Progress() {
    if (thread_.joinable()) {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    if (fd_ >= 0) ::close(fd_);
}

void Progress::spin() {
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, kProgressDelay, [this] { return done_; })) return;
    for (std::size_t frame = 0;; ++frame) {
        const std::string line =
            "\r" + std::string(kFrames[frame % kFrames.size()]) + " " + text_ + "\u2026";
        write_all(fd_, line);
        if (wake_.wait_for(lock, kFrameInterval, [this] { return done_; })) break;
    }
    // Erase the spinner's line so the next prompt or message starts clean.
    write_all(fd_, "\r\x1b[K");
}

}  // namespace keybridge::cli
