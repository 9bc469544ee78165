#include "daemon/approvals/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "daemon/log.h"
#include "daemon/turn_end.h"

namespace keybridge::daemon::approvals {

namespace {

int open_for_append(const std::string& path, int extra_flags) {
    return ::open(path.c_str(),
                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | extra_flags, 0600);
}

// Makes renames in the folder durable (the new names survive a power loss).
void sync_folder(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

AuditLog::File::~File() {
    if (fd >= 0) ::close(fd);
}

core::Result<AuditLog> AuditLog::open(const std::string& datadir, Rotation rotation, Runner runner,
                                      HistoryLoad load) {
    AuditLog log;
    log.datadir_ = datadir;
    log.path_ = datadir + "/audit.log";
    log.rotation_ = rotation;
    log.runner_ = std::move(runner);
    // Only a rotation that stopped between its two renames leaves this behind, and nothing was
    // ever written to it then (lines go to a new file only after the second rename).
    ::unlink((log.path_ + ".next").c_str());
    log.file_ = std::make_shared<File>();
    log.file_->fd = open_for_append(log.path_, 0);
    if (log.file_->fd < 0) {
        return core::fail(core::ErrorCode::IoError,
                          "cannot open " + log.path_ + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(log.file_->fd, &st) == 0) log.size_ = static_cast<std::uint64_t>(st.st_size);
    log.history_->loaded = false;
    log.open_history_sources();
    if (load == HistoryLoad::AtOpen) log.load_history();
    return log;
}

namespace {

void add_counterparty(std::map<std::uint64_t, std::vector<core::Address>>& map,
                      std::uint64_t chain_id, const core::Address& address) {
    auto& list = map[chain_id];
    if (list.size() >= AuditLog::kMaxCounterparties) return;
    if (std::find(list.begin(), list.end(), address) == list.end()) list.push_back(address);
}

// One line of the log: a "signed" line's counterparties go into `map`. The other lines are
// skipped without parsing.
void read_history_line(std::string_view line,
                       std::map<std::uint64_t, std::vector<core::Address>>& map) {
    if (line.find("\"counterparties\"") == std::string_view::npos) return;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) return;
    const boost::json::object& o = v.as_object();
    const boost::json::value* chain = o.if_contains("chainId");
    const boost::json::value* list = o.if_contains("counterparties");
    if (chain == nullptr || !chain->is_number() || list == nullptr || !list->is_array()) return;
    boost::system::error_code number_ec;
    const auto chain_id = chain->to_number<std::uint64_t>(number_ec);
    if (number_ec) return;
    for (const boost::json::value& item : list->as_array()) {
        if (!item.is_string()) continue;
        if (auto a = core::Address::parse(std::string_view(item.as_string())))
            add_counterparty(map, chain_id, *a);
    }
}

// The first `limit` bytes of the file behind `fd`, line by line (a last line without its
// newline included).
void read_history_file(int fd, std::uint64_t limit,
                       std::map<std::uint64_t, std::vector<core::Address>>& map) {
    constexpr std::size_t kChunk = 1 << 20;
    std::string buffer;
    std::vector<char> chunk(kChunk);
    std::uint64_t offset = 0;
    while (offset < limit) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, limit - offset));
        const ssize_t n = ::pread(fd, chunk.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        offset += static_cast<std::uint64_t>(n);
        buffer.append(chunk.data(), static_cast<std::size_t>(n));
        std::size_t from = 0;
        for (std::size_t nl = buffer.find('\n'); nl != std::string::npos;
             nl = buffer.find('\n', from)) {
            read_history_line(std::string_view(buffer).substr(from, nl - from), map);
            from = nl + 1;
        }
        buffer.erase(0, from);
    }
    if (!buffer.empty()) read_history_line(buffer, map);
}

}  // namespace

AuditLog::History::~History() {
    for (const HistorySource& source : sources)
        if (source.fd >= 0) ::close(source.fd);
}

void AuditLog::History::add(std::uint64_t chain_id, const core::Address& address) {
    std::lock_guard lock(mutex);
    add_counterparty(by_chain, chain_id, address);
}

void AuditLog::open_history_sources() {
    // Oldest file first; audit.log last, read only as far as it reached now: the lines written
    // after this come to the history through record().
    for (unsigned n = rotation_.keep + 1; n-- > 0;) {
        const std::string path = n == 0 ? path_ : rotated_path(n);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) continue;
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            continue;
        }
        const std::uint64_t limit = n == 0 ? size_ : static_cast<std::uint64_t>(st.st_size);
        history_->sources.push_back(HistorySource{fd, limit});
    }
}

