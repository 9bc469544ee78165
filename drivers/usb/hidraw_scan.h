#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace keybridge::drivers::usb {

// One hidraw node as the kernel describes it in sysfs (no device is opened).
struct HidrawNode {
    std::string name;  // "hidraw3"
    std::string node;  // "/dev/hidraw3"
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    int interface = -1;   // USB interface number; -1 when sysfs does not say (not USB)
    std::string product;  // HID_NAME: "Ledger Nano S Plus"
    std::string serial;   // HID_UNIQ; often empty
};

// Where scan_hidraw looks: the kernel's folders, or a copy of them in tests.
struct SysfsRoots {
    std::string hidraw_class = "/sys/class/hidraw";  // hidrawN/device/uevent
    std::string dev = "/dev";                        // the nodes
};

// Every hidraw node whose uevent names a USB or Bluetooth HID device, in name order. Reads
// /sys/class/hidraw/*/device/uevent (HID_ID=BUS:VENDOR:PRODUCT, HID_NAME, HID_UNIQ) and the USB
// interface's bInterfaceNumber beside it: cheap (a few small files), no device round trip, so
// the daemon may call it every second. Nodes that vanish meanwhile are skipped; a missing class
// folder (no hidraw driver loaded) gives an empty list.
std::vector<HidrawNode> scan_hidraw(const SysfsRoots& roots = {});

}  // namespace keybridge::drivers::usb
