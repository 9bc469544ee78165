#pragma once

#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/result.h"

namespace keybridge::cli {

// Reads keybridged's audit log from the data folder: audit.log and the files rotation kept
// (audit.log.1 is the most recent, audit.log.N the oldest; numbers may have gaps after a crash
// during a rotation). Files are read directly, so the daemon need not run.

// One line of the log: its text as written (without the newline) and the parsed object.
struct AuditEntry {
    std::string line;
    boost::json::object fields;
};

// Which entries to show. Empty fields match everything.
struct AuditFilter {
    std::string origin;     // exact; "local" also matches the token client's "local client"
    std::string method;     // exact
    std::string account;    // 0x + 40 hex digits, any case
    std::string since;      // "YYYY-MM-DDTHH:MM:SSZ": entries at or after it (see since_cutoff)
    std::string decision;   // exact
    std::size_t limit = 0;  // the most recent N matching entries; 0 = all

    bool matches(const AuditEntry& entry) const;
};

struct AuditLogContents {
    std::vector<std::string> files;   // read, oldest first
    std::vector<AuditEntry> entries;  // matching, oldest first
    std::size_t malformed = 0;        // lines that are not a JSON object (skipped)
    // The live file ended without a newline: a line being written, or cut by a crash (skipped).
    bool incomplete_last_line = false;
};

// The log files of `datadir`, oldest first. IoError when the folder cannot be listed.
[[nodiscard]] core::Result<std::vector<std::string>> audit_log_files(const std::string& datadir);

// Reads every file in order and keeps the entries the filter matches (with its limit applied).
// IoError naming the file when one cannot be read.
[[nodiscard]] core::Result<AuditLogContents> read_audit_log(const std::string& datadir,
                                                            const AuditFilter& filter);

// --since: an ISO date ("2026-12-04"), date and time in UTC ("2026-12-04T21:30:00Z", the "Z"
// optional) or a duration back from `now` ("90s", "30m", "1h", "2d", "1w") → the earliest time
// in the log's format. InvalidArgument for anything else.
[[nodiscard]] core::Result<std::string> since_cutoff(std::string_view text, std::time_t now);

// The entries as an aligned table with a header; every field passes through terminal_safe.
std::string render_audit_table(const std::vector<AuditEntry>& entries);

}  // namespace keybridge::cli