void AuditLog::load_history() {
    std::vector<HistorySource> sources;
    {
        std::lock_guard lock(history_->mutex);
        if (history_->loaded || history_->loading) return;
        history_->loading = true;
        sources = std::move(history_->sources);
        history_->sources.clear();
    }
    // Read without the lock: record() and counterparties() go on meanwhile.
    CounterpartyMap from_files;
    for (const HistorySource& source : sources) {
        read_history_file(source.fd, source.limit, from_files);
        ::close(source.fd);
    }
    std::vector<std::function<void()>> waiters;
    {
        std::lock_guard lock(history_->mutex);
        // What record() added while the files were read is younger than all of them: after
        // them, each address once, within the limit.
        for (const auto& [chain_id, list] : history_->by_chain)
            for (const core::Address& address : list)
                add_counterparty(from_files, chain_id, address);
        history_->by_chain = std::move(from_files);
        history_->loaded = true;
        history_->loading = false;
        waiters = std::move(history_->waiters);
        history_->waiters.clear();
    }
    for (auto& ready : waiters)
        ready();
}

bool AuditLog::history_loaded() const {
    return history_->loaded.load(std::memory_order_acquire);
}

void AuditLog::when_history_loaded(std::function<void()> ready) const {
    {
        std::lock_guard lock(history_->mutex);
        if (!history_->loaded) {
            history_->waiters.push_back(std::move(ready));
            return;
        }
    }
    ready();
}

std::vector<core::Address> AuditLog::counterparties(std::uint64_t chain_id) const {
    std::lock_guard lock(history_->mutex);
    auto it = history_->by_chain.find(chain_id);
    return it == history_->by_chain.end() ? std::vector<core::Address>{} : it->second;
}

AuditLog::AuditLog(AuditLog&& other) noexcept
    : datadir_(std::move(other.datadir_)),
      path_(std::move(other.path_)),
      rotation_(other.rotation_),
      runner_(std::move(other.runner_)),
      file_(std::move(other.file_)),
      size_(other.size_),
      rotation_pending_(other.rotation_pending_),
      dirty_(other.dirty_.load()),
      history_(std::move(other.history_)) {}

namespace {
// The line a HeldLine keeps back on this thread (at most one at a time, see audit_log.h).
thread_local AuditLog::HeldLine* t_held = nullptr;

void append_number(std::string& out, std::uint64_t value) {
    char digits[24];
    const char* end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
}

// The lines record_then() gathered on this thread in this turn of its event loop, for one log.
struct TurnLines {
    AuditLog* log = nullptr;
    std::string text;
};
thread_local TurnLines t_turn;
}  // namespace

AuditLog::~AuditLog() {
    // The end of the turn that would write them must not find a log that is gone.
    if (t_turn.log == this) write_now({});
}

std::string AuditLog::format_line(const ApprovalRequest& r, std::string_view decision,
                                  std::string_view decided_by,
                                  const std::optional<core::Hash32>& digest) {
    // Formatted once a second per thread: every signature writes two lines.
    thread_local std::time_t stamped = -1;
    thread_local char stamp[32];
    const std::time_t now = std::time(nullptr);
    if (now != stamped) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        stamped = now;
    }
    // The line is written field by field (the text a boost::json::object of these fields would
    // serialise to, in this order): every signature writes two lines, and building an object
    // for each cost more than the write itself. Client-supplied text goes through the JSON
    // string serialiser, which escapes it.
    std::string text;
    text.reserve(256);
    text.append("{\"time\":\"").append(stamp).append("\",\"id\":");
    append_number(text, r.id);
    text.append(",\"origin\":");
    core::append_json_string(text, r.origin);
    text.append(",\"method\":");
    core::append_json_string(text, r.method);
    if (r.account) {
        // Checksumming hashes the address; a client signing again uses the same account. Kept
        // per thread: the lock in append() covers only the file's bookkeeping, so that network
        // threads signing at once rarely wait for each other.
        thread_local std::optional<core::Address> checksum_of;
        thread_local std::string checksum;
        if (checksum_of != r.account) {
            checksum_of = r.account;
            checksum = r.account->to_checksum_string();
        }
        text.append(",\"account\":\"").append(checksum).append("\"");
    }
    text.append(",\"chainId\":");
    append_number(text, r.chain_id);
    text.append(",\"decision\":");
    core::append_json_string(text, decision);
    text.append(",\"decidedBy\":");
    core::append_json_string(text, decided_by);
    if (digest) text.append(",\"digest\":\"").append(core::hex_encode(*digest)).append("\"");
    if (decision == "signed" && !r.counterparties.empty()) {
        text.append(",\"counterparties\":[");
        for (std::size_t i = 0; i < r.counterparties.size(); ++i)
            text.append(i ? ",\"" : "\"")
                .append(r.counterparties[i].to_checksum_string())
                .append("\"");
        text.append("]");
    }
    text.append("}\n");
    return text;
}

