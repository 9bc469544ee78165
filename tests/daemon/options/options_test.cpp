#include "daemon/options.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

namespace keybridge::daemon {
namespace {

namespace fs = std::filesystem;

class OptionsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = ::testing::TempDir() + "keybridge_options_XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Writes a config file private to us (mode 0600), as keybridged requires.
    void write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        fs::permissions(path, static_cast<fs::perms>(mode), fs::perm_options::replace);
    }

    // Parses the arguments with --datadir pointing at the temp folder.
    Config parse(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--datadir", dir_});
        auto parsed = parse_command_line(args);
        EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
        return parsed ? parsed->config : Config{};
    }
    std::string error(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--datadir", dir_});
        auto parsed = parse_command_line(args);
        EXPECT_FALSE(parsed);
        if (parsed) return "";
        EXPECT_EQ(parsed.error().code, core::ErrorCode::InvalidArgument);
        return parsed.error().detail;
    }

    std::string dir_;
};

// Insight's settings (docs/INSIGHT.md): thresholds in ether, own phishing entries, known
// addresses, and the chains' names.
TEST_F(OptionsTest, InsightSettings) {
    write("keybridged.conf",
          "warn-value = 1.5\nwarn-fee = .05\nphishing-block = Evil.Example\n"
          "phishing-allow = ok.example\nknown-address = "
          "0xab5801a7d398351b8be11c439e05c5b3259aec9b\nchain = 10=https://op.example/,Optimism\n");
    Config c = parse({"--config", dir_ + "/keybridged.conf", "--warn-deadline-days", "7"});
    ASSERT_TRUE(c.insight.value_warning_wei);
    EXPECT_EQ(*c.insight.value_warning_wei, core::U256(1'500'000'000'000'000'000ULL));
    ASSERT_TRUE(c.insight.fee_warning_wei);
    EXPECT_EQ(*c.insight.fee_warning_wei, core::U256(50'000'000'000'000'000ULL));
    EXPECT_EQ(c.insight.far_deadline_days, 7u);
    EXPECT_EQ(c.insight.phishing_block, (std::vector<std::string>{"evil.example"}));
    EXPECT_EQ(c.insight.phishing_allow, (std::vector<std::string>{"ok.example"}));
    ASSERT_EQ(c.known_addresses.size(), 1u);
    EXPECT_EQ(c.insight.chain_names.at(10), "Optimism");
    EXPECT_EQ(insight::chain_name(1, &c.insight), "Ethereum");
    EXPECT_NE(error({"--warn-value", "1.2.3"}).find("ether"), std::string::npos);
    EXPECT_NE(error({"--warn-fee", "0.0000000000000000001"}).find("ether"), std::string::npos);
    EXPECT_NE(error({"--phishing-block", "evil example"}).find("host"), std::string::npos);
    EXPECT_NE(error({"--known-address", "0x12"}).find("address"), std::string::npos);
}

TEST_F(OptionsTest, Defaults) {
    Config c = parse({});
    EXPECT_EQ(c.datadir, dir_);
    EXPECT_EQ(c.listen, (std::vector<std::string>{"127.0.0.1:8645", "[::1]:8645"}));
    EXPECT_EQ(c.threads, std::clamp(std::thread::hardware_concurrency(), 1U, 2U));
    EXPECT_EQ(c.max_request_bytes, 1024u * 1024u);
    EXPECT_EQ(c.approval_timeout_s, 300u);
    EXPECT_FALSE(c.enable_eth_sign);
    EXPECT_EQ(c.default_chain_id, 1u);
    ASSERT_EQ(c.chains.size(), 1u);
    EXPECT_EQ(c.chains[0].chain_id, 1u);
    EXPECT_EQ(c.chains[0].name, "Ethereum");
    EXPECT_EQ(c.chains[0].rpc_url, "");
}

TEST_F(OptionsTest, ValuesBothSpellings) {
    Config c = parse({"--threads", "4", "--max-batch=7", "--enable-eth-sign", "--listen",
                      "127.0.0.1:0", "--rate-limit", "5", "--rate-burst=9", "--approval-timeout",
                      "1", "--log-level", "debug", "--policy", "/x/policy"});
    EXPECT_EQ(c.threads, 4u);
    EXPECT_EQ(c.max_batch, 7u);
    EXPECT_TRUE(c.enable_eth_sign);
    EXPECT_EQ(c.listen, (std::vector<std::string>{"127.0.0.1:0"}));
    EXPECT_EQ(c.rate_limit, 5.0);
    EXPECT_EQ(c.rate_burst, 9.0);
    EXPECT_EQ(c.approval_timeout_s, 1u);
    EXPECT_EQ(c.log_level, "debug");
    EXPECT_EQ(c.policy_file, "/x/policy");
}

TEST_F(OptionsTest, ChainsAndDefaultChain) {
    Config c = parse({"--chain", "31337=http://127.0.0.1:8545 Local Anvil", "--chain",
                      "10=https://mainnet.optimism.io", "--chain-id", "31337"});
    EXPECT_EQ(c.default_chain_id, 31337u);
    ASSERT_EQ(c.chains.size(), 2u);  // the default chain is configured: not added again
    EXPECT_EQ(c.chains[0].chain_id, 31337u);
    EXPECT_EQ(c.chains[0].rpc_url, "http://127.0.0.1:8545");
    EXPECT_EQ(c.chains[0].name, "Local Anvil");
    EXPECT_EQ(c.chains[1].name, "Chain 10");
    // The same id twice: the later wins.
    Config twice = parse({"--chain", "5=http://a.example", "--chain", "5=http://b.example"});
    ASSERT_EQ(twice.chains.size(), 2u);  // chain 5 and the default chain 1
    EXPECT_EQ(twice.chains[0].rpc_url, "http://b.example");
    // A default chain without a URL is still known.
    Config bare = parse({"--chain-id", "137"});
    ASSERT_EQ(bare.chains.size(), 1u);
    EXPECT_EQ(bare.chains[0].chain_id, 137u);
    EXPECT_EQ(bare.chains[0].name, "Chain 137");
}

TEST_F(OptionsTest, BadValuesAreNamed) {
    struct Case {
        std::vector<std::string> args;
        std::string expected;
    };
    const Case cases[] = {
        {{"--threads", "0"}, "--threads must be between 1 and 64"},
        {{"--threads", "65"}, "--threads must be between 1 and 64"},
        {{"--threads", "abc"}, "--threads must be a whole number"},
        {{"--threads", "-1"}, "--threads must be a whole number"},
        {{"--threads", "+2"}, "--threads must be a whole number"},
        {{"--threads", ""}, "--threads must be a whole number"},
        {{"--max-request-bytes", "99999999999999999999999"},
         "--max-request-bytes must be a whole number"},
        {{"--max-request-bytes", "1023"}, "--max-request-bytes must be between"},
        {{"--max-batch", "0"}, "--max-batch must be between"},
        {{"--rate-limit", "0"}, "--rate-limit must be between"},
        {{"--approval-timeout", "86401"}, "--approval-timeout must be between"},
        {{"--chain-id", "0"}, "--chain-id must be between"},
        {{"--chain-id", "9007199254740992"}, "--chain-id must be between"},
        {{"--chain", "foo"}, "--chain must look like ID=URL[,NAME]"},
        {{"--chain", "1=ftp://x"}, "--chain URL must start with http:// or https://"},
        {{"--chain", "x=http://a"}, "--chain must be a whole number"},
        {{"--log-level", "loud"}, "--log-level must be debug, info, warn or error"},
        {{"--bogus"}, "unknown option --bogus"},
        {{"--threads"}, "--threads needs N"},
        {{"--enable-eth-sign=yes"}, "--enable-eth-sign takes no value"},
        {{"stray"}, "unexpected argument 'stray'"},
        {{"-x"}, "unexpected argument '-x'"},
    };
    for (const auto& c : cases) {
        const std::string detail = error(c.args);
        EXPECT_NE(detail.find(c.expected), std::string::npos)
            << c.args.front() << " → " << detail << " (expected: " << c.expected << ")";
    }
}

TEST_F(OptionsTest, AuditRotationSizeAndKeep) {
    Config defaults = parse({});
    EXPECT_EQ(defaults.audit_max_bytes, 16u << 20);
    EXPECT_EQ(defaults.audit_keep, 4u);
    EXPECT_EQ(parse({"--audit-max-size", "1048576"}).audit_max_bytes, 1048576u);
    EXPECT_EQ(parse({"--audit-max-size", "64K"}).audit_max_bytes, 64u << 10);
    EXPECT_EQ(parse({"--audit-max-size=16m"}).audit_max_bytes, 16u << 20);
    EXPECT_EQ(parse({"--audit-max-size", "2G"}).audit_max_bytes, std::uint64_t{2} << 30);
    EXPECT_EQ(parse({"--audit-max-size", "1K"}).audit_max_bytes, 1024u);
    EXPECT_EQ(parse({"--audit-keep", "10"}).audit_keep, 10u);
    write("keybridged.conf", "audit-max-size = 8M\naudit-keep = 2\n");
    Config from_file = parse({});
    EXPECT_EQ(from_file.audit_max_bytes, 8u << 20);
    EXPECT_EQ(from_file.audit_keep, 2u);

    for (const char* bad : {"1023", "0", "1k5", "K", "-1", "16MB", "", "2048G"}) {
        EXPECT_NE(error({"--audit-max-size", bad}).find("--audit-max-size must be between 1024"),
                  std::string::npos)
            << bad;
    }
    EXPECT_NE(error({"--audit-keep", "0"}).find("--audit-keep must be between 1 and 1000"),
              std::string::npos);
    EXPECT_NE(error({"--audit-keep", "x"}).find("--audit-keep must be a whole number"),
              std::string::npos);
}

TEST_F(OptionsTest, ListenMustBeLoopback) {
    for (const char* bad : {"0.0.0.0:8645", "192.168.1.10:8645", "[::]:8645", "example.com:8645",
                            "[::ffff:10.0.0.1]:1", "8.8.8.8:53"}) {
        const std::string detail = error({"--listen", bad});
        EXPECT_NE(detail.find("loopback"), std::string::npos) << bad << " → " << detail;
        EXPECT_NE(detail.find(bad), std::string::npos) << detail;
    }
    for (const char* malformed :
         {"127.0.0.1", "[::1]", "[::1:5", "127.0.0.1:65536", "127.0.0.1:x"}) {
        EXPECT_FALSE(error({"--listen", malformed}).empty()) << malformed;
    }
    Config c = parse({"--listen", "localhost:0", "--listen", "[::1]:9", "--listen", "127.0.0.2:7"});
    EXPECT_EQ(c.listen.size(), 3u);
    auto endpoint = parse_listen("localhost:0");
    ASSERT_TRUE(endpoint);
    EXPECT_EQ(endpoint->host, "127.0.0.1");
    EXPECT_EQ(endpoint->port, 0);
    auto v6 = parse_listen("[::1]:8645");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 8645);
}

TEST_F(OptionsTest, ConfigFileInDatadirIsRead) {
    write("keybridged.conf",
          "# settings\n"
          "threads = 3\n"
          "max-batch=12   # inline comment\n"
          "\n"
          "enable-eth-sign = true\n"
          "chain = 5=http://a.example Goerli\n"
          "listen = 127.0.0.1:0\n");
    Config c = parse({});
    EXPECT_EQ(c.threads, 3u);
    EXPECT_EQ(c.max_batch, 12u);
    EXPECT_TRUE(c.enable_eth_sign);
    EXPECT_EQ(c.listen, (std::vector<std::string>{"127.0.0.1:0"}));
    ASSERT_FALSE(c.chains.empty());
    EXPECT_EQ(c.chains[0].name, "Goerli");
}

TEST_F(OptionsTest, CommandLineBeatsConfigFile) {
    write("keybridged.conf",
          "threads = 3\nmax-batch = 12\nchain = 5=http://a.example\nchain = 6=http://b.example\n");
    Config c = parse({"--threads", "5", "--chain", "7=http://c.example"});
    EXPECT_EQ(c.threads, 5u);
    EXPECT_EQ(c.max_batch, 12u);
    // A repeatable option on the command line replaces the file's list.
    ASSERT_EQ(c.chains.size(), 2u);
    EXPECT_EQ(c.chains[0].chain_id, 7u);
    EXPECT_EQ(c.chains[1].chain_id, 1u);
}

TEST_F(OptionsTest, ExplicitConfigFileReplacesTheDatadirOne) {
    write("keybridged.conf", "threads = 3\n");
    write("other.conf", "threads = 6\nmax-depth = 10\n");
    Config c = parse({"--config", dir_ + "/other.conf"});
    EXPECT_EQ(c.threads, 6u);
    EXPECT_EQ(c.max_depth, 10u);
    // A false flag in the file is the same as leaving it out.
    write("flag.conf", "enable-eth-sign = false\n");
    EXPECT_FALSE(parse({"--config", dir_ + "/flag.conf"}).enable_eth_sign);
    auto missing = parse_command_line({"--datadir", dir_, "--config", dir_ + "/missing.conf"});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().detail.find(dir_ + "/missing.conf"), std::string::npos)
        << missing.error().detail;
}

