#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "core/address.h"
#include "core/bytes.h"
#include "core/result.h"
#include "daemon/approvals/approval.h"

namespace keybridge::daemon::approvals {

// Append-only JSON lines in <datadir>/audit.log (0600): time, origin, method, account, chain,
// decision, who decided (user, policy rule, timeout) and the keccak digest of what was signed.
// Never a secret, never a whole payload. Each line is one write() on an O_APPEND descriptor, so
// lines never interleave and a daemon crash loses none (the kernel holds them). fdatasync runs
// from sync(), which the server calls every second (on its blocking-work thread, never a network
// thread) and at shutdown: one per request would cost a disk flush per signature. sync() holds no
// lock while the disk flushes, so record() never waits for it. Thread-safe.
class AuditLog {
  public:
    [[nodiscard]] static core::Result<AuditLog> open(const std::string& datadir);
    AuditLog(AuditLog&& other) noexcept;
    AuditLog& operator=(AuditLog&&) = delete;
    AuditLog(const AuditLog&) = delete;
    ~AuditLog();

    void record(const ApprovalRequest& request, std::string_view decision,
                std::string_view decided_by,
                const std::optional<core::Hash32>& signed_digest = std::nullopt);

    void sync();
    const std::string& path() const { return path_; }

  private:
    AuditLog() = default;
    std::string path_;
    int fd_ = -1;
    bool dirty_ = false;                        // written since the last sync()
    std::optional<core::Address> checksum_of_;  // the account checksum_ spells
    std::string checksum_;
    std::mutex mutex_;
};

}  // namespace keybridge::daemon::approvals
