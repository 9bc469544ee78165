#include "drivers/ledger/ledger_signer.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/eip191.h"
#include "core/eip712.h"
#include "core/transaction.h"
#include "tests/drivers/ledger/ledger_test_util.h"

namespace keybridge::drivers::ledger {
namespace {

using core::ErrorCode;
using test::ledger::address_reply;
using test::ledger::hex;
using test::ledger::kAddress;
using test::ledger::key_at;
using test::ledger::kPath;
using test::ledger::ScriptedChannel;
using test::ledger::signature_reply;

class RecordingPrompter final : public core::Prompter {
  public:
    void on_device(std::string_view what) override { shown.emplace_back(what); }
    void device_done() override { ++done; }
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "no PIN");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "no passphrase");
    }
    std::vector<std::string> shown;
    int done = 0;
};

const std::string kAppVersionNew = "0108457468657265756d06312e31302e33";  // Ethereum 1.10.3
const std::string kAppVersionOld = "0108457468657265756d06312e392e3138";  // Ethereum 1.9.18

class LedgerSignerTest : public ::testing::Test {
  protected:
    LedgerSignerTest() : key_(key_at(kPath)) {
        auto channel = std::make_unique<ScriptedChannel>();
        channel_ = channel.get();
        LedgerSigner::Options options;
        options.command_timeout = std::chrono::milliseconds(1234);
        options.user_timeout = std::chrono::milliseconds(98765);
        signer_ = std::make_unique<LedgerSigner>(std::move(channel), "ledger:f39fd6e5",
                                                 Model::NanoSPlus, options);
        signer_->set_keys({account()});
    }

    core::KeyRef account() const { return {*core::Address::parse(kAddress), kPath}; }
    core::SignContext context() { return {stop_.get_token(), prompter_}; }
    void expect_address_check() { channel_->ok(address_reply(key_)); }

    core::PrivateKey key_;
    ScriptedChannel* channel_;
    std::unique_ptr<LedgerSigner> signer_;
    RecordingPrompter prompter_;
    std::stop_source stop_;
};

TEST_F(LedgerSignerTest, DescribesItselfAsABlockingLedger) {
    EXPECT_EQ(signer_->id(), "ledger:f39fd6e5");
    const auto info = signer_->info();
    EXPECT_EQ(info.family, core::SignerFamily::Ledger);
    EXPECT_EQ(info.model, "Nano S Plus");
    EXPECT_TRUE(info.blocking);
    ASSERT_EQ(signer_->keys().size(), 1u);
    EXPECT_TRUE(signer_->ready(account()));
    auto stranger = signer_->ready(
        {*core::Address::parse("0x0000000000000000000000000000000000000001"), kPath});
    ASSERT_FALSE(stranger);
    EXPECT_EQ(stranger.error().code, ErrorCode::NotFound);
}

TEST_F(LedgerSignerTest, IdentityIsTheFirstFourBytesOfTheFirstAddress) {
    ScriptedChannel channel;
    channel.ok(address_reply(key_));
    auto id = ledger_identity(channel);
    ASSERT_TRUE(id) << id.error().detail;
    EXPECT_EQ(*id, "ledger:f39fd6e5");
    EXPECT_EQ(core::hex_encode(channel.sent()[0], false),
              "e002000015058000002c8000003c800000000000000000000000");
    ScriptedChannel locked;
    locked.status(0x5515);
    auto refused = ledger_identity(locked);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::DeviceNotFound);
}

TEST_F(LedgerSignerTest, PersonalMessageChecksTheAddressThenSignsOnTheDevice) {
    const std::string text(200, 'm');  // two chunks
    const auto sig = core::sign_personal_message(key_, core::as_bytes(text));
    expect_address_check();
    channel_->ok();
    channel_->ok(signature_reply(sig, static_cast<std::uint8_t>(27 + sig.recovery_id)));
    auto result = signer_->sign_personal_message(context(), account(), core::as_bytes(text));
    ASSERT_TRUE(result) << result.error().detail;
    EXPECT_EQ(*result, sig);

    const auto sent = channel_->sent();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0], *eth::get_address_apdu(kPath, false, false));
    const auto expected = *eth::sign_personal_message_apdus(kPath, core::as_bytes(text));
    EXPECT_EQ(sent[1], expected[0]);
    EXPECT_EQ(sent[2], expected[1]);
    // Only the last chunk waits for the person.
    const auto timeouts = channel_->timeouts();
    EXPECT_EQ(timeouts[0].count(), 1234);
    EXPECT_EQ(timeouts[1].count(), 1234);
    EXPECT_EQ(timeouts[2].count(), 98765);
    ASSERT_EQ(prompter_.shown.size(), 1u);
    EXPECT_NE(prompter_.shown[0].find("Ledger"), std::string::npos);
    EXPECT_EQ(prompter_.done, 1);
}