TEST_F(OptionsTest, ConfigFileErrorsNameFileAndLine) {
    const std::string file = dir_ + "/keybridged.conf";
    struct Case {
        std::string text;
        std::string expected;
    };
    const Case cases[] = {
        {"threads = 2\nbogus = 1\n", file + ":2: unknown setting 'bogus'"},
        {"\n\nthreads\n", file + ":3: expected 'key = value'"},
        {"enable-eth-sign = maybe\n", file + ":1: enable-eth-sign must be true or false"},
        {"help = true\n", file + ":1: unknown setting 'help'"},
        {"config = /etc/x\n", file + ":1: unknown setting 'config'"},
        {"# ok\nthreads = 0\n", file + ":2: --threads must be between 1 and 64"},
        {"listen = 0.0.0.0:8645\n",
         file + ":1: --listen 0.0.0.0:8645: keybridged listens on loopback"},
        {"chain = 1=ftp://x\n", file + ":1: --chain URL must start with http:// or https://"},
    };
    for (const auto& c : cases) {
        write("keybridged.conf", c.text);
        const std::string detail = error({});
        EXPECT_EQ(detail.rfind(c.expected, 0), 0u) << c.text << " → " << detail;
    }
}

// RPC URLs given with --chain are in /proc/PID/cmdline for every local user to read; the config
// file is where they go instead, so it must be private: refused when others may read or write it.
TEST_F(OptionsTest, ChainsFromTheConfigFileStayOffTheCommandLine) {
    write("keybridged.conf",
          "chain = 1=https://mainnet.example/v3/secret-api-key Ethereum\n"
          "chain = 10=https://op.example/key/abc Optimism\n");
    Config c = parse({});
    ASSERT_EQ(c.chains.size(), 2u);
    EXPECT_EQ(c.chains[0].rpc_url, "https://mainnet.example/v3/secret-api-key");
    EXPECT_EQ(c.chains[0].name, "Ethereum");
    EXPECT_EQ(c.chains[1].chain_id, 10u);
    EXPECT_EQ(c.chains[1].rpc_url, "https://op.example/key/abc");
    write("private.conf", "chain = 5=https://goerli.example/key\n", 0400);
    EXPECT_EQ(parse({"--config", dir_ + "/private.conf"}).chains.at(0).rpc_url,
              "https://goerli.example/key");
}

