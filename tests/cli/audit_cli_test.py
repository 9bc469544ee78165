#!/usr/bin/python3
"""End-to-end tests of `keybridge audit`: the real binary reading audit logs written here.

The files follow what keybridged writes (daemon/approvals/audit_log.cpp): one JSON object per
line in audit.log, older lines in audit.log.1 (most recent) … audit.log.N (oldest). The tests
check the order across rotated files, each filter, --limit, --json (the raw lines), a cut-off
last line, lines that are not JSON, and that terminal escape sequences in origins never reach
the terminal. Python 3 standard library only.

Usage: audit_cli_test.py PATH_TO_keybridge [unittest options]
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

KEYBRIDGE = None  # set from the command line in main()
EXIT_OK, EXIT_USAGE = 0, 2

ALICE = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"
BOB = "0xFA01a39f8Abaeb660c3137f14A310d0b414b2A15"
ESC_ORIGIN = "https://evil.example\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e"


def stamp(delta):
    """The log's time format, `delta` before now (UTC)."""
    t = datetime.datetime.now(datetime.timezone.utc) - delta
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry(i, time, origin="local client", method="personal_sign", account=ALICE,
          decision="signed", by="approved"):
    e = {"time": time, "id": i, "origin": origin, "method": method}
    if account:
        e["account"] = account
    e["chainId"] = 1
    e["decision"] = decision
    e["decidedBy"] = by
    if decision == "signed":
        e["digest"] = "%064x" % i
    return json.dumps(e, separators=(",", ":"), ensure_ascii=False)


