#include "drivers/ledger/hid_framing.h"

#include <gtest/gtest.h>

#include "drivers/ledger/models.h"

namespace keybridge::drivers::ledger {
namespace {

core::Bytes pattern(std::size_t size) {
    core::Bytes out(size);
    for (std::size_t i = 0; i < size; ++i)
        out[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return out;
}

core::Result<core::Bytes> reassemble(const std::vector<Report>& reports) {
    HidReassembler r;
    for (std::size_t i = 0; i < reports.size(); ++i) {
        auto done = r.feed(reports[i]);
        if (!done) return core::fail(done.error());
        if (*done != (i + 1 == reports.size())) {
            return core::fail(core::ErrorCode::Internal, "completed at the wrong report");
        }
    }
    return r.message();
}

TEST(LedgerHidFraming, FirstReportCarriesHeaderLengthAndFirst57Bytes) {
    const core::Bytes apdu = {0xe0, 0x06, 0x00, 0x00, 0x00};
    auto reports = frame_apdu(apdu);
    ASSERT_TRUE(reports);
    ASSERT_EQ(reports->size(), 1u);
    const Report& r = (*reports)[0];
    EXPECT_EQ(core::hex_encode(core::ByteView(r).first(12), false),
              "0101050000"
              "0005"
              "e006000000");
    for (std::size_t i = 12; i < kReportSize; ++i)
        EXPECT_EQ(r[i], 0) << i;
}

TEST(LedgerHidFraming, ContinuationReportsAreNumberedBigEndian) {
    auto reports = frame_apdu(pattern(57 + 59 + 1));
    ASSERT_TRUE(reports);
    ASSERT_EQ(reports->size(), 3u);
    EXPECT_EQ((*reports)[1][3], 0x00);
    EXPECT_EQ((*reports)[1][4], 0x01);
    EXPECT_EQ((*reports)[2][4], 0x02);
    EXPECT_EQ((*reports)[2][5], pattern(117)[116]);
}

TEST(LedgerHidFraming, RoundTripsEveryBoundary) {
    for (std::size_t size : {0u, 1u, 56u, 57u, 58u, 115u, 116u, 117u, 300u, 4096u, 65535u}) {
        const core::Bytes apdu = pattern(size);
        auto reports = frame_apdu(apdu);
        ASSERT_TRUE(reports) << size;
        const std::size_t expected =
            size <= kFirstReportPayload
                ? 1
                : 1 + (size - kFirstReportPayload + kNextReportPayload - 1) / kNextReportPayload;
        EXPECT_EQ(reports->size(), expected) << size;
        auto back = reassemble(*reports);
        ASSERT_TRUE(back) << size << ": " << back.error().detail;
        EXPECT_EQ(*back, apdu) << size;
    }
}

TEST(LedgerHidFraming, RefusesAnApduTooLongForTheLengthField) {
    auto reports = frame_apdu(core::Bytes(65536));
    ASSERT_FALSE(reports);
    EXPECT_EQ(reports.error().code, core::ErrorCode::InvalidArgument);
}

TEST(LedgerHidFraming, RefusesWrongChannelTagAndSequence) {
    auto reports = *frame_apdu(pattern(200));
    {
        Report bad = reports[0];
        bad[1] = 0x02;
        HidReassembler r;
        auto done = r.feed(bad);
        ASSERT_FALSE(done);
        EXPECT_EQ(done.error().code, core::ErrorCode::ProtocolError);
        EXPECT_NE(done.error().detail.find("channel"), std::string::npos);
    }
    {
        Report bad = reports[0];
        bad[2] = 0x02;  // a ping, not an APDU
        HidReassembler r;
        auto done = r.feed(bad);
        ASSERT_FALSE(done);
        EXPECT_NE(done.error().detail.find("tag"), std::string::npos);
    }
    {
        HidReassembler r;
        ASSERT_TRUE(r.feed(reports[0]));
        auto skipped = r.feed(reports[2]);  // sequence 2 where 1 was due
        ASSERT_FALSE(skipped);
        EXPECT_NE(skipped.error().detail.find("sequence"), std::string::npos);
        // Broken stays broken until reset.
        EXPECT_FALSE(r.feed(reports[1]));
        r.reset();
        EXPECT_TRUE(r.feed(reports[0]));
    }
    {
        HidReassembler r;  // a continuation where a first report is due
        EXPECT_FALSE(r.feed(reports[1]));
    }
}

TEST(LedgerHidFraming, RefusesShortAndLongReports) {
    auto reports = *frame_apdu(pattern(10));
    HidReassembler r;
    EXPECT_FALSE(r.feed(core::ByteView(reports[0]).first(7)));
    r.reset();
    core::Bytes longer(reports[0].begin(), reports[0].end());
    longer.push_back(0);
    EXPECT_FALSE(r.feed(longer));
    r.reset();
    EXPECT_FALSE(r.feed(core::Bytes{}));
}

TEST(LedgerHidFraming, LengthBeyondTheLimitIsRefusedBeforeAnyAllocation) {
    auto reports = *frame_apdu(pattern(600));
    HidReassembler r(kHidChannel, /*max_length=*/512);
    auto done = r.feed(reports[0]);
    ASSERT_FALSE(done);
    EXPECT_NE(done.error().detail.find("600"), std::string::npos);
}

TEST(LedgerHidFraming, PaddingAfterTheAnnouncedLengthIsIgnoredAndNothingFollows) {
    auto reports = *frame_apdu(pattern(3));
    reports[0][20] = 0xaa;  // garbage in the padding
    HidReassembler r;
    auto done = r.feed(reports[0]);
    ASSERT_TRUE(done);
    EXPECT_TRUE(*done);
    EXPECT_EQ(r.message(), pattern(3));
    auto extra = r.feed(reports[0]);
    ASSERT_FALSE(extra);
    EXPECT_EQ(extra.error().code, core::ErrorCode::ProtocolError);
}

TEST(LedgerHidFraming, AnotherChannelCanBeChosen) {
    auto reports = *frame_apdu(pattern(5), 0x0102);
    HidReassembler ours;
    EXPECT_FALSE(ours.feed(reports[0]));
    HidReassembler theirs(0x0102);
    EXPECT_TRUE(theirs.feed(reports[0]));
}

TEST(LedgerModels, ModelComesFromTheProductIdHighByteOrTheLegacyId) {
    EXPECT_EQ(model_from_product_id(0x1011), Model::NanoS);
    EXPECT_EQ(model_from_product_id(0x4015), Model::NanoX);
    EXPECT_EQ(model_from_product_id(0x5011), Model::NanoSPlus);
    EXPECT_EQ(model_from_product_id(0x6011), Model::Stax);
    EXPECT_EQ(model_from_product_id(0x7011), Model::Flex);
    EXPECT_EQ(model_from_product_id(0x8011), Model::NanoGen5);
    EXPECT_EQ(model_from_product_id(0x0001), Model::NanoS);
    EXPECT_EQ(model_from_product_id(0x0004), Model::NanoX);
    EXPECT_EQ(model_from_product_id(0x0005), Model::NanoSPlus);
    EXPECT_EQ(model_from_product_id(0x0000), Model::Blue);
    EXPECT_EQ(model_from_product_id(0x0042), std::nullopt);
    EXPECT_EQ(model_from_product_id(0x2011), std::nullopt);
    EXPECT_EQ(model_name(Model::NanoSPlus), "Nano S Plus");
    EXPECT_EQ(model_name(Model::Emulator), "Speculos emulator");
    EXPECT_EQ(model_from_name("Nano S Plus"), Model::NanoSPlus);
    EXPECT_EQ(model_from_name("Ledger Flex"), Model::Flex);
    EXPECT_EQ(model_from_name("Speculos"), Model::Emulator);
    EXPECT_EQ(model_from_name("Nano Q"), Model::Unknown);
    for (const auto& m : usb_models()) {
        EXPECT_EQ(model_from_product_id(m.legacy_product_id), m.model);
        if (m.product_id_mm != 0) {
            EXPECT_EQ(model_from_product_id(static_cast<std::uint16_t>(m.product_id_mm << 8 | 1)),
                      m.model);
        }
    }
}

}  // namespace
}  // namespace keybridge::drivers::ledger
