#include "drivers/trezor/usb_report_device.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <mutex>
#include <string_view>

#include <hidapi/hidapi.h>
#include <unistd.h>
#include <libusb-1.0/libusb.h>

namespace keybridge::drivers::trezor {
namespace {

using core::ErrorCode;

// Reads wait in short slices so that a stop request is seen promptly.
constexpr int kSliceMs = 50;
constexpr int kWriteTimeoutMs = 2000;
constexpr std::string_view kHidPrefix = "hid:";
constexpr std::string_view kWebUsbPrefix = "webusb:";
constexpr std::string_view kPermissionHint =
    " (no permission: install keybridge's udev rules, see udev/README.md)";

bool hid_ready() {
    static const bool ok = hid_init() == 0;
    return ok;
}

libusb_context* usb_context() {
    static libusb_context* context = [] {
        libusb_context* c = nullptr;
        return libusb_init(&c) == 0 ? c : nullptr;
    }();
    return context;
}

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
}

// Trezor One, HID: hidapi wants the report id (0) in front of each 64-byte report written.
class HidReportDevice final : public ReportDevice {
  public:
    HidReportDevice(hid_device* device, std::string path)
        : device_(device), path_(std::move(path)) {}
    ~HidReportDevice() override { hid_close(device_); }
    HidReportDevice(const HidReportDevice&) = delete;
    HidReportDevice& operator=(const HidReportDevice&) = delete;

    core::Status write(const Report& report) override {
        std::array<unsigned char, kReportSize + 1> buffer{};
        std::copy(report.begin(), report.end(), buffer.begin() + 1);
        if (hid_write(device_, buffer.data(), buffer.size()) < 0) {
            return core::fail(ErrorCode::Disconnected, describe() + ": write failed");
        }
        return {};
    }

    core::Result<Report> read(std::chrono::milliseconds timeout,
                              const std::stop_token& stop) override {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (stop.stop_requested()) {
                return core::fail(ErrorCode::Disconnected, "the request was stopped");
            }
            const auto left = left_until(deadline);
            if (left.count() <= 0) {
                return core::fail(ErrorCode::Timeout, describe() + " did not answer");
            }
            Report report{};
            const int n =
                hid_read_timeout(device_, report.data(), report.size(),
                                 static_cast<int>(std::min<long>(left.count(), kSliceMs)));
            if (n < 0) return core::fail(ErrorCode::Disconnected, describe() + " was unplugged");
            if (n == static_cast<int>(kReportSize)) return report;
        }
    }

    std::string describe() const override { return "hid:" + path_; }

  private:
    hid_device* device_;
    std::string path_;
};

// WebUSB: interface 0, interrupt OUT 0x01 / IN 0x81, 64-byte transfers.
class WebUsbReportDevice final : public ReportDevice {
  public:
    WebUsbReportDevice(libusb_device_handle* handle, std::string path)
        : handle_(handle), path_(std::move(path)) {}
    ~WebUsbReportDevice() override {
        libusb_release_interface(handle_, kWalletInterface);
        libusb_close(handle_);
    }
    WebUsbReportDevice(const WebUsbReportDevice&) = delete;
    WebUsbReportDevice& operator=(const WebUsbReportDevice&) = delete;

    core::Status write(const Report& report) override {
        Report copy = report;
        int sent = 0;
        const int rc =
            libusb_interrupt_transfer(handle_, kEndpointOut, copy.data(),
                                      static_cast<int>(copy.size()), &sent, kWriteTimeoutMs);
        if (rc != 0 || sent != static_cast<int>(copy.size())) {
            return core::fail(ErrorCode::Disconnected,
                              describe() + ": write failed (" + libusb_error_name(rc) + ")");
        }
        return {};
    }

    core::Result<Report> read(std::chrono::milliseconds timeout,
                              const std::stop_token& stop) override {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (stop.stop_requested()) {
                return core::fail(ErrorCode::Disconnected, "the request was stopped");
            }
            const auto left = left_until(deadline);
            if (left.count() <= 0) {
                return core::fail(ErrorCode::Timeout, describe() + " did not answer");
            }
            Report report{};
            int got = 0;
            const int rc = libusb_interrupt_transfer(
                handle_, kEndpointIn, report.data(), static_cast<int>(report.size()), &got,
                static_cast<unsigned>(std::min<long>(left.count(), kSliceMs)));
            if (rc == LIBUSB_ERROR_TIMEOUT || rc == LIBUSB_ERROR_INTERRUPTED) continue;
            if (rc != 0) {
                return core::fail(ErrorCode::Disconnected,
                                  describe() + ": " + libusb_error_name(rc));
            }
            if (got == static_cast<int>(kReportSize)) return report;
        }
    }

    std::string describe() const override { return path_; }

  private:
    libusb_device_handle* handle_;
    std::string path_;
};

core::Result<std::pair<int, int>> parse_bus_address(std::string_view text) {
    const auto colon = text.find(':');
    int bus = 0;
    int address = 0;
    if (colon == std::string_view::npos) {
        return core::fail(ErrorCode::InvalidArgument, "expected webusb:BUS:ADDRESS");
    }
    auto a = std::from_chars(text.data(), text.data() + colon, bus);
    auto b = std::from_chars(text.data() + colon + 1, text.data() + text.size(), address);
    if (a.ec != std::errc() || a.ptr != text.data() + colon || b.ec != std::errc() ||
        b.ptr != text.data() + text.size()) {
        return core::fail(ErrorCode::InvalidArgument, "expected webusb:BUS:ADDRESS");
    }
    return std::pair{bus, address};
}

