#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <string_view>

#include "core/bytes.h"

namespace keybridge::core {

// The locked arena every SecretBuffer comes from: OpenSSL's secure heap, one mmap()ed region
// that is mlock()ed (and excluded from core dumps) as a whole at start and never unlocked while
// the process runs, so freeing one secret cannot unlock a page another secret still uses (which
// per-buffer mlock/munlock did). Allocations are rounded up to a power of two, at least
// kSecureHeapMinBlock bytes, and wiped on release.
inline constexpr std::size_t kSecureHeapMinBlock = 32;
// Enough for the largest working set of either program (figures in docs/ARCHITECTURE.md,
// "Secrets"): the daemon holds 32 bytes per account key plus the 64-byte seed, so 1 MiB leaves
// room for ~25,000 accounts next to an unlock's transient buffers; the tool's largest single
// buffer is 64 KiB (a secret file or prompt).
inline constexpr std::size_t kDefaultSecureHeapSize = std::size_t{1} << 20;

enum class SecureHeapState {
    Locked,    // the arena exists and is mlock()ed
    Unlocked,  // the arena exists (secrets still come from it and are wiped) but mlock()
               // failed, typically RLIMIT_MEMLOCK below the arena size: pages may be swapped
    Failed,    // no arena (mmap failed, or another size was already set up): no secret can be
               // allocated, every SecretBuffer allocation throws SecureMemoryExhausted
};

struct SecureHeapStatus {
    SecureHeapState state = SecureHeapState::Failed;
    std::size_t size = 0;  // arena bytes
};

// Sets up the arena (size: a power of two). Call once at start, before any secret exists; a
// later call returns the status of the arena already set up. Without an explicit call the first
// SecretBuffer sets up kDefaultSecureHeapSize. Thread-safe.
SecureHeapStatus init_secure_heap(std::size_t size = kDefaultSecureHeapSize);
// The arena's status (initialising it with the default size if nothing did yet).
SecureHeapStatus secure_heap_status();
// Bytes of the arena in use now (rounded block sizes).
std::size_t secure_heap_used();
// True when p points into the arena.
bool in_secure_heap(const void* p);

// Thrown by SecretBuffer when the arena cannot hold a new secret (full, or absent). Secrets never
// fall back to ordinary memory. Derives from std::bad_alloc: it is the same condition as
// `new` failing, and reaches the same handlers (the RPC dispatcher's catch-all, the tool's main).
class SecureMemoryExhausted : public std::bad_alloc {
  public:
    const char* what() const noexcept override {
        return "the locked memory arena for secrets is full (or could not be set up)";
    }
};

// Overwrites memory in a way the optimiser cannot remove.
void secure_wipe(void* data, std::size_t size);

// Overwrites the 16 KiB of stack below the caller's frame: call it right after a library call
// that took a secret (libsecp256k1 signing, key tweaks) and may have left copies in its locals,
// which nobody wipes and the next deeper call might not overwrite.
void wipe_stack();

// Constant-time equality of two equal-length byte ranges (false when lengths differ).
bool constant_time_equal(ByteView a, ByteView b);

// Holds a secret (key, seed, mnemonic, password, decrypted keystore bytes). Move-only; the bytes
// live in the secure heap above (throws SecureMemoryExhausted when it is full) and are wiped on
// destruction. There is deliberately no stream operator; to_string() of a secret is
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
