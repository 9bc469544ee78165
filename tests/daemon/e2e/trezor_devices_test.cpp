// The real keybridged binary with the Trezor driver behind its device manager: the project's
// Trezor simulator serves the emulator's UDP port in this process and keybridged is started with
// --trezor-emulator on it (with KEYBRIDGE_TREZOR_EMULATOR=host:port, on a real emulator instead:
// the tests that script the simulated person are then skipped with the reason). The device is
// listed from its Features, its account is added with `keybridge account add --trezor`, every
// signing method is signed there after the approval, the PIN matrix is a needs-input stage the
// approver answers with positions, a rejection on the device is 4001, a simulator killed
// mid-request ends the request with a clear error while keybridged keeps serving, a Ledger
// simulator and a Trezor simulator serve at once, and an account of another Trezor is never
// signed by the one connected.
#include <chrono>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/bytes.h"
#include "core/eip191.h"
#include "core/eip712.h"
#include "core/secp256k1.h"
#include "core/transaction.h"
#include "drivers/trezor/framing.h"
#include "drivers/trezor/udp_report_device.h"
#include "store/vault/vault.h"
#include "test_data.h"
#include "tests/daemon/e2e/client.h"
#include "tests/daemon/e2e/daemon_process.h"
#include "tests/tools/ledger_sim/eth_app.h"
#include "tests/tools/ledger_sim/transports.h"
#include "tests/tools/trezor_sim/sim_server.h"

namespace keybridge::test::e2e {
namespace {

namespace json = boost::json;
namespace tsim = keybridge::trezor_sim;
namespace lsim = keybridge::tests::ledger_sim;
using namespace std::chrono_literals;

// The vault of DaemonTest holds m/44'/60'/0'/0/0 of "all all ... all" as a software account:
// the Trezor account is the next one (--index 1), on the simulator and on an emulator loaded
// with the same phrase (the vendor's test phrase).
constexpr const char* kAllPhrase = "all all all all all all all all all all all all";
constexpr const char* kTrezorPath = "m/44'/60'/0'/0/1";

template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout = 20s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

core::Address address_of(std::string_view phrase, const std::string& path,
                         std::string_view passphrase = "") {
    auto seed = core::bip39::seed_from_mnemonic(phrase, passphrase);
    auto key = core::bip32::ethereum_private_key(seed->view(), path);
    return core::PublicKey::from_private(*key).address();
}

std::string signer_of(const core::Hash32& digest, const json::value& signature) {
    if (!signature.is_string()) return "";
    auto bytes = core::hex_decode(signature.as_string(), core::HexPrefix::Required);
    if (!bytes || bytes->size() != 65) return "";
    auto sig = core::RecoverableSignature::from_rsv(*bytes);
    if (!sig) return "";
    auto key = core::recover_public_key(digest, *sig);
    return key ? key->address().to_checksum_string() : "";
}

const char* outside_emulator() {
    const char* e = std::getenv("KEYBRIDGE_TREZOR_EMULATOR");
    return e != nullptr && *e != '\0' ? e : nullptr;
}

// Answers the first needs-input stage of `kind` with `answer` (a PIN's positions are computed
// when the stage is seen: the device scrambles its grid for each request).
bool answer_input(const ControlClient& control, const std::string& kind,
                  const std::function<std::string()>& answer, json::value* seen = nullptr) {
    return eventually([&] {
        const json::value pending = control.result("keybridge_pendingApprovals");
        for (const auto& p : pending.as_array()) {
            if (p.at("stage") == json::value("needs-input") && p.at("input") == json::value(kind)) {
                if (seen != nullptr) *seen = p;
                control.result("keybridge_respond",
                               json::array{p.at("id"), json::object{{kind, answer()}}});
                return true;
            }
        }
        return false;
    });
}

// On an outside emulator nobody presses its buttons: while a request is on the device (its
// approval at the "on-device" stage), this thumb sends DebugLinkDecision(yes) to the emulator's
// DebugLink port (the next one up) every half second, as the vendor's own tests press them.
class EmulatorThumb {
  public:
    EmulatorThumb(std::string control_path, const std::string& endpoint) {
        auto host_port = drivers::trezor::parse_host_port(endpoint);
        if (!host_port) return;
        auto debug = drivers::trezor::UdpReportDevice::open(
            host_port->first, static_cast<std::uint16_t>(host_port->second + 1));
        if (!debug) return;
        debug_ = std::move(*debug);
        thread_ = std::thread([this, control = ControlClient(std::move(control_path))] {
            while (!stop_.load()) {
                bool on_device = false;
                const json::value pending = control.call("keybridge_pendingApprovals");
                const json::value* list =
                    pending.is_object() ? pending.as_object().if_contains("result") : nullptr;
                if (list != nullptr && list->is_array()) {
                    for (const auto& p : list->as_array())
                        on_device = on_device || p.at("stage") == json::value("on-device");
                }
                if (on_device) {
                    const core::Bytes yes{0x08, 0x01};  // field 1 = 1: yes_no / button YES
                    for (const auto& r : drivers::trezor::encode_reports(kDebugLinkDecision, yes))
                        (void)debug_->write(r);
                    std::this_thread::sleep_for(500ms);
                } else {
                    std::this_thread::sleep_for(100ms);
                }
            }
        });
    }
    ~EmulatorThumb() {
        stop_.store(true);
        if (thread_.joinable()) thread_.join();
    }
    EmulatorThumb(const EmulatorThumb&) = delete;
    EmulatorThumb& operator=(const EmulatorThumb&) = delete;

