// keybridged with Trezors attached, end to end, driven the way a dApp drives a wallet: ethers v6
// BrowserProvider over an EIP-1193 object that speaks to the daemon's WebSocket with a page's
// Origin; an approver on the control socket approves each request and answers the PIN and
// passphrase prompts (needs-input stages); keybridge_trezor_sim (started here; keybridged
// --trezor-emulator points at it) confirms on the "device"; a real anvil chain mines what is
// sent. Covered: the device listed from its Features, the account recorded with `keybridge account
// add --trezor`, personal_sign, eth_signTypedData_v4, eth_sendTransaction (legacy and EIP-1559,
// mined) and eth_signTransaction (legacy and EIP-1559 with data sent in chunks), each result
// verified with ethers; a rejection on the device (4001); a PIN-protected Trezor: account added
// behind its PIN, listed "locked" once it locks, the PIN asked through the approver as positions on
// its scrambled grid, a wrong PIN refused clearly and not retried, the device's back-off waited
// out; a passphrase-protected Trezor One: the passphrase asked through the approver, the
// hidden-wallet account recorded and signing, another passphrase refused against the record; a
// Ledger simulator and a Trezor attached at once, each signing for its own account; the
// simulator killed mid-request (4900 at once, keybridged keeps serving).
//
// Usage: node trezor_daemon_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge PATH_TO_keybridge_trezor_sim
//        PATH_TO_keybridge_ledger_sim
// KEYBRIDGE_TREZOR_EMULATOR=host:port: the main Trezor is that emulator (loaded with "all all … all",
// buttons pressed through its DebugLink port, the next one up) instead of the simulator; the steps
// that script the simulated person, its PIN or passphrase, or kill it are skipped with the reason.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BrowserProvider, ethers, JsonRpcProvider } from "ethers";
import { startLedgerSim } from "./lib/ledger_sim.mjs";
import { DebugLinkThumb, startTrezorSim } from "./lib/trezor_sim.mjs";
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

const [keybridged, keybridge, trezorSimPath, ledgerSimPath] = process.argv.slice(2);
if (!keybridged || !keybridge || !trezorSimPath || !ledgerSimPath) {
  console.error(
    "usage: node trezor_daemon_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge PATH_TO_keybridge_trezor_sim PATH_TO_keybridge_ledger_sim",
  );
  process.exit(2);
}
const emulator = process.env.KEYBRIDGE_TREZOR_EMULATOR ?? "";
const simulated = emulator === "";
const simOnly = simulated
  ? {}
  : { skip: `KEYBRIDGE_TREZOR_EMULATOR=${emulator}: needs the simulator (its scripted person, PIN or passphrase)` };

// The vendor's test phrase: the simulator's default, and what the emulator is loaded with.
const kTrezorPhrase = "all all all all all all all all all all all all";
const kLedgerPhrase =
  "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle " +
  "enact monster seven myth punch hobby comfort wild raise skin";
const kOtherPhrase = "test test test test test test test test test test test junk";
const pathAt = (i) => `m/44'/60'/0'/0/${i}`;
const addressOf = (phrase, p, passphrase = "") =>
  ethers.HDNodeWallet.fromMnemonic(ethers.Mnemonic.fromPhrase(phrase, passphrase), p).address;
const kTrezorAddress = addressOf(kTrezorPhrase, pathAt(0));
assert.equal(kTrezorAddress, "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8");
const kPinAddress = addressOf(kTrezorPhrase, pathAt(1));
const kHiddenPassphrase = "e2e hidden wallet words";
const kHiddenAddress = addressOf(kTrezorPhrase, pathAt(0), kHiddenPassphrase);
const kLedgerAddress = addressOf(kLedgerPhrase, pathAt(0));
const kPin = "1234";
const kPinDevice = "trezor:KBSIMPIN00000001";
const kPassDevice = "trezor:KBSIMPASS0000001";
const kChain = 31337;
const kDapp = "https://dapp.example";
const kPassword = "trezor e2e vault password";

