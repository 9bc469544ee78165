#include "tests/tools/trezor_sim/sim_device.h"

#include <algorithm>
#include <thread>

#include <boost/multiprecision/cpp_int.hpp>

#include "core/address.h"
#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "core/eip712.h"
#include "core/hash.h"
#include "core/secp256k1.h"
#include "core/transaction.h"
#include "core/uint256.h"
#include "proto/message_types.h"

namespace keybridge::trezor_sim {
namespace {

namespace pb = keybridge::trezor;
namespace json = boost::json;

template <class M>
SimMessage out(const M& message) {
    SimMessage m;
    m.type = pb::kWireId<M>;
    message.SerializeToString(&m.payload);
    return m;
}

// The largest chain id for which the firmware folds the chain id into a 32-bit v.
constexpr std::uint64_t kMaxChainIdInV = (0xFFFFFFFFull - 36) / 2;
constexpr std::uint32_t kChunk = 1024;

std::string hex(const std::string& bytes) {
    return core::hex_encode(core::as_bytes(bytes));
}

std::string rsv(const core::RecoverableSignature& sig) {
    const auto bytes = sig.to_rsv();
    return std::string(bytes.begin(), bytes.end());
}

// A field type as the host described it -> the Solidity type string.
std::optional<std::string> type_string(const pb::EthereumTypedDataStructAck::EthereumFieldType& t) {
    using T = pb::EthereumTypedDataStructAck;
    switch (t.data_type()) {
        case T::UINT:
            if (!t.has_size() || t.size() < 1 || t.size() > 32) return std::nullopt;
            return "uint" + std::to_string(t.size() * 8);
        case T::INT:
            if (!t.has_size() || t.size() < 1 || t.size() > 32) return std::nullopt;
            return "int" + std::to_string(t.size() * 8);
        case T::BYTES:
            if (!t.has_size()) return std::string("bytes");
            if (t.size() < 1 || t.size() > 32) return std::nullopt;
            return "bytes" + std::to_string(t.size());
        case T::STRING:
            return std::string("string");
        case T::BOOL:
            return std::string("bool");
        case T::ADDRESS:
            return std::string("address");
        case T::STRUCT:
            if (!t.has_struct_name() || t.struct_name().empty()) return std::nullopt;
            return t.struct_name();
        case T::ARRAY: {
            if (!t.has_entry_type()) return std::nullopt;
            auto inner = type_string(t.entry_type());
            if (!inner) return std::nullopt;
            return *inner + "[" + (t.has_size() ? std::to_string(t.size()) : "") + "]";
        }
    }
    return std::nullopt;
}

bool is_array(const std::string& type) {
    return type.ends_with(']');
}

std::string element_type(const std::string& type) {
    return type.substr(0, type.rfind('['));
}

bool is_atomic(const std::string& type) {
    return type == "address" || type == "bool" || type == "string" || type.starts_with("bytes") ||
           type.starts_with("uint") || type.starts_with("int");
}

json::value* resolve(json::object& root,
                     const std::vector<std::variant<std::string, std::size_t>>& path) {
    json::value* at = nullptr;
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (i == 0) {
            at = &root[std::get<std::string>(path[0])];
            continue;
        }
        if (const auto* key = std::get_if<std::string>(&path[i])) {
            at = &at->as_object()[*key];
        } else {
            at = &at->as_array()[std::get<std::size_t>(path[i])];
        }
    }
    return at;
}

// The value bytes of an atomic member -> its JSON form in a typed-data document.
std::optional<json::value> decode_value(const std::string& type, const std::string& bytes) {
    using boost::multiprecision::cpp_int;
    if (type == "string") return json::value(bytes);
    if (type == "bool") {
        if (bytes.size() != 1 || static_cast<unsigned char>(bytes[0]) > 1) return std::nullopt;
        return json::value(bytes[0] == 1);
    }
    if (type == "address") {
        if (bytes.size() != 20) return std::nullopt;
        return json::value(hex(bytes));
    }
    if (type == "bytes") return json::value(hex(bytes));
    if (type.starts_with("bytes")) {
        if (bytes.size() != std::stoul(type.substr(5))) return std::nullopt;
        return json::value(hex(bytes));
    }
    const bool is_signed = type.starts_with("int");
    const std::size_t size = std::stoul(type.substr(is_signed ? 3 : 4)) / 8;
    if (bytes.size() != size) return std::nullopt;
    cpp_int value = 0;
    for (unsigned char c : bytes)
        value = (value << 8) | c;
    if (is_signed && !bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80) != 0) {
        value -= cpp_int(1) << (8 * size);
    }
    return json::value(value.str());
}

}  // namespace