TEST_F(LedgerSignerTest, ADeviceWithAnotherSeedIsRefusedBeforeAnythingIsSigned) {
    channel_->ok(address_reply(key_at("m/44'/60'/0'/0/1")));
    auto result = signer_->sign_personal_message(context(), account(), core::as_bytes("x"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::DeviceNotFound);
    EXPECT_NE(result.error().detail.find(kAddress), std::string::npos);
    EXPECT_NE(result.error().detail.find("another seed"), std::string::npos);
    EXPECT_EQ(channel_->sent().size(), 1u);  // no signing APDU went out
    EXPECT_TRUE(prompter_.shown.empty());
}

TEST_F(LedgerSignerTest, RejectionOnTheDeviceIsUserCancelledAndEndsThePrompt) {
    expect_address_check();
    channel_->status(0x6985);
    auto result = signer_->sign_personal_message(context(), account(), core::as_bytes("x"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::UserCancelled);
    EXPECT_EQ(prompter_.shown.size(), 1u);
    EXPECT_EQ(prompter_.done, 1);
}

TEST_F(LedgerSignerTest, ASignatureFromAnotherKeyIsNeverReturned) {
    const auto other = key_at("m/44'/60'/0'/0/1");
    const auto sig = core::sign_personal_message(other, core::as_bytes("x"));
    expect_address_check();
    channel_->ok(signature_reply(sig, static_cast<std::uint8_t>(27 + sig.recovery_id)));
    auto result = signer_->sign_personal_message(context(), account(), core::as_bytes("x"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::ProtocolError);
}

core::Transaction make_tx(core::TxType type, core::U256 chain_id) {
    core::Transaction tx;
    tx.type = type;
    tx.chain_id = chain_id;
    tx.nonce = 3;
    tx.gas_price = 7'000'000'000ull;
    tx.max_fee_per_gas = 30'000'000'000ull;
    tx.max_priority_fee_per_gas = 1'000'000'000ull;
    tx.gas_limit = 50000;
    tx.to = *core::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    tx.value = 12345;
    tx.data = core::Bytes(300, 0x5c);  // two chunks
    if (type == core::TxType::Eip2930) {
        tx.access_list.push_back({*core::Address::parse(kAddress), {core::Hash32{}}});
    }
    return tx;
}

std::uint8_t device_v(const core::Transaction& tx, std::uint8_t parity) {
    if (tx.type != core::TxType::Legacy) return parity;
    if (!tx.eip155) return static_cast<std::uint8_t>(27 + parity);
    core::Bytes id = core::u256_to_minimal_be(tx.chain_id);
    if (id.size() > 4) id.resize(4);
    std::uint64_t id32 = 0;
    for (auto b : id)
        id32 = id32 << 8 | b;
    return static_cast<std::uint8_t>((id32 * 2 + 35 + parity) & 0xff);
}

TEST_F(LedgerSignerTest, SignsEveryTransactionTypeIncludingLargeChainIds) {
    struct Case {
        core::TxType type;
        core::U256 chain_id;
        bool eip155;
    };
    const std::vector<Case> cases = {
        {core::TxType::Legacy, 1, true},
        {core::TxType::Legacy, 0, false},
        {core::TxType::Legacy, core::U256(4294967295ull), true},     // 0xffffffff
        {core::TxType::Legacy, core::U256(1099511627791ull), true},  // > 4 bytes
        {core::TxType::Eip2930, 11155111, true},
        {core::TxType::Eip1559, 1, true},
        {core::TxType::Eip1559, core::U256(1099511627791ull), true},
    };
    for (const auto& c : cases) {
        auto tx = make_tx(c.type, c.chain_id);
        tx.eip155 = c.eip155;
        auto expected = core::sign(tx, key_);
        ASSERT_TRUE(expected);
        expect_address_check();
        const auto apdus = *eth::sign_transaction_apdus(kPath, tx);
        for (std::size_t i = 0; i + 1 < apdus.size(); ++i)
            channel_->ok();
        channel_->ok(
            signature_reply(expected->signature, device_v(tx, expected->signature.recovery_id)));
        const std::size_t before = channel_->sent().size();
        auto result = signer_->sign_transaction(context(), account(), tx);
        ASSERT_TRUE(result) << result.error().detail;
        EXPECT_EQ(result->raw, expected->raw);
        EXPECT_EQ(result->sender.to_checksum_string(), kAddress);
        const auto sent = channel_->sent();
        ASSERT_EQ(sent.size(), before + 1 + apdus.size());
        for (std::size_t i = 0; i < apdus.size(); ++i)
            EXPECT_EQ(sent[before + 1 + i], apdus[i]);
    }
    EXPECT_EQ(prompter_.done, static_cast<int>(cases.size()));
}

TEST_F(LedgerSignerTest, AnErc20TransferFirstGivesTheAppTheTokensDescriptor) {
    auto tx = make_tx(core::TxType::Eip1559, 1);
    tx.to = *core::Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7");  // USDT
    tx.value = 0;
    tx.data = hex("a9059cbb000000000000000000000000" +
                  std::string("70997970c51812dc3a010c7d01b50e0d17dc79c8") + std::string(60, '0') +
                  "2710");
    auto expected = core::sign(tx, key_);
    ASSERT_TRUE(expected);
    expect_address_check();
    channel_->status(0x6a80);  // an app that checks another key refuses it: signed on without
    channel_->ok(signature_reply(expected->signature, expected->signature.recovery_id));
    auto result = signer_->sign_transaction(context(), account(), tx);
    ASSERT_TRUE(result) << result.error().detail;
    EXPECT_EQ(result->raw, expected->raw);
    const auto sent = channel_->sent();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(core::hex_encode(core::ByteView(sent[1]).first(2), false), "e00a");
    EXPECT_EQ(sent[2], (*eth::sign_transaction_apdus(kPath, tx))[0]);
}

TEST_F(LedgerSignerTest, AVThatFitsNeitherParityIsAProtocolError) {
    auto tx = make_tx(core::TxType::Legacy, 1);
    auto expected = core::sign(tx, key_);
    expect_address_check();
    channel_->ok();
    channel_->ok(signature_reply(expected->signature, 99));
    auto result = signer_->sign_transaction(context(), account(), tx);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::ProtocolError);
}

TEST_F(LedgerSignerTest, ContractDataRefusedWithBlindSigningOffSaysHowToEnableIt) {
    auto tx = make_tx(core::TxType::Eip1559, 1);
    expect_address_check();
    channel_->ok();
    channel_->status(0x6a80);
    channel_->ok(hex("00010a03"));  // configuration: blind signing off
    auto result = signer_->sign_transaction(context(), account(), tx);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::NotSupported);
    EXPECT_NE(result.error().detail.find("Blind signing"), std::string::npos);
    EXPECT_EQ(channel_->sent().back(), eth::get_configuration_apdu());
    EXPECT_EQ(signer_->state().blind_signing, false);
}

TEST_F(LedgerSignerTest, ALockedDeviceIsReportedAndNotReady) {
    channel_->status(0x5515);
    auto result = signer_->sign_personal_message(context(), account(), core::as_bytes("x"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::DeviceNotFound);
    EXPECT_NE(result.error().detail.find("locked"), std::string::npos);
    auto ready = signer_->ready(account());
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, ErrorCode::DeviceNotFound);
    EXPECT_EQ(signer_->state().state, LedgerState::State::Locked);
}

TEST_F(LedgerSignerTest, UnpluggedIsDisconnectedAndThenNotReady) {
    channel_->error(ErrorCode::Disconnected, "the HID peer went away");
    auto result = signer_->address_at(context(), kPath);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::Disconnected);
    auto ready = signer_->ready(account());
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, ErrorCode::DeviceNotFound);
}

