// keybridge doctor's checks over copies of sysfs, /proc and the udev folders.
#include "cli/device_doctor.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace keybridge::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class Doctor : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/doctor-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        for (const char* dir : {"class/hidraw", "proc", "etc-udev", "lib-udev", "dev"})
            fs::create_directories(root_ / dir);
        env_.sysfs.hidraw_class = (root_ / "class/hidraw").string();
        env_.sysfs.dev = (root_ / "dev").string();
        env_.proc = (root_ / "proc").string();
        env_.udev_dirs = {(root_ / "etc-udev").string(), (root_ / "lib-udev").string()};
        env_.can_open = [this](const std::string& node) { return open_.count(node) != 0; };
        env_.uaccess_rules = "/usr/share/keybridge/udev/20-keybridge-ledger.rules";
        env_.plugdev_rules = "/usr/share/keybridge/udev/20-keybridge-ledger-plugdev.rules";
        env_.own_pid = 1;
    }
    void TearDown() override { fs::remove_all(root_); }

    std::string plug(const std::string& name, const std::string& hid_id, int interface) {
        const fs::path iface = root_ / "devices" / name / "1-2:1.0";
        fs::create_directories(iface / "hid");
        std::ofstream(iface / "hid/uevent") << "HID_ID=" << hid_id << "\nHID_NAME=Ledger\n";
        std::ofstream(iface / "bInterfaceNumber") << "0" << interface << "\n";
        fs::create_directories(root_ / "class/hidraw" / name);
        fs::create_directory_symlink(iface / "hid", root_ / "class/hidraw" / name / "device");
        const std::string node = (root_ / "dev" / name).string();
        std::ofstream(node) << "";
        return node;
    }
    void hold(int pid, const std::string& program, const std::string& node) {
        const fs::path p = root_ / "proc" / std::to_string(pid);
        fs::create_directories(p / "fd");
        std::ofstream(p / "comm") << program << "\n";
        fs::create_symlink(node, p / "fd/7");
        fs::create_symlink("/dev/null", p / "fd/0");
    }
    static std::string all(const std::vector<Finding>& findings) {
        std::string out;
        for (const auto& f : findings)
            out += (f.problem ? "P " : "- ") + f.subject + ": " + f.text + " | " + f.fix + "\n";
        return out;
    }
    static int problems(const std::vector<Finding>& findings) {
        int n = 0;
        for (const auto& f : findings)
            n += f.problem ? 1 : 0;
        return n;
    }

    fs::path root_;
    DoctorEnvironment env_;
    std::set<std::string> open_;
};

TEST_F(Doctor, NoLedgerOnUsbIsSaidAndIsNotAProblem) {
    plug("hidraw0", "0003:0000046D:0000C52B", 0);  // a mouse receiver
    const auto findings = check_usb(env_);
    ASSERT_EQ(findings.size(), 1u) << all(findings);
    EXPECT_FALSE(findings[0].problem);
    EXPECT_EQ(findings[0].text, "no Ledger found on USB");
}

TEST_F(Doctor, NoAccessWithoutARuleGivesTheInstallCommand) {
    const std::string node = plug("hidraw3", "0003:00002C97:00005011", 0);
    plug("hidraw4", "0003:00002C97:00005011", 1);  // its U2F interface: not ours
    const auto findings = check_usb(env_);
    ASSERT_EQ(findings.size(), 1u) << all(findings);
    EXPECT_TRUE(findings[0].problem);
    EXPECT_EQ(findings[0].subject, "Ledger Nano S Plus (" + node + ")");
    EXPECT_NE(findings[0].text.find("no udev rule"), std::string::npos);
    EXPECT_NE(findings[0].fix.find("sudo install -m 0644 "
                                   "/usr/share/keybridge/udev/20-keybridge-ledger.rules "
                                   "/etc/udev/rules.d/ && sudo udevadm control --reload-rules && "
                                   "sudo udevadm trigger"),
              std::string::npos)
        << findings[0].fix;
}

TEST_F(Doctor, NoAccessDespiteARuleOffersThePlugdevAlternative) {
    plug("hidraw3", "0003:00002C97:00004011", 0);
    std::ofstream(root_ / "lib-udev/20-hw1.rules")
        << "# 2c97 in a comment does not count\n"
        << "SUBSYSTEMS==\"usb\", ATTRS{idVendor}==\"2C97\", TAG+=\"uaccess\"\n";
    const auto findings = check_usb(env_);
    ASSERT_EQ(findings.size(), 1u) << all(findings);
    EXPECT_TRUE(findings[0].problem);
    EXPECT_NE(findings[0].text.find("20-hw1.rules"), std::string::npos) << findings[0].text;
    EXPECT_NE(findings[0].fix.find("20-keybridge-ledger-plugdev.rules"), std::string::npos);
    EXPECT_NE(findings[0].fix.find("usermod -aG plugdev"), std::string::npos);
}

