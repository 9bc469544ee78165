// keybridged with a Ledger attached, end to end, driven the way a dApp drives a wallet: ethers v6
// BrowserProvider over an EIP-1193 object that speaks to the daemon's WebSocket with a page's
// Origin; an approver on the control socket approves each request; the simulated Ledger
// (keybridge_ledger_sim on a Speculos APDU port, started here; keybridged --speculos points at it)
// then confirms on the "device"; a real anvil chain mines what is sent. Covered: the device
// listed, the account recorded with `keybridge account add --ledger`, personal_sign,
// eth_signTypedData_v4, eth_sendTransaction and eth_signTransaction for legacy, EIP-2930 and
// EIP-1559 (every signature verified with ethers), a rejection on the device (4001), two clients
// racing for the device (both succeed, the simulator saw no interleaved APDUs), the device unplugged
// while a prompt is held (a clear error within 2 s, the daemon keeps serving) and a device holding
// another seed (a refusal naming the account, no prompt on the device), then the right one plugged
// back in (attached again, signs).
//
// Usage: node ledger_daemon_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge PATH_TO_keybridge_ledger_sim
// KEYBRIDGE_SPECULOS=host:port: target that real Speculos (running the Ethereum app with the
// default test seed) instead of the simulator; the steps that need the simulator's control port
// are skipped with the reason, and the signing steps run only with KEYBRIDGE_SPECULOS_APPROVES=1
// (the emulator approves its prompts by itself, e.g. with an automation file).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BrowserProvider, ethers, JsonRpcProvider } from "ethers";
import { startLedgerSim } from "./lib/ledger_sim.mjs";
import {
  children,
  ControlSocketClient,
  Eip1193OverWebSocket,
  rawCall,
  rejection,
  rpcError,
  secretFile,
  startAnvil,
  track,
} from "./lib/harness.mjs";

const [keybridged, keybridge, ledgerSim] = process.argv.slice(2);
if (!keybridged || !keybridge || !ledgerSim) {
  console.error("usage: node ledger_daemon_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge PATH_TO_keybridge_ledger_sim");
  process.exit(2);
}
const speculos = process.env.KEYBRIDGE_SPECULOS ?? "";
const simulated = speculos === "";
const simOnly = simulated ? {} : { skip: `KEYBRIDGE_SPECULOS=${speculos}: needs the simulator's control port` };
// A real Speculos waits for its buttons unless an automation file approves: say so to run the
// signing steps (as tests/drivers/ledger/speculos_e2e_test.cpp asks).
const approves = simulated || process.env.KEYBRIDGE_SPECULOS_APPROVES === "1";
const signs = approves
  ? {}
  : { skip: `KEYBRIDGE_SPECULOS_APPROVES=1 is not set: the emulator would wait for its buttons` };

// Speculos's default seed (the simulator's too) holds the Ledger account; the vault's software
// account comes from anvil's phrase, which is also "another seed" for the last test.
const kLedgerPhrase =
  "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle " +
  "enact monster seven myth punch hobby comfort wild raise skin";
const kOtherPhrase = "test test test test test test test test test test test junk";
const kLedgerPath = "m/44'/60'/0'/0/0";
const kLedgerAddress = ethers.HDNodeWallet.fromPhrase(kLedgerPhrase, undefined, kLedgerPath).address;
const kIdentity = "ledger:" + kLedgerAddress.slice(2, 10).toLowerCase();
const kOtherIdentity =
  "ledger:" + ethers.HDNodeWallet.fromPhrase(kOtherPhrase, undefined, kLedgerPath).address.slice(2, 10).toLowerCase();
const kChain = 31337;
const kDapp = "https://dapp.example";
const kPassword = "ledger e2e vault password";

