#include "drivers/trezor/trezor_signer.h"

#include <algorithm>
#include <optional>
#include <string>

#include <boost/multiprecision/cpp_int.hpp>

#include "core/bip32.h"
#include "core/eip191.h"
#include "core/hash.h"
#include "core/uint256.h"

namespace keybridge::drivers::trezor {
namespace {

namespace pb = keybridge::trezor;
namespace json = boost::json;
using core::ErrorCode;

constexpr std::size_t kDataChunk = 1024;

core::Error failure_error(const pb::Failure& failure) {
    const std::string text = failure.message().empty() ? "" : " (" + failure.message() + ")";
    switch (failure.code()) {
        case pb::Failure::Failure_ActionCancelled:
        case pb::Failure::Failure_PinCancelled:
            return {ErrorCode::UserCancelled, "rejected on the Trezor" + text};
        case pb::Failure::Failure_PinInvalid:
            return {ErrorCode::WrongPassword,
                    "wrong PIN: the Trezor waits longer after each wrong PIN and wipes itself "
                    "after too many" +
                        text};
        case pb::Failure::Failure_PinExpected:
            return {ErrorCode::PinRequired, "the Trezor wants its PIN first" + text};
        case pb::Failure::Failure_DataError:
            return {ErrorCode::InvalidArgument, "the Trezor refused the request" + text};
        case pb::Failure::Failure_Busy:
            return {ErrorCode::DeviceBusy, "the Trezor is busy with another program" + text};
        case pb::Failure::Failure_UnexpectedMessage:
            return {ErrorCode::NotSupported,
                    "this Trezor firmware does not support the request" + text};
        case pb::Failure::Failure_NotInitialized:
            return {ErrorCode::NotSupported,
                    "the Trezor has no wallet yet (set it up first)" + text};
        case pb::Failure::Failure_InvalidProtocol:
            return {ErrorCode::NotSupported,
                    "this Trezor speaks only the encrypted Trezor-Host Protocol (THP), which "
                    "keybridge does not support yet" +
                        text};
        default:
            return {ErrorCode::ProtocolError, "the Trezor failed" + text};
    }
}

core::Result<std::vector<std::uint32_t>> path_indices(std::string_view path) {
    auto indices = core::bip32::parse_path(path);
    if (!indices) return tl::unexpected(indices.error());
    return *indices;
}

template <class M>
void set_path(M& message, const std::vector<std::uint32_t>& path) {
    for (std::uint32_t index : path)
        message.add_address_n(index);
}

std::string minimal_be(const core::U256& value) {
    const core::Bytes bytes = core::u256_to_minimal_be(value);
    return std::string(bytes.begin(), bytes.end());
}

std::string minimal_be(std::uint64_t value) {
    return minimal_be(core::U256(value));
}

std::string to_string(core::ByteView bytes) {
    return std::string(bytes.begin(), bytes.end());
}

core::Result<core::Hash32> hash32(const std::string& bytes, std::string_view what) {
    if (bytes.empty() || bytes.size() > 32) {
        return core::fail(ErrorCode::ProtocolError,
                          "the Trezor sent a bad signature " + std::string(what));
    }
    core::Hash32 out{};
    std::copy(bytes.begin(), bytes.end(), out.end() - static_cast<std::ptrdiff_t>(bytes.size()));
    return out;
}

// --- EIP-712 values as the device asks for them ---

using FieldType = pb::EthereumTypedDataStructAck::EthereumFieldType;

core::Status describe_type(const core::eip712::TypedData& typed, std::string_view type,
                           FieldType* out) {
    using T = pb::EthereumTypedDataStructAck;
    if (type.ends_with(']')) {
        const auto open = type.rfind('[');
        const std::string_view size = type.substr(open + 1, type.size() - open - 2);
        out->set_data_type(T::ARRAY);
        if (!size.empty()) out->set_size(static_cast<std::uint32_t>(std::stoul(std::string(size))));
        return describe_type(typed, type.substr(0, open), out->mutable_entry_type());
    }
    auto number = [&](std::size_t prefix) {
        return static_cast<std::uint32_t>(std::stoul(std::string(type.substr(prefix))));
    };
    if (type.starts_with("uint")) {
        out->set_data_type(T::UINT);
        out->set_size(number(4) / 8);
    } else if (type.starts_with("int")) {
        out->set_data_type(T::INT);
        out->set_size(number(3) / 8);
    } else if (type == "bytes") {
        out->set_data_type(T::BYTES);
    } else if (type.starts_with("bytes")) {
        out->set_data_type(T::BYTES);
        out->set_size(number(5));
    } else if (type == "string") {
        out->set_data_type(T::STRING);
    } else if (type == "bool") {
        out->set_data_type(T::BOOL);
    } else if (type == "address") {
        out->set_data_type(T::ADDRESS);
    } else {
        const auto* members = typed.find_type(type);
        if (members == nullptr) {
            return core::fail(ErrorCode::InvalidArgument, "undefined type " + std::string(type));
        }
        out->set_data_type(T::STRUCT);
        out->set_size(static_cast<std::uint32_t>(members->size()));
        out->set_struct_name(std::string(type));
    }
    return {};
}

core::Result<std::string> encode_integer(const json::value& value, std::size_t bytes,
                                         bool is_signed) {
    using boost::multiprecision::cpp_int;
    cpp_int number = 0;
    if (value.is_int64()) {
        number = value.get_int64();
    } else if (value.is_uint64()) {
        number = value.get_uint64();
    } else if (value.is_double()) {
        const double d = value.get_double();
        if (d != static_cast<double>(static_cast<std::int64_t>(d))) {
            return core::fail(ErrorCode::InvalidFormat, "not an integer");
        }
        number = static_cast<std::int64_t>(d);
    } else if (value.is_string()) {
        std::string_view text = value.get_string();
        const bool negative = text.starts_with('-');
        if (negative) text.remove_prefix(1);
        auto magnitude = core::parse_u256(text);
        if (!magnitude) return tl::unexpected(magnitude.error());
        number = cpp_int(*magnitude);
        if (negative) number = -number;
    } else {
        return core::fail(ErrorCode::InvalidFormat, "not an integer");
    }
    if (number < 0) {
        if (!is_signed) return core::fail(ErrorCode::OutOfRange, "negative unsigned integer");
        number += cpp_int(1) << (8 * bytes);
    }
    std::string out(bytes, '\0');
    for (std::size_t i = 0; i < bytes; ++i) {
        out[bytes - 1 - i] = static_cast<char>(static_cast<unsigned>(number & 0xff));
        number >>= 8;
    }
    return out;
}

core::Result<std::string> encode_atomic(std::string_view type, const json::value& value) {
    if (type == "string") {
        if (!value.is_string()) return core::fail(ErrorCode::InvalidFormat, "not a string");
        return std::string(value.get_string());
    }
    if (type == "bool") {
        if (!value.is_bool()) return core::fail(ErrorCode::InvalidFormat, "not a bool");
        return std::string(1, value.get_bool() ? '\x01' : '\x00');
    }
    if (type == "address" || type.starts_with("bytes")) {
        if (!value.is_string()) return core::fail(ErrorCode::InvalidFormat, "not hex");
        auto bytes = core::hex_decode(value.get_string(), core::HexPrefix::Required);
        if (!bytes) return tl::unexpected(bytes.error());
        return to_string(*bytes);
    }
    const bool is_signed = type.starts_with("int");
    const std::size_t bits = std::stoul(std::string(type.substr(is_signed ? 3 : 4)));
    return encode_integer(value, bits / 8, is_signed);
}

// The value at member_path: [0 domain | 1 message, member index, (array index)...].
core::Result<std::string> typed_value(const core::eip712::TypedData& typed,
                                      const google::protobuf::RepeatedField<std::uint32_t>& path) {
    if (path.empty() || path[0] > 1) {
        return core::fail(ErrorCode::ProtocolError,
                          "the Trezor asked for a value outside the data");
    }
    std::string type =
        path[0] == 0 ? std::string(core::eip712::kDomainTypeName) : typed.primary_type();
    const json::value* value = nullptr;
    json::value root = path[0] == 0 ? json::value(typed.domain()) : json::value(typed.message());
    value = &root;
    for (int i = 1; i < path.size(); ++i) {
        const std::uint32_t index = path[i];
        if (type.ends_with(']')) {
            type = type.substr(0, type.rfind('['));
            if (!value->is_array() || index >= value->get_array().size()) {
                return core::fail(ErrorCode::ProtocolError,
                                  "the Trezor asked for a missing element");
            }
            value = &value->get_array()[index];
            continue;
        }
        const auto* members = typed.find_type(type);
        if (members == nullptr || index >= members->size() || !value->is_object()) {
            return core::fail(ErrorCode::ProtocolError, "the Trezor asked for a missing member");
        }
        const auto& member = (*members)[index];
        const json::value* next = value->get_object().if_contains(member.name);
        if (next == nullptr || next->is_null()) {
            return core::fail(ErrorCode::NotSupported,
                              "typed data member '" + member.name +
                                  "' has no value; a Trezor cannot sign a missing member");
        }
        type = member.type;
        value = next;
    }
    if (type.ends_with(']')) {
        if (!value->is_array() || value->get_array().size() > 0xffff) {
            return core::fail(ErrorCode::InvalidArgument, "array too long for a Trezor");
        }
        const auto length = static_cast<std::uint16_t>(value->get_array().size());
        return std::string{static_cast<char>(length >> 8), static_cast<char>(length & 0xff)};
    }
    auto encoded = encode_atomic(type, *value);
    if (!encoded) {
        return core::fail(encoded.error().code,
                          "typed data value of type " + type + ": " + encoded.error().detail);
    }
    return encoded;
}

}  // namespace

std::string model_name(const std::string& model) {
    if (model == "1") return "Trezor One";
    if (model == "T") return "Trezor Model T";
    if (model.empty()) return "Trezor";
    return "Trezor " + model;
}

// One exchange sequence with the device on behalf of one request: sends a message, answers
// the device's ButtonRequest / PinMatrixRequest / PassphraseRequest, and returns the first other
// message (a Failure becomes its error). The person is told once; device_done() at the end.
class TrezorSigner::Flow {
  public:
    Flow(TrezorSigner& signer, const core::SignContext& context, std::string what)
        : signer_(signer), context_(context), what_(std::move(what)) {}
    ~Flow() {
        if (shown_) context_.prompter.device_done();
        // Ended early (an error, a device that broke the protocol, data it should not have
        // asked for): the next request starts by re-initialising the session, which also ends
        // whatever the device was still doing.
        if (!finished_) signer_.session_broken_ = true;
    }
    // The flow reached its last message.
    void finish() { finished_ = true; }
    Flow(const Flow&) = delete;
    Flow& operator=(const Flow&) = delete;

