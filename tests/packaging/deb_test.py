#!/usr/bin/python3
"""`make deb`: the Debian package CPack builds from the Release build (build/release).

1. Its contents: exactly the programs, man pages, systemd user unit (ExecStart=/usr/bin/
   keybridged), bash completion, copyright and changelog, and any udev rules of udev/.
2. Depends: every shared library the two programs link directly (their NEEDED entries, resolved with
   ldd and mapped to packages with dpkg -S) is covered by a declared dependency; nothing is
   declared that they do not link.
3. Unpacked into a scratch root with dpkg-deb -x, the programs run (--version).
4. lintian reports no error and no warning (packaging/debian/lintian-exceptions lists the tags
   allowed, with the reasons; lintian comes from scripts/install-deps.sh --test).

Usage: deb_test.py SOURCE_DIR [unittest options]
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = None


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(keybridge VERSION ([0-9.]+)", f.read()).group(1)


# Nothing from an outer make (make test) or the caller's shell steers the build.
ENV = {k: v for k, v in os.environ.items()
       if k not in ("DESTDIR", "PREFIX", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def run(argv, **kw):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1500, env=ENV, **kw)
    if out.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(argv), out.returncode,
                                                         out.stdout[-4000:], out.stderr[-4000:]))
    return out.stdout


def linked_packages(binary):
    """The Debian packages providing the shared libraries `binary` names in its NEEDED entries.

    Only direct entries: a library's own dependencies (libudev1 under libhidapi-hidraw0) are its
    package's business, and dpkg-shlibdeps does not declare them either."""
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]",
                            run(["readelf", "-d", binary])))
    packages = set()
    for line in run(["ldd", binary]).splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if not m or m.group(1) not in needed:
            continue
        path = os.path.realpath(m.group(2))
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if owner.returncode != 0:  # /lib is a symlink to /usr/lib on Debian 12 (merged /usr)
            owner = subprocess.run(["dpkg", "-S", path.replace("/usr/lib/", "/lib/", 1)],
                                   capture_output=True, text=True)
        if owner.returncode != 0:
            raise AssertionError("no package owns " + path)
        packages.add(owner.stdout.split(":")[0])
    return packages


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="keybridge-deb-")
        arch = run(["dpkg", "--print-architecture"]).strip()
        cls.deb = os.path.join(SOURCE, "build", "release",
                               "keybridge_%s_%s.deb" % (project_version(), arch))
        if os.path.exists(cls.deb):
            os.remove(cls.deb)
        run(["make", "-C", SOURCE, "deb"])
        cls.root = os.path.join(cls.tmp, "root")
        run(["dpkg-deb", "-x", cls.deb, cls.root])
        cls.fields = {}
        for line in run(["dpkg-deb", "-f", cls.deb]).splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, value = line.split(":", 1)
                cls.fields[key] = value.strip()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_contents(self):
        found = set()
        for folder, _, names in os.walk(self.root):
            for name in names:
                found.add(os.path.relpath(os.path.join(folder, name), self.root))
        expected = {
            "usr/bin/keybridge", "usr/bin/keybridged",
            "usr/share/man/man1/keybridge.1.gz", "usr/share/man/man8/keybridged.8.gz",
            "usr/share/man/man5/keybridged.conf.5.gz", "usr/share/man/man5/keybridge-policy.5.gz",
            "usr/lib/systemd/user/keybridged.service",
            "usr/share/bash-completion/completions/keybridge",
            "usr/share/bash-completion/completions/keybridged",
            "usr/share/doc/keybridge/copyright", "usr/share/doc/keybridge/changelog.gz",
        }
        for rules in glob.glob(os.path.join(SOURCE, "udev", "*.rules")):
            expected.add("usr/lib/udev/rules.d/" + os.path.basename(rules))
        self.assertEqual(found, expected)
        with open(os.path.join(self.root, "usr/lib/systemd/user/keybridged.service")) as f:
            self.assertEqual(re.findall(r"^ExecStart=(.*)$", f.read(), re.M),
                             ["/usr/bin/keybridged"])
        self.assertEqual(self.fields["Package"], "keybridge")
        self.assertEqual(self.fields["Version"], project_version())

    def test_depends_come_from_linked_libraries(self):
        declared = set()
        for alternative in self.fields["Depends"].split(","):
            declared.add(alternative.strip().split(" ")[0])
        linked = set()
        for program in ("keybridge", "keybridged"):
            linked |= linked_packages(os.path.join(self.root, "usr/bin", program))
        self.assertTrue(linked)
        self.assertEqual(declared, linked)

    def test_programs_run_from_the_unpacked_package(self):
        for program in ("keybridge", "keybridged"):
            out = run([os.path.join(self.root, "usr/bin", program), "--version"])
            self.assertEqual(out.strip(), program + " " + project_version())

    def test_lintian(self):
        lintian = shutil.which("lintian")
        self.assertIsNotNone(lintian, "lintian is missing (scripts/install-deps.sh --test)")
        exceptions = os.path.join(SOURCE, "packaging", "debian", "lintian-exceptions")
        allowed = []
        with open(exceptions) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    allowed.append(line)
        argv = [lintian, "--fail-on", "error,warning", "--no-tag-display-limit"]
        if allowed:
            argv += ["--suppress-tags", ",".join(allowed)]
        out = subprocess.run(argv + [self.deb], capture_output=True, text=True, timeout=600)
        tags = [l for l in out.stdout.splitlines() if re.match(r"^[EW]: ", l)]
        self.assertEqual((out.returncode, tags), (0, []), out.stdout + out.stderr)


if __name__ == "__main__":
    SOURCE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
