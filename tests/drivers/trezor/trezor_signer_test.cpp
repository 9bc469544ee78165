// TrezorSigner through UDP against the simulator: the flows the conformance suite does not
// reach (PIN matrix, passphrase, rejection, a slow person and a stopped request, the address
// re-check, data in chunks, big chain ids, typed data forms, bootloader mode, failures).
#include <thread>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "core/eip712.h"
#include "tests/drivers/trezor/trezor_sim_fixture.h"

namespace keybridge::test {
namespace {

using core::ErrorCode;

constexpr const char* kSignerPath = "m/44'/60'/0'/0/0";
constexpr const char* kAllAddress = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8";
constexpr const char* kTo = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

// A person at the host: types the PIN's positions as the simulator shows them, a passphrase.
class ScriptedPrompter final : public core::Prompter {
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
        ++pin_prompts;
        if (sim == nullptr) return core::fail(ErrorCode::UserCancelled, "no PIN");
        return core::SecretBuffer::copy_of(sim->positions_for(pin));
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        ++passphrase_prompts;
        if (!passphrase_text) return core::fail(ErrorCode::UserCancelled, "no passphrase");
        return core::SecretBuffer::copy_of(*passphrase_text);
    }

    std::mutex mutex;
    std::vector<std::string> shown;
    int done = 0;
    int pin_prompts = 0;
    int passphrase_prompts = 0;
    trezor_sim::SimDevice* sim = nullptr;
    std::string pin;
    std::optional<std::string> passphrase_text;
};

core::Address all_address() {
    return *core::Address::parse(kAllAddress);
}
core::KeyRef all_key() {
    return {all_address(), kSignerPath};
}

core::Address hidden_address(const std::string& passphrase) {
    auto seed = core::bip39::seed_from_mnemonic("all all all all all all all all all all all all",
                                                passphrase);
    return *core::bip32::ethereum_address(seed->view(), kSignerPath);
}

class TrezorSignerTest : public ::testing::Test {
  protected:
    void start(trezor_sim::SimConfig config = {}) {
        auto started = start_trezor(std::move(config));
        ASSERT_TRUE(started) << started.error().detail;
        t_ = std::move(*started);
        prompter_.sim = &t_.server->device();
        t_.signer->set_keys({all_key()});
    }
    core::SignContext context() { return {stop_.get_token(), prompter_}; }
    trezor_sim::SimDevice& sim() { return t_.server->device(); }

    TrezorUnderTest t_;
    ScriptedPrompter prompter_;
    std::stop_source stop_;
};

TEST_F(TrezorSignerTest, FeaturesNameTheModelAndFirmware) {
    trezor_sim::SimConfig config;
    config.model = "Safe 5";
    config.label = "my safe";
    config.device_id = "ABCDEF0123";
    start(config);
    EXPECT_EQ(t_.signer->id(), "trezor:ABCDEF0123");
    const auto info = t_.signer->info();
    EXPECT_EQ(info.family, core::SignerFamily::Trezor);
    EXPECT_EQ(info.model, "Trezor Safe 5");
    EXPECT_EQ(info.firmware, "2.8.1");
    EXPECT_TRUE(info.blocking);
    EXPECT_EQ(t_.signer->features().label, "my safe");
    EXPECT_TRUE(t_.signer->features().passphrase_entry_on_device);
    EXPECT_EQ(drivers::trezor::model_name("1"), "Trezor One");
    EXPECT_EQ(drivers::trezor::model_name("T"), "Trezor Model T");
}

TEST_F(TrezorSignerTest, AddressOfTheAllAllPhraseWithAndWithoutDisplay) {
    start();
    auto address = t_.signer->address_at(context(), kSignerPath);
    ASSERT_TRUE(address) << address.error().detail;
    EXPECT_EQ(address->to_checksum_string(), kAllAddress);
    EXPECT_EQ(sim().button_requests(), 0);
    auto shown = t_.signer->display_address(context(), kSignerPath);
    ASSERT_TRUE(shown) << shown.error().detail;
    EXPECT_EQ(*shown, *address);
    EXPECT_EQ(sim().button_requests(), 1);
    ASSERT_EQ(prompter_.shown.size(), 1u);
    EXPECT_NE(prompter_.shown[0].find("Trezor"), std::string::npos);
    EXPECT_EQ(prompter_.done, 1);
}

TEST_F(TrezorSignerTest, PinThroughTheScrambledMatrix) {
    trezor_sim::SimConfig config;
    config.pin = "1397";
    start(config);
    prompter_.pin = "1397";
    auto sig = t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("pin"));
    ASSERT_TRUE(sig) << sig.error().detail;
    EXPECT_EQ(prompter_.pin_prompts, 1);
    // Unlocked for the session: no second PIN.
    ASSERT_TRUE(t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("again")));
    EXPECT_EQ(prompter_.pin_prompts, 1);
}

