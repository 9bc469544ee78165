#!/usr/bin/python3
"""The generated man pages (packaging/man/gen_man.py, built into BUILD/packaging/man) against
their sources:

1. keybridge(1): the commands of `keybridge --help`, and for each command exactly the options of
   `keybridge COMMAND --help`; the global options.
2. keybridged(8): exactly the options of `keybridged --help`.
3. keybridged.conf(5): exactly the daemon's options as settings, less config, help, version.
4. keybridge-policy(5): every section heading of docs/POLICY.md.
5. The built pages are current (regenerated now, byte for byte the same) and groff renders each
   without a warning. A page with one option removed fails the comparison (the check can fail).

Usage: man_pages_test.py KEYBRIDGE KEYBRIDGED MAN_DIR [unittest options]
"""

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
KEYBRIDGE = KEYBRIDGED = MAN_DIR = None
OPTION = re.compile(r"^  (--[a-z0-9-]+)", re.M)


def help_of(*argv):
    out = subprocess.run(list(argv) + ["--help"], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert out.returncode == 0, out.stderr
    return out.stdout


def block(text, heading):
    """The lines under "heading:" up to the next blank line."""
    m = re.search(r"^" + re.escape(heading) + r":\n((?:.+\n)*)", text, re.M)
    return m.group(1) if m else ""


def page(name):
    with gzip.open(os.path.join(MAN_DIR, name + ".gz"), "rt", encoding="utf-8") as f:
        return f.read()


def roff_sections(text, macro):
    """{title: body} split at `.SH`/`.SS` lines."""
    out = {}
    current = None
    for line in text.splitlines():
        if line.startswith(macro + " "):
            current = line[len(macro) + 1:].replace("\\-", "-").strip('"')
            out[current] = []
        elif line.startswith(".SH ") and macro == ".SS":
            current = None
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def roff_options(body):
    """Options named in .TP items: '\\fB\\-\\-name\\fR' -> --name."""
    return set("--" + m for m in re.findall(r"^\\fB\\-\\-([a-z0-9\\-]+)\\fR", body, re.M)
               for m in [m.replace("\\-", "-")])


def command_mismatches(man_text):
    """[(command, only in --help, only in the page)] for keybridge(1); [] when they agree."""
    tool = help_of(KEYBRIDGE)
    commands = [re.split(r"\s{2,}", l.strip())[0] for l in block(tool, "Commands").splitlines()]
    per_command = roff_sections(roff_sections(man_text, ".SH")["COMMANDS"], ".SS")
    problems = []
    if sorted(per_command) != sorted(commands):
        problems.append(("commands", set(commands) - set(per_command),
                         set(per_command) - set(commands)))
    for command in commands:
        wanted = set(OPTION.findall(block(help_of(KEYBRIDGE, *command.split()), "Options")))
        shown = roff_options(per_command.get(command, ""))
        if wanted != shown:
            problems.append((command, wanted - shown, shown - wanted))
    global_wanted = set(OPTION.findall(block(tool, "Global options")))
    global_shown = roff_options(roff_sections(man_text, ".SH")["GLOBAL OPTIONS"])
    if global_wanted != global_shown:
        problems.append(("global", global_wanted - global_shown, global_shown - global_wanted))
    return problems


def daemon_options():
    text = help_of(KEYBRIDGED)
    heading = re.search(r"^(Options[^\n]*):$", text, re.M).group(1)
    return set(OPTION.findall(block(text, heading)))


class ManPages(unittest.TestCase):
    def test_keybridge_1_matches_help(self):
        self.assertEqual(command_mismatches(page("keybridge.1")), [])

    def test_the_check_can_fail(self):
        text = page("keybridge.1")
        broken = re.sub(r"\.TP\n\\fB\\-\\-count\\fR[^\n]*\n[^\n]*\n", "", text, count=1)
        self.assertNotEqual(broken, text)
        self.assertEqual(command_mismatches(broken), [("account derive", {"--count"}, set())])

    def test_keybridged_8_matches_help(self):
        shown = roff_options(roff_sections(page("keybridged.8"), ".SH")["OPTIONS"])
        self.assertEqual(shown, daemon_options())

    def test_conf_5_lists_every_setting(self):
        settings = roff_sections(page("keybridged.conf.5"), ".SH")["SETTINGS"]
        keys = set("--" + k.replace("\\-", "-")
                   for k in re.findall(r"^\\fB([a-z0-9\\-]+)\\fR = ", settings, re.M))
        self.assertEqual(keys, daemon_options() - {"--config", "--help", "--version"})

    def test_policy_5_has_every_section_of_policy_md(self):
        with open(os.path.join(SOURCE, "docs", "POLICY.md")) as f:
            markdown = f.read()
        text = page("keybridge-policy.5")
        for heading in re.findall(r"^## (.+)$", markdown, re.M):
            self.assertIn(".SH " + heading.upper().replace("-", "\\-"), text)
        for heading in re.findall(r"^### (.+)$", markdown, re.M):
            self.assertIn(".SS " + heading.replace("-", "\\-"), text)

    def test_pages_are_current_and_render_cleanly(self):
        version = re.search(r"project\(keybridge VERSION ([0-9.]+)",
                            open(os.path.join(SOURCE, "CMakeLists.txt")).read()).group(1)
        tmp = tempfile.mkdtemp(prefix="keybridge-man-")
        try:
            subprocess.run([sys.executable, os.path.join(SOURCE, "packaging/man/gen_man.py"),
                            "--keybridge", KEYBRIDGE, "--keybridged", KEYBRIDGED,
                            "--policy", os.path.join(SOURCE, "docs/POLICY.md"),
                            "--version", version, "--out", tmp], check=True, timeout=120)
            names = sorted(os.listdir(tmp))
            self.assertEqual(names, ["keybridge-policy.5.gz", "keybridge.1.gz",
                                     "keybridged.8.gz", "keybridged.conf.5.gz"])
            for name in names:
                with open(os.path.join(tmp, name), "rb") as fresh, \
                        open(os.path.join(MAN_DIR, name), "rb") as built:
                    self.assertEqual(fresh.read(), built.read(), name + " is stale")
                render = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8"],
                                        input=page(name[:-3]), capture_output=True, text=True,
                                        timeout=60)
                self.assertEqual((render.returncode, render.stderr), (0, ""), name)
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    KEYBRIDGE, KEYBRIDGED, MAN_DIR = [os.path.abspath(a) for a in sys.argv[1:4]]
    del sys.argv[1:4]
    unittest.main()