// ---------------------------------------------------------------------------------------------
// Processes, all ended on exit.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-ledger-e2e-"));
const datadir = path.join(tmp, "data");
let keepTmp = false;
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function runCli(args) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(keybridge, ["--datadir", datadir, ...args, "--json"], {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: { ...process.env, HOME: tmp, XDG_DATA_HOME: path.join(tmp, "xdg") },
      }),
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`keybridge ${args.join(" ")}: exit ${code}: ${stderr.trim()} ${stdout.trim()}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`keybridge ${args.join(" ")}: not JSON: ${stdout}`));
      }
    });
  });
}

let daemonLog = "";
async function startDaemon(args) {
  const child = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"] }));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keybridged did not report its port: ${daemonLog}`)), 20_000);
    child.stderr.on("data", (d) => {
      daemonLog += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(daemonLog);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`keybridged exited with ${code}: ${daemonLog}`)));
  });
  return { child, port };
}

// ---------------------------------------------------------------------------------------------
// The approver on the control socket: approves the requests a test announced, in order; anything
// else is rejected and counted.

class Approver extends ControlSocketClient {
  constructor(socketPath) {
    super(socketPath);
    this.expected = [];
    this.unexpected = [];
  }
  async connect() {
    await super.connect();
    await this.call("eth_subscribe", ["keybridge_approvals"]);
  }
  onNotification(msg) {
    if (msg.method === "eth_subscription" && msg.params?.result?.type === "added") this.onRequest(msg.params.result.request);
  }
  // The next request must be `method` (any order among those expected); approved with `choice`.
  expect(method, choice) {
    return new Promise((resolve) => this.expected.push({ method, choice, resolve }));
  }
  async onRequest(request) {
    const index = this.expected.findIndex((e) => e.method === request.method);
    if (index < 0) {
      this.unexpected.push(request);
      await this.call("keybridge_decide", [request.id, "reject", { digest: request.digest }]);
      return;
    }
    const [next] = this.expected.splice(index, 1);
    await this.call("keybridge_decide", [request.id, "approve", { digest: request.digest, ...next.choice }]);
    next.resolve(request);
  }
  assertSettled() {
    assert.deepEqual(this.unexpected.map((r) => r.method), [], "unexpected approval requests");
    assert.deepEqual(this.expected.map((e) => e.method), [], "approval requests that never came");
  }
}

// ---------------------------------------------------------------------------------------------
// Set-up

let sim = null; // { child, apduPort, control } when simulated
let simEndpoint;
let anvil;
let chain;
let daemon;
let daemonUrl;
let token;
let approver;
let softwareAccount;
const pages = [];
let failures = 0;

function page(origin = kDapp) {
  const eip1193 = new Eip1193OverWebSocket(daemonUrl.replace("http:", "ws:"), origin);
  const provider = new BrowserProvider(eip1193, undefined, { cacheTimeout: -1, polling: true, pollingInterval: 100 });
  pages.push({ eip1193, provider });
  return provider;
}

async function tokenCall(method, params = []) {
  const answer = await rawCall(daemonUrl, method, params, { Authorization: `Bearer ${token}` });
  if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
  return answer.result;
}