TEST_F(TrezorSignerTest, PinAndPassphraseOnATouchScreenModelAreAnnounced) {
    trezor_sim::SimConfig config;
    config.model = "Safe 5";
    config.pin = "1397";
    config.pin_on_device = true;
    config.passphrase_protection = true;
    config.device_passphrase = "on the screen";
    start(config);
    t_.signer->set_keys({{hidden_address("on the screen"), kSignerPath}});
    auto sig = t_.signer->sign_personal_message(
        context(), {hidden_address("on the screen"), kSignerPath}, core::as_bytes("touch"));
    ASSERT_TRUE(sig) << sig.error().detail;
    EXPECT_EQ(prompter_.pin_prompts, 0);
    EXPECT_EQ(prompter_.passphrase_prompts, 0);
    // The address check (PIN, then passphrase, on the device), then the signature.
    ASSERT_EQ(prompter_.shown.size(), 3u);
    EXPECT_EQ(prompter_.shown[0], "Enter your PIN on your Trezor");
    EXPECT_EQ(prompter_.shown[1], "Enter your passphrase on your Trezor");
    EXPECT_NE(prompter_.shown[2].find("Confirm on your Trezor"), std::string::npos);
    EXPECT_EQ(prompter_.done, 2);  // one per flow
}

TEST_F(TrezorSignerTest, WrongPinIsAClearErrorAndTheRightOneStillWorks) {
    trezor_sim::SimConfig config;
    config.pin = "1397";
    start(config);
    prompter_.pin = "2222";
    auto address = t_.signer->address_at(context(), kSignerPath);
    ASSERT_FALSE(address);
    EXPECT_EQ(address.error().code, ErrorCode::WrongPassword);
    EXPECT_NE(address.error().detail.find("wrong PIN"), std::string::npos);
    EXPECT_EQ(sim().wrong_pins(), 1);
    prompter_.pin = "1397";
    auto again = t_.signer->address_at(context(), kSignerPath);
    ASSERT_TRUE(again) << again.error().detail;
    EXPECT_EQ(again->to_checksum_string(), kAllAddress);
}

// The device's back-off after a wrong PIN may outlast the timeout for its quick replies: after
// a PinMatrixAck the driver waits as long as it would for a person.
TEST_F(TrezorSignerTest, PinBackOffLongerThanTheDeviceTimeoutIsWaitedOut) {
    trezor_sim::SimConfig config;
    config.pin = "1397";
    config.pin_backoff_unit = std::chrono::milliseconds(1500);
    drivers::trezor::TrezorSigner::Options options;
    options.device_timeout = std::chrono::milliseconds(700);
    options.person_timeout = std::chrono::milliseconds(8000);
    auto started = start_trezor(config, false, options);
    ASSERT_TRUE(started) << started.error().detail;
    t_ = std::move(*started);
    prompter_.sim = &t_.server->device();
    prompter_.pin = "1111";
    auto wrong = t_.signer->address_at(context(), kSignerPath);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::WrongPassword);
    prompter_.pin = "1397";
    auto right = t_.signer->address_at(context(), kSignerPath);
    ASSERT_TRUE(right) << right.error().detail;
    EXPECT_EQ(right->to_checksum_string(), kAllAddress);
}

TEST_F(TrezorSignerTest, PinPromptCancelledCancelsOnTheDevice) {
    trezor_sim::SimConfig config;
    config.pin = "1397";
    start(config);
    prompter_.sim = nullptr;  // the person closes the PIN prompt
    auto address = t_.signer->address_at(context(), kSignerPath);
    ASSERT_FALSE(address);
    EXPECT_EQ(address.error().code, ErrorCode::UserCancelled);
    const auto received = sim().received();
    EXPECT_EQ(received.back(), "Cancel");
}

