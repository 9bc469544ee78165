// The same requests hw-app-eth made against keybridge's Ledger simulator
// (tests/data/ledger/transcripts/, recorded by tests/node/ledger_hw_app_eth.mjs): our driver must
// send exactly the APDUs Ledger's library sent. The recorded answers are played back, so the
// driver's parsing of real answers (and its signature checks) run too. The driver's own extra
// exchange — the address check before each signature — is answered first and left out of the
// comparison, as the recording left out the Node test's.
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/eip191.h"
#include "core/eip712.h"
#include "core/transaction.h"
#include "drivers/ledger/ledger_signer.h"
#include "tests/drivers/ledger/ledger_test_util.h"

namespace keybridge::drivers::ledger {
namespace {

namespace json = boost::json;

constexpr std::string_view kSpeculosPhrase =
    "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle "
    "enact monster seven myth punch hobby comfort wild raise skin";

std::string dir() {
    return std::string(KEYBRIDGE_TEST_DATA_DIR) + "/ledger/transcripts/";
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

struct Exchange {
    core::Bytes command;
    ApduReply reply;
};

std::vector<Exchange> read_transcript(const std::string& name) {
    std::vector<Exchange> out;
    std::istringstream in(read_text(dir() + name + ".apdus"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("=> ")) {
            out.push_back({*core::hex_decode(line.substr(3)), {}});
        } else if (line.starts_with("<= ") && !out.empty()) {
            const core::Bytes bytes = *core::hex_decode(line.substr(3));
            out.back().reply.data.assign(bytes.begin(), bytes.end() - 2);
            out.back().reply.status =
                static_cast<std::uint16_t>(bytes[bytes.size() - 2] << 8 | bytes.back());
        }
    }
    return out;
}

core::U256 u256(const json::value& v) {
    return *core::parse_u256_decimal(v.as_string());
}

core::Transaction tx_from_json(const json::object& t) {
    core::Transaction tx;
    tx.type = static_cast<core::TxType>(t.at("type").as_int64());
    tx.chain_id = u256(t.at("chainId"));
    tx.eip155 = true;
    tx.nonce = static_cast<std::uint64_t>(u256(t.at("nonce")));
    tx.gas_limit = static_cast<std::uint64_t>(u256(t.at("gasLimit")));
    if (t.contains("gasPrice")) tx.gas_price = u256(t.at("gasPrice"));
    if (t.contains("maxFeePerGas")) tx.max_fee_per_gas = u256(t.at("maxFeePerGas"));
    if (t.contains("maxPriorityFeePerGas")) {
        tx.max_priority_fee_per_gas = u256(t.at("maxPriorityFeePerGas"));
    }
    if (!t.at("to").is_null()) tx.to = *core::Address::parse(t.at("to").as_string());
    tx.value = u256(t.at("value"));
    if (t.contains("data")) tx.data = *core::hex_decode(t.at("data").as_string());
    if (t.contains("dataRepeat")) {
        const auto& r = t.at("dataRepeat").as_object();
        const auto byte = *core::hex_decode(r.at("byte").as_string(), core::HexPrefix::Forbidden);
        tx.data.assign(static_cast<std::size_t>(r.at("count").as_int64()), byte.at(0));
    }
    if (t.contains("accessList")) {
        for (const auto& entry : t.at("accessList").as_array()) {
            core::AccessListEntry e;
            e.address = *core::Address::parse(entry.at("address").as_string());
            for (const auto& k : entry.at("storageKeys").as_array())
                e.storage_keys.push_back(*core::hex_decode_fixed<32>(k.as_string()));
            tx.access_list.push_back(std::move(e));
        }
    }
    return tx;
}

class NullPrompter final : public core::Prompter {
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

TEST(LedgerTranscripts, OurDriverSendsExactlyWhatHwAppEthSent) {
    const json::value requests = json::parse(read_text(dir() + "requests.json"));
    const auto& list = requests.at("requests").as_array();
    ASSERT_EQ(list.size(), 21u);
    int checked = 0;
    int filtered = 0;
    for (const auto& item : list) {
        const auto& r = item.as_object();
        const std::string name(r.at("name").as_string());
        const std::string method(r.at("method").as_string());
        SCOPED_TRACE(name);
        const auto recorded = read_transcript(name);
        ASSERT_FALSE(recorded.empty());
        const std::string path =
            r.contains("path") ? "m/" + std::string(r.at("path").as_string()) : "";

        if (method == "getAddress") {
            std::optional<std::uint64_t> chain_id;
            if (r.contains("chainId")) {
                chain_id = static_cast<std::uint64_t>(u256(r.at("chainId")));
            }
            const bool display = r.contains("display") && r.at("display").as_bool();
            const bool chain_code = r.contains("chainCode") && r.at("chainCode").as_bool();
            ASSERT_EQ(recorded.size(), 1u);
            EXPECT_EQ(*eth::get_address_apdu(path, display, chain_code, chain_id),
                      recorded[0].command);
            auto parsed = eth::parse_address(recorded[0].reply.data, chain_code);
            ASSERT_TRUE(parsed) << parsed.error().detail;
            const auto key = test::ledger::key_at(path, kSpeculosPhrase);
            EXPECT_EQ(parsed->address, core::PublicKey::from_private(key).address());
            ++checked;
            continue;
        }
        if (method == "getAppConfiguration") {
            ASSERT_EQ(recorded.size(), 1u);
            EXPECT_EQ(eth::get_configuration_apdu(), recorded[0].command);
            auto config = eth::parse_configuration(recorded[0].reply.data);
            ASSERT_TRUE(config);
            EXPECT_EQ(config->version(),
                      std::string(requests.at("recordedWith").at("appVersion").as_string()));
            ++checked;
            continue;
        }

        std::optional<core::eip712::HashedTypedData> typed;
        if (r.contains("typedData") || r.contains("typedDataFixture")) {
            // typedDataFixture: a document from hw-app-eth's own fixtures (a copy is in
            // tests/data/ledger/hw-app-eth/ as message-NAME.json).
            const json::value doc =
                r.contains("typedData")
                    ? requests.at("typedData").at(r.at("typedData").as_string())
                    : json::parse(read_text(std::string(KEYBRIDGE_TEST_DATA_DIR) +
                                            "/ledger/hw-app-eth/message-" +
                                            std::string(r.at("typedDataFixture").as_string())));
            if (r.contains("expectFilters")) ++filtered;
            auto parsed = core::eip712::parse(doc);
            ASSERT_TRUE(parsed) << parsed.error().detail;
            auto hashed =
                core::eip712::hash_typed_data(std::move(*parsed), core::eip712::Version::V4);
            ASSERT_TRUE(hashed);
            typed.emplace(std::move(*hashed));
        }
        if (method == "signEIP712HashedMessage") {
            ASSERT_EQ(recorded.size(), 1u);
            EXPECT_EQ(*eth::sign_eip712_hashed_apdu(path, typed->domain_separator(),
                                                    *typed->message_hash()),
                      recorded[0].command);
            ++checked;
            continue;
        }

        // Signatures through LedgerSigner: the address check first, then the recording.
        const auto key = test::ledger::key_at(path, kSpeculosPhrase);
        const core::KeyRef account{core::PublicKey::from_private(key).address(), path};
        auto channel = std::make_unique<test::ledger::ScriptedChannel>();
        auto* script = channel.get();
        script->ok(test::ledger::address_reply(key));
        for (const auto& exchange : recorded)
            script->push(exchange.reply);
        LedgerSigner signer(std::move(channel), "ledger:transcript", Model::NanoSPlus);
        signer.set_keys({account});
        NullPrompter prompter;
        std::stop_source stop;
        const core::SignContext context{stop.get_token(), prompter};

        if (method == "signPersonalMessage") {
            const std::string text(r.at("messageText").as_string());
            auto sig = signer.sign_personal_message(context, account, core::as_bytes(text));
            ASSERT_TRUE(sig) << sig.error().detail;
            auto who = core::recover_personal_signer(core::as_bytes(text), sig->to_rsv());
            ASSERT_TRUE(who);
            EXPECT_EQ(*who, account.address);
        } else if (method == "signTransaction") {
            const core::Transaction tx = tx_from_json(r.at("tx").as_object());
            auto signed_tx = signer.sign_transaction(context, account, tx);
            ASSERT_TRUE(signed_tx) << signed_tx.error().detail;
            EXPECT_EQ(signed_tx->sender, account.address);
        } else if (method == "signEIP712Message") {
            auto sig = signer.sign_typed_data(context, account, *typed);
            ASSERT_TRUE(sig) << sig.error().detail;
            EXPECT_EQ(core::recover_public_key(typed->digest(), *sig)->address(), account.address);
        } else {
            ADD_FAILURE() << "a request method this test does not know: " << method;
            continue;
        }
        const auto sent = script->sent();
        ASSERT_EQ(sent.size(), recorded.size() + 1);
        EXPECT_EQ(sent[0], *eth::get_address_apdu(path, false, false));
        for (std::size_t i = 0; i < recorded.size(); ++i) {
            EXPECT_EQ(core::hex_encode(sent[i + 1], false),
                      core::hex_encode(recorded[i].command, false))
                << "APDU " << i;
        }
        ++checked;
    }
    EXPECT_EQ(filtered, 1);
    EXPECT_EQ(checked, static_cast<int>(list.size()));
}

}  // namespace
}  // namespace keybridge::drivers::ledger