  private:
    static constexpr std::uint16_t kDebugLinkDecision = 100;
    std::unique_ptr<drivers::trezor::UdpReportDevice> debug_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

class TrezorDevices : public DaemonTest {
  protected:
    void TearDown() override {
        thumb_.reset();
        DaemonTest::TearDown();
        for (auto& s : sims_)
            s.reset();
    }

    // A simulator on a free port (or the outside emulator): its "HOST:PORT".
    std::string start_sim(tsim::SimConfig config = {}) {
        if (outside_emulator() != nullptr && sims_.empty()) {
            sims_.push_back(nullptr);
            return outside_emulator();
        }
        auto sim = std::make_unique<tsim::SimServer>(
            std::make_shared<tsim::SimDevice>(std::move(config)), 0);
        EXPECT_TRUE(sim->start());
        const std::string endpoint = "127.0.0.1:" + std::to_string(sim->port());
        sims_.push_back(std::move(sim));
        return endpoint;
    }
    tsim::SimServer* sim(std::size_t i = 0) { return sims_.at(i).get(); }

    // keybridged with these emulators and no USB; waits until `count` Trezors are attached.
    void start_with(const std::vector<std::string>& endpoints, std::vector<std::string> extra = {},
                    std::size_t count = 1) {
        std::vector<std::string> args{"--usb", "off"};
        for (const auto& e : endpoints)
            args.insert(args.end(), {"--trezor-emulator", e});
        args.insert(args.end(), extra.begin(), extra.end());
        ASSERT_NO_FATAL_FAILURE(start(args));
        if (outside_emulator() != nullptr)
            thumb_ = std::make_unique<EmulatorThumb>(control_path(), outside_emulator());
        ASSERT_TRUE(eventually([&] {
            std::size_t attached = 0;
            for (const auto& d : devices())
                attached += d.at("attached") == json::value(true) ? 1 : 0;
            return attached >= count;
        })) << json::serialize(devices())
            << daemon_.log();
    }

    json::array devices() const { return local().result("keybridge_devices").as_array(); }
    json::object trezor_listed() const {
        for (const auto& d : devices())
            if (d.at("family") == json::value("trezor")) return d.as_object();
        return {};
    }

    std::string run_tool(std::vector<std::string> args, int expected = 0) {
        std::vector<std::string> argv{KEYBRIDGE_CLI_PATH, "--datadir", datadir_};
        argv.insert(argv.end(), args.begin(), args.end());
        std::string output;
        EXPECT_EQ(run_program(argv, &output), expected) << output;
        return output;
    }

    // `keybridge account add --trezor`, then the account is shared with the local caller.
    void add_and_share(std::vector<std::string> more = {}) {
        std::vector<std::string> args{"account", "add", "--trezor", "--index", "1"};
        args.insert(args.end(), more.begin(), more.end());
        const std::string added = run_tool(args);
        ASSERT_NE(added.find(trezor_address_.to_checksum_string()), std::string::npos) << added;
        ASSERT_TRUE(wait_accounts(2, 10s));
        Approver approver(control_path(), approve_sharing_all());
        local().result("eth_requestAccounts");
    }

    json::value sign_message(const std::string& text) const {
        return local().call("personal_sign",
                            json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                        json::string(trezor_address_.to_lower_string())});
    }