TEST_F(TrezorSignerTest, HostPassphraseSelectsTheHiddenWalletAndTheAccountIsChecked) {
    trezor_sim::SimConfig config;
    config.model = "1";  // no entry on the device: the host asks
    config.passphrase_protection = true;
    start(config);
    prompter_.passphrase_text = "keybridge hidden";
    auto address = t_.signer->address_at(context(), kSignerPath);
    ASSERT_TRUE(address) << address.error().detail;
    EXPECT_EQ(*address, hidden_address("keybridge hidden"));
    EXPECT_EQ(prompter_.passphrase_prompts, 1);
    // The vault's account is the standard wallet's: the hidden wallet must not sign for it.
    auto sig = t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("x"));
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::NotFound);
    EXPECT_NE(sig.error().detail.find(kAllAddress), std::string::npos);
    EXPECT_NE(sig.error().detail.find("passphrase"), std::string::npos);
    EXPECT_EQ(sim().button_requests(), 0);  // nothing reached the signing screen
    // The hidden wallet's own account signs.
    const core::KeyRef hidden{hidden_address("keybridge hidden"), kSignerPath};
    t_.signer->set_keys({hidden});
    auto ok = t_.signer->sign_personal_message(context(), hidden, core::as_bytes("x"));
    ASSERT_TRUE(ok) << ok.error().detail;
    auto who = core::recover_personal_signer(core::as_bytes("x"), ok->to_rsv());
    ASSERT_TRUE(who);
    EXPECT_EQ(*who, hidden.address);
}

TEST_F(TrezorSignerTest, PassphraseOnTheDeviceWhereSupported) {
    trezor_sim::SimConfig config;
    config.model = "T";
    config.passphrase_protection = true;
    config.device_passphrase = "typed on the device";
    start(config);
    auto address = t_.signer->address_at(context(), kSignerPath);
    ASSERT_TRUE(address) << address.error().detail;
    EXPECT_EQ(*address, hidden_address("typed on the device"));
    EXPECT_EQ(prompter_.passphrase_prompts, 0);
    ASSERT_FALSE(prompter_.shown.empty());
    EXPECT_NE(prompter_.shown[0].find("passphrase on your Trezor"), std::string::npos);
}

TEST_F(TrezorSignerTest, RejectionOnTheDeviceIsUserCancelled) {
    start();
    sim().set_answer(trezor_sim::UserAnswer::Reject);
    auto sig = t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("no"));
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::UserCancelled);
    EXPECT_EQ(prompter_.done, 1);
    sim().set_answer(trezor_sim::UserAnswer::Approve);
    EXPECT_TRUE(t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("yes")));
}

TEST_F(TrezorSignerTest, StoppedWhileThePersonIsSlowSendsCancelAndNextRequestWorks) {
    start();
    sim().set_delay(std::chrono::milliseconds(3000));
    std::thread stopper([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        stop_.request_stop();
    });
    const auto begin = std::chrono::steady_clock::now();
    auto sig = t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("slow"));
    stopper.join();
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::Disconnected);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(2000));
    EXPECT_EQ(sim().received().back(), "Cancel");
    EXPECT_EQ(prompter_.done, 1);
    sim().set_delay(std::chrono::milliseconds(0));
    std::stop_source fresh;
    core::SignContext again{fresh.get_token(), prompter_};
    auto ok = t_.signer->sign_personal_message(again, all_key(), core::as_bytes("next"));
    ASSERT_TRUE(ok) << ok.error().detail;
}

TEST_F(TrezorSignerTest, SlowPersonWithinTheTimeStillSigns) {
    start();
    sim().set_delay(std::chrono::milliseconds(400));
    auto sig = t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("slow ok"));
    ASSERT_TRUE(sig) << sig.error().detail;
}

TEST_F(TrezorSignerTest, LegacyTransactionWithDataInChunks) {
    start();
    core::Transaction tx;
    tx.type = core::TxType::Legacy;
    tx.chain_id = 1;
    tx.nonce = 3;
    tx.gas_price = 20'000'000'000ull;
    tx.gas_limit = 900'000;
    tx.to = *core::Address::parse(kTo);
    tx.value = 1;
    tx.data.resize(3000);
    for (std::size_t i = 0; i < tx.data.size(); ++i)
        tx.data[i] = static_cast<std::uint8_t>(i);
    auto signed_tx = t_.signer->sign_transaction(context(), all_key(), tx);
    ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
    EXPECT_EQ(signed_tx->sender, all_address());
    EXPECT_EQ(signed_tx->tx.data, tx.data);
    int acks = 0;
    for (const auto& name : sim().received())
        acks += name == "EthereumTxAck";
    EXPECT_EQ(acks, 2);  // 1024 with the request, then 1024 and 952 as asked
}

