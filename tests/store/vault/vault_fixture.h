#pragma once

// Helpers shared by the vault tests: a private temp folder per test, file modes, and a byte-exact
// picture of a vault folder (to prove that a failed call changed nothing).

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/secret_buffer.h"
#include "store/vault/vault.h"

namespace keybridge::vault::test {

// The Trezor test phrase; its first BIP44 account is kAllFirstAddress.
inline constexpr std::string_view kAllPhrase = "all all all all all all all all all all all all";
inline constexpr std::string_view kAllFirstAddress = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8";
inline constexpr std::string_view kAbandonPhrase =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "about";

inline core::SecretBuffer secret(std::string_view text) {
    return core::SecretBuffer::copy_of(text);
}

// mkdtemp under /tmp, removed (with everything in it) on destruction.
class TempDir {
  public:
    TempDir() {
        char pattern[] = "/tmp/keybridge-vault-test-XXXXXX";
        const char* made = ::mkdtemp(pattern);
        if (made == nullptr) {
            ADD_FAILURE() << "mkdtemp failed";
            return;
        }
        path_ = made;
    }
    ~TempDir() {
        if (path_.empty()) return;
        std::error_code ec;
        // Tests may have made folders unreadable; give them back before removing.
        for (auto it = std::filesystem::recursive_directory_iterator(
                 path_, std::filesystem::directory_options::skip_permission_denied, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            if (it->is_directory(ec)) ::chmod(it->path().c_str(), 0700);
        }
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Sets the process umask for the scope (modes must not depend on the caller's umask).
class ScopedUmask {
  public:
    explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
    ~ScopedUmask() { ::umask(old_); }
    ScopedUmask(const ScopedUmask&) = delete;
    ScopedUmask& operator=(const ScopedUmask&) = delete;

  private:
    mode_t old_;
};

inline mode_t mode_of(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        ADD_FAILURE() << "cannot stat " << path;
        return 0;
    }
    return st.st_mode & 07777;
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

inline void write_text(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    out << text;
}

// Every entry below root (relative paths, sorted), folders marked with a trailing '/'.
inline std::vector<std::string> list_tree(const std::string& root) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::string rel = std::filesystem::relative(it->path(), root).string();
        if (it->is_directory()) rel += "/";
        out.push_back(rel);
    }
    EXPECT_FALSE(ec) << "cannot list " << root << ": " << ec.message();
    std::sort(out.begin(), out.end());
    return out;
}

// Relative path -> content of every regular file below root; folders map to "<dir>".
inline std::map<std::string, std::string> tree_contents(const std::string& root) {
    std::map<std::string, std::string> out;
    for (const std::string& rel : list_tree(root)) {
        out[rel] = rel.back() == '/' ? "<dir>" : read_text(root + "/" + rel);
    }
    return out;
}

// Checks the private-mode rule: the datadir and every folder below it 0700, every file 0600.
inline void expect_private_modes(const std::string& datadir) {
    EXPECT_EQ(mode_of(datadir), 0700u) << datadir;
    std::size_t files = 0;
    for (const std::string& rel : list_tree(datadir)) {
        const std::string full = datadir + "/" + rel;
        if (rel.back() == '/') {
            EXPECT_EQ(mode_of(full), 0700u) << full;
        } else {
            EXPECT_EQ(mode_of(full), 0600u) << full;
            ++files;
        }
    }
    EXPECT_GE(files, 4u) << "LOCK, CURRENT, vault.json and seed.json at least";
}

inline std::string live_generation_path(const std::string& datadir) {
    std::string name = read_text(datadir + "/vault/CURRENT");
    while (!name.empty() && name.back() == '\n')
        name.pop_back();
    return datadir + "/vault/" + name;
}

// A vault of the given phrase with light scrypt.
inline core::Result<Vault> create_light(const std::string& datadir,
                                        const core::SecretBuffer& password,
                                        std::string_view phrase = kAllPhrase) {
    return Vault::create(datadir, phrase, "", password, KdfStrength::Light);
}

// The error of a failed Result, for assertion messages ("ok" when it succeeded).
template <typename T>
std::string describe(const core::Result<T>& result) {
    return result ? std::string("ok") : result.error().to_string();
}

}  // namespace keybridge::vault::test