SimDevice::SimDevice(SimConfig config)
    : config_(std::move(config)), random_(std::random_device{}()) {
    matrix_ = {1, 2, 3, 4, 5, 6, 7, 8, 9};
}

void SimDevice::set_answer(UserAnswer answer) {
    std::lock_guard lock(mutex_);
    answer_ = answer;
}

void SimDevice::set_delay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delay_ = delay;
}

std::string SimDevice::matrix() const {
    std::lock_guard lock(mutex_);
    std::string digits;
    for (int d : matrix_)
        digits.push_back(static_cast<char>('0' + d));
    return digits;
}

void SimDevice::lock() {
    std::lock_guard lock(mutex_);
    unlocked_ = false;
    passphrase_.reset();
}

std::string SimDevice::positions_for(const std::string& pin) const {
    std::lock_guard lock(mutex_);
    std::string positions;
    for (char c : pin) {
        for (std::size_t i = 0; i < 9; ++i) {
            if (matrix_[i] == c - '0') positions.push_back(static_cast<char>('1' + i));
        }
    }
    return positions;
}

int SimDevice::button_requests() const {
    std::lock_guard lock(mutex_);
    return button_requests_;
}

int SimDevice::wrong_pins() const {
    std::lock_guard lock(mutex_);
    return wrong_pins_;
}

std::vector<std::string> SimDevice::received() const {
    std::lock_guard lock(mutex_);
    return received_;
}

void SimDevice::reset_flow() {
    waiting_ = Waiting::Nothing;
    decisions_.clear();
    continuation_ = nullptr;
    tx_ = Tx{};
    typed_ = Typed{};
}

SimMessage SimDevice::cancel() {
    std::lock_guard lock(mutex_);
    received_.emplace_back("Cancel");
    reset_flow();
    pb::Failure failure;
    failure.set_code(pb::Failure::Failure_ActionCancelled);
    failure.set_message("Cancelled");
    return out(failure);
}

SimStep SimDevice::fail(int code, const std::string& text) {
    reset_flow();
    pb::Failure failure;
    failure.set_code(static_cast<pb::Failure::FailureType>(code));
    failure.set_message(text);
    return {{out(failure)}, {}};
}

SimStep SimDevice::features() {
    pb::Features f;
    f.set_vendor("trezor.io");
    f.set_major_version(config_.major);
    f.set_minor_version(config_.minor);
    f.set_patch_version(config_.patch);
    f.set_bootloader_mode(config_.bootloader_mode);
    f.set_device_id(config_.device_id);
    f.set_pin_protection(!config_.pin.empty());
    f.set_passphrase_protection(config_.passphrase_protection);
    f.set_label(config_.label);
    f.set_initialized(true);
    f.set_unlocked(config_.pin.empty() || unlocked_);
    f.set_model(config_.model);
    f.add_capabilities(pb::Features::Capability_Bitcoin);
    f.add_capabilities(pb::Features::Capability_Ethereum);
    if (config_.model != "1") f.add_capabilities(pb::Features::Capability_PassphraseEntry);
    f.set_session_id(session_id_);
    return {{out(f)}, {}};
}

void SimDevice::new_matrix() {
    std::shuffle(matrix_.begin(), matrix_.end(), random_);
}

SimStep SimDevice::handle(const SimMessage& message) {
    std::lock_guard lock(mutex_);
    received_.push_back(pb::message_name(message.type));
    return dispatch(message);
}