TEST_F(TrezorSignerTest, ChainIdsAboveTwoToThe32AndTheLimit) {
    start();
    for (std::uint64_t chain : {std::uint64_t{2147483630}, (std::uint64_t{1} << 40) + 7,
                                std::numeric_limits<std::uint64_t>::max()}) {
        core::Transaction tx;
        tx.type = core::TxType::Legacy;
        tx.chain_id = chain;
        tx.gas_price = 1;
        tx.gas_limit = 21000;
        tx.to = *core::Address::parse(kTo);
        auto signed_tx = t_.signer->sign_transaction(context(), all_key(), tx);
        ASSERT_TRUE(signed_tx) << chain << ": " << signed_tx.error().detail;
        EXPECT_EQ(signed_tx->sender, all_address()) << chain;
        EXPECT_EQ(signed_tx->tx.chain_id, core::U256(chain));
    }
    core::Transaction too_big;
    too_big.type = core::TxType::Eip1559;
    too_big.chain_id = core::U256(1) << 64;
    auto refused = t_.signer->sign_transaction(context(), all_key(), too_big);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::NotSupported);
}

TEST_F(TrezorSignerTest, Eip1559WithAccessListAndContractCreation) {
    start();
    core::Transaction tx;
    tx.type = core::TxType::Eip1559;
    tx.chain_id = 137;
    tx.nonce = 0;
    tx.max_fee_per_gas = 30'000'000'000ull;
    tx.max_priority_fee_per_gas = 1;
    tx.gas_limit = 1'000'000;
    tx.data = {0x60, 0x80, 0x60, 0x40};
    core::Hash32 slot{};
    slot[31] = 1;
    tx.access_list.push_back({*core::Address::parse(kTo), {slot}});
    auto signed_tx = t_.signer->sign_transaction(context(), all_key(), tx);
    ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
    EXPECT_EQ(signed_tx->sender, all_address());
    EXPECT_FALSE(signed_tx->tx.to.has_value());
    EXPECT_EQ(signed_tx->tx.access_list, tx.access_list);
}

TEST_F(TrezorSignerTest, UnsupportedTransactionKindsAreRefusedUpFront) {
    start();
    core::Transaction tx;
    tx.type = core::TxType::Eip2930;
    tx.chain_id = 1;
    auto a = t_.signer->sign_transaction(context(), all_key(), tx);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, ErrorCode::NotSupported);
    tx.type = core::TxType::Legacy;
    tx.eip155 = false;
    auto b = t_.signer->sign_transaction(context(), all_key(), tx);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, ErrorCode::NotSupported);
    for (const auto& name : sim().received())
        EXPECT_FALSE(name.starts_with("EthereumSign")) << name;
}

constexpr const char* kMail = R"({
  "types": {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                     {"name": "chainId", "type": "uint256"},
                     {"name": "verifyingContract", "type": "address"}],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallets", "type": "address[]"}],
    "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person[]"},
             {"name": "contents", "type": "string"}, {"name": "delta", "type": "int32"},
             {"name": "ok", "type": "bool"}, {"name": "tag", "type": "bytes3"},
             {"name": "blob", "type": "bytes"}, {"name": "big", "type": "uint256"}]
  },
  "primaryType": "Mail",
  "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
             "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {"from": {"name": "Cow", "wallets": ["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"]},
              "to": [{"name": "Bob", "wallets": []},
                     {"name": "Eve", "wallets": ["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB",
                                                 "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57"]}],
              "contents": "Hello", "delta": "-7", "ok": true, "tag": "0x010203",
              "blob": "0xdeadbeef",
              "big": "115792089237316195423570985008687907853269984665640564039457584007913129639935"}
})";

void expect_typed_signature(TrezorSignerTest& test, core::Signer& signer, core::SignContext context,
                            const char* json) {
    auto typed = core::eip712::parse(json);
    ASSERT_TRUE(typed) << typed.error().detail;
    auto hashed = core::eip712::hash_typed_data(*typed, core::eip712::Version::V4);
    ASSERT_TRUE(hashed) << hashed.error().detail;
    auto sig = signer.sign_typed_data(context, all_key(), *hashed);
    ASSERT_TRUE(sig) << sig.error().detail;
    auto who = core::eip712::recover_signer(*typed, core::eip712::Version::V4, sig->to_rsv());
    ASSERT_TRUE(who);
    EXPECT_EQ(*who, all_address());
    (void)test;
}

