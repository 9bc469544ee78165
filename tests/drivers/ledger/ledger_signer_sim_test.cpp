// LedgerSigner end to end on keybridge's Ledger simulator (tests/tools/ledger_sim) over the
// Speculos TCP protocol: a person who holds, rejects or is not there, a device unplugged in the
// middle of a request, another seed, blind signing, old apps.
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/eip191.h"
#include "core/eip712.h"
#include "core/transaction.h"
#include "drivers/ledger/ledger_signer.h"
#include "drivers/ledger/speculos_channel.h"
#include "tests/drivers/ledger/ledger_test_util.h"
#include "tests/tools/ledger_sim/eth_app.h"
#include "tests/tools/ledger_sim/transports.h"

namespace keybridge::drivers::ledger {
namespace {

namespace sim = keybridge::tests::ledger_sim;
using core::ErrorCode;
using namespace std::chrono_literals;
using test::ledger::kAddress;
using test::ledger::kPath;

class CountingPrompter final : public core::Prompter {
  public:
    void on_device(std::string_view what) override {
        std::lock_guard lock(mutex);
        shown.emplace_back(what);
    }
    void device_done() override {
        std::lock_guard lock(mutex);
        ++done;
    }
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "");
    }
    std::mutex mutex;
    std::vector<std::string> shown;
    int done = 0;
};

class LedgerOnSimulator : public ::testing::Test {
  protected:
    void start(std::string_view mnemonic = test::ledger::kMnemonic) {
        app_ = std::move(*sim::EthApp::from_mnemonic(mnemonic, "", user_));
        server_ = std::move(*sim::ApduTcpServer::start(*app_, user_, 0));
        auto channel = open_speculos_channel("127.0.0.1", server_->port());
        ASSERT_TRUE(channel) << channel.error().detail;
        LedgerSigner::Options options;
        options.command_timeout = 2s;
        options.user_timeout = 20s;
        signer_ = std::make_unique<LedgerSigner>(std::move(*channel), "ledger:sim", Model::Emulator,
                                                 options);
        signer_->set_keys({account()});
    }
    void TearDown() override {
        signer_.reset();
        server_.reset();
    }
    core::KeyRef account() const { return {*core::Address::parse(kAddress), kPath}; }
    core::SignContext context() { return {stop_.get_token(), prompter_}; }

    sim::User user_;
    std::unique_ptr<sim::EthApp> app_;
    std::unique_ptr<sim::ApduTcpServer> server_;
    std::unique_ptr<LedgerSigner> signer_;
    CountingPrompter prompter_;
    std::stop_source stop_;
};

TEST_F(LedgerOnSimulator, AClientLeavingEndsTheWaitAndTheLateAnswerIsDropped) {
    start();
    user_.set_mode(sim::UserMode::Hold);
    auto pending = std::async(std::launch::async, [&] {
        return signer_->sign_personal_message(context(), account(), core::as_bytes("first"));
    });
    ASSERT_TRUE(user_.wait_for_prompt(5s));
    const auto stopped_at = std::chrono::steady_clock::now();
    stop_.request_stop();
    auto result = pending.get();
    EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 1s);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::Disconnected);
    {
        std::lock_guard lock(prompter_.mutex);
        EXPECT_EQ(prompter_.shown.size(), 1u);
        EXPECT_EQ(prompter_.done, 1);
    }
    EXPECT_TRUE(signer_->ready(account()));
    // The person approves the abandoned prompt after all; the next request is not fooled.
    user_.press(sim::UserAnswer::Approve);
    user_.set_mode(sim::UserMode::Approve);
    stop_ = std::stop_source();
    auto second = signer_->sign_personal_message(context(), account(), core::as_bytes("second"));
    ASSERT_TRUE(second) << second.error().detail;
    auto who = core::recover_personal_signer(core::as_bytes("second"), second->to_rsv());
    ASSERT_TRUE(who);
    EXPECT_EQ(who->to_checksum_string(), kAddress);
}

TEST_F(LedgerOnSimulator, SignsEmptyAndLongPersonalMessages) {
    start();
    for (std::size_t size : {0u, 1u, 125u, 126u, 275u, 1000u}) {
        const std::string text(size, 'k');
        auto sig = signer_->sign_personal_message(context(), account(), core::as_bytes(text));
        ASSERT_TRUE(sig) << size << ": " << sig.error().detail;
        EXPECT_EQ(core::recover_personal_signer(core::as_bytes(text), sig->to_rsv())
                      ->to_checksum_string(),
                  kAddress);
    }
}

TEST_F(LedgerOnSimulator, RejectOnTheDeviceIsUserCancelled) {
    start();
    user_.set_mode(sim::UserMode::Reject);
    auto result = signer_->sign_personal_message(context(), account(), core::as_bytes("no"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::UserCancelled);
}

TEST_F(LedgerOnSimulator, UnpluggedMidRequestIsDisconnectedWithinTwoSeconds) {
    start();
    user_.set_mode(sim::UserMode::Hold);
    auto pending = std::async(std::launch::async, [&] {
        return signer_->sign_personal_message(context(), account(), core::as_bytes("x"));
    });
    ASSERT_TRUE(user_.wait_for_prompt(5s));
    const auto unplugged_at = std::chrono::steady_clock::now();
    server_->unplug();
    auto result = pending.get();
    EXPECT_LT(std::chrono::steady_clock::now() - unplugged_at, 2s);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::Disconnected);
    auto ready = signer_->ready(account());
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, ErrorCode::DeviceNotFound);
}

