// scan_hidraw over a copy of sysfs in a temporary folder, laid out as the kernel does:
// class/hidraw/hidrawN/device -> …/1-2:1.0/0003:2C97:5011.0001 (with uevent), and the USB
// interface's bInterfaceNumber one level up.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "drivers/usb/hidraw_scan.h"

namespace keybridge::drivers::usb {
namespace {

namespace fs = std::filesystem;

class HidrawScan : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/hidraw-scan-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        fs::create_directories(root_ / "class/hidraw");
        roots_.hidraw_class = (root_ / "class/hidraw").string();
        roots_.dev = "/dev";
    }
    void TearDown() override { fs::remove_all(root_); }

    // One hidraw node: its uevent text and the interface number ("" for none).
    void add(const std::string& name, const std::string& uevent, const std::string& interface) {
        const fs::path iface = root_ / "devices" / (name + "-usb") / "1-2:1.0";
        const fs::path hid = iface / "0003:XXXX:YYYY.0001";
        fs::create_directories(hid);
        std::ofstream(hid / "uevent") << uevent;
        if (!interface.empty()) std::ofstream(iface / "bInterfaceNumber") << interface << "\n";
        fs::create_directories(root_ / "class/hidraw" / name);
        fs::create_directory_symlink(hid, root_ / "class/hidraw" / name / "device");
    }

    fs::path root_;
    SysfsRoots roots_;
};

TEST_F(HidrawScan, ReadsIdsNameSerialAndInterface) {
    add("hidraw3",
        "DRIVER=hid-generic\nHID_ID=0003:00002C97:00005011\nHID_NAME=Ledger Nano S Plus\n"
        "HID_PHYS=usb-0000:00:14.0-2/input0\nHID_UNIQ=0001\n",
        "00");
    add("hidraw4", "HID_ID=0003:00002C97:00005011\nHID_NAME=Ledger Nano S Plus\n", "01");
    add("hidraw1", "HID_ID=0003:0000046D:0000C52B\nHID_NAME=Logitech USB Receiver\n", "02");
    const auto nodes = scan_hidraw(roots_);
    ASSERT_EQ(nodes.size(), 3u);
    EXPECT_EQ(nodes[0].name, "hidraw1");  // name order
    EXPECT_EQ(nodes[0].vendor_id, 0x046d);
    EXPECT_EQ(nodes[0].interface, 2);
    EXPECT_EQ(nodes[1].name, "hidraw3");
    EXPECT_EQ(nodes[1].node, "/dev/hidraw3");
    EXPECT_EQ(nodes[1].vendor_id, 0x2c97);
    EXPECT_EQ(nodes[1].product_id, 0x5011);
    EXPECT_EQ(nodes[1].interface, 0);
    EXPECT_EQ(nodes[1].product, "Ledger Nano S Plus");
    EXPECT_EQ(nodes[1].serial, "0001");
    EXPECT_EQ(nodes[2].interface, 1);
}

TEST_F(HidrawScan, SkipsMalformedAndNonUsbNodesAndToleratesMissingFiles) {
    add("hidraw0", "HID_ID=0018:000004F3:00003057\nHID_NAME=I2C touchpad\n", "");  // I2C bus
    add("hidraw1", "HID_ID=garbage\n", "00");
    add("hidraw2", "HID_ID=0003:00002C97\n", "00");            // two fields
    add("hidraw5", "HID_ID=0003:00002C97:000050110\n", "00");  // over 16 bits
    add("hidraw6", "HID_ID=0003:00002C97:00004011\n", "");     // no interface file
    fs::create_directories(root_ / "class/hidraw/hidraw9");    // no device link
    const auto nodes = scan_hidraw(roots_);
    ASSERT_EQ(nodes.size(), 1u);
    EXPECT_EQ(nodes[0].name, "hidraw6");
    EXPECT_EQ(nodes[0].interface, -1);
}

TEST_F(HidrawScan, NoHidrawClassIsAnEmptyList) {
    roots_.hidraw_class = (root_ / "absent").string();
    EXPECT_TRUE(scan_hidraw(roots_).empty());
}

}  // namespace
}  // namespace keybridge::drivers::usb