std::string AuditLog::line_for(const ApprovalRequest& r, std::string_view decision,
                               std::string_view decided_by,
                               const std::optional<core::Hash32>& digest) {
    std::string text = format_line(r, decision, decided_by, digest);
    // The history has its own lock; lines written after open reach it only through here.
    if (decision == "signed")
        for (const core::Address& a : r.counterparties)
            history_->add(r.chain_id, a);
    // A line this thread holds back for this log goes first.
    if (t_held != nullptr && t_held->log_ == this && !t_held->text_.empty())
        text.insert(0, std::exchange(t_held->text_, std::string()));
    return text;
}

void AuditLog::record(const ApprovalRequest& r, std::string_view decision,
                      std::string_view decided_by, const std::optional<core::Hash32>& digest) {
    write_now(line_for(r, decision, decided_by, digest));
}

void AuditLog::record_then(const ApprovalRequest& r, std::string_view decision,
                           std::string_view decided_by, const std::optional<core::Hash32>& digest,
                           std::function<void()> then) {
    std::string text = line_for(r, decision, decided_by, digest);
    if (!turn_end::active()) {
        write_now(std::move(text));
        return then();
    }
    TurnLines& turn = t_turn;
    if (turn.log != this && turn.log != nullptr) turn.log->write_now({});
    turn.log = this;
    if (turn.text.empty()) {
        // The first line of the turn: the write goes before every `then` deferred after it.
        turn_end::defer([this] {
            if (t_turn.log == this) write_now({});
        });
    }
    turn.text.append(text);
    turn_end::defer(std::move(then));
}

void AuditLog::write_now(std::string text) {
    // Lines this thread gathered for the end of the turn go first: the file keeps the order in
    // which the thread recorded them.
    if (t_turn.log == this) {
        t_turn.log = nullptr;
        if (!t_turn.text.empty()) {
            text.insert(0, t_turn.text);
            t_turn.text.clear();  // keeps its storage for the next turn
        }
    }
    if (!text.empty()) append(text);
}

AuditLog::HeldLine::HeldLine(AuditLog& log, const ApprovalRequest& request,
                             std::string_view decision, std::string_view decided_by)
    : log_(&log), text_(format_line(request, decision, decided_by, std::nullopt)), outer_(t_held) {
    // One held line per thread: one held before (a nested scope) is written now, in order.
    if (outer_ != nullptr) outer_->release();
    t_held = this;
}

AuditLog::HeldLine::~HeldLine() {
    release();
    t_held = outer_;
}

void AuditLog::HeldLine::release() {
    if (!text_.empty()) log_->write_now(std::exchange(text_, std::string()));
}

void AuditLog::release_held() {
    if (t_held != nullptr && t_held->log_ == this) t_held->release();
}

