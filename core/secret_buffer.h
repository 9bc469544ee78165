#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/bytes.h"

namespace keybridge::core {

// Overwrites memory in a way the optimiser cannot remove.
void secure_wipe(void* data, std::size_t size);

// Constant-time equality of two equal-length byte ranges (false when lengths differ).
bool constant_time_equal(ByteView a, ByteView b);

// Holds a secret (key, seed, mnemonic, password, decrypted keystore bytes). Move-only; the pages
// are mlock()ed where the OS allows (a failure is reported once on stderr and otherwise ignored)
// and wiped on destruction. There is deliberately no stream operator; to_string() of a secret is
// "<secret N bytes>".
class SecretBuffer {
  public:
    SecretBuffer() = default;
    explicit SecretBuffer(std::size_t size);  // zero-filled
    ~SecretBuffer();

    SecretBuffer(SecretBuffer&& other) noexcept;
    SecretBuffer& operator=(SecretBuffer&& other) noexcept;
    SecretBuffer(const SecretBuffer&) = delete;
    SecretBuffer& operator=(const SecretBuffer&) = delete;

    static SecretBuffer copy_of(ByteView bytes);
    static SecretBuffer copy_of(std::string_view text) { return copy_of(as_bytes(text)); }

    std::uint8_t* data() { return data_; }
    const std::uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::span<std::uint8_t> span() { return {data_, size_}; }
    ByteView view() const { return {data_, size_}; }
    // The bytes as text (for mnemonics and passwords); the view dies with the buffer.
    std::string_view text() const { return {reinterpret_cast<const char*>(data_), size_}; }

    // Shrinks the visible size without reallocating (e.g. after a decoder wrote fewer bytes).
    void truncate(std::size_t new_size);

    std::string to_string() const { return "<secret " + std::to_string(size_) + " bytes>"; }

    friend bool operator==(const SecretBuffer& a, const SecretBuffer& b) {
        return constant_time_equal(a.view(), b.view());
    }

  private:
    void release();

    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    bool locked_ = false;
};

// Wipes a trivially copyable local on scope exit: `ScopedWipe wipe(tmp);`
class ScopedWipe {
  public:
    ScopedWipe(void* data, std::size_t size) : data_(data), size_(size) {}
    template <typename T>
    explicit ScopedWipe(T& object) : ScopedWipe(&object, sizeof(T)) {}
    ~ScopedWipe() { secure_wipe(data_, size_); }
    ScopedWipe(const ScopedWipe&) = delete;
    ScopedWipe& operator=(const ScopedWipe&) = delete;

  private:
    void* data_;
    std::size_t size_;
};

}  // namespace keybridge::core