SimStep SimDevice::dispatch(const SimMessage& message) {
    const std::uint16_t type = message.type;
    const std::string& payload = message.payload;
    if (config_.thp_only) {
        return fail(pb::Failure::Failure_InvalidProtocol, "Invalid protocol");
    }
    if (type == pb::kWireId<pb::Initialize>) {
        pb::Initialize init;
        init.ParseFromString(payload);
        reset_flow();
        if (!init.has_session_id() || init.session_id() != session_id_) {
            // A new session forgets the passphrase (a PIN unlock stays, as on the device).
            passphrase_.reset();
            session_id_.assign(32, '\0');
            for (char& c : session_id_)
                c = static_cast<char>(random_() & 0xff);
        }
        return features();
    }
    if (type == pb::kWireId<pb::GetFeatures>) return features();
    if (type == pb::kWireId<pb::Cancel>) {
        reset_flow();
        return fail(pb::Failure::Failure_ActionCancelled, "Cancelled");
    }
    if (config_.bootloader_mode) {
        return fail(pb::Failure::Failure_UnexpectedMessage, "Unexpected message");
    }
    if (type == pb::kWireId<pb::Ping>) {
        pb::Ping ping;
        ping.ParseFromString(payload);
        pb::Success success;
        success.set_message(ping.message());
        if (ping.button_protection()) {
            return ask_button(pb::ButtonRequest::ButtonRequest_ProtectCall, [success] {
                return SimStep{{out(success)}, {}};
            });
        }
        return {{out(success)}, {}};
    }
    switch (waiting_) {
        case Waiting::Button:
            if (type == pb::kWireId<pb::ButtonAck>) {
                if (config_.debuglink_buttons) {
                    // The screen waits for a DebugLinkDecision (perhaps already queued).
                    waiting_ = Waiting::Decision;
                    if (decisions_.empty()) return {};
                    const bool yes = decisions_.front();
                    decisions_.pop_front();
                    return press(yes);
                }
                waiting_ = Waiting::Nothing;
                if (answer_ == UserAnswer::Reject) {
                    SimStep step = fail(pb::Failure::Failure_ActionCancelled, "Cancelled");
                    step.delay = delay_;
                    return step;
                }
                auto next = std::move(continuation_);
                continuation_ = nullptr;
                SimStep step = next();
                step.delay += delay_;
                return step;
            }
            break;
        case Waiting::Pin:
            if (type == pb::kWireId<pb::PinMatrixAck>) {
                pb::PinMatrixAck ack;
                if (!ack.ParseFromString(payload)) {
                    return fail(pb::Failure::Failure_DataError, "Failed to decode message");
                }
                std::chrono::milliseconds backoff{0};
                if (wrong_pins_ > 0) backoff = config_.pin_backoff_unit * (1 << (wrong_pins_ - 1));
                std::string digits;
                for (char c : ack.pin()) {
                    if (c < '1' || c > '9') {
                        digits.clear();
                        break;
                    }
                    digits.push_back(static_cast<char>('0' + matrix_[c - '1']));
                }
                if (digits.empty() || digits != config_.pin) {
                    ++wrong_pins_;
                    SimStep step = fail(pb::Failure::Failure_PinInvalid, "PIN invalid");
                    step.delay = backoff;
                    return step;
                }
                wrong_pins_ = 0;
                unlocked_ = true;
                waiting_ = Waiting::Nothing;
                auto next = std::move(continuation_);
                continuation_ = nullptr;
                SimStep step = after_passphrase_check(std::move(next));
                step.delay += backoff;
                return step;
            }
            break;
        case Waiting::Passphrase:
            if (type == pb::kWireId<pb::PassphraseAck>) {
                pb::PassphraseAck ack;
                if (!ack.ParseFromString(payload)) {
                    return fail(pb::Failure::Failure_DataError, "Failed to decode message");
                }
                if (ack.on_device() && ack.has_passphrase()) {
                    return fail(pb::Failure::Failure_DataError,
                                "Passphrase provided when it should not be");
                }
                if (ack.on_device() && config_.model == "1") {
                    return fail(pb::Failure::Failure_DataError, "Passphrase entry on device");
                }
                passphrase_ = ack.on_device() ? config_.device_passphrase : ack.passphrase();
                waiting_ = Waiting::Nothing;
                auto next = std::move(continuation_);
                continuation_ = nullptr;
                return next();
            }
            break;
        case Waiting::TxData:
            if (type == pb::kWireId<pb::EthereumTxAck>) return tx_data(payload);
            break;
        case Waiting::Struct:
            if (type == pb::kWireId<pb::EthereumTypedDataStructAck>) return struct_ack(payload);
            break;
        case Waiting::Value:
            if (type == pb::kWireId<pb::EthereumTypedDataValueAck>) return value_ack(payload);
            break;
        case Waiting::Decision:
        case Waiting::Nothing:
            break;
    }
    if (waiting_ != Waiting::Nothing) {
        // The firmware answers anything else in the middle of a flow this way.
        return fail(pb::Failure::Failure_UnexpectedMessage, "Unexpected message");
    }
    if (type == pb::kWireId<pb::EthereumGetAddress>) {
        return with_unlock([this, payload] { return get_address(payload); });
    }
    if (type == pb::kWireId<pb::EthereumSignMessage>) {
        return with_unlock([this, payload] { return sign_message(payload); });
    }
    if (type == pb::kWireId<pb::EthereumSignTx> || type == pb::kWireId<pb::EthereumSignTxEIP1559>) {
        return with_unlock([this, message] { return start_tx(message); });
    }
    if (type == pb::kWireId<pb::EthereumSignTypedHash> && config_.model == "1") {
        return with_unlock([this, payload] { return sign_typed_hash(payload); });
    }
    if (type == pb::kWireId<pb::EthereumSignTypedData> && config_.model != "1") {
        return with_unlock([this, payload] { return start_typed_data(payload); });
    }
    return fail(pb::Failure::Failure_UnexpectedMessage, "Unexpected message");
}