    std::vector<std::unique_ptr<tsim::SimServer>> sims_;
    std::unique_ptr<EmulatorThumb> thumb_;
    const core::Address trezor_address_ = address_of(kAllPhrase, kTrezorPath);
};

TEST_F(TrezorDevices, TheEmulatorIsListedFromItsFeaturesAndTheDoctorExplainsIt) {
    const std::string endpoint = start_sim();
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    const json::object d = trezor_listed();
    ASSERT_FALSE(d.empty()) << json::serialize(devices());
    EXPECT_EQ(d.at("transport"), json::value("emulator"));
    EXPECT_EQ(d.at("location"), json::value("trezor-emulator:" + endpoint));
    EXPECT_EQ(d.at("state"), json::value("ready"));
    EXPECT_EQ(d.at("attached"), json::value(true));
    ASSERT_TRUE(d.at("id").is_string());
    EXPECT_EQ(std::string(d.at("id").as_string()).rfind("trezor:", 0), 0u);
    if (sim() != nullptr) {
        EXPECT_EQ(d.at("id"), json::value("trezor:KBSIM0000000001"));
        EXPECT_EQ(d.at("model"), json::value("Trezor Model T"));
        EXPECT_EQ(d.at("firmware"), json::value("2.8.1"));
        EXPECT_EQ(d.at("label"), json::value("keybridge simulator"));
    }
    const std::string listed = run_tool({"devices"});
    EXPECT_NE(listed.find(std::string(d.at("model").as_string())), std::string::npos) << listed;
    EXPECT_NE(listed.find("firmware"), std::string::npos) << listed;
    const std::string doctor = run_tool({"doctor"});
    EXPECT_NE(doctor.find("keybridge account add --trezor --index 0"), std::string::npos) << doctor;
}

TEST_F(TrezorDevices, EveryMethodIsSignedOnTheTrezorAndARejectionThereIs4001) {
    const std::string endpoint = start_sim();
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    const std::string identity(trezor_listed().at("id").as_string());
    ASSERT_NO_FATAL_FAILURE(add_and_share());
    {
        auto vault = vault::Vault::open(datadir_);
        ASSERT_TRUE(vault);
        const vault::Account* account = vault->find(trezor_address_);
        ASSERT_NE(account, nullptr);
        EXPECT_EQ(account->device, identity);
        EXPECT_EQ(account->path, kTrezorPath);
    }
    Approver approver(control_path(), approve_sharing_all());
    const std::string from = trezor_address_.to_checksum_string();

    // personal_sign
    const std::string text = "signed on the simulated Trezor";
    const json::value message = sign_message(text);
    ASSERT_TRUE(message.as_object().contains("result")) << message;
    auto sig = core::hex_decode(message.at("result").as_string(), core::HexPrefix::Required);
    ASSERT_TRUE(sig);
    auto recovered = core::recover_personal_signer(core::as_bytes(text), *sig);
    ASSERT_TRUE(recovered);
    EXPECT_EQ(*recovered, trezor_address_);

    // eth_signTypedData_v4 (the struct/value protocol on a Model T)
    json::value typed = test::load_json("eip712-mail-example.json").at("typedData");
    auto parsed = core::eip712::parse(typed);
    ASSERT_TRUE(parsed);
    auto digest = core::eip712::signing_hash(*parsed, core::eip712::Version::V4);
    ASSERT_TRUE(digest);
    const json::value typed_sig =
        local().result("eth_signTypedData_v4", json::array{json::string(from), typed});
    EXPECT_EQ(signer_of(*digest, typed_sig), from);

    // eth_signTransaction: legacy (EIP-155) and EIP-1559, each decoded and its sender recovered
    const std::vector<json::object> txs{json::object{{"from", from},
                                                     {"to", kFirstAccount},
                                                     {"gas", "0x5208"},
                                                     {"gasPrice", "0x3b9aca00"},
                                                     {"nonce", "0x0"},
                                                     {"value", "0x1"},
                                                     {"chainId", "0x1"}},
                                        json::object{{"from", from},
                                                     {"to", kFirstAccount},
                                                     {"gas", "0x5208"},
                                                     {"maxFeePerGas", "0x3b9aca00"},
                                                     {"maxPriorityFeePerGas", "0x1"},
                                                     {"nonce", "0x1"},
                                                     {"value", "0x2"},
                                                     {"data", "0x" + std::string(200, 'a')},
                                                     {"chainId", "0x1"}}};
    for (const auto& tx : txs) {
        const json::value raw = local().call("eth_signTransaction", json::array{tx});
        ASSERT_TRUE(raw.as_object().contains("result")) << raw;
        const json::value& result = raw.at("result");
        const json::value& hex = result.is_object() ? result.at("raw") : result;
        auto bytes = core::hex_decode(hex.as_string(), core::HexPrefix::Required);
        ASSERT_TRUE(bytes);
        auto decoded = core::decode_signed(*bytes);
        ASSERT_TRUE(decoded) << decoded.error().detail;
        EXPECT_EQ(decoded->sender, trezor_address_);
    }

    if (sim() == nullptr) {
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: the rejection needs the simulated "
                        "person";
    }
    sim()->device().set_answer(tsim::UserAnswer::Reject);
    const json::value rejected = sign_message("no");
    ASSERT_TRUE(rejected.as_object().contains("error")) << rejected;
    EXPECT_EQ(rejected.at("error").at("code"), json::value(4001)) << rejected;
}

TEST_F(TrezorDevices, ThePinMatrixIsANeedsInputStageTheApproverAnswersWithPositions) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: the PIN test needs the simulator's PIN";
    tsim::SimConfig config;
    config.pin = "1234";
    const std::string endpoint = start_sim(config);
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    // `account add` asks the address without a person to type the PIN (keybridge_deviceAddress
    // refuses a locked device): the record is written into the vault directly here, and
    // keybridged's vault watcher picks it up.
    ASSERT_TRUE(wait_accounts(1));
    {
        auto vault = vault::Vault::open(datadir_);
        ASSERT_TRUE(vault);
        auto added = vault->add_hardware_account(trezor_address_, "trezor:KBSIM0000000001",
                                                 kTrezorPath, "pin trezor");
        ASSERT_TRUE(added) << added.error().detail;
    }
    ASSERT_TRUE(wait_accounts(2, 10s));
    {
        Approver sharer(control_path(), approve_sharing_all());
        local().result("eth_requestAccounts");
    }
    Approver approver(control_path(), approve_sharing_all());
    auto answer = std::async(std::launch::async, [&] { return sign_message("behind a PIN"); });
    // The approver sees the needs-input stage and answers with the positions of the PIN's
    // digits on the device's scrambled grid (which only the device shows).
    json::value asked;
    const bool answered = answer_input(
        control(), "pin", [&] { return sim()->device().positions_for("1234"); }, &asked);
    ASSERT_TRUE(answered);
    EXPECT_NE(std::string(asked.at("note").as_string()).size(), 0u) << asked;
    const json::value signed_message = answer.get();
    ASSERT_TRUE(signed_message.as_object().contains("result")) << signed_message;
    auto sig = core::hex_decode(signed_message.at("result").as_string(), core::HexPrefix::Required);
    ASSERT_TRUE(sig);
    auto recovered =
        core::recover_personal_signer(core::as_bytes(std::string("behind a PIN")), *sig);
    ASSERT_TRUE(recovered);
    EXPECT_EQ(*recovered, trezor_address_);
}

TEST_F(TrezorDevices, APassphraseTheDeviceCannotTakeIsAskedThroughTheApprover) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: the test needs a passphrase-protected "
                        "simulated Trezor One";
    tsim::SimConfig config;
    config.model = "1";  // no passphrase entry on the device: the host asks
    config.passphrase_protection = true;
    const std::string endpoint = start_sim(config);
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    // The hidden wallet's account, as recorded for this device.
    const core::Address hidden = address_of(kAllPhrase, kTrezorPath, "hidden words");
    ASSERT_TRUE(wait_accounts(1));
    {
        auto vault = vault::Vault::open(datadir_);
        ASSERT_TRUE(vault);
        ASSERT_TRUE(
            vault->add_hardware_account(hidden, "trezor:KBSIM0000000001", kTrezorPath, "hidden"));
    }
    ASSERT_TRUE(wait_accounts(2, 10s));
    {
        Approver sharer(control_path(), approve_sharing_all());
        local().result("eth_requestAccounts");
    }
    Approver approver(control_path(), approve_sharing_all());
    const std::string text = "from the hidden wallet";
    auto answer = std::async(std::launch::async, [&] {
        return local().call("personal_sign",
                            json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                        json::string(hidden.to_lower_string())});
    });
    ASSERT_TRUE(answer_input(control(), "passphrase", [] { return std::string("hidden words"); }));
    const json::value signed_message = answer.get();
    ASSERT_TRUE(signed_message.as_object().contains("result")) << signed_message;
    auto sig = core::hex_decode(signed_message.at("result").as_string(), core::HexPrefix::Required);
    ASSERT_TRUE(sig);
    auto recovered = core::recover_personal_signer(core::as_bytes(text), *sig);
    ASSERT_TRUE(recovered);
    EXPECT_EQ(*recovered, hidden);
    // The passphrase never reaches the log.
    EXPECT_EQ(daemon_.log().find("hidden words"), std::string::npos);
}