TEST_F(LedgerSignerTest, AStopIsDisconnectedButLeavesTheDeviceUsable) {
    stop_.request_stop();
    channel_->error(ErrorCode::Disconnected, "the request was cancelled");
    auto result = signer_->address_at(context(), kPath);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::Disconnected);
    EXPECT_TRUE(signer_->ready(account()));
}

core::eip712::HashedTypedData mail() {
    auto typed = core::eip712::parse(std::string_view(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"},
                                 {"name": "chainId", "type": "uint256"}],
                "Note": [{"name": "text", "type": "string"}, {"name": "n", "type": "uint8[]"}]},
      "primaryType": "Note",
      "domain": {"name": "ledger test", "chainId": 1},
      "message": {"text": "hello", "n": [1, 2]}})"));
    return std::move(*core::eip712::hash_typed_data(std::move(*typed), core::eip712::Version::V4));
}

TEST_F(LedgerSignerTest, TypedDataInFullModeOnARecentApp) {
    const auto typed = mail();
    const auto sig = core::eip712::sign(key_, typed);
    const auto apdus = *eth::eip712_full_apdus(kPath, typed);
    expect_address_check();
    channel_->ok(hex(kAppVersionNew));
    for (std::size_t i = 0; i < apdus.definitions.size() + apdus.implementations.size(); ++i)
        channel_->ok();
    channel_->ok(signature_reply(sig, static_cast<std::uint8_t>(27 + sig.recovery_id)));
    auto result = signer_->sign_typed_data(context(), account(), typed);
    ASSERT_TRUE(result) << result.error().detail;
    EXPECT_EQ(*result, sig);
    const auto sent = channel_->sent();
    std::vector<core::Bytes> expected{*eth::get_address_apdu(kPath, false, false),
                                      eth::get_app_and_version_apdu()};
    expected.insert(expected.end(), apdus.definitions.begin(), apdus.definitions.end());
    expected.insert(expected.end(), apdus.implementations.begin(), apdus.implementations.end());
    expected.push_back(apdus.sign);
    EXPECT_EQ(sent, expected);
    EXPECT_EQ(prompter_.shown.size(), 1u);
    EXPECT_EQ(prompter_.done, 1);
}