SimStep SimDevice::decision(bool yes) {
    std::lock_guard lock(mutex_);
    received_.emplace_back("DebugLinkDecision");
    if (waiting_ != Waiting::Decision) {
        // Pressed before the screen asked: the firmware queues it too.
        decisions_.push_back(yes);
        return {};
    }
    return press(yes);
}

SimStep SimDevice::press(bool yes) {
    waiting_ = Waiting::Nothing;
    if (!yes) return fail(pb::Failure::Failure_ActionCancelled, "Cancelled");
    auto next = std::move(continuation_);
    continuation_ = nullptr;
    return next();
}

SimStep SimDevice::with_unlock(Continuation run) {
    if (!config_.pin.empty() && !unlocked_ && config_.pin_on_device) {
        return ask_button(pb::ButtonRequest::ButtonRequest_PinEntry,
                          [this, run = std::move(run)]() mutable {
                              unlocked_ = true;
                              return after_passphrase_check(std::move(run));
                          });
    }
    if (!config_.pin.empty() && !unlocked_) {
        waiting_ = Waiting::Pin;
        continuation_ = std::move(run);
        new_matrix();
        pb::PinMatrixRequest request;
        request.set_type(pb::PinMatrixRequest::PinMatrixRequestType_Current);
        return {{out(request)}, {}};
    }
    return after_passphrase_check(std::move(run));
}

SimStep SimDevice::after_passphrase_check(Continuation run) {
    if (config_.passphrase_protection && !passphrase_) {
        waiting_ = Waiting::Passphrase;
        continuation_ = std::move(run);
        return {{out(pb::PassphraseRequest())}, {}};
    }
    return run();
}

SimStep SimDevice::ask_button(std::uint32_t code, Continuation on_approve) {
    ++button_requests_;
    waiting_ = Waiting::Button;
    continuation_ = std::move(on_approve);
    pb::ButtonRequest request;
    request.set_code(static_cast<pb::ButtonRequest::ButtonRequestType>(code));
    return {{out(request)}, {}};
}

std::optional<std::string> SimDevice::derive_path(const std::vector<std::uint32_t>& path,
                                                  std::string* address_out,
                                                  std::vector<std::uint8_t>* key_out) {
    if (path.size() < 2 || path[0] != 0x8000002c || path[1] != 0x8000003c) {
        // The firmware refuses paths outside its Ethereum schemas (safety checks).
        return std::string("Forbidden key path");
    }
    auto seed = core::bip39::seed_from_mnemonic(config_.mnemonic, passphrase_.value_or(""));
    if (!seed) return std::string("seed");
    auto key = core::bip32::ethereum_private_key(seed->view(), core::bip32::format_path(path));
    if (!key) return std::string("Invalid path");
    if (address_out)
        *address_out = core::PublicKey::from_private(*key).address().to_checksum_string();
    if (key_out) key_out->assign(key->view().begin(), key->view().end());
    return std::nullopt;
}

