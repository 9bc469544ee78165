// The message layer (Link) and TrezorSigner against a scripted report device: garbage on the
// line, absurd lengths, timeouts, stop requests, and a device that fails or lies.
#include <deque>
#include <functional>

#include <gtest/gtest.h>

#include "core/assert.h"
#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "drivers/trezor/link.h"
#include "drivers/trezor/trezor_signer.h"

namespace keybridge::test {
namespace {

namespace pb = keybridge::trezor;
using core::ErrorCode;
using drivers::trezor::Report;
using drivers::trezor::WireMessage;

template <class M>
WireMessage wire(const M& message) {
    std::string bytes = message.SerializePartialAsString();
    return {pb::kWireId<M>, core::Bytes(bytes.begin(), bytes.end())};
}

// Answers each complete message the host writes with what `respond` returns; reads come from
// `queue` (Timeout when it is empty).
class ScriptedDevice final : public drivers::trezor::ReportDevice {
  public:
    using Responder = std::function<std::vector<WireMessage>(const WireMessage&)>;
    explicit ScriptedDevice(Responder respond) : respond_(std::move(respond)) {}

    void push(const WireMessage& m) {
        for (const auto& r : drivers::trezor::encode_reports(m.type, m.payload))
            queue.push_back(r);
    }

    core::Status write(const Report& report) override {
        auto message = reader_.feed(report);
        if (!message) return tl::unexpected(message.error());
        if (*message) {
            written.push_back((*message)->type);
            for (const auto& reply : respond_(**message))
                push(reply);
        }
        return {};
    }
    core::Result<Report> read(std::chrono::milliseconds, const std::stop_token& stop) override {
        if (stop.stop_requested()) return core::fail(ErrorCode::Disconnected, "stopped");
        if (queue.empty()) return core::fail(ErrorCode::Timeout, "nothing to read");
        Report r = queue.front();
        queue.pop_front();
        return r;
    }
    std::string describe() const override { return "scripted"; }

    std::deque<Report> queue;
    std::vector<std::uint16_t> written;

  private:
    Responder respond_;
    drivers::trezor::Reassembler reader_;
};

pb::Features features(const std::string& model = "T") {
    pb::Features f;
    f.set_vendor("trezor.io");
    f.set_major_version(2);
    f.set_minor_version(7);
    f.set_patch_version(0);
    f.set_device_id("SCRIPTED");
    f.set_initialized(true);
    f.set_model(model);
    return f;
}

pb::Failure failure(pb::Failure::FailureType code, const std::string& text) {
    pb::Failure f;
    f.set_code(code);
    f.set_message(text);
    return f;
}

TEST(TrezorLink, SkipsGarbageAndReadsTheNextMessage) {
    auto device = std::make_unique<ScriptedDevice>(
        [](const WireMessage&) { return std::vector<WireMessage>{}; });
    Report junk{};
    junk.fill(0xee);
    device->queue.push_back(junk);
    device->queue.push_back(junk);
    pb::Success ok;
    ok.set_message("pong");
    device->push(wire(ok));
    drivers::trezor::Link link(std::move(device));
    std::stop_source stop;
    auto got = link.receive(std::chrono::milliseconds(100), stop.get_token());
    ASSERT_TRUE(got) << got.error().detail;
    auto parsed = drivers::trezor::parse_as<pb::Success>(*got);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->message(), "pong");
    // Parsing as the wrong type is a ProtocolError naming both.
    auto wrong = drivers::trezor::parse_as<pb::Features>(*got);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::ProtocolError);
    EXPECT_NE(wrong.error().detail.find("Success"), std::string::npos);
}

TEST(TrezorLink, AbsurdLengthIsAnErrorAndTheNextMessageStillComes) {
    auto device = std::make_unique<ScriptedDevice>(
        [](const WireMessage&) { return std::vector<WireMessage>{}; });
    Report absurd{};
    absurd[0] = '?';
    absurd[1] = '#';
    absurd[2] = '#';
    absurd[5] = 0x7f;
    device->queue.push_back(absurd);
    device->push(wire(pb::Success()));
    drivers::trezor::Link link(std::move(device));
    std::stop_source stop;
    auto bad = link.receive(std::chrono::milliseconds(100), stop.get_token());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::ProtocolError);
    auto good = link.receive(std::chrono::milliseconds(100), stop.get_token());
    ASSERT_TRUE(good) << good.error().detail;
    EXPECT_EQ(good->type, pb::kWireId<pb::Success>);
}

