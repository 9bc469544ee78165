// End-to-end flows of TrezorSigner that run unchanged against the vendor's emulator: with
// KEYBRIDGE_TREZOR_EMULATOR=host:port they target it (loaded with the "all all ... all" phrase,
// no PIN, no passphrase, as the trezorlib test leaves it), and its DebugLink on port + 1 presses
// the buttons; otherwise the simulator in the same mode (buttons wait for DebugLinkDecision).
// Every signature must equal the software keystore's (core) for the same phrase.
#include <iostream>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "core/eip712.h"
#include "tests/drivers/trezor/trezor_sim_fixture.h"

namespace keybridge::test {
namespace {

namespace pb = keybridge::trezor;
using core::ErrorCode;

constexpr const char* kPhrase = "all all all all all all all all all all all all";
constexpr const char* kDevicePath = "m/44'/60'/0'/0/0";
constexpr const char* kDeviceAllAddress = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8";

// Sits between the driver and the device like a person's thumb: after the driver answers a
// ButtonRequest with ButtonAck, it sends DebugLinkDecision(yes) on the DebugLink port.
class DebugLinkPresser final : public drivers::trezor::ReportDevice {
  public:
    DebugLinkPresser(std::unique_ptr<drivers::trezor::ReportDevice> wallet,
                     std::unique_ptr<drivers::trezor::ReportDevice> debug)
        : wallet_(std::move(wallet)), debug_(std::move(debug)) {}

    core::Status write(const drivers::trezor::Report& report) override {
        KEYBRIDGE_TRY_STATUS(wallet_->write(report));
        auto sent = written_.feed(report);
        if (sent && *sent && (*sent)->type == pb::kWireId<pb::ButtonAck> && screens_ > 0) {
            --screens_;
            ++presses;
            const core::Bytes yes{0x08, 0x01};  // field 1 = 1: yes_no (One) / button YES
            for (const auto& r : drivers::trezor::encode_reports(kDebugLinkDecision, yes)) {
                KEYBRIDGE_TRY_STATUS(debug_->write(r));
            }
        }
        return {};
    }
    core::Result<drivers::trezor::Report> read(std::chrono::milliseconds timeout,
                                               const std::stop_token& stop) override {
        auto report = wallet_->read(timeout, stop);
        if (!report) return report;
        auto got = read_.feed(*report);
        if (got && *got && (*got)->type == pb::kWireId<pb::ButtonRequest>) ++screens_;
        return report;
    }
    std::string describe() const override { return wallet_->describe(); }

    int presses = 0;

  private:
    static constexpr std::uint16_t kDebugLinkDecision = 100;
    std::unique_ptr<drivers::trezor::ReportDevice> wallet_;
    std::unique_ptr<drivers::trezor::ReportDevice> debug_;
    drivers::trezor::Reassembler written_;
    drivers::trezor::Reassembler read_;
    int screens_ = 0;
};

class NullPrompter final : public core::Prompter {
  public:
    void on_device(std::string_view) override {}
    void device_done() override {}
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "no PIN in this test");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "no passphrase in this test");
    }
};

class TrezorDevice : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string host = "127.0.0.1";
        std::uint16_t port = 0;
        std::uint16_t debug_port = 0;
        if (const char* target = trezor_emulator()) {
            auto parsed = drivers::trezor::parse_host_port(target);
            ASSERT_TRUE(parsed) << parsed.error().detail;
            host = parsed->first;
            port = parsed->second;
            debug_port = static_cast<std::uint16_t>(port + 1);
            std::cout << "target: the Trezor emulator at " << target << "\n";
        } else {
            trezor_sim::SimConfig config;
            config.debuglink_buttons = true;
            server_ = std::make_unique<trezor_sim::SimServer>(
                std::make_shared<trezor_sim::SimDevice>(config), 0);
            ASSERT_TRUE(server_->start());
            port = server_->port();
            debug_port = server_->control_port();
        }
        auto wallet = drivers::trezor::UdpReportDevice::open(host, port);
        ASSERT_TRUE(wallet) << wallet.error().detail;
        ASSERT_TRUE((*wallet)->ping(std::chrono::milliseconds(3000))) << "nothing on " << port;
        auto debug = drivers::trezor::UdpReportDevice::open(host, debug_port);
        ASSERT_TRUE(debug) << debug.error().detail;
        auto presser = std::make_unique<DebugLinkPresser>(std::move(*wallet), std::move(*debug));
        presser_ = presser.get();
        drivers::trezor::TrezorSigner::Options options;
        options.person_timeout = std::chrono::milliseconds(60'000);
        auto signer = drivers::trezor::TrezorSigner::connect(std::move(presser), options);
        ASSERT_TRUE(signer) << signer.error().detail;
        signer_ = std::move(*signer);
        auto seed = core::bip39::seed_from_mnemonic(kPhrase, "");
        auto key = core::bip32::ethereum_private_key(seed->view(), kDevicePath);
        key_.emplace(std::move(*key));
        address_ = core::PublicKey::from_private(*key_).address();
        ASSERT_EQ(address_.to_checksum_string(), kDeviceAllAddress);
        signer_->set_keys({{address_, kDevicePath}});
    }
    core::SignContext context() { return {stop_.get_token(), prompter_}; }
    core::KeyRef key() const { return {address_, kDevicePath}; }

    std::unique_ptr<trezor_sim::SimServer> server_;
    DebugLinkPresser* presser_ = nullptr;
    std::unique_ptr<drivers::trezor::TrezorSigner> signer_;
    std::optional<core::PrivateKey> key_;
    core::Address address_;
    NullPrompter prompter_;
    std::stop_source stop_;
};