TEST_F(LedgerSignerTest, FiltersRefusedByTheAppFallBackToEveryField) {
    std::ifstream in(std::string(KEYBRIDGE_TEST_DATA_DIR) +
                     "/ledger/hw-app-eth/message-16-permit2.json");
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = core::eip712::parse(text.str());
    ASSERT_TRUE(parsed);
    const auto typed =
        std::move(*core::eip712::hash_typed_data(std::move(*parsed), core::eip712::Version::V4));
    const auto sig = core::eip712::sign(key_, typed);
    const auto plain = *eth::eip712_full_apdus(kPath, typed);
    expect_address_check();
    channel_->ok(hex("0108457468657265756d06312e31322e30"));  // Ethereum 1.12.0: filters
    for (std::size_t i = 0; i < plain.definitions.size(); ++i)
        channel_->ok();
    channel_->status(0x6a80);  // activation refused
    for (std::size_t i = 0; i < plain.implementations.size(); ++i)
        channel_->ok();
    channel_->ok(signature_reply(sig, static_cast<std::uint8_t>(27 + sig.recovery_id)));
    auto result = signer_->sign_typed_data(context(), account(), typed);
    ASSERT_TRUE(result) << result.error().detail;
    const auto sent = channel_->sent();
    const std::size_t defs = plain.definitions.size();
    ASSERT_EQ(sent.size(), 2 + defs + 1 + plain.implementations.size() + 1);
    EXPECT_EQ(core::hex_encode(sent[2 + defs], false), "e01e010000");
    for (std::size_t i = 0; i < plain.implementations.size(); ++i)
        EXPECT_EQ(sent[3 + defs + i], plain.implementations[i]);
}

TEST_F(LedgerSignerTest, TypedDataInHashedModeOnAnOldApp) {
    const auto typed = mail();
    const auto sig = core::eip712::sign(key_, typed);
    expect_address_check();
    channel_->ok(hex(kAppVersionOld));
    channel_->ok(signature_reply(sig, static_cast<std::uint8_t>(27 + sig.recovery_id)));
    auto result = signer_->sign_typed_data(context(), account(), typed);
    ASSERT_TRUE(result) << result.error().detail;
    EXPECT_EQ(channel_->sent().back(), *eth::sign_eip712_hashed_apdu(
                                           kPath, typed.domain_separator(), *typed.message_hash()));
    ASSERT_EQ(prompter_.shown.size(), 1u);
    EXPECT_NE(prompter_.shown[0].find("hash"), std::string::npos);
}

TEST_F(LedgerSignerTest, TypedDataFallsBackToHashedModeOn6D00) {
    const auto typed = mail();
    const auto sig = core::eip712::sign(key_, typed);
    expect_address_check();
    channel_->ok(hex(kAppVersionNew));
    channel_->status(0x6d00);  // the first struct definition is unknown to this app
    channel_->ok(signature_reply(sig, static_cast<std::uint8_t>(27 + sig.recovery_id)));
    auto result = signer_->sign_typed_data(context(), account(), typed);
    ASSERT_TRUE(result) << result.error().detail;
    const auto sent = channel_->sent();
    ASSERT_EQ(sent.size(), 4u);
    EXPECT_EQ(sent[2][1], eth::kInsEip712StructDefinition);
    EXPECT_EQ(sent[3], *eth::sign_eip712_hashed_apdu(kPath, typed.domain_separator(),
                                                     *typed.message_hash()));
}