TEST_F(OptionsTest, ConfigFileOpenToOtherUsersIsRefused) {
    for (const mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0610, 0601, 0666}) {
        write("keybridged.conf", "chain = 1=https://mainnet.example/secret-key\n", mode);
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        // The default file in the data folder and one named with --config alike.
        for (const auto& args : {std::vector<std::string>{},
                                 std::vector<std::string>{"--config", dir_ + "/keybridged.conf"}}) {
            const std::string detail = error(args);
            EXPECT_NE(detail.find(dir_ + "/keybridged.conf is open to other users (mode " +
                                  std::string(octal) + ")"),
                      std::string::npos)
                << detail;
            EXPECT_NE(detail.find("chmod 600"), std::string::npos) << detail;
            // The refusal never quotes the file's content.
            EXPECT_EQ(detail.find("secret-key"), std::string::npos) << detail;
        }
    }
    // Present but unreadable is an error too, never silently skipped.
    if (::geteuid() != 0) {  // root reads anything
        write("keybridged.conf", "threads = 2\n", 0000);
        EXPECT_NE(error({}).find("cannot read config file"), std::string::npos);
    }
    // Not a regular file.
    fs::remove(dir_ + "/keybridged.conf");
    fs::create_directory(dir_ + "/keybridged.conf");
    fs::permissions(dir_ + "/keybridged.conf", fs::perms::owner_all, fs::perm_options::replace);
    auto folder = parse_command_line({"--datadir", dir_});
    ASSERT_FALSE(folder);
    EXPECT_NE(folder.error().detail.find("not a regular file"), std::string::npos)
        << folder.error().detail;
}

