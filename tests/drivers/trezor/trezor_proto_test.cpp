// Our .proto files: every MessageType id names a message we define (and kWireId agrees), and
// every message survives a serialize/parse round trip with all its fields set.
#include <random>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "proto/message_types.h"

namespace keybridge::test {
namespace {

namespace gp = google::protobuf;

TEST(TrezorProtoRegistry, EveryWireIdNamesOneOfOurMessages) {
    const gp::EnumDescriptor* ids = trezor::MessageType_descriptor();
    ASSERT_GT(ids->value_count(), 25);
    for (int i = 0; i < ids->value_count(); ++i) {
        const gp::EnumValueDescriptor* value = ids->value(i);
        ASSERT_TRUE(value->name().starts_with("MessageType_")) << value->name();
        const std::string name = value->name().substr(12);
        const gp::Descriptor* message =
            gp::DescriptorPool::generated_pool()->FindMessageTypeByName("keybridge.trezor." + name);
        EXPECT_NE(message, nullptr) << name << " has a wire id but no message";
        EXPECT_EQ(trezor::message_name(static_cast<std::uint16_t>(value->number())), name);
    }
}

template <class M>
void expect_registered() {
    const std::string name = M::descriptor()->name();
    EXPECT_EQ(trezor::message_name(trezor::kWireId<M>), name);
}

TEST(TrezorProtoRegistry, KWireIdMatchesTheEnum) {
    expect_registered<trezor::Initialize>();
    expect_registered<trezor::GetFeatures>();
    expect_registered<trezor::Features>();
    expect_registered<trezor::Ping>();
    expect_registered<trezor::Success>();
    expect_registered<trezor::Failure>();
    expect_registered<trezor::Cancel>();
    expect_registered<trezor::ButtonRequest>();
    expect_registered<trezor::ButtonAck>();
    expect_registered<trezor::PinMatrixRequest>();
    expect_registered<trezor::PinMatrixAck>();
    expect_registered<trezor::PassphraseRequest>();
    expect_registered<trezor::PassphraseAck>();
    expect_registered<trezor::EthereumGetAddress>();
    expect_registered<trezor::EthereumAddress>();
    expect_registered<trezor::EthereumGetPublicKey>();
    expect_registered<trezor::EthereumPublicKey>();
    expect_registered<trezor::EthereumSignTx>();
    expect_registered<trezor::EthereumSignTxEIP1559>();
    expect_registered<trezor::EthereumTxRequest>();
    expect_registered<trezor::EthereumTxAck>();
    expect_registered<trezor::EthereumSignMessage>();
    expect_registered<trezor::EthereumMessageSignature>();
    expect_registered<trezor::EthereumSignTypedHash>();
    expect_registered<trezor::EthereumTypedDataSignature>();
    expect_registered<trezor::EthereumSignTypedData>();
    expect_registered<trezor::EthereumTypedDataStructRequest>();
    expect_registered<trezor::EthereumTypedDataStructAck>();
    expect_registered<trezor::EthereumTypedDataValueRequest>();
    expect_registered<trezor::EthereumTypedDataValueAck>();
}

// Sets every field of `message` (nested messages to `depth`, two elements per repeated field).
void fill(gp::Message& message, std::mt19937& random, int depth) {
    const gp::Descriptor* d = message.GetDescriptor();
    const gp::Reflection* r = message.GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
        const gp::FieldDescriptor* f = d->field(i);
        const int count = f->is_repeated() ? 2 : 1;
        for (int n = 0; n < count; ++n) {
            const bool rep = f->is_repeated();
            switch (f->cpp_type()) {
                case gp::FieldDescriptor::CPPTYPE_UINT32:
                    rep ? r->AddUInt32(&message, f, random()) : r->SetUInt32(&message, f, random());
                    break;
                case gp::FieldDescriptor::CPPTYPE_UINT64: {
                    const std::uint64_t v = (std::uint64_t{random()} << 32) | random();
                    rep ? r->AddUInt64(&message, f, v) : r->SetUInt64(&message, f, v);
                    break;
                }
                case gp::FieldDescriptor::CPPTYPE_BOOL:
                    rep ? r->AddBool(&message, f, true) : r->SetBool(&message, f, true);
                    break;
                case gp::FieldDescriptor::CPPTYPE_STRING: {
                    std::string v(random() % 70, '\0');
                    for (char& c : v)
                        c = static_cast<char>('a' + random() % 26);
                    rep ? r->AddString(&message, f, v) : r->SetString(&message, f, v);
                    break;
                }
                case gp::FieldDescriptor::CPPTYPE_ENUM: {
                    const gp::EnumDescriptor* e = f->enum_type();
                    const gp::EnumValueDescriptor* v = e->value(random() % e->value_count());
                    rep ? r->AddEnum(&message, f, v) : r->SetEnum(&message, f, v);
                    break;
                }
                case gp::FieldDescriptor::CPPTYPE_MESSAGE:
                    if (depth > 0) {
                        gp::Message* child =
                            rep ? r->AddMessage(&message, f) : r->MutableMessage(&message, f);
                        fill(*child, random, depth - 1);
                    }
                    break;
                default:
                    ADD_FAILURE() << "field type not covered: " << f->full_name();
            }
        }
    }
}

TEST(TrezorProtoRoundTrip, EveryMessageWithEveryField) {
    std::mt19937 random(7);
    const gp::FileDescriptor* files[] = {trezor::Success::descriptor()->file(),
                                         trezor::Features::descriptor()->file(),
                                         trezor::EthereumSignTx::descriptor()->file(),
                                         trezor::EthereumSignTypedData::descriptor()->file()};
    int messages = 0;
    for (const gp::FileDescriptor* file : files) {
        for (int i = 0; i < file->message_type_count(); ++i) {
            const gp::Descriptor* d = file->message_type(i);
            const gp::Message* prototype = gp::MessageFactory::generated_factory()->GetPrototype(d);
            std::unique_ptr<gp::Message> original(prototype->New());
            fill(*original, random, 3);
            ASSERT_TRUE(original->IsInitialized()) << d->name();
            std::string bytes;
            ASSERT_TRUE(original->SerializeToString(&bytes)) << d->name();
            std::unique_ptr<gp::Message> back(prototype->New());
            ASSERT_TRUE(back->ParseFromString(bytes)) << d->name();
            EXPECT_TRUE(gp::util::MessageDifferencer::Equals(*original, *back)) << d->name();
            ++messages;
        }
    }
    EXPECT_GE(messages, 29);
}

}  // namespace
}  // namespace keybridge::test
