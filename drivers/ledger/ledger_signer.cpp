#include "drivers/ledger/ledger_signer.h"

#include <map>
#include <utility>

#include <fmt/format.h>

#include "core/eip191.h"
#include "core/transaction.h"
#include "drivers/ledger/eip712_filters.h"
#include "drivers/ledger/erc20_descriptors.h"

namespace keybridge::drivers::ledger {
namespace {

using core::ErrorCode;
using State = LedgerState::State;

constexpr std::string_view kIdentityPath = "m/44'/60'/0'/0/0";

// Calls device_done() once for an on_device() it was given, on every exit path.
class DevicePrompt {
  public:
    explicit DevicePrompt(core::Prompter& prompter) : prompter_(prompter) {}
    ~DevicePrompt() {
        if (shown_) prompter_.device_done();
    }
    DevicePrompt(const DevicePrompt&) = delete;
    DevicePrompt& operator=(const DevicePrompt&) = delete;
    void show(std::string_view what) {
        if (shown_) return;
        prompter_.on_device(what);
        shown_ = true;
    }

  private:
    core::Prompter& prompter_;
    bool shown_ = false;
};

std::string short_hex(const core::Hash32& hash) {
    const std::string hex = core::hex_encode(hash, true);
    return hex.substr(0, 10) + "…" + hex.substr(hex.size() - 8);
}

}  // namespace

std::string_view to_string(LedgerState::State state) {
    switch (state) {
        case State::Unknown:
            return "unknown";
        case State::Ready:
            return "ready";
        case State::Locked:
            return "locked";
        case State::Dashboard:
            return "dashboard";
        case State::WrongApp:
            return "wrong-app";
        case State::Unresponsive:
            return "unresponsive";
        case State::Disconnected:
            return "disconnected";
    }
    return "unknown";
}

core::Result<std::string> ledger_identity(ApduChannel& channel, std::stop_token stop,
                                          std::chrono::milliseconds timeout) {
    auto apdu = eth::get_address_apdu(kIdentityPath, false, false);
    if (!apdu) return core::fail(apdu.error());
    auto reply = channel.exchange(*apdu, timeout, std::move(stop));
    if (!reply) return core::fail(reply.error());
    if (reply->status != eth::kSwOk) {
        return core::fail(eth::status_error(reply->status, eth::Request::Address));
    }
    auto address = eth::parse_address(reply->data, false);
    if (!address) return core::fail(address.error());
    return "ledger:" + core::hex_encode(address->address.view().first(4), false);
}

LedgerSigner::LedgerSigner(std::unique_ptr<ApduChannel> channel, std::string identity, Model model)
    : LedgerSigner(std::move(channel), std::move(identity), model, Options{}) {}

LedgerSigner::LedgerSigner(std::unique_ptr<ApduChannel> channel, std::string identity, Model model,
                           Options options)
    : channel_(std::move(channel)),
      identity_(std::move(identity)),
      model_(model),
      options_(options) {}

void LedgerSigner::set_keys(std::vector<core::KeyRef> keys) {
    std::lock_guard lock(state_mutex_);
    keys_ = std::move(keys);
}

std::vector<core::KeyRef> LedgerSigner::keys() const {
    std::lock_guard lock(state_mutex_);
    return keys_;
}

LedgerState LedgerSigner::state() const {
    std::lock_guard lock(state_mutex_);
    return state_;
}

std::string LedgerSigner::describe() const {
    return channel_->describe();
}

core::SignerInfo LedgerSigner::info() const {
    std::lock_guard lock(state_mutex_);
    return {core::SignerFamily::Ledger, std::string(model_name(model_)), state_.app_version,
            /*blocking=*/true};
}

std::optional<bool> LedgerSigner::blind_signing() const {
    std::lock_guard lock(state_mutex_);
    return state_.blind_signing;
}

core::Status LedgerSigner::ready(const core::KeyRef& key) const {
    std::lock_guard lock(state_mutex_);
    const bool known = std::find(keys_.begin(), keys_.end(), key) != keys_.end();
    if (!known) {
        return core::fail(ErrorCode::NotFound, key.address.to_checksum_string() +
                                                   " is not an account of the Ledger " + identity_);
    }
    switch (state_.state) {
        case State::Disconnected:
        case State::Locked:
        case State::Dashboard:
        case State::WrongApp:
            return core::fail(ErrorCode::DeviceNotFound, state_.detail);
        default:
            return {};
    }
}

void LedgerSigner::note_status(std::uint16_t status) {
    std::lock_guard lock(state_mutex_);
    switch (status) {
        case eth::kSwLocked:
        case eth::kSwSecurityStatus:
            state_.state = State::Locked;
            state_.detail =
                "the Ledger is locked: unlock it with its PIN and open the Ethereum app";
            break;
        case eth::kSwClaNotSupported:
        case eth::kSwAppNotOpen:
        case eth::kSwUnknownApdu:
        case eth::kSwAppNotOpen2:
            state_.state = State::Dashboard;
            state_.detail = "the Ethereum app is not open on the Ledger: open it";
            break;
        default:
            // Anything the app itself answered means it is open and unlocked.
            if (state_.state != State::Ready) {
                state_.state = State::Ready;
                state_.detail.clear();
            }
            break;
    }
}

core::Result<ApduReply> LedgerSigner::exchange(const core::Bytes& apdu, Wait wait,
                                               const std::stop_token& stop) {
    const auto timeout = wait == Wait::User ? options_.user_timeout : options_.command_timeout;
    auto reply = channel_->exchange(apdu, timeout, stop);
    if (!reply) {
        if (reply.error().code == ErrorCode::Disconnected && !stop.stop_requested()) {
            std::lock_guard lock(state_mutex_);
            state_.state = State::Disconnected;
            state_.detail = "the Ledger " + identity_ + " was disconnected: plug it in again";
            return core::fail(ErrorCode::Disconnected,
                              "the Ledger was disconnected (" + reply.error().detail + ")");
        }
        return core::fail(reply.error());
    }
    // Only the app's own answers say something about the app (the OS answers B0 everywhere).
    if (!apdu.empty() && apdu[0] == eth::kCla) note_status(reply->status);
    return reply;
}

core::Result<core::Bytes> LedgerSigner::call(const core::Bytes& apdu, Wait wait,
                                             const std::stop_token& stop, eth::Request request) {
    auto reply = exchange(apdu, wait, stop);
    if (!reply) return core::fail(reply.error());
    if (reply->status != eth::kSwOk) {
        std::optional<bool> blind = blind_signing();
        if (reply->status == eth::kSwInvalidData && !blind.has_value() &&
            (request == eth::Request::Transaction || request == eth::Request::TypedData)) {
            // Learn the setting now, to say whether blind signing is what stands in the way.
            if (auto config = exchange(eth::get_configuration_apdu(), Wait::Command, stop);
                config && config->status == eth::kSwOk) {
                if (auto parsed = eth::parse_configuration(config->data)) {
                    blind = parsed->blind_signing();
                    std::lock_guard lock(state_mutex_);
                    state_.blind_signing = blind;
                }
            }
        }
        return core::fail(eth::status_error(reply->status, request, blind));
    }
    return std::move(reply->data);
}

core::Status LedgerSigner::begin(const core::KeyRef& key) {
    KEYBRIDGE_TRY_STATUS(ready(key));
    if (key.path.empty()) {
        return core::fail(ErrorCode::NotFound, key.address.to_checksum_string() +
                                                   " has no derivation path: a Ledger signs by "
                                                   "path only");
    }
    return {};
}

core::Result<core::Address> LedgerSigner::get_address(const core::SignContext& context,
                                                      std::string_view path, bool display) {
    auto apdu = eth::get_address_apdu(path, display, false);
    if (!apdu) return core::fail(apdu.error());
    auto reply =
        call(*apdu, display ? Wait::User : Wait::Command, context.stop, eth::Request::Address);
    if (!reply) return core::fail(reply.error());
    auto parsed = eth::parse_address(*reply, false);
    if (!parsed) return core::fail(parsed.error());
    return parsed->address;
}

core::Status LedgerSigner::check_address(const core::SignContext& context,
                                         const core::KeyRef& key) {
    auto address = get_address(context, key.path, false);
    if (!address) return core::fail(address.error());
    if (*address != key.address) {
        return core::fail(
            ErrorCode::DeviceNotFound,
            fmt::format("the connected Ledger derives {} at {}, not the account {}: "
                        "it holds another seed or passphrase. Connect the Ledger "
                        "that holds {} (with the same passphrase) and try again",
                        address->to_checksum_string(), key.path, key.address.to_checksum_string(),
                        key.address.to_checksum_string()));
    }
    return {};
}

core::Result<core::Address> LedgerSigner::address_at(const core::SignContext& context,
                                                     std::string_view path) {
    std::lock_guard device(device_mutex_);
    return get_address(context, path, false);
}

core::Result<core::Address> LedgerSigner::confirm_address(const core::SignContext& context,
                                                          std::string_view path) {
    std::lock_guard device(device_mutex_);
    DevicePrompt prompt(context.prompter);
    prompt.show(fmt::format("Check the address shown on your Ledger ({}) and confirm it",
                            model_name(model_)));
    return get_address(context, path, true);
}

core::Result<core::RecoverableSignature> LedgerSigner::finish_message_signature(
    const core::Bytes& reply, const core::Hash32& digest, const core::KeyRef& key) {
    auto parsed = eth::parse_signature(reply);
    if (!parsed) return core::fail(parsed.error());
    auto recovery = eth::message_recovery_id(parsed->v);
    if (!recovery) return core::fail(recovery.error());
    core::RecoverableSignature signature{parsed->r, parsed->s, *recovery};
    auto signer = core::recover_public_key(digest, signature, /*require_low_s=*/false);
    if (!signer || signer->address() != key.address) {
        return core::fail(ErrorCode::ProtocolError, "the Ledger's signature does not recover to " +
                                                        key.address.to_checksum_string() +
                                                        ": refused");
    }
    return signature;
}

core::Result<core::RecoverableSignature> LedgerSigner::sign_personal_message(
    const core::SignContext& context, const core::KeyRef& key, core::ByteView message) {
    KEYBRIDGE_TRY_STATUS(begin(key));
    auto apdus = eth::sign_personal_message_apdus(key.path, message);
    if (!apdus) return core::fail(apdus.error());
    std::lock_guard device(device_mutex_);
    KEYBRIDGE_TRY_STATUS(check_address(context, key));
    DevicePrompt prompt(context.prompter);
    core::Bytes reply;
    for (std::size_t i = 0; i < apdus->size(); ++i) {
        const bool last = i + 1 == apdus->size();
        if (last) {
            prompt.show(fmt::format("Confirm the message on your Ledger ({})", model_name(model_)));
        }
        auto data = call((*apdus)[i], last ? Wait::User : Wait::Command, context.stop,
                         eth::Request::PersonalMessage);
        if (!data) return core::fail(data.error());
        reply = std::move(*data);
    }
    return finish_message_signature(reply, core::personal_message_hash(message), key);
}

core::Result<core::RecoverableSignature> LedgerSigner::sign_typed_hashed(
    const core::SignContext& context, const core::KeyRef& key,
    const core::eip712::HashedTypedData& typed) {
    if (!typed.message_hash()) {
        return core::fail(ErrorCode::NotSupported,
                          "a Ledger cannot sign typed data whose primary type is EIP712Domain");
    }
    auto apdu =
        eth::sign_eip712_hashed_apdu(key.path, typed.domain_separator(), *typed.message_hash());
    if (!apdu) return core::fail(apdu.error());
    DevicePrompt prompt(context.prompter);
    prompt.show(
        fmt::format("Your Ledger shows hashes only: check domain hash {} and message hash "
                    "{} on it, then confirm",
                    short_hex(typed.domain_separator()), short_hex(*typed.message_hash())));
    auto reply = call(*apdu, Wait::User, context.stop, eth::Request::TypedData);
    if (!reply) return core::fail(reply.error());
    return finish_message_signature(*reply, typed.digest(), key);
}

core::Result<core::RecoverableSignature> LedgerSigner::sign_typed_data(
    const core::SignContext& context, const core::KeyRef& key,
    const core::eip712::HashedTypedData& typed) {
    KEYBRIDGE_TRY_STATUS(begin(key));
    std::lock_guard device(device_mutex_);
    KEYBRIDGE_TRY_STATUS(check_address(context, key));

    // Full mode needs app 1.9.19; ask the version as hw-app-eth does, from the OS.
    bool full = model_ != Model::NanoS;
    std::string version;
    if (full) {
        auto reply = exchange(eth::get_app_and_version_apdu(), Wait::Command, context.stop);
        if (!reply) return core::fail(reply.error());
        if (reply->status == eth::kSwLocked || reply->status == eth::kSwSecurityStatus) {
            return core::fail(eth::status_error(reply->status, eth::Request::TypedData));
        }
        full = false;
        if (reply->status == eth::kSwOk) {
            if (auto app = eth::parse_app_and_version(reply->data)) {
                if (app->name != "Ethereum") {
                    // The dashboard (BOLOS) or another app: nothing to send the document to.
                    const bool dashboard = app->name == "BOLOS";
                    std::lock_guard lock(state_mutex_);
                    state_.state = dashboard ? State::Dashboard : State::WrongApp;
                    state_.detail = dashboard
                                        ? "the Ethereum app is not open on the Ledger: open it"
                                        : "the " + app->name +
                                              " app is open on the Ledger: close it and open "
                                              "Ethereum";
                    return core::fail(ErrorCode::DeviceNotFound, state_.detail);
                }
                full = eth::version_at_least(app->version, 1, 9, 19);
                version = app->version;
                std::lock_guard lock(state_mutex_);
                state_.app_name = app->name;
                state_.app_version = app->version;
            }
        }
    }
    if (!full) return sign_typed_hashed(context, key, typed);
    // Ledger's signed filters (labels, token amounts) for known schemas, from app 1.11.1 ("v2");
    // discarding the filters of empty arrays from 1.12.0. Without them the app shows every field.
    std::optional<Eip712Filters> filters;
    if (options_.provide_token_descriptors && eth::version_at_least(version, 1, 11, 1)) {
        filters = find_eip712_filters(typed.typed());
    }
    const bool discarded_fields = eth::version_at_least(version, 1, 12, 0);
    auto apdus =
        eth::eip712_full_apdus(key.path, typed, filters ? &*filters : nullptr, discarded_fields);
    if (!apdus && filters) apdus = eth::eip712_full_apdus(key.path, typed);
    if (!apdus) return sign_typed_hashed(context, key, typed);

    for (std::size_t i = 0; i < apdus->definitions.size(); ++i) {
        auto reply = exchange(apdus->definitions[i], Wait::Command, context.stop);
        if (!reply) return core::fail(reply.error());
        if (reply->status == eth::kSwInsNotSupported && i == 0) {
            // An app without full EIP-712 (older, or a model that lacks it).
            return sign_typed_hashed(context, key, typed);
        }
        if (reply->status != eth::kSwOk) {
            return core::fail(
                eth::status_error(reply->status, eth::Request::TypedData, blind_signing()));
        }
    }
    if (apdus->activate) {
        auto reply = exchange(*apdus->activate, Wait::Command, context.stop);
        if (!reply) return core::fail(reply.error());
        if (reply->status != eth::kSwOk) {
            // An app that takes no filters (or not Ledger's key): every field is shown instead.
            auto plain = eth::eip712_full_apdus(key.path, typed);
            if (!plain) return core::fail(plain.error());
            apdus->implementations = std::move(plain->implementations);
            apdus->token_steps.clear();
        }
    }
    DevicePrompt prompt(context.prompter);
    prompt.show(
        fmt::format("Review the typed data ({}) field by field on your Ledger and "
                    "confirm",
                    typed.typed().primary_type()));
    // The app may stop on each field until the person moves on: every exchange can wait.
    std::map<int, std::uint8_t> token_index;  // coin reference -> the app's index for it
    for (std::size_t i = 0; i < apdus->implementations.size(); ++i) {
        core::Bytes apdu = apdus->implementations[i];
        const eth::Eip712TokenStep* step = nullptr;
        for (const auto& s : apdus->token_steps)
            if (s.apdu == i) step = &s;
        if (step != nullptr && step->provides) {
            auto reply = exchange(apdu, Wait::Command, context.stop);
            if (!reply) return core::fail(reply.error());
            // A descriptor the app refuses only costs the token's name on the screen.
            if (reply->status == eth::kSwOk) {
                token_index[step->coin_ref] =
                    step->coin_ref == 255 ? 255 : (reply->data.empty() ? 0 : reply->data[0]);
            }
            continue;
        }
        if (step != nullptr && step->patch_at < apdu.size()) {
            auto known = token_index.find(step->coin_ref);
            if (known != token_index.end() && known->second != 0)
                apdu[step->patch_at] = known->second;
        }
        auto reply = call(apdu, Wait::User, context.stop, eth::Request::TypedData);
        if (!reply) return core::fail(reply.error());
    }
    auto reply = call(apdus->sign, Wait::User, context.stop, eth::Request::TypedData);
    if (!reply) return core::fail(reply.error());
    return finish_message_signature(*reply, typed.digest(), key);
}

core::Result<core::RecoverableSignature> LedgerSigner::sign_typed_data_v1(
    const core::SignContext&, const core::KeyRef& key, const boost::json::value&) {
    KEYBRIDGE_TRY_STATUS(begin(key));
    return core::fail(ErrorCode::NotSupported,
                      "the Ledger Ethereum app does not sign legacy eth_signTypedData (v1); use "
                      "eth_signTypedData_v4");
}

core::Result<core::RecoverableSignature> LedgerSigner::sign_digest(const core::SignContext&,
                                                                   const core::KeyRef& key,
                                                                   const core::Hash32&) {
    KEYBRIDGE_TRY_STATUS(begin(key));
    return core::fail(ErrorCode::NotSupported,
                      "the Ledger Ethereum app does not sign raw hashes (eth_sign); use "
                      "personal_sign or eth_signTypedData_v4");
}

core::Result<core::SignedTransaction> LedgerSigner::sign_transaction(
    const core::SignContext& context, const core::KeyRef& key, const core::Transaction& tx) {
    KEYBRIDGE_TRY_STATUS(begin(key));
    auto apdus = eth::sign_transaction_apdus(key.path, tx);
    if (!apdus) return core::fail(apdus.error());
    std::lock_guard device(device_mutex_);
    KEYBRIDGE_TRY_STATUS(check_address(context, key));
    if (options_.provide_token_descriptors) {
        if (auto token = erc20_descriptor_for(tx)) {
            if (auto apdu = eth::provide_erc20_apdu(token->payload)) {
                // A refusal (an app that checks another key) only costs the clear display.
                auto reply = exchange(*apdu, Wait::Command, context.stop);
                if (!reply) return core::fail(reply.error());
            }
        }
    }
    DevicePrompt prompt(context.prompter);
    core::Bytes reply;
    for (std::size_t i = 0; i < apdus->size(); ++i) {
        const bool last = i + 1 == apdus->size();
        if (last) {
            prompt.show(
                fmt::format("Confirm the transaction on your Ledger ({})", model_name(model_)));
        }
        auto data = call((*apdus)[i], last ? Wait::User : Wait::Command, context.stop,
                         eth::Request::Transaction);
        if (!data) return core::fail(data.error());
        reply = std::move(*data);
    }
    auto parsed = eth::parse_signature(reply);
    if (!parsed) return core::fail(parsed.error());
    auto recovery = eth::transaction_recovery_id(parsed->v, tx);
    if (!recovery) return core::fail(recovery.error());
    const core::RecoverableSignature signature{parsed->r, parsed->s, *recovery};
    auto signer = core::recover_public_key(core::signing_hash(tx), signature);
    if (!signer || signer->address() != key.address) {
        return core::fail(ErrorCode::ProtocolError,
                          "the Ledger's transaction signature does not recover to " +
                              key.address.to_checksum_string() + ": refused");
    }
    auto raw = core::encode_signed(tx, signature);
    if (!raw) return core::fail(raw.error());
    auto decoded = core::decode_signed(*raw);
    if (!decoded) {
        return core::fail(
            ErrorCode::ProtocolError,
            "the Ledger's transaction signature does not decode: " + decoded.error().detail);
    }
    return decoded;
}

LedgerState LedgerSigner::probe(std::stop_token stop) {
    std::unique_lock device(device_mutex_, std::try_to_lock);
    if (!device.owns_lock()) return state();  // a request is using the device
    LedgerState next = probe_ledger(*channel_, stop, options_.command_timeout);
    if (next.state == State::Disconnected) {
        next.detail = "the Ledger " + identity_ + " was disconnected: plug it in again";
    }
    std::lock_guard lock(state_mutex_);
    state_ = next;
    return next;
}

LedgerState probe_ledger(ApduChannel& channel, std::stop_token stop,
                         std::chrono::milliseconds timeout) {
    LedgerState next;
    auto finish = [](LedgerState s) { return s; };
    auto channel_failed = [&](const core::Error& error) {
        if (error.code == ErrorCode::Disconnected && !stop.stop_requested()) {
            next.state = State::Disconnected;
            next.detail = "the Ledger was disconnected: plug it in again";
        } else {
            next.state = State::Unresponsive;
            next.detail = "the Ledger does not answer (" + error.detail +
                          "): finish or reject what its screen shows, or unplug it and plug it "
                          "in again";
        }
        return finish(next);
    };
    auto closed_app = [&](std::uint16_t status) {
        if (status == eth::kSwLocked || status == eth::kSwSecurityStatus) {
            next.state = State::Locked;
            next.detail = "the Ledger is locked: unlock it with its PIN and open the Ethereum app";
        } else if (status == eth::kSwClaNotSupported) {
            next.state = State::WrongApp;
            next.detail = "another app is open on the Ledger: open the Ethereum app";
        } else {
            next.state = State::Dashboard;
            next.detail = "the Ethereum app is not open on the Ledger: open it";
        }
        return finish(next);
    };

    auto app = channel.exchange(eth::get_app_and_version_apdu(), timeout, stop);
    if (!app) return channel_failed(app.error());
    if (app->status == eth::kSwLocked || app->status == eth::kSwSecurityStatus) {
        return closed_app(app->status);
    }
    if (app->status == eth::kSwOk) {
        auto parsed = eth::parse_app_and_version(app->data);
        if (!parsed) {
            next.state = State::Unknown;
            next.detail = parsed.error().detail;
            return finish(next);
        }
        next.app_name = parsed->name;
        next.app_version = parsed->version;
        if (parsed->name == "BOLOS") {
            next.state = State::Dashboard;
            next.detail = "the Ethereum app is not open on the Ledger: open it";
            return finish(next);
        }
        if (parsed->name != "Ethereum") {
            next.state = State::WrongApp;
            next.detail =
                "the " + parsed->name + " app is open on the Ledger: close it and open Ethereum";
            return finish(next);
        }
    }
    // The Ethereum app (or firmware too old to name it): its settings.
    auto config = channel.exchange(eth::get_configuration_apdu(), timeout, stop);
    if (!config) return channel_failed(config.error());
    if (config->status != eth::kSwOk) return closed_app(config->status);
    auto parsed = eth::parse_configuration(config->data);
    if (!parsed) {
        next.state = State::Unknown;
        next.detail = parsed.error().detail;
        return finish(next);
    }
    if (next.app_name.empty()) next.app_name = "Ethereum";
    next.app_version = parsed->version();
    next.blind_signing = parsed->blind_signing();
    next.state = State::Ready;
    std::vector<std::string> notes;
    if (!eth::version_at_least(next.app_version, 1, 9, 19)) {
        notes.push_back(
            "the Ethereum app is older than 1.9.19: typed data shows as hashes; "
            "update it in Ledger Live");
    }
    if (!parsed->blind_signing()) {
        notes.push_back(
            "\"Blind signing\" is off in the Ethereum app's settings: contract calls "
            "the app cannot decode will be refused until it is enabled");
    }
    for (const auto& note : notes) {
        if (!next.detail.empty()) next.detail += "; ";
        next.detail += note;
    }
    return finish(next);
}

}  // namespace keybridge::drivers::ledger
