// Protocol v1 framing (drivers/trezor/framing), checked against the simulator's independent
// framing code, plus protobuf round trips of our .proto files and host:port parsing.
#include <random>

#include <gtest/gtest.h>

#include "drivers/trezor/framing.h"
#include "drivers/trezor/udp_report_device.h"
#include "proto/message_types.h"
#include "tests/tools/trezor_sim/sim_wire.h"

namespace keybridge::test {
namespace {

using drivers::trezor::encode_reports;
using drivers::trezor::Reassembler;
using drivers::trezor::Report;
using drivers::trezor::WireMessage;

core::Bytes pattern(std::size_t n) {
    core::Bytes out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return out;
}

std::optional<WireMessage> feed_all(Reassembler& reader, const std::vector<Report>& reports) {
    std::optional<WireMessage> got;
    for (const auto& report : reports) {
        auto r = reader.feed(report);
        EXPECT_TRUE(r) << r.error().detail;
        if (r && *r) got = std::move(**r);
    }
    return got;
}

TEST(TrezorFraming, FirstReportLayout) {
    const auto reports = encode_reports(0x01c4, pattern(3));
    ASSERT_EQ(reports.size(), 1u);
    const Report& r = reports[0];
    EXPECT_EQ(r[0], '?');
    EXPECT_EQ(r[1], '#');
    EXPECT_EQ(r[2], '#');
    EXPECT_EQ(r[3], 0x01);
    EXPECT_EQ(r[4], 0xc4);
    EXPECT_EQ(r[5], 0);
    EXPECT_EQ(r[6], 0);
    EXPECT_EQ(r[7], 0);
    EXPECT_EQ(r[8], 3);
    EXPECT_EQ(r[9], 3);
    EXPECT_EQ(r[12], 0);  // zero padding
}

TEST(TrezorFraming, ManyLengthsRoundTripAndMatchTheSimulatorsFraming) {
    for (std::size_t n : {0, 1, 54, 55, 56, 117, 118, 119, 500, 1024, 4096, 65535, 200000}) {
        const core::Bytes payload = pattern(n);
        const auto reports = encode_reports(58, payload);
        const std::size_t expected_reports = n <= 55 ? 1 : 1 + (n - 55 + 62) / 63;
        EXPECT_EQ(reports.size(), expected_reports) << n;
        for (std::size_t i = 1; i < reports.size(); ++i)
            EXPECT_EQ(reports[i][0], '?');

        Reassembler reader;
        auto got = feed_all(reader, reports);
        ASSERT_TRUE(got) << n;
        EXPECT_EQ(got->type, 58);
        EXPECT_EQ(got->payload, payload) << n;
        EXPECT_FALSE(reader.in_progress());

        // The simulator's framing, written apart, produces the same bytes and reads ours.
        trezor_sim::SimMessage sim{58, std::string(payload.begin(), payload.end())};
        const auto sim_reports = trezor_sim::to_reports(sim);
        ASSERT_EQ(sim_reports.size(), reports.size()) << n;
        for (std::size_t i = 0; i < reports.size(); ++i)
            EXPECT_EQ(sim_reports[i], reports[i]);
        trezor_sim::SimAssembler sim_reader(1u << 20);
        std::optional<trezor_sim::SimMessage> back;
        for (const auto& r : reports) {
            if (auto m = sim_reader.push(r.data(), r.size())) back = std::move(m);
        }
        ASSERT_TRUE(back) << n;
        EXPECT_EQ(back->payload, sim.payload);
    }
}

TEST(TrezorFraming, ResynchronisesOnTheHeaderAfterGarbage) {
    Reassembler reader;
    Report garbage{};
    garbage.fill(0x41);
    Report almost{};  // '?' then not '##': a stale continuation
    almost[0] = '?';
    almost[1] = '#';
    almost[2] = 'x';
    for (const auto& r : {garbage, almost, garbage}) {
        auto fed = reader.feed(r);
        ASSERT_TRUE(fed);
        EXPECT_FALSE(*fed);
    }
    EXPECT_EQ(reader.skipped(), 3u);
    auto got = feed_all(reader, encode_reports(17, pattern(100)));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->type, 17);
    EXPECT_EQ(got->payload, pattern(100));
}

TEST(TrezorFraming, WrongMagicIsNeverAHeader) {
    for (const char* magic : {"?#?", "!##", "?$#", "##?"}) {
        auto reports = encode_reports(3, pattern(10));
        std::copy_n(magic, 3, reports[0].begin());
        Reassembler reader;
        auto fed = reader.feed(reports[0]);
        ASSERT_TRUE(fed);
        EXPECT_FALSE(*fed) << magic;
        EXPECT_FALSE(reader.in_progress()) << magic;
    }
}

TEST(TrezorFraming, AbsurdDeclaredLengthsAreRefused) {
    for (std::uint32_t length :
         {drivers::trezor::kMaxMessageLength + 1, 0x7fffffffu, 0xffffffffu}) {
        Report header{};
        header[0] = '?';
        header[1] = '#';
        header[2] = '#';
        header[4] = 59;
        for (int i = 0; i < 4; ++i)
            header[5 + i] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
        Reassembler reader;
        auto fed = reader.feed(header);
        ASSERT_FALSE(fed);
        EXPECT_EQ(fed.error().code, core::ErrorCode::ProtocolError);
        EXPECT_NE(fed.error().detail.find(std::to_string(length)), std::string::npos);
        // ... and the next good message still comes through.
        auto got = feed_all(reader, encode_reports(2, pattern(5)));
        ASSERT_TRUE(got);
        EXPECT_EQ(got->payload, pattern(5));
    }
}

TEST(TrezorFraming, CorruptedContinuationDropsTheMessage) {
    auto reports = encode_reports(66, pattern(300));
    ASSERT_GE(reports.size(), 3u);
    reports[2][0] = 'X';
    Reassembler reader;
    ASSERT_TRUE(reader.feed(reports[0]));
    ASSERT_TRUE(reader.feed(reports[1]));
    auto fed = reader.feed(reports[2]);
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().code, core::ErrorCode::ProtocolError);
    EXPECT_FALSE(reader.in_progress());
    auto got = feed_all(reader, encode_reports(66, pattern(300)));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload, pattern(300));
}

