#include "drivers/usb/hidraw_scan.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace keybridge::drivers::usb {
namespace {

// A sysfs attribute's first line, or "" when it cannot be read.
std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (in) std::getline(in, line);
    return line;
}

// "0003:00002C97:00005011" → bus, vendor, product. False for anything else.
bool parse_hid_id(const std::string& text, unsigned& bus, std::uint16_t& vendor,
                  std::uint16_t& product) {
    const auto first = text.find(':');
    const auto second = text.find(':', first == std::string::npos ? 0 : first + 1);
    if (first == std::string::npos || second == std::string::npos) return false;
    auto number = [](const std::string& hex, unsigned long max, unsigned long& out) {
        if (hex.empty() || hex.size() > 8 ||
            hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            return false;
        out = std::strtoul(hex.c_str(), nullptr, 16);
        return out <= max;
    };
    unsigned long b = 0, v = 0, p = 0;
    if (!number(text.substr(0, first), 0xffff, b) ||
        !number(text.substr(first + 1, second - first - 1), 0xffff, v) ||
        !number(text.substr(second + 1), 0xffff, p))
        return false;
    bus = static_cast<unsigned>(b);
    vendor = static_cast<std::uint16_t>(v);
    product = static_cast<std::uint16_t>(p);
    return true;
}

constexpr unsigned kBusUsb = 0x03;
constexpr unsigned kBusBluetooth = 0x05;

}  // namespace

std::vector<HidrawNode> scan_hidraw(const SysfsRoots& roots) {
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(roots.hidraw_class.c_str())) {
        while (const dirent* entry = ::readdir(dir)) {
            const std::string name = entry->d_name;
            if (name.rfind("hidraw", 0) == 0) names.push_back(name);
        }
        ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    std::vector<HidrawNode> out;
    for (const auto& name : names) {
        const std::string device = roots.hidraw_class + "/" + name + "/device";
        std::ifstream uevent(device + "/uevent");
        if (!uevent) continue;  // unplugged meanwhile
        HidrawNode node;
        node.name = name;
        node.node = roots.dev + "/" + name;
        unsigned bus = 0;
        bool has_id = false;
        std::string line;
        while (std::getline(uevent, line)) {
            const auto eq = line.find('=');
            if (eq == std::string::npos) continue;
            const std::string key = line.substr(0, eq);
            const std::string value = line.substr(eq + 1);
            if (key == "HID_ID")
                has_id = parse_hid_id(value, bus, node.vendor_id, node.product_id);
            else if (key == "HID_NAME")
                node.product = value;
            else if (key == "HID_UNIQ")
                node.serial = value;
        }
        if (!has_id || (bus != kBusUsb && bus != kBusBluetooth)) continue;
        // The HID device's folder sits in its USB interface's folder: "1-2:1.0/0003:2C97:…".
        const std::string number = read_line(device + "/../bInterfaceNumber");
        if (!number.empty() && number.size() <= 2 &&
            number.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos)
            node.interface = static_cast<int>(std::strtol(number.c_str(), nullptr, 16));
        out.push_back(std::move(node));
    }
    return out;
}

}  // namespace keybridge::drivers::usb
