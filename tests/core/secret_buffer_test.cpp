#include "core/secret_buffer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/crypto.h>

namespace keybridge::core {
namespace {

TEST(SecretBuffer, CopiesAndComparesInConstantTime) {
    auto a = SecretBuffer::copy_of(std::string_view("correct horse"));
    auto b = SecretBuffer::copy_of(std::string_view("correct horse"));
    auto c = SecretBuffer::copy_of(std::string_view("correct horsf"));
    EXPECT_EQ(a.size(), 13u);
    EXPECT_EQ(a.text(), "correct horse");
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a == c);
    EXPECT_FALSE(constant_time_equal(a.view(), ByteView{}));
}

TEST(SecretBuffer, MoveLeavesSourceEmpty) {
    auto a = SecretBuffer::copy_of(std::string_view("seed"));
    SecretBuffer b = std::move(a);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(b.text(), "seed");
}

TEST(SecretBuffer, NeverPrintsItsContents) {
    auto a = SecretBuffer::copy_of(std::string_view("hunter2"));
    EXPECT_EQ(a.to_string(), "<secret 7 bytes>");
}

TEST(SecretBuffer, TruncateWipesTheTail) {
    auto a = SecretBuffer::copy_of(std::string_view("abcdef"));
    const std::uint8_t* raw = a.data();
    a.truncate(2);
    EXPECT_EQ(a.text(), "ab");
    // The wiped bytes are still our allocation, so reading them is defined.
    EXPECT_EQ(raw[2], 0);
    EXPECT_EQ(raw[5], 0);
}

// True when any 8-byte run of `secret` occurs in [p, p + n).
bool holds_part_of(const std::uint8_t* p, std::size_t n, ByteView secret) {
    for (std::size_t at = 0; at + 8 <= secret.size(); ++at) {
        const auto* run = secret.data() + at;
        if (std::search(p, p + n, run, run + 8) != p + n) return true;
    }
    return false;
}

TEST(SecretBuffer, ComesFromTheLockedSecureHeap) {
    auto a = SecretBuffer::copy_of(std::string_view("a private key's 32 bytes, really"));
    ASSERT_NE(secure_heap_status().state, SecureHeapState::Failed);
    EXPECT_EQ(CRYPTO_secure_allocated(a.data()), 1);
    EXPECT_TRUE(in_secure_heap(a.data()));
    SecretBuffer big(4096);
    EXPECT_EQ(CRYPTO_secure_allocated(big.data()), 1);
    // Tests run as root or with the default 8 MiB RLIMIT_MEMLOCK, so the arena is locked.
    EXPECT_EQ(secure_heap_status().state, SecureHeapState::Locked);
    EXPECT_EQ(secure_heap_status().size, kDefaultSecureHeapSize);
}

TEST(SecretBuffer, IsWipedWhenReleased) {
    std::array<std::uint8_t, 64> pattern{};
    for (std::size_t i = 0; i < pattern.size(); ++i)
        pattern[i] = static_cast<std::uint8_t>(0xa0 + i);
    const std::uint8_t* raw = nullptr;
    {
        auto a = SecretBuffer::copy_of(ByteView(pattern));
        raw = a.data();
        ASSERT_TRUE(holds_part_of(raw, pattern.size(), pattern));
    }
    // The block went back to the arena, which stays mapped (and locked): reading it is what an
    // attacker with the process memory could do. The arena's free list may have written its
    // pointers into the first bytes; no run of the secret is left anywhere in the block.
    EXPECT_FALSE(holds_part_of(raw, pattern.size(), pattern));

    auto b = SecretBuffer::copy_of(ByteView(pattern));
    raw = b.data();
    b = SecretBuffer::copy_of(std::string_view("x"));  // move-assignment releases the old block
    EXPECT_FALSE(holds_part_of(raw, pattern.size(), pattern));
}

TEST(SecretBuffer, UsedBytesReturnToTheArena) {
    const std::size_t before = secure_heap_used();
    {
        SecretBuffer a(100);  // rounded up to 128
        EXPECT_EQ(secure_heap_used(), before + 128);
    }
    EXPECT_EQ(secure_heap_used(), before);
}

TEST(SecretBuffer, AFullArenaIsAnErrorNotOrdinaryMemory) {
    // More than the whole arena at once.
    EXPECT_THROW(SecretBuffer(kDefaultSecureHeapSize * 2), SecureMemoryExhausted);
    // Filling it block by block: every buffer handed out is in the arena, then allocation fails.
    std::vector<SecretBuffer> held;
    bool exhausted = false;
    try {
        for (std::size_t i = 0; i < 2 * kDefaultSecureHeapSize / 4096; ++i) {
            held.emplace_back(4096);
            ASSERT_TRUE(in_secure_heap(held.back().data()));
        }
    } catch (const SecureMemoryExhausted&) {
        exhausted = true;
    }
    EXPECT_TRUE(exhausted);
    EXPECT_LE(held.size() * 4096, kDefaultSecureHeapSize);
    held.clear();
    SecretBuffer after(4096);  // space is back
    EXPECT_TRUE(in_secure_heap(after.data()));
}

TEST(SecureHeap, ASecondInitKeepsTheFirstArena) {
    const auto first = secure_heap_status();
    const auto again = init_secure_heap(kDefaultSecureHeapSize * 4);
    EXPECT_EQ(again.state, first.state);
    EXPECT_EQ(again.size, first.size);
}

// The stack test reads a returned callee's frame. AddressSanitizer poisons frames as they are
// laid over that memory, so the copy is taken by a function it does not instrument, into a
// static (this function needs no stack of its own beyond its return address).
std::array<std::uint8_t, 64> g_stack_pattern{};
std::array<std::uint8_t, 64> g_stack_copy{};
const volatile std::uint8_t* g_stack_where = nullptr;

__attribute__((no_sanitize_address, noinline)) void copy_dead_frame() {
    for (std::size_t i = 0; i < g_stack_copy.size(); ++i)
        g_stack_copy[i] = g_stack_where[i];
}

// Leaves the pattern 2 KiB below its caller's frame (local[0] is the frame's lowest address).
[[gnu::noinline]] void leave_pattern_on_stack() {
    volatile std::uint8_t local[2048];
    for (std::size_t i = 0; i < g_stack_pattern.size(); ++i)
        local[i] = g_stack_pattern[i];
    local[2047] = 1;
    // Keeping the address of a dead frame is the point of this test (GCC sees it when the file
    // shares a unity batch with others).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
    g_stack_where = local;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

TEST(WipeStack, OverwritesWhatACalleeLeftBelowTheFrame) {
    for (std::size_t i = 0; i < g_stack_pattern.size(); ++i)
        g_stack_pattern[i] = static_cast<std::uint8_t>(0x5a ^ (i * 7));
    leave_pattern_on_stack();
    copy_dead_frame();
    ASSERT_TRUE(holds_part_of(g_stack_copy.data(), g_stack_copy.size(), g_stack_pattern));
    leave_pattern_on_stack();
    wipe_stack();
    copy_dead_frame();
    EXPECT_FALSE(holds_part_of(g_stack_copy.data(), g_stack_copy.size(), g_stack_pattern));
}

TEST(SecureWipe, ZeroesMemory) {
    std::array<std::uint8_t, 16> key;
    key.fill(0xaa);
    secure_wipe(key.data(), key.size());
    for (auto b : key)
        EXPECT_EQ(b, 0);
}

}  // namespace
}  // namespace keybridge::core