TEST(TrezorFraming, TruncatedContinuationsYieldNothing) {
    const auto reports = encode_reports(66, pattern(300));
    for (std::size_t keep = 1; keep < reports.size(); ++keep) {
        Reassembler reader;
        for (std::size_t i = 0; i < keep; ++i) {
            auto fed = reader.feed(reports[i]);
            ASSERT_TRUE(fed);
            EXPECT_FALSE(*fed);
        }
        EXPECT_TRUE(reader.in_progress());
        reader.reset();
        EXPECT_FALSE(reader.in_progress());
    }
}

TEST(TrezorFraming, ReportsOfTheWrongSizeAreRefused) {
    Reassembler reader;
    const core::Bytes short_report(63, '?');
    auto fed = reader.feed(short_report);
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().code, core::ErrorCode::ProtocolError);
    const core::Bytes long_report(65, '?');
    EXPECT_FALSE(reader.feed(long_report));
}

TEST(TrezorFraming, RandomCorruptionNeverCrashesOrInventsLength) {
    std::mt19937 random(12345);
    for (int round = 0; round < 300; ++round) {
        auto reports =
            encode_reports(static_cast<std::uint16_t>(random()), pattern(random() % 700));
        for (auto& r : reports) {
            if (random() % 3 == 0) r[random() % 64] = static_cast<std::uint8_t>(random());
        }
        Reassembler reader;
        for (const auto& r : reports) {
            auto fed = reader.feed(r);
            if (fed && *fed) {
                EXPECT_LE((*fed)->payload.size(), drivers::trezor::kMaxMessageLength);
            }
        }
    }
}

TEST(TrezorProto, WireIdsAreTheProtocolsNumbers) {
    EXPECT_EQ(trezor::kWireId<trezor::Initialize>, 0);
    EXPECT_EQ(trezor::kWireId<trezor::Features>, 17);
    EXPECT_EQ(trezor::kWireId<trezor::PinMatrixRequest>, 18);
    EXPECT_EQ(trezor::kWireId<trezor::ButtonRequest>, 26);
    EXPECT_EQ(trezor::kWireId<trezor::PassphraseAck>, 42);
    EXPECT_EQ(trezor::kWireId<trezor::EthereumSignTx>, 58);
    EXPECT_EQ(trezor::kWireId<trezor::EthereumTxRequest>, 59);
    EXPECT_EQ(trezor::kWireId<trezor::EthereumSignMessage>, 64);
    EXPECT_EQ(trezor::kWireId<trezor::EthereumSignTxEIP1559>, 452);
    EXPECT_EQ(trezor::kWireId<trezor::EthereumSignTypedData>, 464);
    EXPECT_EQ(trezor::kWireId<trezor::EthereumSignTypedHash>, 470);
    EXPECT_EQ(trezor::message_name(58), "EthereumSignTx");
    EXPECT_EQ(trezor::message_name(9999), "message 9999");
}