TEST_F(OptionsTest, HelpWarnsThatChainUrlsOnTheCommandLineAreVisible) {
    const std::string text = help_text();
    const auto chain = text.find("--chain ID=URL");
    ASSERT_NE(chain, std::string::npos);
    const std::string line = text.substr(chain, text.find('\n', chain) - chain);
    EXPECT_NE(line.find("/proc/PID/cmdline"), std::string::npos) << line;
    EXPECT_NE(line.find("config file"), std::string::npos) << line;
    const auto config = text.find("--config FILE");
    ASSERT_NE(config, std::string::npos);
    EXPECT_NE(text.substr(config, text.find('\n', config) - config).find("0600"),
              std::string::npos);
}

TEST_F(OptionsTest, ChainNameAfterACommaNeedsNoQuoting) {
    Config c = parse({"--chain", "1=https://node.example/v3/KEY,Ethereum", "--chain",
                      "5=http://b.example/x?ids=1,2", "--chain", "7=http://c.example", "--chain",
                      "8=http://d.example,Base,Sepolia"});
    ASSERT_EQ(c.chains.size(), 4u);
    EXPECT_EQ(c.chains[0].rpc_url, "https://node.example/v3/KEY");
    EXPECT_EQ(c.chains[0].name, "Ethereum");
    // Digits after the last comma: part of the URL's query, not a name.
    EXPECT_EQ(c.chains[1].rpc_url, "http://b.example/x?ids=1,2");
    EXPECT_EQ(c.chains[1].name, "Chain 5");
    EXPECT_EQ(c.chains[2].rpc_url, "http://c.example");
    EXPECT_EQ(c.chains[3].rpc_url, "http://d.example,Base");
    EXPECT_EQ(c.chains[3].name, "Sepolia");
    EXPECT_NE(help_text().find("--chain ID=URL[,NAME]"), std::string::npos);
}

