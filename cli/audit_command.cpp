// keybridge audit: keybridged's audit log (every decision and what was signed), read from the data
// folder's files, filtered, as a table or as the raw JSON lines.
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/audit_reader.h"
#include "cli/command.h"
#include "cli/terminal_text.h"
#include "core/address.h"

namespace keybridge::cli {
namespace {

using core::ErrorCode;
using core::fail;
using core::Result;

Result<AuditFilter> filter_from(const ParsedArgs& args) {
    AuditFilter filter;
    filter.origin = args.value("origin").value_or("");
    filter.method = args.value("method").value_or("");
    filter.decision = args.value("decision").value_or("");
    if (auto account = args.value("account")) {
        if (!core::Address::parse(*account)) {
            return fail(ErrorCode::InvalidArgument,
                        "--account must be an address (0x and 40 hex digits)");
        }
        filter.account = *account;
    }
    if (auto since = args.value("since")) {
        auto cutoff = since_cutoff(*since, std::time(nullptr));
        if (!cutoff) return fail(cutoff.error());
        filter.since = *cutoff;
    }
    if (auto limit = args.value("limit")) {
        const bool digits = !limit->empty() && limit->size() <= 9 &&
                            limit->find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoul(*limit) == 0) {
            return fail(ErrorCode::InvalidArgument, "--limit must be a whole number above 0");
        }
        filter.limit = std::stoul(*limit);
    }
    return filter;
}

Result<Report> run_audit(Context& ctx) {
    auto filter = filter_from(ctx.args);
    if (!filter) return fail(filter.error());
    auto log = read_audit_log(ctx.datadir, *filter);
    if (!log) return fail(log.error());
    // Notes go to stderr so that the table or the JSON lines on stdout stay clean.
    if (log->malformed != 0) {
        std::fprintf(stderr,
                     "keybridge: note: %zu line(s) of the audit log are not JSON objects "
                     "and were skipped\n",
                     log->malformed);
    }
    if (log->incomplete_last_line) {
        std::fprintf(stderr,
                     "keybridge: note: the last line of audit.log is incomplete (being "
                     "written, or cut short by a crash) and was skipped\n");
    }
    Report report;
    if (ctx.json) {
        // JSON lines, as the daemon wrote them: no summary object, so the output is the log.
        for (const auto& entry : log->entries)
            std::cout << json_for_terminal(entry.line) << "\n";
        report.streamed = true;
        return report;
    }
    if (log->files.empty()) {
        report.text = "No audit log in " + terminal_safe(ctx.datadir) +
                      " (keybridged writes audit.log when it decides a request).";
    } else if (log->entries.empty()) {
        report.text = "No audit log entries match.";
    } else {
        report.text = render_audit_table(log->entries);
    }
    return report;
}

}  // namespace

std::vector<Command> audit_commands() {
    return {
        {"audit",
         "keybridge audit [--origin O] [--method M] [--account A] [--since WHEN] "
         "[--decision D] [--limit N] [--json]",
         "show the audit log (every decision and signature), oldest first; reads the files "
         "(audit.log and its rotated copies), keybridged need not run",
         {{"origin", "ORIGIN", "only requests of this origin ('local': token clients)"},
          {"method", "METHOD", "only this RPC method (personal_sign, eth_sendTransaction, ...)"},
          {"account", "ADDRESS", "only requests for this account"},
          {"since", "WHEN",
           "only entries from WHEN on: 2026-12-04, 2026-12-04T21:30:00Z (UTC), or 90s, 30m, 1h, "
           "2d, 1w ago"},
          {"decision", "DECISION", "only this decision (approved, rejected, denied, signed, ...)"},
          {"limit", "N", "only the most recent N matching entries"}},
         run_audit},
    };
}

}  // namespace keybridge::cli
