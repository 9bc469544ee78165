#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/address.h"
#include "core/bytes.h"
#include "core/result.h"
#include "daemon/approvals/approval.h"

namespace keybridge::daemon::approvals {

// When audit.log is rotated (--audit-max-size, --audit-keep).
struct AuditRotation {
    std::uint64_t max_bytes = std::uint64_t{16} << 20;
    unsigned keep = 4;  // audit.log.1 … audit.log.4
};

// Append-only JSON lines in <datadir>/audit.log (0600): time, origin, method, account, chain,
// decision, who decided (user, policy rule, timeout) and the keccak digest of what was signed.
// Never a secret, never a whole payload. Each line is one write() on an O_APPEND descriptor, so
// lines never interleave and a daemon crash loses none (the kernel holds them). The write() runs
// outside the lock (network threads writing at once do not wait for each other's system call);
// the lock covers the bookkeeping only: which file, its size, the rotation. fdatasync runs
// from sync(), which the server calls every second (on its blocking-work thread, never a network
// thread) and at shutdown: one per request would cost a disk flush per signature. sync() holds no
// lock while the disk flushes, so record() never waits for it. Thread-safe.
//
// Rotation: once audit.log holds `max_bytes` or more, it becomes audit.log.1 (audit.log.1 becomes
// audit.log.2, …; audit.log.`keep` is dropped) and a new audit.log is started. Every file ends
// with a whole line: the line that crosses the threshold stays in the old file, and so do lines
// written while the rotation runs; the new file gets the lines after the swap. The renames and the
// fdatasync of the old file run on the rotation runner (the server's blocking-work thread);
// record() only swaps descriptors under its lock, and the rotation flushes the retired file once
// the lines being written to it have landed (File::writers). A crash at any point loses no line:
// before the swap every line is in the file now called audit.log or audit.log.1; at the next start
// a missing audit.log is created again and a leftover audit.log.next (the new file, empty until the
// swap) is removed.
class AuditLog {
  public:
    using Rotation = AuditRotation;
    // Runs a job off the calling thread; an empty runner rotates inline in record().
    using Runner = std::function<void(std::function<void()>)>;

    [[nodiscard]] static core::Result<AuditLog> open(const std::string& datadir,
                                                     Rotation rotation = {}, Runner runner = {});
    AuditLog(AuditLog&& other) noexcept;
    AuditLog& operator=(AuditLog&&) = delete;
    AuditLog(const AuditLog&) = delete;
    ~AuditLog();

    void record(const ApprovalRequest& request, std::string_view decision,
                std::string_view decided_by,
                const std::optional<core::Hash32>& signed_digest = std::nullopt);

    void sync();
    // The last `limit` decisions recorded in audit.log (those before its last rotation are not
    // read), newest first, each the line's object. Reads at most the file's last 256 KiB, without
    // holding the lock record() takes. IoError when the file cannot be read.
    [[nodiscard]] core::Result<std::vector<boost::json::object>> recent(std::size_t limit) const;
    const std::string& path() const { return path_; }

    // The addresses the user's signed transactions on `chain_id` dealt with (their recipients,
    // spenders and operators: ApprovalRequest::counterparties, written to each "signed" line as
    // "counterparties"), read from audit.log and its rotated files at open and kept up to date
    // by record(). Insight counts them as addresses the user has interacted with. At most
    // kMaxCounterparties per chain (the oldest kept). Thread-safe.
    static constexpr std::size_t kMaxCounterparties = 4096;
    std::vector<core::Address> counterparties(std::uint64_t chain_id) const;
    // "<path>.N": the Nth most recent rotated file.
    std::string rotated_path(unsigned n) const { return path_ + "." + std::to_string(n); }

  private:
    // Owns a descriptor; shared so that sync() can flush a file that rotate() just retired.
    struct File {
        int fd = -1;
        // record() calls writing to this file outside the lock: counted up under the lock,
        // down after the write(). A rotation waits for zero before it flushes and lets go of it.
        std::atomic<unsigned> writers{0};
        ~File();
    };

    struct History {
        mutable std::mutex mutex;
        std::map<std::uint64_t, std::vector<core::Address>> by_chain;
        void add(std::uint64_t chain_id, const core::Address& address);
    };

    AuditLog() = default;
    void load_history();
    void rotate();
    void shift_rotated_files() const;

    std::string datadir_;
    std::string path_;
    Rotation rotation_;
    Runner runner_;
    std::shared_ptr<File> file_;
    std::uint64_t size_ = 0;                    // bytes in the current audit.log
    bool rotation_pending_ = false;             // a rotation is queued or running
    std::atomic<bool> dirty_{false};            // written since the last sync()
    std::optional<core::Address> checksum_of_;  // the account checksum_ spells
    std::string checksum_;
    std::shared_ptr<History> history_ = std::make_shared<History>();
    std::mutex mutex_;
};

}  // namespace keybridge::daemon::approvals