TEST(TrezorLink, TimeoutAndStop) {
    auto device = std::make_unique<ScriptedDevice>(
        [](const WireMessage&) { return std::vector<WireMessage>{}; });
    drivers::trezor::Link link(std::move(device));
    std::stop_source stop;
    auto timeout = link.receive(std::chrono::milliseconds(50), stop.get_token());
    ASSERT_FALSE(timeout);
    EXPECT_EQ(timeout.error().code, ErrorCode::Timeout);
    stop.request_stop();
    auto stopped = link.receive(std::chrono::milliseconds(50), stop.get_token());
    ASSERT_FALSE(stopped);
    EXPECT_EQ(stopped.error().code, ErrorCode::Disconnected);
}

TEST(TrezorConnect, StaleRepliesBeforeFeaturesAreSkipped) {
    auto device = std::make_unique<ScriptedDevice>([](const WireMessage& m) {
        std::vector<WireMessage> out;
        if (m.type == pb::kWireId<pb::Initialize>) {
            out.push_back(wire(pb::Success()));  // the end of an earlier program's exchange
            out.push_back(wire(features("1")));
        }
        return out;
    });
    auto signer = drivers::trezor::TrezorSigner::connect(std::move(device));
    ASSERT_TRUE(signer) << signer.error().detail;
    EXPECT_EQ((*signer)->info().model, "Trezor One");
    EXPECT_EQ((*signer)->info().firmware, "2.7.0");
    EXPECT_EQ((*signer)->id(), "trezor:SCRIPTED");
}

TEST(TrezorConnect, FailureAndGarbageFeatures) {
    auto busy = std::make_unique<ScriptedDevice>([](const WireMessage&) {
        return std::vector<WireMessage>{wire(failure(pb::Failure::Failure_Busy, "Device busy"))};
    });
    auto a = drivers::trezor::TrezorSigner::connect(std::move(busy));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, ErrorCode::DeviceBusy);
    auto garbage = std::make_unique<ScriptedDevice>([](const WireMessage&) {
        return std::vector<WireMessage>{{pb::kWireId<pb::Features>, {0xff, 0xff, 0xff}}};
    });
    auto b = drivers::trezor::TrezorSigner::connect(std::move(garbage));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, ErrorCode::ProtocolError);
    auto silent = std::make_unique<ScriptedDevice>(
        [](const WireMessage&) { return std::vector<WireMessage>{}; });
    drivers::trezor::TrezorSigner::Options options;
    options.device_timeout = std::chrono::milliseconds(50);
    auto c = drivers::trezor::TrezorSigner::connect(std::move(silent), options);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::Timeout);
}

class LinkPrompter final : public core::Prompter {
  public:
    void on_device(std::string_view) override {}
    void device_done() override {}
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "none");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(ErrorCode::UserCancelled, "none");
    }
};

struct Keys {
    core::PrivateKey key;
    core::Address address;
};

Keys link_all_key() {
    auto seed =
        core::bip39::seed_from_mnemonic("all all all all all all all all all all all all", "");
    auto key = core::bip32::ethereum_private_key(seed->view(), "m/44'/60'/0'/0/0");
    const core::Address address = core::PublicKey::from_private(*key).address();
    return {std::move(*key), address};
}

// Replies to EthereumGetAddress with `address` and to anything else with `other`.
std::unique_ptr<drivers::trezor::TrezorSigner> signer_with(const core::Address& address,
                                                           std::vector<WireMessage> other) {
    auto device = std::make_unique<ScriptedDevice>([address, other](const WireMessage& m) {
        if (m.type == pb::kWireId<pb::Initialize>)
            return std::vector<WireMessage>{wire(features())};
        if (m.type == pb::kWireId<pb::EthereumGetAddress>) {
            pb::EthereumAddress reply;
            reply.set_address(address.to_checksum_string());
            return std::vector<WireMessage>{wire(reply)};
        }
        return other;
    });
    auto signer = drivers::trezor::TrezorSigner::connect(std::move(device));
    KEYBRIDGE_ASSERT(signer.has_value());
    return std::move(*signer);
}

