#include "core/secret_buffer.h"

#include <cstring>
#include <mutex>

#include <openssl/crypto.h>

#include "core/assert.h"

namespace keybridge::core {
namespace {

std::once_flag g_heap_once;
SecureHeapStatus g_heap_status;  // written once under g_heap_once, read-only afterwards

bool is_power_of_two(std::size_t n) {
    return n != 0 && (n & (n - 1)) == 0;
}

// OpenSSL's secure heap: mmap() with guard pages, mlock2(MLOCK_ONFAULT) of the whole arena,
// madvise(MADV_DONTDUMP). Returns 1 when all of it worked, 2 when the arena exists but some
// protection (in practice the mlock) failed, 0 when there is no arena.
void set_up(std::size_t size) {
    KEYBRIDGE_ASSERT(is_power_of_two(size) && size >= kSecureHeapMinBlock);
    if (CRYPTO_secure_malloc_initialized() != 0) {
        // Someone set it up behind our back: we cannot tell whether it is locked.
        g_heap_status = {SecureHeapState::Unlocked, 0};
        return;
    }
    switch (CRYPTO_secure_malloc_init(size, kSecureHeapMinBlock)) {
        case 1:
            g_heap_status = {SecureHeapState::Locked, size};
            break;
        case 2:
            g_heap_status = {SecureHeapState::Unlocked, size};
            break;
        default:
            g_heap_status = {SecureHeapState::Failed, 0};
            break;
    }
}

// A zeroed block of `size` bytes from the arena; never from ordinary memory.
std::uint8_t* allocate_secret(std::size_t size) {
    if (secure_heap_status().state == SecureHeapState::Failed) throw SecureMemoryExhausted();
    void* p = OPENSSL_secure_zalloc(size);
    if (p == nullptr) throw SecureMemoryExhausted();
    // With an arena set up, OpenSSL only ever answers from it (or NULL when full).
    KEYBRIDGE_ASSERT(CRYPTO_secure_allocated(p) != 0);
    return static_cast<std::uint8_t*>(p);
}

}  // namespace

SecureHeapStatus init_secure_heap(std::size_t size) {
    std::call_once(g_heap_once, [size] { set_up(size); });
    return g_heap_status;
}

SecureHeapStatus secure_heap_status() {
    return init_secure_heap(kDefaultSecureHeapSize);
}

std::size_t secure_heap_used() {
    // OpenSSL's counter takes a lock that exists only once the arena does.
    if (secure_heap_status().state == SecureHeapState::Failed) return 0;
    return CRYPTO_secure_used();
}

bool in_secure_heap(const void* p) {
    return p != nullptr && CRYPTO_secure_malloc_initialized() != 0 &&
           CRYPTO_secure_allocated(p) != 0;
}

void secure_wipe(void* data, std::size_t size) {
    // glibc's explicit_bzero: its memset (vector stores) behind a barrier the optimiser must
    // respect. OPENSSL_cleanse stores 8 bytes per 5-instruction loop turn.
    if (data != nullptr && size != 0) ::explicit_bzero(data, size);
}

[[gnu::noinline]] void wipe_stack() {
    // Lies where the returned callee's frames were; explicit_bzero is opaque to the optimiser,
    // so neither the array nor the writes can be dropped. (With OPENSSL_cleanse, 8 bytes per
    // loop turn, these 16 KiB cost 10.4k instructions per signature; glibc's vector memset
    // behind explicit_bzero a few hundred.)
    std::uint8_t scratch[16 * 1024];
    ::explicit_bzero(scratch, sizeof scratch);
}

bool constant_time_equal(ByteView a, ByteView b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretBuffer::SecretBuffer(std::size_t size) : size_(size), capacity_(size) {
    if (size != 0) data_ = allocate_secret(size);
}

SecretBuffer::~SecretBuffer() {
    release();
}

SecretBuffer::SecretBuffer(SecretBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
    if (this != &other) {
        release();
        data_ = other.data_;
        size_ = other.size_;
        capacity_ = other.capacity_;
        other.data_ = nullptr;
        other.size_ = other.capacity_ = 0;
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
    // Wipes the bytes (OPENSSL_cleanse), then returns the block to the arena, which stays locked.
    OPENSSL_secure_clear_free(data_, capacity_);
    data_ = nullptr;
    size_ = capacity_ = 0;
}

}  // namespace keybridge::core
