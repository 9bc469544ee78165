// Insight end to end: keybridged explains requests against a real anvil (npm
// @foundry-rs/anvil-linux-amd64) through a small HTTP proxy that can play a dead node. An ERC-20
// (tests/node/contracts/KbToken.sol, deployed from its committed bytecode in KbToken.json: nothing
// is compiled here) is not in the bundled token list, so its symbol and decimals come from the
// node; transfers above the balance are predicted to revert with the contract's reason; data to an
// address without code and approvals to plain accounts are flagged; a real earlier transfer makes
// a look-alike recipient an address-poisoning danger, also after a restart (the audit log's
// counterparties); a node that does not answer costs the explanation its chain facts, never the
// request.
//
// Usage: node insight_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge   (ANVIL overrides anvil)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ethers, JsonRpcProvider } from "ethers";
import { children, ControlSocketClient, secretFile, startAnvil, track } from "./lib/harness.mjs";

const keybridged = process.argv[2] ?? process.env.KEYBRIDGED;
const keybridge = process.argv[3] ?? process.env.KEYBRIDGE;
if (!keybridged || !keybridge) {
  console.error("usage: node insight_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge");
  process.exit(2);
}

// anvil's default mnemonic: the vault's first accounts hold 10000 ETH on anvil.
const kMnemonic = "test test test test test test test test test test test junk";
const kPassword = "insight e2e vault password";
const kChain = 31337;
const kTestTimeout = 30_000;
const here = path.dirname(fileURLToPath(import.meta.url));
const kToken = JSON.parse(fs.readFileSync(path.join(here, "contracts", "KbToken.json"), "utf8"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- processes: every child is tracked and killed on any exit path

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-insight-"));
const datadir = path.join(tmp, "data");
let keepTmp = false;
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => process.exit(128 + os.constants.signals[signal]));
}

async function post(url, method, params = [], headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return res.json();
}

// The daemon's node: forwards to anvil and logs calls; with `dead` set it takes requests and
// never answers (a hung node); methods in `hang` alone hang (a node stuck executing calls).
function startProxy(target) {
  const proxy = { dead: false, hang: new Set(), log: [], url: "" };
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const call = JSON.parse(body);
    const entry = { method: call.method, start: Date.now(), ms: null };
    proxy.log.push(entry);
    if (proxy.dead || proxy.hang.has(call.method)) return; // the socket stays open, unanswered
    try {
      const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(await answer.text());
      entry.ms = Date.now() - entry.start;
    } catch {
      req.socket.destroy();
    }
  });
  proxy.server = server;
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      proxy.url = `http://127.0.0.1:${server.address().port}`;
      resolve(proxy);
    }),
  );
}

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
      if (code !== 0) return reject(new Error(`keybridge ${args.join(" ")}: exit ${code}: ${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

let daemonLog = "";
async function startDaemon(nodeUrl, passwordFile) {
  let ownLog = "";
  const args = ["--datadir", datadir, "--listen", "127.0.0.1:0", "--chain-id", String(kChain),
    "--chain", `${kChain}=${nodeUrl}`, "--password-file", passwordFile];
  const child = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"] }));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keybridged did not start: ${daemonLog}`)), 15_000);
    child.stderr.on("data", (d) => {
      daemonLog += d;
      ownLog += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(ownLog);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`keybridged exited with ${code}: ${daemonLog}`)));
  });
  const url = `http://127.0.0.1:${port}/`;
  const cookie = path.join(datadir, ".cookie");
  for (let i = 0; !fs.existsSync(cookie); i++) {
    if (i > 200) throw new Error("keybridged wrote no cookie");
    await sleep(25);
  }
  const token = fs.readFileSync(cookie, "utf8").trim();
  for (let i = 0; ; i++) {
    const status = await post(url, "keybridge_status", [], { Authorization: `Bearer ${token}` });
    if (status.result?.unlocked) break;
    if (i > 200) throw new Error(`vault not unlocked: ${JSON.stringify(status)}`);
    await sleep(50);
  }
  return { child, url, token };
}

async function stopDaemon(d) {
  d.child.kill("SIGTERM");
  if (d.child.exitCode === null && d.child.signalCode === null) await once(d.child, "exit");
}