// The config file's place: $XDG_CONFIG_HOME/keybridge/keybridged.conf for the default data
// folder; the data folder's copy (its old place) is read with a notice when that is missing.
class ConfigPlaceTest : public OptionsTest {
  protected:
    void SetUp() override {
        OptionsTest::SetUp();
        for (const char* name : {"XDG_CONFIG_HOME", "XDG_DATA_HOME", "HOME"}) {
            const char* v = std::getenv(name);
            saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
        }
        ::setenv("XDG_CONFIG_HOME", (dir_ + "/config").c_str(), 1);
        ::setenv("XDG_DATA_HOME", (dir_ + "/data").c_str(), 1);
        fs::create_directories(dir_ + "/config/keybridge");
        fs::create_directories(dir_ + "/data/keybridge");
    }
    void TearDown() override {
        for (const auto& [name, value] : saved_) {
            if (value)
                ::setenv(name.c_str(), value->c_str(), 1);
            else
                ::unsetenv(name.c_str());
        }
        OptionsTest::TearDown();
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(ConfigPlaceTest, XdgConfigHomeFirstThenTheDataFolderWithANotice) {
    EXPECT_EQ(default_config_path(), dir_ + "/config/keybridge/keybridged.conf");
    write("data/keybridge/keybridged.conf", "threads = 2\n");
    auto old_place = parse_command_line({});
    ASSERT_TRUE(old_place) << old_place.error().detail;
    EXPECT_EQ(old_place->config.datadir, dir_ + "/data/keybridge");
    EXPECT_EQ(old_place->config.threads, 2u);
    ASSERT_EQ(old_place->notices.size(), 1u);
    EXPECT_NE(old_place->notices[0].find("reading settings from " + dir_ +
                                         "/data/keybridge/keybridged.conf"),
              std::string::npos)
        << old_place->notices[0];
    EXPECT_NE(old_place->notices[0].find(default_config_path()), std::string::npos);

    write("config/keybridge/keybridged.conf", "threads = 3\n");
    auto both = parse_command_line({});
    ASSERT_TRUE(both) << both.error().detail;
    EXPECT_EQ(both->config.threads, 3u);
    ASSERT_EQ(both->notices.size(), 1u);
    EXPECT_NE(both->notices[0].find("is not read"), std::string::npos);

    fs::remove(dir_ + "/data/keybridge/keybridged.conf");
    auto standard = parse_command_line({});
    ASSERT_TRUE(standard);
    EXPECT_EQ(standard->config.threads, 3u);
    EXPECT_TRUE(standard->notices.empty());

    // Another instance (--datadir) keeps its settings with its data.
    EXPECT_EQ(parse({}).threads, default_network_threads());
    write("keybridged.conf", "threads = 4\n");
    EXPECT_EQ(parse({}).threads, 4u);

    // Without XDG_CONFIG_HOME: ~/.config.
    ::unsetenv("XDG_CONFIG_HOME");
    ::setenv("HOME", "/home/someone", 1);
    EXPECT_EQ(default_config_path(), "/home/someone/.config/keybridge/keybridged.conf");
}

TEST_F(OptionsTest, NetworkSchedulingIsAdaptiveUnlessAsked) {
    EXPECT_EQ(parse({}).network_scheduling, NetworkScheduling::Adaptive);
    EXPECT_EQ(parse({"--network-scheduling", "normal"}).network_scheduling,
              NetworkScheduling::Normal);
    EXPECT_EQ(parse({"--network-scheduling=batch"}).network_scheduling, NetworkScheduling::Batch);
    EXPECT_EQ(parse({"--network-scheduling", "adaptive"}).network_scheduling,
              NetworkScheduling::Adaptive);
    EXPECT_NE(error({"--network-scheduling", "fifo"}).find("must be adaptive, batch or normal"),
              std::string::npos);
    write("keybridged.conf", "network-scheduling = normal\n");
    EXPECT_EQ(parse({"--config", dir_ + "/keybridged.conf"}).network_scheduling,
              NetworkScheduling::Normal);
}

TEST_F(OptionsTest, HelpAndVersion) {
    auto help = parse_command_line({"--help"});
    ASSERT_TRUE(help);
    EXPECT_TRUE(help->show_help);
    auto short_help = parse_command_line({"-h"});
    ASSERT_TRUE(short_help);
    EXPECT_TRUE(short_help->show_help);
    auto version = parse_command_line({"--version"});
    ASSERT_TRUE(version);
    EXPECT_TRUE(version->show_version);
    const std::string text = help_text();
    for (const auto& d : option_table()) {
        EXPECT_NE(text.find("--" + d.name), std::string::npos) << d.name;
    }
}

TEST_F(OptionsTest, SpeculosEndpointsAreLoopbackRepeatableAndUsbCanBeOff) {
    Config none = parse({});
    EXPECT_TRUE(none.speculos.empty());
    EXPECT_TRUE(none.usb_devices);
    Config c = parse({"--speculos", "127.0.0.1:9999", "--speculos=[::1]:40000", "--speculos",
                      "127.0.0.1:9999", "--usb", "off"});
    EXPECT_EQ(c.speculos, (std::vector<std::string>{"127.0.0.1:9999", "[::1]:40000"}));
    EXPECT_FALSE(c.usb_devices);
    EXPECT_NE(error({"--speculos", "192.0.2.7:9999"}).find("loopback"), std::string::npos);
    EXPECT_NE(error({"--speculos", "9999"}).find("--speculos 9999"), std::string::npos);
    EXPECT_NE(error({"--speculos", "127.0.0.1:0"}).find("port must not be 0"), std::string::npos);
    EXPECT_NE(error({"--usb", "maybe"}).find("--usb must be on or off"), std::string::npos);
    write("keybridged.conf", "speculos = 127.0.0.1:41000\nusb = off\n");
    Config from_file = parse({"--config", dir_ + "/keybridged.conf"});
    EXPECT_EQ(from_file.speculos, (std::vector<std::string>{"127.0.0.1:41000"}));
    EXPECT_FALSE(from_file.usb_devices);
}

TEST_F(OptionsTest, TrezorEmulatorEndpointsAreLoopbackAndRepeatable) {
    EXPECT_TRUE(parse({}).trezor_emulators.empty());
    Config c = parse({"--trezor-emulator", "127.0.0.1:21324", "--trezor-emulator=[::1]:21424",
                      "--trezor-emulator", "127.0.0.1:21324"});
    EXPECT_EQ(c.trezor_emulators, (std::vector<std::string>{"127.0.0.1:21324", "[::1]:21424"}));
    EXPECT_NE(error({"--trezor-emulator", "192.0.2.7:21324"}).find("loopback"), std::string::npos);
    EXPECT_NE(error({"--trezor-emulator", "21324"}).find("--trezor-emulator 21324"),
              std::string::npos);
    EXPECT_NE(error({"--trezor-emulator", "127.0.0.1:0"}).find("port must not be 0"),
              std::string::npos);
    write("keybridged.conf", "trezor-emulator = 127.0.0.1:21324\n");
    Config from_file = parse({"--config", dir_ + "/keybridged.conf"});
    EXPECT_EQ(from_file.trezor_emulators, (std::vector<std::string>{"127.0.0.1:21324"}));
}

}  // namespace
}  // namespace keybridge::daemon
