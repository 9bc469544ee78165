// keybridged end to end, driven the way a dApp drives a wallet: ethers v6 JsonRpcProvider and
// WebSocketProvider talk to the daemon with a page's Origin header, a separate approver client
// (cookie token, WebSocket) approves or rejects each request, and real local chains (anvil, from
// the npm package @foundry-rs/anvil-linux-amd64) mine what the daemon signs and answer what it
// forwards.
//
// Usage: node daemon_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge
//   (or the environment variables KEYBRIDGED and KEYBRIDGE; ANVIL overrides the anvil binary).
// Runs with node's built-in test runner; its summary closes the output. Every process it starts
// (three anvil nodes, keybridged) is ended on exit, also when a test or the setup fails.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { ethers, FetchRequest, JsonRpcProvider, JsonRpcSigner, WebSocketProvider } from "ethers";
import WebSocket from "ws";
import { ControlSocketClient, killAll, rawCall, secretFile, startAnvil, track } from "./lib/harness.mjs";

const keybridged = process.argv[2] ?? process.env.KEYBRIDGED;
const keybridge = process.argv[3] ?? process.env.KEYBRIDGE;
if (!keybridged || !keybridge) {
  console.error("usage: node daemon_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge");
  process.exit(2);
}

// anvil's default mnemonic: its accounts 0-9 (our vault's accounts 0-2 among them) hold 10000 ETH.
const kMnemonic = "test test test test test test test test test test test junk";
const kAnvilAccount0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const kPassword = "e2e vault password";
const kDapp = "https://dapp.example";
const kChainMain = 31337;
const kChainSecond = 1337; // configured with --chain, its own anvil
const kChainAdded = 1338; // added at run time with wallet_addEthereumChain, its own anvil
const kTestTimeout = 20_000;

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and killed on any exit path.

let keepTmp = false; // set when a test failed: the files are kept for a look
process.on("exit", () => {
  killAll("SIGKILL");
  if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    killAll("SIGKILL");
    process.exit(128 + os.constants.signals[signal]);
  });
}

async function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const [code, signal] = await once(child, "exit");
  clearTimeout(timer);
  return { code, signal };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-e2e-"));
const datadir = path.join(tmp, "data");

function runCli(args) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(keybridge, ["--datadir", datadir, ...args, "--json"], {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // no terminal to prompt on
        env: { ...process.env, HOME: tmp, XDG_DATA_HOME: path.join(tmp, "xdg") },
      }),
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`keybridge ${args.join(" ")}: exit ${code}: ${stderr.trim()}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`keybridge ${args.join(" ")}: not JSON: ${stdout}`));
      }
    });
  });
}

// Plain JSON-RPC over HTTP without ethers (for the nodes themselves and the token client).

// anvil on a free loopback port; the port may be taken between our probe and anvil's bind, so
// a start that fails is tried again on another port.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let daemonLog = "";
async function startDaemon(anvils, passwordFile) {
  const args = ["--datadir", datadir, "--listen", "127.0.0.1:0", "--chain-id", String(kChainMain)];
  args.push("--password-file", passwordFile);
  for (const a of anvils) args.push("--chain", `${a.chainId}=${a.url}`);
  const child = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"] }));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keybridged did not report its port: ${daemonLog}`)), 15_000);
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
// The approver: a client of the control socket in the data folder (the only channel that may see
// and decide approvals) that sees every request as it is queued and decides it as the test said
// beforehand. A request nobody expected is rejected and counted: each test checks that it caused
// exactly the approvals it meant to.

class Approver extends ControlSocketClient {
  constructor(socketPath) {
    super(socketPath);
    this.expected = [];
    this.unexpected = [];
    this.removed = new Set();
    this.removedWaiters = [];
  }

  async connect() {
    await super.connect();
    this.subscription = await this.call("eth_subscribe", ["keybridge_approvals"]);
  }

  onNotification(msg) {
    if (msg.method === "keybridge_disconnect") this.onDisconnect?.(msg.params);
    if (msg.method === "eth_subscription" && msg.params?.result?.type === "added") {
      this.onRequest(msg.params.result.request);
    }
    if (msg.method === "eth_subscription" && msg.params?.result?.type === "removed") {
      const id = msg.params.result.request.id;
      this.removed.add(id);
      for (const w of this.removedWaiters.filter((x) => x.id === id)) w.resolve();
    }
  }