    template <class M>
    core::Result<WireMessage> call(const M& message) {
        if (auto sent = signer_.link_->send(message); !sent) return abandon(sent.error());
        return run(signer_.options_.device_timeout);
    }

  private:
    core::Result<WireMessage> run(std::chrono::milliseconds timeout) {
        for (;;) {
            auto reply = signer_.link_->receive(timeout, context_.stop);
            if (!reply) return abandon(reply.error());
            if (reply->type == pb::kWireId<pb::ButtonRequest>) {
                auto request = parse_as<pb::ButtonRequest>(*reply);
                if (!request) return abandon(request.error());
                // Models with a touch screen or keys take the PIN and passphrase on the device
                // too, announced by these button requests.
                if (request->code() == pb::ButtonRequest::ButtonRequest_PinEntry) {
                    show("Enter your PIN on your Trezor");
                    pin_sent_ = true;
                } else if (request->code() == pb::ButtonRequest::ButtonRequest_PassphraseEntry) {
                    show("Enter your passphrase on your Trezor");
                } else {
                    show("Confirm on your Trezor: " + what_);
                }
                if (auto acked = signer_.link_->send(pb::ButtonAck()); !acked)
                    return abandon(acked.error());
                timeout = signer_.options_.person_timeout;
                continue;
            }
            if (reply->type == pb::kWireId<pb::PinMatrixRequest>) {
                auto positions = context_.prompter.pin_matrix(
                    "Enter your Trezor PIN: pick the positions of its digits on the grid the "
                    "Trezor shows (1 is bottom left, 9 top right)");
                if (!positions) return abandon(positions.error());
                pb::PinMatrixAck ack;
                ack.set_pin(std::string(reinterpret_cast<const char*>(positions->data()),
                                        positions->size()));
                auto sent = signer_.link_->send(ack);
                std::fill(ack.mutable_pin()->begin(), ack.mutable_pin()->end(), '\0');
                if (!sent) return abandon(sent.error());
                // The device's back-off after wrong PINs can take long; so can unlocking.
                timeout = signer_.options_.person_timeout;
                pin_sent_ = true;
                continue;
            }
            if (reply->type == pb::kWireId<pb::PassphraseRequest>) {
                pb::PassphraseAck ack;
                if (signer_.features_.passphrase_entry_on_device) {
                    ack.set_on_device(true);
                    show("Enter your passphrase on your Trezor");
                    timeout = signer_.options_.person_timeout;
                } else {
                    auto passphrase = context_.prompter.passphrase(
                        "Passphrase for this Trezor (it selects the hidden wallet)");
                    if (!passphrase) return abandon(passphrase.error());
                    ack.set_passphrase(std::string(
                        reinterpret_cast<const char*>(passphrase->data()), passphrase->size()));
                }
                auto sent = signer_.link_->send(ack);
                std::fill(ack.mutable_passphrase()->begin(), ack.mutable_passphrase()->end(), '\0');
                if (!sent) return abandon(sent.error());
                // Deriving the hidden wallet's seed takes the device a while.
                timeout = signer_.options_.person_timeout;
                continue;
            }
            if (reply->type == pb::kWireId<pb::Failure>) {
                auto failure = parse_as<pb::Failure>(*reply);
                if (!failure) return tl::unexpected(failure.error());
                if (failure->code() == pb::Failure::Failure_PinInvalid)
                    signer_.unlocked_.store(false);
                return tl::unexpected(failure_error(*failure));
            }
            // The device went on past its PIN: it stays unlocked for a while.
            if (pin_sent_) signer_.unlocked_.store(true);
            return reply;
        }
    }

