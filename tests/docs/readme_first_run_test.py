#!/usr/bin/python3
"""README.md's first-run path, typed as written, on this machine:

1. `make run ARGS=--version` says where the two programs were built, and they are there.
2. The "## Install" block, run line by line in bash from the source folder with a scratch HOME:
   `make install` puts keybridge in ~/.local/bin and the `export PATH` line makes
   `keybridge --version` work. (`make uninstall` cleans up.)
3. The plain cmake recipe of "Without make" configures a build of the programs and man pages
   only: no test or benchmark targets unless asked.

Usage: readme_first_run_test.py SOURCE_DIR [unittest options]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = None


def readme():
    with open(os.path.join(SOURCE, "README.md")) as f:
        return f.read()


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(keybridge VERSION ([0-9.]+)", f.read()).group(1)


class ReadmeFirstRun(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="keybridge-readme-")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        path = [p for p in os.environ["PATH"].split(":") if ".local/bin" not in p]
        self.env = dict(os.environ, HOME=self.home, PATH=":".join(path),
                        INSTALLED_LIST=os.path.join(self.tmp, "installed.txt"))
        for name in ("PREFIX", "DESTDIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
            self.env.pop(name, None)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def bash(self, script, timeout=1500):
        run = subprocess.run(["bash", "-e", "-c", script], cwd=SOURCE, env=self.env,
                             capture_output=True, text=True, timeout=timeout)
        self.assertEqual(run.returncode, 0, "%s\n%s\n%s" % (script, run.stdout[-4000:],
                                                           run.stderr[-4000:]))
        return run.stdout

    def test_make_run_says_where_the_programs_are(self):
        out = self.bash("make run ARGS=--version")
        m = re.search(r"built (\S+/keybridged) and (\S+/keybridge);", out)
        self.assertIsNotNone(m, out)
        for program in m.groups():
            self.assertTrue(os.access(os.path.join(SOURCE, program), os.X_OK), program)
        self.assertIn("make install", out)
        self.assertIn("keybridged " + project_version(), out)

    def test_install_block_typed_in_order(self):
        section = readme().split("\n## Install\n", 1)[1]
        block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
        commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
        commands = [c for c in commands if c]
        self.assertEqual(commands[0], "make install")
        self.assertEqual(commands[-1], "keybridge --version")
        out = self.bash("\n".join(commands))
        self.assertTrue(out.endswith("keybridge %s\n" % project_version()), out[-500:])
        self.assertTrue(os.path.isfile(os.path.join(self.home, ".local/bin/keybridged")))
        self.bash("make uninstall")
        self.assertFalse(os.path.exists(os.path.join(self.home, ".local/bin/keybridge")))

    def test_plain_cmake_recipe_builds_the_programs_only(self):
        recipe = re.search(r"Without make: `(cmake -S \. -B build[^`]*)`", readme().replace("\n", " "))
        self.assertIsNotNone(recipe)
        configure = recipe.group(1).split("&&")[0].strip()
        build_dir = os.path.join(self.tmp, "build")
        self.assertIn(" -B build", configure)
        self.bash(configure.replace(" -B build", " -B " + build_dir) + " >/dev/null")
        targets = self.bash("cmake --build %s --target help" % build_dir)
        for wanted in ("keybridge", "keybridged", "keybridge_man"):
            self.assertRegex(targets, r"\.\.\. %s\n" % wanted)
        for unwanted in ("keybridge_core_tests", "keybridge_daemon_tests", "keybridge_core_bench"):
            self.assertNotIn(unwanted, targets)


if __name__ == "__main__":
    SOURCE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
