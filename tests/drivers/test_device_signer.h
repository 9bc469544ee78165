#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/eip191.h"
#include "core/signer.h"

namespace keybridge::test {

// A device stand-in for the daemon's tests: one key (from a phrase, at a path) behind the signer
// contract, reporting itself as a blocking Ledger. Every signature first shows "on device" and
// then waits until release() is called (or at once when auto_release), or until the request's
// stop token fires, which it answers with Disconnected, as a device driver must.
class TestDeviceSigner final : public core::Signer {
  public:
    TestDeviceSigner(std::string id, std::string_view mnemonic, std::string path,
                     bool auto_release)
        : id_(std::move(id)), path_(std::move(path)), auto_release_(auto_release) {
        auto seed = core::bip39::seed_from_mnemonic(mnemonic, "");
        auto key = core::bip32::ethereum_private_key(seed->view(), path_);
        key_.emplace(std::move(*key));
        address_ = core::PublicKey::from_private(*key_).address();
    }

    const core::Address& address() const { return address_; }
    const std::string& path() const { return path_; }

    // Lets the waiting (or next) signature go ahead.
    void release() {
        std::lock_guard lock(mutex_);
        ++releases_;
        changed_.notify_all();
    }
    // How many signatures started waiting / were stopped while waiting.
    int started() const {
        std::lock_guard lock(mutex_);
        return started_;
    }
    int stopped() const {
        std::lock_guard lock(mutex_);
        return stopped_;
    }
    void set_present(bool present) {
        std::lock_guard lock(mutex_);
        present_ = present;
    }

    std::string id() const override { return id_; }
    core::SignerInfo info() const override {
        return {core::SignerFamily::Ledger, "test device", "1.0.0", /*blocking=*/true};
    }
    std::vector<core::KeyRef> keys() const override { return {{address_, path_}}; }
    core::Status ready(const core::KeyRef& key) const override {
        std::lock_guard lock(mutex_);
        if (!present_) return core::fail(core::ErrorCode::DeviceNotFound, "unplugged");
        if (key.address != address_) return core::fail(core::ErrorCode::NotFound, "not mine");
        return {};
    }
    core::Result<core::Address> address_at(const core::SignContext&,
                                           std::string_view path) override {
        if (path != path_) return core::fail(core::ErrorCode::NotSupported, "one path only");
        return address_;
    }
    core::Result<core::RecoverableSignature> sign_personal_message(
        const core::SignContext& context, const core::KeyRef& key,
        core::ByteView message) override {
        return sign_hash(context, key, core::personal_message_hash(message));
    }
    core::Result<core::RecoverableSignature> sign_typed_data(
        const core::SignContext& context, const core::KeyRef& key,
        const core::eip712::HashedTypedData& typed) override {
        return sign_hash(context, key, typed.digest());
    }
    core::Result<core::RecoverableSignature> sign_typed_data_v1(
        const core::SignContext&, const core::KeyRef&, const boost::json::value&) override {
        return core::fail(core::ErrorCode::NotSupported, "devices do not sign v1 typed data");
    }
    core::Result<core::RecoverableSignature> sign_digest(const core::SignContext& context,
                                                         const core::KeyRef& key,
                                                         const core::Hash32& digest) override {
        return sign_hash(context, key, digest);
    }
    core::Result<core::SignedTransaction> sign_transaction(const core::SignContext& context,
                                                           const core::KeyRef& key,
                                                           const core::Transaction& tx) override {
        if (auto ok = confirm(context, key); !ok) return core::fail(ok.error());
        return core::sign(tx, *key_);
    }

  private:
    core::Result<core::RecoverableSignature> sign_hash(const core::SignContext& context,
                                                       const core::KeyRef& key,
                                                       const core::Hash32& digest) {
        if (auto ok = confirm(context, key); !ok) return core::fail(ok.error());
        return core::sign_digest(*key_, digest);
    }

    // "Confirm on the device": waits for release() or the stop token.
    core::Status confirm(const core::SignContext& context, const core::KeyRef& key) {
        if (auto ok = ready(key); !ok) return ok;
        if (key.path != path_) return core::fail(core::ErrorCode::NotFound, "wrong path");
        context.prompter.on_device("Confirm on your test device");
        std::unique_lock lock(mutex_);
        ++started_;
        const bool released = changed_.wait(lock, context.stop, [&] {
            return auto_release_ || releases_ > 0;
        });
        if (!released) {
            ++stopped_;
            lock.unlock();
            context.prompter.device_done();
            return core::fail(core::ErrorCode::Disconnected, "the request was cancelled");
        }
        if (!auto_release_) --releases_;
        lock.unlock();
        context.prompter.device_done();
        return {};
    }

    std::string id_;
    std::string path_;
    bool auto_release_;
    std::optional<core::PrivateKey> key_;
    core::Address address_;
    mutable std::mutex mutex_;
    std::condition_variable_any changed_;
    int releases_ = 0;
    int started_ = 0;
    int stopped_ = 0;
    bool present_ = true;
};

}  // namespace keybridge::test