TEST_F(LedgerOnSimulator, ADeviceWithAnotherSeedNeverSigns) {
    start(sim::kSpeculosDefaultPhrase);
    auto result = signer_->sign_personal_message(context(), account(), core::as_bytes("x"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::DeviceNotFound);
    EXPECT_NE(result.error().detail.find(kAddress), std::string::npos);
    EXPECT_TRUE(user_.prompts().empty());  // nothing was shown on the device
}

core::Transaction contract_call(core::TxType type, core::U256 chain_id) {
    core::Transaction tx;
    tx.type = type;
    tx.chain_id = chain_id;
    tx.nonce = 5;
    tx.gas_price = 1'000'000'000ull;
    tx.max_fee_per_gas = 2'000'000'000ull;
    tx.max_priority_fee_per_gas = 1'000'000'000ull;
    tx.gas_limit = 300000;
    tx.to = *core::Address::parse("0x5555555555555555555555555555555555555555");
    tx.data = core::Bytes(500, 0xcd);
    return tx;
}

TEST_F(LedgerOnSimulator, ContractDataNeedsBlindSigningAndThenSigns) {
    start();
    app_->update_config([](sim::Config& c) { c.blind_signing = false; });
    auto tx = contract_call(core::TxType::Eip1559, 1);
    auto refused = signer_->sign_transaction(context(), account(), tx);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::NotSupported);
    EXPECT_NE(refused.error().detail.find("Blind signing"), std::string::npos);

    app_->update_config([](sim::Config& c) { c.blind_signing = true; });
    for (auto type : {core::TxType::Legacy, core::TxType::Eip2930, core::TxType::Eip1559}) {
        // A chain id beyond one byte of v, and one beyond four bytes.
        for (core::U256 chain : {core::U256(1), core::U256(11297108109ull)}) {
            auto signed_tx =
                signer_->sign_transaction(context(), account(), contract_call(type, chain));
            ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
            EXPECT_EQ(signed_tx->sender.to_checksum_string(), kAddress);
            EXPECT_EQ(signed_tx->tx.chain_id, chain);
        }
    }
}

TEST_F(LedgerOnSimulator, ATokenTransferSignsWhenTheAppRefusesTheDescriptor) {
    start();
    app_->update_config([](sim::Config& c) { c.blind_signing = true; });
    core::Transaction tx = contract_call(core::TxType::Eip1559, 1);
    tx.to = *core::Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7");  // USDT
    tx.data = *core::hex_decode("a9059cbb" + std::string(24, '0') +
                                "70997970c51812dc3a010c7d01b50e0d17dc79c8" + std::string(60, '0') +
                                "2710");
    auto signed_tx = signer_->sign_transaction(context(), account(), tx);
    ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
    EXPECT_EQ(signed_tx->sender.to_checksum_string(), kAddress);
}

TEST_F(LedgerOnSimulator, TypedDataWithLedgersFiltersSigns) {
    start();
    std::ifstream in(std::string(KEYBRIDGE_TEST_DATA_DIR) +
                     "/ledger/hw-app-eth/message-16-permit2.json");
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = core::eip712::parse(text.str());
    ASSERT_TRUE(parsed);
    auto hashed = core::eip712::hash_typed_data(std::move(*parsed), core::eip712::Version::V4);
    ASSERT_TRUE(hashed);
    auto sig = signer_->sign_typed_data(context(), account(), *hashed);
    ASSERT_TRUE(sig) << sig.error().detail;
    EXPECT_EQ(core::recover_public_key(hashed->digest(), *sig)->address().to_checksum_string(),
              kAddress);
}

TEST_F(LedgerOnSimulator, TypedDataOnAnOldAppIsSignedInHashedMode) {
    start();
    app_->update_config([](sim::Config& c) { c.version = {1, 9, 18}; });
    auto typed = core::eip712::parse(std::string_view(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"}],
                "Note": [{"name": "text", "type": "string"}]},
      "primaryType": "Note", "domain": {"name": "old app"}, "message": {"text": "hi"}})"));
    auto hashed = core::eip712::hash_typed_data(std::move(*typed), core::eip712::Version::V4);
    auto sig = signer_->sign_typed_data(context(), account(), *hashed);
    ASSERT_TRUE(sig) << sig.error().detail;
    EXPECT_EQ(core::recover_public_key(hashed->digest(), *sig)->address().to_checksum_string(),
              kAddress);
    std::lock_guard lock(prompter_.mutex);
    ASSERT_EQ(prompter_.shown.size(), 1u);
    EXPECT_NE(prompter_.shown[0].find("hash"), std::string::npos);
}

TEST_F(LedgerOnSimulator, ProbeSeesLockedDashboardAndOtherApps) {
    start();
    auto ready = signer_->probe();
    EXPECT_EQ(ready.state, LedgerState::State::Ready);
    EXPECT_EQ(ready.app_version, "1.13.0");
    app_->update_config([](sim::Config& c) { c.state = sim::DeviceState::Dashboard; });
    EXPECT_EQ(signer_->probe().state, LedgerState::State::Dashboard);
    app_->update_config([](sim::Config& c) { c.state = sim::DeviceState::OtherApp; });
    EXPECT_EQ(signer_->probe().state, LedgerState::State::WrongApp);
    app_->update_config([](sim::Config& c) { c.state = sim::DeviceState::Locked; });
    EXPECT_EQ(signer_->probe().state, LedgerState::State::Locked);
    auto refused = signer_->sign_personal_message(context(), account(), core::as_bytes("x"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::DeviceNotFound);
    EXPECT_NE(refused.error().detail.find("locked"), std::string::npos);
    app_->update_config([](sim::Config& c) { c.state = sim::DeviceState::Ready; });
    EXPECT_EQ(signer_->probe().state, LedgerState::State::Ready);
    EXPECT_TRUE(signer_->sign_personal_message(context(), account(), core::as_bytes("x")));
}

}  // namespace
}  // namespace keybridge::drivers::ledger
