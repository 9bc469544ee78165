#include "core/secret_buffer.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <new>

#include <openssl/crypto.h>

#include "core/assert.h"

namespace keybridge::core {
namespace {

std::atomic<bool> g_mlock_warned{false};

void warn_mlock_once() {
    if (!g_mlock_warned.exchange(true)) {
        std::fprintf(stderr,
                     "keybridge: warning: mlock failed (RLIMIT_MEMLOCK too low?); secrets may be "
                     "swapped to disk\n");
    }
}

}  // namespace

void secure_wipe(void* data, std::size_t size) {
    if (data != nullptr && size != 0) OPENSSL_cleanse(data, size);
}

bool constant_time_equal(ByteView a, ByteView b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretBuffer::SecretBuffer(std::size_t size) : size_(size), capacity_(size) {
    if (size == 0) return;
    data_ = static_cast<std::uint8_t*>(::operator new(size));
    std::memset(data_, 0, size);
    locked_ = ::mlock(data_, size) == 0;
    if (!locked_) warn_mlock_once();
}

SecretBuffer::~SecretBuffer() {
    release();
}

SecretBuffer::SecretBuffer(SecretBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_), locked_(other.locked_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
    other.locked_ = false;
}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
    if (this != &other) {
        release();
        data_ = other.data_;
        size_ = other.size_;
        capacity_ = other.capacity_;
        locked_ = other.locked_;
        other.data_ = nullptr;
        other.size_ = other.capacity_ = 0;
        other.locked_ = false;
    }
    return *this;
}

SecretBuffer SecretBuffer::copy_of(ByteView bytes) {
    SecretBuffer out(bytes.size());
    if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
    return out;
}

void SecretBuffer::truncate(std::size_t new_size) {
    KEYBRIDGE_ASSERT(new_size <= size_);
    secure_wipe(data_ + new_size, size_ - new_size);
    size_ = new_size;
}

void SecretBuffer::release() {
    if (data_ == nullptr) return;
    secure_wipe(data_, capacity_);
    if (locked_) ::munlock(data_, capacity_);
    ::operator delete(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
    locked_ = false;
}

}  // namespace keybridge::core
