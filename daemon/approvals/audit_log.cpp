#include "daemon/approvals/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <boost/json.hpp>

#include "daemon/log.h"

namespace keybridge::daemon::approvals {

core::Result<AuditLog> AuditLog::open(const std::string& datadir) {
    AuditLog log;
    log.path_ = datadir + "/audit.log";
    log.fd_ =
        ::open(log.path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (log.fd_ < 0) {
        return core::fail(core::ErrorCode::IoError,
                          "cannot open " + log.path_ + ": " + std::strerror(errno));
    }
    return log;
}

AuditLog::AuditLog(AuditLog&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), dirty_(other.dirty_) {
    other.fd_ = -1;
}

AuditLog::~AuditLog() {
    if (fd_ >= 0) ::close(fd_);
}

void AuditLog::record(const ApprovalRequest& r, std::string_view decision,
                      std::string_view decided_by, const std::optional<core::Hash32>& digest) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    // The line is written field by field (the text a boost::json::object of these fields would
    // serialise to, in this order): every signature writes two lines, and building an object
    // for each cost more than the write itself. Client-supplied text goes through the JSON
    // string serialiser, which escapes it.
    std::string text;
    text.reserve(256);
    text.append("{\"time\":\"").append(stamp).append("\",\"id\":").append(std::to_string(r.id));
    text.append(",\"origin\":").append(boost::json::serialize(boost::json::string_view(r.origin)));
    text.append(",\"method\":").append(boost::json::serialize(boost::json::string_view(r.method)));
    std::lock_guard lock(mutex_);
    if (r.account) {
        // Checksumming hashes the address; a client signing again uses the same account.
        if (checksum_of_ != r.account) {
            checksum_of_ = r.account;
            checksum_ = r.account->to_checksum_string();
        }
        text.append(",\"account\":\"").append(checksum_).append("\"");
    }
    text.append(",\"chainId\":").append(std::to_string(r.chain_id));
    text.append(",\"decision\":")
        .append(boost::json::serialize(boost::json::string_view(decision)));
    text.append(",\"decidedBy\":")
        .append(boost::json::serialize(boost::json::string_view(decided_by)));
    if (digest) text.append(",\"digest\":\"").append(core::hex_encode(*digest)).append("\"");
    text.append("}\n");
    if (fd_ < 0) return;
    if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        log::error("approvals",
                   "cannot write the audit log " + path_ + ": " + std::strerror(errno));
    }
    dirty_ = true;
}

void AuditLog::sync() {
    int fd = -1;
    {
        std::lock_guard lock(mutex_);
        if (!dirty_) return;
        dirty_ = false;
        fd = fd_;
    }
    // The flush takes milliseconds; under the lock every signature meanwhile would wait for it.
    // Lines written during it are flushed now or at the next sync (they set dirty_ again).
    // fd_ stays open until the destructor, which runs after the last sync().
    if (fd >= 0) ::fdatasync(fd);
}

}  // namespace keybridge::daemon::approvals