TEST_F(TrezorDevices, ALockedTrezorIsListedLockedAndAWrongPinIsAClearErrorNotRetried) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: the test needs the simulator's PIN";
    tsim::SimConfig config;
    config.pin = "1234";
    config.pin_backoff_unit = 1500ms;  // the device waits this long after one wrong PIN
    const std::string endpoint = start_sim(config);
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    // Features.unlocked is false: listed "locked", yet attached (the PIN is asked when it signs).
    json::object listed = trezor_listed();
    EXPECT_EQ(listed.at("state"), json::value("locked")) << listed;
    EXPECT_EQ(listed.at("attached"), json::value(true)) << listed;
    const std::string shown = run_tool({"devices"});
    EXPECT_NE(shown.find("locked"), std::string::npos) << shown;
    const std::string doctor = run_tool({"doctor"});
    EXPECT_NE(doctor.find("[ok]      Trezor Model T (trezor-emulator:" + endpoint + "): locked"),
              std::string::npos)
        << doctor;
    ASSERT_TRUE(wait_accounts(1));
    {
        auto vault = vault::Vault::open(datadir_);
        ASSERT_TRUE(vault);
        ASSERT_TRUE(vault->add_hardware_account(trezor_address_, "trezor:KBSIM0000000001",
                                                kTrezorPath, "pin trezor"));
    }
    ASSERT_TRUE(wait_accounts(2, 10s));
    {
        Approver sharer(control_path(), approve_sharing_all());
        local().result("eth_requestAccounts");
    }
    Approver approver(control_path(), approve_sharing_all());
    auto count_acks = [&] {
        int n = 0;
        for (const auto& name : sim()->device().received())
            n += name == "PinMatrixAck" ? 1 : 0;
        return n;
    };
    // A wrong PIN: a clear JSON-RPC error naming it; the daemon does not try again by itself.
    auto wrong = std::async(std::launch::async, [&] { return sign_message("wrong PIN"); });
    ASSERT_TRUE(
        answer_input(control(), "pin", [&] { return sim()->device().positions_for("4321"); }));
    const json::value refused = wrong.get();
    ASSERT_TRUE(refused.as_object().contains("error")) << refused;
    EXPECT_EQ(refused.at("error").at("code"), json::value(4100)) << refused;
    EXPECT_NE(std::string(refused.at("error").at("message").as_string()).find("wrong PIN"),
              std::string::npos)
        << refused;
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(count_acks(), 1);
    EXPECT_EQ(sim()->device().wrong_pins(), 1);
    EXPECT_TRUE(control().result("keybridge_pendingApprovals").as_array().empty());
    // The next request: the device checks the PIN only after its back-off, which keybridged
    // waits out (a person-sized timeout, not a device one) before the signature.
    auto right = std::async(std::launch::async, [&] { return sign_message("right PIN"); });
    ASSERT_TRUE(
        answer_input(control(), "pin", [&] { return sim()->device().positions_for("1234"); }));
    const auto answered = std::chrono::steady_clock::now();
    const json::value signed_message = right.get();
    EXPECT_GE(std::chrono::steady_clock::now() - answered, 1400ms);
    ASSERT_TRUE(signed_message.as_object().contains("result")) << signed_message;
    EXPECT_EQ(count_acks(), 2);
    // Unlocked now: the listing says so at its next look.
    EXPECT_TRUE(eventually([&] { return trezor_listed().at("state") == json::value("ready"); }))
        << json::serialize(trezor_listed());
}

