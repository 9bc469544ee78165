// The Trezor USB id table, the udev rules written from it, and the USB transports' handling of
// paths and absent devices (no Trezor is plugged into the machines that run the suite).
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "drivers/trezor/usb_ids.h"
#include "drivers/trezor/usb_report_device.h"

namespace keybridge::test {
namespace {

using drivers::trezor::find_trezor_usb_id;
using drivers::trezor::trezor_usb_ids;
using drivers::trezor::UsbKind;

TEST(TrezorUsb, IdTable) {
    const auto* one = find_trezor_usb_id(0x534c, 0x0001);
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->kind, UsbKind::Hid);
    const auto* webusb = find_trezor_usb_id(0x1209, 0x53c1);
    ASSERT_NE(webusb, nullptr);
    EXPECT_EQ(webusb->kind, UsbKind::WebUsb);
    EXPECT_FALSE(webusb->bootloader);
    const auto* boot = find_trezor_usb_id(0x1209, 0x53c0);
    ASSERT_NE(boot, nullptr);
    EXPECT_TRUE(boot->bootloader);
    EXPECT_EQ(find_trezor_usb_id(0x2c97, 0x5011), nullptr);  // a Ledger
    EXPECT_EQ(find_trezor_usb_id(0x1209, 0x0001), nullptr);
    std::set<std::pair<int, int>> seen;
    for (const auto& id : trezor_usb_ids()) {
        EXPECT_TRUE(seen.insert({id.vendor_id, id.product_id}).second);
        EXPECT_FALSE(id.description.empty());
    }
}

std::set<std::pair<int, int>> ids_in_rules(const std::string& file, const std::string& grant) {
    std::ifstream in(std::string(KEYBRIDGE_SOURCE_DIR) + "/udev/" + file);
    EXPECT_TRUE(in) << file;
    const std::regex line(
        R"re(SUBSYSTEMS=="usb", ATTRS\{idVendor\}=="([0-9a-f]{4})", ATTRS\{idProduct\}=="([0-9a-f]{4})", (.*))re");
    std::set<std::pair<int, int>> ids;
    std::string text;
    while (std::getline(in, text)) {
        if (text.empty() || text[0] == '#') continue;
        std::smatch m;
        EXPECT_TRUE(std::regex_match(text, m, line)) << file << ": " << text;
        if (m.empty()) continue;
        EXPECT_EQ(m[3].str(), grant) << file;
        ids.insert({std::stoi(m[1].str(), nullptr, 16), std::stoi(m[2].str(), nullptr, 16)});
    }
    return ids;
}

TEST(TrezorUsb, UdevRulesCoverExactlyTheTable) {
    std::set<std::pair<int, int>> table;
    for (const auto& id : trezor_usb_ids())
        table.insert({id.vendor_id, id.product_id});
    EXPECT_EQ(ids_in_rules("20-keybridge-trezor.rules", R"(TAG+="uaccess")"), table);
    EXPECT_EQ(ids_in_rules("20-keybridge-trezor-plugdev.rules", R"(MODE="0660", GROUP="plugdev")"),
              table);
}

TEST(TrezorUsb, EnumerationListsOnlyTrezorPaths) {
    auto found = drivers::trezor::enumerate_usb_trezors();
    if (!found) {
        EXPECT_EQ(found.error().code, core::ErrorCode::IoError);
        return;
    }
    for (const auto& t : *found) {
        EXPECT_TRUE(t.path.starts_with(t.kind == UsbKind::Hid ? "hid:" : "webusb:")) << t.path;
    }
}

TEST(TrezorUsb, OpeningBadOrAbsentPaths) {
    auto bogus = drivers::trezor::open_usb_trezor("usb:1:2");
    ASSERT_FALSE(bogus);
    EXPECT_EQ(bogus.error().code, core::ErrorCode::InvalidArgument);
    auto malformed = drivers::trezor::open_usb_trezor("webusb:one:two");
    ASSERT_FALSE(malformed);
    EXPECT_EQ(malformed.error().code, core::ErrorCode::InvalidArgument);
    auto absent = drivers::trezor::open_usb_trezor("webusb:255:255");
    ASSERT_FALSE(absent);
    EXPECT_TRUE(absent.error().code == core::ErrorCode::DeviceNotFound ||
                absent.error().code == core::ErrorCode::IoError)
        << absent.error().to_string();
    auto gone = drivers::trezor::open_usb_trezor("hid:/dev/keybridge-no-such-hidraw");
    ASSERT_FALSE(gone);
    EXPECT_TRUE(gone.error().code == core::ErrorCode::DeviceNotFound ||
                gone.error().code == core::ErrorCode::IoError)
        << gone.error().to_string();
}

}  // namespace
}  // namespace keybridge::test
