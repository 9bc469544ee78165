#!/usr/bin/python3
"""Runs every snippet of docs/CLIENTS.md against a real keybridged.

Each fenced block of the client sections is written to a scratch folder as it stands (only the
port 8645 becomes the test daemon's) and run: JavaScript with node (its packages resolved from
tests/node/node_modules, installed by `make test`), the curl block with bash, the Python block
with /usr/bin/python3 (Debian's python3-websockets). `keybridge` is on PATH and XDG_DATA_HOME
points at the daemon's data folder, so `keybridge token` finds it as it would for a user. Each
snippet must succeed and report chain 31337, the daemon's chain. The test also checks that a
token from before a restart is refused and that `keybridge token` then gives the new one.

Usage: clients_doc_test.py KEYBRIDGED KEYBRIDGE [unittest options]
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
NODE_MODULES = os.path.join(SOURCE, "tests", "node", "node_modules")
KEYBRIDGED = KEYBRIDGE = None
CHAIN_ID = 31337
TIMEOUT = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snippets():
    """[(language, name, code)] of docs/CLIENTS.md's fenced blocks, in order."""
    with open(os.path.join(SOURCE, "docs", "CLIENTS.md")) as f:
        text = f.read()
    out = []
    for language, code in re.findall(r"```(\w+)\n(.*?)```", text, re.S):
        name = re.search(r"^(?://|#) file: (\S+)", code, re.M)
        out.append((language, name.group(1) if name else None, code))
    return out


class ClientsDoc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="keybridge-clients-")
        cls.xdg = os.path.join(cls.tmp, "xdg")
        cls.datadir = os.path.join(cls.xdg, "keybridge")
        os.makedirs(cls.datadir, mode=0o700)
        cls.port = free_port()
        # node resolves a script's imports from node_modules folders above it.
        os.symlink(NODE_MODULES, os.path.join(cls.tmp, "node_modules"))
        bin_dir = os.path.join(cls.tmp, "bin")
        os.makedirs(bin_dir)
        os.symlink(KEYBRIDGE, os.path.join(bin_dir, "keybridge"))
        cls.env = dict(os.environ, XDG_DATA_HOME=cls.xdg,
                       PATH=bin_dir + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        cls.env.pop("ASAN_OPTIONS", None)
        cls.daemon = None
        cls.start_daemon()

    @classmethod
    def start_daemon(cls):
        cls.daemon = subprocess.Popen(
            [KEYBRIDGED, "--datadir", cls.datadir, "--listen", "127.0.0.1:%d" % cls.port,
             "--chain-id", str(CHAIN_ID)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", cls.port, timeout=5)
            try:
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            if cls.daemon.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("keybridged did not start")
            time.sleep(0.05)

    @classmethod
    def stop_daemon(cls):
        cls.daemon.terminate()
        cls.daemon.wait(timeout=TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        if cls.daemon.poll() is None:
            cls.daemon.kill()
            cls.daemon.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_snippet(self, language, name, code):
        code = code.replace("127.0.0.1:8645", "127.0.0.1:%d" % self.port)
        if language == "js":
            path = os.path.join(self.tmp, name)
            argv = ["node", path]
        elif language == "python":
            path = os.path.join(self.tmp, name)
            argv = ["/usr/bin/python3", path]
        else:
            path = os.path.join(self.tmp, "snippet.sh")
            argv = ["bash", "-e", path]
        with open(path, "w") as f:
            f.write(code)
        run = subprocess.run(argv, cwd=self.tmp, env=self.env, capture_output=True, text=True,
                             timeout=TIMEOUT)
        self.assertEqual(run.returncode, 0, "%s:\n%s\n%s" % (name or language, run.stdout,
                                                            run.stderr))
        return run.stdout

    def test_every_snippet_runs(self):
        found = snippets()
        names = [n for _, n, _ in found if n]
        self.assertEqual(names, ["ethers-websocket.mjs", "ethers-http.mjs", "viem-http.mjs",
                                 "viem-websocket.mjs", "viem-custom.mjs", "web3-http.mjs",
                                 "python-websockets.py"])
        ran = 0
        for language, name, code in found:
            if language == "sh" and code.strip().startswith("keybridge token"):
                out = self.run_snippet(language, name, code)
                with open(os.path.join(self.datadir, ".cookie")) as f:
                    self.assertEqual(out.strip(), f.read().strip())
                continue
            with self.subTest(snippet=name or language):
                out = self.run_snippet(language, name, code)
                if language == "sh":
                    self.assertEqual(json.loads(out),
                                     {"jsonrpc": "2.0", "id": 1, "result": hex(CHAIN_ID)})
                else:
                    self.assertIn("chain %d\n" % CHAIN_ID, out)
                ran += 1
        self.assertEqual(ran, 8)

    def test_the_token_rotates_and_keybridge_token_follows(self):
        with open(os.path.join(self.datadir, ".cookie")) as f:
            old = f.read().strip()
        type(self).stop_daemon()
        type(self).start_daemon()
        new = subprocess.run(["keybridge", "token"], env=self.env, capture_output=True,
                             text=True, timeout=TIMEOUT, check=True).stdout.strip()
        self.assertNotEqual(new, old)
        self.assertRegex(new, r"^[0-9a-f]{64}$")
        for token, status in ((old, 4100), (new, None)):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            conn.request("POST", "/", json.dumps({"jsonrpc": "2.0", "id": 1, "method":
                                                  "keybridge_status", "params": []}),
                         {"Authorization": "Bearer " + token,
                          "Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
            conn.close()
            if status is None:
                self.assertIn("result", answer)
            else:
                self.assertEqual(answer["error"]["code"], status)
        # Snippets started after the restart work with the new daemon.
        custom = [s for s in snippets() if s[1] == "viem-custom.mjs"][0]
        self.assertIn("chain %d\n" % CHAIN_ID, self.run_snippet(*custom))


if __name__ == "__main__":
    KEYBRIDGED, KEYBRIDGE = [os.path.abspath(a) for a in sys.argv[1:3]]
    del sys.argv[1:3]
    unittest.main()
