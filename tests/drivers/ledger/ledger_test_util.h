#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/secp256k1.h"
#include "drivers/ledger/apdu_channel.h"

namespace keybridge::test::ledger {

inline constexpr std::string_view kMnemonic =
    "test test test test test test test test test test test junk";
inline constexpr const char* kPath = "m/44'/60'/0'/0/0";
inline constexpr const char* kAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

inline core::PrivateKey key_at(std::string_view path, std::string_view mnemonic = kMnemonic) {
    auto seed = core::bip39::seed_from_mnemonic(mnemonic, "");
    return std::move(*core::bip32::ethereum_private_key(seed->view(), path));
}

inline core::Bytes hex(std::string_view text) {
    return *core::hex_decode(text);
}

// The data of a GET ETH PUBLIC ADDRESS reply for key (no chain code).
inline core::Bytes address_reply(const core::PrivateKey& key) {
    const core::PublicKey pub = core::PublicKey::from_private(key);
    core::Bytes out{65};
    const auto sec1 = pub.uncompressed();
    out.insert(out.end(), sec1.begin(), sec1.end());
    out.push_back(40);
    const std::string text = core::hex_encode(pub.address().view(), false);
    out.insert(out.end(), text.begin(), text.end());
    return out;
}

// v || r || s with v given.
inline core::Bytes signature_reply(const core::RecoverableSignature& sig, std::uint8_t v) {
    core::Bytes out{v};
    out.insert(out.end(), sig.r.begin(), sig.r.end());
    out.insert(out.end(), sig.s.begin(), sig.s.end());
    return out;
}

// An ApduChannel that records every command and answers from a script, in order. A step may
// also be an error (a transport failure). Running out of script is a test failure (Internal).
class ScriptedChannel final : public drivers::ledger::ApduChannel {
  public:
    struct Step {
        core::Result<drivers::ledger::ApduReply> reply;
    };
    void ok(core::Bytes data = {}) { push({std::move(data), 0x9000}); }
    void status(std::uint16_t sw) { push({{}, sw}); }
    void error(core::ErrorCode code, std::string detail) {
        std::lock_guard lock(mutex_);
        script_.push_back(Step{core::fail(code, std::move(detail))});
    }
    void push(drivers::ledger::ApduReply reply) {
        std::lock_guard lock(mutex_);
        script_.push_back(Step{std::move(reply)});
    }
    // Answers every command with this instead of the script (after the script runs out).
    void set_fallback(std::function<drivers::ledger::ApduReply(core::ByteView)> fallback) {
        std::lock_guard lock(mutex_);
        fallback_ = std::move(fallback);
    }

    core::Result<drivers::ledger::ApduReply> exchange(core::ByteView command,
                                                      std::chrono::milliseconds timeout,
                                                      std::stop_token) override {
        std::lock_guard lock(mutex_);
        sent_.emplace_back(command.begin(), command.end());
        timeouts_.push_back(timeout);
        if (script_.empty()) {
            if (fallback_) return fallback_(command);
            return core::fail(core::ErrorCode::Internal,
                              "script ran out at " + core::hex_encode(command, false));
        }
        Step step = std::move(script_.front());
        script_.pop_front();
        return step.reply;
    }
    std::string describe() const override { return "scripted"; }

    std::vector<core::Bytes> sent() const {
        std::lock_guard lock(mutex_);
        return sent_;
    }
    std::vector<std::chrono::milliseconds> timeouts() const {
        std::lock_guard lock(mutex_);
        return timeouts_;
    }
    std::size_t left() const {
        std::lock_guard lock(mutex_);
        return script_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::deque<Step> script_;
    std::vector<core::Bytes> sent_;
    std::vector<std::chrono::milliseconds> timeouts_;
    std::function<drivers::ledger::ApduReply(core::ByteView)> fallback_;
};

}  // namespace keybridge::test::ledger
