#!/usr/bin/python3
"""End-to-end tests of the keybridge command-line tool.

Runs the real binary against throw-away data folders: unattended runs through files and --yes
(in a new session, so there is no controlling terminal to ask on), interactive runs through a
pseudo-terminal (pty.fork makes it the child's controlling terminal, so /dev/tty resolves to it).
Python 3 standard library only.

Usage: cli_test.py PATH_TO_keybridge [unittest options]

Expected addresses for the phrase "all all ... all" and for the raw keys below were computed
independently with ethers 6.17.0 (HDNodeWallet.fromPhrase / new Wallet(key).address).
"""

import errno
import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import termios
import time
import unicodedata
import unittest

KEYBRIDGE = None  # set from the command line in main()
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")

ALL_PHRASE = "all all all all all all all all all all all all"
with open(os.path.join(DATA, "..", "..", "core", "wordlists", "japanese.txt"),
          encoding="utf-8") as _f:
    JAPANESE_WORDS = frozenset(_f.read().split())
BAD_CHECKSUM_PHRASE = "all all all all all all all all all all all abandon"
ALL_ADDRESSES = {
    "m/44'/60'/0'/0/0": "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8",
    "m/44'/60'/0'/0/1": "0xFA01a39f8Abaeb660c3137f14A310d0b414b2A15",
    "m/44'/60'/0'/0/2": "0x574BbB36871bA6b78E27f4B4dCFb76eA0091880B",
    "m/44'/60'/0'/0/3": "0xba98D6a5ac827632E3457De7512d211e4ff7e8bD",
    "m/44'/60'/1'/0/0": "0xeDe5D356020A0aA3DC3fCAf0d899b5c63d7eA4aa",
    "m/44'/60'/2'/0/0": "0x4921CC7554136832BC072cdDd0Bc3a35533207aB",
    "m/44'/60'/1'/0/1": "0x5a87356E89916CCFf41736AA00C7DEC83894BbE0",
}
FIRST_ALL_ADDRESS = ALL_ADDRESSES["m/44'/60'/0'/0/0"]

KEY_ONES = "11" * 32
KEY_ONES_ADDRESS = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
KEY_WEB3 = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_WEB3_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
# geth-v3_test_vector.json: "31_byte_key" (scrypt n=2) and "wikipage_test_vector_pbkdf2".
KEYSTORE_31_ADDRESS = "0xd1E64E5480bFaf733Ba7D48712DEcb8227797a4e"
KEYSTORE_WIKI_ADDRESS = "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b"

# Every password used here is distinctive, so that a leak into any output is detectable.
VAULT_PW = "vault-Pw-7c1e!"
OTHER_PW = "other-Pw-5a9d?"
NEW_PW = "new-Pw-0b3f%"
WRONG_PW = "wrong-Pw-94e2+"
EXPORT_PW = "export-Pw-d61a&"
ALL_PASSWORDS = (VAULT_PW, OTHER_PW, NEW_PW, WRONG_PW, EXPORT_PW)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_WRONG_PASSWORD = 0, 1, 2, 3
EXIT_NOT_FOUND, EXIT_DECLINED, EXIT_INVALID_INPUT = 4, 5, 6

# Seconds per run; sanitizer builds with standard scrypt are slow.
TIMEOUT = int(os.environ.get("KEYBRIDGE_TEST_TIMEOUT", "300"))


def tree_contents(root):
    """Every path under root with its mode and content (files) or None (folders)."""
    result = {}
    if not os.path.exists(root):
        return result
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            content = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = f.read()
            result[os.path.relpath(path, root)] = (stat.S_IMODE(st.st_mode), content)
    return result


class Run:
    def __init__(self, args, returncode, stdout, stderr):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return "keybridge %s -> %d\nstdout: %s\nstderr: %s" % (
            " ".join(self.args), self.returncode, self.stdout, self.stderr)