    // Tells the person what the device waits for, each time that changes (device_done() once,
    // when the flow ends).
    void show(const std::string& text) {
        if (shown_ && text == shown_text_) return;
        context_.prompter.on_device(text);
        shown_ = true;
        shown_text_ = text;
    }

    // The request ends here (stopped, timed out, the person cancelled a prompt): tell the
    // device so it does not wait for buttons nobody will press, and drop its answer.
    tl::unexpected<core::Error> abandon(core::Error error) {
        if (error.code == ErrorCode::Disconnected && !context_.stop.stop_requested()) {
            // The device (or emulator) went away: say which, with the transport's words.
            signer_.session_broken_ = true;
            return tl::unexpected(core::Error{ErrorCode::Disconnected,
                                              signer_.features_.model_name + " " + signer_.id() +
                                                  " was disconnected during the request (" +
                                                  error.detail + ")"});
        }
        if (signer_.link_->send(pb::Cancel())) {
            signer_.link_->discard_pending(std::chrono::milliseconds(200));
        }
        if (error.code == ErrorCode::ProtocolError || error.code == ErrorCode::Timeout) {
            signer_.session_broken_ = true;
        }
        return tl::unexpected(std::move(error));
    }

    TrezorSigner& signer_;
    const core::SignContext& context_;
    std::string what_;
    bool shown_ = false;
    std::string shown_text_;
    bool finished_ = false;
    bool pin_sent_ = false;
};

core::Result<std::unique_ptr<TrezorSigner>> TrezorSigner::connect(
    std::unique_ptr<ReportDevice> device, Options options) {
    auto link = std::make_unique<Link>(std::move(device));
    KEYBRIDGE_TRY_STATUS(link->send(pb::Initialize()));
    std::stop_source never;
    WireMessage reply;
    do {
        auto received = link->receive(options.device_timeout, never.get_token());
        if (!received) return tl::unexpected(received.error());
        reply = std::move(*received);
        // A stale answer of an earlier session may come first: wait for Features.
    } while (reply.type != pb::kWireId<pb::Features> && reply.type != pb::kWireId<pb::Failure>);
    if (reply.type == pb::kWireId<pb::Failure>) {
        auto failure = parse_as<pb::Failure>(reply);
        if (!failure) return tl::unexpected(failure.error());
        return tl::unexpected(failure_error(*failure));
    }
    auto features = parse_as<pb::Features>(reply);
    if (!features) return tl::unexpected(features.error());
    TrezorFeatures f;
    f.model = features->model().empty() ? "1" : features->model();
    f.model_name = model_name(f.model);
    f.firmware = std::to_string(features->major_version()) + "." +
                 std::to_string(features->minor_version()) + "." +
                 std::to_string(features->patch_version());
    f.label = features->label();
    f.device_id = features->device_id();
    f.initialized = features->initialized();
    f.bootloader_mode = features->bootloader_mode();
    f.pin_protection = features->pin_protection();
    f.passphrase_protection = features->passphrase_protection();
    f.unlocked = features->has_unlocked() ? features->unlocked() : !f.pin_protection;
    for (int capability : features->capabilities()) {
        if (capability == pb::Features::Capability_PassphraseEntry) {
            f.passphrase_entry_on_device = true;
        }
    }
    return std::unique_ptr<TrezorSigner>(
        new TrezorSigner(std::move(link), options, std::move(f), features->session_id()));
}

TrezorSigner::TrezorSigner(std::unique_ptr<Link> link, Options options, TrezorFeatures features,
                           std::string session_id)
    : link_(std::move(link)),
      options_(options),
      features_(std::move(features)),
      session_id_(std::move(session_id)) {
    unlocked_.store(features_.unlocked);
}

core::Status TrezorSigner::refresh_features(const std::stop_token& stop) {
    if (session_broken_) KEYBRIDGE_TRY_STATUS(restart_session(stop));
    KEYBRIDGE_TRY_STATUS(link_->send(pb::GetFeatures()));
    for (;;) {
        auto reply = link_->receive(options_.device_timeout, stop);
        if (!reply) {
            session_broken_ = true;
            return tl::unexpected(reply.error());
        }
        // A stale answer of an abandoned flow may come first.
        if (reply->type != pb::kWireId<pb::Features>) continue;
        auto features = parse_as<pb::Features>(*reply);
        if (!features) return tl::unexpected(features.error());
        if (features->has_unlocked()) unlocked_.store(features->unlocked());
        return {};
    }
}

void TrezorSigner::set_keys(std::vector<core::KeyRef> keys) {
    std::lock_guard lock(mutex_);
    keys_ = std::move(keys);
}

void TrezorSigner::set_present(bool present) {
    std::lock_guard lock(mutex_);
    present_ = present;
}

std::string TrezorSigner::id() const {
    return "trezor:" + features_.device_id;
}

core::SignerInfo TrezorSigner::info() const {
    return {core::SignerFamily::Trezor, features_.model_name, features_.firmware, true};
}

std::vector<core::KeyRef> TrezorSigner::keys() const {
    std::lock_guard lock(mutex_);
    return keys_;
}

core::Status TrezorSigner::usable() const {
    {
        std::lock_guard lock(mutex_);
        if (!present_) {
            return core::fail(ErrorCode::DeviceNotFound,
                              features_.model_name + " " + features_.label + " is not connected");
        }
    }
    if (features_.bootloader_mode) {
        return core::fail(ErrorCode::NotSupported,
                          features_.model_name +
                              " is in bootloader mode: restart it without touching the screen "
                              "(or buttons) to sign");
    }
    if (!features_.initialized) {
        return core::fail(ErrorCode::NotSupported,
                          features_.model_name + " has no wallet yet (set it up first)");
    }
    return {};
}

core::Status TrezorSigner::ready(const core::KeyRef& key) const {
    {
        std::lock_guard lock(mutex_);
        if (std::find_if(keys_.begin(), keys_.end(), [&](const core::KeyRef& k) {
                return k.address == key.address;
            }) == keys_.end()) {
            return core::fail(ErrorCode::NotFound, key.address.to_checksum_string() +
                                                       " is not an account of this Trezor");
        }
    }
    return usable();
}

core::Status TrezorSigner::restart_session(const std::stop_token& stop) {
    if (!session_broken_) return {};
    link_->discard_pending(std::chrono::milliseconds(50));
    pb::Initialize init;
    if (!session_id_.empty()) init.set_session_id(session_id_);
    KEYBRIDGE_TRY_STATUS(link_->send(init));
    for (;;) {
        auto reply = link_->receive(options_.device_timeout, stop);
        if (!reply) return tl::unexpected(reply.error());
        if (reply->type != pb::kWireId<pb::Features>) continue;
        auto features = parse_as<pb::Features>(*reply);
        if (!features) return tl::unexpected(features.error());
        session_id_ = features->session_id();
        session_broken_ = false;
        return {};
    }
}

core::Result<core::Address> TrezorSigner::get_address(const core::SignContext& context,
                                                      std::string_view path, bool show) {
    KEYBRIDGE_TRY_STATUS(usable());
    auto indices = path_indices(path);
    if (!indices) return tl::unexpected(indices.error());
    KEYBRIDGE_TRY_STATUS(restart_session(context.stop));
    pb::EthereumGetAddress request;
    set_path(request, *indices);
    request.set_show_display(show);
    Flow flow(*this, context, "check that the address shown is the one you expect");
    auto reply = flow.call(request);
    if (!reply) return tl::unexpected(reply.error());
    auto address = parse_as<pb::EthereumAddress>(*reply);
    if (!address) return tl::unexpected(address.error());
    flow.finish();
    auto parsed = core::Address::parse(address->address());
    if (!parsed) {
        return core::fail(ErrorCode::ProtocolError,
                          "the Trezor sent an unreadable address: " + parsed.error().detail);
    }
    return *parsed;
}

core::Result<core::Address> TrezorSigner::address_at(const core::SignContext& context,
                                                     std::string_view path) {
    return get_address(context, path, false);
}

core::Result<core::Address> TrezorSigner::display_address(const core::SignContext& context,
                                                          std::string_view path) {
    return get_address(context, path, true);
}

core::Status TrezorSigner::check_key(const core::SignContext& context, const core::KeyRef& key) {
    KEYBRIDGE_TRY_STATUS(ready(key));
    if (key.path.empty()) {
        return core::fail(ErrorCode::NotFound, "a Trezor account needs its derivation path");
    }
    auto address = get_address(context, key.path, false);
    if (!address) return tl::unexpected(address.error());
    if (*address != key.address) {
        return core::fail(ErrorCode::NotFound,
                          "this Trezor derives " + address->to_checksum_string() + " at " +
                              key.path + ", not the account " + key.address.to_checksum_string() +
                              " (another Trezor, or another passphrase?); nothing was signed");
    }
    return {};
}

namespace {

core::Result<core::RecoverableSignature> checked_rsv(const std::string& bytes,
                                                     const core::Hash32& digest,
                                                     const core::Address& expected) {
    auto sig = core::RecoverableSignature::from_rsv(core::as_bytes(bytes));
    if (!sig) {
        return core::fail(ErrorCode::ProtocolError, "the Trezor sent an unreadable signature");
    }
    auto pub = core::recover_public_key(digest, *sig);
    if (!pub || pub->address() != expected) {
        return core::fail(ErrorCode::ProtocolError, "the Trezor's signature does not recover to " +
                                                        expected.to_checksum_string());
    }
    return *sig;
}

}  // namespace

core::Result<core::RecoverableSignature> TrezorSigner::sign_personal_message(
    const core::SignContext& context, const core::KeyRef& key, core::ByteView message) {
    KEYBRIDGE_TRY_STATUS(check_key(context, key));
    auto indices = path_indices(key.path);
    if (!indices) return tl::unexpected(indices.error());
    pb::EthereumSignMessage request;
    set_path(request, *indices);
    request.set_message(to_string(message));
    Flow flow(*this, context, "sign the message shown with " + key.address.to_checksum_string());
    auto reply = flow.call(request);
    if (!reply) return tl::unexpected(reply.error());
    auto signature = parse_as<pb::EthereumMessageSignature>(*reply);
    if (!signature) return tl::unexpected(signature.error());
    flow.finish();
    return checked_rsv(signature->signature(), core::personal_message_hash(message), key.address);
}

core::Result<core::RecoverableSignature> TrezorSigner::sign_typed_data(
    const core::SignContext& context, const core::KeyRef& key,
    const core::eip712::HashedTypedData& hashed) {
    KEYBRIDGE_TRY_STATUS(check_key(context, key));
    auto indices = path_indices(key.path);
    if (!indices) return tl::unexpected(indices.error());
    Flow flow(*this, context, "sign the typed data shown with " + key.address.to_checksum_string());
    core::Result<WireMessage> reply = core::fail(ErrorCode::Internal, "unset");
    if (features_.model == "1") {
        pb::EthereumSignTypedHash request;
        set_path(request, *indices);
        request.set_domain_separator_hash(to_string(hashed.domain_separator()));
        if (hashed.message_hash()) request.set_message_hash(to_string(*hashed.message_hash()));
        reply = flow.call(request);
    } else {
        const core::eip712::TypedData& typed = hashed.typed();
        pb::EthereumSignTypedData request;
        set_path(request, *indices);
        request.set_primary_type(typed.primary_type());
        // MetaMask's v4 rules differ from v3 only for arrays (v3 has none) and missing members
        // (refused below), so the v4-compatible walk signs v3 documents the same; the
        // signature is checked against hashed.digest() either way.
        request.set_metamask_v4_compat(true);
        reply = flow.call(request);
        while (reply) {
            if (reply->type == pb::kWireId<pb::EthereumTypedDataStructRequest>) {
                auto asked = parse_as<pb::EthereumTypedDataStructRequest>(*reply);
                if (!asked) return tl::unexpected(asked.error());
                const auto* members = typed.find_type(asked->name());
                if (members == nullptr) {
                    return core::fail(ErrorCode::ProtocolError,
                                      "the Trezor asked for an unknown type " + asked->name());
                }
                pb::EthereumTypedDataStructAck ack;
                for (const auto& field : *members) {
                    auto* member = ack.add_members();
                    member->set_name(field.name);
                    KEYBRIDGE_TRY_STATUS(describe_type(typed, field.type, member->mutable_type()));
                }
                reply = flow.call(ack);
            } else if (reply->type == pb::kWireId<pb::EthereumTypedDataValueRequest>) {
                auto asked = parse_as<pb::EthereumTypedDataValueRequest>(*reply);
                if (!asked) return tl::unexpected(asked.error());
                auto value = typed_value(typed, asked->member_path());
                if (!value) {
                    (void)link_->send(pb::Cancel());
                    link_->discard_pending(std::chrono::milliseconds(200));
                    return tl::unexpected(value.error());
                }
                pb::EthereumTypedDataValueAck ack;
                ack.set_value(std::move(*value));
                reply = flow.call(ack);
            } else {
                break;
            }
        }
    }
    if (!reply) return tl::unexpected(reply.error());
    auto signature = parse_as<pb::EthereumTypedDataSignature>(*reply);
    if (!signature) return tl::unexpected(signature.error());
    flow.finish();
    return checked_rsv(signature->signature(), hashed.digest(), key.address);
}

core::Result<core::RecoverableSignature> TrezorSigner::sign_typed_data_v1(
    const core::SignContext&, const core::KeyRef& key, const boost::json::value&) {
    KEYBRIDGE_TRY_STATUS(ready(key));
    return core::fail(ErrorCode::NotSupported,
                      "a Trezor does not sign the legacy eth_signTypedData (v1) form");
}

core::Result<core::RecoverableSignature> TrezorSigner::sign_digest(const core::SignContext&,
                                                                   const core::KeyRef& key,
                                                                   const core::Hash32&) {
    KEYBRIDGE_TRY_STATUS(ready(key));
    return core::fail(ErrorCode::NotSupported,
                      "a Trezor does not sign raw hashes (eth_sign); use personal_sign");
}

core::Result<core::SignedTransaction> TrezorSigner::sign_transaction(
    const core::SignContext& context, const core::KeyRef& key, const core::Transaction& tx) {
    KEYBRIDGE_TRY_STATUS(ready(key));
    if (tx.type == core::TxType::Eip2930) {
        return core::fail(ErrorCode::NotSupported,
                          "a Trezor does not sign EIP-2930 (type 1) transactions");
    }
    if (tx.type == core::TxType::Legacy && !tx.eip155) {
        return core::fail(ErrorCode::NotSupported,
                          "a Trezor signs legacy transactions with EIP-155 replay protection only");
    }
    if (tx.chain_id == 0 || tx.chain_id > core::U256(std::numeric_limits<std::uint64_t>::max())) {
        return core::fail(ErrorCode::NotSupported, "a Trezor takes chain ids from 1 to 2^64 - 1");
    }
    const auto chain_id = static_cast<std::uint64_t>(tx.chain_id);
    KEYBRIDGE_TRY_STATUS(check_key(context, key));
    auto indices = path_indices(key.path);
    if (!indices) return tl::unexpected(indices.error());

    const std::size_t first = std::min(tx.data.size(), kDataChunk);
    const std::string initial(tx.data.begin(),
                              tx.data.begin() + static_cast<std::ptrdiff_t>(first));
    const std::string to = tx.to ? tx.to->to_checksum_string() : std::string();
    Flow flow(
        *this, context,
        "check the recipient, amount and fee, then sign with " + key.address.to_checksum_string());
    core::Result<WireMessage> reply = core::fail(ErrorCode::Internal, "unset");
    if (tx.type == core::TxType::Legacy) {
        pb::EthereumSignTx request;
        set_path(request, *indices);
        request.set_nonce(minimal_be(tx.nonce));
        request.set_gas_price(minimal_be(tx.gas_price));
        request.set_gas_limit(minimal_be(tx.gas_limit));
        if (tx.to) request.set_to(to);
        request.set_value(minimal_be(tx.value));
        if (!tx.data.empty()) request.set_data_initial_chunk(initial);
        request.set_data_length(static_cast<std::uint32_t>(tx.data.size()));
        request.set_chain_id(chain_id);
        reply = flow.call(request);
    } else {
        pb::EthereumSignTxEIP1559 request;
        set_path(request, *indices);
        request.set_nonce(minimal_be(tx.nonce));
        request.set_max_gas_fee(minimal_be(tx.max_fee_per_gas));
        request.set_max_priority_fee(minimal_be(tx.max_priority_fee_per_gas));
        request.set_gas_limit(minimal_be(tx.gas_limit));
        if (tx.to) request.set_to(to);
        request.set_value(minimal_be(tx.value));
        if (!tx.data.empty()) request.set_data_initial_chunk(initial);
        request.set_data_length(static_cast<std::uint32_t>(tx.data.size()));
        request.set_chain_id(chain_id);
        for (const auto& entry : tx.access_list) {
            auto* item = request.add_access_list();
            item->set_address(entry.address.to_checksum_string());
            for (const auto& slot : entry.storage_keys)
                item->add_storage_keys(to_string(slot));
        }
        reply = flow.call(request);
    }
    std::size_t sent = first;
    for (;;) {
        if (!reply) return tl::unexpected(reply.error());
        auto request = parse_as<pb::EthereumTxRequest>(*reply);
        if (!request) return tl::unexpected(request.error());
        if (!request->has_data_length() || request->data_length() == 0) {
            if (sent != tx.data.size()) {
                return core::fail(ErrorCode::ProtocolError,
                                  "the Trezor signed before receiving all the data");
            }
            flow.finish();
            auto r = hash32(request->signature_r(), "r");
            auto s = hash32(request->signature_s(), "s");
            if (!r || !s || !request->has_signature_v()) {
                return core::fail(ErrorCode::ProtocolError, "the Trezor sent no signature");
            }
            // The recovery id behind v, whatever convention the firmware used (27/28, EIP-155
            // 35 + 2 * chain id, or the bare parity for typed and very large chain ids); then
            // confirmed by recovery, trying the other parity if the first does not match.
            const std::uint64_t v = request->signature_v();
            // 35 + 2 * chainId + recid keeps the recid's parity even when the firmware cut v
            // to 32 bits, since 2 * chainId and 2^32 are even.
            std::uint8_t parity = 0;
            if (v <= 1) {
                parity = static_cast<std::uint8_t>(v);
            } else if (v == 27 || v == 28) {
                parity = static_cast<std::uint8_t>(v - 27);
            } else {
                // v - 35 has the recid's parity (wrapped or not).
                parity = static_cast<std::uint8_t>((v + 1) & 1);
            }
            const core::Hash32 digest = core::signing_hash(tx);
            for (std::uint8_t attempt = 0; attempt < 2; ++attempt) {
                core::RecoverableSignature sig{*r, *s, static_cast<std::uint8_t>(parity ^ attempt)};
                auto pub = core::recover_public_key(digest, sig);
                if (!pub || pub->address() != key.address) continue;
                auto raw = core::encode_signed(tx, sig);
                if (!raw) return tl::unexpected(raw.error());
                return core::decode_signed(*raw);
            }
            return core::fail(ErrorCode::ProtocolError,
                              "the Trezor's transaction signature does not recover to " +
                                  key.address.to_checksum_string());
        }
        const std::size_t want = request->data_length();
        if (want > tx.data.size() - sent) {
            return core::fail(ErrorCode::ProtocolError,
                              "the Trezor asked for more data than the transaction has");
        }
        pb::EthereumTxAck ack;
        ack.set_data_chunk(std::string(tx.data.begin() + static_cast<std::ptrdiff_t>(sent),
                                       tx.data.begin() + static_cast<std::ptrdiff_t>(sent + want)));
        sent += want;
        reply = flow.call(ack);
    }
}

}  // namespace keybridge::drivers::trezor
