#include "store/vault/secure_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/hash.h"

namespace keybridge::vault {
namespace {

using core::ErrorCode;
using core::fail;

core::Error os_error(const std::string& what, const std::string& path, int err) {
    return core::Error{ErrorCode::IoError, what + " " + path + ": " + std::strerror(err)};
}

// Closes a descriptor on scope exit.
class FdGuard {
  public:
    explicit FdGuard(int fd) : fd_(fd) {}
    ~FdGuard() {
        if (fd_ >= 0) ::close(fd_);
    }
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

std::string parent_of(const std::string& path) {
    std::filesystem::path p(path);
    auto parent = p.parent_path();
    return parent.empty() ? "." : parent.string();
}

core::Status write_all(int fd, core::ByteView content, const std::string& path) {
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(os_error("cannot write", path, errno));
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

}  // namespace

core::Status ensure_private_dir(const std::string& path) {
    std::error_code ec;
    std::filesystem::path p(path);
    if (!p.parent_path().empty() && !std::filesystem::exists(p.parent_path(), ec)) {
        // Parents we create are private too: they may be the data folder itself.
        KEYBRIDGE_TRY_STATUS(ensure_private_dir(p.parent_path().string()));
    }
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail(os_error("cannot create folder", path, errno));
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return fail(os_error("cannot stat", path, errno));
    if (!S_ISDIR(st.st_mode)) {
        return fail(ErrorCode::IoError, path + " exists and is not a folder");
    }
    if (st.st_uid != ::geteuid()) {
        return fail(ErrorCode::IoError, path + " is owned by another user; refusing to use it");
    }
    if ((st.st_mode & 0077) != 0 && ::chmod(path.c_str(), 0700) != 0) {
        return fail(os_error("cannot restrict permissions of", path, errno));
    }
    return {};
}

core::Status fsync_dir(const std::string& path) {
    FdGuard fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return fail(os_error("cannot open folder", path, errno));
    if (::fsync(fd.get()) != 0) return fail(os_error("cannot fsync folder", path, errno));
    return {};
}

core::Status write_file_atomic(const std::string& path, core::ByteView content) {
    // A random suffix keeps concurrent writers (and leftovers of a crashed one) apart.
    std::array<std::uint8_t, 8> nonce{};
    KEYBRIDGE_TRY_STATUS(core::random_bytes(nonce));
    const std::string tmp = path + ".tmp-" + core::hex_encode(nonce, false);

    FdGuard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return fail(os_error("cannot create", tmp, errno));
    auto written = write_all(fd.get(), content, tmp);
    if (written && ::fsync(fd.get()) != 0) written = fail(os_error("cannot fsync", tmp, errno));
    const int raw_fd = fd.release();
    if (::close(raw_fd) != 0 && written) written = fail(os_error("cannot close", tmp, errno));
    if (!written) {
        ::unlink(tmp.c_str());
        return written;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return fail(os_error("cannot rename into", path, err));
    }
    return fsync_dir(parent_of(path));
}

core::Result<std::string> read_file(const std::string& path, std::size_t max_size) {
    FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return fail(os_error("cannot open", path, errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(os_error("cannot stat", path, errno));
    if (static_cast<std::size_t>(st.st_size) > max_size) {
        return fail(ErrorCode::IoError, path + " is larger than " + std::to_string(max_size) +
                                            " bytes; refusing to read it");
    }
    std::string out;
    char buffer[8192];
    while (true) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(os_error("cannot read", path, errno));
        }
        if (n == 0) break;
        if (out.size() + static_cast<std::size_t>(n) > max_size) {
            return fail(ErrorCode::IoError, path + " grew beyond the size limit while reading");
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

core::Status hard_link(const std::string& target, const std::string& link) {
    if (::link(target.c_str(), link.c_str()) != 0) {
        return fail(os_error("cannot link " + target + " as", link, errno));
    }
    return {};
}

core::Status remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return fail(ErrorCode::IoError, "cannot remove " + path + ": " + ec.message());
    return {};
}

constexpr std::size_t kMaxSecretFile = 64 * 1024;

core::Result<core::SecretBuffer> read_secret_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return core::fail(core::ErrorCode::IoError,
                          "cannot open " + path + ": " + std::strerror(errno));
    // Exactly 64 KiB, a block of the secure heap (one byte more would take a 128 KiB block);
    // the byte past the limit is read into `probe` to tell a too-large file.
    core::SecretBuffer buffer(kMaxSecretFile);
    std::uint8_t probe = 0;
    core::ScopedWipe wipe_probe(probe);
    std::size_t used = 0;
    while (used <= buffer.size()) {
        std::uint8_t* into = used < buffer.size() ? buffer.data() + used : &probe;
        const std::size_t room = used < buffer.size() ? buffer.size() - used : 1;
        ssize_t n = ::read(fd, into, room);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return core::fail(core::ErrorCode::IoError,
                              "cannot read " + path + ": " + std::strerror(err));
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (used > kMaxSecretFile)
        return core::fail(core::ErrorCode::OutOfRange, path + " is larger than 64 KiB");
    if (used > 0 && buffer.data()[used - 1] == '\n') --used;
    if (used > 0 && buffer.data()[used - 1] == '\r') --used;
    buffer.truncate(used);
    return buffer;
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace keybridge::vault
