// Ledger's own recorded exchanges: @ledgerhq/hw-app-eth 7.9.0 ships, for its EIP-712 tests, the
// APDUs it sent to a device for 19 sample documents and what the device answered
// (tests/data/ledger/hw-app-eth/, see tests/data/README.md). LedgerSigner must send exactly
// those commands (after its own address check and app-version query) and return the recorded
// signature.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/eip712.h"
#include "core/rlp.h"
#include "drivers/ledger/ledger_signer.h"
#include "tests/drivers/ledger/ledger_test_util.h"

namespace keybridge::drivers::ledger {
namespace {

using test::ledger::kPath;

struct FixtureExchange {
    core::Bytes command;
    ApduReply reply;
};

std::string fixture_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

// "=> hex" / "<= hex" lines; the reply's last two bytes are the status word.
std::vector<FixtureExchange> read_apdus(const std::string& path) {
    std::vector<FixtureExchange> out;
    std::istringstream in(fixture_text(path));
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

class FixturePrompter final : public core::Prompter {
  public:
    void on_device(std::string_view) override { ++shown; }
    void device_done() override {}
    core::Result<core::SecretBuffer> pin_matrix(std::string_view) override {
        return core::fail(core::ErrorCode::UserCancelled, "");
    }
    core::Result<core::SecretBuffer> passphrase(std::string_view) override {
        return core::fail(core::ErrorCode::UserCancelled, "");
    }
    int shown = 0;
};

TEST(LedgerHwAppEthFixtures, FullModeSendsExactlyWhatLedgersLibrarySent) {
    const std::string dir = std::string(KEYBRIDGE_TEST_DATA_DIR) + "/ledger/hw-app-eth/";
    const std::vector<std::pair<std::string, std::string>> cases = {{"0", "0"},
                                                                    {"1", "1"},
                                                                    {"2", "2"},
                                                                    {"3", "3"},
                                                                    {"4", "4"},
                                                                    {"5", "5"},
                                                                    {"6", "6"},
                                                                    {"7", "7"},
                                                                    {"8", "8"},
                                                                    {"9", "9"},
                                                                    {"10", "10"},
                                                                    {"11", "11"},
                                                                    {"12", "12"},
                                                                    {"13", "13"},
                                                                    {"14", "14"},
                                                                    {"14", "14bis"},
                                                                    {"15", "15-permit"},
                                                                    {"16", "16-permit2"},
                                                                    {"17", "17-uniswapx"},
                                                                    {"18", "18-1inch-fusion"}};
    int matched = 0;
    std::vector<std::string> refused_by_core;
    for (const auto& [apdus_name, message_name] : cases) {
        SCOPED_TRACE(message_name);
        const auto recorded = read_apdus(dir + apdus_name + ".apdus");
        ASSERT_GT(recorded.size(), 2u);
        auto typed = core::eip712::parse(fixture_text(dir + "message-" + message_name + ".json"));
        if (!typed) {
            refused_by_core.push_back(message_name + ": " + typed.error().detail);
            continue;
        }
        auto hashed = core::eip712::hash_typed_data(std::move(*typed), core::eip712::Version::V4);
        if (!hashed) {
            refused_by_core.push_back(message_name + ": " + hashed.error().detail);
            continue;
        }
        // The recorded device's key: recovered from its signature over the document.
        const ApduReply& final_reply = recorded.back().reply;
        ASSERT_EQ(final_reply.data.size(), 65u);
        auto sig = eth::parse_signature(final_reply.data);
        ASSERT_TRUE(sig);
        const core::RecoverableSignature signature{sig->r, sig->s,
                                                   static_cast<std::uint8_t>(sig->v - 27)};
        auto pub = core::recover_public_key(hashed->digest(), signature, false);
        ASSERT_TRUE(pub) << "the recorded signature does not fit the document";

        auto channel = std::make_unique<test::ledger::ScriptedChannel>();
        auto* script = channel.get();
        core::Bytes address{65};
        const auto sec1 = pub->uncompressed();
        address.insert(address.end(), sec1.begin(), sec1.end());
        address.push_back(40);
        const std::string text = core::hex_encode(pub->address().view(), false);
        address.insert(address.end(), text.begin(), text.end());
        script->ok(address);
        // Ethereum 1.10.0: full mode, and older than the filters (1.11.1) these recordings were
        // made without.
        script->ok(*core::hex_decode("0108457468657265756d06312e31302e30"));
        for (const auto& exchange : recorded)
            script->push(exchange.reply);

        LedgerSigner signer(std::move(channel), "ledger:fixture", Model::NanoX);
        const core::KeyRef key{pub->address(), kPath};
        signer.set_keys({key});
        FixturePrompter prompter;
        std::stop_source stop;
        auto result = signer.sign_typed_data({stop.get_token(), prompter}, key, *hashed);
        ASSERT_TRUE(result) << result.error().detail;
        EXPECT_EQ(*result, signature);

        const auto sent = script->sent();
        ASSERT_EQ(sent.size(), recorded.size() + 2);
        for (std::size_t i = 0; i < recorded.size(); ++i) {
            EXPECT_EQ(core::hex_encode(sent[i + 2], false),
                      core::hex_encode(recorded[i].command, false))
                << "APDU " << i;
        }
        ++matched;
    }
    for (const auto& why : refused_by_core)
        std::cout << "not signable by keybridge (refused by core::eip712): " << why << "\n";
    // core::eip712 accepts every sample, and each matched.
    EXPECT_TRUE(refused_by_core.empty());
    EXPECT_EQ(matched, static_cast<int>(cases.size()));
}

// hw-app-eth's signTransaction tests: 29 transactions (legacy, EIP-155, 2930, 1559; up to five
// chunks). Our chunking of the same payload gives the same APDUs.
TEST(LedgerHwAppEthFixtures, TransactionChunksMatchTheRecordedOnes) {
    const std::string path =
        std::string(KEYBRIDGE_TEST_DATA_DIR) + "/ledger/hw-app-eth/sign-transaction.apdus";
    std::vector<std::vector<core::Bytes>> groups;
    {
        std::istringstream in(fixture_text(path));
        std::string line;
        bool fresh = true;
        while (std::getline(in, line)) {
            if (line.empty()) {
                fresh = true;
            } else if (line.starts_with("=> ")) {
                if (fresh) groups.emplace_back();
                fresh = false;
                groups.back().push_back(*core::hex_decode(line.substr(3)));
            }
        }
    }
    ASSERT_EQ(groups.size(), 29u);
    int multi_chunk = 0;
    int not_canonical = 0;
    for (const auto& recorded : groups) {
        core::Bytes payload;
        for (const auto& apdu : recorded)
            payload.insert(payload.end(), apdu.begin() + 5, apdu.end());
        const std::size_t path_size = 1 + 4 * std::size_t{payload[0]};
        const core::ByteView tx = core::ByteView(payload).subspan(path_size);
        const bool legacy = tx[0] >= 0xc0;
        std::size_t tail = 0;
        if (legacy) {
            auto list = core::rlp::decode(tx);
            if (!list) {
                // One recorded transaction is not canonical RLP (a long-form length for 53
                // bytes); keybridge never sends such an encoding.
                ++not_canonical;
                continue;
            }
            ASSERT_GE(list->items.size(), 3u);
            core::Bytes last3;
            for (std::size_t i = list->items.size() - 3; i < list->items.size(); ++i) {
                const core::Bytes item = core::rlp::encode(list->items[i]);
                last3.insert(last3.end(), item.begin(), item.end());
            }
            tail = core::rlp::encode_list_payload(last3).size() - 1;
        }
        const auto sizes = eth::transaction_chunk_sizes(payload.size(), legacy, tail);
        ASSERT_EQ(sizes.size(), recorded.size());
        std::size_t offset = 0;
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            auto apdu = eth::make_apdu(eth::kCla, eth::kInsSignTransaction, i == 0 ? 0x00 : 0x80,
                                       0x00, core::ByteView(payload).subspan(offset, sizes[i]));
            ASSERT_TRUE(apdu);
            EXPECT_EQ(*apdu, recorded[i]);
            offset += sizes[i];
        }
        if (recorded.size() > 1) ++multi_chunk;
    }
    EXPECT_GE(multi_chunk, 6);
    EXPECT_EQ(not_canonical, 1);
}

}  // namespace
}  // namespace keybridge::drivers::ledger
