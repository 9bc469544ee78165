#!/usr/bin/python3
"""`make install` and `make uninstall` from the source tree, into scratch folders.

1. The default prefix (~/.local, with HOME pointing at a scratch folder) and PREFIX=/usr/local
   with DESTDIR: the programs, man pages, bash completion, copyright and changelog, and the
   systemd user unit whose ExecStart names the installed keybridged (systemd-analyze verify
   accepts it where that path exists), and the udev rules in share/keybridge/udev.
2. The installed programs run (`--version`), `man` renders the installed page, and the installed
   completion completes a command.
3. `make uninstall` removes every installed file, and nothing was installed outside the list.

The Makefile builds Release (build/release, shared with `make run` and `make deb`); the list of
installed files goes to a scratch INSTALLED_LIST so a developer's own `make install` record
is left alone.

Usage: install_test.py SOURCE_DIR [unittest options]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = None

EXPECTED = [
    "bin/keybridge",
    "bin/keybridged",
    "share/man/man1/keybridge.1.gz",
    "share/man/man8/keybridged.8.gz",
    "share/man/man5/keybridged.conf.5.gz",
    "share/man/man5/keybridge-policy.5.gz",
    "share/bash-completion/completions/keybridge",
    "share/bash-completion/completions/keybridged",
    "share/doc/keybridge/copyright",
    "share/doc/keybridge/changelog.gz",
    "share/systemd/user/keybridged.service",
    # udev reads only /etc and /usr/lib: these wait for the user to copy one (udev/README.md).
    "share/keybridge/udev/20-keybridge-ledger.rules",
    "share/keybridge/udev/20-keybridge-ledger-plugdev.rules",
]


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(keybridge VERSION ([0-9.]+)", f.read()).group(1)


def files_under(root):
    found = set()
    for folder, _, names in os.walk(root):
        for name in names:
            found.add(os.path.join(folder, name))
    return found


class MakeInstall(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="keybridge-install-")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        self.listing = os.path.join(self.tmp, "installed.txt")
        self.env = dict(os.environ, HOME=self.home)
        # Nothing from an outer make (make test) or the caller's shell steers these runs.
        for name in ("DESTDIR", "PREFIX", "INSTALLED_LIST", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
            self.env.pop(name, None)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def make(self, *args):
        run = subprocess.run(["make", "-C", SOURCE, "INSTALLED_LIST=" + self.listing] +
                             list(args), env=self.env, capture_output=True, text=True,
                             timeout=1500)
        self.assertEqual(run.returncode, 0, "make %s failed:\n%s\n%s" %
                         (" ".join(args), run.stdout[-4000:], run.stderr[-4000:]))
        return run.stdout

    def check_installed(self, root, prefix, out):
        base = root + prefix
        for relative in EXPECTED:
            path = os.path.join(base, relative)
            self.assertTrue(os.path.isfile(path), path + " was not installed")
        for program in ("keybridge", "keybridged"):
            mode = os.stat(os.path.join(base, "bin", program)).st_mode & 0o777
            self.assertEqual(mode, 0o755, program)
            version = subprocess.run([os.path.join(base, "bin", program), "--version"],
                                     capture_output=True, text=True, timeout=30)
            self.assertEqual(version.returncode, 0)
            self.assertEqual(version.stdout.strip(), program + " " + project_version())
        with open(os.path.join(base, "share/systemd/user/keybridged.service")) as f:
            unit = f.read()
        exec_start = re.findall(r"^ExecStart=(.*)$", unit, re.M)
        self.assertEqual(exec_start, [prefix + "/bin/keybridged"])
        # Everything installed is in the list, and the list names only installed files.
        with open(self.listing) as f:
            listed = set(line.strip() for line in f if line.strip())
        self.assertEqual(listed, files_under(root if root else base))
        self.assertIn(base + "/bin", out)  # `make install` says where the programs went

    def uninstall_leaves_nothing(self, root):
        self.make("uninstall")
        self.assertEqual(files_under(root), set())
        self.assertFalse(os.path.exists(self.listing))

    def test_default_prefix_is_home_local(self):
        out = self.make("install")
        prefix = os.path.join(self.home, ".local")
        self.check_installed("", prefix, out)
        self.assertIn("is not on your PATH", out)
        # Here ExecStart's path exists: the installed unit must verify cleanly.
        if shutil.which("systemd-analyze"):
            unit = os.path.join(prefix, "share/systemd/user/keybridged.service")
            run = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True,
                                 text=True, timeout=120)
            self.assertEqual((run.returncode, (run.stdout + run.stderr).strip()), (0, ""))
        # The installed man page renders, and the installed completion completes commands.
        page = subprocess.run(["man", "-l", os.path.join(prefix, "share/man/man1/keybridge.1.gz")],
                              capture_output=True, text=True, timeout=60,
                              env=dict(self.env, MANPAGER="cat", PAGER="cat"))
        self.assertEqual(page.returncode, 0, page.stderr)
        self.assertIn("account derive", page.stdout)
        script = ('source "%s"; COMP_WORDS=(keybridge permissions l); COMP_CWORD=2; _keybridge;'
                  ' echo "${COMPREPLY[*]}"' %
                  os.path.join(prefix, "share/bash-completion/completions/keybridge"))
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                              env=dict(self.env, PATH=prefix + "/bin:" + self.env["PATH"]))
        self.assertEqual(done.stdout.strip(), "list", done.stderr)
        self.uninstall_leaves_nothing(os.path.join(self.home, ".local"))

    def test_prefix_and_destdir(self):
        root = os.path.join(self.tmp, "stage")
        out = self.make("install", "PREFIX=/usr/local", "DESTDIR=" + root)
        self.check_installed(root, "/usr/local", out)
        self.uninstall_leaves_nothing(root)


if __name__ == "__main__":
    SOURCE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