class AuditCommand(unittest.TestCase):
    def setUp(self):
        self.datadir = tempfile.mkdtemp(prefix="keybridge_audit_cli_")
        os.chmod(self.datadir, 0o700)

    def tearDown(self):
        shutil.rmtree(self.datadir)

    def write(self, name, lines, tail=""):
        with open(os.path.join(self.datadir, name), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines) + tail)

    def run_audit(self, *args, expect=EXIT_OK):
        proc = subprocess.run([KEYBRIDGE, "--datadir", self.datadir, "audit", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        out = proc.stdout.decode("utf-8")
        err = proc.stderr.decode("utf-8")
        self.assertEqual(proc.returncode, expect, "stdout:\n%s\nstderr:\n%s" % (out, err))
        return out, err

    def ids_of_json(self, out):
        return [json.loads(line)["id"] for line in out.splitlines()]

    def three_files(self):
        """Lines 1-9 over audit.log.2 (oldest), audit.log.1 and audit.log, a day apart each."""
        day = datetime.timedelta(days=1)
        self.write("audit.log.2", [
            entry(1, stamp(3 * day), method="eth_requestAccounts", account=None,
                  decision="approved", by="policy line 1"),
            entry(2, stamp(3 * day), decision="approved", by="user"),
            entry(3, stamp(3 * day)),
        ])
        self.write("audit.log.1", [
            entry(4, stamp(2 * day), origin="https://app.example", account=BOB,
                  decision="rejected", by="user"),
            entry(5, stamp(2 * day), origin="https://app.example", method="eth_sendTransaction",
                  account=BOB, decision="approved", by="user"),
            entry(6, stamp(2 * day), origin="https://app.example", method="eth_sendTransaction",
                  account=BOB),
        ])
        self.write("audit.log", [
            entry(7, stamp(datetime.timedelta(minutes=30)), decision="approved", by="user"),
            entry(8, stamp(datetime.timedelta(minutes=30))),
            entry(9, stamp(datetime.timedelta(minutes=10)), decision="rejected", by="timeout"),
        ])

    def test_json_prints_every_line_as_written_oldest_file_first(self):
        self.three_files()
        out, _ = self.run_audit("--json")
        self.assertEqual(self.ids_of_json(out), list(range(1, 10)))
        written = []
        for name in ("audit.log.2", "audit.log.1", "audit.log"):
            with open(os.path.join(self.datadir, name), encoding="utf-8") as f:
                written += f.read().splitlines()
        self.assertEqual(out.splitlines(), written)

    def test_table_has_a_header_and_one_row_per_entry(self):
        self.three_files()
        out, _ = self.run_audit()
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["TIME", "ID", "ORIGIN", "METHOD", "ACCOUNT", "CHAIN",
                                            "DECISION", "BY"])
        self.assertEqual(len(lines), 10)
        self.assertIn("eth_requestAccounts", lines[1])
        self.assertIn("policy line 1", lines[1])
        account = lines[0].index("ACCOUNT")
        self.assertEqual(lines[1][account:].split()[0], "-")  # no account
        self.assertIn(BOB, lines[4])
        self.assertTrue(lines[9].split()[1] == "9")
        # Columns line up: every row starts its ORIGIN cell where the header does.
        column = lines[0].index("ORIGIN")
        for row in lines[1:]:
            self.assertEqual(row[column - 2:column], "  ", row)
            self.assertNotEqual(row[column], " ", row)

    def test_filters(self):
        self.three_files()
        cases = [
            (["--origin", "https://app.example"], [4, 5, 6]),
            (["--origin", "local"], [1, 2, 3, 7, 8, 9]),
            (["--origin", "local client"], [1, 2, 3, 7, 8, 9]),
            (["--method", "eth_sendTransaction"], [5, 6]),
            (["--account", BOB.lower()], [4, 5, 6]),
            (["--account", ALICE], [2, 3, 7, 8, 9]),
            (["--decision", "rejected"], [4, 9]),
            (["--decision", "signed", "--method", "personal_sign"], [3, 8]),
            (["--since", "1h"], [7, 8, 9]),
            (["--since", "20m"], [9]),
            (["--since", "60h"], [4, 5, 6, 7, 8, 9]),
            (["--since", "1w"], list(range(1, 10))),
            (["--limit", "2"], [8, 9]),
            (["--limit", "100"], list(range(1, 10))),
            (["--origin", "https://app.example", "--limit", "1"], [6]),
            (["--origin", "https://nobody.example"], []),
        ]
        for args, expected in cases:
            out, _ = self.run_audit("--json", *args)
            self.assertEqual(self.ids_of_json(out), expected, args)
        # Dates: whole days (UTC midnight) and full times.
        two_days_ago = (datetime.datetime.now(datetime.timezone.utc)
                        - datetime.timedelta(days=2)).strftime("%Y-%m-%d")
        out, _ = self.run_audit("--json", "--since", two_days_ago)
        self.assertEqual(self.ids_of_json(out), [4, 5, 6, 7, 8, 9])
        out, _ = self.run_audit("--json", "--since", stamp(datetime.timedelta(minutes=15)))
        self.assertEqual(self.ids_of_json(out), [9])
        # The table shows the same selection.
        out, _ = self.run_audit("--method", "eth_sendTransaction")
        self.assertEqual(len(out.splitlines()), 3)
        out, _ = self.run_audit("--origin", "https://nobody.example")
        self.assertIn("No audit log entries match", out)

    def test_bad_filter_values_are_usage_errors(self):
        self.three_files()
        for args, message in [
            (["--since", "yesterday"], "--since must be"),
            (["--since", "2026-13-01"], "--since must be"),
            (["--since", "5y"], "--since must be"),
            (["--since", "h"], "--since must be"),
            (["--limit", "0"], "--limit must be"),
            (["--limit", "-3"], "--limit must be"),
            (["--account", "0x1234"], "--account must be an address"),
            (["--bogus"], "unknown option"),
        ]:
            _, err = self.run_audit(*args, expect=EXIT_USAGE)
            self.assertIn(message, err, args)

    def test_rotated_files_with_gaps_and_without_a_live_file(self):
        # A crash during a rotation can leave gaps in the numbers and no audit.log yet.
        t = stamp(datetime.timedelta(hours=1))
        self.write("audit.log.7", [entry(1, t)])
        self.write("audit.log.3", [entry(2, t)])
        self.write("audit.log.1", [entry(3, t)])
        self.write("audit.log.next", [])  # never read
        self.write("audit.log.old", [entry(99, t)])  # not ours
        out, _ = self.run_audit("--json")
        self.assertEqual(self.ids_of_json(out), [1, 2, 3])

    def test_cut_off_last_line_and_garbage_are_skipped_with_a_note(self):
        t = stamp(datetime.timedelta(hours=1))
        self.write("audit.log.1", [entry(1, t), "\x00\x00\x00", entry(2, t)])
        self.write("audit.log", [entry(3, t)], tail=entry(4, t)[:40])
        out, err = self.run_audit("--json")
        self.assertEqual(self.ids_of_json(out), [1, 2, 3])
        self.assertIn("1 line(s) of the audit log are not JSON objects", err)
        self.assertIn("last line of audit.log is incomplete", err)
        out, err = self.run_audit()
        self.assertEqual(len(out.splitlines()), 4)
        self.assertIn("incomplete", err)

    def test_escape_sequences_never_reach_the_terminal(self):
        t = stamp(datetime.timedelta(hours=1))
        self.write("audit.log", [entry(1, t, origin=ESC_ORIGIN, method="personal_sign\x1b[1m")])
        out, _ = self.run_audit()
        for raw in ("\x1b", "\x07", "\u009b", "\u202e"):
            self.assertNotIn(raw, out)
        self.assertIn("https://evil.example\\x1b[2J", out)
        self.assertIn("\\u{202e}", out)
        # --json keeps the value (the same JSON) but writes those characters as escapes.
        out, _ = self.run_audit("--json")
        for raw in ("\x1b", "\x07", "\u009b", "\u202e"):
            self.assertNotIn(raw, out)
        self.assertEqual(json.loads(out)["origin"], ESC_ORIGIN)
        # And the origin filter still matches the real value.
        out, _ = self.run_audit("--json", "--origin", ESC_ORIGIN)
        self.assertEqual(self.ids_of_json(out), [1])

    def test_no_log_yet(self):
        out, _ = self.run_audit()
        self.assertIn("No audit log in", out)
        out, _ = self.run_audit("--json")
        self.assertEqual(out, "")
        # A data folder that does not exist is no error either: nothing was audited there.
        proc = subprocess.run([KEYBRIDGE, "--datadir", os.path.join(self.datadir, "missing"),
                               "audit"], capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, EXIT_OK, proc.stderr)

    def test_help_lists_the_filters(self):
        proc = subprocess.run([KEYBRIDGE, "audit", "--help"], capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, EXIT_OK)
        text = proc.stdout.decode()
        for option in ("--origin", "--method", "--account", "--since", "--decision", "--limit"):
            self.assertIn(option, text)
        proc = subprocess.run([KEYBRIDGE, "--help"], capture_output=True, timeout=60)
        self.assertIn("audit", proc.stdout.decode())


def main():
    global KEYBRIDGE
    if len(sys.argv) < 2:
        sys.exit("usage: audit_cli_test.py PATH_TO_keybridge [unittest options]")
    KEYBRIDGE = os.path.abspath(sys.argv.pop(1))
    unittest.main()


if __name__ == "__main__":
    main()