TEST_F(TrezorDevices, AccountAddOnAPinAndPassphraseProtectedTrezorAsksThroughTheApprover) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: the test needs the simulator's PIN";
    tsim::SimConfig config;
    config.model = "1";  // the host takes the PIN positions and the passphrase
    config.pin = "1234";
    config.passphrase_protection = true;
    const std::string endpoint = start_sim(config);
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    const core::Address hidden = address_of(kAllPhrase, kTrezorPath, "tool words");
    // keybridge account add without a terminal: the PIN and passphrase are needs-input stages of
    // its address request, which an approver answers.
    auto added = std::async(std::launch::async, [&] {
        std::string output;
        const int code = run_program({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "account", "add",
                                      "--trezor", "--index", "1"},
                                     &output);
        return std::make_pair(code, output);
    });
    json::value asked;
    ASSERT_TRUE(answer_input(
        control(), "pin", [&] { return sim()->device().positions_for("1234"); }, &asked));
    EXPECT_EQ(asked.at("method"), json::value("keybridge_deviceAddress")) << asked;
    EXPECT_EQ(asked.at("details").at("path"), json::value(kTrezorPath)) << asked;
    ASSERT_TRUE(answer_input(control(), "passphrase", [] { return std::string("tool words"); }));
    const auto [code, output] = added.get();
    ASSERT_EQ(code, 0) << output;
    EXPECT_NE(output.find(hidden.to_checksum_string()), std::string::npos) << output;
    EXPECT_NE(output.find("answer it in an approver"), std::string::npos) << output;
    EXPECT_EQ(output.find("tool words"), std::string::npos) << output;
    EXPECT_EQ(daemon_.log().find("tool words"), std::string::npos);
    {
        auto vault = vault::Vault::open(datadir_);
        ASSERT_TRUE(vault);
        const vault::Account* account = vault->find(hidden);
        ASSERT_NE(account, nullptr);
        EXPECT_EQ(account->device, "trezor:KBSIM0000000001");
        EXPECT_EQ(account->path, kTrezorPath);
    }
    EXPECT_TRUE(control().result("keybridge_pendingApprovals").as_array().empty());
    // It signs for that hidden-wallet account (the passphrase stays cached in the session).
    ASSERT_TRUE(wait_accounts(2, 10s));
    {
        Approver sharer(control_path(), approve_sharing_all());
        local().result("eth_requestAccounts");
    }
    Approver approver(control_path(), approve_sharing_all());
    const std::string text = "from the account added behind a PIN";
    const json::value signed_message = local().call(
        "personal_sign", json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                     json::string(hidden.to_lower_string())});
    ASSERT_TRUE(signed_message.as_object().contains("result")) << signed_message;
    auto sig = core::hex_decode(signed_message.at("result").as_string(), core::HexPrefix::Required);
    ASSERT_TRUE(sig);
    auto recovered = core::recover_personal_signer(core::as_bytes(text), *sig);
    ASSERT_TRUE(recovered);
    EXPECT_EQ(*recovered, hidden);
}