async function eventually(what, condition, ms = 15_000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await condition();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

// The device with that identity: listed attached and ready by keybridge_devices, and among the
// signers that keybridge_status reports (the registry requests are routed by). Both are asked: the
// listing can show a report of the device that was there before (see the last test).
async function theDevice(identity) {
  const list = await tokenCall("keybridge_devices");
  const listed = list.find((d) => d.id === identity && d.attached && d.state === "ready");
  const { signers } = await tokenCall("keybridge_status");
  return listed && signers.some((s) => s.id === identity) ? listed : undefined;
}

// Whether the registry serves that identity (whatever the listing says).
async function serving(identity) {
  const { signers } = await tokenCall("keybridge_status");
  return signers.some((s) => s.id === identity);
}

before(async () => {
  if (simulated) {
    sim = await startLedgerSim(ledgerSim);
    track(sim.child);
    simEndpoint = `127.0.0.1:${sim.apduPort}`;
  } else {
    simEndpoint = speculos;
    console.log(`# KEYBRIDGE_SPECULOS=${speculos}: the device is that Speculos, not the simulator`);
  }
  const passwordFile = secretFile(tmp, "password.txt", `${kPassword}\n`);
  const restored = await runCli([
    "restore", "--mnemonic-file", secretFile(tmp, "mnemonic.txt", `${kOtherPhrase}\n`), "--password-file", passwordFile, "--light-kdf",
  ]);
  softwareAccount = ethers.getAddress(restored.accounts[0].address);
  anvil = await startAnvil(kChain);
  chain = new JsonRpcProvider(anvil.url, kChain, { staticNetwork: true, cacheTimeout: -1 });
  daemon = await startDaemon([
    "--datadir", datadir, "--listen", "127.0.0.1:0", "--chain-id", String(kChain), "--chain", `${kChain}=${anvil.url}`,
    "--password-file", passwordFile, "--speculos", simEndpoint, "--usb", "off",
  ]);
  daemonUrl = `http://127.0.0.1:${daemon.port}/`;
  token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
  await eventually("vault unlocked", async () => (await tokenCall("keybridge_status")).unlocked);
  approver = new Approver(path.join(datadir, "keybridged.sock"));
  await approver.connect();
  // The Ledger account pays for the transactions below.
  await rawCall(anvil.url, "anvil_setBalance", [kLedgerAddress, ethers.toQuantity(ethers.parseEther("100"))]);
});

after(async () => {
  for (const p of pages) {
    p.provider.destroy();
    p.eip1193.close();
  }
  chain?.destroy();
  approver?.close();
  sim?.control.close();
  if (daemon) {
    daemon.child.kill("SIGTERM");
    const timer = setTimeout(() => daemon.child.kill("SIGKILL"), 5000);
    if (daemon.child.exitCode === null) await once(daemon.child, "exit");
    clearTimeout(timer);
  }
  for (const c of children) c.kill("SIGKILL");
  if (failures > 0) {
    console.log(`--- keybridged log (last 4000 characters) ---\n${daemonLog.slice(-4000)}`);
    if (sim) console.log(`--- simulator stderr ---\n${sim.stderr().slice(-2000)}`);
    console.log(`test files kept in ${tmp}`);
    keepTmp = true;
  }
});

function e2e(name, options, fn) {
  if (typeof options === "function") [options, fn] = [{}, options];
  test(name, { timeout: 30_000, ...options }, async (t) => {
    try {
      await fn(t);
      approver.assertSettled();
    } catch (e) {
      failures++;
      approver.expected.length = 0;
      approver.unexpected.length = 0;
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Tests, in order.

let dapp; // BrowserProvider of kDapp
let ledger; // its JsonRpcSigner for the Ledger account

e2e("keybridged lists the device: Speculos transport, Ethereum app open, ready", async () => {
  const device = await eventually("the device attached", () => theDevice(kIdentity));
  assert.equal(device.transport, "speculos");
  assert.equal(device.location, `speculos:${simEndpoint}`);
  assert.equal(device.state, "ready");
  assert.equal(device.app, "Ethereum");
});

e2e("keybridge account add --ledger --index 0 records the device's account in the vault", async () => {
  const added = await runCli(["account", "add", "--ledger", "--index", "0"]);
  assert.equal(added.account.address, kLedgerAddress);
  assert.equal(added.account.device, kIdentity);
  assert.equal(added.account.path, kLedgerPath);
  await eventually("the daemon sees both accounts", async () => (await tokenCall("keybridge_status")).accounts === 2);
});

e2e("the page asks for accounts (BrowserProvider.getSigner): the approver shares the Ledger account", async () => {
  dapp = page();
  assert.equal((await dapp.getNetwork()).chainId, BigInt(kChain));
  const seen = approver.expect("eth_requestAccounts", { accounts: [kLedgerAddress, softwareAccount] });
  ledger = await dapp.getSigner(kLedgerAddress);
  await seen;
  assert.equal(await ledger.getAddress(), kLedgerAddress);
});

const kMessages = [
  ["short text", "Sign in to dapp.example\nNonce: 51c2"],
  ["unicode", "h\u00e9llo \u65e5\u672c \u{1F680}"],
  ["binary", new Uint8Array([0, 1, 2, 0xff, 0x80])],
  ["600 bytes (three APDUs)", "ledger ".repeat(86)],
];
for (const [what, message] of kMessages) {
  e2e(`personal_sign on the Ledger, ${what}: verifyMessage gives the Ledger account`, signs, async () => {
    const seen = approver.expect("personal_sign");
    const signature = await ledger.signMessage(message);
    assert.equal((await seen).account, kLedgerAddress);
    assert.equal(ethers.verifyMessage(message, signature), kLedgerAddress);
  });
}

const kMailDomain = {
  name: "Ether Mail",
  version: "1",
  chainId: kChain,
  verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
};
const kMailTypes = {
  Person: [
    { name: "name", type: "string" },
    { name: "wallet", type: "address" },
  ],
  Mail: [
    { name: "from", type: "Person" },
    { name: "to", type: "Person[]" },
    { name: "contents", type: "string" },
    { name: "amount", type: "uint256" },
  ],
};
const kMail = {
  from: { name: "Cow", wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
  to: [
    { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
    { name: "Alice \u00e9", wallet: "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57" },
  ],
  contents: "Hello, Bob!",
  amount: 10n ** 20n,
};

e2e("eth_signTypedData_v4 on the Ledger (nested structs, an array of structs): verifyTypedData", signs, async () => {
  const seen = approver.expect("eth_signTypedData_v4");
  const signature = await ledger.signTypedData(kMailDomain, kMailTypes, kMail);
  await seen;
  assert.equal(ethers.verifyTypedData(kMailDomain, kMailTypes, kMail, signature), kLedgerAddress);
});

async function feeFields(type) {
  const fees = await chain.getFeeData();
  if (type === 2) return { maxFeePerGas: fees.maxFeePerGas * 2n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
  return { gasPrice: fees.gasPrice * 2n };
}
const kTypes = [
  [0, "legacy"],
  [1, "EIP-2930"],
  [2, "EIP-1559"],
];

for (const [type, name] of kTypes) {
  e2e(`eth_sendTransaction, ${name} (type ${type}): signed on the Ledger, broadcast and mined`, signs, async () => {
    const to = ethers.Wallet.createRandom().address;
    const value = ethers.parseEther("0.01") + BigInt(type);
    const extra = type === 1 ? { accessList: [{ address: to, storageKeys: [ethers.ZeroHash] }] } : {};
    const nonce = await chain.getTransactionCount(kLedgerAddress);
    const seen = approver.expect("eth_sendTransaction");
    const response = await ledger.sendTransaction({ to, value, type, ...(await feeFields(type)), ...extra });
    assert.equal((await seen).account, kLedgerAddress);
    const receipt = await chain.waitForTransaction(response.hash, 1, 15_000);
    assert.equal(receipt.status, 1);
    const mined = await chain.getTransaction(response.hash);
    assert.equal(mined.type, type);
    assert.equal(mined.from, kLedgerAddress);
    assert.equal(mined.nonce, nonce);
    assert.equal(mined.chainId, BigInt(kChain));
    assert.equal(await chain.getBalance(to), value);
    // The signature itself, recovered by ethers from the mined transaction's fields.
    assert.equal(ethers.Transaction.from(mined).from, kLedgerAddress);
    if (type === 1) assert.equal(mined.accessList.length, 1);
  });
}

for (const [type, name] of kTypes) {
  e2e(`eth_signTransaction, ${name} (type ${type}): ethers recovers the Ledger account, nothing sent`, signs, async () => {
    const to = ethers.Wallet.createRandom().address;
    const nonce = await chain.getTransactionCount(kLedgerAddress);
    const seen = approver.expect("eth_signTransaction");
    const raw = await ledger.signTransaction({ to, value: 12345n, type, gasLimit: 30_000n, nonce, ...(await feeFields(type)) });
    await seen;
    const tx = ethers.Transaction.from(raw);
    assert.equal(tx.type, type);
    assert.equal(tx.from, kLedgerAddress);
    assert.equal(tx.to, to);
    assert.equal(tx.value, 12345n);
    assert.equal(tx.chainId, BigInt(kChain));
    assert.equal(await chain.getTransactionCount(kLedgerAddress), nonce, "signing alone sends nothing");
  });
}

e2e("rejected on the device: 4001, ethers ACTION_REJECTED; the next request signs again", simOnly, async () => {
  await sim.control.command("reject");
  try {
    const seen = approver.expect("personal_sign");
    const error = await rejection(ledger.signMessage("refused on the Ledger"));
    await seen;
    assert.equal(rpcError(error).code, 4001, error.message);
    assert.equal(error.code, "ACTION_REJECTED");
  } finally {
    await sim.control.command("approve");
  }
  const seen = approver.expect("personal_sign");
  assert.equal(ethers.verifyMessage("after", await ledger.signMessage("after")), kLedgerAddress);
  await seen;
});

e2e("two clients race for the device: both signed, the device never saw interleaved APDUs", signs, async () => {
  const second = page("https://other.example");
  const seenConnect = approver.expect("eth_requestAccounts", { accounts: [kLedgerAddress] });
  const other = await second.getSigner(kLedgerAddress);
  await seenConnect;
  const before = simulated ? await sim.control.status() : null;
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    const long = `round ${round} `.repeat(120); // ~1100 bytes: five APDUs each
    const mail = { ...kMail, contents: long };
    // The simulated user holds the first prompt a while: the other requests, already approved,
    // must wait in the daemon's queue meanwhile (their APDUs would cut the held flow short).
    if (simulated) await sim.control.command("hold");
    const seen = [approver.expect("personal_sign"), approver.expect("eth_signTypedData_v4"), approver.expect("personal_sign")];
    const results = Promise.all([
      ledger.signMessage(long),
      other.signTypedData(kMailDomain, kMailTypes, mail),
      other.signMessage(long + "!"),
    ]);
    await Promise.all(seen);
    if (simulated) {
      for (let i = 0; i < 3; i++) {
        assert.match(await sim.control.command("wait-prompt 10000"), /^ok /);
        await sleep(150); // time for a request that was not queued to reach the device
        await sim.control.command("press approve");
      }
      await sim.control.command("approve");
    }
    const [a, b, c] = await results;
    assert.equal(ethers.verifyMessage(long, a), kLedgerAddress);
    assert.equal(ethers.verifyTypedData(kMailDomain, kMailTypes, mail, b), kLedgerAddress);
    assert.equal(ethers.verifyMessage(long + "!", c), kLedgerAddress);
  }
  if (simulated) {
    const status = await sim.control.status();
    assert.equal(status.interrupted, 0, "a multi-APDU flow was cut by another request's APDUs");
    assert.equal(status.prompts - before.prompts, 3 * rounds, `prompts ${before.prompts} -> ${status.prompts}`);
  } else {
    console.log("# KEYBRIDGE_SPECULOS: the interleaving count needs the simulator's status; only the results are checked");
  }
});

e2e("unplugged while a prompt is held: a clear error within 2 s, and the daemon keeps serving", simOnly, async () => {
  await sim.control.command("hold");
  const seen = approver.expect("personal_sign");
  const pending = rejection(ledger.signMessage("the cable comes out"));
  await seen;
  assert.match(await sim.control.command("wait-prompt 10000"), /^ok /);
  const killedAt = Date.now();
  sim.child.kill("SIGKILL");
  const error = await pending;
  const elapsed = Date.now() - killedAt;
  assert.ok(elapsed < 2000, `the error came ${elapsed} ms after the device went away`);
  const message = rpcError(error).message ?? "";
  assert.match(message, /Ledger|device/i, `not a clear message: ${message}`);
  console.log(`# unplugged: error ${rpcError(error).code} after ${elapsed} ms: ${message}`);
  // Still serving: reads, the device list (unreachable now), the software account signs.
  assert.equal((await dapp.getNetwork()).chainId, BigInt(kChain));
  await eventually("the device is no longer attached", async () => !(await serving(kIdentity)));
  const software = await dapp.getSigner(softwareAccount);
  const seenSoftware = approver.expect("personal_sign");
  assert.equal(ethers.verifyMessage("still here", await software.signMessage("still here")), softwareAccount);
  await seenSoftware;
  sim.control.close();
  sim = null;
});

e2e("a Ledger holding another seed: a refusal naming the account, nothing signed", simOnly, async () => {
  // The same port keybridged polls, now served by a device with another seed.
  const phraseFile = secretFile(tmp, "other-phrase.txt", `${kOtherPhrase}\n`);
  sim = await startLedgerSim(ledgerSim, { port: Number(simEndpoint.split(":")[1]), args: ["--seed-phrase-file", phraseFile] });
  track(sim.child);
  await eventually("the other device attached", () => theDevice(kOtherIdentity));
  assert.equal(await serving(kIdentity), false);
  approver.expect("personal_sign"); // approved if asked; the daemon may refuse before asking
  const error = await rejection(ledger.signMessage("not this seed"));
  approver.expected.length = 0;
  const message = rpcError(error).message ?? "";
  console.log(`# another seed: error ${rpcError(error).code}: ${message}`);
  assert.ok(message.includes(kLedgerAddress), `the refusal does not name the account: ${message}`);
  const status = await sim.control.status();
  assert.equal(status.prompts, 0, "the device with another seed was asked to sign");
});

e2e("the right Ledger plugged back in: attached again, and it signs", simOnly, async () => {
  const port = Number(simEndpoint.split(":")[1]);
  sim.child.kill("SIGKILL");
  await once(sim.child, "exit");
  sim.control.close();
  sim = await startLedgerSim(ledgerSim, { port });
  track(sim.child);
  await eventually("the Ledger attached again", () => theDevice(kIdentity));
  const seen = approver.expect("personal_sign");
  assert.equal(ethers.verifyMessage("back again", await ledger.signMessage("back again")), kLedgerAddress);
  await seen;
  assert.equal((await sim.control.status()).prompts, 1);
});

// A device's state re-probe runs on its lane every few polls. One queued behind a held prompt
// must not outlive its device: when the device is replaced at the same place, a late report about
// the old one must not show up as the new one's (this step failed while DeviceManager kept one
// re-probe slot per location across detach and re-open), and the new device's own loss must
// still be noticed by its re-probes.
e2e(
  "a re-probe queued behind a held prompt does not outlive its device: listing and loss detection",
  { ...simOnly, timeout: 40_000 },
  async () => {
    const port = Number(simEndpoint.split(":")[1]);
    await sim.control.command("hold");
    const seen = approver.expect("personal_sign");
    const pending = rejection(ledger.signMessage("held past a refresh"));
    await seen;
    assert.match(await sim.control.command("wait-prompt 10000"), /^ok /);
    await sleep(3500); // more than refresh_every (3) polls of 1 s: a re-probe waits behind the prompt
    sim.child.kill("SIGKILL");
    await once(sim.child, "exit");
    sim.control.close();
    await pending;
    await eventually("the device detached", async () => !(await serving(kIdentity)));
    sim = await startLedgerSim(ledgerSim, { port });
    track(sim.child);
    await eventually("the Ledger attached again", () => theDevice(kIdentity));
    // The new device's listing stays its own for the next re-probes (no late report of the old one).
    const seenStates = new Set();
    for (const until = Date.now() + 3500; Date.now() < until; await sleep(100)) {
      const [d] = await tokenCall("keybridge_devices");
      seenStates.add(`${d.id} ${d.state} attached=${d.attached}`);
    }
    assert.deepEqual([...seenStates], [`${kIdentity} ready attached=true`]);
    // Now the new device goes away with nothing asked of it: the manager's re-probe must notice.
    sim.child.kill("SIGKILL");
    await once(sim.child, "exit");
    sim.control.close();
    sim = null;
    await eventually(
      "the second loss noticed by the re-probe",
      async () => {
        const list = await tokenCall("keybridge_devices");
        return list.length === 1 && !list[0].attached;
      },
      8000,
    );
  },
);