TEST(TrezorFailures, MappedToCoreErrors) {
    const Keys k = link_all_key();
    const core::KeyRef key{k.address, "m/44'/60'/0'/0/0"};
    LinkPrompter prompter;
    std::stop_source stop;
    const core::SignContext context{stop.get_token(), prompter};
    const std::vector<std::pair<pb::Failure::FailureType, ErrorCode>> cases = {
        {pb::Failure::Failure_ActionCancelled, ErrorCode::UserCancelled},
        {pb::Failure::Failure_PinCancelled, ErrorCode::UserCancelled},
        {pb::Failure::Failure_PinInvalid, ErrorCode::WrongPassword},
        {pb::Failure::Failure_PinExpected, ErrorCode::PinRequired},
        {pb::Failure::Failure_DataError, ErrorCode::InvalidArgument},
        {pb::Failure::Failure_Busy, ErrorCode::DeviceBusy},
        {pb::Failure::Failure_UnexpectedMessage, ErrorCode::NotSupported},
        {pb::Failure::Failure_NotInitialized, ErrorCode::NotSupported},
        {pb::Failure::Failure_FirmwareError, ErrorCode::ProtocolError},
    };
    for (const auto& [code, expected] : cases) {
        auto signer = signer_with(k.address, {wire(failure(code, "device text"))});
        signer->set_keys({key});
        auto sig = signer->sign_personal_message(context, key, core::as_bytes("m"));
        ASSERT_FALSE(sig) << code;
        EXPECT_EQ(sig.error().code, expected) << code;
        EXPECT_NE(sig.error().detail.find("device text"), std::string::npos) << code;
    }
}

TEST(TrezorFailures, ALyingDeviceIsCaught) {
    const Keys k = link_all_key();
    const core::KeyRef key{k.address, "m/44'/60'/0'/0/0"};
    LinkPrompter prompter;
    std::stop_source stop;
    const core::SignContext context{stop.get_token(), prompter};

    // A signature by another key.
    auto other = core::PrivateKey::from_bytes(core::Bytes(32, 0x11));
    pb::EthereumMessageSignature forged;
    const auto rsv = core::sign_personal_message(*other, core::as_bytes("m")).to_rsv();
    forged.set_signature(std::string(rsv.begin(), rsv.end()));
    forged.set_address(k.address.to_checksum_string());
    auto signer = signer_with(k.address, {wire(forged)});
    signer->set_keys({key});
    auto sig = signer->sign_personal_message(context, key, core::as_bytes("m"));
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::ProtocolError);

    // An answer of the wrong type.
    auto confused = signer_with(k.address, {wire(pb::Success())});
    confused->set_keys({key});
    auto sig2 = confused->sign_personal_message(context, key, core::as_bytes("m"));
    ASSERT_FALSE(sig2);
    EXPECT_EQ(sig2.error().code, ErrorCode::ProtocolError);

    // A transaction "signed" before the data was all sent.
    pb::EthereumTxRequest early;
    early.set_signature_v(37);
    early.set_signature_r(std::string(32, '\x01'));
    early.set_signature_s(std::string(32, '\x01'));
    auto hasty = signer_with(k.address, {wire(early)});
    hasty->set_keys({key});
    core::Transaction tx;
    tx.type = core::TxType::Legacy;
    tx.chain_id = 1;
    tx.gas_limit = 100000;
    tx.data.assign(2000, 0xab);
    auto signed_tx = hasty->sign_transaction(context, key, tx);
    ASSERT_FALSE(signed_tx);
    EXPECT_EQ(signed_tx.error().code, ErrorCode::ProtocolError);

    // Asking for more data than there is.
    pb::EthereumTxRequest greedy;
    greedy.set_data_length(5000);
    auto more = signer_with(k.address, {wire(greedy)});
    more->set_keys({key});
    auto refused = more->sign_transaction(context, key, tx);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::ProtocolError);
}