TEST_F(LedgerSignerTest, TypedDataWithTheDashboardOpenSaysToOpenTheApp) {
    expect_address_check();
    channel_->ok(hex("0105424f4c4f5305322e312e30"));  // BOLOS 2.1.0
    auto result = signer_->sign_typed_data(context(), account(), mail());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::DeviceNotFound);
    EXPECT_NE(result.error().detail.find("Ethereum app is not open"), std::string::npos);
    EXPECT_EQ(channel_->sent().size(), 2u);
    EXPECT_FALSE(signer_->ready(account()));
}

TEST_F(LedgerSignerTest, EthSignAndTypedDataV1AreNotSupported) {
    auto digest = signer_->sign_digest(context(), account(), core::Hash32{});
    ASSERT_FALSE(digest);
    EXPECT_EQ(digest.error().code, ErrorCode::NotSupported);
    auto v1 = signer_->sign_typed_data_v1(context(), account(), boost::json::array());
    ASSERT_FALSE(v1);
    EXPECT_EQ(v1.error().code, ErrorCode::NotSupported);
    EXPECT_TRUE(channel_->sent().empty());
}

TEST_F(LedgerSignerTest, ConfirmAddressShowsItOnTheDevice) {
    channel_->ok(address_reply(key_));
    auto address = signer_->confirm_address(context(), kPath);
    ASSERT_TRUE(address);
    EXPECT_EQ(address->to_checksum_string(), kAddress);
    EXPECT_EQ(channel_->sent()[0], *eth::get_address_apdu(kPath, true, false));
    EXPECT_EQ(channel_->timeouts()[0].count(), 98765);
    EXPECT_EQ(prompter_.done, 1);
}

TEST(LedgerProbe, WorksOnAChannelBeforeThereIsASigner) {
    ScriptedChannel channel;
    channel.ok(hex(kAppVersionNew));
    channel.ok(hex("01010a03"));
    const LedgerState state = probe_ledger(channel);
    EXPECT_EQ(state.state, LedgerState::State::Ready);
    EXPECT_EQ(state.blind_signing, true);
    EXPECT_TRUE(state.detail.empty()) << state.detail;
    EXPECT_EQ(channel.sent(), (std::vector<core::Bytes>{eth::get_app_and_version_apdu(),
                                                        eth::get_configuration_apdu()}));
}

TEST_F(LedgerSignerTest, ProbeTellsReadyDashboardWrongAppLockedAndGone) {
    channel_->ok(hex(kAppVersionNew));
    channel_->ok(hex("00010a03"));
    auto ready = signer_->probe();
    EXPECT_EQ(ready.state, LedgerState::State::Ready);
    EXPECT_EQ(ready.app_name, "Ethereum");
    EXPECT_EQ(ready.app_version, "1.10.3");
    EXPECT_EQ(ready.blind_signing, false);
    EXPECT_NE(ready.detail.find("Blind signing"), std::string::npos);
    EXPECT_EQ(signer_->info().firmware, "1.10.3");

    channel_->ok(hex("0105424f4c4f5305322e312e30"));  // BOLOS 2.1.0
    EXPECT_EQ(signer_->probe().state, LedgerState::State::Dashboard);
    EXPECT_FALSE(signer_->ready(account()));

    channel_->ok(hex("0107426974636f696e05322e312e30"));  // Bitcoin
    auto wrong = signer_->probe();
    EXPECT_EQ(wrong.state, LedgerState::State::WrongApp);
    EXPECT_NE(wrong.detail.find("Bitcoin"), std::string::npos);

    channel_->status(0x5515);
    EXPECT_EQ(signer_->probe().state, LedgerState::State::Locked);

    // Firmware without B0 01: the app's configuration decides.
    channel_->status(0x6e00);
    channel_->ok(hex("01010903"));
    auto old = signer_->probe();
    EXPECT_EQ(old.state, LedgerState::State::Ready);
    EXPECT_NE(old.detail.find("1.9.19"), std::string::npos);
    EXPECT_TRUE(signer_->ready(account()));

    channel_->error(ErrorCode::Timeout, "no answer");
    EXPECT_EQ(signer_->probe().state, LedgerState::State::Unresponsive);
    channel_->error(ErrorCode::Disconnected, "gone");
    EXPECT_EQ(signer_->probe().state, LedgerState::State::Disconnected);
    EXPECT_EQ(to_string(LedgerState::State::WrongApp), "wrong-app");
}

}  // namespace
}  // namespace keybridge::drivers::ledger
