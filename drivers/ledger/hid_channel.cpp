#include "drivers/ledger/hid_channel.h"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <hidapi/hidapi.h>

namespace keybridge::drivers::ledger {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A flush after a framing error drops reports until the device has been quiet this long.
constexpr milliseconds kFlushQuiet{20};

class FdReportDevice final : public HidReportDevice {
  public:
    explicit FdReportDevice(int fd) : fd_(fd) {}
    ~FdReportDevice() override {
        if (fd_ >= 0) ::close(fd_);
    }
    FdReportDevice(const FdReportDevice&) = delete;
    FdReportDevice& operator=(const FdReportDevice&) = delete;

    core::Status write(const Report& report) override {
        const ssize_t n = ::send(fd_, report.data(), report.size(), MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(report.size())) return {};
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)) {
            return core::fail(core::ErrorCode::Disconnected, "the HID peer closed the socket");
        }
        return core::fail(
            core::ErrorCode::IoError,
            fmt::format("writing a HID report: {}", n < 0 ? std::strerror(errno) : "short write"));
    }

    core::Result<core::Bytes> read(milliseconds timeout) override {
        pollfd p{fd_, POLLIN, 0};
        int ready = 0;
        do {
            ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
        } while (ready < 0 && errno == EINTR);
        if (ready < 0) {
            return core::fail(core::ErrorCode::IoError,
                              fmt::format("waiting for a HID report: {}", std::strerror(errno)));
        }
        if (ready == 0) return core::fail(core::ErrorCode::Timeout, "no HID report in time");
        // One byte more than a report, and MSG_TRUNC, so that an oversized packet is seen as such
        // (its real length comes back) instead of being cut to a plausible report.
        core::Bytes buffer(kReportSize + 1);
        const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC);
        if (n == 0) return core::fail(core::ErrorCode::Disconnected, "the HID peer went away");
        if (n < 0) {
            if (errno == ECONNRESET) {
                return core::fail(core::ErrorCode::Disconnected, "the HID peer went away");
            }
            return core::fail(core::ErrorCode::IoError,
                              fmt::format("reading a HID report: {}", std::strerror(errno)));
        }
        // An oversized packet keeps kReportSize + 1 bytes, which the framing refuses.
        buffer.resize(std::min(static_cast<std::size_t>(n), buffer.size()));
        return buffer;
    }

    std::string describe() const override { return fmt::format("hid-fd:{}", fd_); }

  private:
    int fd_;
};

std::string narrow(const wchar_t* text) {
    std::string out;
    if (text == nullptr) return out;
    for (; *text != L'\0'; ++text) {
        out.push_back(*text >= 0x20 && *text < 0x7f ? static_cast<char>(*text) : '?');
    }
    return out;
}

bool init_hidapi() {
    static const bool ok = hid_init() == 0;
    return ok;
}

class HidapiReportDevice final : public HidReportDevice {
  public:
    HidapiReportDevice(hid_device* device, std::string path)
        : device_(device), path_(std::move(path)) {}
    ~HidapiReportDevice() override { hid_close(device_); }
    HidapiReportDevice(const HidapiReportDevice&) = delete;
    HidapiReportDevice& operator=(const HidapiReportDevice&) = delete;

    core::Status write(const Report& report) override {
        // hidapi takes the report id first; Ledger devices use unnumbered reports (id 0).
        std::array<std::uint8_t, kReportSize + 1> out{};
        std::copy(report.begin(), report.end(), out.begin() + 1);
        const int n = hid_write(device_, out.data(), out.size());
        if (n < 0) {
            return core::fail(core::ErrorCode::Disconnected,
                              "the Ledger went away (" + narrow(hid_error(device_)) + ")");
        }
        return {};
    }

    core::Result<core::Bytes> read(milliseconds timeout) override {
        core::Bytes buffer(kReportSize + 1);
        const int n = hid_read_timeout(device_, buffer.data(), buffer.size(),
                                       static_cast<int>(timeout.count()));
        if (n < 0) {
            return core::fail(core::ErrorCode::Disconnected,
                              "the Ledger went away (" + narrow(hid_error(device_)) + ")");
        }
        if (n == 0) return core::fail(core::ErrorCode::Timeout, "no HID report in time");
        buffer.resize(static_cast<std::size_t>(n));
        return buffer;
    }

    std::string describe() const override { return "hid:" + path_; }

  private:
    hid_device* device_;
    std::string path_;
};

}  // namespace

std::unique_ptr<HidReportDevice> make_fd_report_device(int fd) {
    return std::make_unique<FdReportDevice>(fd);
}

core::Result<std::unique_ptr<HidReportDevice>> open_hidapi_device(const std::string& path) {
    if (!init_hidapi()) return core::fail(core::ErrorCode::IoError, "hidapi failed to start");
    if (::access(path.c_str(), F_OK) != 0) {
        return core::fail(core::ErrorCode::DeviceNotFound, "no Ledger at " + path);
    }
    errno = 0;
    hid_device* device = hid_open_path(path.c_str());
    if (device == nullptr) {
        const int error = errno;
        std::string reason = narrow(hid_error(nullptr));
        if (error == EACCES || error == EPERM) {
            reason =
                "permission denied: the udev rule for Ledger devices is not installed "
                "(see udev/README.md)";
        } else if (error == EBUSY) {
            reason = "another program holds the device (close Ledger Live or other wallets)";
        }
        return core::fail(core::ErrorCode::DeviceBusy,
                          fmt::format("cannot open the Ledger at {}: {}", path,
                                      reason.empty() ? std::strerror(error) : reason));
    }
    return std::unique_ptr<HidReportDevice>(std::make_unique<HidapiReportDevice>(device, path));
}