TEST_F(TrezorDevices, ARequestForTheAccountOfATrezorInBootloaderModeSaysSo) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: bootloader mode needs the simulator";
    tsim::SimConfig boot;
    boot.bootloader_mode = true;
    const std::string endpoint = start_sim(boot);
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}, {}, 0));
    ASSERT_TRUE(eventually([&] {
        const json::object d = trezor_listed();
        return !d.empty() && d.at("state") == json::value("bootloader");
    })) << json::serialize(devices());
    ASSERT_TRUE(wait_accounts(1));
    {
        auto vault = vault::Vault::open(datadir_);
        ASSERT_TRUE(vault);
        ASSERT_TRUE(vault->add_hardware_account(trezor_address_, "trezor:KBSIM0000000001",
                                                kTrezorPath, "in bootloader"));
    }
    ASSERT_TRUE(wait_accounts(2, 10s));
    {
        Approver sharer(control_path(), approve_sharing_all());
        local().result("eth_requestAccounts");
    }
    const json::value refused = sign_message("while in the bootloader");
    ASSERT_TRUE(refused.as_object().contains("error")) << refused;
    EXPECT_EQ(refused.at("error").at("code"), json::value(4900)) << refused;
    const std::string why(refused.at("error").at("message").as_string());
    EXPECT_EQ(why.rfind("Trezor Model T is in bootloader mode: ", 0), 0u) << why;
    EXPECT_NE(why.find(trezor_address_.to_checksum_string()), std::string::npos) << why;
    std::string output;
    EXPECT_NE(run_program({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "account", "add", "--trezor",
                           "--index", "0"},
                          &output),
              0);
    EXPECT_NE(output.find("Trezor Model T is in bootloader mode: "), std::string::npos) << output;
    EXPECT_EQ(sim()->device().button_requests(), 0);
}

