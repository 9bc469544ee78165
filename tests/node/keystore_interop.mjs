// Keystore interoperability between the keybridge CLI and ethers v6, in both directions:
//   keybridge exports (account export, standard and --light-kdf) -> ethers decrypts
//   (Wallet.fromEncryptedJson), and the key matches the one ethers derives from the same phrase
//   and path (HDNodeWallet.fromPhrase);
//   ethers encrypts (light and default scrypt) -> keybridge imports (account import --keystore),
//   lists the address, exports it again, and ethers decrypts the same private key.
// Usage: node keystore_interop.mjs PATH_TO_keybridge
// Prints one line per check and "N passed, M failed" last; exits non-zero on any failure.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";

const keybridge = process.argv[2];
if (!keybridge) {
  console.error("usage: node keystore_interop.mjs PATH_TO_keybridge");
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(ok, what, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ""}`);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-interop-"));
function secretFile(name, text) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

// Runs keybridge in a new session (detached: setsid), so it has no terminal to prompt on.
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(keybridge, args, {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, HOME: tmp, XDG_DATA_HOME: path.join(tmp, "xdg") },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

// Runs a keybridge command that must succeed with --json; returns the parsed output.
async function runJson(what, args) {
  const r = await run([...args, "--json"]);
  let data = null;
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // reported below
  }
  const ok = r.code === 0 && data !== null && data.ok === true;
  check(ok, what, ok ? "" : `exit ${r.code} ${r.signal ?? ""} ${r.stderr.trim()}`);
  if (!ok) throw new Error(`cannot continue after: ${what}`);
  return data;
}

const passwords = {
  vault: secretFile("vault.pw", "interop vault password\n"),
  // Non-ASCII (NFC) to check that both sides feed the same UTF-8 bytes to scrypt.
  export: secretFile("export.pw", "exp\u00f6rt-\u65e5\u672c-pw\n"),
  light: secretFile("light.pw", "light ethers password"),
  standard: secretFile("standard.pw", "standard ethers password\n"),
};
const exportPassword = "exp\u00f6rt-\u65e5\u672c-pw";

// Exports at geth's standard scrypt (N=2^18), or its light one (N=2^12) when light is set:
// ethers needs about three seconds for each standard file, so one standard export (section 2)
// proves ethers reads keybridge's default and the others are light.
async function exportAccount(datadir, address, name, light = false) {
  const out = path.join(tmp, name);
  const data = await runJson(`export ${address}${light ? " --light-kdf" : ""}`, [
    "--datadir", datadir, "account", "export", "--address", address, "--out", out,
    "--password-file", passwords.vault, "--export-password-file", passwords.export,
    ...(light ? ["--light-kdf"] : []),
  ]);
  check(data.address === address, "export reports the address");
  const mode = fs.statSync(out).mode & 0o777;
  check(mode === 0o600, `exported file is 0600`, mode.toString(8));
  const json = fs.readFileSync(out, "utf8");
  const n = JSON.parse(json).crypto.kdfparams.n;
  check(n === (light ? 4096 : 262144), `the export's scrypt N is ${light ? "light" : "standard"}`,
        `N=${n}`);
  return json;
}

async function accountsOf(datadir) {
  const data = await runJson("account list --json", ["--datadir", datadir, "account", "list"]);
  return data.accounts;
}

async function importKeystore(datadir, json, passwordFile, name) {
  const file = secretFile(name, json);
  const data = await runJson(`import ${name}`, [
    "--datadir", datadir, "account", "import", "--keystore", file,
    "--keystore-password-file", passwordFile, "--password-file", passwords.vault,
  ]);
  return data.account;
}

