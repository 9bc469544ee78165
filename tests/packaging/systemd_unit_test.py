#!/usr/bin/python3
"""Checks packaging/systemd/keybridged.service.

1. Parser-level checks (always): sections, keys, Type=notify, ExecStart, the hardening options.
2. `systemd-analyze verify` on a copy whose ExecStart names the built keybridged (the installed
   path ~/.local/bin/keybridged does not exist on a build machine). systemd-analyze reports
   unknown keys and bad values as warnings and still exits 0, so any output at all fails the
   test. A deliberately broken copy must produce output, proving the check can fail.
   systemd-analyze comes with Debian's systemd package (scripts/install-deps.sh --test); when it
   is missing the test fails rather than pass without verifying.

Usage: systemd_unit_test.py PATH_TO_keybridged [unittest options]
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(HERE, "..", "..", "packaging", "systemd", "keybridged.service")
KEYBRIDGED = None  # from the command line


def parse_unit(text):
    """{section: [(key, value), ...]} in file order; raises ValueError on a malformed line."""
    sections = {}
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current in sections:
                raise ValueError("line %d: section [%s] appears twice" % (number, current))
            sections[current] = []
            continue
        if current is None:
            raise ValueError("line %d: setting outside any section" % number)
        if "=" not in line:
            raise ValueError("line %d: expected Key=value" % number)
        key, value = line.split("=", 1)
        sections[current].append((key.strip(), value.strip()))
    return sections


def values(sections, section, key):
    return [v for k, v in sections.get(section, []) if k == key]


def verify(path):
    """(returncode, combined output) of systemd-analyze verify."""
    run = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                         timeout=120)
    return run.returncode, (run.stdout + run.stderr).strip()


class SystemdUnit(unittest.TestCase):
    def setUp(self):
        with open(UNIT) as f:
            self.text = f.read()
        self.sections = parse_unit(self.text)

    def test_sections_and_required_keys(self):
        self.assertEqual(list(self.sections), ["Unit", "Service", "Install"])
        self.assertTrue(values(self.sections, "Unit", "Description"))
        self.assertEqual(values(self.sections, "Service", "Type"), ["notify"])
        self.assertEqual(values(self.sections, "Service", "ExecStart"),
                         ["%h/.local/bin/keybridged"])
        self.assertEqual(values(self.sections, "Service", "Restart"), ["on-failure"])
        self.assertEqual(values(self.sections, "Install", "WantedBy"), ["default.target"])

    def test_hardening(self):
        expected = {
            "NoNewPrivileges": "yes",
            "PrivateTmp": "yes",
            "ProtectSystem": "strict",
            "ReadWritePaths": "%h/.local/share/keybridge",
            "LockPersonality": "yes",
            "MemoryDenyWriteExecute": "yes",
            "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
            "LimitCORE": "0",
            "LimitMEMLOCK": "4M",  # the 1 MiB locked arena for secrets
            "UMask": "0077",
        }
        for key, value in expected.items():
            self.assertEqual(values(self.sections, "Service", key), [value], key)
        # Hardware wallets need /dev: PrivateDevices must not be switched on.
        self.assertEqual(values(self.sections, "Service", "PrivateDevices"), [])

    def test_parser_rejects_malformed_units(self):
        for bad in ("Type=notify\n", "[Service]\nno equals sign\n", "[A]\n[A]\n"):
            with self.assertRaises(ValueError):
                parse_unit(bad)

    def test_systemd_analyze_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.fail("systemd-analyze is missing: install Debian's systemd package "
                      "(scripts/install-deps.sh --test) so the unit can be verified")
        self.assertTrue(os.access(KEYBRIDGED, os.X_OK), KEYBRIDGED)
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "keybridged.service")
            text = self.text.replace("ExecStart=%h/.local/bin/keybridged",
                                     "ExecStart=" + os.path.abspath(KEYBRIDGED))
            self.assertNotEqual(text, self.text)
            with open(copy, "w") as f:
                f.write(text)
            code, output = verify(copy)
            self.assertEqual((code, output), (0, ""), "systemd-analyze verify complained")

            # The same check on a broken copy must complain, or it proves nothing.
            broken = text.replace("Type=notify", "Type=notifyy").replace(
                "LockPersonality=yes", "LockPersonalty=yes")
            with open(copy, "w") as f:
                f.write(broken)
            code, output = verify(copy)
            self.assertIn("notifyy", output)
            self.assertIn("LockPersonalty", output)


def main():
    global KEYBRIDGED
    if len(sys.argv) < 2:
        sys.stderr.write("usage: systemd_unit_test.py PATH_TO_keybridged [unittest options]\n")
        return 2
    KEYBRIDGED = sys.argv[1]
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
