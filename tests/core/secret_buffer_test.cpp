#include "core/secret_buffer.h"

#include <gtest/gtest.h>

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

TEST(SecureWipe, ZeroesMemory) {
    std::array<std::uint8_t, 16> key;
    key.fill(0xaa);
    secure_wipe(key.data(), key.size());
    for (auto b : key)
        EXPECT_EQ(b, 0);
}

}  // namespace
}  // namespace keybridge::core