TEST_F(TrezorSignerTest, TypedDataThroughTheStructValueProtocol) {
    start();
    expect_typed_signature(*this, *t_.signer, context(), kMail);
    int structs = 0, values = 0;
    for (const auto& name : sim().received()) {
        structs += name == "EthereumTypedDataStructAck";
        values += name == "EthereumTypedDataValueAck";
    }
    EXPECT_EQ(structs, 3);  // EIP712Domain, Mail, Person
    EXPECT_EQ(values, 20);  // 4 domain + from(name, wallets len, 1) + to len + 2 persons ...
}

TEST_F(TrezorSignerTest, TypedDataV3SignsTheV3Digest) {
    start();
    auto typed = core::eip712::parse(std::string_view(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"}],
                "Person": [{"name": "name", "type": "string"}, {"name": "age", "type": "uint8"}],
                "Pair": [{"name": "a", "type": "Person"}, {"name": "b", "type": "Person"}]},
      "primaryType": "Pair", "domain": {"name": "v3"},
      "message": {"a": {"name": "A", "age": 1}, "b": {"name": "B", "age": 255}}})"));
    ASSERT_TRUE(typed) << typed.error().detail;
    auto hashed = core::eip712::hash_typed_data(*typed, core::eip712::Version::V3);
    ASSERT_TRUE(hashed);
    auto sig = t_.signer->sign_typed_data(context(), all_key(), *hashed);
    ASSERT_TRUE(sig) << sig.error().detail;
    auto who = core::eip712::recover_signer(*typed, core::eip712::Version::V3, sig->to_rsv());
    ASSERT_TRUE(who);
    EXPECT_EQ(*who, all_address());
}

TEST_F(TrezorSignerTest, TypedDataAsHashesOnTheTrezorOne) {
    trezor_sim::SimConfig config;
    config.model = "1";
    start(config);
    expect_typed_signature(*this, *t_.signer, context(), kMail);
    const auto received = sim().received();
    EXPECT_NE(std::find(received.begin(), received.end(), "EthereumSignTypedHash"), received.end());
}

TEST_F(TrezorSignerTest, MissingTypedDataMemberIsRefusedAndTheDeviceCancelled) {
    start();
    auto typed = core::eip712::parse(std::string_view(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"}],
                "A": [{"name": "b", "type": "B"}], "B": [{"name": "x", "type": "uint8"}]},
      "primaryType": "A", "domain": {"name": "d"}, "message": {}})"));
    ASSERT_TRUE(typed) << typed.error().detail;
    auto hashed = core::eip712::hash_typed_data(*typed, core::eip712::Version::V4);
    ASSERT_TRUE(hashed);
    auto sig = t_.signer->sign_typed_data(context(), all_key(), *hashed);
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::NotSupported);
    EXPECT_EQ(sim().received().back(), "Cancel");
    EXPECT_TRUE(t_.signer->address_at(context(), kSignerPath));
}

TEST_F(TrezorSignerTest, BootloaderModeIsListedButRefusesToSign) {
    trezor_sim::SimConfig config;
    config.bootloader_mode = true;
    start(config);
    EXPECT_TRUE(t_.signer->features().bootloader_mode);
    auto ready = t_.signer->ready(all_key());
    ASSERT_FALSE(ready);
    EXPECT_EQ(ready.error().code, ErrorCode::NotSupported);
    EXPECT_NE(ready.error().detail.find("bootloader"), std::string::npos);
}

TEST_F(TrezorSignerTest, DeviceGoneMidRequestIsNotASuccess) {
    start();
    sim().set_delay(std::chrono::milliseconds(5000));
    std::thread unplug([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        t_.server->stop();  // the simulator dies
    });
    const auto begin = std::chrono::steady_clock::now();
    auto sig = t_.signer->sign_personal_message(context(), all_key(), core::as_bytes("x"));
    unplug.join();
    ASSERT_FALSE(sig);
    // Found out by the liveness probe, well before the 10 s the person would have had.
    EXPECT_EQ(sig.error().code, ErrorCode::Disconnected) << sig.error().to_string();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(4000));
}

TEST_F(TrezorSignerTest, DigestsAndV1TypedDataAreNotSupported) {
    start();
    auto a = t_.signer->sign_digest(context(), all_key(), core::Hash32{});
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, ErrorCode::NotSupported);
    auto b = t_.signer->sign_typed_data_v1(context(), all_key(), boost::json::array());
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, ErrorCode::NotSupported);
}

}  // namespace
}  // namespace keybridge::test