class PtySession:
    """keybridge running with a pty as its controlling terminal; stdout/stderr go to files."""

    def __init__(self, args, workdir, env):
        self.screen = b""  # everything the program wrote to the terminal
        self._pending = b""
        self.stdout_path = os.path.join(workdir, "pty-stdout-%d" % time.monotonic_ns())
        self.stderr_path = self.stdout_path.replace("stdout", "stderr")
        self.returncode = None
        pid, fd = pty.fork()
        if pid == 0:
            try:
                for path, target in ((self.stdout_path, 1), (self.stderr_path, 2)):
                    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    os.dup2(out, target)
                    os.close(out)
                os.execve(KEYBRIDGE, [KEYBRIDGE] + list(args), env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def _read_some(self, deadline):
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            raise EOFError("the program closed the terminal")
        self.screen += data
        self._pending += data
        return True

    def expect(self, pattern, timeout=TIMEOUT):
        """Waits for the regex (bytes) on the screen; returns the match and consumes up to it."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            match = regex.search(self._pending)
            if match:
                self._pending = self._pending[match.end():]
                return match
            try:
                if not self._read_some(deadline):
                    raise AssertionError("timed out waiting for %r; screen so far: %r" %
                                         (pattern, self.screen[-2000:]))
            except EOFError:
                raise AssertionError("program ended while waiting for %r; screen: %r" %
                                     (pattern, self.screen[-2000:]))

    def send(self, text):
        os.write(self.fd, text.encode("utf-8") if isinstance(text, str) else text)

    def echo_on(self):
        return bool(termios.tcgetattr(self.fd)[3] & termios.ECHO)

    def wait(self, timeout=TIMEOUT):
        """Reads the rest of the screen until the program exits; returns its exit code."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self._read_some(deadline):
                    break
            except EOFError:
                break
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = (os.WEXITSTATUS(status) if os.WIFEXITED(status)
                                   else -os.WTERMSIG(status))
                return self.returncode
            time.sleep(0.02)
        self.kill()
        raise AssertionError("the program did not exit; screen: %r" % self.screen[-2000:])

    def kill(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.returncode = -signal.SIGKILL

    def close(self):
        self.kill()
        try:
            os.close(self.fd)
        except OSError:
            pass

    def outputs(self):
        with open(self.stdout_path, "rb") as f:
            out = f.read().decode("utf-8")
        with open(self.stderr_path, "rb") as f:
            err = f.read().decode("utf-8")
        return out, err


class CliTestCase(unittest.TestCase):
    """A temporary home, data folders and helper files per test."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="keybridge-cli-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.env = dict(os.environ)
        self.env.update(HOME=self.home, XDG_DATA_HOME=os.path.join(self.home, "xdg"),
                        LANG="C.UTF-8")
        self.sessions = []
        self.files = {}
        self.vault_pw = self.secret_file("vault.pw", VAULT_PW + "\n")
        self.wrong_pw = self.secret_file("wrong.pw", WRONG_PW + "\n")
        self.new_pw = self.secret_file("new.pw", NEW_PW)
        self.other_pw = self.secret_file("other.pw", OTHER_PW + "\n")
        self.export_pw = self.secret_file("export.pw", EXPORT_PW + "\n")
        self.all_phrase = self.secret_file("all.phrase", ALL_PHRASE + "\n")

    def tearDown(self):
        for s in self.sessions:
            s.close()
            if os.path.exists(s.stderr_path):
                self.assert_no_sanitizer_report(s.outputs()[1])

    def path(self, name):
        return os.path.join(self.tmp, name)

    def secret_file(self, name, text):
        path = self.path(name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def run_cli(self, *args, datadir=None, forbidden=(), check=None):
        """Runs keybridge without a terminal (new session, stdin closed)."""
        argv = (["--datadir", datadir] if datadir else []) + list(args)
        proc = subprocess.run([KEYBRIDGE] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                              env=self.env, cwd=self.tmp, start_new_session=True, timeout=TIMEOUT)
        run = Run(argv, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))
        self.assert_no_secrets(run.stdout + run.stderr, forbidden, repr(run))
        self.assert_no_sanitizer_report(run.stderr)
        if check is not None:
            self.assertEqual(run.returncode, check, repr(run))
        return run

    def assert_no_sanitizer_report(self, stderr):
        # In sanitizer builds a report may come with an exit code a test expects anyway.
        for marker in ("Sanitizer", "runtime error:"):
            self.assertNotIn(marker, stderr)

    def assert_no_secrets(self, text, extra=(), context=""):
        for secret in ALL_PASSWORDS + tuple(extra):
            self.assertNotIn(secret, text, "a secret was printed: " + context)

    def pty(self, *args, datadir=None):
        argv = (["--datadir", datadir] if datadir else []) + list(args)
        session = PtySession(argv, self.tmp, self.env)
        self.sessions.append(session)
        return session

    def restore_all(self, datadir, *extra):
        run = self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                           self.vault_pw, "--light-kdf", *extra, datadir=datadir,
                           forbidden=(ALL_PHRASE,), check=EXIT_OK)
        return run

    def accounts(self, datadir):
        run = self.run_cli("account", "list", "--json", datadir=datadir, check=EXIT_OK)
        data = run.json()
        self.assertIs(data["ok"], True)
        return data["accounts"]

    def addresses(self, datadir):
        return [a["address"] for a in self.accounts(datadir)]

    def assert_no_vault(self, datadir):
        self.assertFalse(os.path.exists(os.path.join(datadir, "vault", "CURRENT")),
                         "a vault was created in " + datadir)

    def assert_private_modes(self, root):
        checked = 0
        self.assertEqual(stat.S_IMODE(os.stat(root).st_mode), 0o700, root)
        for folder, dirs, files in os.walk(root):
            for d in dirs:
                p = os.path.join(folder, d)
                self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o700, p)
                checked += 1
            for f in files:
                p = os.path.join(folder, f)
                st = os.lstat(p)
                self.assertTrue(stat.S_ISREG(st.st_mode), p)
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, p)
                checked += 1
        return checked

    def assert_mode_0600(self, path):
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)


def words_of(phrase):
    return [w for w in re.split(r"[ \u3000]+", phrase.strip()) if w]


class RestoreTest(CliTestCase):
    def test_restore_from_file_gives_known_first_account(self):
        d = self.path("d")
        run = self.restore_all(d)
        self.assertIn(FIRST_ALL_ADDRESS, run.stdout)
        self.assertIn("m/44'/60'/0'/0/0", run.stdout)
        self.assertEqual(run.stderr, "")
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_restore_json_output_structure(self):
        d = self.path("d")
        data = self.restore_all(d, "--json").json()
        self.assertEqual(set(data), {"ok", "datadir", "accounts"})
        self.assertIs(data["ok"], True)
        self.assertEqual(data["datadir"], d)
        self.assertEqual(data["accounts"], [{
            "address": FIRST_ALL_ADDRESS, "name": "Account 1", "source": "seed",
            "path": "m/44'/60'/0'/0/0"}])

    def test_restore_tidies_whitespace_in_the_phrase_file(self):
        d = self.path("d")
        messy = self.secret_file("messy.phrase",
                                 "  ALL  all All all\u3000all all\tall all all all all all \r\n")
        self.run_cli("restore", "--mnemonic-file", messy, "--password-file", self.vault_pw,
                     "--light-kdf", datadir=d, check=EXIT_OK)
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_restore_typo_names_position_and_suggests_word(self):
        d = self.path("d")
        typo = self.secret_file("typo.phrase", "all all all all all all all all all all all alx\n")
        run = self.run_cli("restore", "--mnemonic-file", typo, "--password-file", self.vault_pw,
                           "--light-kdf", datadir=d, forbidden=(ALL_PHRASE,),
                           check=EXIT_INVALID_INPUT)
        self.assertRegex(run.stderr, r"word 12\b")
        self.assertRegex(run.stderr, r"did you mean[^\n]*\ball\b")
        self.assertEqual(run.stdout, "")
        self.assertFalse(os.path.exists(d))

    def test_restore_bad_checksum_is_invalid_input(self):
        d = self.path("d")
        bad = self.secret_file("bad.phrase", BAD_CHECKSUM_PHRASE + "\n")
        run = self.run_cli("restore", "--mnemonic-file", bad, "--password-file", self.vault_pw,
                           "--light-kdf", datadir=d, check=EXIT_INVALID_INPUT)
        self.assertIn("checksum", run.stderr)
        self.assertFalse(os.path.exists(d))

    def test_restore_wrong_word_count_is_invalid_input(self):
        d = self.path("d")
        short = self.secret_file("short.phrase", "all all all all all all all all all all all\n")
        run = self.run_cli("restore", "--mnemonic-file", short, "--password-file", self.vault_pw,
                           "--light-kdf", datadir=d, check=EXIT_INVALID_INPUT)
        self.assertIn("11", run.stderr)
        self.assertFalse(os.path.exists(d))

    def test_restore_json_error_structure(self):
        d = self.path("d")
        bad = self.secret_file("bad.phrase", BAD_CHECKSUM_PHRASE + "\n")
        run = self.run_cli("--json", "restore", "--mnemonic-file", bad, "--password-file",
                           self.vault_pw, "--light-kdf", datadir=d, check=EXIT_INVALID_INPUT)
        data = run.json()
        self.assertIs(data["ok"], False)
        self.assertEqual(data["error"]["code"], "invalid_checksum")
        self.assertIn("checksum", data["error"]["message"])

    def test_restore_refuses_an_existing_vault(self):
        d = self.path("d")
        self.restore_all(d)
        before = tree_contents(d)
        self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                     self.other_pw, "--light-kdf", datadir=d, check=EXIT_FAILURE)
        self.assertEqual(tree_contents(d), before)

    def test_restore_with_empty_password_is_refused(self):
        d = self.path("d")
        empty = self.secret_file("empty.pw", "\n")
        self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file", empty,
                     "--light-kdf", datadir=d, check=EXIT_INVALID_INPUT)
        self.assert_no_vault(d)

    def test_restore_with_bip39_passphrase_changes_accounts(self):
        d = self.path("d")
        passphrase = self.secret_file("bip39.pp", "TREZOR\n")
        run = self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                           self.vault_pw, "--passphrase-file", passphrase, "--light-kdf",
                           datadir=d, forbidden=("TREZOR",), check=EXIT_OK)
        self.assertNotIn(FIRST_ALL_ADDRESS, run.stdout)
        self.assertEqual(len(self.addresses(d)), 1)
        self.assertNotEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_restore_uses_the_default_data_folder(self):
        self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                     self.vault_pw, "--light-kdf", check=EXIT_OK)
        default = os.path.join(self.home, "xdg", "keybridge")
        self.assertTrue(os.path.exists(os.path.join(default, "vault", "CURRENT")))
        self.assertEqual(self.addresses(None), [FIRST_ALL_ADDRESS])

    def type_words(self, s, words, total=None):
        """Answers 'Word N of M' prompts with words in order; checks each is asked hidden."""
        total = total or len(words)
        for i, word in enumerate(words):
            m = s.expect(rb"Word (\d+) of (\d+): ")
            self.assertEqual((int(m.group(1)), int(m.group(2))), (i + 1, total))
            self.assertFalse(s.echo_on(), "echo is on while word %d is typed" % (i + 1))
            s.send(word + "\n")

    def test_restore_interactive_hides_the_phrase(self):
        d = self.path("d")
        s = self.pty("restore", "--light-kdf", datadir=d)
        s.expect(rb"How many words[^\n]*\? ")
        s.send("12\n")
        self.type_words(s, ALL_PHRASE.split())
        s.expect(rb"New vault password: ")
        self.assertFalse(s.echo_on())
        s.send(VAULT_PW + "\n")
        s.expect(rb"Repeat the vault password: ")
        s.send(VAULT_PW + "\n")
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertTrue(s.echo_on())
        screen = s.screen.decode("utf-8")
        self.assertNotIn("all all", screen)
        self.assert_no_secrets(screen)
        out, err = s.outputs()
        self.assertIn(FIRST_ALL_ADDRESS, out)
        self.assert_no_secrets(out + err, (ALL_PHRASE,))
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_restore_interactive_bip39_passphrase_is_asked_once(self):
        d = self.path("d")
        s = self.pty("restore", "--mnemonic-file", self.all_phrase, "--with-passphrase",
                     "--password-file", self.vault_pw, "--light-kdf", datadir=d)
        s.expect(rb"BIP39 passphrase[^\n]*: ")
        self.assertFalse(s.echo_on())
        s.send("TREZOR\n")
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertNotIn(b"Repeat", s.screen)
        self.assertNotIn(b"TREZOR", s.screen)
        r = self.path("r")
        pp = self.secret_file("pp", "TREZOR")
        self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--passphrase-file", pp,
                     "--password-file", self.vault_pw, "--light-kdf", datadir=r, check=EXIT_OK)
        self.assertEqual(self.addresses(d), self.addresses(r))
        self.assertNotEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_interactive_passwords_that_differ_are_refused_after_three_tries(self):
        d = self.path("d")
        s = self.pty("restore", "--mnemonic-file", self.all_phrase, "--light-kdf", datadir=d)
        for attempt in range(3):
            s.expect(rb"New vault password: ")
            s.send(VAULT_PW + "\n")
            s.expect(rb"Repeat the vault password: ")
            s.send(OTHER_PW + "\n")
            s.expect(rb"The two vault passwords differ\.")
        self.assertEqual(s.wait(), EXIT_INVALID_INPUT)
        self.assertEqual(s.screen.count(b"New vault password: "), 3)
        self.assertIn("differ", s.outputs()[1])
        self.assert_no_vault(d)

    def test_restore_interactive_tolerates_case_and_spaces_of_every_width(self):
        d = self.path("d")
        s = self.pty("restore", "--words", "12", "--password-file", self.vault_pw, "--light-kdf",
                     datadir=d)
        words = ALL_PHRASE.split()
        shapes = ["ALL", "  All ", "\u3000all\u3000", "aLl\t", "\uff41\uff4c\uff4c"]  # last: full-width
        self.type_words(s, [shapes[i % len(shapes)] for i in range(len(words))])
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        self.assertNotIn(b"not in the", s.screen)
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_restore_interactive_accepts_the_whole_phrase_pasted_at_the_first_prompt(self):
        d = self.path("d")
        s = self.pty("restore", "--words", "12", "--password-file", self.vault_pw, "--light-kdf",
                     datadir=d)
        s.expect(rb"Word 1 of 12: ")
        s.send("All all\u3000all  all all all all all all all all all\n")
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        self.assertNotIn(b"Word 2 of 12", s.screen)
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_restore_interactive_typo_asks_that_word_again_with_suggestions(self):
        d = self.path("d")
        s = self.pty("restore", "--password-file", self.vault_pw, "--light-kdf", datadir=d)
        s.expect(rb"How many words[^\n]*\? ")
        s.send("twelve\n")  # not a number: asked again
        s.expect(rb"How many words[^\n]*\? ")
        s.send("12\n")
        self.type_words(s, ["all"] * 4, total=12)
        s.expect(rb"Word 5 of 12: ")
        s.send("alll\n")
        m = s.expect(rb"Word 5 is not in the English list\. Did you mean:([^?]*)\?")
        offered = dict((w.decode(), int(n)) for n, w in re.findall(rb"(\d)\) (\w+)", m.group(1)))
        self.assertIn("all", offered)
        s.expect(rb"Word 5 of 12: ")
        s.send("%d\n" % offered["all"])  # picks the suggestion by its number
        for n in range(6, 13):
            s.expect(("Word %d of 12: " % n).encode())
            s.send("all\n")
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])

    def test_restore_interactive_bad_checksum_offers_to_retype_a_word(self):
        d = self.path("d")
        s = self.pty("restore", "--words", "12", "--password-file", self.vault_pw, "--light-kdf",
                     datadir=d)
        self.type_words(s, BAD_CHECKSUM_PHRASE.split())
        s.expect(rb"do not form a valid phrase")
        s.expect(rb"Number of the word to type again \(1-12\), or Enter to give up: ")
        s.send("12\n")
        s.expect(rb"Word 12 of 12: ")
        s.send("all\n")
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])
        # Giving up leaves nothing behind.
        n = self.path("n")
        s = self.pty("restore", "--words", "12", "--password-file", self.vault_pw, "--light-kdf",
                     datadir=n)
        self.type_words(s, BAD_CHECKSUM_PHRASE.split())
        s.expect(rb"or Enter to give up: ")
        s.send("\n")
        self.assertEqual(s.wait(), EXIT_INVALID_INPUT)
        self.assertIn("checksum", s.outputs()[1])
        self.assert_no_vault(n)

    def test_restore_interactive_word_never_found_saves_nothing(self):
        d = self.path("d")
        s = self.pty("restore", "--words", "12", "--password-file", self.vault_pw, "--light-kdf",
                     datadir=d)
        for _ in range(3):
            s.expect(rb"Word 1 of 12: ")
            s.send("qqqqqq\n")
            s.expect(rb"Word 1 is not in the English list")
        self.assertEqual(s.wait(), EXIT_INVALID_INPUT)
        self.assertIn("word 1", s.outputs()[1])
        self.assert_no_vault(d)

    def test_restore_without_terminal_or_phrase_file_is_refused(self):
        d = self.path("d")
        run = self.run_cli("restore", "--password-file", self.vault_pw, "--light-kdf", datadir=d)
        self.assertNotEqual(run.returncode, EXIT_OK)
        self.assertIn("--mnemonic-file", run.stderr)
        self.assert_no_vault(d)

    def test_ctrl_c_at_a_password_prompt_restores_echo(self):
        d = self.path("d")
        self.restore_all(d)
        s = self.pty("account", "derive", datadir=d)
        s.expect(rb"Vault password: ")
        self.assertFalse(s.echo_on())
        s.send(b"\x03")  # Ctrl-C: SIGINT from the terminal driver
        self.assertEqual(s.wait(), -signal.SIGINT)
        self.assertTrue(s.echo_on(), "the terminal was left without echo")
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])


class InitTest(CliTestCase):
    def init_unattended(self, d, out, *extra, check=EXIT_OK):
        return self.run_cli("init", "--yes", "--mnemonic-out", out, "--password-file",
                            self.vault_pw, "--light-kdf", *extra, datadir=d, check=check)

    def restored_first_address(self, phrase_file):
        d = self.path("restored-%d" % time.monotonic_ns())
        self.run_cli("restore", "--mnemonic-file", phrase_file, "--password-file", self.other_pw,
                     "--light-kdf", datadir=d, check=EXIT_OK)
        return self.addresses(d)[0]

    def test_init_unattended_writes_a_private_12_word_phrase(self):
        d, out = self.path("d"), self.path("phrase.txt")
        run = self.init_unattended(d, out, "--json")
        self.assert_mode_0600(out)
        with open(out, encoding="utf-8") as f:
            phrase = f.read()
        self.assertTrue(phrase.endswith("\n"))
        words = words_of(phrase)
        self.assertEqual(len(words), 12)
        for w in words:
            self.assertRegex(w, r"^[a-z]{3,8}$")
        self.assert_no_secrets(run.stdout + run.stderr, (phrase.strip(), " ".join(words[:3])))
        data = run.json()
        self.assertEqual(len(data["accounts"]), 1)
        self.assertEqual(self.addresses(d), [data["accounts"][0]["address"]])
        # The file holds the vault's phrase: restoring it gives the same first account.
        self.assertEqual(self.restored_first_address(out), data["accounts"][0]["address"])

    def test_init_unattended_24_japanese_words(self):
        d, out = self.path("d"), self.path("phrase-ja.txt")
        self.init_unattended(d, out, "--words", "24", "--lang", "ja")
        self.assert_mode_0600(out)
        with open(out, encoding="utf-8") as f:
            phrase = f.read().rstrip("\n")
        self.assertIn("\u3000", phrase)  # BIP39 joins Japanese words with an ideographic space
        words = words_of(phrase)
        self.assertEqual(len(words), 24)
        for w in words:
            self.assertRegex(w, r"^[\u3040-\u30ff]+$", "not a Japanese (kana) word: %r" % w)
        self.assertEqual(self.restored_first_address(out), self.addresses(d)[0])

    def test_init_24_english_words(self):
        d, out = self.path("d"), self.path("phrase24.txt")
        self.init_unattended(d, out, "--words", "24")
        with open(out, encoding="utf-8") as f:
            self.assertEqual(len(words_of(f.read())), 24)

    def test_two_inits_give_different_phrases(self):
        self.init_unattended(self.path("a"), self.path("a.txt"))
        self.init_unattended(self.path("b"), self.path("b.txt"))
        with open(self.path("a.txt")) as a, open(self.path("b.txt")) as b:
            self.assertNotEqual(a.read(), b.read())

    def test_init_yes_without_mnemonic_out_is_refused(self):
        d = self.path("d")
        run = self.run_cli("init", "--yes", "--password-file", self.vault_pw, "--light-kdf",
                           datadir=d)
        self.assertEqual(run.returncode, EXIT_USAGE, repr(run))
        self.assertIn("--mnemonic-out", run.stderr)
        self.assertEqual(run.stdout, "")
        self.assertFalse(os.path.exists(d))

    def test_init_without_terminal_or_mnemonic_out_is_refused(self):
        d = self.path("d")
        run = self.run_cli("init", "--password-file", self.vault_pw, "--light-kdf", datadir=d)
        self.assertNotEqual(run.returncode, EXIT_OK)
        self.assertIn("terminal", run.stderr)
        self.assertFalse(os.path.exists(d))

    def test_init_bad_words_and_lang_are_refused(self):
        for extra in (("--words", "13"), ("--lang", "fr")):
            d = self.path("d")
            run = self.run_cli("init", "--yes", "--mnemonic-out", self.path("x.txt"),
                               "--password-file", self.vault_pw, "--light-kdf", *extra,
                               datadir=d)
            self.assertEqual(run.returncode, EXIT_USAGE, repr(run))
            self.assertIn(extra[0], run.stderr)
            self.assertFalse(os.path.exists(d))
            self.assertFalse(os.path.exists(self.path("x.txt")))

    def test_init_refuses_an_existing_vault(self):
        d = self.path("d")
        self.restore_all(d)
        before = tree_contents(d)
        self.init_unattended(d, self.path("p.txt"), check=EXIT_FAILURE)
        self.assertEqual(tree_contents(d), before)
        self.assertFalse(os.path.exists(self.path("p.txt")))

    def test_init_does_not_overwrite_a_phrase_file_without_confirmation(self):
        d, out = self.path("d"), self.path("phrase.txt")
        self.secret_file("phrase.txt", "keep me\n")
        run = self.run_cli("init", "--mnemonic-out", out, "--password-file", self.vault_pw,
                           "--light-kdf", datadir=d)
        self.assertNotEqual(run.returncode, EXIT_OK)
        with open(out) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assert_no_vault(d)

    # ------------------------------------------------------------------ interactive (pty)

    def start_interactive(self, d, *extra):
        """Runs init on a pty up to the quiz; returns the session and the words shown."""
        s = self.pty("init", "--light-kdf", *extra, datadir=d)
        m = s.expect(rb"(?s)Your recovery phrase.*?Press Enter when you have written them down\.")
        shown = m.group(0).decode("utf-8")
        words = [w for _, w in sorted((int(n), w) for n, w in
                                      re.findall(r"(\d+)\. (\S+)", shown))]
        s.send("\n")  # one Enter: the screen is cleared and the quiz starts
        return s, words

    def expect_quiz_word(self, s, words):
        m = s.expect(rb"Word (\d+) of (\d+): ")
        self.assertEqual(int(m.group(2)), len(words))
        self.assertFalse(s.echo_on(), "echo is on while a quiz word is typed")
        return int(m.group(1))

    def answer_quiz(self, s, words, transform=lambda w: w):
        asked = []
        for _ in range(3):
            n = self.expect_quiz_word(s, words)
            asked.append(n)
            s.send(transform(words[n - 1]) + "\n")
        self.assertEqual(len(set(asked)), 3, "the quiz asked for a word twice: %r" % asked)
        return asked

    def enter_new_password(self, s, password):
        s.expect(rb"New vault password: ")
        self.assertFalse(s.echo_on(), "echo is on while the password is typed")
        s.send(password + "\n")
        s.expect(rb"Repeat the vault password: ")
        self.assertFalse(s.echo_on())
        s.send(password + "\n")

    def test_init_interactive_quiz_passed_creates_the_vault(self):
        d = self.path("d")
        s, words = self.start_interactive(d)
        self.assertEqual(len(words), 12)
        self.answer_quiz(s, words)
        self.enter_new_password(s, VAULT_PW)
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertTrue(s.echo_on())
        screen = s.screen.decode("utf-8")
        self.assert_no_secrets(screen)  # the password was typed, never echoed
        out, err = s.outputs()
        phrase = " ".join(words)
        # The phrase went to the terminal only: not to stdout, stderr or the vault's files.
        for i in range(len(words) - 1):
            self.assertNotIn(words[i] + " " + words[i + 1], out + err)
        self.assert_no_secrets(out + err)
        for rel, (_, content) in tree_contents(d).items():
            if content is not None:
                self.assertNotIn(phrase.encode(), content, rel)
                self.assertNotIn(VAULT_PW.encode(), content, rel)
        first = self.addresses(d)[0]
        self.assertIn(first, out)
        # The shown words are the vault's phrase.
        phrase_file = self.secret_file("shown.phrase", phrase + "\n")
        self.assertEqual(self.restored_first_address(phrase_file), first)

    def test_init_interactive_clears_the_phrase_and_warns_about_scrollback(self):
        d = self.path("d")
        s, words = self.start_interactive(d)
        self.expect_quiz_word(s, words)
        after = s.screen[s.screen.index(b"Press Enter when you have written them down."):]
        clear = after.index(b"\x1b[2J")
        self.assertIn(b"\x1b[3J", after)  # the scrollback too, where the terminal can
        self.assertIn(b"scrollback may still hold it", after[clear:])
        # The numbered list of words is not drawn again after the clear.
        self.assertIsNone(re.search(rb"\d+\. [^\s\d]", after[clear:]))
        self.assertNotIn(b"Press Enter)", s.screen)  # no second Enter
        s.kill()

    def test_init_interactive_wrong_word_saves_nothing(self):
        d = self.path("d")
        s, words = self.start_interactive(d)
        n = self.expect_quiz_word(s, words)
        wrong = "zoo" if words[n - 1] != "zoo" else "abandon"
        for attempt in range(3):
            if attempt:
                self.assertEqual(self.expect_quiz_word(s, words), n)  # the same word again
            s.send(wrong + "\n")
            s.expect(("That is not word %d" % n).encode())
        self.assertEqual(s.wait(), EXIT_DECLINED)
        self.assertNotIn(b"New vault password", s.screen)
        self.assertIn("does not match", s.outputs()[1])
        self.assertFalse(os.path.exists(d))

    def test_init_interactive_mistyped_word_is_asked_again_with_suggestions(self):
        d = self.path("d")
        s, words = self.start_interactive(d)
        n = self.expect_quiz_word(s, words)
        word = words[n - 1]
        s.send(word + "qx\n")  # a typo: not a list word
        m = s.expect(rb"That is not a word of the English list\. Did you mean:([^?]*)\?")
        offered = dict((w.decode(), int(k)) for k, w in re.findall(rb"(\d)\) (\w+)", m.group(1)))
        self.assertIn(word, offered)
        self.assertEqual(self.expect_quiz_word(s, words), n)
        s.send("%d\n" % offered[word])  # the right suggestion, by its number
        for _ in range(2):
            k = self.expect_quiz_word(s, words)
            s.send(words[k - 1] + "\n")
        self.enter_new_password(s, VAULT_PW)
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        phrase_file = self.secret_file("shown.phrase", " ".join(words) + "\n")
        self.assertEqual(self.restored_first_address(phrase_file), self.addresses(d)[0])

    def test_init_interactive_password_mistakes_ask_again_and_keep_the_phrase(self):
        d = self.path("d")
        s, words = self.start_interactive(d)
        self.answer_quiz(s, words)
        s.expect(rb"New vault password: ")
        s.send("password123\n")  # too weak
        s.expect(rb"The vault password is too weak: it is built on a common password or word")
        s.expect(rb"New vault password: ")
        s.send(VAULT_PW + "\n")
        s.expect(rb"Repeat the vault password: ")
        s.send(OTHER_PW + "\n")  # differs
        s.expect(rb"The two vault passwords differ\. Please try again\.")
        self.enter_new_password(s, VAULT_PW)
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        self.assert_no_secrets(s.screen.decode("utf-8"), ("password123",))
        # The vault holds the phrase that was shown, under the password typed last.
        phrase_file = self.secret_file("shown.phrase", " ".join(words) + "\n")
        self.assertEqual(self.restored_first_address(phrase_file), self.addresses(d)[0])
        self.run_cli("account", "derive", "--password-file", self.vault_pw, datadir=d,
                     check=EXIT_OK)

    def test_init_interactive_accepts_answers_with_case_and_blanks(self):
        d = self.path("d")
        s, words = self.start_interactive(d)
        shapes = [lambda w: "  " + w.upper() + " ", lambda w: "\u3000" + w.capitalize(),
                  lambda w: w + "\u3000\u3000"]
        for i in range(3):
            n = self.expect_quiz_word(s, words)
            s.send(shapes[i](words[n - 1]) + "\n")
        self.enter_new_password(s, VAULT_PW)
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertEqual(len(self.addresses(d)), 1)

    def test_init_interactive_bip39_passphrase_is_typed_twice(self):
        passphrase = "pp-Secret-3e8c"
        d = self.path("d")
        s, words = self.start_interactive(d, "--with-passphrase")
        self.answer_quiz(s, words)
        s.expect(rb"BIP39 passphrase[^\n]*: ")
        self.assertFalse(s.echo_on())
        s.send(passphrase + "\n")
        s.expect(rb"Repeat the BIP39 passphrase: ")
        s.send(passphrase + "\n")
        self.enter_new_password(s, VAULT_PW)
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertNotIn(passphrase.encode(), s.screen)
        first = self.addresses(d)[0]
        # The words plus the passphrase give the vault's accounts; the words alone do not.
        phrase_file = self.secret_file("shown.phrase", " ".join(words) + "\n")
        pp_file = self.secret_file("shown.pp", passphrase + "\n")
        r = self.path("r")
        self.run_cli("restore", "--mnemonic-file", phrase_file, "--passphrase-file", pp_file,
                     "--password-file", self.other_pw, "--light-kdf", datadir=r,
                     forbidden=(passphrase,), check=EXIT_OK)
        self.assertEqual(self.addresses(r), [first])
        self.assertNotEqual(self.restored_first_address(phrase_file), first)

    def test_init_interactive_bip39_passphrases_that_differ_save_nothing(self):
        d = self.path("d")
        s, words = self.start_interactive(d, "--with-passphrase")
        self.answer_quiz(s, words)
        for _ in range(3):  # asked again twice, then given up
            s.expect(rb"BIP39 passphrase[^\n]*: ")
            s.send("one passphrase\n")
            s.expect(rb"Repeat the BIP39 passphrase: ")
            s.send("one pasphrase\n")
            s.expect(rb"The two BIP39 passphrases differ")
        self.assertEqual(s.wait(), EXIT_INVALID_INPUT)
        self.assertIn("differ", s.outputs()[1])
        self.assertFalse(os.path.exists(d))

    def test_init_interactive_japanese_accepts_composed_kana(self):
        # Input methods type composed kana (U+3058 "じ"); the list is NFKD (U+3057 U+3099).
        exercised = 0
        for attempt in range(12):
            d = self.path("ja-%d" % attempt)
            s, words = self.start_interactive(d, "--lang", "ja")
            self.assertEqual(len(words), 12)
            composed = lambda w: unicodedata.normalize("NFC", w)
            asked = self.answer_quiz(s, words, composed)
            exercised += sum(composed(words[n - 1]) != words[n - 1] for n in asked)
            self.enter_new_password(s, VAULT_PW)
            self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
            self.assertEqual(len(self.addresses(d)), 1)
            if exercised:
                break
        self.assertGreater(exercised, 0, "no asked word had a composable kana in 12 tries")


class JapaneseRestoreTest(CliTestCase):
    """The official Japanese BIP39 vectors, typed every way a user might: composed (NFC) or
    decomposed (NFKD) kana, ideographic or ASCII spaces. Not one correct word may be flagged.

    Every vector in every form is checked in-process (keybridge_cli_tests,
    PhraseEntry.EveryJapaneseVectorTypedInEveryFormGivesTheListsPhrase); through the binary,
    each form is typed for one vector of each word count (12, 18, 24)."""

    FORMS = (("NFC", "\u3000"), ("NFC", " "), ("NFKD", "\u3000"), ("NFKD", " "))
    # Vectors 12, 13, 14: 12, 18 and 24 words, each with its own passphrase.
    SAMPLE = (12, 13, 14)

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(DATA, "bip32jp-test_JP_BIP39.json"), encoding="utf-8") as f:
            cls.vectors = json.load(f)

    def restore_json(self, phrase, passphrase, name, check=EXIT_OK):
        phrase_file = self.secret_file(name + ".phrase", phrase + "\n")
        pp_file = self.secret_file(name + ".pp", passphrase)
        run = self.run_cli("--json", "restore", "--mnemonic-file", phrase_file,
                           "--passphrase-file", pp_file, "--password-file", self.vault_pw,
                           "--light-kdf", datadir=self.path(name), check=check)
        return run

    _reference = {}  # vector index -> first address, restored from the file's own text

    def reference_address(self, i):
        if i not in self._reference:
            v = self.vectors[i]
            run = self.restore_json(v["mnemonic"], v["passphrase"], "ref-%d" % i)
            self._reference[i] = run.json()["accounts"][0]["address"]
        return self._reference[i]

    def typed(self, vector, form):
        norm, space = form
        return [unicodedata.normalize(norm, w) for w in words_of(vector["mnemonic"])], space

    def test_sampled_vectors_from_a_file_in_every_form(self):
        exercised = 0
        for i in self.SAMPLE:
            v = self.vectors[i]
            self.assertEqual(len(words_of(v["mnemonic"])), (12, 18, 24)[i - self.SAMPLE[0]])
            address = self.reference_address(i)
            for k, form in enumerate(self.FORMS):
                words, space = self.typed(v, form)
                if space.join(words) == v["mnemonic"]:
                    continue  # the reference itself
                exercised += words != words_of(v["mnemonic"])
                run = self.restore_json(space.join(words), v["passphrase"], "v%d-%d" % (i, k))
                self.assertEqual(run.json()["accounts"][0]["address"], address,
                                 "vector %d typed %s" % (i, form))
        self.assertGreater(exercised, 0, "no form differed from the file's own")

    def test_a_typo_is_the_only_word_flagged(self):
        # Each form once, over the sampled vectors (all word counts): the test above already
        # shows their correct words are accepted.
        checked = 0
        for k, form in enumerate(self.FORMS):
            i = self.SAMPLE[k % len(self.SAMPLE)]
            v = self.vectors[i]
            words, space = self.typed(v, form)
            bad = len(words) // 2
            words[bad] = words[bad][:-1] + ("\u3093" if words[bad][-1] != "\u3093" else
                                            "\u3042")
            if unicodedata.normalize("NFKD", words[bad]) in JAPANESE_WORDS:
                continue  # the change happened to make another list word
            run = self.restore_json(space.join(words), v["passphrase"], "t%d-%d" % (i, k),
                                    check=EXIT_INVALID_INPUT)
            flagged = re.findall(r"\n  word (\d+):", run.stderr)
            self.assertEqual(flagged, [str(bad + 1)],
                             "vector %d typed %s: %s" % (i, form, run.stderr))
            checked += 1
        self.assertGreater(checked, 0, "every typo made another list word")

    def test_sampled_vectors_typed_word_by_word_without_a_suggestion(self):
        for k, form in enumerate(self.FORMS):
            i = self.SAMPLE[k % len(self.SAMPLE)]
            v = self.vectors[i]
            address = self.reference_address(i)
            words, space = self.typed(v, form)
            pp_file = self.secret_file("pp-%d-%d" % (i, k), v["passphrase"])
            d = self.path("pty-%d-%d" % (i, k))
            s = self.pty("restore", "--passphrase-file", pp_file, "--password-file",
                         self.vault_pw, "--light-kdf", datadir=d)
            s.expect(rb"How many words[^\n]*\? ")
            s.send("%d\n" % len(words))
            for n, w in enumerate(words):
                s.expect(("Word %d of %d: " % (n + 1, len(words))).encode())
                # Some words come with a blank typed around them, in the form's space.
                s.send((space + w if n % 3 == 0 else w) + "\n")
            self.assertEqual(s.wait(), EXIT_OK, "vector %d typed %s: %r" % (i, form, s.screen))
            self.assertNotIn("not in the".encode(), s.screen, "vector %d typed %s" % (i, form))
            self.assertNotIn("Did you mean".encode(), s.screen)
            self.assertEqual(self.addresses(d), [address], "vector %d typed %s" % (i, form))


class PasswordRuleTest(CliTestCase):
    """New passwords: at least 8 characters and not among the easiest to guess."""

    WEAK = ("short7!", "password1", "qwertyuiop", "aaaaaaaaaaa", "abcdefghijk", "12345678")

    def test_weak_passwords_are_refused_with_a_reason(self):
        reasons = set()
        for k, pw in enumerate(self.WEAK):
            weak = self.secret_file("weak-%d.pw" % k, pw + "\n")
            d = self.path("w%d" % k)
            run = self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                               weak, "--light-kdf", datadir=d, forbidden=(pw,),
                               check=EXIT_INVALID_INPUT)
            m = re.search(r"the vault password is too weak: (it [^(]*)", run.stderr)
            self.assertIsNotNone(m, repr(run))
            reasons.add(m.group(1).strip())
            self.assert_no_vault(d)
        # Different weaknesses get different short reasons.
        self.assertGreaterEqual(len(reasons), 4, reasons)
        self.assertIn("it is shorter than 8 characters", reasons)

    def test_init_checks_a_password_file_before_making_a_phrase(self):
        weak = self.secret_file("weak.pw", "letmein1\n")
        out, d = self.path("phrase.txt"), self.path("d")
        run = self.run_cli("init", "--yes", "--mnemonic-out", out, "--password-file", weak,
                           "--light-kdf", datadir=d, check=EXIT_INVALID_INPUT)
        self.assertIn("too weak", run.stderr)
        self.assertFalse(os.path.exists(out))
        self.assert_no_vault(d)
        self.run_cli("init", "--yes", "--mnemonic-out", out, "--password-file", weak,
                     "--light-kdf", "--allow-weak-password", datadir=d, check=EXIT_OK)

    def test_allow_weak_password_accepts_any_non_empty_password(self):
        weak = self.secret_file("weak.pw", "abc\n")
        d = self.path("d")
        self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file", weak,
                     "--light-kdf", "--allow-weak-password", datadir=d, check=EXIT_OK)
        self.assertEqual(self.addresses(d), [FIRST_ALL_ADDRESS])
        empty = self.secret_file("empty.pw", "\n")
        run = self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                           empty, "--light-kdf", "--allow-weak-password",
                           datadir=self.path("e"), check=EXIT_INVALID_INPUT)
        self.assertIn("empty", run.stderr)

    def test_passwd_and_export_apply_the_rule(self):
        d = self.path("d")
        self.restore_all(d)
        weak = self.secret_file("weak.pw", "iloveyou2\n")
        before = tree_contents(d)
        run = self.run_cli("passwd", "--password-file", self.vault_pw, "--new-password-file",
                           weak, datadir=d, check=EXIT_INVALID_INPUT)
        self.assertIn("too weak", run.stderr)
        self.assertEqual(tree_contents(d), before)
        out = self.path("export.json")
        run = self.run_cli("account", "export", FIRST_ALL_ADDRESS, "--out", out,
                           "--password-file", self.vault_pw, "--export-password-file", weak,
                           datadir=d, check=EXIT_INVALID_INPUT)
        self.assertIn("the export password is too weak", run.stderr)
        self.assertFalse(os.path.exists(out))
        self.run_cli("account", "export", FIRST_ALL_ADDRESS, "--out", out, "--password-file",
                     self.vault_pw, "--export-password-file", weak, "--allow-weak-password",
                     "--light-kdf", datadir=d, check=EXIT_OK)
        self.run_cli("passwd", "--password-file", self.vault_pw, "--new-password-file", weak,
                     "--allow-weak-password", datadir=d, check=EXIT_OK)

    def test_passwd_interactive_weak_password_is_asked_again(self):
        d = self.path("d")
        self.restore_all(d)
        s = self.pty("passwd", "--password-file", self.vault_pw, datadir=d)
        s.expect(rb"New vault password: ")
        s.send("zzzzzzzzzz\n")
        s.expect(rb"too weak: it repeats characters")
        s.expect(rb"New vault password: ")
        s.send(NEW_PW + "\n")
        s.expect(rb"Repeat the vault password: ")
        s.send(NEW_PW + "\n")
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        self.run_cli("account", "derive", "--password-file", self.new_pw, datadir=d,
                     check=EXIT_OK)

    def test_restore_backup_replaces_a_weak_backup_password(self):
        d = self.path("d")
        weak = self.secret_file("weak.pw", "sunshine\n")
        self.run_cli("restore", "--mnemonic-file", self.all_phrase, "--password-file", weak,
                     "--light-kdf", "--allow-weak-password", datadir=d, check=EXIT_OK)
        backup = self.path("b")
        self.run_cli("backup", "--out", backup, "--password-file", weak, datadir=d,
                     check=EXIT_OK)
        # Without a new password (and no terminal to ask on): refused, nothing written.
        n = self.path("n")
        run = self.run_cli("restore-backup", backup, "--password-file", weak, datadir=n)
        self.assertEqual(run.returncode, EXIT_FAILURE, repr(run))
        self.assertIn("too weak", run.stderr)
        self.assertIn("--new-password-file", run.stderr)
        self.assertFalse(os.path.exists(n))
        # With one: restored under the new password, the weak one no longer opens it.
        run = self.run_cli("restore-backup", backup, "--password-file", weak,
                           "--new-password-file", self.new_pw, datadir=n, check=EXIT_OK)
        self.assertIn("new vault password", run.stdout)
        self.run_cli("account", "derive", "--password-file", weak, datadir=n,
                     check=EXIT_WRONG_PASSWORD)
        self.run_cli("account", "derive", "--password-file", self.new_pw, datadir=n,
                     check=EXIT_OK)
        # --allow-weak-password keeps the backup's password.
        k = self.path("k")
        self.run_cli("restore-backup", backup, "--password-file", weak, "--allow-weak-password",
                     datadir=k, check=EXIT_OK)
        self.run_cli("account", "derive", "--password-file", weak, datadir=k, check=EXIT_OK)


class QuestionsTest(CliTestCase):
    """Questions that protect the user from a typo: many accounts, an existing export file."""

    def setUp(self):
        super().setUp()
        self.d = self.path("d")
        self.restore_all(self.d)

    def test_derive_more_than_20_asks_first(self):
        before = tree_contents(self.d)
        run = self.run_cli("account", "derive", "--count", "21", "--password-file",
                           self.vault_pw, datadir=self.d, check=EXIT_FAILURE)
        self.assertIn('no terminal to ask "Add 21 accounts to the vault?"', run.stderr)
        self.assertIn("--yes", run.stderr)
        self.assertEqual(tree_contents(self.d), before)
        s = self.pty("account", "derive", "--count", "21", datadir=self.d)
        s.expect(rb"Add 21 accounts to the vault\? \[y/N\] ")
        self.assertNotIn(b"password", s.screen.lower())  # asked before the password
        s.send("n\n")
        self.assertEqual(s.wait(), EXIT_DECLINED)
        self.assertEqual(tree_contents(self.d), before)
        s = self.pty("account", "derive", "--count", "21", "--password-file", self.vault_pw,
                     datadir=self.d)
        s.expect(rb"Add 21 accounts to the vault\? \[y/N\] ")
        s.send("y\n")
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        self.assertEqual(len(self.addresses(self.d)), 22)
        # 20 is not asked about; --yes answers the question.
        self.run_cli("account", "derive", "--count", "20", "--password-file", self.vault_pw,
                     datadir=self.d, check=EXIT_OK)
        self.run_cli("account", "derive", "--count", "25", "--yes", "--password-file",
                     self.vault_pw, datadir=self.d, check=EXIT_OK)
        self.assertEqual(len(self.addresses(self.d)), 67)

    def test_derive_more_than_1000_needs_yes(self):
        before = tree_contents(self.d)
        s = self.pty("account", "derive", "--count", "1001", "--password-file", self.vault_pw,
                     datadir=self.d)
        self.assertEqual(s.wait(), EXIT_USAGE)
        self.assertNotIn(b"[y/N]", s.screen)  # refused, not asked
        self.assertIn("--yes", s.outputs()[1])
        self.assertEqual(tree_contents(self.d), before)

    def test_export_asks_about_an_existing_file_before_any_password(self):
        out = self.secret_file("existing.json", "keep\n")
        run = self.run_cli("account", "export", FIRST_ALL_ADDRESS, "--out", out,
                           "--password-file", self.vault_pw, "--export-password-file",
                           self.export_pw, datadir=self.d, check=EXIT_FAILURE)
        self.assertIn('no terminal to ask "%s exists. Overwrite it?"' % out, run.stderr)
        s = self.pty("account", "export", FIRST_ALL_ADDRESS, "--out", out, datadir=self.d)
        s.expect(rb"exists\. Overwrite it\? \[y/N\] ")
        self.assertNotIn(b"password", s.screen.lower())
        s.send("n\n")
        self.assertEqual(s.wait(), EXIT_DECLINED)
        self.assertNotIn(b"password", s.screen.lower())
        with open(out) as f:
            self.assertEqual(f.read(), "keep\n")
        s = self.pty("account", "export", FIRST_ALL_ADDRESS, "--out", out, "--light-kdf",
                     datadir=self.d)
        s.expect(rb"Overwrite it\? \[y/N\] ")
        s.send("y\n")
        s.expect(rb"Vault password: ")
        s.send(VAULT_PW + "\n")
        s.expect(rb"New export password: ")
        s.send(EXPORT_PW + "\n")
        s.expect(rb"Repeat the export password: ")
        s.send(EXPORT_PW + "\n")
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        with open(out) as f:
            self.assertEqual(json.load(f)["address"].lower(), FIRST_ALL_ADDRESS[2:].lower())


class ProgressTest(CliTestCase):
    """A spinner while scrypt runs for long (standard strength), only on a terminal."""

    SPINNER = "deriving the key from your password\u2026"

    def test_spinner_on_a_terminal_only(self):
        d = self.path("d")
        s = self.pty("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                     self.vault_pw, datadir=d)
        self.assertEqual(s.wait(), EXIT_OK, s.outputs()[1])
        screen = s.screen.decode("utf-8")
        self.assertIn(self.SPINNER, screen)
        self.assertRegex(screen, "[\u2800-\u28ff] " + self.SPINNER)
        self.assertIn("\r\x1b[K", screen)  # its line is erased when done
        out, err = s.outputs()
        self.assertNotIn("deriving", out + err)  # never on stdout or stderr
        # Without a terminal: nothing.
        run = self.run_cli("account", "derive", "--password-file", self.vault_pw, datadir=d,
                           check=EXIT_OK)
        self.assertNotIn("deriving", run.stdout + run.stderr)
        # --json on a terminal: nothing either.
        s = self.pty("--json", "account", "derive", "--password-file", self.vault_pw,
                     datadir=d)
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertNotIn(b"deriving", s.screen)
        # A quick step (light scrypt) shows nothing.
        s = self.pty("restore", "--mnemonic-file", self.all_phrase, "--password-file",
                     self.vault_pw, "--light-kdf", datadir=self.path("light"))
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertNotIn(b"deriving", s.screen)


class AccountTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.path("d")
        self.restore_all(self.d)

    def derive(self, *args, check=EXIT_OK):
        return self.run_cli("account", "derive", "--password-file", self.vault_pw, *args,
                            datadir=self.d, check=check)

    def import_key(self, key_text, *args, check=EXIT_OK, password=None):
        key_file = self.secret_file("key-%d" % time.monotonic_ns(), key_text)
        secret = key_text.strip()
        secret = secret[2:] if secret.startswith("0x") else secret
        return self.run_cli("account", "import", "--private-key-file", key_file,
                            "--password-file", password or self.vault_pw, *args, datadir=self.d,
                            forbidden=(secret.lower(),) if len(secret) > 8 else (), check=check)

    def import_geth_vector(self, name, check=EXIT_OK, datadir=None):
        with open(os.path.join(DATA, "geth-v3_test_vector.json"), encoding="utf-8") as f:
            vector = json.load(f)[name]
        ks = self.secret_file(name + ".json", json.dumps(vector["json"]))
        ks_pw = self.secret_file(name + ".pw", vector["password"] + "\n")
        return self.run_cli("account", "import", "--keystore", ks, "--keystore-password-file",
                            ks_pw, "--password-file", self.vault_pw, datadir=datadir or self.d,
                            forbidden=(vector["priv"],), check=check)

    def test_derive_count_uses_the_next_bip44_indices(self):
        run = self.derive("--count", "3")
        for i in (1, 2, 3):
            path = "m/44'/60'/0'/0/%d" % i
            self.assertIn(ALL_ADDRESSES[path], run.stdout)
            self.assertIn(path, run.stdout)
        accounts = self.accounts(self.d)
        self.assertEqual([a["path"] for a in accounts],
                         ["m/44'/60'/0'/0/%d" % i for i in range(4)])
        self.assertEqual([a["address"] for a in accounts],
                         [ALL_ADDRESSES["m/44'/60'/0'/0/%d" % i] for i in range(4)])
        self.assertEqual([a["name"] for a in accounts], ["Account %d" % i for i in (1, 2, 3, 4)])

    def test_derive_ledger_live_skips_paths_in_use(self):
        data = self.derive("--ledger-live", "--count", "2", "--json").json()
        # m/44'/60'/0'/0/0 is both BIP44 index 0 and Ledger Live index 0: already in the vault.
        self.assertEqual([(a["path"], a["address"]) for a in data["accounts"]],
                         [(p, ALL_ADDRESSES[p]) for p in ("m/44'/60'/1'/0/0", "m/44'/60'/2'/0/0")])
        self.assertEqual(len(self.accounts(self.d)), 3)

    def test_derive_with_a_path_template(self):
        data = self.derive("--path-template", "m/44'/60'/1'/0/{i}", "--count", "2",
                           "--json").json()
        self.assertEqual([a["address"] for a in data["accounts"]],
                         [ALL_ADDRESSES["m/44'/60'/1'/0/0"], ALL_ADDRESSES["m/44'/60'/1'/0/1"]])

    def test_derive_rejects_bad_arguments_without_changes(self):
        before = tree_contents(self.d)
        for args in (("--count", "0"), ("--count", "abc"), ("--count", "-1"),
                     ("--path-template", "m/44'/60'/0'/0/0"),
                     ("--path-template", "m/44'/60'/{i}'/0/{i}"),
                     ("--path-template", "x/{i}")):
            run = self.derive(*args, check=None)
            self.assertEqual(run.returncode, EXIT_USAGE, repr(run))
            self.assertTrue(run.stderr.startswith("keybridge: error: "), repr(run))
        self.assertEqual(tree_contents(self.d), before)

    def test_concurrent_writers_are_serialised(self):
        procs = []
        for i in range(4):
            for args in (("account", "derive", "--count", "2", "--password-file", self.vault_pw),
                         ("account", "rename", FIRST_ALL_ADDRESS, "--name", "name %d" % i)):
                procs.append(subprocess.Popen(
                    [KEYBRIDGE, "--datadir", self.d] + list(args), stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                    start_new_session=True))
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
        accounts = self.accounts(self.d)
        self.assertEqual(sorted(a["path"] for a in accounts),
                         sorted("m/44'/60'/0'/0/%d" % i for i in range(9)))
        self.assertEqual(len({a["address"] for a in accounts}), 9)
        self.assertRegex(accounts[0]["name"], r"^name [0-3]$")
        generations = [n for n in os.listdir(os.path.join(self.d, "vault")) if n.startswith("gen-")]
        self.assertEqual(len(generations), 1, generations)

    def test_list_text_and_json(self):
        self.derive()
        self.import_key(KEY_ONES + "\n", "--name", "cold key")
        run = self.run_cli("account", "list", datadir=self.d, check=EXIT_OK)
        lines = run.stdout.splitlines()
        self.assertEqual(len(lines), 3, run.stdout)
        self.assertIn(FIRST_ALL_ADDRESS, lines[0])
        self.assertIn("Account 1", lines[0])
        self.assertIn("m/44'/60'/0'/0/0", lines[0])
        self.assertIn(KEY_ONES_ADDRESS, lines[2])
        self.assertIn("cold key", lines[2])
        self.assertIn("imported", lines[2])
        data = self.run_cli("--json", "account", "list", datadir=self.d, check=EXIT_OK).json()
        self.assertEqual(set(data), {"ok", "accounts"})
        self.assertEqual(data["accounts"][1], {
            "address": ALL_ADDRESSES["m/44'/60'/0'/0/1"], "name": "Account 2",
            "source": "seed", "path": "m/44'/60'/0'/0/1"})
        self.assertEqual(data["accounts"][2], {
            "address": KEY_ONES_ADDRESS, "name": "cold key", "source": "imported"})

    def test_list_needs_no_password(self):
        s = self.pty("account", "list", datadir=self.d)
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertIn(FIRST_ALL_ADDRESS, s.outputs()[0])
        self.assertNotIn(b"password", s.screen.lower())

    def test_import_private_key_with_and_without_0x(self):
        data = self.import_key("0x" + KEY_ONES + "\n", "--json").json()
        self.assertEqual(data["account"], {"address": KEY_ONES_ADDRESS, "name": "Imported 2",
                                           "source": "imported"})
        run = self.import_key(KEY_WEB3 + "\n", "--name", "web3 example")
        self.assertIn(KEY_WEB3_ADDRESS, run.stdout)
        self.assertEqual(self.addresses(self.d),
                         [FIRST_ALL_ADDRESS, KEY_ONES_ADDRESS, KEY_WEB3_ADDRESS])
        for rel, (_, content) in tree_contents(self.d).items():
            if content is not None:
                self.assertNotIn(KEY_WEB3.encode(), content, rel)
                self.assertNotIn(KEY_ONES.encode(), content, rel)

    def test_import_rejects_bad_keys_without_echoing_them(self):
        before = tree_contents(self.d)
        for text in ("00" * 32, "ff" * 32, KEY_WEB3[:-2], KEY_WEB3 + "00", "zz" + KEY_WEB3[2:], ""):
            run = self.import_key(text + "\n", check=None)
            self.assertEqual(run.returncode, EXIT_INVALID_INPUT, repr(run))
            if text:
                self.assertNotIn(text, run.stderr)
        self.assertEqual(tree_contents(self.d), before)

    def test_duplicate_import_is_refused(self):
        self.import_key(KEY_ONES + "\n")
        before = tree_contents(self.d)
        run = self.import_key("0x" + KEY_ONES.upper() + "\n", check=None)
        self.assertNotEqual(run.returncode, EXIT_OK)
        self.assertIn("already", run.stderr)
        self.assertEqual(tree_contents(self.d), before)

    def test_import_with_wrong_vault_password_changes_nothing(self):
        before = tree_contents(self.d)
        self.import_key(KEY_ONES + "\n", password=self.wrong_pw, check=EXIT_WRONG_PASSWORD)
        self.assertEqual(tree_contents(self.d), before)

    def test_import_needs_exactly_one_source(self):
        run = self.run_cli("account", "import", "--password-file", self.vault_pw, datadir=self.d)
        self.assertEqual(run.returncode, EXIT_USAGE, repr(run))
        self.assertIn("--private-key-file", run.stderr)

    def test_import_keystores_from_geth_vectors(self):
        run = self.import_geth_vector("31_byte_key")
        self.assertIn(KEYSTORE_31_ADDRESS, run.stdout)
        self.import_geth_vector("wikipage_test_vector_pbkdf2")
        self.assertEqual(self.addresses(self.d),
                         [FIRST_ALL_ADDRESS, KEYSTORE_31_ADDRESS, KEYSTORE_WIKI_ADDRESS])
        self.assertEqual(self.accounts(self.d)[1]["source"], "imported")

    def test_import_keystore_with_wrong_password_or_damage(self):
        with open(os.path.join(DATA, "geth-v3_test_vector.json"), encoding="utf-8") as f:
            vector = json.load(f)["31_byte_key"]["json"]
        ks = self.secret_file("ks.json", json.dumps(vector))
        before = tree_contents(self.d)
        run = self.run_cli("account", "import", "--keystore", ks, "--keystore-password-file",
                           self.wrong_pw, "--password-file", self.vault_pw, datadir=self.d,
                           check=EXIT_WRONG_PASSWORD)
        self.assertIn("keystore", run.stderr)
        for damaged in ("{not json", json.dumps(dict(vector, version=2)), "[]"):
            path = self.secret_file("damaged.json", damaged)
            run = self.run_cli("account", "import", "--keystore", path, "--keystore-password-file",
                               self.wrong_pw, "--password-file", self.vault_pw, datadir=self.d,
                               check=EXIT_INVALID_INPUT)
            self.assertIn("damaged.json", run.stderr)
        self.run_cli("account", "import", "--keystore", self.path("missing.json"),
                     "--keystore-password-file", self.wrong_pw, "--password-file", self.vault_pw,
                     datadir=self.d, check=EXIT_FAILURE)
        self.assertEqual(tree_contents(self.d), before)

    def test_export_then_import_into_another_vault(self):
        out = self.path("export.json")
        run = self.run_cli("account", "export", "--address", FIRST_ALL_ADDRESS, "--out", out,
                           "--password-file", self.vault_pw, "--export-password-file",
                           self.export_pw, "--json", datadir=self.d, check=EXIT_OK)
        self.assertEqual(run.json()["file"], out)
        self.assertEqual(run.json()["address"], FIRST_ALL_ADDRESS)
        self.assert_mode_0600(out)
        with open(out, encoding="utf-8") as f:
            keystore = json.load(f)
        self.assertEqual(keystore["version"], 3)
        self.assertEqual(keystore["address"], FIRST_ALL_ADDRESS[2:].lower())
        self.assertEqual(keystore["crypto"]["kdf"], "scrypt")
        # geth's standard parameters unless --light-kdf (test_export_of_an_imported_account).
        self.assertEqual(keystore["crypto"]["kdfparams"]["n"], 262144)
        # A second vault (different phrase, different password) imports it.
        d2, p2 = self.path("d2"), self.path("d2.phrase")
        self.run_cli("init", "--yes", "--mnemonic-out", p2, "--password-file", self.other_pw,
                     "--light-kdf", datadir=d2, check=EXIT_OK)
        self.assertNotIn(FIRST_ALL_ADDRESS, self.addresses(d2))
        run = self.run_cli("account", "import", "--keystore", out, "--keystore-password-file",
                           self.export_pw, "--password-file", self.other_pw, datadir=d2,
                           check=EXIT_OK)
        self.assertIn(FIRST_ALL_ADDRESS, run.stdout)
        self.assertEqual(self.addresses(d2)[1], FIRST_ALL_ADDRESS)

    def test_export_of_an_imported_account(self):
        self.import_key(KEY_WEB3 + "\n")
        out = self.path("web3.json")
        self.run_cli("account", "export", KEY_WEB3_ADDRESS, "--out", out, "--password-file",
                     self.vault_pw, "--export-password-file", self.export_pw, "--light-kdf",
                     datadir=self.d, check=EXIT_OK)
        with open(out, encoding="utf-8") as f:
            self.assertEqual(json.load(f)["crypto"]["kdfparams"]["n"], 4096)  # geth's light
        d2 = self.path("d2")
        self.run_cli("init", "--yes", "--mnemonic-out", self.path("d2.phrase"), "--password-file",
                     self.other_pw, "--light-kdf", datadir=d2, check=EXIT_OK)
        self.run_cli("account", "import", "--keystore", out, "--keystore-password-file",
                     self.export_pw, "--password-file", self.other_pw, datadir=d2, check=EXIT_OK)
        self.assertIn(KEY_WEB3_ADDRESS, self.addresses(d2))

    def test_export_failures_write_nothing(self):
        out = self.path("never.json")
        unknown = ALL_ADDRESSES["m/44'/60'/0'/0/3"]
        self.run_cli("account", "export", "--address", unknown, "--out", out, "--password-file",
                     self.vault_pw, "--export-password-file", self.export_pw, datadir=self.d,
                     check=EXIT_NOT_FOUND)
        self.run_cli("account", "export", "--address", FIRST_ALL_ADDRESS, "--out", out,
                     "--password-file", self.wrong_pw, "--export-password-file", self.export_pw,
                     datadir=self.d, check=EXIT_WRONG_PASSWORD)
        run = self.run_cli("account", "export", "--address", FIRST_ALL_ADDRESS, "--password-file",
                           self.vault_pw, "--export-password-file", self.export_pw, datadir=self.d)
        self.assertEqual(run.returncode, EXIT_USAGE, repr(run))  # no --out
        self.assertIn("--out", run.stderr)
        self.assertFalse(os.path.exists(out))

    def test_export_does_not_overwrite_without_confirmation(self):
        out = self.secret_file("existing.json", "keep\n")
        run = self.run_cli("account", "export", "--address", FIRST_ALL_ADDRESS, "--out", out,
                           "--password-file", self.vault_pw, "--export-password-file",
                           self.export_pw, datadir=self.d)
        self.assertNotEqual(run.returncode, EXIT_OK)
        with open(out) as f:
            self.assertEqual(f.read(), "keep\n")

    def test_rename(self):
        run = self.run_cli("account", "rename", "--address", FIRST_ALL_ADDRESS, "--name",
                           "Spending ☕", "--json", datadir=self.d, check=EXIT_OK)
        self.assertEqual(run.json()["account"]["name"], "Spending ☕")
        self.assertEqual(self.accounts(self.d)[0]["name"], "Spending ☕")
        # Lower-case addresses are accepted; a wrong EIP-55 checksum is not.
        self.run_cli("account", "rename", FIRST_ALL_ADDRESS.lower(), "--name", "Main",
                     datadir=self.d, check=EXIT_OK)
        self.assertEqual(self.accounts(self.d)[0]["name"], "Main")
        before = tree_contents(self.d)
        bad_checksum = FIRST_ALL_ADDRESS[:2] + FIRST_ALL_ADDRESS[2:].swapcase()
        self.run_cli("account", "rename", bad_checksum, "--name", "x", datadir=self.d,
                     check=EXIT_USAGE)
        self.run_cli("account", "rename", KEY_ONES_ADDRESS, "--name", "x", datadir=self.d,
                     check=EXIT_NOT_FOUND)
        for name in ("", "x" * 65, "tab\there"):
            self.run_cli("account", "rename", FIRST_ALL_ADDRESS, "--name", name, datadir=self.d,
                         check=EXIT_USAGE)
        self.assertEqual(tree_contents(self.d), before)

    def test_remove_with_yes(self):
        self.derive()
        address = ALL_ADDRESSES["m/44'/60'/0'/0/1"]
        run = self.run_cli("account", "remove", "--address", address, "--yes", datadir=self.d,
                           check=EXIT_OK)
        self.assertIn(address, run.stdout)
        self.assertEqual(self.addresses(self.d), [FIRST_ALL_ADDRESS])
        self.run_cli("account", "remove", "--address", address, "--yes", datadir=self.d,
                     check=EXIT_NOT_FOUND)

    def test_remove_without_yes_and_without_terminal_is_refused(self):
        before = tree_contents(self.d)
        run = self.run_cli("account", "remove", "--address", FIRST_ALL_ADDRESS, datadir=self.d)
        self.assertNotEqual(run.returncode, EXIT_OK)
        self.assertIn("--yes", run.stderr)
        self.assertEqual(tree_contents(self.d), before)

    def test_remove_interactive_no_keeps_the_account(self):
        self.import_key(KEY_ONES + "\n")
        before = tree_contents(self.d)
        s = self.pty("account", "remove", KEY_ONES_ADDRESS, datadir=self.d)
        s.expect(rb"\[y/N\] ")
        self.assertIn(b"deleted", s.screen)  # imported keys: the warning says the key goes
        s.send("n\n")
        self.assertEqual(s.wait(), EXIT_DECLINED)
        self.assertIn(KEY_ONES_ADDRESS, self.addresses(self.d))
        self.assertEqual(tree_contents(self.d), before)
        s = self.pty("account", "remove", KEY_ONES_ADDRESS, datadir=self.d)
        s.expect(rb"\[y/N\] ")
        s.send("\n")  # the default is no
        self.assertEqual(s.wait(), EXIT_DECLINED)
        self.assertIn(KEY_ONES_ADDRESS, self.addresses(self.d))

    def test_remove_interactive_yes_removes(self):
        self.import_key(KEY_ONES + "\n")
        s = self.pty("account", "remove", "--address", KEY_ONES_ADDRESS, datadir=self.d)
        s.expect(rb"\[y/N\] ")
        s.send("y\n")
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertEqual(self.addresses(self.d), [FIRST_ALL_ADDRESS])
        keys = os.path.join(self.d, "vault")
        for rel in tree_contents(keys):
            self.assertNotIn(KEY_ONES_ADDRESS[2:].lower(), rel)


class BackupTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.path("d")
        self.restore_all(self.d)
        self.run_cli("account", "derive", "--count", "2", "--password-file", self.vault_pw,
                     datadir=self.d, check=EXIT_OK)
        key = self.secret_file("key", KEY_WEB3 + "\n")
        self.run_cli("account", "import", "--private-key-file", key, "--password-file",
                     self.vault_pw, "--name", "imported one", datadir=self.d, check=EXIT_OK)
        self.run_cli("account", "rename", FIRST_ALL_ADDRESS, "--name", "main", datadir=self.d,
                     check=EXIT_OK)
        self.backup = self.path("vault.backup")
        run = self.run_cli("backup", "--out", self.backup, "--password-file", self.vault_pw,
                           "--json", datadir=self.d, check=EXIT_OK)
        self.assertEqual(run.json()["accounts"], 4)
        self.assert_mode_0600(self.backup)

    def test_backup_restores_into_a_new_data_folder(self):
        n = self.path("n")
        run = self.run_cli("restore-backup", self.backup, "--password-file", self.vault_pw,
                           "--json", datadir=n, check=EXIT_OK)
        self.assertEqual(run.json()["accounts"], self.accounts(self.d))
        self.assertEqual(self.accounts(n), self.accounts(self.d))
        self.assertEqual(len(self.accounts(n)), 4)
        self.assert_private_modes(n)
        # The restored vault works: it derives the next account and exports the imported one.
        run = self.run_cli("account", "derive", "--password-file", self.vault_pw, "--json",
                           datadir=n, check=EXIT_OK)
        self.assertEqual(run.json()["accounts"][0]["address"], ALL_ADDRESSES["m/44'/60'/0'/0/3"])

    def test_backup_file_holds_no_plain_secrets(self):
        with open(self.backup, "rb") as f:
            content = f.read()
        for secret in (ALL_PHRASE, VAULT_PW, KEY_WEB3, "imported one", FIRST_ALL_ADDRESS[2:]):
            self.assertNotIn(secret.encode(), content)

    def test_restore_backup_with_file_option(self):
        n = self.path("n")
        self.run_cli("restore-backup", "--file", self.backup, "--password-file", self.vault_pw,
                     datadir=n, check=EXIT_OK)
        self.assertEqual(self.accounts(n), self.accounts(self.d))

    def test_restore_backup_over_a_vault_needs_confirmation(self):
        other = self.path("other")
        self.run_cli("init", "--yes", "--mnemonic-out", self.path("other.phrase"),
                     "--password-file", self.other_pw, "--light-kdf", datadir=other,
                     check=EXIT_OK)
        before = tree_contents(other)
        run = self.run_cli("restore-backup", self.backup, "--password-file", self.vault_pw,
                           datadir=other)
        self.assertNotEqual(run.returncode, EXIT_OK)
        self.assertIn("--yes", run.stderr)
        self.assertEqual(tree_contents(other), before)
        # Interactive "no".
        s = self.pty("restore-backup", self.backup, "--password-file", self.vault_pw,
                     datadir=other)
        s.expect(rb"Replace it with the backup\? \[y/N\] ")
        s.send("n\n")
        self.assertEqual(s.wait(), EXIT_DECLINED)
        self.assertEqual(tree_contents(other), before)
        # --yes replaces it.
        self.run_cli("restore-backup", self.backup, "--password-file", self.vault_pw, "--yes",
                     datadir=other, check=EXIT_OK)
        self.assertEqual(self.accounts(other), self.accounts(self.d))

    def test_damaged_backups_change_nothing(self):
        with open(self.backup, encoding="utf-8") as f:
            text = f.read()
        outer = json.loads(text)
        ct = outer["crypto"]["ciphertext"]
        flipped = dict(outer, crypto=dict(outer["crypto"],
                                          ciphertext=("0" if ct[0] != "0" else "1") + ct[1:]))
        damaged = {
            "flipped": json.dumps(flipped),
            "truncated": text[: len(text) // 2],
            "not-json": "hello\n",
            "other-format": json.dumps(dict(outer, format="something-else")),
            "empty": "",
        }
        n = self.path("n")
        before = tree_contents(self.d)
        for name, content in damaged.items():
            path = self.secret_file("damaged-" + name, content)
            for target, extra in ((n, ()), (self.d, ("--yes",))):
                run = self.run_cli("restore-backup", path, "--password-file", self.vault_pw,
                                   *extra, datadir=target)
                self.assertIn(run.returncode, (EXIT_WRONG_PASSWORD, EXIT_INVALID_INPUT),
                              name + ": " + repr(run))
            self.assertFalse(os.path.exists(n), name)
            self.assertEqual(tree_contents(self.d), before, name)

    def test_names_from_a_backup_cannot_drive_the_terminal(self):
        # A backup is only as trustworthy as the vault it was made from (another machine, an
        # older version, a tampered file): its names reach the terminal escaped, never raw.
        with open(os.path.join(self.d, "vault", "CURRENT"), encoding="utf-8") as f:
            live = os.path.join(self.d, "vault", f.read().strip(), "vault.json")
        with open(live, encoding="utf-8") as f:
            vault = json.load(f)
        hostile = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202etxt.exe\x7f"
        vault["accounts"][0]["name"] = hostile
        os.chmod(live, 0o600)
        with open(live, "w", encoding="utf-8") as f:
            json.dump(vault, f)
        hostile_backup = self.path("hostile.backup")
        self.run_cli("backup", "--out", hostile_backup, "--password-file", self.vault_pw,
                     datadir=self.d, check=EXIT_OK)
        n = self.path("n")
        runs = [self.run_cli("restore-backup", hostile_backup, "--password-file", self.vault_pw,
                             datadir=n, check=EXIT_OK),
                self.run_cli("restore-backup", hostile_backup, "--password-file", self.vault_pw,
                             "--json", datadir=self.path("n2"), check=EXIT_OK),
                self.run_cli("account", "list", datadir=n, check=EXIT_OK),
                self.run_cli("account", "list", "--json", datadir=n, check=EXIT_OK),
                self.run_cli("account", "remove", FIRST_ALL_ADDRESS, datadir=n)]
        for run in runs:
            for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\x7f"):
                self.assertNotIn(raw, run.stdout + run.stderr, repr(run))
        listed = runs[2].stdout
        self.assertIn("\\x1b]0;pwned\\x07\\x1b[2J\\u{009b}31m\\u{202e}txt.exe\\x7f", listed)
        # --json keeps the value (JSON escapes), so scripts still read the real name.
        first = [a for a in runs[3].json()["accounts"] if a["address"] == FIRST_ALL_ADDRESS]
        self.assertEqual(first[0]["name"], hostile)
        self.assertIn("\\u001b]0;pwned", runs[3].stdout)

    def test_wrong_passwords_for_backups(self):
        before = tree_contents(self.d)
        out = self.path("never.backup")
        self.run_cli("backup", "--out", out, "--password-file", self.wrong_pw, datadir=self.d,
                     check=EXIT_WRONG_PASSWORD)
        self.assertFalse(os.path.exists(out))
        n = self.path("n")
        self.run_cli("restore-backup", self.backup, "--password-file", self.wrong_pw, datadir=n,
                     check=EXIT_WRONG_PASSWORD)
        self.assertFalse(os.path.exists(n))
        self.run_cli("restore-backup", self.backup, "--password-file", self.wrong_pw, "--yes",
                     datadir=self.d, check=EXIT_WRONG_PASSWORD)
        self.assertEqual(tree_contents(self.d), before)

    def test_backup_does_not_overwrite_without_confirmation(self):
        out = self.secret_file("existing.backup", "keep\n")
        run = self.run_cli("backup", "--out", out, "--password-file", self.vault_pw,
                           datadir=self.d)
        self.assertNotEqual(run.returncode, EXIT_OK)
        with open(out) as f:
            self.assertEqual(f.read(), "keep\n")
        self.run_cli("backup", "--out", out, "--password-file", self.vault_pw, "--yes",
                     datadir=self.d, check=EXIT_OK)
        self.assert_mode_0600(out)
        self.run_cli("restore-backup", out, "--password-file", self.vault_pw,
                     datadir=self.path("n"), check=EXIT_OK)


class PasswdTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.path("d")
        self.restore_all(self.d)
        key = self.secret_file("key", KEY_WEB3 + "\n")
        self.run_cli("account", "import", "--private-key-file", key, "--password-file",
                     self.vault_pw, datadir=self.d, check=EXIT_OK)

    def test_passwd_switches_passwords(self):
        before = tree_contents(self.d)
        self.run_cli("passwd", "--password-file", self.vault_pw, "--new-password-file",
                     self.new_pw, datadir=self.d, check=EXIT_OK)
        self.assertNotEqual(tree_contents(self.d), before)
        self.run_cli("account", "derive", "--password-file", self.vault_pw, datadir=self.d,
                     check=EXIT_WRONG_PASSWORD)
        self.run_cli("account", "derive", "--password-file", self.new_pw, datadir=self.d,
                     check=EXIT_OK)
        # Imported keys were re-encrypted too: a backup under the new password restores.
        backup = self.path("b")
        self.run_cli("backup", "--out", backup, "--password-file", self.new_pw, datadir=self.d,
                     check=EXIT_OK)
        n = self.path("n")
        self.run_cli("restore-backup", backup, "--password-file", self.new_pw, datadir=n,
                     check=EXIT_OK)
        self.assertIn(KEY_WEB3_ADDRESS, self.addresses(n))
        self.assertEqual(self.addresses(n), self.addresses(self.d))

    def test_passwd_failures_change_nothing(self):
        before = tree_contents(self.d)
        self.run_cli("passwd", "--password-file", self.wrong_pw, "--new-password-file",
                     self.new_pw, datadir=self.d, check=EXIT_WRONG_PASSWORD)
        empty = self.secret_file("empty.pw", "")
        self.run_cli("passwd", "--password-file", self.vault_pw, "--new-password-file", empty,
                     datadir=self.d, check=EXIT_INVALID_INPUT)
        run = self.run_cli("passwd", "--password-file", self.vault_pw, datadir=self.d)
        self.assertNotEqual(run.returncode, EXIT_OK)  # no terminal to ask for the new one
        self.assertIn("--new-password-file", run.stderr)
        self.assertEqual(tree_contents(self.d), before)

    def test_passwd_interactive(self):
        s = self.pty("passwd", datadir=self.d)
        s.expect(rb"Current vault password: ")
        self.assertFalse(s.echo_on())
        s.send(VAULT_PW + "\n")
        s.expect(rb"New vault password: ")
        s.send(NEW_PW + "\n")
        s.expect(rb"Repeat the vault password: ")
        s.send(NEW_PW + "\n")
        self.assertEqual(s.wait(), EXIT_OK)
        self.assert_no_secrets(s.screen.decode("utf-8"))
        self.run_cli("account", "derive", "--password-file", self.new_pw, datadir=self.d,
                     check=EXIT_OK)


class WrongPasswordTest(CliTestCase):
    def test_wrong_password_changes_no_file(self):
        d = self.path("d")
        self.restore_all(d)
        key = self.secret_file("key", KEY_ONES + "\n")
        self.run_cli("account", "import", "--private-key-file", key, "--password-file",
                     self.vault_pw, datadir=d, check=EXIT_OK)
        before = tree_contents(d)
        self.assertGreater(len(before), 5)
        key2 = self.secret_file("key2", KEY_WEB3 + "\n")
        commands = [
            ("account", "derive", "--count", "2"),
            ("account", "import", "--private-key-file", key2),
            ("account", "export", FIRST_ALL_ADDRESS, "--out", self.path("x.json"),
             "--export-password-file", self.export_pw),
            ("account", "export", KEY_ONES_ADDRESS, "--out", self.path("y.json"),
             "--export-password-file", self.export_pw),
            ("backup", "--out", self.path("x.backup")),
            ("passwd", "--new-password-file", self.new_pw),
        ]
        for args in commands:
            run = self.run_cli(*args, "--password-file", self.wrong_pw, datadir=d,
                               check=EXIT_WRONG_PASSWORD)
            self.assertIn("wrong password", run.stderr)
            self.assertEqual(tree_contents(d), before, " ".join(args))
        for name in ("x.json", "y.json", "x.backup"):
            self.assertFalse(os.path.exists(self.path(name)), name)
        run = self.run_cli("--json", "account", "derive", "--password-file", self.wrong_pw,
                           datadir=d, check=EXIT_WRONG_PASSWORD)
        self.assertEqual(run.json(), {"ok": False, "error": {"code": "wrong_password",
                                                             "message": "wrong password"}})


class UsageTest(CliTestCase):
    EXPECTED_COMMANDS = {
        "init": ["--words", "--lang", "--mnemonic-out", "--password-file", "--passphrase-file",
                 "--with-passphrase", "--light-kdf", "--allow-weak-password"],
        "restore": ["--mnemonic-file", "--words", "--lang", "--password-file",
                    "--passphrase-file", "--with-passphrase", "--light-kdf",
                    "--allow-weak-password", "--discover", "--rpc-url", "--chain"],
        "account list": [],
        "account derive": ["--count", "--path-template", "--ledger-live", "--password-file"],
        "account discover": ["--rpc-url", "--chain", "--ledger-live", "--password-file"],
        "account import": ["--private-key-file", "--keystore", "--keystore-password-file",
                           "--name", "--password-file"],
        "account export": ["--address", "--out", "--export-password-file", "--password-file",
                           "--light-kdf", "--allow-weak-password"],
        "account rename": ["--address", "--name"],
        "account remove": ["--address"],
        "backup": ["--out", "--password-file"],
        "restore-backup": ["--file", "--password-file", "--new-password-file",
                           "--allow-weak-password"],
        "passwd": ["--password-file", "--new-password-file", "--allow-weak-password"],
        # The daemon commands (tests/cli/daemon_cli_test.py runs them against keybridged).
        "status": [],
        "unlock": ["--password-file"],
        "lock": [],
        "token": [],
        "ui": ["--no-open"],
        "version": [],
        "approve": ["--once"],
        "permissions list": [],
        "permissions revoke": [],
        # Browser extensions (tests/daemon/e2e/extension_pairing_test.cpp).
        "pairing list": [],
        "pairing revoke": [],
        # The chains keybridged knows (tests/cli/daemon_cli_test.py, and the methods in
        # tests/daemon/e2e/chain_admin_test.cpp).
        "chain list": [],
        "chain add": ["--name", "--url-file"],
        "chain set-upstream": ["--url-file"],
        "chain remove": [],
        # Reads the audit log's files (tests/cli/audit_cli_test.py).
        "audit": ["--origin", "--method", "--account", "--since", "--decision", "--limit"],
        # Hardware wallets, through keybridged (tests/daemon/e2e/*_devices_test.cpp).
        "devices": [],
        "account add": ["--ledger", "--trezor", "--index", "--ledger-live", "--bip44", "--path",
                        "--device", "--name"],
        "doctor": [],
    }
    GLOBAL_OPTIONS = ["--datadir", "--json", "--yes", "--help"]

    def listed_commands(self):
        run = self.run_cli("--help", check=EXIT_OK)
        self.assertIn("Usage: keybridge", run.stdout)
        block = run.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        commands = [re.split(r"\s{2,}", line.strip())[0] for line in block.splitlines()]
        self.assertGreaterEqual(len(commands), 17)
        return commands, run.stdout

    def test_tool_help_lists_commands_options_and_exit_codes(self):
        commands, text = self.listed_commands()
        self.assertEqual(sorted(commands), sorted(self.EXPECTED_COMMANDS))
        for option in self.GLOBAL_OPTIONS:
            self.assertIn(option, text)
        self.assertIn("Exit codes", text)
        run = self.run_cli()  # no arguments at all: usage, exit 2
        self.assertEqual(run.returncode, EXIT_USAGE)
        self.assertIn("Commands:", run.stdout)

    def test_every_command_has_help_with_its_options(self):
        commands, _ = self.listed_commands()
        for command in commands:
            for flag in ("--help", "-h"):
                run = self.run_cli(*command.split(), flag, check=EXIT_OK)
                text = run.stdout
                self.assertTrue(text.startswith("Usage: keybridge " + command), text)
                usage_line = text.splitlines()[0]
                options_block = text.split("\nOptions:\n", 1)[1]
                listed = re.findall(r"^  (--[a-z0-9-]+)", options_block, re.M)
                for option in self.EXPECTED_COMMANDS[command] + self.GLOBAL_OPTIONS:
                    self.assertIn(option, listed, command)
                for option in re.findall(r"--[a-z0-9-]+", usage_line):
                    self.assertIn(option, listed, command + ": usage mentions " + option)
                self.assertIn("Exit codes", text)
            # Global options may stand before the command too.
            self.run_cli("--help", *command.split(), check=EXIT_OK)

    def test_unknown_commands_and_options(self):
        d = self.path("d")
        cases = [
            (("frobnicate",), "unknown command 'frobnicate'"),
            (("account",), "unknown command 'account'"),
            (("account", "lst"), "unknown command 'account lst'"),
            (("account", "list", "--bogus"), "unknown option --bogus"),
            (("--bogus", "account", "list"), "unknown option --bogus"),
            (("account", "derive", "--count"), "--count needs a value"),
            (("account", "list", "--json=yes"), "--json takes no value"),
            (("account", "list", "extra"), "takes no arguments"),
            (("account", "derive", "5"), "takes no arguments"),
            (("account", "remove", FIRST_ALL_ADDRESS, "again"), "takes at most one"),
            (("init", "-x"), "takes no arguments"),
        ]
        for args, message in cases:
            run = self.run_cli(*args, datadir=d, check=EXIT_USAGE)
            self.assertIn(message, run.stderr)
            self.assertTrue(run.stderr.startswith("keybridge: error: "), run.stderr)
            self.assertEqual(run.stdout, "")
        run = self.run_cli("--json", "frobnicate", datadir=d, check=EXIT_USAGE)
        self.assertIs(run.json()["ok"], False)
        self.assertFalse(os.path.exists(d))

    def test_stray_words_are_not_echoed(self):
        # Someone typing the phrase on the command line must not see it repeated in a log.
        run = self.run_cli("restore", *ALL_PHRASE.split(), datadir=self.path("d"),
                           check=EXIT_USAGE)
        self.assertNotIn("all", run.stderr.replace("restore", ""))

    def test_no_vault_is_not_found(self):
        d = self.path("nothing")
        key = self.secret_file("key", KEY_ONES)
        commands = [
            ("account", "list"),
            ("account", "derive", "--password-file", self.vault_pw),
            ("account", "import", "--private-key-file", key, "--password-file", self.vault_pw),
            ("account", "export", FIRST_ALL_ADDRESS, "--out", self.path("x"),
             "--password-file", self.vault_pw, "--export-password-file", self.export_pw),
            ("account", "rename", FIRST_ALL_ADDRESS, "--name", "x"),
            ("account", "remove", FIRST_ALL_ADDRESS, "--yes"),
            ("backup", "--out", self.path("b"), "--password-file", self.vault_pw),
            ("passwd", "--password-file", self.vault_pw, "--new-password-file", self.new_pw),
        ]
        for args in commands:
            run = self.run_cli(*args, datadir=d, check=EXIT_NOT_FOUND)
            self.assertIn("no vault", run.stderr)
            self.assertIn("keybridge init", run.stderr)
        self.assertFalse(os.path.exists(d))
        self.assertFalse(os.path.exists(self.path("x")))
        self.run_cli("account", "list", check=EXIT_NOT_FOUND)  # the default folder


class FileModeTest(CliTestCase):
    def test_everything_is_private_even_with_a_loose_umask(self):
        old = os.umask(0o022)
        self.addCleanup(os.umask, old)
        d = self.path("d")
        self.restore_all(d)
        self.run_cli("account", "derive", "--count", "2", "--password-file", self.vault_pw,
                     datadir=d, check=EXIT_OK)
        key = self.secret_file("key", KEY_ONES + "\n")
        self.run_cli("account", "import", "--private-key-file", key, "--password-file",
                     self.vault_pw, datadir=d, check=EXIT_OK)
        self.run_cli("account", "rename", KEY_ONES_ADDRESS, "--name", "k", datadir=d,
                     check=EXIT_OK)
        checked = self.assert_private_modes(d)
        self.assertGreaterEqual(checked, 7)  # vault/, CURRENT, LOCK, gen/, vault.json, seed.json,
        #                                      keys/, one key file
        key_files = [p for p in tree_contents(d) if "/keys/" in p and p.endswith(".json")]
        self.assertEqual(len(key_files), 1)
        for name, args in (("export.json", ("account", "export", KEY_ONES_ADDRESS, "--out",
                                            self.path("export.json"), "--export-password-file",
                                            self.export_pw, "--password-file", self.vault_pw)),
                           ("b.backup", ("backup", "--out", self.path("b.backup"),
                                         "--password-file", self.vault_pw)),
                           ("m.txt", ("init", "--yes", "--mnemonic-out", self.path("m.txt"),
                                      "--password-file", self.vault_pw, "--light-kdf",
                                      "--datadir", self.path("d2")))):
            self.run_cli(*args, datadir=None if name == "m.txt" else d, check=EXIT_OK)
            self.assert_mode_0600(self.path(name))
        self.assert_private_modes(self.path("d2"))

    def test_existing_loose_data_folder_is_tightened(self):
        d = self.path("d")
        os.mkdir(d, 0o755)
        os.chmod(d, 0o755)
        self.restore_all(d)
        self.assert_private_modes(d)

    def test_nested_data_folder_parents_are_private(self):
        d = self.path("a/b/c")
        self.restore_all(d)
        self.assert_private_modes(self.path("a"))


def main():
    global KEYBRIDGE
    if len(sys.argv) < 2:
        sys.stderr.write("usage: cli_test.py PATH_TO_keybridge [unittest options]\n")
        return 2
    KEYBRIDGE = os.path.abspath(sys.argv[1])
    if not os.access(KEYBRIDGE, os.X_OK):
        sys.stderr.write("not an executable: %s\n" % KEYBRIDGE)
        return 2
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2)
    result = program.result
    if result.testsRun == 0:
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
