#!/usr/bin/python3
"""Keeps docs/RPC.md and docs/POLICY.md true to the daemon.

- The method tables of docs/RPC.md list exactly the methods keybridged serves (rpc_methods on the
  control socket), and the Access column says "approver" for the methods only the control socket
  is shown, "token" for those a client without the token is not shown, "anyone" otherwise.
- The settings table lists exactly keybridged's options with the defaults `keybridged --help`
  prints, and the limits table repeats those defaults.
- The config file example is accepted by keybridged, and so is every ```policy block of
  docs/POLICY.md (keybridged refuses a malformed rule at start).

Usage: rpc_doc_test.py PATH_TO_keybridged [unittest options]
"""

import http.client
import socket
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "..", "..", "docs")
KEYBRIDGED = None
TIMEOUT = 120


def read_doc(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return f.read()


def section(text, heading):
    """The text under a '## heading' up to the next '## ' heading."""
    match = re.search(r"^## " + re.escape(heading) + r"\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "docs/RPC.md has no section '## %s'" % heading
    return match.group(1)


def table_rows(text):
    """Rows of the markdown tables in text, as lists of stripped cells (header rows skipped)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or re.match(r"^\|[-| ]+\|$", line):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        rows.append(cells)
    return [r for r in rows if r and r[0] not in ("Method", "Setting", "Code", "Request",
                                                    "Subscription", "Key")]


def unquote(cell):
    return cell.strip("`")


def control_call(datadir, method, params=None):
    """One call on keybridged's control socket (one JSON text per line); the result."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(TIMEOUT)
        conn.connect(os.path.join(datadir, "keybridged.sock"))
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        conn.sendall((json.dumps(request) + "\n").encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return json.loads(answer)["result"]


class Daemon:
    def __init__(self, datadir, *extra):
        self.proc = subprocess.Popen([KEYBRIDGED, "--datadir", datadir, *extra],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.log = []
        ports = queue.Queue()

        def read():
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace")
                self.log.append(line)
                match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
                if match:
                    ports.put(int(match.group(1)))
            ports.put(None)
        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        self.port = ports.get(timeout=TIMEOUT)
        if self.port is None:
            self.proc.wait()
            raise AssertionError("keybridged did not start: %s" % "".join(self.log))
        with open(os.path.join(datadir, ".cookie")) as f:
            self.token = f.read().strip()
        self.wait_until_serving()

    def wait_until_serving(self):
        """Waits for GET /health: keybridged logs "listening" before it handles SIGTERM."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            if time.monotonic() > deadline:
                raise AssertionError("keybridged does not answer GET /health")
            time.sleep(0.05)

    def rpc(self, method, params, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        conn.request("POST", "/", body, dict(headers, **{"Content-Type": "application/json"}))
        try:
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=TIMEOUT)
        self.reader.join(timeout=TIMEOUT)
        self.proc.stderr.close()
        return code


class RpcDoc(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="keybridge-rpc-doc-")
        self.text = read_doc("RPC.md")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_method_tables_match_rpc_methods(self):
        rows = table_rows(section(self.text, "Methods"))
        documented = {}
        for row in rows:
            self.assertEqual(len(row), 5, row)
            name = unquote(row[0])
            self.assertNotIn(name, documented, "documented twice: " + name)
            self.assertIn(row[1], ("anyone", "token", "approver"), row)
            documented[name] = row[1]
        self.assertGreater(len(documented), 40)

        daemon = Daemon(os.path.join(self.tmp, "d"), "--listen", "127.0.0.1:0")
        try:
            served = control_call(os.path.join(self.tmp, "d"), "rpc_methods")
            tokened = daemon.rpc("rpc_methods", [], {"Authorization": "Bearer " + daemon.token})
            public = daemon.rpc("rpc_methods", [], {"Origin": "https://page.example"})
        finally:
            self.assertEqual(daemon.stop(), 0)
        served = {m["name"] for m in served}
        public = {m["name"] for m in public["result"]}
        tokened = {m["name"] for m in tokened["result"]}
        self.assertEqual(set(documented), served,
                         "docs/RPC.md and rpc_methods differ: documented only %s, served only %s"
                         % (sorted(set(documented) - served), sorted(served - set(documented))))
        for name, access in documented.items():
            expected = "anyone" if name in public else "token" if name in tokened else "approver"
            self.assertEqual(access, expected, name)

    def help_defaults(self):
        run = subprocess.run([KEYBRIDGED, "--help"], capture_output=True, text=True,
                             timeout=TIMEOUT, check=True)
        defaults = {}
        for line in run.stdout.splitlines():
            match = re.match(r"^  --([a-z-]+)(?: \S+(?: \[\S+\])?)?\s{2,}(.*)$", line)
            if not match:
                continue
            default = re.search(r"\[default: (.*)\]$", match.group(2))
            defaults[match.group(1)] = default.group(1) if default else ""
        for flag in ("help", "version"):
            self.assertIn(flag, defaults)
            del defaults[flag]
        self.assertGreater(len(defaults), 15)
        return defaults

    def test_settings_table_matches_help(self):
        defaults = self.help_defaults()
        rows = table_rows(section(self.text, "Settings and the config file"))
        documented = {unquote(r[0]): unquote(r[1]) for r in rows}
        self.assertEqual(documented, defaults)

        limits = table_rows(section(self.text, "Limits"))
        self.assertGreater(len(limits), 8)
        for row in limits:
            self.assertEqual(unquote(row[1]), defaults[unquote(row[0])], row)

    def test_config_example_and_policy_examples_are_accepted(self):
        example = re.search(r"```ini\n(.*?)```", section(self.text, "Settings and the config file"),
                            re.S).group(1)
        blocks = re.findall(r"```policy\n(.*?)```", read_doc("POLICY.md"), re.S)
        self.assertGreaterEqual(len(blocks), 3)
        for i, block in enumerate(blocks):
            policy = os.path.join(self.tmp, "policy-%d" % i)
            with open(policy, "w") as f:
                f.write(block)
            self.assertIn("policy = /home/me/.config/keybridge/policy", example)
            config = os.path.join(self.tmp, "keybridged-%d.conf" % i)
            with open(config, "w") as f:
                f.write(example.replace("/home/me/.config/keybridge/policy", policy))
            os.chmod(config, 0o600)  # keybridged refuses a config file others may read
            # The command line's --listen replaces the file's port with an ephemeral one.
            daemon = Daemon(os.path.join(self.tmp, "d%d" % i), "--config", config, "--listen",
                            "127.0.0.1:0")
            rules = len([l for l in block.splitlines() if l.split("#")[0].strip()])
            self.assertIn("policy %s: %d rules" % (policy, rules), "".join(daemon.log))
            self.assertEqual(daemon.stop(), 0)

        # A malformed rule is refused at start, naming the line.
        bad = os.path.join(self.tmp, "bad-policy")
        with open(bad, "w") as f:
            f.write("approve origin=local\napprove max-value=0.5eth\n")
        run = subprocess.run([KEYBRIDGED, "--datadir", os.path.join(self.tmp, "bad"), "--listen",
                              "127.0.0.1:0", "--policy", bad], capture_output=True, text=True,
                             timeout=TIMEOUT)
        self.assertEqual(run.returncode, 1)
        self.assertIn(bad + ":2:", run.stderr)


def main():
    global KEYBRIDGED
    if len(sys.argv) < 2:
        sys.stderr.write("usage: rpc_doc_test.py PATH_TO_keybridged [unittest options]\n")
        return 2
    KEYBRIDGED = os.path.abspath(sys.argv[1])
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