// An approver on the control socket that approves every signing request it is shown.
class Approver extends ControlSocketClient {
  constructor(socketPath) {
    super(socketPath);
    this.seen = [];
  }
  async connect() {
    await super.connect();
    await this.call("eth_subscribe", ["keybridge_approvals"]);
  }
  onNotification(msg) {
    if (msg.method === "eth_subscription" && msg.params?.result?.type === "added") {
      const request = msg.params.result.request;
      if (request.stage !== "waiting") return;
      this.seen.push(request);
      // A connect request is given every account of the vault.
      const choice = request.method === "eth_requestAccounts" ? { accounts } : {};
      this.call("keybridge_decide", [request.id, "approve", { digest: request.digest, ...choice }]).catch(() => {});
    }
  }
}

// ---- setup

let anvilUrl;
let proxy;
let daemon;
let approver;
let chain; // ethers straight to anvil
let passwordFile;
let accounts = [];
let token; // the deployed KbToken's address

const iface = new ethers.Interface(kToken.abi);

// What the daemon would show for a transaction from `from` (as the local caller).
async function explain(tx, method = "eth_sendTransaction") {
  const params = Array.isArray(tx) ? tx : [tx];
  const answer = await post(daemon.url, "keybridge_explainRequest", [{ method, params }], {
    Authorization: `Bearer ${daemon.token}`,
  });
  if (answer.error) throw new Error(`keybridge_explainRequest: ${answer.error.message}`);
  return answer.result;
}
const ids = (e) => e.warnings.map((w) => w.id);
const warning = (e, id) => e.warnings.find((w) => w.id === id);

// Signs and sends through keybridged (approved by the approver), then waits for the receipt.
async function send(tx) {
  const answer = await post(daemon.url, "eth_sendTransaction", [tx], { Authorization: `Bearer ${daemon.token}` });
  if (answer.error) throw new Error(`eth_sendTransaction: ${answer.error.message}`);
  const receipt = await chain.waitForTransaction(answer.result, 1, 15_000);
  assert.equal(receipt.status, 1, "mined successfully");
  return receipt;
}

// The approver, and the token client connected to the vault's accounts.
async function connectApprover() {
  approver = new Approver(path.join(datadir, "keybridged.sock"));
  await approver.connect();
  const granted = await post(daemon.url, "eth_requestAccounts", [], { Authorization: `Bearer ${daemon.token}` });
  if (granted.error) throw new Error(`eth_requestAccounts: ${granted.error.message}`);
  assert.equal(granted.result.length, accounts.length);
}

before(async () => {
  const mnemonicFile = secretFile(tmp, "mnemonic.txt", `${kMnemonic}\n`);
  passwordFile = secretFile(tmp, "password.txt", `${kPassword}\n`);
  const restored = await runCli(["restore", "--mnemonic-file", mnemonicFile, "--password-file", passwordFile, "--light-kdf"]);
  const derived = await runCli(["account", "derive", "--count", "1", "--password-file", passwordFile]);
  accounts = [...restored.accounts, ...derived.accounts].map((a) => ethers.getAddress(a.address));
  anvilUrl = (await startAnvil(kChain)).url;
  proxy = await startProxy(anvilUrl);
  daemon = await startDaemon(proxy.url, passwordFile);
  await connectApprover();
  chain = new JsonRpcProvider(anvilUrl, kChain, { staticNetwork: true, cacheTimeout: -1 });
  // Deploy KbToken with 1000 KBT (6 decimals) to the vault's first account.
  const deploy = kToken.bytecode + ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [1000_000000n]).slice(2);
  const receipt = await send({ from: accounts[0], data: deploy });
  token = ethers.getAddress(receipt.contractAddress);
});

let failures = 0;
after(async () => {
  chain?.destroy();
  approver?.close();
  if (daemon) await stopDaemon(daemon);
  // Connections the hung node never answered, and anvil: nothing may keep node running.
  proxy?.server.closeAllConnections?.();
  proxy?.server.close();
  for (const child of children) child.kill("SIGKILL");
  if (failures > 0) {
    console.log(`--- keybridged log (last 4000 characters) ---\n${daemonLog.slice(-4000)}`);
    keepTmp = true;
  }
});

function e2e(name, fn) {
  test(name, { timeout: kTestTimeout }, async () => {
    try {
      await fn();
    } catch (e) {
      failures++;
      throw e;
    }
  });
}

// ---- tests

e2e("a token outside the bundled list is shown in its own units (symbol() and decimals() from the node)", async () => {
  const data = iface.encodeFunctionData("transfer", [accounts[1], 1_500000n]);
  const mark = proxy.log.length;
  const started = Date.now();
  const e = await explain({ from: accounts[0], to: token, data });
  if (process.env.KEYBRIDGE_DEBUG)
    console.log(Date.now() - started, proxy.log.slice(mark).map((c) => [c.method, c.start - started, c.ms]));
  assert.equal(e.summary, `Send 1.5 KBT to ${accounts[1]} on Anvil`);
  assert.equal(e.details.simulation.outcome, "succeeds");
  assert.ok(e.details.simulation.gasNeeded > 21000);
  assert.deepEqual(ids(e), []);
});