TEST_F(Doctor, ARuleOnlyInACommentIsNoRule) {
    plug("hidraw3", "0003:00002C97:00004011", 0);
    std::ofstream(root_ / "lib-udev/20-hw1.rules") << "# 2c97\n";
    const auto findings = check_usb(env_);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_NE(findings[0].text.find("no udev rule"), std::string::npos);
}

TEST_F(Doctor, OtherProgramsHoldingTheNodeAreNamedKeybridgedIsNot) {
    const std::string node = plug("hidraw3", "0003:00002C97:00001011", 0);
    open_.insert(node);
    hold(4242, "ledger-live-des", node);
    hold(77, "keybridged", node);
    hold(1, "keybridge", node);  // ourselves
    const auto findings = check_usb(env_);
    EXPECT_EQ(problems(findings), 1) << all(findings);
    const std::string text = all(findings);
    EXPECT_NE(text.find("Nano S (" + node + "): you may open it"), std::string::npos) << text;
    EXPECT_NE(text.find("held by another program: ledger-live-des (pid 4242)"), std::string::npos);
    EXPECT_NE(text.find("kill 4242"), std::string::npos);
    EXPECT_NE(text.find("keybridged (pid 77) has it open"), std::string::npos);
    EXPECT_EQ(text.find("pid 1)"), std::string::npos);
}

TEST_F(Doctor, DaemonDeviceStatesBecomePlainWordsAndFixes) {
    auto device = [](std::string state, json::object extra = {}) {
        json::object d{{"model", "Nano X"},  {"location", "hid:/dev/hidraw3"},
                       {"transport", "usb"}, {"state", state},
                       {"detail", ""},       {"accounts", 1}};
        for (auto& [k, v] : extra)
            d[k] = v;
        return json::value(d);
    };
    const json::array devices{
        device("locked"),
        device("dashboard"),
        device("wrong-app", {{"app", "Bitcoin"}}),
        device("ready", {{"app", "Ethereum"}, {"appVersion", "1.9.18"}, {"blindSigning", true}}),
        device("ready", {{"app", "Ethereum"}, {"appVersion", "1.10.4"}, {"blindSigning", false}}),
        device("ready", {{"app", "Ethereum"},
                         {"appVersion", "1.10.4"},
                         {"blindSigning", true},
                         {"accounts", 0}}),
        device("ready", {{"app", "Ethereum"}, {"appVersion", "1.10.4"}, {"blindSigning", true}}),
        device("unreachable", {{"transport", "speculos"}, {"location", "speculos:127.0.0.1:9"}}),
    };
    const auto findings = check_daemon_devices(devices);
    const std::string text = all(findings);
    ASSERT_EQ(findings.size(), 8u) << text;
    EXPECT_EQ(problems(findings), 6) << text;
    EXPECT_NE(findings[0].fix.find("unlock the Ledger with its PIN"), std::string::npos);
    EXPECT_NE(findings[1].fix.find("open the Ethereum app"), std::string::npos);
    EXPECT_NE(findings[2].text.find("Bitcoin app is open"), std::string::npos);
    EXPECT_NE(findings[3].text.find("1.9.18 is too old"), std::string::npos) << text;
    EXPECT_NE(findings[4].text.find("blind signing is off"), std::string::npos);
    EXPECT_NE(findings[4].fix.find("Blind signing"), std::string::npos);
    EXPECT_FALSE(findings[5].problem);
    EXPECT_EQ(findings[5].fix, "keybridge account add --ledger --index 0");
    EXPECT_FALSE(findings[6].problem);
    EXPECT_NE(findings[6].text.find("ready: Ethereum app 1.10.4, 1 accounts"), std::string::npos);
    EXPECT_NE(findings[7].fix.find("speculos --apdu-port"), std::string::npos);
}

TEST(DoctorVersions, ComparesNumberByNumber) {
    EXPECT_TRUE(version_older("1.9.18", "1.9.19"));
    EXPECT_FALSE(version_older("1.10.0", "1.9.19"));
    EXPECT_FALSE(version_older("1.9.19", "1.9.19"));
    EXPECT_TRUE(version_older("1.9", "1.9.19"));
    EXPECT_FALSE(version_older("", "1.9.19"));
    EXPECT_FALSE(version_older("1.x.0", "1.9.19"));
}

}  // namespace
}  // namespace keybridge::cli
