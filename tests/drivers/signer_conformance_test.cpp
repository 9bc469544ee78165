// The signer conformance suite: every implementation of core::Signer (the software keystore
// today, each device simulator as it arrives) must pass the same checks, run through a fake
// prompter. A new signer family adds one SignerHarness below.
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/assert.h"
#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "core/eip712.h"
#include "core/signer.h"
#include "drivers/ledger/hid_channel.h"
#include "drivers/ledger/ledger_signer.h"
#include "drivers/ledger/speculos_channel.h"
#include "drivers/software/software_signer.h"
#include "tests/drivers/trezor/trezor_sim_fixture.h"
#include "tests/drivers/test_device_signer.h"
#include "tests/tools/ledger_sim/eth_app.h"
#include "tests/tools/ledger_sim/transports.h"

namespace keybridge::test {
namespace {

using core::ErrorCode;
namespace json = boost::json;

constexpr std::string_view kMnemonic =
    "test test test test test test test test test test test junk";
constexpr const char* kPath = "m/44'/60'/0'/0/0";
// What every wallet derives from kMnemonic at kPath (anvil's and Hardhat's first account).
constexpr const char* kExpectedAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

// Records what a signer asked the person; answers prompts with preset results.
class FakePrompter final : public core::Prompter {
  public:
    void on_device(std::string_view what) override {
        std::lock_guard lock(mutex_);
        shown.emplace_back(what);
    }
    void device_done() override {
        std::lock_guard lock(mutex_);
        ++done_count;
    }
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "no PIN in this test");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "no passphrase in this test");
    }
    std::mutex mutex_;
    std::vector<std::string> shown;
    int done_count = 0;
};

// One implementation under test: a signer holding the key of kMnemonic at kPath, and a way to
// make it not ready (lock the vault, unplug the device) with the code ready() must then report.
struct SignerHarness {
    std::string name;
    std::function<std::shared_ptr<core::Signer>()> make;
    std::function<void(core::Signer&)> make_unready;
    ErrorCode unready_code;
    // Devices that sign no opaque hashes (Trezor) answer sign_digest with NotSupported.
    bool signs_digests = true;
};

std::shared_ptr<core::Signer> make_software() {
    auto signer = std::make_shared<drivers::software::SoftwareSigner>();
    auto seed = core::bip39::seed_from_mnemonic(kMnemonic, "");
    auto key = core::bip32::ethereum_private_key(seed->view(), kPath);
    const core::Address address = core::PublicKey::from_private(*key).address();
    std::vector<drivers::software::SoftwareSigner::Key> keys;
    keys.push_back({address, std::move(*key)});
    signer->set_keys(std::move(keys), std::move(*seed));
    signer->sync_accounts({{address, kPath}});
    return signer;
}

std::shared_ptr<core::Signer> make_test_device() {
    return std::make_shared<TestDeviceSigner>("ledger:conformance", kMnemonic, kPath,
                                              /*auto_release=*/true);
}

// A LedgerSigner on keybridge's Ledger simulator (tests/tools/ledger_sim), holding kMnemonic,
// reached over the Speculos TCP protocol or over raw HID reports on a socketpair: the real
// driver end to end, transport included. The simulator lives as long as the signer.
namespace ledger_sim = keybridge::tests::ledger_sim;

struct LedgerSimDevice {
    ledger_sim::User user;
    std::unique_ptr<ledger_sim::EthApp> app;
    std::unique_ptr<ledger_sim::ApduTcpServer> server;
    std::thread hid_thread;
    int hid_device_fd = -1;
    std::unique_ptr<drivers::ledger::LedgerSigner> signer;

    ~LedgerSimDevice() {
        signer.reset();  // closes the host end: the HID loop sees end of file
        if (hid_thread.joinable()) hid_thread.join();
        if (hid_device_fd >= 0) ::close(hid_device_fd);
        server.reset();
    }
};

// Which simulator serves which signer, for make_unready.
std::mutex g_ledger_sims_mutex;
std::map<const core::Signer*, std::weak_ptr<LedgerSimDevice>> g_ledger_sims;

std::shared_ptr<core::Signer> make_ledger_sim(bool over_hid) {
    auto device = std::make_shared<LedgerSimDevice>();
    auto app = ledger_sim::EthApp::from_mnemonic(kMnemonic, "", device->user);
    EXPECT_TRUE(app);
    device->app = std::move(*app);
    std::unique_ptr<drivers::ledger::ApduChannel> channel;
    if (over_hid) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        device->hid_device_fd = fds[1];
        device->hid_thread = std::thread(
            [fd = fds[1], app = device->app.get()] { ledger_sim::serve_hid(fd, *app); });
        channel = drivers::ledger::open_fd_hid_channel(fds[0]);
    } else {
        auto server = ledger_sim::ApduTcpServer::start(*device->app, device->user, 0);
        EXPECT_TRUE(server);
        device->server = std::move(*server);
        auto opened = drivers::ledger::open_speculos_channel("127.0.0.1", device->server->port());
        EXPECT_TRUE(opened) << opened.error().detail;
        channel = std::move(*opened);
    }
    auto identity = drivers::ledger::ledger_identity(*channel);
    EXPECT_TRUE(identity) << identity.error().detail;
    device->signer = std::make_unique<drivers::ledger::LedgerSigner>(
        std::move(channel), *identity, drivers::ledger::Model::Emulator);
    device->signer->set_keys({{*core::Address::parse(kExpectedAddress), kPath}});
    EXPECT_EQ(device->signer->probe().state, drivers::ledger::LedgerState::State::Ready);
    std::shared_ptr<core::Signer> signer(device, device->signer.get());
    std::lock_guard lock(g_ledger_sims_mutex);
    g_ledger_sims[signer.get()] = device;
    return signer;
}