TEST(TrezorProto, RoundTripsAndKnownEncodings) {
    trezor::EthereumSignTx tx;
    tx.add_address_n(0x8000002c);
    tx.set_gas_price(std::string("\x04\xa8\x17\xc8\x00", 5));
    tx.set_gas_limit(std::string("\x52\x08", 2));
    tx.set_to("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    tx.set_chain_id((1ull << 40) + 7);
    std::string bytes;
    ASSERT_TRUE(tx.SerializeToString(&bytes));
    // address_n is field 1 varint (unpacked, proto2): 08 ac 80 80 80 08.
    EXPECT_EQ(bytes.substr(0, 6), std::string("\x08\xac\x80\x80\x80\x08", 6));
    trezor::EthereumSignTx back;
    ASSERT_TRUE(back.ParseFromString(bytes));
    EXPECT_EQ(back.chain_id(), (1ull << 40) + 7);
    EXPECT_EQ(back.to(), tx.to());
    // chain_id is required: a message without it does not parse.
    tx.clear_chain_id();
    std::string partial;
    ASSERT_TRUE(tx.SerializePartialToString(&partial));
    EXPECT_FALSE(back.ParseFromString(partial));

    // Features with a field we do not declare: kept as unknown, the rest reads.
    trezor::Features f;
    f.set_major_version(2);
    f.set_minor_version(8);
    f.set_patch_version(1);
    f.set_model("Safe 5");
    f.add_capabilities(trezor::Features::Capability_PassphraseEntry);
    std::string fb;
    ASSERT_TRUE(f.SerializeToString(&fb));
    fb += std::string("\xa8\x03\x01", 3);  // field 53 varint 1, unknown to us
    trezor::Features fr;
    ASSERT_TRUE(fr.ParseFromString(fb));
    EXPECT_EQ(fr.model(), "Safe 5");
    ASSERT_EQ(fr.capabilities_size(), 1);

    // PassphraseAck.on_device is field 3: 18 01.
    trezor::PassphraseAck ack;
    ack.set_on_device(true);
    EXPECT_EQ(ack.SerializeAsString(), std::string("\x18\x01", 2));

    trezor::EthereumTypedDataStructAck sa;
    auto* m = sa.add_members();
    m->set_name("wallets");
    m->mutable_type()->set_data_type(trezor::EthereumTypedDataStructAck::ARRAY);
    m->mutable_type()->mutable_entry_type()->set_data_type(
        trezor::EthereumTypedDataStructAck::ADDRESS);
    trezor::EthereumTypedDataStructAck sb;
    ASSERT_TRUE(sb.ParseFromString(sa.SerializeAsString()));
    EXPECT_EQ(sb.members(0).type().entry_type().data_type(),
              trezor::EthereumTypedDataStructAck::ADDRESS);
}

TEST(TrezorUdp, HostPortParsing) {
    auto a = drivers::trezor::parse_host_port("127.0.0.1:21324");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->first, "127.0.0.1");
    EXPECT_EQ(a->second, 21324);
    auto b = drivers::trezor::parse_host_port("[::1]:9");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, "::1");
    EXPECT_EQ(b->second, 9);
    auto c = drivers::trezor::parse_host_port("localhost");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->second, drivers::trezor::kDefaultEmulatorPort);
    EXPECT_FALSE(drivers::trezor::parse_host_port("host:0"));
    EXPECT_FALSE(drivers::trezor::parse_host_port("host:70000"));
    EXPECT_FALSE(drivers::trezor::parse_host_port(":5"));
    EXPECT_FALSE(drivers::trezor::parse_host_port("::1:5"));
}

}  // namespace
}  // namespace keybridge::test
