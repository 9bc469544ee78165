#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
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
// Never a secret, never a whole payload. Each line is written whole by one append (pwritev2 with
// RWF_APPEND, which unlike write() takes no file-position lock) on an O_APPEND
// descriptor (sometimes with the lines before it: HeldLine, and on a network thread the other
// signatures of the event loop's turn, record_then), so lines never interleave and a daemon
// crash loses none that were written (the kernel holds them). A signature's reply is sent only
// after its line was written. The append runs
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
    // When open() reads the counterparty history (counterparties()): at once, or later, when
    // the caller runs load_history() (keybridged does so on a thread of its own once it serves:
    // a large log takes a while to read, docs/ARCHITECTURE.md "Audit history").
    enum class HistoryLoad { AtOpen, Deferred };

    [[nodiscard]] static core::Result<AuditLog> open(const std::string& datadir,
                                                     Rotation rotation = {}, Runner runner = {},
                                                     HistoryLoad load = HistoryLoad::AtOpen);
    AuditLog(AuditLog&& other) noexcept;
    AuditLog& operator=(AuditLog&&) = delete;
    AuditLog(const AuditLog&) = delete;
    ~AuditLog();

    void record(const ApprovalRequest& request, std::string_view decision,
                std::string_view decided_by,
                const std::optional<core::Hash32>& signed_digest = std::nullopt);

    // record(), then `then` once the line is written. On a network thread (turn_end::active())
    // the line waits for the end of the event loop's turn: the lines of all the signatures made
    // in that turn go out in one write, and each `then` (the reply that carries the signature)
    // runs after it. Elsewhere the line is written at once and `then` runs right after. Any
    // other record() on this thread writes the waiting lines first, in order.
    void record_then(const ApprovalRequest& request, std::string_view decision,
                     std::string_view decided_by, const std::optional<core::Hash32>& signed_digest,
                     std::function<void()> then);

    // A line kept back on the constructing thread for as long as the object lives, so that it
    // and the next line this thread records for the same log share one write(): a policy's
    // approval and the signature made inline right after it cost one system call, not two
    // (docs/BENCHMARKS.md). Written by the next record() of this thread for this log (in front
    // of that line), by release() / AuditLog::release_held(), or when it is destroyed, whichever
    // comes first; so a line is never held past the scope that made it, and a reply sent after
    // the signature's line follows both. Never hold a line across a hand-over to another thread
    // that records for the same request (release it first): its line would come first. One per
    // thread: making one writes the thread's earlier held line. Lives on the stack only.
    class HeldLine {
      public:
        HeldLine(AuditLog& log, const ApprovalRequest& request, std::string_view decision,
                 std::string_view decided_by);
        ~HeldLine();
        HeldLine(const HeldLine&) = delete;
        HeldLine& operator=(const HeldLine&) = delete;
        void release();

      private:
        friend class AuditLog;
        AuditLog* log_;
        std::string text_;  // empty once written
        HeldLine* outer_;   // the thread's held line before this one
    };
    // Writes the line this thread holds back for this log, if any.
    void release_held();

    void sync();
    // The last `limit` decisions recorded in audit.log (those before its last rotation are not
    // read), newest first, each the line's object. Reads at most the file's last 256 KiB, without
    // holding the lock record() takes. IoError when the file cannot be read.
    [[nodiscard]] core::Result<std::vector<boost::json::object>> recent(std::size_t limit) const;
    const std::string& path() const { return path_; }

    // The addresses the user's signed transactions on `chain_id` dealt with (their recipients,
    // spenders and operators: ApprovalRequest::counterparties, written to each "signed" line as
    // "counterparties"), read from audit.log and its rotated files (at open, or by
    // load_history()) and kept up to date by record(). Insight counts them as addresses the
    // user has interacted with. At most kMaxCounterparties per chain (the oldest kept).
    // While the history loads, only what record() added since open: check history_loaded()
    // first, and treat the list as incomplete when it says false. Thread-safe.
    static constexpr std::size_t kMaxCounterparties = 4096;
    std::vector<core::Address> counterparties(std::uint64_t chain_id) const;

    // Reads the history of a log opened with HistoryLoad::Deferred: the files as they were at
    // open() (their descriptors were taken then, so a rotation meanwhile changes nothing, and
    // the lines recorded since are not read again), then the counterparties record() added
    // meanwhile are merged after them, each address once. Runs once; later calls, and calls on
    // a log opened with HistoryLoad::AtOpen, return at once. Call it on a thread that may block
    // for a while (it reads up to (keep + 1) × max_bytes). Thread-safe.
    void load_history();
    // Whether counterparties() is complete (always true for HistoryLoad::AtOpen).
    bool history_loaded() const;
    // Calls `ready` once the history is loaded: at once on this thread when it is, otherwise on
    // the thread that finishes load_history(), which must not be blocked by it (post the work
    // on). Thread-safe.
    void when_history_loaded(std::function<void()> ready) const;
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

    // The files a deferred load reads: descriptors taken at open(), and how many of their bytes
    // it reads (audit.log's size then; rotated files whole).
    struct HistorySource {
        int fd = -1;
        std::uint64_t limit = 0;
    };
    using CounterpartyMap = std::map<std::uint64_t, std::vector<core::Address>>;

    struct History {
        mutable std::mutex mutex;
        CounterpartyMap by_chain;
        // Set under the mutex; read without it on every signature (history_loaded()).
        std::atomic<bool> loaded{true};
        bool loading = false;  // load_history() runs
        std::vector<HistorySource> sources;
        mutable std::vector<std::function<void()>> waiters;
        ~History();
        void add(std::uint64_t chain_id, const core::Address& address);
    };

    AuditLog() = default;
    static std::string format_line(const ApprovalRequest& r, std::string_view decision,
                                   std::string_view decided_by,
                                   const std::optional<core::Hash32>& digest);
    // The line as record() writes it: the thread's held line for this log in front.
    std::string line_for(const ApprovalRequest& r, std::string_view decision,
                         std::string_view decided_by, const std::optional<core::Hash32>& digest);
    // Appends `text` after the lines this thread gathered for the end of the turn (if any).
    void write_now(std::string text);
    void append(std::string_view text);  // one write(); rotates when the file is full
    void open_history_sources();
    void rotate();
    void shift_rotated_files() const;

    std::string datadir_;
    std::string path_;
    Rotation rotation_;
    Runner runner_;
    std::shared_ptr<File> file_;
    std::uint64_t size_ = 0;          // bytes in the current audit.log
    bool rotation_pending_ = false;   // a rotation is queued or running
    std::atomic<bool> dirty_{false};  // written since the last sync()
    std::shared_ptr<History> history_ = std::make_shared<History>();
    std::mutex mutex_;
};

}  // namespace keybridge::daemon::approvals