TEST_F(TrezorDevices, BootloaderModeIsListedAndRefusedAndThpOnlyIsReportedUnsupported) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: these modes need the simulator";
    tsim::SimConfig boot;
    boot.bootloader_mode = true;
    const std::string bootloader = start_sim(boot);
    tsim::SimConfig thp;
    thp.thp_only = true;
    const std::string thp_only = start_sim(thp);
    const auto started = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(start_with({bootloader, thp_only}, {}, 0));
    json::object in_bootloader, unsupported;
    ASSERT_TRUE(eventually([&] {
        for (const auto& d : devices()) {
            if (d.at("location") == json::value("trezor-emulator:" + bootloader))
                in_bootloader = d.as_object();
            if (d.at("location") == json::value("trezor-emulator:" + thp_only))
                unsupported = d.as_object();
        }
        return !in_bootloader.empty() && in_bootloader.at("state") != json::value("connecting") &&
               !unsupported.empty() && unsupported.at("state") != json::value("connecting");
    })) << json::serialize(devices());
    // Nothing hangs: both are reported within seconds.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
    EXPECT_EQ(in_bootloader.at("state"), json::value("bootloader")) << in_bootloader;
    EXPECT_EQ(in_bootloader.at("attached"), json::value(false));
    EXPECT_NE(std::string(in_bootloader.at("detail").as_string()).find("bootloader mode"),
              std::string::npos);
    EXPECT_EQ(unsupported.at("state"), json::value("unsupported")) << unsupported;
    EXPECT_NE(std::string(unsupported.at("detail").as_string()).find("THP"), std::string::npos);
    EXPECT_EQ(unsupported.at("attached"), json::value(false));
    const std::string doctor = run_tool({"doctor"}, 0);
    EXPECT_NE(doctor.find("in bootloader mode: nothing is signed on it"), std::string::npos)
        << doctor;
    EXPECT_NE(doctor.find("not supported yet"), std::string::npos) << doctor;
    // No account can be added from either.
    std::string refused;
    EXPECT_NE(run_program({KEYBRIDGE_CLI_PATH, "--datadir", datadir_, "account", "add", "--trezor",
                           "--index", "0"},
                          &refused),
              0);
    EXPECT_FALSE(refused.empty());
}

TEST_F(TrezorDevices, ASimulatorKilledMidRequestEndsItClearlyAndKeybridgedKeepsServing) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: this test kills the simulator";
    const std::string endpoint = start_sim();
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    ASSERT_NO_FATAL_FAILURE(add_and_share());
    sim()->device().set_delay(30s);  // the person takes their time on the device
    Approver approver(control_path(), approve_sharing_all());
    auto answer = std::async(std::launch::async, [&] { return sign_message("never finished"); });
    ASSERT_TRUE(eventually([&] {
        const json::value pending = control().result("keybridge_pendingApprovals");
        for (const auto& p : pending.as_array())
            if (p.at("stage") == json::value("on-device")) return true;
        return false;
    }));
    sims_[0].reset();  // the simulator dies
    ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
    const json::value failed = answer.get();
    ASSERT_TRUE(failed.as_object().contains("error")) << failed;
    const std::string why(failed.at("error").at("message").as_string());
    EXPECT_FALSE(why.empty());
    EXPECT_NE(failed.at("error").at("code"), json::value(4001)) << failed;
    // keybridged still serves, and lists the emulator as unreachable.
    EXPECT_EQ(local().result("keybridge_status").at("unlocked"), json::value(true));
    EXPECT_TRUE(eventually([&] {
        return trezor_listed().at("state") == json::value("unreachable");
    })) << json::serialize(devices());
    const json::value refused = sign_message("while it is gone");
    ASSERT_TRUE(refused.as_object().contains("error")) << refused;
    EXPECT_EQ(refused.at("error").at("code"), json::value(4900)) << refused;
}

TEST_F(TrezorDevices, WhenTheClientLeavesTheDeviceGetsCancelAndTheNextRequestIsSigned) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: the test reads what the simulator got";
    const std::string endpoint = start_sim();
    ASSERT_NO_FATAL_FAILURE(start_with({endpoint}));
    ASSERT_NO_FATAL_FAILURE(add_and_share());
    sim()->device().set_delay(30s);  // nobody presses the button
    Approver approver(control_path(), approve_sharing_all());
    // A client that gives up after two seconds: its connection closes while the device waits.
    const RpcClient impatient(port(), local_caller(), 2s);
    const HttpResponse gave_up = impatient.post(
        body("personal_sign",
             json::array{json::string(core::hex_encode(core::as_bytes(std::string("abandoned")))),
                         json::string(trezor_address_.to_lower_string())}));
    EXPECT_FALSE(gave_up.json().is_object()) << gave_up.body;
    EXPECT_TRUE(eventually([&] {
        for (const auto& name : sim()->device().received())
            if (name == "Cancel") return true;
        return false;
    }));
    sim()->device().set_delay(0ms);
    const json::value next = sign_message("after the cancel");
    EXPECT_TRUE(next.as_object().contains("result")) << next;
}