// ---------------------------------------------------------------------------------------------
// Processes, all ended on exit.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-trezor-e2e-"));
const datadir = path.join(tmp, "data");
let keepTmp = false;
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs the CLI (stdin not a terminal: a PIN or passphrase goes through the approver).
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
        resolve({ ...JSON.parse(stdout), stderr });
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
// The approver on the control socket: approves the requests a test announced (anything else is
// rejected and counted), answers the needs-input stages a test announced (a PIN's positions are
// computed when the stage is seen: the device scrambles its grid for each request), and, with an
// outside emulator, presses its buttons while a request is on the device.

class Approver extends ControlSocketClient {
  constructor(socketPath) {
    super(socketPath);
    this.expected = [];
    this.unexpected = [];
    this.inputs = [];
    this.inputsSeen = [];
    this.answered = new Set();
    this.thumb = null;
    this.thumbTimer = null;
  }
  // With an outside emulator nobody presses its buttons: while a request is on the device (its
  // approval at the "on-device" stage), press "yes" through DebugLink every half second.
  startThumb(thumb) {
    this.thumb = thumb;
    let busy = false;
    this.thumbTimer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const pending = await this.call("keybridge_pendingApprovals");
        if (pending.some((p) => p.stage === "on-device")) thumb.press();
      } catch {
        // the daemon is shutting down
      } finally {
        busy = false;
      }
    }, 500);
  }
  async connect() {
    await super.connect();
    await this.call("eth_subscribe", ["keybridge_approvals"]);
  }
  onNotification(msg) {
    if (msg.method !== "eth_subscription") return;
    const { type, request } = msg.params?.result ?? {};
    if (!request || (type !== "added" && type !== "updated")) return;
    if (request.stage === "needs-input") this.onInput(request);
    else if (type === "added" && request.stage === "waiting") this.onRequest(request);
  }
  // The next request must be `method`; approved with `choice`.
  expect(method, choice) {
    return new Promise((resolve) => this.expected.push({ method, choice, resolve }));
  }
  // The next needs-input stage of `kind` ("pin", "passphrase") gets `answer()`'s value.
  expectInput(kind, answer) {
    return new Promise((resolve) => this.inputs.push({ kind, answer, resolve }));
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
  async onInput(request) {
    const key = `${request.id} ${request.input}`;
    if (this.answered.has(key)) return;
    this.answered.add(key);
    this.inputsSeen.push(request);
    const index = this.inputs.findIndex((e) => e.kind === request.input);
    if (index < 0) {
      this.unexpected.push(request);
      await this.call("keybridge_respond", [request.id, { cancel: true }]);
      return;
    }
    const [next] = this.inputs.splice(index, 1);
    const value = await next.answer();
    await this.call("keybridge_respond", [request.id, { [request.input]: value }]);
    next.resolve(request);
  }
  assertSettled() {
    assert.deepEqual(this.unexpected.map((r) => `${r.method} ${r.stage} ${r.input ?? ""}`), [], "unexpected approval requests");
    assert.deepEqual(this.expected.map((e) => e.method), [], "approval requests that never came");
    assert.deepEqual(this.inputs.map((e) => e.kind), [], "inputs that were never asked for");
  }
  close() {
    clearInterval(this.thumbTimer);
    this.thumb?.close();
    super.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Set-up: the main Trezor (simulator or emulator), a PIN-protected one, a passphrase-protected
// Trezor One, and a Ledger simulator, all attached to one keybridged.

let mainSim = null; // { child, port, control } when simulated
let pinSim = null;
let passSim = null;
let ledgerSim = null;
let mainEndpoint;
let anvil;
let chain;
let daemon;
let daemonUrl;
let token;
let approver;
let softwareAccount;
let trezorIdentity;
// The accounts shared with kDapp so far: each eth_requestAccounts approval names them all (the
// approver's choice replaces the origin's list).
const shared = [];
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
  for (;;) {
    const last = await condition();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

// `keybridge account add ARGS...`, then waits until the daemon lists the new account: the tool
// writes the vault, and the daemon re-reads it when it sees the change, a moment later (a dApp
// asking for the account before that would be told it does not exist).
async function addAccount(args) {
  const before = (await tokenCall("keybridge_status")).accounts;
  const added = await runCli(["account", "add", ...args]);
  await eventually("the daemon sees the added account", async () => (await tokenCall("keybridge_status")).accounts === before + 1);
  return added;
}

async function listedAt(endpoint) {
  const list = await tokenCall("keybridge_devices");
  return list.find((d) => d.location === `trezor-emulator:${endpoint}`);
}

before(async () => {
  const pinArgs = ["--pin", kPin, "--pin-backoff-ms", "1000", "--device-id", kPinDevice.slice(7), "--label", "pin"];
  const passArgs = ["--model", "1", "--passphrase-protection", "--device-id", kPassDevice.slice(7), "--label", "passphrase"];
  if (simulated) {
    mainSim = await startTrezorSim(trezorSimPath);
    track(mainSim.child);
    mainEndpoint = `127.0.0.1:${mainSim.port}`;
    pinSim = await startTrezorSim(trezorSimPath, pinArgs);
    track(pinSim.child);
    passSim = await startTrezorSim(trezorSimPath, passArgs);
    track(passSim.child);
  } else {
    mainEndpoint = emulator;
    console.log(`# KEYBRIDGE_TREZOR_EMULATOR=${emulator}: the main Trezor is that emulator, not the simulator`);
  }
  ledgerSim = await startLedgerSim(ledgerSimPath);
  track(ledgerSim.child);
  const passwordFile = secretFile(tmp, "password.txt", `${kPassword}\n`);
  const restored = await runCli([
    "restore", "--mnemonic-file", secretFile(tmp, "mnemonic.txt", `${kOtherPhrase}\n`), "--password-file", passwordFile, "--light-kdf",
  ]);
  softwareAccount = ethers.getAddress(restored.accounts[0].address);
  anvil = await startAnvil(kChain);
  chain = new JsonRpcProvider(anvil.url, kChain, { staticNetwork: true, cacheTimeout: -1 });
  const trezorArgs = ["--trezor-emulator", mainEndpoint];
  if (simulated) trezorArgs.push("--trezor-emulator", `127.0.0.1:${pinSim.port}`, "--trezor-emulator", `127.0.0.1:${passSim.port}`);
  daemon = await startDaemon([
    "--datadir", datadir, "--listen", "127.0.0.1:0", "--chain-id", String(kChain), "--chain", `${kChain}=${anvil.url}`,
    "--password-file", passwordFile, ...trezorArgs, "--speculos", `127.0.0.1:${ledgerSim.apduPort}`, "--usb", "off",
  ]);
  daemonUrl = `http://127.0.0.1:${daemon.port}/`;
  token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
  await eventually("vault unlocked", async () => (await tokenCall("keybridge_status")).unlocked);
  approver = new Approver(path.join(datadir, "keybridged.sock"));
  await approver.connect();
  if (!simulated) approver.startThumb(new DebugLinkThumb(emulator));
  for (const address of [kTrezorAddress, kPinAddress, kHiddenAddress, kLedgerAddress])
    await rawCall(anvil.url, "anvil_setBalance", [address, ethers.toQuantity(ethers.parseEther("100"))]);
});

after(async () => {
  for (const p of pages) {
    p.provider.destroy();
    p.eip1193.close();
  }
  chain?.destroy();
  approver?.close();
  for (const s of [mainSim, pinSim, passSim]) s?.control.close();
  ledgerSim?.control.close();
  if (daemon) {
    daemon.child.kill("SIGTERM");
    const timer = setTimeout(() => daemon.child.kill("SIGKILL"), 5000);
    if (daemon.child.exitCode === null) await once(daemon.child, "exit");
    clearTimeout(timer);
  }
  for (const c of children) c.kill("SIGKILL");
  if (failures > 0) {
    console.log(`--- keybridged log (last 4000 characters) ---\n${daemonLog.slice(-4000)}`);
    if (mainSim) console.log(`--- simulator stderr ---\n${mainSim.stderr().slice(-2000)}`);
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
      approver.inputs.length = 0;
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Tests, in order.

let dapp; // BrowserProvider of kDapp
let trezor; // its JsonRpcSigner for the main Trezor account

e2e("keybridged lists the Trezor from its Features: emulator transport, ready", async () => {
  const device = await eventually("the Trezor attached", async () => {
    const d = await listedAt(mainEndpoint);
    return d && d.attached && d.state === "ready" ? d : undefined;
  });
  assert.equal(device.family, "trezor");
  assert.equal(device.transport, "emulator");
  assert.match(device.id, /^trezor:/);
  trezorIdentity = device.id;
  if (simulated) {
    assert.equal(device.id, "trezor:KBSIM0000000001");
    assert.equal(device.model, "Trezor Model T");
    assert.equal(device.firmware, "2.8.1");
  }
});

e2e("keybridge account add --trezor --index 0 records the device's account, bound to its id", async () => {
  const added = await runCli(["account", "add", "--trezor", "--index", "0", "--device", trezorIdentity]);
  assert.equal(added.account.address, kTrezorAddress);
  assert.equal(added.account.device, trezorIdentity);
  assert.equal(added.account.path, pathAt(0));
  await eventually("the daemon sees both accounts", async () => (await tokenCall("keybridge_status")).accounts === 2);
});

e2e("the page asks for accounts (BrowserProvider.getSigner): the approver shares the Trezor account", async () => {
  dapp = page();
  assert.equal((await dapp.getNetwork()).chainId, BigInt(kChain));
  shared.push(kTrezorAddress, softwareAccount);
  const seen = approver.expect("eth_requestAccounts", { accounts: [...shared] });
  trezor = await dapp.getSigner(kTrezorAddress);
  await seen;
  assert.equal(await trezor.getAddress(), kTrezorAddress);
});

const kMessages = [
  ["short text", "Sign in to dapp.example\nNonce: 7f3a"],
  ["unicode", "h\u00e9llo \u65e5\u672c \u{1F680}"],
  ["binary", new Uint8Array([0, 1, 2, 0xff, 0x80])],
  ["1500 bytes", "trezor ".repeat(214) + "12"],
];
for (const [what, message] of kMessages) {
  e2e(`personal_sign on the Trezor, ${what}: verifyMessage gives the Trezor account`, async () => {
    const seen = approver.expect("personal_sign");
    const signature = await trezor.signMessage(message);
    assert.equal((await seen).account, kTrezorAddress);
    assert.equal(ethers.verifyMessage(message, signature), kTrezorAddress);
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

e2e("eth_signTypedData_v4 on the Trezor (nested structs, an array of structs): verifyTypedData", async () => {
  const seen = approver.expect("eth_signTypedData_v4");
  const signature = await trezor.signTypedData(kMailDomain, kMailTypes, kMail);
  await seen;
  assert.equal(ethers.verifyTypedData(kMailDomain, kMailTypes, kMail, signature), kTrezorAddress);
});

async function feeFields(type) {
  const fees = await chain.getFeeData();
  if (type === 2) return { maxFeePerGas: fees.maxFeePerGas * 2n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
  return { gasPrice: fees.gasPrice * 2n };
}
const kTypes = [
  [0, "legacy (EIP-155)"],
  [2, "EIP-1559"],
];

for (const [type, name] of kTypes) {
  e2e(`eth_sendTransaction, ${name}: signed on the Trezor, broadcast and mined`, async () => {
    const to = ethers.Wallet.createRandom().address;
    const value = ethers.parseEther("0.01") + BigInt(type);
    const nonce = await chain.getTransactionCount(kTrezorAddress);
    const seen = approver.expect("eth_sendTransaction");
    const response = await trezor.sendTransaction({ to, value, type, ...(await feeFields(type)) });
    assert.equal((await seen).account, kTrezorAddress);
    const receipt = await chain.waitForTransaction(response.hash, 1, 15_000);
    assert.equal(receipt.status, 1);
    const mined = await chain.getTransaction(response.hash);
    assert.equal(mined.type, type);
    assert.equal(mined.from, kTrezorAddress);
    assert.equal(mined.nonce, nonce);
    assert.equal(mined.chainId, BigInt(kChain));
    assert.equal(await chain.getBalance(to), value);
    assert.equal(ethers.Transaction.from(mined).from, kTrezorAddress);
  });
}

for (const [type, name] of kTypes) {
  e2e(`eth_signTransaction, ${name}, 2500 bytes of data (sent in chunks): ethers recovers the Trezor account`, async () => {
    const to = ethers.Wallet.createRandom().address;
    const nonce = await chain.getTransactionCount(kTrezorAddress);
    const data = ethers.hexlify(ethers.randomBytes(2500));
    const seen = approver.expect("eth_signTransaction");
    const raw = await trezor.signTransaction({ to, value: 12345n, type, gasLimit: 200_000n, nonce, data, ...(await feeFields(type)) });
    await seen;
    const tx = ethers.Transaction.from(raw);
    assert.equal(tx.type, type);
    assert.equal(tx.from, kTrezorAddress);
    assert.equal(tx.to, to);
    assert.equal(tx.value, 12345n);
    assert.equal(tx.data, data);
    assert.equal(tx.chainId, BigInt(kChain));
    assert.equal(await chain.getTransactionCount(kTrezorAddress), nonce, "signing alone sends nothing");
  });
}

e2e("rejected on the Trezor: 4001, ethers ACTION_REJECTED; the next request signs again", simOnly, async () => {
  await mainSim.control.command("answer reject");
  try {
    const seen = approver.expect("personal_sign");
    const error = await rejection(trezor.signMessage("refused on the Trezor"));
    await seen;
    assert.equal(rpcError(error).code, 4001, error.message);
    assert.equal(error.code, "ACTION_REJECTED");
  } finally {
    await mainSim.control.command("answer approve");
  }
  const seen = approver.expect("personal_sign");
  assert.equal(ethers.verifyMessage("after", await trezor.signMessage("after")), kTrezorAddress);
  await seen;
});

// --- PIN

let pinSigner;
e2e("a PIN-protected Trezor: listed locked; account add asks its PIN through the approver", simOnly, async () => {
  const endpoint = `127.0.0.1:${pinSim.port}`;
  const listed = await eventually("the PIN Trezor attached", async () => {
    const d = await listedAt(endpoint);
    return d?.attached ? d : undefined;
  });
  assert.equal(listed.state, "locked");
  assert.equal(listed.id, kPinDevice);
  const asked = approver.expectInput("pin", () => pinSim.control.command(`positions ${kPin}`));
  const added = await addAccount(["--trezor", "--index", "1", "--device", kPinDevice]);
  const request = await asked;
  assert.equal(request.method, "keybridge_deviceAddress");
  assert.equal(added.account.address, kPinAddress);
  assert.equal(added.account.device, kPinDevice);
  assert.match(added.stderr, /asks for its PIN/);
  await eventually("unlocked after the PIN", async () => (await listedAt(endpoint)).state === "ready");
  shared.push(kPinAddress);
  const seen = approver.expect("eth_requestAccounts", { accounts: [...shared] });
  pinSigner = await dapp.getSigner(kPinAddress);
  await seen;
});

e2e("a locked Trezor signs after the approver sends the PIN's positions on its scrambled grid", simOnly, async () => {
  const endpoint = `127.0.0.1:${pinSim.port}`;
  await pinSim.control.command("lock");
  await eventually("listed locked again", async () => (await listedAt(endpoint)).state === "locked");
  const seen = approver.expect("personal_sign");
  const asked = approver.expectInput("pin", () => pinSim.control.command(`positions ${kPin}`));
  const signature = await pinSigner.signMessage("behind a PIN");
  await seen;
  const request = await asked;
  assert.equal(request.account, kPinAddress);
  assert.match(request.note ?? "", /PIN/, "the stage says what to type");
  assert.equal(ethers.verifyMessage("behind a PIN", signature), kPinAddress);
});

e2e("a wrong PIN: a clear error naming it, not retried; the next request waits out the device's back-off", simOnly, async () => {
  await pinSim.control.command("lock");
  const pinPrompts = () => approver.inputsSeen.filter((r) => r.method === "personal_sign" && r.input === "pin").length;
  const promptsBefore = pinPrompts();
  let seen = approver.expect("personal_sign");
  let asked = approver.expectInput("pin", () => pinSim.control.command("positions 4321"));
  const error = await rejection(pinSigner.signMessage("wrong PIN"));
  await seen;
  await asked;
  const rpc = rpcError(error);
  assert.equal(rpc.code, 4100, rpc.message);
  assert.match(rpc.message, /wrong PIN/);
  await sleep(300);
  assert.equal(pinPrompts() - promptsBefore, 1, "the daemon asked for the PIN again by itself");
  // The device waits 1 s before it checks the next PIN (--pin-backoff-ms): keybridged waits too.
  seen = approver.expect("personal_sign");
  let answeredAt = 0;
  asked = approver.expectInput("pin", async () => {
    answeredAt = Date.now();
    return await pinSim.control.command(`positions ${kPin}`);
  });
  const signature = await pinSigner.signMessage("right PIN");
  const waited = Date.now() - answeredAt;
  await seen;
  await asked;
  assert.ok(waited >= 900, `signed ${waited} ms after the PIN: the device's back-off was not waited out`);
  assert.equal(ethers.verifyMessage("right PIN", signature), kPinAddress);
});

// --- passphrase

let hiddenSigner;
e2e("a passphrase-protected Trezor One: account add asks the passphrase through the approver; the hidden wallet's account is recorded", simOnly, async () => {
  const asked = approver.expectInput("passphrase", () => kHiddenPassphrase);
  const added = await addAccount(["--trezor", "--index", "0", "--device", kPassDevice]);
  await asked;
  assert.equal(added.account.address, kHiddenAddress);
  assert.equal(added.account.device, kPassDevice);
  assert.ok(!added.stderr.includes(kHiddenPassphrase));
  shared.push(kHiddenAddress);
  const seen = approver.expect("eth_requestAccounts", { accounts: [...shared] });
  hiddenSigner = await dapp.getSigner(kHiddenAddress);
  await seen;
  const seenSign = approver.expect("personal_sign");
  const signature = await hiddenSigner.signMessage("from the hidden wallet");
  await seenSign;
  assert.equal(ethers.verifyMessage("from the hidden wallet", signature), kHiddenAddress);
});

e2e("another passphrase is checked against the account record: refused naming the account, nothing signed", simOnly, async () => {
  await passSim.control.command("lock"); // the device forgets the session's passphrase
  const buttons = Number(await passSim.control.command("buttons"));
  const seen = approver.expect("personal_sign");
  const asked = approver.expectInput("passphrase", () => "not the right words");
  const error = await rejection(hiddenSigner.signMessage("wrong wallet"));
  await seen;
  await asked;
  const message = rpcError(error).message ?? "";
  assert.ok(message.includes(kHiddenAddress), `the refusal does not name the account: ${message}`);
  assert.equal(Number(await passSim.control.command("buttons")), buttons, "the device was asked to sign");
  // The right one again: signed.
  const seenAgain = approver.expect("personal_sign");
  await passSim.control.command("lock");
  const askedAgain = approver.expectInput("passphrase", () => kHiddenPassphrase);
  assert.equal(ethers.verifyMessage("right wallet", await hiddenSigner.signMessage("right wallet")), kHiddenAddress);
  await seenAgain;
  await askedAgain;
  assert.ok(!daemonLog.includes(kHiddenPassphrase), "the passphrase reached the daemon's log");
});

// --- a Ledger beside

e2e("a Ledger simulator and a Trezor attached at once: each signs for its own account", async () => {
  await eventually("the Ledger attached", async () => (await tokenCall("keybridge_devices")).some((d) => d.family === "ledger" && d.attached));
  const added = await addAccount(["--ledger", "--index", "0"]);
  assert.equal(added.account.address, kLedgerAddress);
  shared.push(kLedgerAddress);
  const seenConnect = approver.expect("eth_requestAccounts", { accounts: [...shared] });
  const ledger = await dapp.getSigner(kLedgerAddress);
  await seenConnect;
  const ledgerPromptsBefore = (await ledgerSim.control.status()).prompts;
  const buttonsBefore = simulated ? Number(await mainSim.control.command("buttons")) : 0;
  const seen = [approver.expect("personal_sign"), approver.expect("personal_sign")];
  const [onLedger, onTrezor] = await Promise.all([ledger.signMessage("to the Ledger"), trezor.signMessage("to the Trezor")]);
  await Promise.all(seen);
  assert.equal(ethers.verifyMessage("to the Ledger", onLedger), kLedgerAddress);
  assert.equal(ethers.verifyMessage("to the Trezor", onTrezor), kTrezorAddress);
  assert.equal((await ledgerSim.control.status()).prompts - ledgerPromptsBefore, 1, "the Ledger signed once");
  if (simulated) assert.ok(Number(await mainSim.control.command("buttons")) > buttonsBefore, "the Trezor was not asked");
});

// --- the simulator dies

e2e("the simulator killed mid-request: 4900 at once, and keybridged keeps serving", simOnly, async () => {
  await mainSim.control.command("delay 30000"); // the person takes their time on the device
  const seen = approver.expect("personal_sign");
  const pending = rejection(trezor.signMessage("never finished"));
  await seen;
  await eventually("the request on the device", async () =>
    (await approver.call("keybridge_pendingApprovals")).some((p) => p.stage === "on-device"),
  );
  const killedAt = Date.now();
  mainSim.child.kill("SIGKILL");
  const error = await pending;
  const elapsed = Date.now() - killedAt;
  const rpc = rpcError(error);
  console.log(`# killed: error ${rpc.code} after ${elapsed} ms: ${rpc.message}`);
  assert.equal(rpc.code, 4900, rpc.message);
  assert.match(rpc.message ?? "", /^Trezor .* was disconnected during the request/);
  assert.ok(elapsed < 5000, `the error came ${elapsed} ms after the simulator died`);
  // Still serving: reads, the listing (unreachable), the software account signs.
  assert.equal((await dapp.getNetwork()).chainId, BigInt(kChain));
  await eventually("listed unreachable", async () => (await listedAt(mainEndpoint))?.state === "unreachable");
  const software = await dapp.getSigner(softwareAccount);
  const seenSoftware = approver.expect("personal_sign");
  assert.equal(ethers.verifyMessage("still here", await software.signMessage("still here")), softwareAccount);
  await seenSoftware;
  // A request for the Trezor account now: 4900 at once, naming what to connect.
  const refused = rpcError(await rejection(trezor.signMessage("while it is gone")));
  assert.equal(refused.code, 4900, refused.message);
  assert.ok(refused.message.includes(trezorIdentity), refused.message);
  mainSim.control.close();
  mainSim = null;
});
