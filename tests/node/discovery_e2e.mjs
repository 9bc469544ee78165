// Account discovery (`keybridge restore --discover`, `keybridge account discover`) against a real
// local chain: anvil (npm @foundry-rs/anvil-linux-amd64). Some of a test phrase's addresses are
// given history on the chain (a real transaction, a balance, a nonce), and discovery must add
// exactly those within the gap limit of 20, and none beyond it.
// Usage: node discovery_e2e.mjs PATH_TO_keybridge
// Prints one line per check and "N passed, M failed" last; exits non-zero on any failure.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { ethers } from "ethers";

const keybridge = process.argv[2];
if (!keybridge) {
  console.error("usage: node discovery_e2e.mjs PATH_TO_keybridge");
  process.exit(2);
}

// A BIP39 test vector phrase: none of its addresses is funded by anvil's own mnemonic.
const kPhrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const kPassword = "discovery-Vault-pw-81c3";
const kChainId = 31337;

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

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-discovery-"));
const children = [];
function cleanup() {
  for (const c of children) {
    if (c.exitCode === null) c.kill("SIGKILL");
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);

function secretFile(name, text) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

// keybridge in a new session (no terminal to ask on), HOME and XDG folders inside tmp.
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(keybridge, args, {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: {
        ...process.env,
        HOME: tmp,
        XDG_DATA_HOME: path.join(tmp, "xdg"),
        XDG_CONFIG_HOME: path.join(tmp, "config"),
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function anvilBinary() {
  if (process.env.ANVIL) return process.env.ANVIL;
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@foundry-rs/anvil-linux-amd64/package.json");
  return path.join(path.dirname(pkg), "bin", "anvil");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function rawCall(url, method, params = []) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

async function startAnvil() {
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(kChainId),
      "--silent"];
    const child = spawn(anvilBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) {
        lastError = new Error(`anvil exited with ${child.exitCode}: ${stderr}`);
        break;
      }
      try {
        if ((await rawCall(url, "eth_chainId")) === ethers.toQuantity(kChainId)) return url;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`anvil on ${url} did not answer: ${stderr}`);
      await sleep(50);
    }
  }
  throw lastError;
}

const pathOf = (i) => `m/44'/60'/0'/0/${i}`;
const walletAt = (i, provider) =>
  ethers.HDNodeWallet.fromPhrase(kPhrase, undefined, pathOf(i)).connect(provider);
const indicesOf = (accounts) =>
  accounts.map((a) => Number(a.path.split("/").pop())).sort((a, b) => a - b);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function main() {
  const url = await startAnvil();
  const provider = new ethers.JsonRpcProvider(url, kChainId, { staticNetwork: true });
  const funder = await provider.getSigner(0); // anvil's own funded account

  // History for some of the phrase's addresses:
  //   1: funded, then sends a real transaction (nonce 1 and a balance)
  //   3: a balance only (anvil_setBalance)
  //   6: a nonce only, no balance (anvil_setNonce)
  //  26: funded by a transaction (19 unused indices after 6: still within the gap)
  //  47: funded, but indices 27-46 are 20 unused in a row: discovery stops before it
  const one = walletAt(1, provider);
  await (await funder.sendTransaction({ to: one.address, value: ethers.parseEther("1") })).wait();
  await (await one.sendTransaction({ to: await funder.getAddress(),
                                     value: ethers.parseEther("0.1") })).wait();
  await rawCall(url, "anvil_setBalance", [walletAt(3).address, ethers.toQuantity(12345n)]);
  await rawCall(url, "anvil_setNonce", [walletAt(6).address, ethers.toQuantity(5)]);
  for (const i of [26, 47]) {
    await (await funder.sendTransaction({ to: walletAt(i).address, value: 1n })).wait();
  }
  check((await provider.getBalance(walletAt(6).address)) === 0n &&
        (await provider.getTransactionCount(walletAt(6).address)) === 5,
        "index 6 has a nonce and no balance");

  const datadir = path.join(tmp, "vault");
  const phraseFile = secretFile("phrase", `${kPhrase}\n`);
  const passwordFile = secretFile("password", `${kPassword}\n`);
  const base = ["--datadir", datadir];

  // restore --discover: the first account plus exactly 1, 3, 6 and 26.
  let r = await run([...base, "restore", "--mnemonic-file", phraseFile, "--password-file",
    passwordFile, "--light-kdf", "--discover", "--rpc-url", url, "--json"]);
  check(r.code === 0, "restore --discover succeeds", `exit ${r.code}: ${r.stderr}`);
  const restored = r.code === 0 ? JSON.parse(r.stdout) : { discovered: [], accounts: [] };
  check(same(indicesOf(restored.discovered), [1, 3, 6, 26]),
        "discovery finds exactly the used indices within the gap",
        JSON.stringify(restored.discovered));
  check(restored.scanned === 47, "the walk stops after 20 unused in a row (indices 0-46)",
        `scanned ${restored.scanned}`);
  for (const a of restored.discovered) {
    const index = Number(a.path.split("/").pop());
    check(a.address === walletAt(index).address, `index ${index} has ethers' address`,
          `${a.address} vs ${walletAt(index).address}`);
  }
  r = await run([...base, "account", "list", "--json"]);
  check(same(indicesOf(JSON.parse(r.stdout).accounts), [0, 1, 3, 6, 26]),
        "the vault holds the first account and the discovered ones", r.stdout);
  check(!r.stdout.includes(walletAt(47).address), "index 47 (beyond the gap) is not added");

  // Again: nothing new.
  r = await run([...base, "account", "discover", "--password-file", passwordFile, "--rpc-url",
    url, "--json"]);
  check(r.code === 0 && same(JSON.parse(r.stdout).discovered, []),
        "account discover again adds nothing", `exit ${r.code}: ${r.stdout} ${r.stderr}`);

  // New activity at index 2, and the node taken from keybridged.conf's configured chain.
  await (await funder.sendTransaction({ to: walletAt(2).address, value: 7n })).wait();
  fs.mkdirSync(path.join(tmp, "config", "keybridge"), { recursive: true, mode: 0o700 });
  secretFile(path.join("config", "keybridge", "keybridged.conf"),
             `# test\nchain = 1=http://127.0.0.1:1/ Unreachable\nchain = ${kChainId}=${url} Local\n` +
             `chain-id = ${kChainId}\n`);
  r = await run([...base, "account", "discover", "--password-file", passwordFile, "--json"]);
  check(r.code === 0 && same(indicesOf(JSON.parse(r.stdout).discovered), [2]),
        "account discover uses the configured chain and adds index 2",
        `exit ${r.code}: ${r.stdout} ${r.stderr}`);
  const text = await run([...base, "account", "discover", "--password-file", passwordFile,
    "--chain", String(kChainId)]);
  check(text.code === 0 && text.stdout.includes("no new accounts"),
        "the text report says when nothing is new", text.stdout + text.stderr);

  // A node that cannot be reached: an error naming the host, nothing added.
  const before = fs.readFileSync(path.join(datadir, "vault", "CURRENT"), "utf8");
  r = await run([...base, "account", "discover", "--password-file", passwordFile, "--chain",
    "1"]);
  check(r.code !== 0 && r.stderr.includes("127.0.0.1:1"),
        "an unreachable node is an error naming it", `exit ${r.code}: ${r.stderr}`);
  check(fs.readFileSync(path.join(datadir, "vault", "CURRENT"), "utf8") === before,
        "nothing is written when discovery fails");
  r = await run([...base, "account", "discover", "--password-file", passwordFile, "--chain",
    "5"]);
  check(r.code === 2 && r.stderr.includes("--rpc-url"),
        "a chain without a node URL asks for --rpc-url", `exit ${r.code}: ${r.stderr}`);

  // restore --discover with a dead node still creates the vault, and says so.
  const other = path.join(tmp, "other");
  r = await run(["--datadir", other, "restore", "--mnemonic-file", phraseFile, "--password-file",
    passwordFile, "--light-kdf", "--discover", "--rpc-url", "http://127.0.0.1:1/"]);
  check(r.code !== 0 && r.stderr.includes("the vault was created") &&
        fs.existsSync(path.join(other, "vault", "CURRENT")),
        "restore --discover with a dead node keeps the vault and says so", r.stderr);
  check(!(r.stdout + r.stderr).includes(kPassword) && !(r.stdout + r.stderr).includes("legal winner"),
        "no secret in any output");
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack || e}`);
}
console.log(`${passed} passed, ${failed} failed`);
cleanup();
process.exit(failed === 0 ? 0 : 1);