TEST_F(TrezorDevices, ALedgerSimulatorAndATrezorSimulatorServeAtOnce) {
    const std::string trezor_endpoint = start_sim();
    lsim::User user;
    auto app = lsim::EthApp::from_mnemonic(lsim::kSpeculosDefaultPhrase, "", user);
    ASSERT_TRUE(app) << app.error().detail;
    auto ledger = lsim::ApduTcpServer::start(**app, user, 0);
    ASSERT_TRUE(ledger) << ledger.error().detail;
    const std::string ledger_endpoint = "127.0.0.1:" + std::to_string((*ledger)->port());
    ASSERT_NO_FATAL_FAILURE(start_with({trezor_endpoint}, {"--speculos", ledger_endpoint}, 2));
    EXPECT_EQ(devices().size(), 2u);
    // Each kind's account comes from its own device, though both are attached.
    ASSERT_NO_FATAL_FAILURE(add_and_share());
    const core::Address ledger_address =
        address_of(lsim::kSpeculosDefaultPhrase, "m/44'/60'/0'/0/0");
    const std::string added = run_tool({"account", "add", "--ledger", "--index", "0"});
    ASSERT_NE(added.find(ledger_address.to_checksum_string()), std::string::npos) << added;
    ASSERT_TRUE(wait_accounts(3, 10s));
    Approver approver(control_path(), approve_sharing_all());
    local().result("eth_requestAccounts");
    const json::value on_trezor = sign_message("to the Trezor");
    ASSERT_TRUE(on_trezor.as_object().contains("result")) << on_trezor;
    const std::string text = "to the Ledger";
    const json::value on_ledger = local().call(
        "personal_sign", json::array{json::string(core::hex_encode(core::as_bytes(text))),
                                     json::string(ledger_address.to_lower_string())});
    ASSERT_TRUE(on_ledger.as_object().contains("result")) << on_ledger;
    auto sig = core::hex_decode(on_ledger.at("result").as_string(), core::HexPrefix::Required);
    ASSERT_TRUE(sig);
    auto recovered = core::recover_personal_signer(core::as_bytes(text), *sig);
    ASSERT_TRUE(recovered);
    EXPECT_EQ(*recovered, ledger_address);
}

TEST_F(TrezorDevices, AnAccountOfAnotherTrezorIsNeverSignedByTheOneConnected) {
    if (outside_emulator() != nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is set: this test needs two simulators";
    // Two Trezors with the same phrase: the account belongs to the first one.
    const std::string first = start_sim();
    tsim::SimConfig other;
    other.device_id = "KBSIM0000000002";
    const std::string second = start_sim(other);
    ASSERT_NO_FATAL_FAILURE(start_with({first, second}, {}, 2));
    ASSERT_NO_FATAL_FAILURE(add_and_share({"--device", "trezor:KBSIM0000000001"}));
    sims_[0].reset();  // the first one goes away
    ASSERT_TRUE(eventually([&] {
        for (const auto& d : devices())
            if (d.at("id") == json::value("trezor:KBSIM0000000001") &&
                d.at("attached") == json::value(true))
                return false;
        return true;
    }));
    const int buttons_before = sim(1)->device().button_requests();
    Approver approver(control_path(), approve_sharing_all());
    const json::value refused = sign_message("not for the second Trezor");
    ASSERT_TRUE(refused.as_object().contains("error")) << refused;
    EXPECT_EQ(refused.at("error").at("code"), json::value(4900)) << refused;
    EXPECT_NE(
        std::string(refused.at("error").at("message").as_string()).find("trezor:KBSIM0000000001"),
        std::string::npos)
        << refused;
    EXPECT_EQ(sim(1)->device().button_requests(), buttons_before);
}

// Says, in the test output, which device the tests above ran against.
TEST(TrezorDevicesTarget, OutsideEmulator) {
    if (outside_emulator() == nullptr)
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR is not set: the Trezor device tests ran "
                        "against the project's simulator, not a vendor emulator";
    auto host_port = drivers::trezor::parse_host_port(outside_emulator());
    ASSERT_TRUE(host_port) << host_port.error().detail;
    auto device = drivers::trezor::UdpReportDevice::open(host_port->first, host_port->second);
    ASSERT_TRUE(device) << device.error().detail;
    EXPECT_TRUE((*device)->ping(2s)) << "no PONGPONG from " << outside_emulator();
}

}  // namespace
}  // namespace keybridge::test::e2e