e2e("a transfer above the balance is predicted to revert, with the contract's reason", async () => {
  // accounts[1] holds no KBT. The gas is given: filling it would ask eth_estimateGas, whose
  // revert is then the request's error before anything is shown.
  const data = iface.encodeFunctionData("transfer", [accounts[0], 5_000000n]);
  const e = await explain({ from: accounts[1], to: token, data, gas: "0x20000" });
  const w = warning(e, "predicted-revert");
  assert.ok(w, `warnings: ${JSON.stringify([e.warnings, e.details.simulation])}`);
  assert.equal(w.severity, "warning");
  assert.match(w.detail, /KBT: transfer amount exceeds balance/);
  assert.equal(e.details.simulation.outcome, "reverts");
  assert.equal(e.details.simulation.reason.kind, "Error");
  assert.equal(e.details.simulation.reason.text, "KBT: transfer amount exceeds balance");
  // A gas limit far below what the transfer needs is a predicted failure too.
  const starved = await explain({ from: accounts[0], to: token, data: iface.encodeFunctionData("transfer", [accounts[1], 1n]), gas: "0x5300" });
  assert.ok(ids(starved).includes("predicted-revert"), JSON.stringify([starved.warnings, starved.details.simulation]));
});

e2e("without a gas limit the filler's estimate fails first: its error carries the decoded reason", async () => {
  const data = iface.encodeFunctionData("transfer", [accounts[0], 5_000000n]);
  const answer = await post(daemon.url, "keybridge_explainRequest",
    [{ method: "eth_sendTransaction", params: [{ from: accounts[1], to: token, data }] }],
    { Authorization: `Bearer ${daemon.token}` });
  assert.ok(answer.error, JSON.stringify(answer));
  assert.equal(answer.error.code, 3, JSON.stringify(answer.error));
  assert.match(answer.error.message, /^the transaction would fail: KBT: transfer amount exceeds balance \(eth_estimateGas: /);
  // The node's revert data stays, for clients that decode it themselves.
  const revertData = typeof answer.error.data === "string" ? answer.error.data : answer.error.data?.data;
  assert.match(String(revertData), /^0x08c379a0/, JSON.stringify(answer.error));
});

e2e("data sent to an address without code, and an approval to a plain account", async () => {
  const nobody = ethers.Wallet.createRandom().address;
  const call = await explain({ from: accounts[0], to: nobody, data: "0xa9059cbb" + "00".repeat(64) });
  assert.ok(ids(call).includes("no-code-at-recipient"), JSON.stringify(call.warnings));
  const approve = await explain({ from: accounts[0], to: token, data: iface.encodeFunctionData("approve", [nobody, 10_000000n]) });
  assert.ok(ids(approve).includes("spender-no-code"), JSON.stringify(approve.warnings));
  assert.ok(ids(approve).includes("approval-to-new-address"), JSON.stringify(approve.warnings));
  assert.equal(approve.summary, `Allow ${nobody} to spend 10 KBT on Anvil`);
  // The token contract itself has code: approving it (odd, but a contract) is not spender-no-code.
  const toContract = await explain({ from: accounts[0], to: token, data: iface.encodeFunctionData("approve", [token, 1n]) });
  assert.ok(!ids(toContract).includes("spender-no-code"), JSON.stringify(toContract.warnings));
});

e2e("a nonce far ahead of the pending nonce and a fee far above the base fee", async () => {
  const block = await chain.getBlock("latest");
  const pending = await chain.getTransactionCount(accounts[0], "pending");
  const e = await explain(
    {
      from: accounts[0], to: accounts[1], value: "0x1", nonce: ethers.toQuantity(pending + 50), gas: "0x5208",
      maxFeePerGas: ethers.toQuantity(block.baseFeePerGas * 100n), maxPriorityFeePerGas: "0x1",
    },
    "eth_signTransaction",
  );
  assert.ok(ids(e).includes("nonce-far-ahead"), JSON.stringify(e.warnings));
  assert.ok(ids(e).includes("fee-far-above-base-fee"), JSON.stringify(e.warnings));
  const fine = await explain(
    {
      from: accounts[0], to: accounts[1], value: "0x1", nonce: ethers.toQuantity(pending), gas: "0x5208",
      maxFeePerGas: ethers.toQuantity(block.baseFeePerGas * 2n), maxPriorityFeePerGas: "0x1",
    },
    "eth_signTransaction",
  );
  assert.deepEqual(ids(fine), []);
});

e2e("after a real transfer, a look-alike recipient is address poisoning (also after a restart)", async () => {
  // A fresh recipient and a look-alike: same first four and last four hex digits.
  const friend = ethers.Wallet.createRandom().address.toLowerCase();
  const lookalike = ethers.getAddress(friend.slice(0, 6) + "00".repeat(16) + friend.slice(-4));
  const toLookalike = { from: accounts[0], to: token, data: iface.encodeFunctionData("transfer", [lookalike, 1_000000n]) };
  const before = await explain(toLookalike);
  assert.ok(!ids(before).includes("address-poisoning"), "nothing to look like yet");
  await send({ from: accounts[0], to: token, data: iface.encodeFunctionData("transfer", [friend, 2_000000n]) });
  assert.equal(await new ethers.Contract(token, kToken.abi, chain).balanceOf(friend), 2_000000n);
  const after = await explain(toLookalike);
  const w = warning(after, "address-poisoning");
  assert.ok(w, JSON.stringify(after.warnings));
  assert.equal(w.severity, "danger");
  assert.match(w.detail, new RegExp(ethers.getAddress(friend)));
  // The recipient itself is now known: approving it is no approval to a new address.
  const approveFriend = await explain({ from: accounts[0], to: token, data: iface.encodeFunctionData("approve", [friend, 1n]) });
  assert.ok(!ids(approveFriend).includes("approval-to-new-address"), JSON.stringify(approveFriend.warnings));
  // The history is the audit log's: a restarted daemon still knows.
  approver.close();
  await stopDaemon(daemon);
  daemon = await startDaemon(proxy.url, passwordFile);
  await connectApprover();
  const again = await explain(toLookalike);
  assert.ok(ids(again).includes("address-poisoning"), JSON.stringify(again.warnings));
});

e2e("a node that does not answer costs the explanation its chain facts, not the request", async () => {
  // A node stuck executing calls: filling (nonce, block) still works, the pre-run and the token
  // lookups never come back.
  const data = iface.encodeFunctionData("transfer", [accounts[1], 1n]);
  const tx = {
    from: accounts[0], to: token, data, nonce: "0x0", gas: "0x20000",
    maxFeePerGas: "0x77359400", maxPriorityFeePerGas: "0x1",
  };
  proxy.hang = new Set(["eth_call", "eth_estimateGas", "eth_getCode"]);
  try {
    const started = Date.now();
    const e = await explain(tx, "eth_signTransaction");
    const took = Date.now() - started;
    assert.ok(took < 6000, `took ${took} ms`);
    assert.equal(e.details.simulation.outcome, "unknown");
    assert.match(e.details.simulation.note, /could not pre-run.*timed out/);
    assert.ok(!ids(e).includes("predicted-revert"));
    // Without the node's word the token's units are unknown: raw, never guessed.
    assert.match(e.summary, /raw units/);
  } finally {
    proxy.hang = new Set();
  }
  // A node that answers nothing at all: a permit (nothing to fill) is explained without chain
  // facts within the lookups' deadline.
  const permit = {
    types: {
      EIP712Domain: [
        { name: "name", type: "string" }, { name: "version", type: "string" },
        { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" },
      ],
      Permit: [
        { name: "owner", type: "address" }, { name: "spender", type: "address" },
        { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "Permit",
    domain: { name: "Keybridge Test Token", version: "1", chainId: kChain, verifyingContract: token },
    message: { owner: accounts[0], spender: accounts[1], value: "1000000", nonce: "0", deadline: String(Math.floor(Date.now() / 1000) + 3600) },
  };
  proxy.dead = true;
  try {
    const started = Date.now();
    const e = await explain([accounts[0], JSON.stringify(permit)], "eth_signTypedData_v4");
    const took = Date.now() - started;
    assert.ok(took < 6000, `took ${took} ms`);
    assert.ok(!ids(e).includes("spender-no-code"), JSON.stringify(e.warnings));
    assert.match(e.summary, /raw units/);
  } finally {
    proxy.dead = false;
  }
  // The node back: the same permit names a spender without code, in the token's units.
  const e = await explain([accounts[0], JSON.stringify(permit)], "eth_signTypedData_v4");
  assert.ok(ids(e).includes("spender-no-code"), JSON.stringify(e.warnings));
  assert.match(e.summary, /Permit .* to spend 1 KBT/);
});