HidApduChannel::HidApduChannel(std::unique_ptr<HidReportDevice> device)
    : device_(std::move(device)) {}

std::string HidApduChannel::describe() const {
    return device_->describe();
}

void HidApduChannel::flush() {
    // Drops whatever the device still sends after broken framing, until it falls quiet.
    for (int i = 0; i < 4096; ++i) {
        auto report = device_->read(kFlushQuiet);
        if (!report) {
            if (report.error().code == core::ErrorCode::Disconnected) dead_ = true;
            break;
        }
    }
    needs_flush_ = false;
}

core::Result<core::Bytes> HidApduChannel::read_message(Clock::time_point deadline,
                                                       const std::stop_token& stop,
                                                       bool skip_garbage) {
    reassembler_.reset();
    for (;;) {
        if (stop.stop_requested()) {
            return core::fail(core::ErrorCode::Disconnected, "the request was cancelled");
        }
        const auto now = Clock::now();
        if (now >= deadline) {
            return core::fail(core::ErrorCode::Timeout, "the Ledger did not answer in time");
        }
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
        auto report = device_->read(std::min(left + milliseconds(1), kStopPollInterval));
        if (!report) {
            if (report.error().code == core::ErrorCode::Timeout) continue;
            return core::fail(report.error());
        }
        auto done = reassembler_.feed(*report);
        if (!done) {
            if (skip_garbage) {
                // Draining an abandoned reply: a leftover tail of it is not an error.
                reassembler_.reset();
                continue;
            }
            return core::fail(done.error());
        }
        if (*done) return reassembler_.message();
    }
}

core::Result<ApduReply> HidApduChannel::exchange(core::ByteView command, milliseconds timeout,
                                                 std::stop_token stop) {
    if (dead_) {
        return core::fail(core::ErrorCode::Disconnected,
                          "the Ledger at " + describe() + " was disconnected");
    }
    const auto deadline = Clock::now() + timeout;
    auto failed = [this, &stop](const core::Error& error) {
        // Disconnected is final, unless it only says that the stop token fired.
        if (error.code == core::ErrorCode::Disconnected && !stop.stop_requested()) dead_ = true;
        if (error.code == core::ErrorCode::ProtocolError) needs_flush_ = true;
        return core::fail(error);
    };
    if (needs_flush_) flush();
    while (owed_replies_ > 0) {
        auto late = read_message(deadline, stop, /*skip_garbage=*/true);
        if (!late) {
            if (late.error().code == core::ErrorCode::Timeout) {
                return core::fail(core::ErrorCode::Timeout,
                                  "the Ledger is still busy with an earlier request (answer or "
                                  "reject it on the device)");
            }
            return failed(late.error());
        }
        --owed_replies_;
    }
    auto reports = frame_apdu(command);
    if (!reports) return core::fail(reports.error());
    for (const Report& report : *reports) {
        if (auto written = device_->write(report); !written) return failed(written.error());
    }
    ++owed_replies_;
    auto message = read_message(deadline, stop, /*skip_garbage=*/false);
    if (!message) {
        // A framing error ends this reply (flushed next time); a timeout or a stop leaves it
        // owed, to be dropped when it comes.
        if (message.error().code == core::ErrorCode::ProtocolError) owed_replies_ = 0;
        return failed(message.error());
    }
    --owed_replies_;
    if (message->size() < 2) {
        return core::fail(
            core::ErrorCode::ProtocolError,
            fmt::format("Ledger HID: a reply of {} bytes has no status word", message->size()));
    }
    ApduReply reply;
    reply.status =
        static_cast<std::uint16_t>((message->at(message->size() - 2) << 8) | message->back());
    reply.data.assign(message->begin(), message->end() - 2);
    return reply;
}

core::Result<std::unique_ptr<ApduChannel>> open_hid_channel(const std::string& path) {
    auto device = open_hidapi_device(path);
    if (!device) return core::fail(device.error());
    return std::unique_ptr<ApduChannel>(std::make_unique<HidApduChannel>(std::move(*device)));
}

std::unique_ptr<ApduChannel> open_fd_hid_channel(int fd) {
    return std::make_unique<HidApduChannel>(make_fd_report_device(fd));
}

core::Result<std::vector<HidDeviceInfo>> enumerate_hid_devices() {
    if (!init_hidapi()) return core::fail(core::ErrorCode::IoError, "hidapi failed to start");
    // hidapi's enumeration keeps global state: one at a time.
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::vector<HidDeviceInfo> out;
    hid_device_info* list = hid_enumerate(kLedgerVendorId, 0);
    for (const hid_device_info* d = list; d != nullptr; d = d->next) {
        const bool apdu_interface =
            d->usage_page == kApduUsagePage || (d->usage_page == 0 && d->interface_number == 0);
        if (!apdu_interface || d->path == nullptr) continue;
        HidDeviceInfo info;
        info.path = d->path;
        info.vendor_id = d->vendor_id;
        info.product_id = d->product_id;
        info.interface_number = d->interface_number;
        info.usage_page = d->usage_page;
        info.serial = narrow(d->serial_number);
        info.model = model_from_product_id(d->product_id);
        out.push_back(std::move(info));
    }
    hid_free_enumeration(list);
    return out;
}

}  // namespace keybridge::drivers::ledger