SimStep SimDevice::get_address(const std::string& payload) {
    pb::EthereumGetAddress request;
    if (!request.ParseFromString(payload)) {
        return fail(pb::Failure::Failure_DataError, "Failed to decode message");
    }
    std::string address;
    const std::vector<std::uint32_t> path(request.address_n().begin(), request.address_n().end());
    if (auto error = derive_path(path, &address, nullptr)) {
        return fail(pb::Failure::Failure_DataError, *error);
    }
    pb::EthereumAddress reply;
    reply.set_address(address);
    if (request.show_display()) {
        return ask_button(pb::ButtonRequest::ButtonRequest_Address, [reply] {
            return SimStep{{out(reply)}, {}};
        });
    }
    return {{out(reply)}, {}};
}

SimStep SimDevice::sign_message(const std::string& payload) {
    pb::EthereumSignMessage request;
    if (!request.ParseFromString(payload)) {
        return fail(pb::Failure::Failure_DataError, "Failed to decode message");
    }
    std::string address;
    std::vector<std::uint8_t> key_bytes;
    const std::vector<std::uint32_t> path(request.address_n().begin(), request.address_n().end());
    if (auto error = derive_path(path, &address, &key_bytes)) {
        return fail(pb::Failure::Failure_DataError, *error);
    }
    return ask_button(pb::ButtonRequest::ButtonRequest_ProtectCall, [request, address, key_bytes] {
        auto key = core::PrivateKey::from_bytes(key_bytes);
        auto sig = core::sign_personal_message(*key, core::as_bytes(request.message()));
        pb::EthereumMessageSignature reply;
        reply.set_signature(rsv(sig));
        reply.set_address(address);
        return SimStep{{out(reply)}, {}};
    });
}

SimStep SimDevice::start_tx(const SimMessage& message) {
    tx_ = Tx{};
    tx_.eip1559 = message.type == pb::kWireId<pb::EthereumSignTxEIP1559>;
    tx_.request = message.payload;
    std::string initial;
    if (tx_.eip1559) {
        pb::EthereumSignTxEIP1559 request;
        if (!request.ParseFromString(message.payload)) {
            return fail(pb::Failure::Failure_DataError, "Failed to decode message");
        }
        tx_.path.assign(request.address_n().begin(), request.address_n().end());
        initial = request.data_initial_chunk();
        tx_.data_length = request.data_length();
    } else {
        pb::EthereumSignTx request;
        if (!request.ParseFromString(message.payload)) {
            return fail(pb::Failure::Failure_DataError, "Failed to decode message");
        }
        tx_.path.assign(request.address_n().begin(), request.address_n().end());
        initial = request.data_initial_chunk();
        tx_.data_length = request.data_length();
    }
    if (tx_.data_length > 0 && initial.empty()) {
        return fail(pb::Failure::Failure_DataError, "Data length provided, but no initial chunk");
    }
    if (initial.size() > kChunk || initial.size() > tx_.data_length) {
        return fail(pb::Failure::Failure_DataError, "Invalid size of initial chunk");
    }
    if (auto error = derive_path(tx_.path, nullptr, nullptr)) {
        return fail(pb::Failure::Failure_DataError, *error);
    }
    tx_.data = initial;
    return tx_data("");
}

SimStep SimDevice::tx_data(const std::string& payload) {
    if (waiting_ == Waiting::TxData) {
        pb::EthereumTxAck ack;
        if (!ack.ParseFromString(payload)) {
            return fail(pb::Failure::Failure_DataError, "Failed to decode message");
        }
        if (ack.data_chunk().size() != tx_.asked) {
            return fail(pb::Failure::Failure_DataError, "Data chunk of the wrong size");
        }
        tx_.data += ack.data_chunk();
        waiting_ = Waiting::Nothing;
    }
    if (tx_.data.size() < tx_.data_length) {
        tx_.asked = std::min<std::uint32_t>(
            kChunk, tx_.data_length - static_cast<std::uint32_t>(tx_.data.size()));
        waiting_ = Waiting::TxData;
        pb::EthereumTxRequest request;
        request.set_data_length(tx_.asked);
        return {{out(request)}, {}};
    }
    // Two screens, as the firmware has them: the recipient and amount, then the fee.
    return ask_button(pb::ButtonRequest::ButtonRequest_ConfirmOutput, [this] {
        return ask_button(pb::ButtonRequest::ButtonRequest_SignTx, [this] { return finish_tx(); });
    });
}

