#!/usr/bin/python3
"""End-to-end tests of keybridge's daemon commands against a real keybridged.

Each test starts keybridged on 127.0.0.1:0 (the port is read from its "listening on" log line)
with a copy of a light-KDF vault restored from the phrase "all all ... all", then drives
`keybridge status/unlock/lock/approve/permissions` while Python clients talk JSON-RPC to the
daemon over HTTP (with the cookie token, or as a browser page with an Origin header).
The interactive approver and the password prompt run on a pseudo-terminal.
Python 3 standard library only.

Usage: daemon_cli_test.py PATH_TO_keybridge PATH_TO_keybridged [PATH_TO_keybridge_trezor_sim]
       [unittest options]
(without the simulator, the test of the approver's Trezor PIN grid is skipped, saying so)

The expected signature and signed transaction were computed independently with ethers 6.17.0
(HDNodeWallet.fromPhrase(phrase, undefined, "m/44'/60'/0'/0/0").signMessage / signTransaction).
"""

import errno
import http.client
import json
import os
import pty
import queue
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

KEYBRIDGE = None
KEYBRIDGED = None
TREZOR_SIM = None

ALL_PHRASE = "all all all all all all all all all all all all"
ADDRESS = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"  # m/44'/60'/0'/0/0 of ALL_PHRASE
VAULT_PW = "daemon-vault-Pw-3f8a!"
WRONG_PW = "daemon-wrong-Pw-11c7?"
CHAIN_ID = 31337

MESSAGE = "Hello keybridge \u2713 1"
MESSAGE_SIGNATURE = (
    "0xa0a09d27ed35765d2e25a778f722d76b40865201407511a1fe58c4dc4b2d5f416a7c942f5bf64368c1bb3633"
    "812e01c9f416d711bbbb0623c82ee2fd9c707fbf1b")
TRANSFER_DATA = ("0xa9059cbb000000000000000000000000ba98d6a5ac827632e3457de7512d211e4ff7e8bd"
                 "00000000000000000000000000000000000000000000000000000000000003e8")
TRANSACTION = {
    "from": ADDRESS, "type": "0x2", "chainId": hex(CHAIN_ID), "nonce": "0x7", "gas": "0xea60",
    "maxFeePerGas": hex(30_000_000_000), "maxPriorityFeePerGas": hex(1_500_000_000),
    "to": "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23", "value": hex(1_500_000_000_000_000_000),
    "data": TRANSFER_DATA,
}
SIGNED_TRANSACTION = (
    "0x02f8ba827a69078459682f008506fc23ac0082ea60942c7536e3605d9c16a7a3d7b1898e529396a65c2388"
    "14d1120d7b160000b844a9059cbb000000000000000000000000ba98d6a5ac827632e3457de7512d211e4ff7e8"
    "bd00000000000000000000000000000000000000000000000000000000000003e8c080a05f45191ffbca524788"
    "664e594d19daea57843a2407fd9e1b130785acf83af2f7a071b6ee4c08bceb2ad21c69994e29f4d2508c523ee3"
    "2c93ea57300298980830cb")