  // Resolves when request `id` leaves the queue (decided, timed out or dropped).
  async waitRemoved(id, ms = 5000) {
    if (this.removed.has(id)) return;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`request ${id} was not removed within ${ms} ms`)), ms);
      this.removedWaiters.push({ id, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  // For requests expected with the decision "hold": decided later by the test, naming the
  // request's digest as this approver saw it.
  decide(request, decision) {
    return this.call("keybridge_decide", [request.id, decision, { digest: request.digest }]);
  }

  // The next request must be `method`; it is decided with `decision` ("approve" | "reject", or
  // "hold" to leave it pending), with `choice` as keybridge_decide's third argument when given
  // (a connect request's {accounts}). Resolves with the request as the approver saw it.
  expect(method, decision, choice) {
    return new Promise((resolve) => this.expected.push({ method, decision, choice, resolve }));
  }

  async onRequest(request) {
    const next = this.expected.shift();
    if (!next || next.method !== request.method) {
      this.unexpected.push(request);
      if (next) this.expected.unshift(next);
      await this.call("keybridge_decide", [request.id, "reject", { digest: request.digest }]);
      return;
    }
    if (next.decision !== "hold") {
      await this.call("keybridge_decide", [request.id, next.decision, { digest: request.digest, ...next.choice }]);
    }
    next.resolve(request);
  }

  // Nothing left expected and nothing unexpected came.
  assertSettled() {
    assert.deepEqual(this.unexpected.map((r) => `${r.method} from ${r.origin}`), [], "unexpected approval requests");
    assert.deepEqual(this.expected.map((e) => e.method), [], "approval requests that never came");
  }
}

// ---------------------------------------------------------------------------------------------
// dApp side: ethers providers that send a page's Origin.

function httpProvider(origin) {
  const request = new FetchRequest(daemonUrl);
  request.setHeader("Origin", origin);
  // No cache: each read must reach the daemon; poll fast (anvil mines at once).
  const provider = new JsonRpcProvider(request, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  providers.push(provider);
  return provider;
}

// ethers' WebSocketProvider over a `ws` socket that carries the Origin header (Node 20's global
// WebSocket cannot set headers). The same socket also reports the raw eth_subscription events.
async function wsProvider(origin) {
  const socket = new WebSocket(daemonUrl.replace("http:", "ws:"), { headers: { Origin: origin } });
  const events = [];
  const waiters = [];
  socket.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.method !== "eth_subscription") return;
    events.push(msg.params);
    for (const w of waiters.splice(0)) w();
  });
  const provider = new WebSocketProvider(socket, undefined, { cacheTimeout: -1 });
  providers.push(provider);
  await provider.getNetwork(); // waits for the socket to open
  // Waits for the next event of subscription `id` not yet taken by an earlier call.
  const nextEvent = async (id, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = events.find((e) => e.subscription === id && !e.taken);
      if (found) {
        found.taken = true;
        return found.result;
      }
      if (Date.now() > deadline) throw new Error(`no event for subscription ${id} within ${ms} ms`);
      await new Promise((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  const pendingEvents = (id) => events.filter((e) => e.subscription === id && !e.taken).map((e) => e.result);
  return { provider, socket, nextEvent, pendingEvents };
}

// The JSON-RPC error ethers wrapped (UNKNOWN_ERROR keeps it in .error).
function rpcCode(e) {
  return e?.error?.code ?? e?.info?.error?.code;
}

async function rejectsWithCode(promise, code, what) {
  let error = null;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${what}: expected error ${code}, but it succeeded`);
  assert.equal(rpcCode(error), code, `${what}: ${error.shortMessage ?? error.message}`);
  return error;
}

// ---------------------------------------------------------------------------------------------
// Setup and teardown

let daemon;
let daemonUrl;
let token;
let approver;
let anvilMain;
let anvilSecond;
let anvilAdded;
let chain; // ethers provider straight to the main anvil (the reference for reads)
let accounts = []; // the vault's addresses, checksummed
const providers = [];
let failures = 0;

before(async () => {
  const mnemonicFile = secretFile(tmp, "mnemonic.txt", `${kMnemonic}\n`);
  const passwordFile = secretFile(tmp, "password.txt", `${kPassword}\n`);
  const restored = await runCli([
    "restore", "--mnemonic-file", mnemonicFile, "--password-file", passwordFile, "--light-kdf",
  ]);
  const derived = await runCli(["account", "derive", "--count", "2", "--password-file", passwordFile]);
  accounts = [...restored.accounts, ...derived.accounts].map((a) => ethers.getAddress(a.address));
  [anvilMain, anvilSecond, anvilAdded] = await Promise.all(
    [kChainMain, kChainSecond, kChainAdded].map(startAnvil),
  );
  daemon = await startDaemon([anvilMain, anvilSecond], passwordFile);
  daemonUrl = `http://127.0.0.1:${daemon.port}/`;
  token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
  // The vault unlocks in the background after start.
  for (let i = 0; ; i++) {
    const status = await rawCall(daemonUrl, "keybridge_status", [], { Authorization: `Bearer ${token}` });
    if (status.result?.unlocked) break;
    if (i > 200) throw new Error(`vault not unlocked: ${JSON.stringify(status)}\n${daemonLog}`);
    await sleep(50);
  }
  approver = new Approver(path.join(datadir, "keybridged.sock"));
  await approver.connect();
  chain = new JsonRpcProvider(anvilMain.url, kChainMain, { staticNetwork: true, cacheTimeout: -1 });
  providers.push(chain);
});

after(async () => {
  for (const p of providers) {
    try {
      p.destroy();
    } catch {
      // already destroyed
    }
  }
  approver?.close();
  if (daemon) {
    daemon.child.kill("SIGTERM");
    await waitExit(daemon.child, 5000);
  }
  killAll("SIGKILL");
  if (failures > 0) {
    console.log(`--- keybridged log (last 4000 characters) ---\n${daemonLog.slice(-4000)}`);
    console.log(`test files kept in ${tmp}`);
    keepTmp = true;
  }
});

// Each test: a time limit, a failure count (for the log above), and the approver settled after.
function e2e(name, fn) {
  test(name, { timeout: kTestTimeout }, async (t) => {
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
// Tests. They run in order and build on each other (the dApp origin is connected once).

let dapp; // JsonRpcProvider for kDapp
let dappWs; // { provider, socket, nextEvent } for kDapp
let signer; // JsonRpcSigner for accounts[0] over HTTP
let accountsSub; // kDapp's accountsChanged subscription over WebSocket

e2e("the vault holds anvil's funded account 0 and two more", async () => {
  assert.equal(accounts.length, 3);
  assert.equal(accounts[0], kAnvilAccount0);
  assert.equal(new Set(accounts).size, 3);
});

e2e("eth_chainId is 31337 over JSON-RPC HTTP and WebSocket", async () => {
  dapp = httpProvider(kDapp);
  dappWs = await wsProvider(kDapp);
  assert.equal((await dapp.getNetwork()).chainId, 31337n);
  assert.equal((await dappWs.provider.getNetwork()).chainId, 31337n);
  assert.equal(await dapp.send("eth_chainId", []), "0x7a69");
  assert.equal(await dappWs.provider.send("eth_chainId", []), "0x7a69");
  assert.equal(await dapp.send("net_version", []), "31337");
});

e2e("what a browser sees: CORS naming the page's origin, preflight, foreign Host refused", async () => {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] });
  const res = await fetch(daemonUrl, {
    method: "POST",
    headers: { "content-type": "application/json", Origin: kDapp },
    body,
  });
  assert.equal(res.headers.get("access-control-allow-origin"), kDapp);
  assert.equal((await res.json()).result, "0x7a69");
  const preflight = await fetch(daemonUrl, {
    method: "OPTIONS",
    headers: {
      Origin: kDapp,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), kDapp);
  assert.match(preflight.headers.get("access-control-allow-methods"), /POST/);
  assert.match(preflight.headers.get("access-control-allow-headers"), /content-type/i);
  // DNS rebinding: a page on a name that resolves to 127.0.0.1 still sends its own Host.
  const rebound = await new Promise((resolve, reject) => {
    const req = http.request(daemonUrl, {
      method: "POST",
      headers: {
        Host: `evil.example:${daemon.port}`,
        Origin: "http://evil.example",
        "content-type": "application/json",
      },
    });
    req.on("response", (r) => {
      r.resume();
      resolve(r.statusCode);
    });
    req.on("error", reject);
    req.end(body);
  });
  assert.equal(rebound, 403);
  // No Origin and no token: refused.
  const headers = { "content-type": "application/json" };
  const anonymous = await fetch(daemonUrl, { method: "POST", headers, body });
  assert.equal(anonymous.status, 401);
});

e2e("eth_accounts is empty before approval; getSigner refuses", async () => {
  assert.deepEqual(await dapp.send("eth_accounts", []), []);
  assert.deepEqual(await dappWs.provider.send("eth_accounts", []), []);
  assert.deepEqual(await dapp.listAccounts(), []);
  await assert.rejects(dapp.getSigner(accounts[0]));
});

e2e("eth_requestAccounts rejected: 4001, ethers ACTION_REJECTED, still no accounts", async () => {
  const seen = approver.expect("eth_requestAccounts", "reject");
  const error = await rejectsWithCode(dapp.send("eth_requestAccounts", []), 4001, "eth_requestAccounts");
  assert.equal(error.code, "ACTION_REJECTED", error.shortMessage);
  assert.equal(error.action, "requestAccess");
  const request = await seen;
  assert.equal(request.origin, kDapp);
  assert.deepEqual(await dapp.send("eth_accounts", []), []);
});

e2e("eth_requestAccounts approved: accounts returned, accountsChanged sent over WebSocket", async () => {
  accountsSub = await dappWs.provider.send("eth_subscribe", ["accountsChanged"]);
  assert.match(accountsSub, /^0x[0-9a-f]+$/);
  // The approver shares all three (without a choice only the first would be).
  const seen = approver.expect("eth_requestAccounts", "approve", { accounts });
  const granted = await dapp.send("eth_requestAccounts", []);
  const request = await seen;
  assert.equal(request.origin, kDapp);
  assert.deepEqual(request.details.accounts.map((a) => a.address), accounts);
  assert.deepEqual(request.details.accounts.map((a) => a.default), [true, false, false]);
  assert.deepEqual(granted.map(ethers.getAddress), accounts);
  assert.deepEqual((await dappWs.nextEvent(accountsSub)).map(ethers.getAddress), accounts);
  // The grant belongs to the origin: both transports see it, and a second call asks nobody.
  assert.deepEqual((await dapp.send("eth_accounts", [])).map(ethers.getAddress), accounts);
  assert.deepEqual((await dappWs.provider.send("eth_accounts", [])).map(ethers.getAddress), accounts);
  assert.deepEqual((await dapp.send("eth_requestAccounts", [])).map(ethers.getAddress), accounts);
  const listed = await dapp.listAccounts();
  assert.deepEqual(listed.map((s) => s.address), accounts);
  signer = await dapp.getSigner(accounts[0]);
  assert.equal(await signer.getAddress(), accounts[0]);
});

const kMessages = [
  ["ASCII text", "Sign in to dapp.example\nNonce: 8f3a91"],
  [
    "unicode text (accents, CJK, emoji, RTL)",
    "h\u00e9llo w\u00f6rld \u65e5\u672c\u8a9e \u{1F680}\u{1F30D} \u05e9\u05dc\u05d5\u05dd",
  ],
  ["text that looks like hex", "0xdeadbeef"],
  ["empty message", ""],
  ["binary bytes with NUL and 0xff", new Uint8Array([0, 1, 2, 3, 0xff, 0xfe, 0x80, 0x7f, 0x00])],
  ["32 bytes of binary (a hash)", ethers.getBytes(ethers.keccak256(ethers.toUtf8Bytes("opaque")))],
  ["long text (5000 bytes)", "keybridge ".repeat(500)],
];

for (const [what, message] of kMessages) {
  e2e(`signMessage over HTTP, ${what}: approved, verifyMessage gives the account`, async () => {
    const seen = approver.expect("personal_sign", "approve");
    const signature = await signer.signMessage(message);
    const request = await seen;
    assert.equal(ethers.verifyMessage(message, signature), accounts[0]);
    assert.equal(request.account, accounts[0]);
    const bytes = typeof message === "string" ? ethers.toUtf8Bytes(message) : message;
    assert.equal(request.details.messageHex, ethers.hexlify(bytes));
    if (typeof message === "string") assert.equal(request.details.message, message);
    else assert.equal(request.details.message, null);
  });
}

e2e("signMessage over WebSocket with the second account", async () => {
  const wsSigner = await dappWs.provider.getSigner(accounts[1]);
  const seen = approver.expect("personal_sign", "approve");
  const signature = await wsSigner.signMessage("over the socket \u2713");
  assert.equal((await seen).account, accounts[1]);
  assert.equal(ethers.verifyMessage("over the socket \u2713", signature), accounts[1]);
});

const kMailTypes = {
  Person: [
    { name: "name", type: "string" },
    { name: "wallets", type: "address[]" },
  ],
  Mail: [
    { name: "from", type: "Person" },
    { name: "to", type: "Person[]" },
    { name: "contents", type: "string" },
    { name: "attachments", type: "Attachment[]" },
  ],
  Attachment: [
    { name: "digest", type: "bytes32" },
    { name: "body", type: "bytes" },
    { name: "sizes", type: "uint256[]" },
    { name: "delta", type: "int64" },
    { name: "final", type: "bool" },
  ],
};

const kTypedCases = [
  [
    "nested structs and arrays of structs",
    {
      name: "Ether Mail",
      version: "1",
      chainId: kChainMain,
      verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    kMailTypes,
    {
      from: {
        name: "Cow \u{1F404}",
        wallets: ["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", "0xDeaDbeefdEAdbeefdEadbEEFdeadbeEFdEaDbeeF"],
      },
      to: [
        {
          name: "Bob",
          wallets: [
            "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB",
            "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57",
            "0xB0B0b0b0b0b0B000000000000000000000000000",
          ],
        },
        { name: "Alice", wallets: [] },
      ],
      contents: "Hello, Bob! \u65e5\u672c",
      attachments: [
        { digest: ethers.id("a"), body: "0x00ff10", sizes: [1, 2n ** 200n, 0], delta: -42, final: true },
        { digest: ethers.ZeroHash, body: "0x", sizes: [], delta: 9007199254740993n, final: false },
      ],
    },
  ],
  [
    "fixed-size arrays and a salt, no chainId",
    { name: "Permit-ish", salt: ethers.id("salt") },
    {
      Grid: [
        { name: "cells", type: "uint8[3][]" },
        { name: "owner", type: "address" },
        { name: "labels", type: "string[2]" },
      ],
    },
    { cells: [[1, 2, 3], [4, 5, 6]], owner: kAnvilAccount0, labels: ["x", "\u00fc"] },
  ],
];

for (const [what, domain, types, value] of kTypedCases) {
  e2e(`signTypedData (eth_signTypedData_v4), ${what}: verifyTypedData gives the account`, async () => {
    const seen = approver.expect("eth_signTypedData_v4", "approve");
    const signature = await signer.signTypedData(domain, types, value);
    const request = await seen;
    assert.equal(ethers.verifyTypedData(domain, types, value, signature), accounts[0]);
    assert.equal(request.details.primaryType, ethers.TypedDataEncoder.from(types).primaryType);
  });
}

e2e("signTypedData for another chain than the selected one: signed, with a warning to the user", async () => {
  const [, domain, types, value] = kTypedCases[0];
  const foreign = { ...domain, chainId: 1 };
  const seen = approver.expect("eth_signTypedData_v4", "approve");
  const signature = await signer.signTypedData(foreign, types, value);
  const request = await seen;
  assert.equal(ethers.verifyTypedData(foreign, types, value, signature), accounts[0]);
  assert.ok(request.warnings.some((w) => w.id === "typed-data-chain-mismatch" && w.severity === "danger" && /chain 1\b/.test(w.detail)), JSON.stringify(request.warnings));
});

e2e("signTypedData over WebSocket", async () => {
  const [, domain, types, value] = kTypedCases[0];
  const wsSigner = await dappWs.provider.getSigner(accounts[0]);
  const seen = approver.expect("eth_signTypedData_v4", "approve");
  const signature = await wsSigner.signTypedData(domain, types, value);
  await seen;
  assert.equal(ethers.verifyTypedData(domain, types, value, signature), accounts[0]);
});

// Sends through the daemon, checks what was mined: status, sender, and the recipient's balance
// grown by exactly the value. Returns the mined transaction, the receipt and the approval request.
async function sendAndCheck(txRequest, { via = signer, from = accounts[0] } = {}) {
  const to = txRequest.to;
  const before = await chain.getBalance(to);
  const nonceBefore = await chain.getTransactionCount(from);
  const seen = approver.expect("eth_sendTransaction", "approve");
  const response = await via.sendTransaction(txRequest);
  const request = await seen;
  const receipt = await response.wait();
  assert.equal(receipt.status, 1);
  assert.equal(receipt.from, from);
  const mined = await chain.getTransaction(response.hash);
  assert.equal(mined.from, from);
  assert.equal(mined.to, to);
  assert.equal(mined.value, BigInt(txRequest.value));
  assert.equal(mined.nonce, nonceBefore);
  assert.equal(mined.chainId, BigInt(kChainMain));
  assert.equal((await chain.getBalance(to)) - before, BigInt(txRequest.value));
  assert.equal(request.account, from);
  assert.equal(request.value, BigInt(txRequest.value).toString());
  return { mined, receipt, request };
}

e2e("signer.sendTransaction({to, value}): daemon fills nonce and fees, mined, balance grows by value", async () => {
  const to = ethers.Wallet.createRandom().address;
  const value = ethers.parseEther("1.25");
  const { mined, request } = await sendAndCheck({ to, value });
  assert.equal(mined.type, 2, "anvil has a base fee: the daemon picks EIP-1559");
  assert.equal(request.details.type, "0x2");
  assert.equal(BigInt(request.details.nonce), BigInt(mined.nonce));
  assert.ok(mined.maxFeePerGas > 0n && mined.maxPriorityFeePerGas > 0n);
});

e2e("eth_sendTransaction without gas: the daemon estimates it", async () => {
  const to = ethers.Wallet.createRandom().address;
  const seen = approver.expect("eth_sendTransaction", "approve");
  const hash = await dapp.send("eth_sendTransaction", [{ from: accounts[0].toLowerCase(), to, value: "0x2a" }]);
  const request = await seen;
  assert.ok(BigInt(request.details.gas) >= 21000n, request.details.gas);
  const receipt = await chain.waitForTransaction(hash, 1, 10_000);
  assert.equal(receipt.status, 1);
  assert.equal(await chain.getBalance(to), 42n);
});

e2e("legacy transaction (type 0, gasPrice given) is mined as type 0 with that price", async () => {
  const to = ethers.Wallet.createRandom().address;
  const gasPrice = (await chain.getFeeData()).gasPrice * 2n;
  const { mined, request } = await sendAndCheck({ to, value: 123456789n, type: 0, gasPrice });
  assert.equal(mined.type, 0);
  assert.equal(mined.gasPrice, gasPrice);
  assert.equal(request.details.type, "0x0");
});

e2e("legacy transaction (type 0) without gasPrice: the daemon asks eth_gasPrice", async () => {
  const to = ethers.Wallet.createRandom().address;
  const { mined } = await sendAndCheck({ to, value: 7n, type: 0 });
  assert.equal(mined.type, 0);
  assert.ok(mined.gasPrice > 0n);
});

e2e("EIP-1559 transaction with explicit fees is mined with those fees", async () => {
  const to = ethers.Wallet.createRandom().address;
  const maxFeePerGas = ethers.parseUnits("30", "gwei");
  const maxPriorityFeePerGas = ethers.parseUnits("2", "gwei");
  const value = ethers.parseEther("0.001");
  const { mined } = await sendAndCheck({ to, value, type: 2, maxFeePerGas, maxPriorityFeePerGas });
  assert.equal(mined.type, 2);
  assert.equal(mined.maxFeePerGas, maxFeePerGas);
  assert.equal(mined.maxPriorityFeePerGas, maxPriorityFeePerGas);
});

e2e("EIP-2930 transaction (type 1, access list): mined as type 1 with the list", async () => {
  const to = ethers.Wallet.createRandom().address;
  const accessList = [{ address: to, storageKeys: [ethers.ZeroHash, ethers.toBeHex(1, 32)] }];
  const { mined, request } = await sendAndCheck({ to, value: 11n, type: 1, accessList });
  assert.equal(mined.type, 1);
  assert.deepEqual(
    mined.accessList.map((e) => [e.address, [...e.storageKeys]]),
    accessList.map((e) => [e.address, e.storageKeys]),
  );
  assert.equal(request.details.type, "0x1");
});

e2e("sendTransaction to the second account, then from it over WebSocket", async () => {
  await sendAndCheck({ to: accounts[1], value: ethers.parseEther("2") });
  const wsSigner = await dappWs.provider.getSigner(accounts[1]);
  const to = ethers.Wallet.createRandom().address;
  await sendAndCheck({ to, value: ethers.parseEther("0.5") }, { via: wsSigner, from: accounts[1] });
});

// Init code that deploys a contract returning 42 (as a 32-byte word) for any call.
const kReturns42 = "0x600a600c600039600a6000f3602a60005260206000f3";
let contract;

e2e("contract creation through the daemon (no 'to'); eth_call and eth_getCode forwarded", async () => {
  const seen = approver.expect("eth_sendTransaction", "approve");
  const response = await signer.sendTransaction({ data: kReturns42 });
  const request = await seen;
  assert.ok(request.warnings.some((w) => w.id === "contract-creation" && /creates a contract/.test(w.title)), JSON.stringify(request.warnings));
  const receipt = await response.wait();
  assert.equal(receipt.status, 1);
  contract = receipt.contractAddress;
  assert.ok(contract);
  assert.equal(await dapp.getCode(contract), "0x602a60005260206000f3");
  assert.equal(await dapp.call({ to: contract, data: "0x" }), ethers.toBeHex(42, 32));
});

e2e("eth_signTransaction: ethers.Transaction.from parses from, to, value, chainId; nothing is sent", async () => {
  const to = ethers.Wallet.createRandom().address;
  const nonce = await chain.getTransactionCount(accounts[0]);
  const seen = approver.expect("eth_signTransaction", "approve");
  const raw = await signer.signTransaction({ to, value: 999n, gasLimit: 21000n });
  await seen;
  const tx = ethers.Transaction.from(raw);
  assert.equal(tx.from, accounts[0]);
  assert.equal(tx.to, to);
  assert.equal(tx.value, 999n);
  assert.equal(tx.chainId, BigInt(kChainMain));
  assert.equal(tx.nonce, nonce);
  assert.equal(tx.gasLimit, 21000n);
  assert.equal(await chain.getTransactionCount(accounts[0]), nonce, "signing alone sends nothing");
  // The same bytes broadcast later through the daemon are mined.
  const response = await dapp.broadcastTransaction(raw);
  assert.equal(response.hash, tx.hash);
  assert.equal((await response.wait()).status, 1);
  assert.equal(await chain.getBalance(to), 999n);
});

e2e("eth_signTransaction of a legacy transaction with every field given", async () => {
  const seen = approver.expect("eth_signTransaction", "approve");
  const raw = await signer.signTransaction({
    to: accounts[2], value: 5n, gasLimit: 30000n, gasPrice: 7n, nonce: 1000, type: 0, data: "0xc0ffee",
  });
  await seen;
  const tx = ethers.Transaction.from(raw);
  assert.equal(tx.type, 0);
  assert.equal(tx.from, accounts[0]);
  assert.equal(tx.to, accounts[2]);
  assert.equal(tx.chainId, BigInt(kChainMain));
  assert.equal(tx.nonce, 1000);
  assert.equal(tx.gasPrice, 7n);
  assert.equal(tx.data, "0xc0ffee");
});

e2e("eth_sendRawTransaction of a transaction signed elsewhere is forwarded and mined", async () => {
  // anvil's account 5 (funded, not in the vault) signs with ethers itself.
  const outsider = ethers.HDNodeWallet.fromPhrase(kMnemonic, undefined, "m/44'/60'/0'/0/5").connect(chain);
  const to = ethers.Wallet.createRandom().address;
  const populated = await outsider.populateTransaction({ to, value: 31337n });
  const raw = await outsider.signTransaction(populated);
  const response = await dapp.broadcastTransaction(raw);
  assert.equal(response.hash, ethers.Transaction.from(raw).hash);
  const receipt = await chain.waitForTransaction(response.hash, 1, 10_000);
  assert.equal(receipt.status, 1);
  assert.equal(receipt.from, outsider.address);
  assert.equal(await chain.getBalance(to), 31337n);
});

e2e("eth_sendRawTransaction for another chain is refused (-32602), not forwarded", async () => {
  const outsider = ethers.HDNodeWallet.fromPhrase(kMnemonic, undefined, "m/44'/60'/0'/0/5");
  const raw = await outsider.signTransaction({
    to: accounts[2], value: 1n, gasLimit: 21000n, gasPrice: 1n, nonce: 0, chainId: 1,
  });
  await rejectsWithCode(dapp.send("eth_sendRawTransaction", [raw]), -32602, "wrong chain");
});

e2e("reads are forwarded: getBalance, getBlockNumber, call, estimateGas, getTransactionCount, feeData", async () => {
  assert.equal(await dapp.getBalance(accounts[0]), await chain.getBalance(accounts[0]));
  assert.equal(await dappWs.provider.getBalance(accounts[1]), await chain.getBalance(accounts[1]));
  const blockNumber = await dapp.getBlockNumber();
  assert.ok(blockNumber > 0);
  assert.equal(blockNumber, await chain.getBlockNumber());
  assert.equal(await dappWs.provider.getBlockNumber(), blockNumber);
  // sha256 precompile: the node computes it, the daemon carries the answer back.
  const sha256 = "0x0000000000000000000000000000000000000002";
  assert.equal(await dapp.call({ to: sha256, data: "0x616263" }), ethers.sha256("0x616263"));
  assert.equal(await dapp.call({ to: contract }), ethers.toBeHex(42, 32));
  assert.equal(await dapp.estimateGas({ from: accounts[0], to: accounts[2], value: 1n }), 21000n);
  assert.equal(await dapp.estimateGas({ to: contract }), await chain.estimateGas({ to: contract }));
  assert.equal(await dapp.getTransactionCount(accounts[0]), await chain.getTransactionCount(accounts[0]));
  const block = await dapp.getBlock("latest");
  assert.equal(block.number, blockNumber);
  assert.equal(block.hash, (await chain.getBlock(blockNumber)).hash);
  const fees = await dapp.getFeeData();
  assert.ok(fees.gasPrice > 0n && fees.maxFeePerGas > 0n);
});

// Runtime 0x346000526020 6000a000: LOG0 with the call's value as data, for any call.
const kLogsValue = "0x600a600c600039600a6000f3346000526020" + "6000a000";

// Resolves once ethers has sent `count` more eth_blockNumber requests through `provider` (its
// pollers have then taken their starting block).
async function pollsSeen(provider, count) {
  const send = provider._send;
  let seen = 0;
  let wake;
  provider._send = (payload) => {
    for (const p of Array.isArray(payload) ? payload : [payload]) {
      if (p.method === "eth_blockNumber") seen++;
    }
    if (seen >= count) wake?.();
    return send.call(provider, payload);
  };
  try {
    await Promise.race([new Promise((resolve) => (wake = resolve)), sleep(5000)]);
    assert.ok(seen >= count, `ethers polled ${seen} times, expected ${count}`);
  } finally {
    provider._send = send;
  }
}

// keybridged does not offer eth_newFilter ("the method ... does not exist"), which tells ethers
// to fall back to polling eth_getLogs: contract events still reach the dApp.
e2e("contract events over HTTP (ethers polls eth_getLogs), getLogs, and a block listener", async () => {
  const deployed = approver.expect("eth_sendTransaction", "approve");
  const receipt = await (await signer.sendTransaction({ data: kLogsValue })).wait();
  await deployed;
  const emitter = receipt.contractAddress;
  const heard = new Promise((resolve) => dapp.once({ address: emitter }, resolve));
  // ethers first tries eth_newFilter, then notes the current block and polls from there.
  await pollsSeen(dapp, 5);
  const paid = approver.expect("eth_sendTransaction", "approve");
  const call = await (await signer.sendTransaction({ to: emitter, value: 77n })).wait();
  await paid;
  const log = await Promise.race([heard, sleep(5000).then(() => null)]);
  assert.ok(log, "no event within 5 s");
  assert.equal(log.address, emitter);
  assert.equal(BigInt(log.data), 77n);
  assert.equal(log.transactionHash, call.hash);
  await dapp.off({ address: emitter });
  const logs = await dapp.getLogs({ address: emitter, fromBlock: 0 });
  assert.equal(logs.length, 1);
  assert.equal(logs[0].transactionHash, call.hash);
  // A block listener polls eth_blockNumber.
  const block = new Promise((resolve) => dapp.once("block", resolve));
  await pollsSeen(dapp, 3);
  const mined = approver.expect("eth_sendTransaction", "approve");
  await (await signer.sendTransaction({ to: accounts[1], value: 1n })).wait();
  await mined;
  assert.ok((await Promise.race([block, sleep(5000).then(() => null)])) > 0, "no block event within 5 s");
  await dapp.off("block");
});

e2e("two eth_sendTransaction in flight at once, approved out of order: the one whose nonce was taken is asked again, both mined", async () => {
  const nonce = await chain.getTransactionCount(accounts[0]);
  const targets = [ethers.Wallet.createRandom().address, ethers.Wallet.createRandom().address];
  const first = approver.expect("eth_sendTransaction", "hold");
  const second = approver.expect("eth_sendTransaction", "hold");
  // Concurrent sends: ethers puts them in one JSON-RPC batch, as a dApp's "approve, then swap" does.
  const sends = Promise.allSettled(
    targets.map((to, i) =>
      dapp.send("eth_sendTransaction", [{ from: accounts[0], to, value: ethers.toQuantity(i + 1) }]),
    ),
  );
  const requests = await Promise.all([first, second]);
  // Both were filled with the same nonce: the one approved second finds it taken when its turn
  // comes, and is shown again with the next nonce (never swapped unseen).
  assert.equal(requests[0].details.nonce, requests[1].details.nonce);
  const again = approver.expect("eth_sendTransaction", "approve");
  await approver.decide(requests[1], "approve");
  await approver.decide(requests[0], "approve");
  const renewed = await again;
  assert.ok(renewed.warnings.some((w) => w.id === "nonce-changed"), JSON.stringify(renewed.warnings));
  assert.equal(BigInt(renewed.details.nonce), BigInt(requests[0].details.nonce) + 1n);
  const outcomes = await sends;
  for (const o of outcomes) assert.equal(o.status, "fulfilled", o.reason?.shortMessage ?? String(o.reason));
  const hashes = outcomes.map((o) => o.value);
  const nonces = [];
  for (const hash of hashes) {
    const receipt = await chain.waitForTransaction(hash, 1, 10_000);
    assert.equal(receipt.status, 1);
    nonces.push((await chain.getTransaction(hash)).nonce);
  }
  assert.deepEqual(nonces.sort(), [nonce, nonce + 1]);
  assert.equal(await chain.getBalance(targets[0]), 1n);
  assert.equal(await chain.getBalance(targets[1]), 2n);
});

e2e("two signatures pending on one WebSocket: the second approved first, the first rejected", async () => {
  const wsSigner = await dappWs.provider.getSigner(accounts[0]);
  const firstSeen = approver.expect("personal_sign", "hold");
  const first = wsSigner.signMessage("first").then(
    (v) => ({ v }),
    (e) => ({ e }),
  );
  const a = await firstSeen;
  const secondSeen = approver.expect("personal_sign", "hold");
  const second = wsSigner.signMessage("second");
  const b = await secondSeen;
  await approver.decide(b, "approve");
  assert.equal(ethers.verifyMessage("second", await second), accounts[0]);
  await approver.decide(a, "reject");
  const outcome = await first;
  assert.equal(rpcCode(outcome.e), 4001);
});

e2e("ethers batches concurrent calls into one HTTP request; every answer lands in its place", async () => {
  const payloads = [];
  const send = dapp._send.bind(dapp);
  dapp._send = (payload) => {
    payloads.push(payload);
    return send(payload);
  };
  try {
    const [chainId, balance, blockNumber, nonce, code, accountsNow] = await Promise.all([
      dapp.send("eth_chainId", []),
      dapp.getBalance(accounts[1]),
      dapp.getBlockNumber(),
      dapp.getTransactionCount(accounts[0]),
      dapp.getCode(contract),
      dapp.send("eth_accounts", []),
    ]);
    assert.ok(payloads.some((p) => Array.isArray(p) && p.length >= 4), "ethers sent a batch");
    assert.equal(chainId, "0x7a69");
    assert.equal(balance, await chain.getBalance(accounts[1]));
    assert.equal(blockNumber, await chain.getBlockNumber());
    assert.equal(nonce, await chain.getTransactionCount(accounts[0]));
    assert.equal(code, "0x602a60005260206000f3");
    assert.deepEqual(accountsNow.map(ethers.getAddress), accounts);
  } finally {
    dapp._send = send;
  }
});

// Runtime 0x63deadbeef6000526004601cfd: revert with the 4 bytes 0xdeadbeef for any call.
const kReverts = "0x600d600c600039600d6000f363deadbeef6000526004601cfd";

e2e("node errors come back whole: revert data (CALL_EXCEPTION) and insufficient funds", async () => {
  const seen = approver.expect("eth_sendTransaction", "approve");
  const receipt = await (await signer.sendTransaction({ data: kReverts })).wait();
  await seen;
  const reverter = receipt.contractAddress;
  const reverted = (e) => e.code === "CALL_EXCEPTION" && e.data === "0xdeadbeef";
  await assert.rejects(dapp.call({ to: reverter }), reverted);
  await assert.rejects(dappWs.provider.call({ to: reverter }), reverted);
  await assert.rejects(dapp.estimateGas({ to: reverter }), (e) => e.code === "CALL_EXCEPTION");
  // More than the third account holds: anvil estimates the gas anyway, so the user is asked; the
  // node refuses the signed transaction and ethers recognises the node's message.
  const tooMuch = (await chain.getBalance(accounts[2])) + ethers.parseEther("1");
  const nonce = await chain.getTransactionCount(accounts[2]);
  const broke = approver.expect("eth_sendTransaction", "approve");
  await assert.rejects(
    dapp.send("eth_sendTransaction", [{ from: accounts[2], to: accounts[0], value: ethers.toQuantity(tooMuch) }]),
    (e) => e.code === "INSUFFICIENT_FUNDS",
  );
  await broke;
  assert.equal(await chain.getTransactionCount(accounts[2]), nonce);
});

e2e("EIP-2255: wallet_getPermissions and wallet_requestPermissions for a connected page", async () => {
  const permissions = await dapp.send("wallet_getPermissions", []);
  assert.equal(permissions.length, 1);
  assert.equal(permissions[0].parentCapability, "eth_accounts");
  assert.equal(permissions[0].invoker, kDapp);
  const caveat = permissions[0].caveats.find((c) => c.type === "restrictReturnedAccounts");
  assert.deepEqual(caveat.value.map(ethers.getAddress), accounts);
  // Already connected: no new approval.
  const again = await dapp.send("wallet_requestPermissions", [{ eth_accounts: {} }]);
  assert.equal(again[0].parentCapability, "eth_accounts");
});

e2e("misplaced requests: wrong chainId, subscription over HTTP, token-only methods, eth_sign", async () => {
  await rejectsWithCode(
    dapp.send("eth_sendTransaction", [{ from: accounts[0], to: accounts[1], value: "0x1", chainId: "0x1" }]),
    -32602,
    "chainId 1 while 31337 is selected",
  );
  await rejectsWithCode(dapp.send("eth_subscribe", ["accountsChanged"]), 4200, "eth_subscribe over HTTP");
  // A page can neither see nor decide approvals, even its own.
  await rejectsWithCode(dapp.send("keybridge_pendingApprovals", []), 4100, "keybridge_pendingApprovals from a page");
  await rejectsWithCode(dapp.send("keybridge_decide", [1, "approve"]), 4100, "keybridge_decide from a page");
  const feed = dappWs.provider.send("eth_subscribe", ["keybridge_approvals"]);
  await rejectsWithCode(feed, 4100, "approvals feed from a page");
  await rejectsWithCode(dapp.send("eth_sign", [accounts[0], ethers.ZeroHash]), 4200, "eth_sign (disabled)");
  await rejectsWithCode(dapp.send("wallet_noSuchMethod", []), -32601, "unknown method");
});

e2e("a WebSocket page that goes away drops its pending approvals", async () => {
  const page = await wsProvider(kDapp);
  const seen = approver.expect("personal_sign", "hold");
  const message = ethers.hexlify(ethers.toUtf8Bytes("bye"));
  const pending = page.provider.send("personal_sign", [message, accounts[0].toLowerCase()]);
  pending.catch(() => {}); // the socket closes under it
  const request = await seen;
  page.socket.terminate();
  await approver.waitRemoved(request.id);
  const queued = await approver.call("keybridge_pendingApprovals", []);
  assert.deepEqual(queued.map((r) => r.id), []);
});

e2e("rejected signMessage, signTypedData and sendTransaction: 4001 / ACTION_REJECTED, nothing sent", async () => {
  const nonce = await chain.getTransactionCount(accounts[0]);
  const cases = [
    ["personal_sign", "signMessage", () => signer.signMessage("please reject me")],
    ["eth_signTypedData_v4", "signTypedData", () => signer.signTypedData(...kTypedCases[0].slice(1))],
    ["eth_sendTransaction", "sendTransaction", () => signer.sendTransaction({ to: accounts[2], value: 1n })],
    [
      "eth_signTransaction",
      "signTransaction",
      () => signer.signTransaction({ to: accounts[2], value: 1n, gasLimit: 21000n }),
    ],
  ];
  for (const [method, action, run] of cases) {
    const seen = approver.expect(method, "reject");
    const error = await rejectsWithCode(run(), 4001, method);
    await seen;
    assert.equal(error.code, "ACTION_REJECTED", `${method}: ${error.shortMessage}`);
    assert.equal(error.action, action);
  }
  assert.equal(await chain.getTransactionCount(accounts[0]), nonce);
});

e2e("a rejection over WebSocket surfaces as 4001 too", async () => {
  const wsSigner = await dappWs.provider.getSigner(accounts[0]);
  const seen = approver.expect("personal_sign", "reject");
  const error = await rejectsWithCode(wsSigner.signMessage("no"), 4001, "personal_sign over WebSocket");
  await seen;
  assert.equal(error.code, "ACTION_REJECTED");
});

e2e("accounts not connected to the caller: 4100, and no approval is asked", async () => {
  // Another page, never approved, tries the dApp's account.
  const other = httpProvider("https://other.example");
  assert.deepEqual(await other.send("eth_accounts", []), []);
  const stranger = new JsonRpcSigner(other, accounts[0]);
  await rejectsWithCode(stranger.signMessage("hi"), 4100, "personal_sign from another origin");
  await rejectsWithCode(stranger.signTypedData(...kTypedCases[0].slice(1)), 4100, "typed data from another origin");
  await rejectsWithCode(
    other.send("eth_sendTransaction", [{ from: accounts[0], to: accounts[2], value: "0x1" }]),
    4100,
    "eth_sendTransaction from another origin",
  );
  // The connected page, with an address the vault does not hold.
  const unknown = new JsonRpcSigner(dapp, ethers.Wallet.createRandom().address);
  await rejectsWithCode(unknown.signMessage("hi"), 4100, "personal_sign with an unknown account");
  const send = unknown.sendTransaction({ to: accounts[2], value: 1n, gasLimit: 21000n });
  await rejectsWithCode(send, 4100, "eth_sendTransaction with an unknown account");
});

e2e("wallet_switchEthereumChain to an unknown chain: 4902", async () => {
  await rejectsWithCode(dapp.send("wallet_switchEthereumChain", [{ chainId: "0x5" }]), 4902, "switch to 5");
  assert.equal(await dapp.send("eth_chainId", []), "0x7a69");
});

// Chain selection is per origin: a separate page so the dApp above keeps chain 31337.
const kChainsPage = "https://chains.example";
let chainsWs;
let chainSub;

e2e("wallet_switchEthereumChain to a configured chain: chainChanged over WebSocket, reads follow", async () => {
  chainsWs = await wsProvider(kChainsPage);
  const other = await wsProvider("https://bystander.example");
  const otherSub = await other.provider.send("eth_subscribe", ["chainChanged"]);
  chainSub = await chainsWs.provider.send("eth_subscribe", ["chainChanged"]);
  const page = httpProvider(kChainsPage);
  assert.equal((await page.getNetwork()).chainId, BigInt(kChainMain));
  assert.equal(await page.send("wallet_switchEthereumChain", [{ chainId: ethers.toQuantity(kChainSecond) }]), null);
  assert.equal(await chainsWs.nextEvent(chainSub), ethers.toQuantity(kChainSecond));
  assert.equal(await page.send("eth_chainId", []), ethers.toQuantity(kChainSecond));
  assert.equal(await chainsWs.provider.send("eth_chainId", []), ethers.toQuantity(kChainSecond));
  // The second node has mined nothing, the main one has: the reads went to the second.
  assert.equal(await page.send("eth_blockNumber", []), "0x0");
  assert.notEqual(await dapp.send("eth_blockNumber", []), "0x0");
  // ethers itself notices that the network under it changed.
  await assert.rejects(page.getNetwork(), { code: "NETWORK_ERROR" });
  // Switching to the selected chain again changes nothing and says nothing.
  const again = [{ chainId: ethers.toQuantity(kChainSecond) }];
  assert.equal(await chainsWs.provider.send("wallet_switchEthereumChain", again), null);
  await sleep(200);
  assert.deepEqual(chainsWs.pendingEvents(chainSub), []);
  // Another origin heard nothing and still has the default chain.
  assert.deepEqual(other.pendingEvents(otherSub), []);
  assert.equal(await other.provider.send("eth_chainId", []), "0x7a69");
});

function addChainParams() {
  return {
    chainId: ethers.toQuantity(kChainAdded),
    chainName: "Added",
    rpcUrls: [anvilAdded.url],
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  };
}

e2e("wallet_addEthereumChain rejected: 4001, the chain stays unknown", async () => {
  const params = [addChainParams()];
  const seen = approver.expect("wallet_addEthereumChain", "reject");
  await rejectsWithCode(chainsWs.provider.send("wallet_addEthereumChain", params), 4001, "add rejected");
  await seen;
  const toAdded = [{ chainId: ethers.toQuantity(kChainAdded) }];
  await rejectsWithCode(chainsWs.provider.send("wallet_switchEthereumChain", toAdded), 4902, "switch to it");
});

e2e("wallet_addEthereumChain approved: selected at once (chainChanged), switch away and back", async () => {
  const params = [{ ...addChainParams(), blockExplorerUrls: null }];
  const seen = approver.expect("wallet_addEthereumChain", "approve");
  assert.equal(await chainsWs.provider.send("wallet_addEthereumChain", params), null);
  const request = await seen;
  assert.equal(request.details.rpcUrl, anvilAdded.url);
  assert.ok(request.warnings.some((w) => w.id === "rpc-url-unencrypted" && /not encrypted/.test(w.title)), JSON.stringify(request.warnings));
  assert.equal(await chainsWs.nextEvent(chainSub), ethers.toQuantity(kChainAdded));
  assert.equal(await chainsWs.provider.send("eth_chainId", []), ethers.toQuantity(kChainAdded));
  await chainsWs.provider.send("wallet_switchEthereumChain", [{ chainId: ethers.toQuantity(kChainMain) }]);
  assert.equal(await chainsWs.nextEvent(chainSub), "0x7a69");
  await chainsWs.provider.send("wallet_switchEthereumChain", [{ chainId: ethers.toQuantity(kChainAdded) }]);
  assert.equal(await chainsWs.nextEvent(chainSub), ethers.toQuantity(kChainAdded));
  // Reads reach the added chain's node.
  const direct = new JsonRpcProvider(anvilAdded.url, kChainAdded, { staticNetwork: true });
  providers.push(direct);
  const balance = await chainsWs.provider.send("eth_getBalance", [kAnvilAccount0, "latest"]);
  assert.equal(BigInt(balance), await direct.getBalance(kAnvilAccount0));
  assert.equal(await chainsWs.provider.send("eth_blockNumber", []), "0x0");
});

e2e("wallet_revokePermissions: accountsChanged [] over WebSocket, then 4100 for signing", async () => {
  const seen = dappWs.nextEvent(accountsSub);
  assert.equal(await dapp.send("wallet_revokePermissions", [{ eth_accounts: {} }]), null);
  assert.deepEqual(await seen, []);
  assert.deepEqual(await dapp.send("eth_accounts", []), []);
  assert.deepEqual(await dappWs.provider.send("eth_accounts", []), []);
  await rejectsWithCode(signer.signMessage("after revoke"), 4100, "personal_sign after revoke");
});

e2e("anvil killed mid-run: reads give 4901, the daemon keeps answering eth_chainId", async () => {
  anvilMain.child.kill("SIGKILL");
  await waitExit(anvilMain.child, 5000);
  await rejectsWithCode(dapp.send("eth_blockNumber", []), 4901, "eth_blockNumber");
  await rejectsWithCode(dapp.getBalance(accounts[0]), 4901, "getBalance");
  const call = dappWs.provider.send("eth_call", [{ to: contract, data: "0x" }, "latest"]);
  await rejectsWithCode(call, 4901, "eth_call over WebSocket");
  assert.equal(await dapp.send("eth_chainId", []), "0x7a69");
  assert.equal(await dappWs.provider.send("eth_chainId", []), "0x7a69");
  // Filling a transaction needs the node: 4901 before any approval is asked.
  const page = httpProvider("https://late.example");
  const seen = approver.expect("eth_requestAccounts", "approve");
  await page.send("eth_requestAccounts", []);
  await seen;
  await rejectsWithCode(
    page.send("eth_sendTransaction", [{ from: accounts[0], to: accounts[2], value: "0x1" }]),
    4901,
    "eth_sendTransaction without a node",
  );
  // Other chains' nodes are still there.
  assert.equal(await chainsWs.provider.send("eth_blockNumber", []), "0x0");
  // /health: only "up" without the token; the detail with it.
  const health = await (await fetch(new URL("/health", daemonUrl))).json();
  assert.deepEqual(health, { status: "up" });
  const detail = await (
    await fetch(new URL("/health", daemonUrl), { headers: { Authorization: `Bearer ${token}` } })
  ).json();
  assert.equal(detail.status, "ok");
});

e2e("SIGTERM: keybridged closes its WebSockets with 1001, says goodbye to approvers, exits with 0", async () => {
  const dappClosed =
    dappWs.socket.readyState === WebSocket.OPEN ? once(dappWs.socket, "close") : Promise.resolve([null]);
  const approverGoodbye = new Promise((resolve) => (approver.onDisconnect = resolve));
  const approverClosed = once(approver.socket, "close");
  daemon.child.kill("SIGTERM");
  const { code, signal } = await waitExit(daemon.child, 5000);
  assert.equal(signal, null);
  assert.equal(code, 0);
  const [[dappClose]] = await Promise.all([dappClosed, approverClosed]);
  assert.equal(dappClose, 1001);
  // The control socket has no close frame: the keybridge_disconnect notification is the goodbye.
  assert.deepEqual(await approverGoodbye, { code: 4900, message: "keybridged is shutting down" });
});