SimStep SimDevice::finish_tx() {
    auto u256 = [](const std::string& bytes) { return core::u256_from_be(core::as_bytes(bytes)); };
    core::Transaction tx;
    std::string nonce, to, gas_limit;
    std::uint64_t chain_id = 0;
    if (tx_.eip1559) {
        pb::EthereumSignTxEIP1559 r;
        r.ParseFromString(tx_.request);
        tx.type = core::TxType::Eip1559;
        auto max_fee = u256(r.max_gas_fee());
        auto priority = u256(r.max_priority_fee());
        auto value = u256(r.value());
        if (!max_fee || !priority || !value) return fail(pb::Failure::Failure_DataError, "Bad fee");
        tx.max_fee_per_gas = *max_fee;
        tx.max_priority_fee_per_gas = *priority;
        tx.value = *value;
        nonce = r.nonce();
        gas_limit = r.gas_limit();
        to = r.to();
        chain_id = r.chain_id();
        for (const auto& entry : r.access_list()) {
            auto address = core::Address::parse(entry.address());
            if (!address)
                return fail(pb::Failure::Failure_DataError, "Invalid access list address");
            core::AccessListEntry e{*address, {}};
            for (const auto& key : entry.storage_keys()) {
                if (key.size() != 32)
                    return fail(pb::Failure::Failure_DataError, "Invalid storage key");
                core::Hash32 k{};
                std::copy(key.begin(), key.end(), k.begin());
                e.storage_keys.push_back(k);
            }
            tx.access_list.push_back(std::move(e));
        }
    } else {
        pb::EthereumSignTx r;
        r.ParseFromString(tx_.request);
        tx.type = core::TxType::Legacy;
        auto gas_price = u256(r.gas_price());
        auto value = u256(r.value());
        if (!gas_price || !value) return fail(pb::Failure::Failure_DataError, "Bad value");
        tx.gas_price = *gas_price;
        tx.value = *value;
        nonce = r.nonce();
        gas_limit = r.gas_limit();
        to = r.to();
        chain_id = r.chain_id();
        tx.eip155 = chain_id != 0;
    }
    if (nonce.size() > 8 || gas_limit.size() > 8) {
        return fail(pb::Failure::Failure_DataError, "Nonce or gas limit too large");
    }
    for (unsigned char c : nonce)
        tx.nonce = tx.nonce << 8 | c;
    for (unsigned char c : gas_limit)
        tx.gas_limit = tx.gas_limit << 8 | c;
    tx.chain_id = chain_id;
    if (!to.empty()) {
        auto address = core::Address::parse(to);
        if (!address) return fail(pb::Failure::Failure_DataError, "Invalid address");
        tx.to = *address;
    }
    tx.data.assign(tx_.data.begin(), tx_.data.end());
    std::vector<std::uint8_t> key_bytes;
    if (auto error = derive_path(tx_.path, nullptr, &key_bytes)) {
        return fail(pb::Failure::Failure_DataError, *error);
    }
    auto key = core::PrivateKey::from_bytes(key_bytes);
    const core::RecoverableSignature sig = core::sign_digest(*key, core::signing_hash(tx));
    pb::EthereumTxRequest reply;
    std::uint32_t v = sig.recovery_id;
    if (!tx_.eip1559) {
        if (chain_id == 0) {
            v += 27;
        } else if (chain_id <= kMaxChainIdInV) {
            v += 35 + 2 * static_cast<std::uint32_t>(chain_id);
        }
    }
    reply.set_signature_v(v);
    reply.set_signature_r(std::string(sig.r.begin(), sig.r.end()));
    reply.set_signature_s(std::string(sig.s.begin(), sig.s.end()));
    tx_ = Tx{};
    return {{out(reply)}, {}};
}