// Locks the simulated device; the signer learns it from its next probe, as the daemon's device
// watcher would tell it.
void lock_ledger_sim(core::Signer& signer) {
    std::shared_ptr<LedgerSimDevice> device;
    {
        std::lock_guard lock(g_ledger_sims_mutex);
        device = g_ledger_sims.at(&signer).lock();
    }
    ASSERT_TRUE(device);
    device->app->update_config(
        [](ledger_sim::Config& c) { c.state = ledger_sim::DeviceState::Locked; });
    EXPECT_EQ(device->signer->probe().state, drivers::ledger::LedgerState::State::Locked);
}

// The real Trezor driver over UDP against the simulator (protocol v1, its own framing code).
std::shared_ptr<core::Signer> make_trezor(const std::string& model) {
    trezor_sim::SimConfig config;
    config.mnemonic = std::string(kMnemonic);
    config.model = model;
    auto started = start_trezor(config);
    KEYBRIDGE_ASSERT(started.has_value());
    auto bundle = std::make_shared<TrezorUnderTest>(std::move(*started));
    bundle->signer->set_keys({{*core::Address::parse(kExpectedAddress), kPath}});
    return std::shared_ptr<core::Signer>(bundle, bundle->signer.get());
}

std::vector<SignerHarness> harnesses() {
    return {
        {"software", make_software,
         [](core::Signer& s) { static_cast<drivers::software::SoftwareSigner&>(s).lock(); },
         ErrorCode::VaultLocked},
        {"test_device", make_test_device,
         [](core::Signer& s) { static_cast<TestDeviceSigner&>(s).set_present(false); },
         ErrorCode::DeviceNotFound},
        {"ledger_sim_tcp", [] { return make_ledger_sim(false); }, lock_ledger_sim,
         ErrorCode::DeviceNotFound, /*signs_digests=*/false},
        {"ledger_sim_hid", [] { return make_ledger_sim(true); }, lock_ledger_sim,
         ErrorCode::DeviceNotFound, /*signs_digests=*/false},
        {"trezor_model_t", [] { return make_trezor("T"); },
         [](core::Signer& s) { static_cast<drivers::trezor::TrezorSigner&>(s).set_present(false); },
         ErrorCode::DeviceNotFound, /*signs_digests=*/false},
        {"trezor_one", [] { return make_trezor("1"); },
         [](core::Signer& s) { static_cast<drivers::trezor::TrezorSigner&>(s).set_present(false); },
         ErrorCode::DeviceNotFound, /*signs_digests=*/false},
    };
}

class SignerConformance : public ::testing::TestWithParam<SignerHarness> {
  protected:
    void SetUp() override { signer_ = GetParam().make(); }

    core::KeyRef key() const { return {*core::Address::parse(kExpectedAddress), kPath}; }
    core::SignContext context() { return {stop_.get_token(), prompter_}; }

    std::shared_ptr<core::Signer> signer_;
    FakePrompter prompter_;
    std::stop_source stop_;
};

TEST_P(SignerConformance, DescribesItselfStably) {
    const std::string id = signer_->id();
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(signer_->id(), id);
    const core::SignerInfo info = signer_->info();
    EXPECT_FALSE(info.model.empty());
    // Device families block (they wait for buttons); the software keystore does not.
    EXPECT_EQ(info.blocking, info.family != core::SignerFamily::Software);
    EXPECT_FALSE(core::to_string(info.family).empty());
}

TEST_P(SignerConformance, ListsItsKeyWithPathAndIsReady) {
    auto keys = signer_->keys();
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0], key());
    EXPECT_TRUE(signer_->ready(key()));
}

TEST_P(SignerConformance, UnknownKeyIsNotFound) {
    const core::KeyRef stranger{*core::Address::parse("0x0000000000000000000000000000000000000001"),
                                ""};
    auto ready = signer_->ready(stranger);
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, ErrorCode::NotFound);
    auto sig = signer_->sign_digest(context(), stranger, core::Hash32{});
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::NotFound);
}

