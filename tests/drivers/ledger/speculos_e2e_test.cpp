// LedgerSigner against the vendor's firmware on a real Speculos emulator, when a developer points
// the tests at one: KEYBRIDGE_SPECULOS=host:port (the APDU port, Speculos's --apdu-port, default
// 9999). Without it these tests are skipped with that reason; the project's own simulator runs the
// same flows in ledger_signer_sim_test.cpp and the conformance suite on every run.
//
// Reading (no buttons): the app must be open. Signing needs the emulator to approve its prompts
// by itself (Speculos --automation with rules that press "approve"); then also set
// KEYBRIDGE_SPECULOS_APPROVES=1. The signatures are checked by recovery against the address the
// emulator derives, whatever its seed.
#include <cstdlib>

#include <gtest/gtest.h>

#include "core/eip191.h"
#include "core/eip712.h"
#include "core/transaction.h"
#include "drivers/ledger/ledger_signer.h"
#include "drivers/ledger/speculos_channel.h"
#include "tests/drivers/ledger/ledger_test_util.h"

namespace keybridge::drivers::ledger {
namespace {

using namespace std::chrono_literals;

using test::ledger::kPath;

class NoPrompter final : public core::Prompter {
  public:
    void on_device(std::string_view) override {}
    void device_done() override {}
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(core::ErrorCode::UserCancelled, "");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(core::ErrorCode::UserCancelled, "");
    }
};

class LedgerSpeculos : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* target = std::getenv("KEYBRIDGE_SPECULOS");
        if (target == nullptr || *target == '\0') {
            GTEST_SKIP() << "KEYBRIDGE_SPECULOS=host:port is not set: no Speculos to test against";
        }
        const std::string text(target);
        const auto colon = text.rfind(':');
        ASSERT_NE(colon, std::string::npos) << "KEYBRIDGE_SPECULOS must be host:port";
        auto channel = open_speculos_channel(
            text.substr(0, colon), static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
        ASSERT_TRUE(channel) << channel.error().detail;
        auto identity = ledger_identity(**channel);
        ASSERT_TRUE(identity) << identity.error().detail;
        identity_ = *identity;
        signer_ = std::make_unique<LedgerSigner>(std::move(*channel), *identity, Model::Emulator);
    }

    core::SignContext context() { return {stop_.get_token(), prompter_}; }

    std::string identity_;
    std::unique_ptr<LedgerSigner> signer_;
    NoPrompter prompter_;
    std::stop_source stop_;
};

TEST_F(LedgerSpeculos, ReadsTheAppTheAddressAndTheIdentity) {
    const LedgerState state = signer_->probe();
    EXPECT_EQ(state.state, LedgerState::State::Ready) << state.detail;
    EXPECT_EQ(state.app_name, "Ethereum");
    EXPECT_FALSE(state.app_version.empty());
    auto address = signer_->address_at(context(), kPath);
    ASSERT_TRUE(address) << address.error().detail;
    EXPECT_EQ(identity_, "ledger:" + address->to_lower_string().substr(2, 8));
}

TEST_F(LedgerSpeculos, SignsWhenTheEmulatorApproves) {
    const char* approves = std::getenv("KEYBRIDGE_SPECULOS_APPROVES");
    if (approves == nullptr || std::string(approves) != "1") {
        GTEST_SKIP() << "KEYBRIDGE_SPECULOS_APPROVES=1 is not set: the emulator would wait for "
                        "its buttons";
    }
    (void)signer_->probe();
    auto address = signer_->address_at(context(), kPath);
    ASSERT_TRUE(address) << address.error().detail;
    const core::KeyRef key{*address, kPath};
    signer_->set_keys({key});

    auto personal = signer_->sign_personal_message(context(), key, core::as_bytes("speculos"));
    ASSERT_TRUE(personal) << personal.error().detail;
    EXPECT_EQ(*core::recover_personal_signer(core::as_bytes("speculos"), personal->to_rsv()),
              *address);

    auto typed = core::eip712::parse(std::string_view(R"({
      "types": {"EIP712Domain": [{"name": "name", "type": "string"},
                                 {"name": "chainId", "type": "uint256"}],
                "Note": [{"name": "text", "type": "string"}]},
      "primaryType": "Note", "domain": {"name": "keybridge", "chainId": 1},
      "message": {"text": "speculos"}})"));
    auto hashed = core::eip712::hash_typed_data(std::move(*typed), core::eip712::Version::V4);
    auto typed_sig = signer_->sign_typed_data(context(), key, *hashed);
    ASSERT_TRUE(typed_sig) << typed_sig.error().detail;
    EXPECT_EQ(core::recover_public_key(hashed->digest(), *typed_sig)->address(), *address);

    for (auto type : {core::TxType::Legacy, core::TxType::Eip2930, core::TxType::Eip1559}) {
        core::Transaction tx;
        tx.type = type;
        tx.chain_id = 1;
        tx.nonce = 1;
        tx.gas_price = 1'000'000'000ull;
        tx.max_fee_per_gas = 2'000'000'000ull;
        tx.max_priority_fee_per_gas = 1'000'000'000ull;
        tx.gas_limit = 21000;
        tx.to = *core::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        tx.value = 1000;
        auto signed_tx = signer_->sign_transaction(context(), key, tx);
        ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
        EXPECT_EQ(signed_tx->sender, *address);
    }
}

}  // namespace
}  // namespace keybridge::drivers::ledger