void AuditLog::append(std::string_view text) {
    std::unique_lock lock(mutex_);
    if (!file_ || file_->fd < 0) return;
    // The write itself runs outside the lock. The file stays open until it is done: a rotation
    // swapping file_ meanwhile waits for `writers` to reach zero before it flushes and closes it.
    File* file = file_.get();
    file->writers.fetch_add(1, std::memory_order_relaxed);
    size_ += text.size();  // counted before the write: the line that crosses the limit rotates
    const bool rotate_now = size_ >= rotation_.max_bytes && !rotation_pending_;
    if (rotate_now) rotation_pending_ = true;
    lock.unlock();
    // Appended with an offset (RWF_APPEND ignores it), not with write(): a write() takes the
    // descriptor's f_pos_lock, which the network threads would take turns on for every line
    // (docs/BENCHMARKS.md). The inode lock still keeps each line whole.
    iovec line{const_cast<char*>(text.data()), text.size()};
    ssize_t written = ::pwritev2(file->fd, &line, 1, 0, RWF_APPEND);
    if (written < 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {  // a kernel before 4.16
        written = ::write(file->fd, text.data(), text.size());
    }
    const int error = errno;
    // After the write: a sync() that ran between the lock and the write flushes it next time.
    dirty_.store(true, std::memory_order_release);
    file->writers.fetch_sub(1, std::memory_order_release);
    if (written != static_cast<ssize_t>(text.size())) {
        log::error("approvals",
                   "cannot write the audit log " + path_ + ": " + std::strerror(error));
    }
    if (!rotate_now) return;
    if (runner_) {
        runner_([this] { rotate(); });
    } else {
        rotate();
    }
}

void AuditLog::shift_rotated_files() const {
    // The oldest kept file is replaced by the next younger one (rename replaces atomically);
    // files beyond `keep` (left by a larger --audit-keep before) are removed.
    for (unsigned n = rotation_.keep + 1;; ++n) {
        if (::unlink(rotated_path(n).c_str()) != 0 && errno == ENOENT) break;
    }
    for (unsigned n = rotation_.keep; n > 1; --n) {
        if (::rename(rotated_path(n - 1).c_str(), rotated_path(n).c_str()) != 0 &&
            errno != ENOENT) {
            log::error("approvals",
                       "cannot rename " + rotated_path(n - 1) + ": " + std::strerror(errno));
        }
    }
}

void AuditLog::rotate() {
    // Only one rotation runs at a time (rotation_pending_), and only it renames files, so the
    // renames need no lock: record() keeps appending to its descriptor meanwhile, whatever the
    // file is called.
    shift_rotated_files();
    const std::string next_path = path_ + ".next";
    ::unlink(next_path.c_str());
    auto next = std::make_shared<File>();
    next->fd = open_for_append(next_path, O_EXCL);
    const bool renamed = next->fd >= 0 && ::rename(path_.c_str(), rotated_path(1).c_str()) == 0 &&
                         ::rename(next_path.c_str(), path_.c_str()) == 0;
    if (!renamed) {
        // Keep writing to the current file; try again once it has grown by another max_bytes.
        const int error = errno;
        log::error("approvals",
                   "cannot rotate the audit log " + path_ + ": " + std::strerror(error));
        std::lock_guard lock(mutex_);
        size_ = 0;
        rotation_pending_ = false;
        return;
    }
    std::shared_ptr<File> old;
    {
        std::lock_guard lock(mutex_);
        old = std::exchange(file_, std::move(next));
        size_ = 0;
        rotation_pending_ = false;
    }
    // Lines being written to the retired file outside the lock land first (a write() of a
    // line takes microseconds); then its last lines reach the disk, the new names with the
    // folder's sync.
    while (old->writers.load(std::memory_order_acquire) != 0)
        std::this_thread::yield();
    ::fdatasync(old->fd);
    sync_folder(datadir_);
}

void AuditLog::sync() {
    std::shared_ptr<File> file;
    {
        std::lock_guard lock(mutex_);
        if (!dirty_.exchange(false, std::memory_order_acquire)) return;
        file = file_;
    }
    // The flush takes milliseconds; under the lock every signature meanwhile would wait for it.
    // Lines written during it are flushed now or at the next sync (they set dirty_ again). A
    // rotation meanwhile flushes the file it retires itself; `file` stays open until we are done.
    if (file && file->fd >= 0) ::fdatasync(file->fd);
}

core::Result<std::vector<boost::json::object>> AuditLog::recent(std::size_t limit) const {
    constexpr off_t kTail = 256 * 1024;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return core::fail(core::ErrorCode::IoError,
                          "cannot read " + path_ + ": " + std::strerror(errno));
    }
    struct stat st {};
    std::string text;
    if (::fstat(fd, &st) == 0) {
        const off_t start = st.st_size > kTail ? st.st_size - kTail : 0;
        text.resize(static_cast<std::size_t>(st.st_size - start));
        const ssize_t n = ::pread(fd, text.data(), text.size(), start);
        text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        // Started inside a line: drop its end.
        if (start > 0) {
            const std::size_t first = text.find('\n');
            text.erase(0, first == std::string::npos ? text.size() : first + 1);
        }
    }
    ::close(fd);
    // Whole lines only: one still being written has no newline yet.
    std::vector<std::string_view> lines;
    std::size_t from = 0;
    for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
        lines.push_back(std::string_view(text).substr(from, nl - from));
        from = nl + 1;
    }
    std::vector<boost::json::object> out;
    for (auto it = lines.rbegin(); it != lines.rend() && out.size() < limit; ++it) {
        boost::system::error_code ec;
        auto value = boost::json::parse(*it, ec);
        if (!ec && value.is_object()) out.push_back(std::move(value.as_object()));
    }
    return out;
}

}  // namespace keybridge::daemon::approvals
