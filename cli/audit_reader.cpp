#include "cli/audit_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include "core/text.h"
#include "cli/terminal_text.h"

namespace keybridge::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::ErrorCode;
using core::fail;

constexpr std::string_view kLogName = "audit.log";

std::string_view string_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

// "audit.log.12" → 12; anything else (audit.log.next, audit.log.1x) → nullopt.
std::optional<unsigned> rotation_number(const std::string& name) {
    const std::string prefix = std::string(kLogName) + ".";
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size() ||
        name.size() > prefix.size() + 9)
        return std::nullopt;
    const std::string digits = name.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c); }) ||
        digits[0] == '0') {
        return std::nullopt;
    }
    return static_cast<unsigned>(std::stoul(digits));
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

bool AuditFilter::matches(const AuditEntry& entry) const {
    const json::object& f = entry.fields;
    if (!origin.empty()) {
        const std::string_view o = string_field(f, "origin");
        // Policy files and the docs call the token client "local"; older logs say "local client".
        const bool local_alias = origin == "local" && o == "local client";
        if (o != origin && !local_alias) return false;
    }
    if (!method.empty() && string_field(f, "method") != method) return false;
    if (!decision.empty() && string_field(f, "decision") != decision) return false;
    if (!account.empty() &&
        core::ascii_lower(string_field(f, "account")) != core::ascii_lower(account))
        return false;
    // The log's time format sorts as text.
    if (!since.empty() && string_field(f, "time") < since) return false;
    return true;
}

core::Result<std::vector<std::string>> audit_log_files(const std::string& datadir) {
    std::error_code ec;
    std::vector<std::pair<unsigned, std::string>> rotated;
    bool live = false;
    fs::directory_iterator it(datadir, ec);
    if (ec) {
        if (ec == std::errc::no_such_file_or_directory) return std::vector<std::string>{};
        return fail(ErrorCode::IoError, "cannot list " + datadir + ": " + ec.message());
    }
    for (const auto& item : it) {
        const std::string name = item.path().filename().string();
        if (name == kLogName) live = true;
        if (auto n = rotation_number(name)) rotated.emplace_back(*n, item.path().string());
    }
    // The highest number is the oldest file.
    std::sort(rotated.begin(), rotated.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> files;
    for (auto& [n, path] : rotated)
        files.push_back(std::move(path));
    if (live) files.push_back(datadir + "/" + std::string(kLogName));
    return files;
}

core::Result<AuditLogContents> read_audit_log(const std::string& datadir,
                                              const AuditFilter& filter) {
    auto files = audit_log_files(datadir);
    if (!files) return fail(files.error());
    AuditLogContents out;
    std::deque<AuditEntry> kept;
    for (std::size_t i = 0; i < files->size(); ++i) {
        const std::string& path = (*files)[i];
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            return fail(ErrorCode::IoError, "cannot read " + path + ": " + std::strerror(errno));
        }
        out.files.push_back(path);
        const bool live =
            i + 1 == files->size() && path.size() >= kLogName.size() &&
            path.compare(path.size() - kLogName.size(), kLogName.size(), kLogName) == 0;
        std::string line;
        while (std::getline(in, line)) {
            if (in.eof()) {
                // No newline after it: the daemon is writing it (or a crash cut it short).
                if (live)
                    out.incomplete_last_line = true;
                else
                    ++out.malformed;
                break;
            }
            if (line.empty()) continue;
            json::error_code ec;
            json::value parsed = json::parse(line, ec);
            if (ec || !parsed.is_object()) {
                ++out.malformed;
                continue;
            }
            AuditEntry entry{std::move(line), std::move(parsed.as_object())};
            line.clear();
            if (!filter.matches(entry)) continue;
            kept.push_back(std::move(entry));
            if (filter.limit != 0 && kept.size() > filter.limit) kept.pop_front();
        }
    }
    out.entries.assign(std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
    return out;
}

core::Result<std::string> since_cutoff(std::string_view text, std::time_t now) {
    const auto bad = [&] {
        return fail(ErrorCode::InvalidArgument,
                    "--since must be a date (2026-12-04), a UTC time (2026-12-04T21:30:00Z) or a "
                    "duration back from now (90s, 30m, 1h, 2d, 1w), not '" +
                        terminal_safe(text) + "'");
    };
    if (text.size() >= 2 && all_digits(text.substr(0, text.size() - 1)) && text.size() - 1 <= 9) {
        static constexpr std::string_view kUnits = "smhdw";
        static constexpr long kSeconds[] = {1, 60, 3600, 86400, 7 * 86400};
        const auto unit = kUnits.find(text.back());
        if (unit == std::string_view::npos) return bad();
        const long amount = std::stol(std::string(text.substr(0, text.size() - 1)));
        const std::time_t from = now - static_cast<std::time_t>(amount * kSeconds[unit]);
        std::tm tm{};
        ::gmtime_r(&from, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return std::string(stamp);
    }
    // YYYY-MM-DD, optionally followed by THH:MM:SS and an optional Z.
    std::string t(text);
    if (!t.empty() && t.back() == 'Z') t.pop_back();
    if (t.size() == 10) t += "T00:00:00";
    if (t.size() != 19) return bad();
    static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
    for (std::size_t i = 0; i < kShape.size(); ++i) {
        const bool ok = kShape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(t[i])) != 0
                                         : t[i] == kShape[i];
        if (!ok) return bad();
    }
    const int month = std::stoi(t.substr(5, 2));
    const int day = std::stoi(t.substr(8, 2));
    if (month < 1 || month > 12 || day < 1 || day > 31 || std::stoi(t.substr(11, 2)) > 23 ||
        std::stoi(t.substr(14, 2)) > 59 || std::stoi(t.substr(17, 2)) > 60) {
        return bad();
    }
    return t + "Z";
}

std::string render_audit_table(const std::vector<AuditEntry>& entries) {
    struct Column {
        std::string title;
        std::string key;
    };
    const std::vector<Column> columns = {
        {"TIME", "time"},         {"ID", "id"},           {"ORIGIN", "origin"},
        {"METHOD", "method"},     {"ACCOUNT", "account"}, {"CHAIN", "chainId"},
        {"DECISION", "decision"}, {"BY", "decidedBy"},
    };
    std::vector<std::vector<std::string>> rows;
    std::vector<std::size_t> widths;
    for (const auto& c : columns)
        widths.push_back(c.title.size());
    for (const auto& e : entries) {
        std::vector<std::string> row;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const json::value* v = e.fields.if_contains(columns[i].key);
            std::string cell;
            if (v != nullptr && v->is_string()) {
                cell = terminal_safe(v->as_string());
            } else if (v != nullptr && !v->is_null()) {
                cell = terminal_safe(json::serialize(*v));
            } else {
                cell = "-";
            }
            widths[i] = std::max(widths[i], cell.size());
            row.push_back(std::move(cell));
        }
        rows.push_back(std::move(row));
    }
    auto format_row = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            line += cells[i];
            if (i + 1 < cells.size()) line += std::string(widths[i] - cells[i].size() + 2, ' ');
        }
        return line + "\n";
    };
    std::vector<std::string> header;
    for (const auto& c : columns)
        header.push_back(c.title);
    std::string out = format_row(header);
    for (const auto& row : rows)
        out += format_row(row);
    return out;
}

}  // namespace keybridge::cli
