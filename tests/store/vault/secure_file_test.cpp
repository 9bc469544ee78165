#include "store/vault/secure_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "store/vault/vault_fixture.h"

namespace keybridge::vault {
namespace {

using core::ErrorCode;
using namespace test;  // NOLINT: the fixture helpers

class SecureFileTest : public ::testing::Test {
  protected:
    std::string at(const std::string& rel) const { return tmp_.path() + "/" + rel; }
    TempDir tmp_;
};

TEST_F(SecureFileTest, WriteFileAtomicCreatesA0600File) {
    ScopedUmask permissive(0);
    ASSERT_TRUE(write_file_atomic(at("a.json"), std::string_view("hello")));
    EXPECT_EQ(read_text(at("a.json")), "hello");
    EXPECT_EQ(mode_of(at("a.json")), 0600u);
    EXPECT_EQ(list_tree(tmp_.path()), std::vector<std::string>{"a.json"}) << "no temp file left";

    // Replacing a file someone made world-readable gives a private file again.
    write_text(at("loose"), "old");
    ASSERT_EQ(::chmod(at("loose").c_str(), 0644), 0);
    ASSERT_TRUE(write_file_atomic(at("loose"), std::string_view("new")));
    EXPECT_EQ(mode_of(at("loose")), 0600u);
    EXPECT_EQ(read_text(at("loose")), "new");

    // Empty and binary contents round-trip exactly.
    ASSERT_TRUE(write_file_atomic(at("empty"), std::string_view()));
    EXPECT_EQ(read_text(at("empty")), "");
    const std::string binary("\x00\xff\n\r\x01", 5);
    ASSERT_TRUE(write_file_atomic(at("binary"), core::as_bytes(binary)));
    EXPECT_EQ(read_text(at("binary")), binary);
}

TEST_F(SecureFileTest, WriteFileAtomicReplacesTheFileNotItsContents) {
    ASSERT_TRUE(write_file_atomic(at("f"), std::string_view("first version")));
    // A reader that opened the old file keeps seeing the old bytes: the new content is a new
    // inode renamed into place, never written into the old one.
    const int fd = ::open(at("f").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(write_file_atomic(at("f"), std::string_view("second, longer version")));
    char buffer[64] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, 0);
    ::close(fd);
    EXPECT_EQ(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0), "first version");
    EXPECT_EQ(read_text(at("f")), "second, longer version");
    EXPECT_EQ(list_tree(tmp_.path()), std::vector<std::string>{"f"});
}

TEST_F(SecureFileTest, ConcurrentReadersSeeOneWholeVersionOrTheOther) {
    // A child rewrites the file with two large, different contents as fast as it can; the parent
    // reads it many times and must always get exactly one of the two.
    const std::string a(256 * 1024, 'a');
    const std::string b(300 * 1024, 'b');
    ASSERT_TRUE(write_file_atomic(at("f"), a));
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        for (int i = 0;; ++i) {
            if (!write_file_atomic(at("f"), (i % 2) ? a : b)) ::_exit(3);
        }
    }
    int reads = 0, saw_a = 0, saw_b = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
    while (std::chrono::steady_clock::now() < deadline) {
        auto text = read_file(at("f"));
        ASSERT_TRUE(text) << describe(text);
        ++reads;
        if (*text == a) {
            ++saw_a;
        } else if (*text == b) {
            ++saw_b;
        } else {
            ADD_FAILURE() << "read a mixed or partial file of " << text->size() << " bytes";
            break;
        }
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the writer failed with status " << status;
    EXPECT_GT(reads, 10);
    EXPECT_GT(saw_a + saw_b, 0);
}

TEST_F(SecureFileTest, WriteFileAtomicErrorsNameThePath) {
    auto missing = write_file_atomic(at("no/such/folder/f"), std::string_view("x"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::IoError);
    EXPECT_NE(missing.error().detail.find(at("no/such/folder/f")), std::string::npos)
        << missing.error().detail;

    // Over a folder: the rename fails, and the temp file is cleaned up.
    ASSERT_EQ(::mkdir(at("dir").c_str(), 0700), 0);
    write_text(at("dir/inside"), "x");
    auto over_dir = write_file_atomic(at("dir"), std::string_view("x"));
    ASSERT_FALSE(over_dir);
    EXPECT_EQ(over_dir.error().code, ErrorCode::IoError);
    EXPECT_NE(over_dir.error().detail.find(at("dir")), std::string::npos);
    EXPECT_EQ(list_tree(tmp_.path()), (std::vector<std::string>{"dir/", "dir/inside"}));
}

TEST_F(SecureFileTest, ReadFileEnforcesTheSizeLimit) {
    write_text(at("f"), std::string(100, 'x'));
    auto exact = read_file(at("f"), 100);
    ASSERT_TRUE(exact) << describe(exact);
    EXPECT_EQ(exact->size(), 100u);
    auto over = read_file(at("f"), 99);
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, ErrorCode::IoError);
    EXPECT_NE(over.error().detail.find(at("f")), std::string::npos);
    EXPECT_NE(over.error().detail.find("99"), std::string::npos) << over.error().detail;

    write_text(at("empty"), "");
    auto empty = read_file(at("empty"), 0);
    ASSERT_TRUE(empty) << describe(empty);
    EXPECT_TRUE(empty->empty());

    // Larger than one internal read buffer.
    const std::string big(100'000, 'z');
    write_text(at("big"), big);
    auto whole = read_file(at("big"));
    ASSERT_TRUE(whole);
    EXPECT_EQ(*whole, big);

    auto missing = read_file(at("missing"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::IoError);
    EXPECT_NE(missing.error().detail.find(at("missing")), std::string::npos);

    auto folder = read_file(tmp_.path());
    ASSERT_FALSE(folder);
    EXPECT_EQ(folder.error().code, ErrorCode::IoError);
}

TEST_F(SecureFileTest, EnsurePrivateDirCreatesParentsWith0700) {
    ScopedUmask permissive(0);
    ASSERT_TRUE(ensure_private_dir(at("a/b/c")));
    EXPECT_EQ(mode_of(at("a")), 0700u);
    EXPECT_EQ(mode_of(at("a/b")), 0700u);
    EXPECT_EQ(mode_of(at("a/b/c")), 0700u);
    // Idempotent, also with a trailing slash.
    ASSERT_TRUE(ensure_private_dir(at("a/b/c")));
    ASSERT_TRUE(ensure_private_dir(at("a/b/c/")));
    ASSERT_TRUE(ensure_private_dir(at("x/y/")));
    EXPECT_EQ(mode_of(at("x/y")), 0700u);
}

TEST_F(SecureFileTest, EnsurePrivateDirTightensALooseFolder) {
    ASSERT_EQ(::mkdir(at("loose").c_str(), 0700), 0);
    ASSERT_EQ(::chmod(at("loose").c_str(), 0755), 0);
    ASSERT_TRUE(ensure_private_dir(at("loose")));
    EXPECT_EQ(mode_of(at("loose")), 0700u);
    ASSERT_EQ(::chmod(at("loose").c_str(), 0701), 0);
    ASSERT_TRUE(ensure_private_dir(at("loose")));
    EXPECT_EQ(mode_of(at("loose")), 0700u);
}

TEST_F(SecureFileTest, EnsurePrivateDirRefusesFiles) {
    write_text(at("file"), "x");
    auto is_file = ensure_private_dir(at("file"));
    ASSERT_FALSE(is_file);
    EXPECT_EQ(is_file.error().code, ErrorCode::IoError);
    EXPECT_NE(is_file.error().detail.find(at("file")), std::string::npos);
    EXPECT_NE(is_file.error().detail.find("not a folder"), std::string::npos)
        << is_file.error().detail;

    auto under_file = ensure_private_dir(at("file/sub"));
    ASSERT_FALSE(under_file);
    EXPECT_EQ(under_file.error().code, ErrorCode::IoError);
    EXPECT_EQ(read_text(at("file")), "x");
}

TEST_F(SecureFileTest, FsyncDirOfAMissingFolderIsAnError) {
    EXPECT_TRUE(fsync_dir(tmp_.path()));
    auto missing = fsync_dir(at("missing"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::IoError);
    EXPECT_NE(missing.error().detail.find(at("missing")), std::string::npos);
    write_text(at("file"), "x");
    auto file = fsync_dir(at("file"));
    ASSERT_FALSE(file);
    EXPECT_EQ(file.error().code, ErrorCode::IoError);
}

TEST_F(SecureFileTest, HardLinkRemoveTreeAndPathExists) {
    write_text(at("target"), "shared");
    ASSERT_TRUE(hard_link(at("target"), at("link")));
    EXPECT_EQ(read_text(at("link")), "shared");
    auto again = hard_link(at("target"), at("link"));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::IoError);
    auto missing = hard_link(at("nothing"), at("link2"));
    ASSERT_FALSE(missing);
    EXPECT_FALSE(path_exists(at("link2")));

    ASSERT_TRUE(ensure_private_dir(at("tree/a/b")));
    write_text(at("tree/a/b/f"), "x");
    EXPECT_TRUE(path_exists(at("tree/a/b/f")));
    ASSERT_TRUE(remove_tree(at("tree")));
    EXPECT_FALSE(path_exists(at("tree")));
    EXPECT_TRUE(remove_tree(at("tree"))) << "missing is not an error";

    ASSERT_EQ(::symlink(at("nowhere").c_str(), at("dangling").c_str()), 0);
    EXPECT_TRUE(path_exists(at("dangling"))) << "the link itself exists";
}

}  // namespace
}  // namespace keybridge::vault
