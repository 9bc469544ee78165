// udev/*.rules against the USB id table (drivers/usb/device_ids.h, from drivers/ledger/models.cpp):
// every model has its line in
// each rules file (current product ids NN?? and its legacy id), with the access the file is for,
// and no line names an id the table does not know.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/usb/device_ids.h"

namespace keybridge::drivers::usb {
namespace {

struct Rule {
    std::string vendor;
    std::set<std::string> products;  // the alternatives of ATTRS{idProduct}=="a|b"
    std::string line;
};

std::vector<Rule> read_rules(const std::string& name) {
    std::ifstream in(std::string(KEYBRIDGE_SOURCE_DIR) + "/udev/" + name);
    EXPECT_TRUE(in) << name;
    std::vector<Rule> rules;
    const std::regex vendor(R"re(ATTRS\{idVendor\}=="([^"]*)")re");
    const std::regex product(R"re(ATTRS\{idProduct\}=="([^"]*)")re");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        Rule rule;
        rule.line = line;
        std::smatch m;
        if (std::regex_search(line, m, vendor)) rule.vendor = m[1];
        if (std::regex_search(line, m, product)) {
            std::stringstream alternatives(m[1].str());
            std::string one;
            while (std::getline(alternatives, one, '|'))
                rule.products.insert(one);
        }
        rules.push_back(std::move(rule));
    }
    return rules;
}

// The product patterns the table implies for one model.
std::set<std::string> patterns_of(const UsbModel& m) {
    std::set<std::string> out;
    if (m.product_high)
        out.insert(hex4(static_cast<std::uint16_t>(*m.product_high << 8)).substr(0, 2) + "??");
    if (m.legacy_product) out.insert(hex4(*m.legacy_product));
    return out;
}

void check_file(const std::string& name, const std::vector<std::string>& required) {
    const auto rules = read_rules(name);
    ASSERT_FALSE(rules.empty()) << name;
    std::set<std::string> covered;
    for (const auto& rule : rules) {
        // Each line is one model's, with the access this file grants.
        bool known = false;
        for (const UsbModel& m : usb_models()) {
            if (rule.vendor == hex4(m.vendor_id) && rule.products == patterns_of(m)) {
                known = true;
                covered.insert(std::string(m.name));
            }
        }
        EXPECT_TRUE(known) << name << ": a line the id table does not know: " << rule.line;
        EXPECT_NE(rule.line.find("SUBSYSTEMS==\"usb\""), std::string::npos) << rule.line;
        for (const auto& part : required)
            EXPECT_NE(rule.line.find(part), std::string::npos) << name << ": " << rule.line;
    }
    for (const UsbModel& m : usb_models())
        EXPECT_EQ(covered.count(std::string(m.name)), 1u) << name << " has no line for " << m.name;
}

TEST(UdevRules, UaccessRulesCoverEveryModelOfTheIdTable) {
    check_file("20-keybridge-ledger.rules", {"TAG+=\"uaccess\""});
}

TEST(UdevRules, PlugdevRulesCoverEveryModelOfTheIdTable) {
    check_file("20-keybridge-ledger-plugdev.rules", {"MODE=\"0660\"", "GROUP=\"plugdev\""});
}

TEST(UsbIds, ModelsByCurrentAndLegacyProductIds) {
    const UsbModel* m = find_usb_model(0x2c97, 0x5011);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name, "Nano S Plus");
    ASSERT_NE(find_usb_model(0x2c97, 0x0004), nullptr);
    EXPECT_EQ(find_usb_model(0x2c97, 0x0004)->name, "Nano X");
    EXPECT_EQ(find_usb_model(0x2c97, 0x1015)->name, "Nano S");
    EXPECT_EQ(find_usb_model(0x2c97, 0x6011)->name, "Stax");
    EXPECT_EQ(find_usb_model(0x2c97, 0x7011)->name, "Flex");
    EXPECT_EQ(find_usb_model(0x2c97, 0x8011)->name, "Nano Gen5");
    EXPECT_EQ(find_usb_model(0x2c97, 0x2011), nullptr);  // no model 0x20
    EXPECT_EQ(find_usb_model(0x2c97, 0x0003), nullptr);
    ASSERT_NE(find_usb_model(0x2c97, 0x0000), nullptr);  // Blue: its legacy id only
    EXPECT_EQ(find_usb_model(0x2c97, 0x0000)->name, "Blue");
    EXPECT_EQ(find_usb_model(0x2c97, 0x0011), nullptr);  // model byte 0x00 is not Blue's
    EXPECT_EQ(find_usb_model(0x1209, 0x5011), nullptr);  // another vendor
    EXPECT_EQ(hex4(0x2c97), "2c97");
}

}  // namespace
}  // namespace keybridge::drivers::usb