SimStep SimDevice::sign_typed_hash(const std::string& payload) {
    pb::EthereumSignTypedHash request;
    if (!request.ParseFromString(payload) || request.domain_separator_hash().size() != 32 ||
        (request.has_message_hash() && request.message_hash().size() != 32)) {
        return fail(pb::Failure::Failure_DataError, "Failed to decode message");
    }
    std::string address;
    std::vector<std::uint8_t> key_bytes;
    const std::vector<std::uint32_t> path(request.address_n().begin(), request.address_n().end());
    if (auto error = derive_path(path, &address, &key_bytes)) {
        return fail(pb::Failure::Failure_DataError, *error);
    }
    return ask_button(pb::ButtonRequest::ButtonRequest_ProtectCall, [request, address, key_bytes] {
        std::string preimage = "\x19\x01" + request.domain_separator_hash();
        if (request.has_message_hash()) preimage += request.message_hash();
        const core::Hash32 digest = core::keccak256(core::as_bytes(preimage));
        auto key = core::PrivateKey::from_bytes(key_bytes);
        pb::EthereumTypedDataSignature reply;
        reply.set_signature(rsv(core::sign_digest(*key, digest)));
        reply.set_address(address);
        return SimStep{{out(reply)}, {}};
    });
}

SimStep SimDevice::start_typed_data(const std::string& payload) {
    pb::EthereumSignTypedData request;
    if (!request.ParseFromString(payload)) {
        return fail(pb::Failure::Failure_DataError, "Failed to decode message");
    }
    if (!request.metamask_v4_compat()) {
        return fail(pb::Failure::Failure_DataError, "Only MetaMask v4 semantics are simulated");
    }
    typed_ = Typed{};
    typed_.path.assign(request.address_n().begin(), request.address_n().end());
    if (auto error = derive_path(typed_.path, nullptr, nullptr)) {
        return fail(pb::Failure::Failure_DataError, *error);
    }
    typed_.primary_type = request.primary_type();
    typed_.struct_queue.emplace_back(core::eip712::kDomainTypeName);
    return next_typed_step();
}

SimStep SimDevice::next_typed_step() {
    // 1. Struct definitions: the domain's first, then the primary type's.
    while (!typed_.struct_queue.empty() || !typed_.primary_queued) {
        if (typed_.struct_queue.empty()) {
            typed_.primary_queued = true;
            typed_.struct_queue.push_back(typed_.primary_type);
        }
        std::string name = typed_.struct_queue.front();
        typed_.struct_queue.pop_front();
        if (typed_.types.count(name)) continue;
        typed_.requested_struct = name;
        waiting_ = Waiting::Struct;
        pb::EthereumTypedDataStructRequest request;
        request.set_name(name);
        return {{out(request)}, {}};
    }
    // 2. The person confirms the domain before the values are walked.
    if (!typed_.confirmed) {
        typed_.confirmed = true;
        typed_.root["domain"] = json::object();
        typed_.root["message"] = json::object();
        auto add_members = [this](const std::string& type, std::uint32_t root_index,
                                  const char* key) {
            const auto& members = typed_.types[type];
            for (std::size_t i = 0; i < members.size(); ++i) {
                typed_.tasks.push_back(Task{{root_index, static_cast<std::uint32_t>(i)},
                                            members[i].type,
                                            {std::string(key), members[i].name},
                                            false});
            }
        };
        add_members(std::string(core::eip712::kDomainTypeName), 0, "domain");
        if (typed_.primary_type != core::eip712::kDomainTypeName) {
            add_members(typed_.primary_type, 1, "message");
        }
        return ask_button(pb::ButtonRequest::ButtonRequest_Other,
                          [this] { return next_typed_step(); });
    }
    // 3. Values, depth first in member order.
    while (!typed_.tasks.empty()) {
        Task& task = typed_.tasks.front();
        if (!is_array(task.type) && !is_atomic(task.type)) {
            Task parent = task;
            typed_.tasks.pop_front();
            *resolve(typed_.root, parent.target) = json::object();
            const auto& members = typed_.types[parent.type];
            for (std::size_t i = members.size(); i-- > 0;) {
                Task child{parent.member_path, members[i].type, parent.target, false};
                child.member_path.push_back(static_cast<std::uint32_t>(i));
                child.target.emplace_back(members[i].name);
                typed_.tasks.push_front(std::move(child));
            }
            continue;
        }
        waiting_ = Waiting::Value;
        pb::EthereumTypedDataValueRequest request;
        for (std::uint32_t index : task.member_path)
            request.add_member_path(index);
        return {{out(request)}, {}};
    }
    waiting_ = Waiting::Nothing;
    return finish_typed_data();
}