async function main() {
  // 1. A light vault restored from a phrase ethers made up.
  const phrase = ethers.Mnemonic.fromEntropy(ethers.randomBytes(16)).phrase;
  const phraseFile = secretFile("phrase", phrase + "\n");
  const datadir = path.join(tmp, "vault");
  const restored = await runJson("restore a light vault", [
    "--datadir", datadir, "restore", "--mnemonic-file", phraseFile,
    "--password-file", passwords.vault, "--light-kdf",
  ]);
  const atPath = (p) => ethers.HDNodeWallet.fromPhrase(phrase, undefined, p);
  check(restored.accounts[0].address === atPath("m/44'/60'/0'/0/0").address,
        "first account equals ethers' m/44'/60'/0'/0/0");
  const derived = await runJson("derive 2 BIP44 accounts", [
    "--datadir", datadir, "account", "derive", "--count", "2", "--password-file", passwords.vault,
  ]);
  const ledger = await runJson("derive a Ledger Live account", [
    "--datadir", datadir, "account", "derive", "--ledger-live", "--password-file",
    passwords.vault,
  ]);
  for (const a of [...derived.accounts, ...ledger.accounts]) {
    check(a.address === atPath(a.path).address, `${a.path} equals ethers' address`);
  }

  // 2. keybridge exports, ethers decrypts: same address, and the key ethers derives itself.
  for (const [a, light] of [[derived.accounts[1], false], [ledger.accounts[0], true]]) {
    const json = await exportAccount(datadir, a.address, `export-${a.address}.json`, light);
    check(ethers.isKeystoreJson(json), "ethers recognises the export as a keystore");
    const wallet = await ethers.Wallet.fromEncryptedJson(json, exportPassword);
    check(wallet.address === a.address, `ethers decrypts ${a.path} to the same address`);
    check(wallet.privateKey === atPath(a.path).privateKey,
          `exported key equals ethers' key at ${a.path}`);
    let rejected = false;
    try {
      await ethers.Wallet.fromEncryptedJson(json, exportPassword + "x");
    } catch {
      rejected = true;
    }
    check(rejected, "ethers rejects the export under a wrong password");
  }

  // 3. ethers encrypts, keybridge imports, lists, exports again; ethers decrypts the same key.
  const plain = new ethers.Wallet(ethers.hexlify(ethers.randomBytes(32)));
  const hd = ethers.Wallet.createRandom(); // HD wallet: ethers adds its x-ethers mnemonic data
  const cases = [
    { what: "light scrypt (N=4096)", wallet: plain, pw: "light ethers password",
      file: passwords.light, options: { scrypt: { N: 4096 } } },
    { what: "ethers' default scrypt", wallet: hd, pw: "standard ethers password",
      file: passwords.standard, options: undefined },
  ];
  for (const c of cases) {
    const json = c.options
      ? await ethers.encryptKeystoreJson(
          { address: c.wallet.address, privateKey: c.wallet.privateKey }, c.pw, c.options)
      : await c.wallet.encrypt(c.pw);
    check(JSON.parse(json).Crypto.kdfparams.n === (c.options ? 4096 : 131072),
          `ethers wrote ${c.what}`);
    const account = await importKeystore(datadir, json, c.file, `ethers-${c.wallet.address}.json`);
    check(account.address === c.wallet.address, `import of ${c.what} gives ethers' address`);
    check(account.source === "imported", "the import is listed as imported");
    const listed = (await accountsOf(datadir)).map((a) => a.address);
    check(listed.includes(c.wallet.address), `${c.what}: the address appears in account list`);
    const again = await exportAccount(datadir, c.wallet.address,
                                      `re-export-${c.wallet.address}`, true);
    const back = await ethers.Wallet.fromEncryptedJson(again, exportPassword);
    check(back.privateKey === c.wallet.privateKey,
          `${c.what}: re-export decrypts to the same private key`);
  }

  // 4. A wrong keystore password is refused with exit code 3 and nothing is added.
  const other = new ethers.Wallet(ethers.hexlify(ethers.randomBytes(32)));
  const otherJson = await ethers.encryptKeystoreJson(
    { address: other.address, privateKey: other.privateKey }, "right password",
    { scrypt: { N: 4096 } });
  const before = (await accountsOf(datadir)).length;
  const r = await run([
    "--datadir", datadir, "account", "import", "--keystore", secretFile("other.json", otherJson),
    "--keystore-password-file", passwords.light, "--password-file", passwords.vault,
  ]);
  check(r.code === 3, "wrong keystore password exits with 3", `exit ${r.code}: ${r.stderr}`);
  check((await accountsOf(datadir)).length === before, "nothing added after a wrong password");
  const outputs = [r.stdout, r.stderr].join("");
  check(!outputs.includes("right password") && !outputs.includes("light ethers password"),
        "no password appears in the output");
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL ${e.message}`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