# The EIP-712 example "Mail", with two strings a hostile page might send: a terminal escape and a
# right-to-left override.
TYPED_DATA = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                         {"name": "chainId", "type": "uint256"},
                         {"name": "verifyingContract", "type": "address"}],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
        "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"},
                 {"name": "contents", "type": "string"}, {"name": "note", "type": "string"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
               "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
    "message": {
        "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
        "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
        "contents": "Hello, Bob!",
        "note": "\x1b[2Jcleared \u202eevil",
    },
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_WRONG_PASSWORD = 0, 1, 2, 3
EXIT_NOT_FOUND, EXIT_INVALID_INPUT = 4, 6
TIMEOUT = 120  # seconds for one step; sanitizer builds are slow


# ---------------------------------------------------------------- the daemon and its clients

class Daemon:
    """keybridged on an ephemeral loopback port; its log is collected from stderr."""

    def __init__(self, datadir, *extra, port=0):
        self.datadir = datadir
        self.lines = []
        self._listening = queue.Queue()
        self.proc = subprocess.Popen(
            [KEYBRIDGED, "--datadir", datadir, "--listen", "127.0.0.1:%d" % port, "--chain-id",
             str(CHAIN_ID), *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        try:
            self.port = self._listening.get(timeout=TIMEOUT)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError("keybridged did not start: %s" % self.log())
        if self.port is None:
            raise AssertionError("keybridged exited at start: %s" % self.log())
        self.address = "127.0.0.1:%d" % self.port
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

    def _read_log(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self._listening.put(int(match.group(1)))
        self._listening.put(None)

    def log(self):
        return "".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("keybridged did not stop on SIGTERM")
        finally:
            self._reader.join(timeout=TIMEOUT)
            self.proc.stderr.close()

    def rpc(self, method, params, token=True, origin=None, timeout=TIMEOUT):
        """One JSON-RPC call over HTTP POST; returns the response object."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + self.token
        if origin:
            headers["Origin"] = origin
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        try:
            conn.request("POST", "/", body.encode("utf-8"), headers)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def rpc_async(self, method, params, **kwargs):
        """Starts the call in a thread (it waits for an approval); .result() waits for it."""
        return PendingCall(self, method, params, kwargs)


class PendingCall:
    def __init__(self, daemon, method, params, kwargs):
        self._answer = queue.Queue()

        def run():
            try:
                self._answer.put(daemon.rpc(method, params, **kwargs))
            except Exception as e:  # handed to the test thread
                self._answer.put(e)
        threading.Thread(target=run, daemon=True).start()

    def result(self, timeout=TIMEOUT):
        answer = self._answer.get(timeout=timeout)
        if isinstance(answer, Exception):
            raise answer
        return answer


def memory_holding(pid, needle):
    """The writable or anonymous mappings of process `pid` that contain `needle` (bytes), as
    their /proc/PID/maps lines. Reading the memory of a non-dumpable process (keybridge is one)
    takes root; None when it cannot be read."""
    found = []
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError:
        return None
    with mem:
        for line in maps:
            fields = line.split()
            perms = fields[1]
            path = fields[5] if len(fields) > 5 else ""
            if "r" not in perms or ("w" not in perms and path.startswith("/")):
                continue  # unreadable, or the program's and libraries' read-only pages
            if path in ("[vvar]", "[vsyscall]"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start > (1 << 30):
                continue  # AddressSanitizer's shadow reservations, not the program's data
            if region_holds(mem, start, end, needle):
                found.append(line)
    return found


def region_holds(mem, start, end, needle):
    """Reads [start, end) of an open /proc/PID/mem in 1 MiB steps (overlapping by the needle's
    length, so a match across a step is found); pages that cannot be read are skipped."""
    step = 1 << 20
    tail = b""
    at = start
    while at < end:
        size = min(step, end - at)
        try:
            mem.seek(at)
            data = mem.read(size)
        except OSError:
            data, tail = b"", b""
        if needle in tail + data:
            return True
        tail = data[-(len(needle) - 1):] if data else b""
        at += size
    return False


class JsonApprover:
    """`keybridge approve --json`: requests arrive as JSON lines, decisions go in as lines."""

    def __init__(self, datadir, daemon, *extra):
        self.proc = subprocess.Popen(
            [KEYBRIDGE, "--datadir", datadir, "approve", "--json", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        self.events = queue.Queue()
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8")
            self.lines.append(line)
            self.events.put(json.loads(line))
        self.events.put(None)

    def next_event(self, timeout=TIMEOUT):
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no event from the approver; output so far: %r" % self.lines)
        if event is None:
            raise AssertionError("the approver ended: %r %r" % (self.lines, self.stderr_text()))
        return event

    def expect_request(self, method):
        event = self.next_event()
        assert event.get("event") == "request", event
        assert event["request"]["method"] == method, event
        return event["request"]

    def answer(self, word):
        self.proc.stdin.write((word + "\n").encode())
        self.proc.stdin.flush()

    def answer_for(self, request, words):
        """Answers "approve …" / "reject" naming the request's digest, as --json requires:
        "approve 2" goes out as "approve DIGEST 2"."""
        first, _, rest = words.partition(" ")
        self.answer(" ".join(w for w in (first, request["digest"], rest) if w))

    def decide(self, request, word):
        """Answers approve/reject and checks the approver reports that decision."""
        self.answer_for(request, word)
        event = self.next_event()
        assert event == {"event": "decided", "id": request["id"], "decision": word}, event

    def finish(self):
        """Closes stdin; returns (exit code, last line as JSON)."""
        self.proc.stdin.close()
        code = self.proc.wait(timeout=TIMEOUT)
        last = None
        while True:
            event = self.events.get(timeout=TIMEOUT)
            if event is None:
                break
            last = event
        return code, last

    def stderr_text(self):
        return self.proc.stderr.read().decode("utf-8") if self.proc.poll() is not None else ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()


class PtyProgram:
    """keybridge on a pseudo-terminal that is its stdin, stdout and controlling terminal."""

    def __init__(self, args, stderr_path):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(err, 2)
                os.execv(KEYBRIDGE, [KEYBRIDGE] + list(args))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.screen = b""
        self._unread = b""
        self.returncode = None

    def _read(self, deadline):
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            raise EOFError()
        self.screen += data
        self._unread += data
        return True

    def expect(self, pattern, timeout=TIMEOUT):
        """Waits for the regex (bytes) in the output not yet consumed; consumes up to its end."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            match = regex.search(self._unread)
            if match:
                self._unread = self._unread[match.end():]
                return match
            try:
                if not self._read(deadline):
                    raise AssertionError("timed out waiting for %r; screen: %r" %
                                         (pattern, self.screen[-3000:]))
            except EOFError:
                raise AssertionError("program ended while waiting for %r; screen: %r" %
                                     (pattern, self.screen[-3000:]))

    def send(self, text):
        os.write(self.fd, text.encode("utf-8"))

    def wait(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._read(min(deadline, time.monotonic() + 0.2))
            except EOFError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                return self.returncode
        self.close()
        raise AssertionError("the program did not exit; screen: %r" % self.screen[-3000:])

    def close(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.returncode = -signal.SIGKILL
        try:
            os.close(self.fd)
        except OSError:
            pass


# ---------------------------------------------------------------- tests

class DaemonCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.base = tempfile.mkdtemp(prefix="keybridge-daemon-cli-")
        cls.vault_pw = cls.write(cls.base, "vault.pw", VAULT_PW + "\n")
        cls.wrong_pw = cls.write(cls.base, "wrong.pw", WRONG_PW + "\n")
        phrase = cls.write(cls.base, "phrase", ALL_PHRASE + "\n")
        cls.template = os.path.join(cls.base, "template")
        run = subprocess.run(
            [KEYBRIDGE, "--datadir", cls.template, "restore", "--mnemonic-file", phrase,
             "--password-file", cls.vault_pw, "--light-kdf"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=600, start_new_session=True)
        assert run.returncode == 0, run

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.base, ignore_errors=True)

    @staticmethod
    def write(folder, name, text):
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=self.base)
        self.datadir = os.path.join(self.tmp, "data")
        shutil.copytree(self.template, self.datadir)
        self.daemons = []
        self.cleanups = []

    def tearDown(self):
        for cleanup in self.cleanups:
            cleanup()
        for daemon in self.daemons:
            daemon.stop()
            log = daemon.log()
            for secret in (VAULT_PW, WRONG_PW):
                self.assertNotIn(secret, log)

    def start_daemon(self, *extra, port=0):
        daemon = Daemon(self.datadir, *extra, port=port)
        self.daemons.append(daemon)
        return daemon

    def derive_accounts(self, count):
        """Derives `count` more accounts with the tool; their addresses."""
        run = self.cli("account", "derive", "--count", str(count), "--password-file",
                       self.vault_pw, "--json", check=EXIT_OK)
        return [a["address"] for a in json.loads(run.stdout)["accounts"]]

    def cli(self, *args, daemon=None, check=None):
        # The tool finds the daemon through the control socket of --datadir; `daemon` only says
        # which one the caller expects to answer.
        argv = ["--datadir", self.datadir] + list(args)
        run = subprocess.run([KEYBRIDGE] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=TIMEOUT, start_new_session=True)
        run.stdout = run.stdout.decode("utf-8")
        run.stderr = run.stderr.decode("utf-8")
        for secret in (VAULT_PW, WRONG_PW):
            self.assertNotIn(secret, run.stdout + run.stderr)
        if check is not None:
            self.assertEqual(run.returncode, check, run)
        return run

    def status(self, daemon):
        return json.loads(self.cli("status", "--json", daemon=daemon, check=EXIT_OK).stdout)

    def json_approver(self, daemon, *extra):
        approver = JsonApprover(self.datadir, daemon, *extra)
        self.cleanups.append(approver.kill)
        return approver

    def pty_program(self, *args):
        program = PtyProgram(["--datadir", self.datadir] + list(args),
                             os.path.join(self.tmp, "pty-stderr-%d" % time.monotonic_ns()))
        self.cleanups.append(program.close)
        return program

    def connect_local_client(self, daemon, approver):
        """Grants the token client ("local") the vault's account through the approver."""
        call = daemon.rpc_async("eth_requestAccounts", [])
        request = approver.expect_request("eth_requestAccounts")
        self.assertEqual(request["origin"], "local")
        self.assertIs(request["authenticated"], True)
        approver.decide(request, "approve")
        self.assertEqual(call.result(), {"jsonrpc": "2.0", "id": 1, "result": [ADDRESS.lower()]})

    # ------------------------------------------------------------ status, unlock, lock

    def test_status_unlock_wrong_then_right_password_and_lock(self):
        daemon = self.start_daemon()
        run = self.cli("status", daemon=daemon, check=EXIT_OK)
        self.assertIn("is running (%s)" % os.path.join(self.datadir, "keybridged.sock"),
                      run.stdout)
        self.assertRegex(run.stdout, r"vault:\s+locked, 1 accounts")
        self.assertRegex(run.stdout, r"default chain:\s+31337")
        data = self.status(daemon)
        self.assertIs(data["ok"], True)
        self.assertIs(data["unlocked"], False)
        self.assertEqual(data["accounts"], 1)
        self.assertEqual(data["pendingApprovals"], 0)
        self.assertEqual(data["controlSocket"], os.path.join(self.datadir, "keybridged.sock"))
        self.assertEqual(data["datadir"], self.datadir)
        self.assertIn("data folder:       " + self.datadir, run.stdout)

        run = self.cli("unlock", "--password-file", self.wrong_pw, daemon=daemon,
                       check=EXIT_WRONG_PASSWORD)
        self.assertIn("wrong password", run.stderr)
        self.assertIs(self.status(daemon)["unlocked"], False)

        run = self.cli("unlock", "--password-file", self.vault_pw, daemon=daemon, check=EXIT_OK)
        self.assertIn("unlocked", run.stdout)
        self.assertIs(self.status(daemon)["unlocked"], True)
        self.assertRegex(self.cli("status", daemon=daemon).stdout, r"vault:\s+unlocked")

        run = self.cli("lock", "--json", daemon=daemon, check=EXIT_OK)
        self.assertEqual(json.loads(run.stdout), {"locked": True, "ok": True})
        self.assertIs(self.status(daemon)["unlocked"], False)

    def test_status_shows_chains_with_their_node_and_origins_with_their_chain(self):
        # ID=URL,NAME needs no quoting; the node's path (an API key) is not shown.
        daemon = self.start_daemon("--chain", "10=http://127.0.0.1:9/v3/SECRETKEY,Optimism",
                                   "--chain", "31337=http://localhost:8545/,Anvil")
        approver = self.json_approver(daemon)
        self.connect_local_client(daemon, approver)
        text = self.cli("status", daemon=daemon, check=EXIT_OK).stdout
        self.assertNotIn("SECRETKEY", text)
        self.assertRegex(text, r"chains:\s+10 Optimism  http://127\.0\.0\.1:9\n"
                               r"\s+31337 Anvil  http://localhost:8545\n")
        self.assertRegex(text, r"origins:\s+local  chain 31337, 1 accounts\n")
        data = self.status(daemon)
        self.assertEqual(data["chains"], [
            {"chainId": "0xa", "name": "Optimism", "upstream": "http://127.0.0.1:9"},
            {"chainId": "0x7a69", "name": "Anvil", "upstream": "http://localhost:8545"}])
        self.assertEqual(data["origins"], [{"origin": "local", "chainId": "0x7a69", "accounts": 1}])
        # A chain switch of a granted origin shows in status and permissions list.
        self.assertEqual(daemon.rpc("wallet_switchEthereumChain", [{"chainId": "0xa"}])["result"],
                         None)
        self.assertRegex(self.cli("status", daemon=daemon).stdout,
                         r"origins:\s+local  chain 10, 1 accounts")
        listed = json.loads(self.cli("permissions", "list", "--json", daemon=daemon).stdout)
        self.assertEqual(listed["permissions"]["local"]["chainId"], "0xa")
        self.assertRegex(self.cli("permissions", "list", daemon=daemon).stdout,
                         r"local  \(chain 10, granted ")
        # A request waiting for a decision is listed.
        page = "https://app.example"
        call = daemon.rpc_async("eth_requestAccounts", [], token=False, origin=page)
        request = approver.expect_request("eth_requestAccounts")
        text = self.cli("status", daemon=daemon).stdout
        self.assertIn("pending approvals: 1\n", text)
        self.assertIn("waiting:           request %d, eth_requestAccounts from %s on chain 31337\n"
                      % (request["id"], page), text)
        self.assertEqual([r["id"] for r in self.status(daemon)["pending"]], [request["id"]])
        approver.decide(request, "reject")
        self.assertEqual(call.result()["error"]["code"], 4001)
        approver.finish()
        daemon.stop()
        self.daemons.remove(daemon)
        # Without the daemon the file still knows the chain.
        text = self.cli("permissions", "list", check=EXIT_OK).stdout
        self.assertRegex(text, r"local  \(chain 10, granted ")

    def test_chain_commands_add_change_and_remove_without_the_url_on_the_command_line(self):
        daemon = self.start_daemon("--chain", "1=http://127.0.0.1:9/,Ethereum")
        # Nothing answers on port 9: the chain is added all the same, and the tool says so.
        url_file = self.write(self.tmp, "node.url", "http://127.0.0.1:9/v3/SECRETKEY\n")
        run = self.cli("chain", "add", "0x7a6a", "--name", "Devnet", "--url-file", url_file,
                       check=EXIT_OK)
        self.assertIn("Added 31338  \"Devnet\"  http://127.0.0.1:9  (user)", run.stdout)
        self.assertIn("did not answer yet", run.stdout)
        self.assertNotIn("SECRETKEY", run.stdout)
        listed = json.loads(self.cli("chain", "list", "--json", check=EXIT_OK).stdout)
        # CHAIN_ID is the default chain (configured without a node).
        self.assertEqual([c["chainId"] for c in listed["chains"]], ["0x1", "0x7a69", "0x7a6a"])
        self.assertNotIn("SECRETKEY", json.dumps(listed))
        text = self.cli("chain", "list", check=EXIT_OK).stdout
        self.assertIn("1  \"Ethereum\"  http://127.0.0.1:9  (config)\n", text)
        self.assertIn("31337  \"Chain 31337\"  no node  (config, default)\n", text)
        # The URL from standard input.
        run = subprocess.run([KEYBRIDGE, "--datadir", self.datadir, "chain", "set-upstream",
                              "1"], input=b"http://127.0.0.1:9/KEY2\n", capture_output=True,
                             timeout=TIMEOUT, start_new_session=True)
        self.assertEqual(run.returncode, EXIT_OK, run)
        self.assertIn(b"http://127.0.0.1:9  (config, your node)", run.stdout)
        with open(os.path.join(self.datadir, "chains.json")) as f:
            saved = json.load(f)
        self.assertEqual(saved["chains"]["1"]["rpcUrl"], "http://127.0.0.1:9/KEY2")
        self.assertEqual(os.stat(os.path.join(self.datadir, "chains.json")).st_mode & 0o777,
                         0o600)
        # Bad input and configured chains are refused with the daemon's reason.
        run = self.cli("chain", "remove", "1")
        self.assertNotEqual(run.returncode, EXIT_OK)
        self.assertIn("configuration file", run.stderr)
        bad = self.write(self.tmp, "bad.url", "ftp://127.0.0.1/\n")
        run = self.cli("chain", "add", "77", "--name", "Bad", "--url-file", bad)
        self.assertNotEqual(run.returncode, EXIT_OK)
        self.assertIn("http:// or https://", run.stderr)
        self.cli("chain", "remove", "31338", check=EXIT_OK)
        listed = json.loads(self.cli("chain", "list", "--json", check=EXIT_OK).stdout)
        self.assertEqual([c["chainId"] for c in listed["chains"]], ["0x1", "0x7a69"])
        self.assertNotIn("SECRETKEY", daemon.log())
        self.assertNotIn("KEY2", daemon.log())

    def test_token_prints_the_running_daemons_cookie(self):
        run = self.cli("token", check=EXIT_FAILURE)
        self.assertIn("keybridged is not running", run.stderr)
        daemon = self.start_daemon()
        run = self.cli("token", check=EXIT_OK)
        self.assertEqual(run.stdout, daemon.token + "\n")
        self.assertEqual(json.loads(self.cli("token", "--json").stdout)["token"], daemon.token)
        daemon.stop()
        self.daemons.remove(daemon)
        again = self.start_daemon()
        self.assertNotEqual(again.token, daemon.token)  # rotated at every start
        self.assertEqual(self.cli("token", check=EXIT_OK).stdout.strip(), again.token)

    def test_ui_opens_the_launcher_file_without_the_secret_on_a_command_line(self):
        run = self.cli("ui", check=EXIT_FAILURE)
        self.assertIn("keybridged is not running", run.stderr)
        daemon = self.start_daemon()
        page = json.loads(self.cli("ui", "--no-open", "--json", check=EXIT_OK).stdout)
        self.assertRegex(page["url"], r"^http://127\.0\.0\.1:\d+/ui/$")
        launcher = page["launcher"]
        self.assertEqual(launcher, os.path.join(self.datadir, "approval-page.html"))
        self.assertEqual(os.stat(launcher).st_mode & 0o777, 0o600)
        with open(launcher, encoding="utf-8") as f:
            html = f.read()
        secret = re.search(r'name="secret" value="([0-9a-f]{64})"', html).group(1)
        self.assertIn('action="%slogin"' % page["url"], html)
        # The opener ($BROWSER) gets the file's path and nothing else.
        record = os.path.join(self.tmp, "browser-args")
        browser = os.path.join(self.tmp, "fake-browser")
        with open(browser, "w", encoding="utf-8") as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s\n' % record)
        os.chmod(browser, 0o700)
        os.environ["BROWSER"] = browser
        try:
            self.cli("ui", check=EXIT_OK)
        finally:
            del os.environ["BROWSER"]
        with open(record, encoding="utf-8") as f:
            self.assertEqual(f.read(), launcher + "\n")
        self.assertNotIn(secret, daemon.log())
        daemon.stop()
        self.daemons.remove(daemon)
        self.assertFalse(os.path.exists(launcher))  # removed at exit with the cookie
        # A new start makes a new secret.
        self.start_daemon()
        with open(launcher, encoding="utf-8") as f:
            self.assertNotIn(secret, f.read())

    def test_unlock_asks_for_the_password_on_the_terminal(self):
        daemon = self.start_daemon()
        program = self.pty_program("unlock")
        program.expect(rb"Vault password: ")
        program.send(WRONG_PW + "\n")
        self.assertEqual(program.wait(), EXIT_WRONG_PASSWORD)
        program = self.pty_program("unlock")
        program.expect(rb"Vault password: ")
        program.send(VAULT_PW + "\n")
        program.expect(rb"The vault is unlocked")
        self.assertEqual(program.wait(), EXIT_OK)
        self.assertNotIn(VAULT_PW.encode(), program.screen)  # no echo
        self.assertIs(self.status(daemon)["unlocked"], True)

    def test_commands_fail_clearly_without_a_daemon(self):
        for command in (["status"], ["unlock", "--password-file", self.vault_pw], ["lock"],
                        ["approve"], ["approve", "--json"]):
            run = self.cli(*command, check=EXIT_FAILURE)
            self.assertIn("keybridged is not running with the data folder " + self.datadir,
                          run.stderr, command)
            self.assertIn("keybridged.sock", run.stderr, command)
        run = self.cli("status", "--json", check=EXIT_FAILURE)
        self.assertEqual(json.loads(run.stdout)["error"]["code"], "disconnected")

        # A daemon that crashed: its cookie and socket stay, its lock does not.
        daemon = self.start_daemon()
        daemon.proc.kill()
        daemon.proc.wait()
        self.daemons.remove(daemon)
        self.assertTrue(os.path.exists(os.path.join(self.datadir, "keybridged.sock")))
        run = self.cli("status", check=EXIT_FAILURE)
        self.assertIn("left by a keybridged that stopped without cleaning up", run.stderr)

    def test_the_daemon_option_is_gone(self):
        # The data folder names the daemon: no TCP address a stale cookie could point elsewhere.
        run = self.cli("status", "--daemon", "127.0.0.1:8645", check=EXIT_USAGE)
        self.assertIn("--daemon", run.stderr)

    # ------------------------------------------------------------ approve --json

    def test_scripted_approver_approves_and_rejects(self):
        daemon = self.start_daemon()
        self.cli("unlock", "--password-file", self.vault_pw, daemon=daemon, check=EXIT_OK)
        approver = self.json_approver(daemon)
        self.connect_local_client(daemon, approver)

        call = daemon.rpc_async("personal_sign", [MESSAGE, ADDRESS])
        request = approver.expect_request("personal_sign")
        self.assertEqual(request["details"]["message"], MESSAGE)
        self.assertEqual(request["details"]["length"], len(MESSAGE.encode()))
        self.assertEqual(request["account"], ADDRESS)
        self.assertEqual(request["chainId"], CHAIN_ID)
        approver.answer_for(request, "approve")
        self.assertEqual(approver.next_event(),
                         {"event": "decided", "id": request["id"], "decision": "approve"})
        self.assertEqual(call.result()["result"], MESSAGE_SIGNATURE)

        call = daemon.rpc_async("personal_sign", ["0x" + "please reject".encode().hex(), ADDRESS])
        request = approver.expect_request("personal_sign")
        self.assertEqual(request["details"]["message"], "please reject")
        approver.answer("  Reject %s " % request["digest"])
        self.assertEqual(approver.next_event()["decision"], "reject")
        self.assertEqual(call.result()["error"]["code"], 4001)

        # Not UTF-8: no text, the bytes in hex.
        call = daemon.rpc_async("personal_sign", ["0xfffe0001", ADDRESS])
        request = approver.expect_request("personal_sign")
        self.assertIsNone(request["details"]["message"])
        self.assertEqual(request["details"]["messageHex"], "0xfffe0001")
        approver.answer("maybe")  # neither word: asked again, nothing decided
        approver.answer("approve")  # no digest: asked again, nothing decided
        approver.answer("approve 0x" + "00" * 32)  # not this request's digest: the same
        approver.answer_for(request, "reject")
        self.assertEqual(approver.next_event()["decision"], "reject")
        self.assertEqual(call.result()["error"]["code"], 4001)

        code, last = approver.finish()
        self.assertEqual(code, EXIT_OK)
        self.assertEqual(last, {"decided": 4, "ok": True})

    def test_scripted_approver_unlocks_a_locked_vault_then_decides(self):
        """A request to a locked vault asks the approver for the password first (no echo on a
        terminal, never in any output or log), then for the decision."""
        daemon = self.start_daemon()
        approver = self.json_approver(daemon)
        self.connect_local_client(daemon, approver)
        self.assertIs(self.status(daemon)["unlocked"], False)
        call = daemon.rpc_async("personal_sign", [MESSAGE, ADDRESS])
        event = approver.next_event()
        self.assertEqual(event["event"], "input", event)
        self.assertEqual(event["request"]["stage"], "needs-input")
        self.assertEqual(event["request"]["input"], "unlock")
        approver.answer(WRONG_PW)
        refused = approver.next_event()
        self.assertEqual(refused["event"], "refused", refused)
        self.assertEqual(approver.next_event()["event"], "input")  # asked again
        approver.answer(VAULT_PW)
        request = approver.expect_request("personal_sign")
        self.assertEqual(request["stage"], "waiting")
        self.assertIs(self.status(daemon)["unlocked"], True)
        # The password crossed the approver's input buffer and its request: nothing of it is
        # left in the approver's memory once sent (read as root; CI runs as root).
        holding = memory_holding(approver.proc.pid, VAULT_PW.encode())
        if holding is None:
            print("(approver memory not scanned: reading it takes root)", file=sys.stderr)
        else:
            self.assertEqual(holding, [], "the vault password stayed in the approver's memory")
        approver.answer_for(request, "approve")
        self.assertEqual(approver.next_event()["decision"], "approve")
        self.assertEqual(call.result()["result"], MESSAGE_SIGNATURE)
        code, _ = approver.finish()
        self.assertEqual(code, EXIT_OK)

    def test_approve_once_shows_a_request_pending_before_it_started(self):
        daemon = self.start_daemon()
        call = daemon.rpc_async("eth_requestAccounts", [])
        deadline = time.monotonic() + TIMEOUT
        while self.status(daemon)["pendingApprovals"] != 1:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        approver = self.json_approver(daemon, "--once")
        approver.decide(approver.expect_request("eth_requestAccounts"), "approve")
        self.assertEqual(approver.proc.wait(timeout=TIMEOUT), EXIT_OK)  # by itself
        self.assertEqual(call.result()["result"], [ADDRESS.lower()])

    def test_a_request_that_times_out_is_withdrawn_from_the_approver(self):
        daemon = self.start_daemon("--approval-timeout", "2")
        self.cli("unlock", "--password-file", self.vault_pw, daemon=daemon, check=EXIT_OK)
        approver = self.json_approver(daemon)
        self.connect_local_client(daemon, approver)
        call = daemon.rpc_async("personal_sign", [MESSAGE, ADDRESS])
        request = approver.expect_request("personal_sign")
        self.assertEqual(approver.next_event(), {"event": "withdrawn", "id": request["id"]})
        self.assertEqual(call.result()["error"]["code"], 4001)
        code, last = approver.finish()
        self.assertEqual((code, last), (EXIT_OK, {"decided": 1, "ok": True}))

    def test_scripted_approver_chooses_accounts_and_outlives_a_daemon_restart(self):
        second = self.derive_accounts(1)[0]
        daemon = self.start_daemon()
        approver = self.json_approver(daemon)
        call = daemon.rpc_async("eth_requestAccounts", [], token=False, origin="https://a.test")
        request = approver.expect_request("eth_requestAccounts")
        self.assertEqual([a["address"] for a in request["details"]["accounts"]],
                         [ADDRESS, second])
        approver.answer_for(request, "approve 9")  # not in the list: asked again
        approver.answer_for(request, "approve 2")
        self.assertEqual(approver.next_event(), {"event": "decided", "id": request["id"],
                                                 "decision": "approve", "accounts": [second]})
        self.assertEqual(call.result()["result"], [second.lower()])

        # keybridged stops and starts again on the same port, with a new cookie token.
        port = daemon.port
        self.assertEqual(daemon.stop(), 0)
        self.assertEqual(approver.next_event(),
                         {"event": "disconnected", "message": "keybridged is shutting down"})
        daemon = self.start_daemon(port=port)
        self.assertEqual(approver.next_event(), {"event": "reconnected"})
        call = daemon.rpc_async("eth_requestAccounts", [], token=False, origin="https://b.test")
        request = approver.expect_request("eth_requestAccounts")
        approver.answer_for(request, "approve all")
        self.assertEqual(approver.next_event()["accounts"], [ADDRESS, second])
        self.assertEqual(call.result()["result"], [ADDRESS.lower(), second.lower()])
        code, last = approver.finish()
        self.assertEqual((code, last), (EXIT_OK, {"decided": 2, "ok": True}))

    # ------------------------------------------------------------ Trezor PIN on the terminal

    def start_trezor_sim(self, *args):
        """keybridge_trezor_sim on a free UDP port: (port, control(command) -> answer)."""
        proc = subprocess.Popen([TREZOR_SIM, "--port", "0", *args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)

        def stop():
            proc.kill()
            proc.wait()
            proc.stdout.close()
        self.cleanups.append(stop)
        match = re.match(r"port (\d+) control (\d+)", proc.stdout.readline().decode())
        self.assertIsNotNone(match, "the Trezor simulator did not start")
        port, control_port = int(match.group(1)), int(match.group(2))

        def control(command):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                s.sendto(command.encode(), ("127.0.0.1", control_port))
                return s.recvfrom(256)[0].decode()
        return port, control

    def test_terminal_approver_shows_the_pin_grid_and_sends_the_positions(self):
        """A Trezor One asks for its PIN: `keybridge approve` on a terminal shows the grid of
        positions (the digits are only on the device), reads the positions without echo and
        sends them; `account add --trezor` and then a signature go through."""
        if TREZOR_SIM is None:
            self.skipTest("no PATH_TO_keybridge_trezor_sim given")
        port, control = self.start_trezor_sim("--model", "1", "--pin", "1234")
        daemon = self.start_daemon("--trezor-emulator", "127.0.0.1:%d" % port, "--usb", "off")
        self.cli("unlock", "--password-file", self.vault_pw, daemon=daemon, check=EXIT_OK)
        deadline = time.monotonic() + TIMEOUT
        while not any(d["attached"] for d in json.loads(
                self.cli("devices", "--json", check=EXIT_OK).stdout)["devices"]):
            self.assertLess(time.monotonic(), deadline, "the Trezor simulator never attached")
            time.sleep(0.1)
        program = self.pty_program("approve")
        program.expect(rb"Waiting for requests")

        # keybridge account add, without a terminal of its own: the approver is asked.
        add = subprocess.Popen(
            [KEYBRIDGE, "--datadir", self.datadir, "account", "add", "--trezor", "--index", "1",
             "--json"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        self.cleanups.append(lambda: add.poll() is None and add.kill())
        program.expect(rb"Request \d+: keybridge_deviceAddress")
        program.expect(rb"Needs:\s+pin: Enter your Trezor PIN")
        program.expect(rb"The digits are shown only on the device\. Type the positions of your "
                       rb"PIN's digits on its grid:\r\n    7 8 9\r\n    4 5 6\r\n    1 2 3\r\n")
        program.expect(rb"PIN positions \(empty to cancel the request\): ")
        positions = control("positions 1234")
        self.assertRegex(positions, r"^[1-9]{4}$")
        program.send(positions + "\n")
        out, err = add.communicate(timeout=TIMEOUT)
        self.assertEqual(add.returncode, EXIT_OK, err)
        account = json.loads(out)["account"]
        self.assertEqual(account["device"], "trezor:KBSIM0000000001")
        self.assertEqual(account["path"], "m/44'/60'/0'/0/1")
        self.assertIn("answer it in an approver", err.decode())
        # Typed without echo: the positions never reached the screen.
        self.assertNotIn(positions.encode(), program.screen)

        # Locked again, a signature asks again, after the decision.
        self.assertEqual(control("lock"), "ok")
        call = daemon.rpc_async("eth_requestAccounts", [])
        program.expect(rb"Request \d+: eth_requestAccounts")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("y\n")
        program.expect(rb"Accounts to share \[[^\]]*\] \(numbers from the list, or all\): ")
        program.send("all\n")
        shared = call.result()["result"]
        self.assertIn(account["address"].lower(), shared)
        call = daemon.rpc_async("personal_sign", ["0x" + b"behind a PIN".hex(), account["address"]])
        program.expect(rb"Request \d+: personal_sign")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("y\n")
        program.expect(rb"7 8 9\r\n    4 5 6\r\n    1 2 3\r\n")
        program.expect(rb"PIN positions \(empty to cancel the request\): ")
        positions = control("positions 1234")
        program.send(positions + "\n")
        signature = call.result().get("result", "")
        self.assertRegex(signature, r"^0x[0-9a-f]{130}$")

    def test_account_add_on_a_terminal_asks_the_trezor_pin_and_passphrase_itself(self):
        """On a terminal, `keybridge account add --trezor` answers the PIN and passphrase stages
        of its own address request: the grid of positions, then the passphrase, neither echoed
        nor on its command line."""
        if TREZOR_SIM is None:
            self.skipTest("no PATH_TO_keybridge_trezor_sim given")
        port, control = self.start_trezor_sim("--model", "1", "--pin", "1234",
                                              "--passphrase-protection")
        daemon = self.start_daemon("--trezor-emulator", "127.0.0.1:%d" % port, "--usb", "off")
        deadline = time.monotonic() + TIMEOUT
        while not any(d["attached"] for d in json.loads(
                self.cli("devices", "--json", check=EXIT_OK).stdout)["devices"]):
            self.assertLess(time.monotonic(), deadline, "the Trezor simulator never attached")
            time.sleep(0.1)
        program = self.pty_program("account", "add", "--trezor", "--index", "2")
        program.expect(rb"Your Trezor shows a grid of digits\. Type the positions of your PIN's "
                       rb"digits on it,\r?\nas on a numeric keypad:\r?\n    7 8 9\r?\n    4 5 6\r?\n"
                       rb"    1 2 3\r?\n")
        program.expect(rb"PIN positions \(empty to cancel\): ")
        positions = control("positions 1234")
        program.send(positions + "\n")
        program.expect(rb"Trezor passphrase \(empty to cancel\): ")
        program.send("terminal words\n")
        program.expect(rb"Added (0x[0-9a-fA-F]{40}) \(")
        program.expect(rb"trezor:KBSIM0000000001 at m/44'/60'/0'/0/2")
        self.assertEqual(program.wait(), EXIT_OK)
        self.assertNotIn(positions.encode(), program.screen)
        self.assertNotIn(b"terminal words", program.screen)
        self.assertNotIn("terminal words", daemon.log())

    # ------------------------------------------------------------ interactive approve

    def test_interactive_approver_renders_transaction_and_typed_data(self):
        daemon = self.start_daemon()
        self.cli("unlock", "--password-file", self.vault_pw, daemon=daemon, check=EXIT_OK)
        program = self.pty_program("approve")
        program.expect(rb"Waiting for requests")

        call = daemon.rpc_async("eth_requestAccounts", [])
        program.expect(rb"Request \d+: eth_requestAccounts")
        program.expect(rb"Origin:\s+local \(authenticated with the cookie token\)")
        program.expect(rb"Accounts it may see \(\* = shared unless you choose\):\s+\* 1\. " +
                       ADDRESS.encode())
        program.expect(rb"i  INFO: The site will see your addresses \[connect-exposes-addresses\]"
                       rb"\r\n +Only connect to sites you trust")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("y\n")
        program.expect(rb"Approved request \d+")
        self.assertEqual(call.result()["result"], [ADDRESS.lower()])

        call = daemon.rpc_async("eth_signTransaction", [TRANSACTION])
        program.expect(rb"Request \d+: eth_signTransaction")
        program.expect(rb"Account:\s+" + ADDRESS.encode())
        program.expect(rb"Chain:\s+31337")
        program.expect(rb"Transaction \(EIP-1559, type 2\):")
        program.expect(rb"From:\s+" + ADDRESS.encode())
        program.expect(rb"To:\s+0x2c7536E3605D9C16a7a3D7b1898e529396a65c23")
        program.expect(rb"Value:\s+1\.5 ETH \(1500000000000000000 wei\)")
        program.expect(rb"Nonce:\s+7")
        program.expect(rb"Gas limit:\s+60000")
        program.expect(rb"Max fee per gas:\s+30 gwei \(30000000000 wei\)")
        program.expect(rb"Priority fee:\s+1\.5 gwei \(1500000000 wei\)")
        program.expect(rb"Max network fee:\s+0\.0018 ETH \(1800000000000000 wei\)")
        program.expect(rb"Data:\s+68 bytes, function selector 0xa9059cbb")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("y\n")
        program.expect(rb"Approved request \d+")
        self.assertEqual(call.result()["result"], SIGNED_TRANSACTION)

        call = daemon.rpc_async("eth_signTypedData_v4", [ADDRESS, json.dumps(TYPED_DATA)])
        program.expect(rb"Request \d+: eth_signTypedData_v4")
        program.expect(rb"Typed data \(EIP-712\):")
        program.expect(rb"\n *Domain:\r?\n *name: Ether Mail\r?\n *version: 1\r?\n *chainId: 1\r?\n"
                       rb" *verifyingContract: 0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC")
        program.expect(rb"Primary type: Mail")
        program.expect(rb"\n( *)Message:\r?\n\1  from:\r?\n\1    name: Cow\r?\n"
                       rb"\1    wallet: 0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\r?\n\1  to:")
        program.expect(rb"contents: Hello, Bob!")
        # Hostile characters are shown escaped, never sent to the terminal.
        program.expect(rb"note: \\x1b\[2Jcleared \\u\{202e\}evil")
        program.expect(rb"!! DANGER: The typed data is for another chain \[typed-data-chain-mismatch\]"
                       rb"(?:\x1b\[0m)?\r\n +The typed data names chain 1, not the selected chain 31337")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("n\n")
        program.expect(rb"Rejected request \d+")
        self.assertEqual(call.result()["error"]["code"], 4001)
        self.assertNotIn(b"\x1b[2J", program.screen)
        self.assertNotIn("\u202e".encode(), program.screen)

        # A carriage return cannot overwrite what was shown.
        call = daemon.rpc_async("personal_sign", ["Pay 1 ETH\rHello", ADDRESS])
        program.expect(rb"Message \(text, 15 bytes\):\r?\n *\| Pay 1 ETH\\rHello")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("\n")  # the default is No
        program.expect(rb"Rejected request \d+")
        self.assertEqual(call.result()["error"]["code"], 4001)

        program.send("\x04")  # Ctrl-D: end of input
        self.assertEqual(program.wait(), EXIT_OK)

    def test_interactive_approver_once_and_binary_message(self):
        daemon = self.start_daemon()
        self.cli("unlock", "--password-file", self.vault_pw, daemon=daemon, check=EXIT_OK)
        approver = self.json_approver(daemon)
        self.connect_local_client(daemon, approver)
        approver.finish()

        call = daemon.rpc_async("personal_sign", ["0x" + "ab" * 32, ADDRESS])
        program = self.pty_program("approve", "--once")
        program.expect(rb"Request \d+: personal_sign")
        program.expect(rb"Message \(not text, 32 bytes, shown in hex\):\r?\n *0x" + b"ab" * 32)
        program.expect(rb"!  WARNING: The message is 32 bytes of binary data "
                       rb"\[binary-32-byte-message\]")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("yes\n")
        program.expect(rb"Approved request \d+")
        self.assertEqual(program.wait(), EXIT_OK)  # --once: exits after one decision
        self.assertRegex(call.result()["result"], r"^0x[0-9a-f]{130}$")

    def test_interactive_approver_chooses_accounts_and_reconnects_after_a_crash(self):
        second, third = self.derive_accounts(2)
        self.cli("account", "rename", "--address", third, "--name", "Savings", check=EXIT_OK)
        daemon = self.start_daemon()
        program = self.pty_program("approve")
        program.expect(rb"Waiting for requests")

        call = daemon.rpc_async("eth_requestAccounts", [], token=False, origin="https://a.test")
        program.expect(rb"Request \d+: eth_requestAccounts")
        program.expect(rb"\* 1\. " + ADDRESS.encode())
        program.expect(rb"   2\. " + second.encode())
        program.expect(rb"   3\. " + third.encode() + rb'  "Savings"')
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("y\n")
        program.expect(rb"Accounts to share \[1\] \(numbers from the list, or all\): ")
        program.send("4\n")
        program.expect(rb"'4' is not in the list")
        program.expect(rb"Accounts to share \[1\]")
        program.send("1,3\n")
        program.expect(rb"Approved request \d+")
        self.assertEqual(call.result()["result"], [ADDRESS.lower(), third.lower()])

        # keybridged dies; another one starts on the same port, with a new cookie token.
        port = daemon.port
        daemon.proc.kill()
        daemon.proc.wait(timeout=TIMEOUT)
        program.expect("keybridged went away; reconnecting\u2026".encode())
        daemon = self.start_daemon(port=port)
        program.expect(rb"Reconnected to keybridged")
        call = daemon.rpc_async("eth_requestAccounts", [], token=False, origin="https://b.test")
        program.expect(rb"Request \d+: eth_requestAccounts")
        program.expect(rb"Approve\? \[y/N\] ")
        program.send("y\n")
        program.expect(rb"Accounts to share \[1\]")
        program.send("all\n")
        program.expect(rb"Approved request \d+")
        self.assertEqual(call.result()["result"],
                         [ADDRESS.lower(), second.lower(), third.lower()])
        self.assertEqual(program.screen.count("went away".encode()), 1)

        program.send("\x04")  # Ctrl-D: end of input
        self.assertEqual(program.wait(), EXIT_OK)

    # ------------------------------------------------------------ policy

    def test_policy_decides_for_token_clients_but_never_for_a_bare_origin(self):
        page = "http://dapp.test:8080"
        policy = self.write(self.tmp, "policy", "\n".join([
            "# unattended rules for scripts holding the cookie token",
            "approve origin=local method=eth_requestAccounts chain=31337",
            "deny origin=local method=personal_sign",
            "approve origin=%s method=eth_requestAccounts" % page,
            "approve method=eth_signTransaction max-value=1eth",
        ]) + "\n")
        daemon = self.start_daemon("--policy", policy)
        self.cli("unlock", "--password-file", self.vault_pw, daemon=daemon, check=EXIT_OK)
        self.assertEqual(daemon.rpc("eth_requestAccounts", [])["result"], [ADDRESS.lower()])
        error = daemon.rpc("personal_sign", [MESSAGE, ADDRESS])["error"]
        self.assertEqual(error["code"], 4001)
        self.assertIn("policy line 3", error["message"])

        small = dict(TRANSACTION, value=hex(10**17))
        self.assertRegex(daemon.rpc("eth_signTransaction", [small])["result"], r"^0x02f8")
        approver = self.json_approver(daemon)
        call = daemon.rpc_async("eth_signTransaction", [TRANSACTION])  # 1.5 ETH: above the limit
        approver.decide(approver.expect_request("eth_signTransaction"), "reject")
        self.assertEqual(call.result()["error"]["code"], 4001)

        # A rule names the page, but its Origin header proves nothing: the user is asked.
        call = daemon.rpc_async("eth_requestAccounts", [], token=False, origin=page)
        request = approver.expect_request("eth_requestAccounts")
        self.assertEqual((request["origin"], request["authenticated"]), (page, False))
        approver.decide(request, "reject")
        self.assertEqual(call.result()["error"]["code"], 4001)
        approver.finish()

        self.assertEqual(daemon.stop(), 0)
        with open(os.path.join(self.datadir, "audit.log")) as f:
            audit = [json.loads(line) for line in f]
        # A person's decisions name the approver session: keybridge approve's control connection.
        session = re.compile(r"control#\d+ pid %d keybridge" % approver.proc.pid)
        decided_by = [(a["method"], a["decision"],
                       "approver" if session.fullmatch(a["decidedBy"]) else a["decidedBy"])
                      for a in audit]
        self.assertEqual(decided_by, [
            ("eth_requestAccounts", "approved", "policy line 2"),
            ("personal_sign", "denied", "policy line 3"),
            ("eth_signTransaction", "approved", "policy line 5"),
            ("eth_signTransaction", "signed", "approved"),  # with the digest of what was signed
            ("eth_signTransaction", "rejected", "approver"),
            ("eth_requestAccounts", "rejected", "approver"),
        ])

    # ------------------------------------------------------------ permissions

    def test_permissions_through_the_daemon_and_directly_on_the_file(self):
        page = "http://dapp.test:8080"
        daemon = self.start_daemon()
        approver = self.json_approver(daemon)
        self.connect_local_client(daemon, approver)
        call = daemon.rpc_async("eth_requestAccounts", [], token=False, origin=page)
        request = approver.expect_request("eth_requestAccounts")
        self.assertEqual((request["origin"], request["authenticated"]), (page, False))
        approver.decide(request, "approve")
        self.assertEqual(call.result()["result"], [ADDRESS.lower()])
        approver.finish()

        data = json.loads(self.cli("permissions", "list", "--json", daemon=daemon,
                                   check=EXIT_OK).stdout)
        self.assertEqual(data["source"], "daemon")
        self.assertEqual(sorted(data["permissions"]), ["http://dapp.test:8080", "local"])
        for grant in data["permissions"].values():
            self.assertEqual(grant["accounts"], [ADDRESS])
            self.assertGreater(grant["grantedAt"], 1_600_000_000)
        text = self.cli("permissions", "list", daemon=daemon, check=EXIT_OK).stdout
        self.assertRegex(text, r"http://dapp\.test:8080  \(chain 31337, granted "
                               r"\d{4}-\d\d-\d\d [0-9:]+ UTC\)"
                               r"\n    " + ADDRESS)
        self.assertIn("local", text)

        run = self.cli("permissions", "revoke", page, daemon=daemon, check=EXIT_OK)
        self.assertIn("Revoked " + page, run.stdout)
        self.assertEqual(daemon.rpc("eth_accounts", [], token=False, origin=page)["result"], [])
        run = self.cli("permissions", "revoke", page, daemon=daemon, check=EXIT_NOT_FOUND)
        self.assertIn("no grant for origin 'http://dapp.test:8080'", run.stderr)
        data = json.loads(self.cli("permissions", "list", "--json", daemon=daemon).stdout)
        self.assertEqual(list(data["permissions"]), ["local"])

        # keybridged stopped: the file itself.
        self.assertEqual(daemon.stop(), 0)
        self.assertFalse(os.path.exists(os.path.join(self.datadir, ".cookie")))
        data = json.loads(self.cli("permissions", "list", "--json", check=EXIT_OK).stdout)
        self.assertEqual(data["source"], "file")
        self.assertEqual(data["permissions"]["local"]["accounts"], [ADDRESS])
        run = self.cli("permissions", "revoke", "local", "--json", check=EXIT_OK)
        self.assertEqual(json.loads(run.stdout),
                         {"revoked": "local", "source": "file", "ok": True})
        run = self.cli("permissions", "list", check=EXIT_OK)
        self.assertIn("No origin has been granted", run.stdout)
        with open(os.path.join(self.datadir, "permissions.json")) as f:
            self.assertNotIn("\"local\"", f.read())
        self.cli("permissions", "revoke", "local", check=EXIT_NOT_FOUND)

        # A new daemon reads the file: the revocation holds.
        daemon = self.start_daemon()
        self.assertEqual(daemon.rpc("eth_accounts", [])["result"], [])


def main():
    global KEYBRIDGE, KEYBRIDGED, TREZOR_SIM
    if len(sys.argv) < 3:
        sys.stderr.write("usage: daemon_cli_test.py PATH_TO_keybridge PATH_TO_keybridged "
                         "[PATH_TO_keybridge_trezor_sim] [unittest options]\n")
        return 2
    KEYBRIDGE, KEYBRIDGED = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    rest = sys.argv[3:]
    if rest and not rest[0].startswith("-") and os.path.basename(rest[0]) == "keybridge_trezor_sim":
        TREZOR_SIM = os.path.abspath(rest[0])
        rest = rest[1:]
    program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
