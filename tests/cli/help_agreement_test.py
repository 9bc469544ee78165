#!/usr/bin/python3
"""keybridge's help texts agree with what it does:

1. `keybridge version`, `keybridge --version` and `keybridge version --json` give the project's
   version (CMakeLists.txt).
2. Every option a command's usage line names is one of its options (or a global option).
3. `init --words`: the usage line lists 12|15|18|21|24, and init accepts each listed value
   (unattended, weak KDF) and writes a phrase of that length; a value outside the list is a
   usage error.

Usage: help_agreement_test.py KEYBRIDGE [unittest options]
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
KEYBRIDGE = None
PASSWORD = "Quiet-harbour-lantern-7319"


def cli(*args, check=0):
    run = subprocess.run([KEYBRIDGE] + list(args), capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    if check is not None:
        assert run.returncode == check, (args, run.returncode, run.stdout, run.stderr)
    return run


def project_version():
    with open(os.path.join(HERE, "..", "..", "CMakeLists.txt")) as f:
        return re.search(r"project\(keybridge VERSION ([0-9.]+)", f.read()).group(1)


def commands():
    text = cli("--help").stdout
    block = re.search(r"^Commands:\n((?:  .+\n)+)", text, re.M).group(1)
    return [re.split(r"\s{2,}", line.strip())[0] for line in block.splitlines()]


class HelpAgreement(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="keybridge-help-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_version_command_and_option(self):
        expected = "keybridge " + project_version() + "\n"
        self.assertEqual(cli("--version").stdout, expected)
        self.assertEqual(cli("version").stdout, expected)
        self.assertEqual(json.loads(cli("version", "--json").stdout),
                         {"ok": True, "version": project_version()})
        self.assertIn("version", commands())

    def test_usage_lines_name_only_real_options(self):
        for command in commands():
            text = cli(*command.split(), "--help").stdout
            usage = re.search(r"^Usage: (.*)$", text, re.M).group(1)
            declared = set(re.findall(r"^  (--[a-z0-9-]+)", text, re.M))
            for option in re.findall(r"--[a-z0-9-]+", usage):
                self.assertIn(option, declared, "%s: usage names %s" % (command, option))

    def test_init_words_lists_what_init_accepts(self):
        usage = re.search(r"^Usage: (.*)$", cli("init", "--help").stdout, re.M).group(1)
        listed = re.search(r"--words ([0-9|]+)", usage).group(1).split("|")
        self.assertEqual(listed, ["12", "15", "18", "21", "24"])
        password_file = os.path.join(self.tmp, "pw")
        with open(password_file, "w") as f:
            f.write(PASSWORD + "\n")
        for words in listed:
            datadir = os.path.join(self.tmp, "vault-" + words)
            out = os.path.join(self.tmp, "phrase-" + words)
            cli("--datadir", datadir, "init", "--yes", "--words", words, "--mnemonic-out", out,
                "--password-file", password_file, "--light-kdf")
            with open(out) as f:
                self.assertEqual(len(f.read().split()), int(words))
        run = cli("--datadir", os.path.join(self.tmp, "bad"), "init", "--yes", "--words", "16",
                  "--mnemonic-out", os.path.join(self.tmp, "bad-phrase"), "--password-file",
                  password_file, "--light-kdf", check=2)
        self.assertIn("words", run.stderr)


if __name__ == "__main__":
    KEYBRIDGE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