TEST_F(TrezorDevice, AddressShownAndConfirmed) {
    auto address = signer_->display_address(context(), kDevicePath);
    ASSERT_TRUE(address) << address.error().detail;
    EXPECT_EQ(address->to_checksum_string(), kDeviceAllAddress);
    EXPECT_GE(presser_->presses, 1);
}

TEST_F(TrezorDevice, PersonalMessageEqualsTheKeystores) {
    const std::string text = "keybridge on a Trezor";
    auto sig = signer_->sign_personal_message(context(), key(), core::as_bytes(text));
    ASSERT_TRUE(sig) << sig.error().detail;
    EXPECT_EQ(*sig, core::sign_personal_message(*key_, core::as_bytes(text)));
    EXPECT_GE(presser_->presses, 1);
}

TEST_F(TrezorDevice, LegacyTransactionWithDataEqualsTheKeystores) {
    core::Transaction tx;
    tx.type = core::TxType::Legacy;
    tx.chain_id = 1;
    tx.nonce = 2;
    tx.gas_price = 20'000'000'000ull;
    tx.gas_limit = 200'000;
    tx.to = *core::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    tx.value = 1'000'000'000'000'000ull;
    tx.data.assign(1500, 0x42);
    auto signed_tx = signer_->sign_transaction(context(), key(), tx);
    ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
    auto expected = core::sign(tx, *key_);
    ASSERT_TRUE(expected);
    EXPECT_EQ(signed_tx->raw, expected->raw);
}

TEST_F(TrezorDevice, Eip1559TransactionEqualsTheKeystores) {
    core::Transaction tx;
    tx.type = core::TxType::Eip1559;
    tx.chain_id = 1;
    tx.nonce = 0;
    tx.max_fee_per_gas = 30'000'000'000ull;
    tx.max_priority_fee_per_gas = 1'000'000'000ull;
    tx.gas_limit = 21000;
    tx.to = *core::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    tx.value = 12345;
    auto signed_tx = signer_->sign_transaction(context(), key(), tx);
    ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
    auto expected = core::sign(tx, *key_);
    ASSERT_TRUE(expected);
    EXPECT_EQ(signed_tx->raw, expected->raw);
}

TEST_F(TrezorDevice, TypedDataEqualsTheKeystores) {
    auto typed = core::eip712::parse(std::string_view(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"},
                                 {"name": "chainId", "type": "uint256"}],
                "Person": [{"name": "name", "type": "string"},
                           {"name": "wallet", "type": "address"}],
                "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person[]"},
                         {"name": "contents", "type": "string"}]},
      "primaryType": "Mail",
      "domain": {"name": "Ether Mail", "chainId": 1},
      "message": {"from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
                  "to": [{"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"}],
                  "contents": "Hello, Bob!"}})"));
    ASSERT_TRUE(typed) << typed.error().detail;
    auto hashed = core::eip712::hash_typed_data(*typed, core::eip712::Version::V4);
    ASSERT_TRUE(hashed);
    auto sig = signer_->sign_typed_data(context(), key(), *hashed);
    ASSERT_TRUE(sig) << sig.error().detail;
    EXPECT_EQ(*sig, core::sign_digest(*key_, hashed->digest()));
}

// Visible in the test list: whether a real emulator took part.
TEST(TrezorEmulator, Reachable) {
    const char* target = trezor_emulator();
    if (target == nullptr) {
        GTEST_SKIP() << "KEYBRIDGE_TREZOR_EMULATOR=host:port is not set: the TrezorDevice tests "
                        "ran against the simulator, not the vendor's emulator";
    }
    auto parsed = drivers::trezor::parse_host_port(target);
    ASSERT_TRUE(parsed);
    auto device = drivers::trezor::UdpReportDevice::open(parsed->first, parsed->second);
    ASSERT_TRUE(device);
    EXPECT_TRUE((*device)->ping(std::chrono::milliseconds(3000)));
}

}  // namespace
}  // namespace keybridge::test