SimStep SimDevice::struct_ack(const std::string& payload) {
    pb::EthereumTypedDataStructAck ack;
    if (!ack.ParseFromString(payload)) {
        return fail(pb::Failure::Failure_DataError, "Failed to decode message");
    }
    std::vector<Member> members;
    for (const auto& member : ack.members()) {
        auto type = type_string(member.type());
        if (!type) return fail(pb::Failure::Failure_DataError, "Invalid field type");
        members.push_back({*type, member.name()});
        const auto* inner = &member.type();
        while (inner->data_type() == pb::EthereumTypedDataStructAck::ARRAY)
            inner = &inner->entry_type();
        if (inner->data_type() == pb::EthereumTypedDataStructAck::STRUCT) {
            typed_.struct_queue.push_back(inner->struct_name());
        }
    }
    typed_.types[typed_.requested_struct] = std::move(members);
    waiting_ = Waiting::Nothing;
    return next_typed_step();
}

SimStep SimDevice::value_ack(const std::string& payload) {
    pb::EthereumTypedDataValueAck ack;
    if (!ack.ParseFromString(payload)) {
        return fail(pb::Failure::Failure_DataError, "Failed to decode message");
    }
    Task task = typed_.tasks.front();
    typed_.tasks.pop_front();
    waiting_ = Waiting::Nothing;
    if (is_array(task.type)) {
        if (ack.value().size() != 2)
            return fail(pb::Failure::Failure_DataError, "Invalid array length");
        const std::size_t length =
            static_cast<std::size_t>((static_cast<unsigned char>(ack.value()[0]) << 8) |
                                     static_cast<unsigned char>(ack.value()[1]));
        json::array elements;
        elements.resize(length);
        *resolve(typed_.root, task.target) = std::move(elements);
        const std::string element = element_type(task.type);
        for (std::size_t j = length; j-- > 0;) {
            Task child{task.member_path, element, task.target, false};
            child.member_path.push_back(static_cast<std::uint32_t>(j));
            child.target.emplace_back(j);
            typed_.tasks.push_front(std::move(child));
        }
        return next_typed_step();
    }
    auto value = decode_value(task.type, ack.value());
    if (!value) return fail(pb::Failure::Failure_DataError, "Invalid value for " + task.type);
    *resolve(typed_.root, task.target) = std::move(*value);
    return next_typed_step();
}

SimStep SimDevice::finish_typed_data() {
    json::object document;
    json::object types;
    for (const auto& [name, members] : typed_.types) {
        json::array list;
        for (const auto& m : members)
            list.push_back(json::object{{"name", m.name}, {"type", m.type}});
        types[name] = std::move(list);
    }
    document["types"] = std::move(types);
    document["primaryType"] = typed_.primary_type;
    document["domain"] = typed_.root["domain"];
    document["message"] = typed_.root["message"];
    auto parsed = core::eip712::parse(json::value(std::move(document)));
    if (!parsed) return fail(pb::Failure::Failure_DataError, parsed.error().detail);
    auto digest = core::eip712::signing_hash(*parsed, core::eip712::Version::V4);
    if (!digest) return fail(pb::Failure::Failure_DataError, digest.error().detail);
    std::string address;
    std::vector<std::uint8_t> key_bytes;
    if (auto error = derive_path(typed_.path, &address, &key_bytes)) {
        return fail(pb::Failure::Failure_DataError, *error);
    }
    auto key = core::PrivateKey::from_bytes(key_bytes);
    pb::EthereumTypedDataSignature reply;
    reply.set_signature(rsv(core::sign_digest(*key, *digest)));
    reply.set_address(address);
    typed_ = Typed{};
    return {{out(reply)}, {}};
}

}  // namespace keybridge::trezor_sim