TEST_P(SignerConformance, AnswersWhatAddressIsAtItsPath) {
    auto address = signer_->address_at(context(), kPath);
    ASSERT_TRUE(address) << address.error().detail;
    EXPECT_EQ(address->to_checksum_string(), kExpectedAddress);
}

TEST_P(SignerConformance, PersonalMessageSignatureRecoversToTheKey) {
    const std::string text = "conformance: personal_sign";
    auto sig = signer_->sign_personal_message(context(), key(), core::as_bytes(text));
    ASSERT_TRUE(sig) << sig.error().detail;
    auto signer = core::recover_personal_signer(core::as_bytes(text), sig->to_rsv());
    ASSERT_TRUE(signer);
    EXPECT_EQ(signer->to_checksum_string(), kExpectedAddress);
    // Deterministic (RFC 6979): the same message gives the same signature.
    auto again = signer_->sign_personal_message(context(), key(), core::as_bytes(text));
    ASSERT_TRUE(again);
    EXPECT_EQ(*sig, *again);
    EXPECT_TRUE(core::is_low_s(sig->s));
}

TEST_P(SignerConformance, TypedDataSignatureRecoversToTheKey) {
    auto typed = core::eip712::parse(std::string_view(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"},
                                 {"name": "chainId", "type": "uint256"}],
                "Note": [{"name": "text", "type": "string"}]},
      "primaryType": "Note",
      "domain": {"name": "conformance", "chainId": 1},
      "message": {"text": "hello"}})"));
    ASSERT_TRUE(typed) << typed.error().detail;
    auto hashed = core::eip712::hash_typed_data(*typed, core::eip712::Version::V4);
    ASSERT_TRUE(hashed);
    auto sig = signer_->sign_typed_data(context(), key(), *hashed);
    ASSERT_TRUE(sig) << sig.error().detail;
    auto signer = core::eip712::recover_signer(*typed, core::eip712::Version::V4, sig->to_rsv());
    ASSERT_TRUE(signer);
    EXPECT_EQ(signer->to_checksum_string(), kExpectedAddress);
}

TEST_P(SignerConformance, DigestSignatureRecoversToTheKey) {
    core::Hash32 digest{};
    digest.fill(0x5a);
    auto sig = signer_->sign_digest(context(), key(), digest);
    if (!GetParam().signs_digests) {
        // Neither the Ledger Ethereum app nor a Trezor signs raw hashes: a clear NotSupported,
        // never a fake.
        ASSERT_FALSE(sig);
        EXPECT_EQ(sig.error().code, ErrorCode::NotSupported);
        return;
    }
    ASSERT_TRUE(sig) << sig.error().detail;
    auto pub = core::recover_public_key(digest, *sig);
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->address().to_checksum_string(), kExpectedAddress);
}

TEST_P(SignerConformance, TransactionDecodesWithTheKeyAsSender) {
    core::Transaction tx;
    tx.type = core::TxType::Eip1559;
    tx.chain_id = 1;
    tx.nonce = 7;
    tx.gas_limit = 21000;
    tx.max_fee_per_gas = 30'000'000'000ull;
    tx.max_priority_fee_per_gas = 1'000'000'000ull;
    tx.to = *core::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    tx.value = 12345;
    auto signed_tx = signer_->sign_transaction(context(), key(), tx);
    ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
    auto decoded = core::decode_signed(signed_tx->raw);
    ASSERT_TRUE(decoded) << decoded.error().detail;
    EXPECT_EQ(decoded->sender.to_checksum_string(), kExpectedAddress);
    EXPECT_EQ(decoded->tx.nonce, 7u);
    EXPECT_EQ(decoded->hash, signed_tx->hash);
}

TEST_P(SignerConformance, NotReadyIsReportedWithItsOwnCodeAndSignsNothing) {
    GetParam().make_unready(*signer_);
    auto ready = signer_->ready(key());
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, GetParam().unready_code);
    EXPECT_FALSE(ready.error().detail.empty());
    auto sig = signer_->sign_personal_message(context(), key(), core::as_bytes("x"));
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, GetParam().unready_code);
}

// A blocking signer waiting for a person gives up promptly once the request's token stops.
TEST_P(SignerConformance, StoppedRequestNeverSucceedsLate) {
    if (!signer_->info().blocking) GTEST_SKIP() << "signs without waiting";
    auto gated = std::make_shared<TestDeviceSigner>("ledger:gated", kMnemonic, kPath, false);
    std::thread stopper([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        stop_.request_stop();
    });
    auto sig = gated->sign_personal_message(context(), key(), core::as_bytes("x"));
    stopper.join();
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::Disconnected);
    EXPECT_EQ(gated->stopped(), 1);
    std::lock_guard lock(prompter_.mutex_);
    EXPECT_EQ(prompter_.shown.size(), 1u);  // it did say "confirm on the device"
    EXPECT_EQ(prompter_.done_count, 1);
}

INSTANTIATE_TEST_SUITE_P(AllSigners, SignerConformance, ::testing::ValuesIn(harnesses()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace keybridge::test