TEST(TrezorFailures, AnInterruptedFlowReinitialisesTheSessionFirst) {
    const Keys k = link_all_key();
    const core::KeyRef key{k.address, "m/44'/60'/0'/0/0"};
    LinkPrompter prompter;
    std::stop_source stop;
    const core::SignContext context{stop.get_token(), prompter};
    int initializes = 0;
    pb::EthereumTxRequest greedy;
    greedy.set_data_length(5000);
    auto device = std::make_unique<ScriptedDevice>([&](const WireMessage& m) {
        if (m.type == pb::kWireId<pb::Initialize>) {
            ++initializes;
            return std::vector<WireMessage>{wire(features())};
        }
        if (m.type == pb::kWireId<pb::EthereumGetAddress>) {
            pb::EthereumAddress reply;
            reply.set_address(k.address.to_checksum_string());
            return std::vector<WireMessage>{wire(reply)};
        }
        return std::vector<WireMessage>{wire(greedy)};
    });
    auto signer = drivers::trezor::TrezorSigner::connect(std::move(device));
    ASSERT_TRUE(signer);
    (*signer)->set_keys({key});
    ASSERT_TRUE((*signer)->address_at(context, key.path));
    EXPECT_EQ(initializes, 1);  // a completed flow leaves the session as it is
    core::Transaction tx;
    tx.type = core::TxType::Legacy;
    tx.chain_id = 1;
    tx.data.assign(10, 1);
    ASSERT_FALSE((*signer)->sign_transaction(context, key, tx));
    EXPECT_EQ(initializes, 1);
    ASSERT_TRUE((*signer)->address_at(context, key.path));
    EXPECT_EQ(initializes, 2);
}

// Whatever convention a firmware uses for v (bare parity, 27/28, EIP-155, EIP-155 cut to 32
// bits), the driver finds the recovery id and rebuilds v at full width for the chain id.
TEST(TrezorFailures, EveryVConventionGivesTheSameTransaction) {
    const Keys k = link_all_key();
    const core::KeyRef key{k.address, "m/44'/60'/0'/0/0"};
    LinkPrompter prompter;
    std::stop_source stop;
    const core::SignContext context{stop.get_token(), prompter};
    for (const std::uint64_t chain : {std::uint64_t{1}, std::uint64_t{5'000'000'000}}) {
        core::Transaction tx;
        tx.type = core::TxType::Legacy;
        tx.chain_id = chain;
        tx.nonce = 9;
        tx.gas_price = 1000;
        tx.gas_limit = 21000;
        tx.to = k.address;
        const core::RecoverableSignature sig = core::sign_digest(k.key, core::signing_hash(tx));
        const std::uint64_t r = sig.recovery_id;
        const std::uint64_t eip155 = 35 + 2 * chain + r;
        for (const std::uint64_t v : {r, 27 + r, eip155, eip155 & 0xffffffffu, eip155 ^ 1}) {
            pb::EthereumTxRequest reply;
            reply.set_signature_v(static_cast<std::uint32_t>(v));
            reply.set_signature_r(std::string(sig.r.begin(), sig.r.end()));
            reply.set_signature_s(std::string(sig.s.begin(), sig.s.end()));
            auto signer = signer_with(k.address, {wire(reply)});
            signer->set_keys({key});
            auto signed_tx = signer->sign_transaction(context, key, tx);
            ASSERT_TRUE(signed_tx) << chain << " v=" << v << ": " << signed_tx.error().detail;
            EXPECT_EQ(signed_tx->sender, k.address);
            EXPECT_EQ(signed_tx->signature.recovery_id, sig.recovery_id);
            auto expected = core::sign(tx, k.key);
            ASSERT_TRUE(expected);
            EXPECT_EQ(signed_tx->raw, expected->raw) << chain << " v=" << v;
        }
    }
}

TEST(TrezorFailures, AnotherDevicesAddressIsRefusedBeforeSigning) {
    const Keys k = link_all_key();
    const core::KeyRef key{k.address, "m/44'/60'/0'/0/0"};
    LinkPrompter prompter;
    std::stop_source stop;
    auto stranger = *core::Address::parse("0x0000000000000000000000000000000000000bad");
    auto signer = signer_with(stranger, {wire(failure(pb::Failure::Failure_FirmwareError, "x"))});
    signer->set_keys({key});
    auto sig =
        signer->sign_personal_message({stop.get_token(), prompter}, key, core::as_bytes("m"));
    ASSERT_FALSE(sig);
    EXPECT_EQ(sig.error().code, ErrorCode::NotFound);
    EXPECT_NE(sig.error().detail.find(stranger.to_checksum_string()), std::string::npos);
    EXPECT_NE(sig.error().detail.find(k.address.to_checksum_string()), std::string::npos);
}

}  // namespace
}  // namespace keybridge::test