core::Result<std::unique_ptr<ReportDevice>> open_webusb(const std::string& path) {
    auto where = parse_bus_address(std::string_view(path).substr(kWebUsbPrefix.size()));
    if (!where) return tl::unexpected(where.error());
    libusb_context* context = usb_context();
    if (context == nullptr) return core::fail(ErrorCode::IoError, "libusb cannot start");
    libusb_device** list = nullptr;
    const ssize_t count = libusb_get_device_list(context, &list);
    libusb_device* found = nullptr;
    for (ssize_t i = 0; i < count; ++i) {
        if (libusb_get_bus_number(list[i]) == where->first &&
            libusb_get_device_address(list[i]) == where->second) {
            libusb_device_descriptor descriptor{};
            if (libusb_get_device_descriptor(list[i], &descriptor) == 0 &&
                find_trezor_usb_id(descriptor.idVendor, descriptor.idProduct) != nullptr) {
                found = libusb_ref_device(list[i]);
            }
        }
    }
    if (list != nullptr) libusb_free_device_list(list, 1);
    if (found == nullptr) {
        return core::fail(ErrorCode::DeviceNotFound, path + " is not connected");
    }
    libusb_device_handle* handle = nullptr;
    const int rc = libusb_open(found, &handle);
    libusb_unref_device(found);
    if (rc == LIBUSB_ERROR_ACCESS) {
        return core::fail(ErrorCode::IoError, "cannot open " + path + std::string(kPermissionHint));
    }
    if (rc != 0) return core::fail(ErrorCode::DeviceNotFound, path + ": " + libusb_error_name(rc));
    const int claimed = libusb_claim_interface(handle, kWalletInterface);
    if (claimed != 0) {
        libusb_close(handle);
        if (claimed == LIBUSB_ERROR_BUSY) {
            return core::fail(
                ErrorCode::DeviceBusy,
                path + " is held by another program (Trezor Suite or Trezor Bridge?)");
        }
        return core::fail(ErrorCode::IoError, path + ": " + libusb_error_name(claimed));
    }
    return std::unique_ptr<ReportDevice>(new WebUsbReportDevice(handle, path));
}

}  // namespace

core::Result<std::vector<UsbTrezor>> enumerate_usb_trezors() {
    std::vector<UsbTrezor> found;
    const bool hid = hid_ready();
    if (hid) {
        for (const auto& id : trezor_usb_ids()) {
            if (id.kind != UsbKind::Hid) continue;
            hid_device_info* list = hid_enumerate(id.vendor_id, id.product_id);
            for (hid_device_info* d = list; d != nullptr; d = d->next) {
                // Interface 1 of the Trezor One is U2F; the wallet speaks on interface 0.
                if (d->interface_number != kWalletInterface && d->usage_page != 0xff00) continue;
                UsbTrezor t;
                t.path = std::string(kHidPrefix) + d->path;
                t.kind = UsbKind::Hid;
                if (d->serial_number != nullptr) {
                    for (const wchar_t* c = d->serial_number; *c != 0; ++c) {
                        if (*c < 0x80) t.serial.push_back(static_cast<char>(*c));
                    }
                }
                found.push_back(std::move(t));
            }
            hid_free_enumeration(list);
        }
    }
    libusb_context* context = usb_context();
    if (context != nullptr) {
        libusb_device** list = nullptr;
        const ssize_t count = libusb_get_device_list(context, &list);
        for (ssize_t i = 0; i < count; ++i) {
            libusb_device_descriptor descriptor{};
            if (libusb_get_device_descriptor(list[i], &descriptor) != 0) continue;
            const TrezorUsbId* id = find_trezor_usb_id(descriptor.idVendor, descriptor.idProduct);
            if (id == nullptr || id->kind != UsbKind::WebUsb) continue;
            UsbTrezor t;
            t.path = std::string(kWebUsbPrefix) + std::to_string(libusb_get_bus_number(list[i])) +
                     ":" + std::to_string(libusb_get_device_address(list[i]));
            t.kind = UsbKind::WebUsb;
            t.bootloader = id->bootloader;
            found.push_back(std::move(t));
        }
        if (list != nullptr) libusb_free_device_list(list, 1);
    }
    if (!hid && context == nullptr) {
        return core::fail(ErrorCode::IoError, "neither hidapi nor libusb can start");
    }
    return found;
}

core::Result<std::unique_ptr<ReportDevice>> open_usb_trezor(const std::string& path) {
    if (path.starts_with(kWebUsbPrefix)) return open_webusb(path);
    if (!path.starts_with(kHidPrefix)) {
        return core::fail(ErrorCode::InvalidArgument,
                          "a Trezor USB path starts with hid: or webusb:, not '" + path + "'");
    }
    if (!hid_ready()) return core::fail(ErrorCode::IoError, "hidapi cannot start");
    const std::string node = path.substr(kHidPrefix.size());
    hid_device* device = hid_open_path(node.c_str());
    if (device == nullptr) {
        // hidraw nodes that exist but cannot be opened are a permission problem.
        if (::access(node.c_str(), F_OK) == 0) {
            return core::fail(ErrorCode::IoError,
                              "cannot open " + path + std::string(kPermissionHint));
        }
        return core::fail(ErrorCode::DeviceNotFound, path + " is not connected");
    }
    return std::unique_ptr<ReportDevice>(new HidReportDevice(device, node));
}

}  // namespace keybridge::drivers::trezor
