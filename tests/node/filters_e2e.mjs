// Read-only methods forwarded to the chain's node, the eth_newFilter family per client, and
// eth_subscribe "newPendingTransactions", end to end: ethers v6 providers and raw HTTP/WebSocket
// clients with pages' Origins on keybridged, which talks to a real anvil (npm
// @foundry-rs/anvil-linux-amd64) through a small recording HTTP proxy, so the test sees exactly
// which calls and filter ids reached the node.
//
// Usage: node filters_e2e.mjs PATH_TO_keybridged   (or KEYBRIDGED=…; ANVIL overrides anvil)
// Every process it starts is ended on exit, also when a test or the setup fails.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { ethers, FetchRequest, JsonRpcProvider, WebSocketProvider } from "ethers";
import WebSocket from "ws";

const keybridged = process.argv[2] ?? process.env.KEYBRIDGED;
if (!keybridged) {
  console.error("usage: node filters_e2e.mjs PATH_TO_keybridged");
  process.exit(2);
}

const kDapp = "https://dapp.example";
const kOther = "https://other.example";
const kChain = 31337;
const kChainWithoutNode = 1337; // configured without an RPC URL
const kPollMs = 100;
const kMaxFilters = 6; // --max-subscriptions: also the filters per connection or origin
const kTestTimeout = 30_000;
const kFilterNotFound = -32000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set();
function track(child) {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-filters-"));
let keepTmp = false;
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => process.exit(128 + os.constants.signals[signal]));
}

function anvilBinary() {
  if (process.env.ANVIL) return process.env.ANVIL;
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
}

// One JSON-RPC call; resolves with the whole answer object (result or error).
async function post(url, method, params = [], headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return res.json();
}

async function rawCall(url, method, params = [], headers = {}) {
  const body = await post(url, method, params, headers);
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
  return body.result;
}

async function startAnvil() {
  const args = ["--host", "127.0.0.1", "--port", "0", "--chain-id", String(kChain)];
  const child = track(spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] }));
  let out = "";
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${out}`)), 15_000);
    const onData = (d) => {
      out += d;
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`anvil exited with ${code}: ${out}`)));
  });
  child.stdout.resume();
  return `http://127.0.0.1:${port}`;
}

// The daemon's view of the node: forwards to anvil and records every call with its answer.
// While `refusePending` is set it answers eth_newPendingTransactionFilter as a node without
// pending-transaction filters does.
function startProxy(target) {
  const proxy = { log: [], refusePending: false, url: "" };
  proxy.calls = (method) => proxy.log.filter((c) => c.method === method);
  proxy.count = (method) => proxy.calls(method).length;
  // The node's ids that keybridged asked to uninstall (recorded as the call arrives, before the
  // node has it)...
  proxy.uninstalled = () => proxy.calls("eth_uninstallFilter").map((c) => c.params[0]);
  // ... and those the node has uninstalled: its answer came back. Checks of the node's own state
  // wait for these (on a loaded machine the node may not have the call yet when it arrived here).
  proxy.uninstalledOnNode = () =>
    proxy.calls("eth_uninstallFilter").filter((c) => c.answer !== null).map((c) => c.params[0]);
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const call = JSON.parse(body);
    const entry = { method: call.method, params: call.params, answer: null };
    proxy.log.push(entry);
    if (proxy.refusePending && call.method === "eth_newPendingTransactionFilter") {
      entry.answer = { jsonrpc: "2.0", id: call.id, error: { code: -32601, message: "the method eth_newPendingTransactionFilter does not exist/is not available" } };
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(entry.answer));
    }
    try {
      const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await answer.text();
      entry.answer = JSON.parse(text);
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(text);
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

let daemonLog = "";
async function startDaemon(nodeUrl) {
  const args = [
    "--datadir", path.join(tmp, "data"), "--listen", "127.0.0.1:0", "--chain-id", String(kChain),
    "--chain", `${kChain}=${nodeUrl}`, "--chain", `${kChainWithoutNode}=`,
    "--poll-interval", String(kPollMs), "--max-subscriptions", String(kMaxFilters),
    "--log-level", "debug",
  ];
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
// Clients

// A page over HTTP: each call is its own request with the page's Origin.
class HttpPage {
  constructor(origin) {
    this.origin = origin;
  }
  answer(method, params = []) {
    return post(httpUrl, method, params, { Origin: this.origin });
  }
  call(method, params = []) {
    return rawCall(httpUrl, method, params, { Origin: this.origin });
  }
}

// A page over one WebSocket: calls, and every notification kept.
class WsPage {
  constructor(origin = kDapp) {
    this.ws = new WebSocket(wsUrl, { headers: { Origin: origin } });
    this.nextId = 1;
    this.calls = new Map();
    this.notifications = [];
    this.ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.id !== undefined && this.calls.has(msg.id)) {
        const { resolve, reject } = this.calls.get(msg.id);
        this.calls.delete(msg.id);
        if (msg.error) reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
        else resolve(msg.result);
        return;
      }
      this.notifications.push(msg);
    });
  }
  async open() {
    if (this.ws.readyState !== WebSocket.OPEN) await once(this.ws, "open");
    return this;
  }
  call(method, params = []) {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }));
  }
  async close() {
    this.ws.close();
    if (this.ws.readyState !== WebSocket.CLOSED) await once(this.ws, "close");
  }
}

const providers = [];
const sockets = [];
async function wsPage(origin = kDapp) {
  const page = await new WsPage(origin).open();
  sockets.push(page);
  return page;
}

// ethers' JsonRpcProvider as a page: FetchRequest carries the Origin header.
function httpProvider(origin = kDapp) {
  const request = new FetchRequest(httpUrl);
  request.setHeader("Origin", origin);
  const provider = new JsonRpcProvider(request, kChain, { staticNetwork: true, cacheTimeout: -1, pollingInterval: kPollMs });
  providers.push(provider);
  return provider;
}

// ethers' WebSocketProvider over a `ws` socket that sends the page's Origin header.
async function wsProvider(origin = kDapp) {
  const socket = new WebSocket(wsUrl, { headers: { Origin: origin } });
  const provider = new WebSocketProvider(socket, undefined, { cacheTimeout: -1 });
  providers.push(provider);
  await provider.getNetwork();
  return provider;
}

async function waitUntil(what, predicate, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// Waits until none of `methods` reached the node for `quietMs` (a call a loaded machine delayed
// lands before, not in the window a caller then checks); fails if calls never stop.
async function waitQuiet(what, methods, quietMs, ms = 10_000) {
  const count = () => methods.reduce((n, m) => n + proxy.count(m), 0);
  const deadline = Date.now() + ms;
  let seen = count();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: the calls go on`);
    await sleep(25);
    if (count() !== seen) {
      seen = count();
      since = Date.now();
    }
  }
  return seen;
}

// ethers' polling providers read their filters when they see a new block, and the first block
// number a provider reads is only its starting point. On a loaded machine that first read can
// come after the block the test mined, and then nothing more happens: so while waiting for
// what ethers should deliver, mine an empty block every few polls. The test still requires that
// ethers receives exactly what the node's filter holds, through keybridged.
async function waitMining(what, predicate, ms = 20_000) {
  const deadline = Date.now() + ms;
  let nextBlock = Date.now() + kPollMs * 5;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (Date.now() >= nextBlock) {
      await mine(1);
      nextBlock = Date.now() + kPollMs * 5;
    }
    await sleep(25);
  }
}

async function rejectsWithCode(promise, code, pattern, what) {
  let error = null;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${what}: expected error ${code}, but it succeeded`);
  const got = error.code === code ? error : (error.error ?? error.info?.error ?? error);
  assert.equal(got.code, code, `${what}: ${error.message}`);
  if (pattern) assert.match(got.message, pattern, what);
}

// The node's filter id behind the local id the daemon handed out: the node's answer to the
// last call of `method` (the proxy records the call before the answer comes).
async function lastNodeFilterId(method) {
  const call = proxy.calls(method).at(-1);
  await waitUntil(`the node's answer to ${method}`, () => call.answer !== null);
  return call.answer.result;
}

// A contract whose runtime emits, for any call, LOG1 with kTopic and the call data as the log's
// data (the same hand-assembled contract as subscriptions_e2e.mjs).
const kTopic = ethers.id("KeybridgePing(bytes)");
const kRuntime = `0x366000600037` + `7f${kTopic.slice(2)}` + `366000a100`;
const kInitCode = `0x602c600c60003960` + `2c6000f3` + kRuntime.slice(2);

// ---------------------------------------------------------------------------------------------

let anvilUrl;
let proxy;
let daemon;
let httpUrl;
let wsUrl;
let chain; // JsonRpcProvider straight to anvil
let miner; // anvil's unlocked account 0
let contract; // address of the logging contract
let failures = 0;

before(async () => {
  anvilUrl = await startAnvil();
  proxy = await startProxy(anvilUrl);
  daemon = await startDaemon(proxy.url);
  httpUrl = `http://127.0.0.1:${daemon.port}/`;
  wsUrl = `ws://127.0.0.1:${daemon.port}/`;
  chain = new JsonRpcProvider(anvilUrl, kChain, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
  providers.push(chain);
  miner = await chain.getSigner(0);
  const deployed = await (await miner.sendTransaction({ data: kInitCode })).wait();
  contract = deployed.contractAddress;
});

after(async () => {
  for (const p of providers) {
    try {
      p.destroy();
    } catch {
      // already destroyed
    }
  }
  for (const s of sockets) s.ws.terminate();
  if (daemon) {
    daemon.child.kill("SIGTERM");
    const timer = setTimeout(() => daemon.child.kill("SIGKILL"), 5000);
    if (daemon.child.exitCode === null) await once(daemon.child, "exit");
    clearTimeout(timer);
  }
  for (const child of children) child.kill("SIGKILL");
  proxy?.server.closeAllConnections();
  proxy?.server.close();
  if (failures > 0) {
    console.log(`--- keybridged log (last 6000 characters) ---\n${daemonLog.slice(-6000)}`);
    console.log(`test files kept in ${tmp}`);
    keepTmp = true;
  }
});

function e2e(name, fn) {
  test(name, { timeout: kTestTimeout }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      failures++;
      throw e;
    }
  });
}

const mine = (count = 1) => rawCall(anvilUrl, "anvil_mine", [ethers.toQuantity(count)]);

// ---------------------------------------------------------------------------------------------
// Tests (in order; they share the daemon and anvil).

e2e("read-only methods outside the old allow-list are forwarded; web3_sha3 and net_listening are answered", async () => {
  const page = new HttpPage(kDapp);
  await (await miner.sendTransaction({ to: contract, data: "0xbeef" })).wait();
  const tx = { from: await miner.getAddress(), to: contract, data: "0x01" };
  const cases = [
    ["eth_getBlockReceipts", ["latest"]],
    ["eth_createAccessList", [tx, "latest"]],
    ["eth_blobBaseFee", []],
    ["eth_getBlockTransactionCountByHash", [(await chain.getBlock("latest")).hash]],
    ["eth_getTransactionByBlockNumberAndIndex", ["latest", "0x0"]],
    ["txpool_status", []],
  ];
  for (const [method, params] of cases) {
    const direct = await post(anvilUrl, method, params);
    const through = await page.answer(method, params);
    assert.deepEqual(through.result, direct.result, method);
    assert.equal(through.error, undefined, `${method}: ${JSON.stringify(through.error)}`);
  }
  // eth_simulateV1 reaches the node (whatever this anvil makes of it).
  const simulate = [{ blockStateCalls: [{ calls: [{ from: tx.from, to: contract, data: "0x02" }] }] }, "latest"];
  const before = proxy.count("eth_simulateV1");
  const simulated = await page.answer("eth_simulateV1", simulate);
  assert.equal(proxy.count("eth_simulateV1"), before + 1);
  const direct = await post(anvilUrl, "eth_simulateV1", simulate);
  assert.equal(simulated.error?.code, direct.error?.code);

  // Answered by keybridged itself.
  const hashes = proxy.count("web3_sha3") + proxy.count("net_listening");
  assert.equal(await page.call("web3_sha3", ["0x68656c6c6f"]), ethers.keccak256("0x68656c6c6f"));
  assert.equal(await page.call("web3_sha3", ["0x"]), ethers.keccak256("0x"));
  await rejectsWithCode(page.call("web3_sha3", ["hello"]), -32602, /params\[0\]/, "web3_sha3 of text");
  assert.equal(await page.call("net_listening"), true);
  assert.equal(proxy.count("web3_sha3") + proxy.count("net_listening"), hashes);
  // ethers as a dApp: the receipts of a block through its provider.
  const provider = httpProvider();
  const receipts = await provider.send("eth_getBlockReceipts", ["latest"]);
  assert.equal(receipts[0].to, contract.toLowerCase());
});

e2e("methods that sign, send or control the node are refused with 4200 and never reach it", async () => {
  const page = new HttpPage(kDapp);
  const account = await miner.getAddress();
  const balance = await chain.getBalance(account);
  const denied = [
    ["anvil_setBalance", [account, "0x1"]],
    ["evm_mine", []],
    ["hardhat_impersonateAccount", [account]],
    ["eth_sendUnsignedTransaction", [{ from: account, to: contract }]],
    ["personal_listAccounts", []],
    ["personal_unlockAccount", [account, "", 0]],
    ["eth_coinbase", []],
    ["admin_nodeInfo", []],
    ["miner_stop", []],
    ["debug_setHead", ["0x1"]],
  ];
  const calls = proxy.log.length;
  for (const [method, params] of denied) {
    await rejectsWithCode(page.call(method, params), 4200, new RegExp(`does not forward ${method}`), method);
  }
  // Not method names, and keybridged's own namespaces: no such method.
  for (const method of ["eth call", "ETH_call", "eth_", "x".repeat(100) + "_call", "wallet_sendCalls", "keybridge_nope"]) {
    await rejectsWithCode(page.call(method, []), -32601, null, method);
  }
  assert.equal(proxy.log.length, calls, "nothing reached the node");
  assert.equal(await chain.getBalance(account), balance);
});

e2e("eth_newBlockFilter over HTTP: mined blocks show in eth_getFilterChanges, for this origin only", async () => {
  const page = new HttpPage(kDapp);
  const other = new HttpPage(kOther);
  const id = await page.call("eth_newBlockFilter");
  assert.match(id, /^0x[0-9a-f]{32}$/);
  const nodeId = await lastNodeFilterId("eth_newBlockFilter");
  await mine(2);
  const latest = await chain.getBlock("latest");
  const seen = await page.call("eth_getFilterChanges", [id]);
  assert.equal(seen.length, 2);
  assert.equal(seen[1], latest.hash);
  assert.deepEqual(await page.call("eth_getFilterChanges", [id]), []);

  // Another origin can neither read nor remove it, not even knowing the node's id.
  for (const filterId of [id, nodeId]) {
    await rejectsWithCode(other.call("eth_getFilterChanges", [filterId]), kFilterNotFound, /filter not found/, "other origin reads");
    await rejectsWithCode(other.call("eth_getFilterLogs", [filterId]), kFilterNotFound, /filter not found/, "other origin reads logs");
    assert.equal(await other.call("eth_uninstallFilter", [filterId]), false);
  }
  await rejectsWithCode(page.call("eth_getFilterChanges", [nodeId]), kFilterNotFound, /filter not found/, "the node's id");
  await mine(1);
  assert.deepEqual(await page.call("eth_getFilterChanges", [id]), [(await chain.getBlock("latest")).hash]);

  // Uninstalled on the node too.
  assert.equal(await page.call("eth_uninstallFilter", [id]), true);
  await waitUntil("eth_uninstallFilter on the node", () => proxy.uninstalledOnNode().includes(nodeId));
  assert.ok((await post(anvilUrl, "eth_getFilterChanges", [nodeId])).error, "anvil no longer has it");
  assert.equal(await page.call("eth_uninstallFilter", [id]), false);
  await rejectsWithCode(page.call("eth_getFilterChanges", [id]), kFilterNotFound, /filter not found/, "after uninstall");
});

e2e("eth_newFilter over WebSocket: the connection's own; closing it uninstalls it on the node", async () => {
  const a = await wsPage(kDapp);
  const b = await wsPage(kDapp); // the same origin on another connection
  const http = new HttpPage(kDapp);
  const id = await a.call("eth_newFilter", [{ address: contract, topics: [kTopic] }]);
  const nodeId = await lastNodeFilterId("eth_newFilter");
  await (await miner.sendTransaction({ to: contract, data: "0xc0ffee" })).wait();
  await rejectsWithCode(b.call("eth_getFilterChanges", [id]), kFilterNotFound, /filter not found/, "another connection");
  await rejectsWithCode(http.call("eth_getFilterChanges", [id]), kFilterNotFound, /filter not found/, "the origin over HTTP");
  assert.equal(await b.call("eth_uninstallFilter", [id]), false);
  const logs = await a.call("eth_getFilterChanges", [id]);
  assert.equal(logs.length, 1);
  assert.equal(logs[0].data, "0xc0ffee");
  const all = await a.call("eth_getFilterLogs", [id]);
  assert.ok(all.some((log) => log.data === "0xc0ffee"));

  assert.ok(!proxy.uninstalled().includes(nodeId));
  await a.close();
  await waitUntil("eth_uninstallFilter of the closed connection's filter", () => proxy.uninstalledOnNode().includes(nodeId));
  assert.ok((await post(anvilUrl, "eth_getFilterChanges", [nodeId])).error, "anvil no longer has it");
  await b.close();
});

e2e("ethers JsonRpcProvider contract events (eth_newFilter + eth_getFilterChanges) through keybridged", async () => {
  const provider = httpProvider();
  const filter = { address: contract, topics: [kTopic] };
  const newFilters = proxy.count("eth_newFilter");
  const logs = [];
  await provider.on(filter, (log) => logs.push(log));
  await waitUntil("ethers' eth_newFilter", () => proxy.count("eth_newFilter") > newFilters);
  const nodeId = await lastNodeFilterId("eth_newFilter");
  await (await miner.sendTransaction({ to: contract, data: "0xfeed" })).wait();
  await waitMining("the log through ethers", () => logs.length > 0);
  assert.equal(logs.length, 1, "the log once");
  const log = logs[0];
  assert.equal(log.data, "0xfeed");
  assert.equal(log.address, contract);
  await provider.off(filter);
  await waitUntil("ethers' eth_uninstallFilter", () => proxy.uninstalledOnNode().includes(nodeId));
});

e2e("newPendingTransactions is refused with 4200 and the node's reason where the node has no pending filters", async () => {
  proxy.refusePending = true;
  try {
    const page = await wsPage();
    await rejectsWithCode(
      page.call("eth_subscribe", ["newPendingTransactions"]),
      4200,
      /does not offer pending-transaction filters.*does not exist/,
      "eth_subscribe newPendingTransactions",
    );
    // The feed did not stay: nothing keeps polling for it (a poller every kPollMs never lets
    // the calls stop for 5 polls; a call a loaded machine held back lands before the window).
    const polled = ["eth_blockNumber", "eth_getFilterChanges", "eth_newPendingTransactionFilter"];
    const polls = await waitQuiet("the refused feed to stop", polled, kPollMs * 5);
    await sleep(kPollMs * 5);
    assert.equal(polled.reduce((n, m) => n + proxy.count(m), 0), polls);
    await page.close();
  } finally {
    proxy.refusePending = false;
  }
});

e2e("ethers WebSocketProvider on('pending') receives the hash of a transaction waiting in anvil's pool", async () => {
  await rawCall(anvilUrl, "evm_setAutomine", [false]);
  try {
    const provider = await wsProvider();
    const hashes = [];
    const pendingFilters = proxy.count("eth_newPendingTransactionFilter");
    await provider.on("pending", (hash) => hashes.push(hash));
    await waitUntil("the pending filter on the node", () => proxy.count("eth_newPendingTransactionFilter") > pendingFilters);
    const nodeId = await lastNodeFilterId("eth_newPendingTransactionFilter");
    const sent = await miner.sendTransaction({ to: contract, data: "0x5e" });
    await waitUntil("the pending hash", () => hashes.includes(sent.hash));
    await mine(1);
    await provider.off("pending");
    await waitUntil("the pending filter uninstalled once nobody listens", () => proxy.uninstalledOnNode().includes(nodeId));
  } finally {
    await rawCall(anvilUrl, "evm_setAutomine", [true]);
  }
});

e2e("ethers JsonRpcProvider on('pending') (eth_newPendingTransactionFilter) through keybridged", async () => {
  await rawCall(anvilUrl, "evm_setAutomine", [false]);
  try {
    const provider = httpProvider();
    const hashes = [];
    const pendingFilters = proxy.count("eth_newPendingTransactionFilter");
    await provider.on("pending", (hash) => hashes.push(hash));
    await waitUntil("ethers' pending filter", () => proxy.count("eth_newPendingTransactionFilter") > pendingFilters);
    const nodeId = await lastNodeFilterId("eth_newPendingTransactionFilter");
    const sent = await miner.sendTransaction({ to: contract, data: "0x5f" });
    // ethers reads its filters when a new block arrives.
    await mine(1);
    await waitMining("the pending hash", () => hashes.includes(sent.hash));
    assert.equal(hashes.filter((h) => h === sent.hash).length, 1, "the hash once");
    await provider.off("pending");
    await waitUntil("ethers' eth_uninstallFilter", () => proxy.uninstalledOnNode().includes(nodeId));
  } finally {
    await rawCall(anvilUrl, "evm_setAutomine", [true]);
  }
});

e2e("filters are bounded per connection and per origin (max-subscriptions)", async () => {
  const page = await wsPage(kOther);
  const ids = [];
  for (let i = 0; i < kMaxFilters; i++) ids.push(await page.call("eth_newBlockFilter"));
  await rejectsWithCode(page.call("eth_newBlockFilter"), -32005, /too many filters/, "one filter too many");
  // Others are not affected, and a removed filter makes room.
  const http = new HttpPage(kOther);
  const httpId = await http.call("eth_newBlockFilter");
  assert.equal(await page.call("eth_uninstallFilter", [ids[0]]), true);
  await page.call("eth_newBlockFilter");
  assert.equal(await http.call("eth_uninstallFilter", [httpId]), true);
  await page.close();
});

e2e("switching the origin's chain uninstalls its filters on the chain it left", async () => {
  const origin = "https://switch.example";
  const page = new HttpPage(origin);
  const ws = await wsPage(origin);
  const id = await page.call("eth_newBlockFilter");
  const nodeId = await lastNodeFilterId("eth_newBlockFilter");
  const wsId = await ws.call("eth_newBlockFilter");
  const wsNodeId = await lastNodeFilterId("eth_newBlockFilter");
  await page.call("wallet_switchEthereumChain", [{ chainId: ethers.toQuantity(kChainWithoutNode) }]);
  await waitUntil("both filters uninstalled", () => proxy.uninstalledOnNode().includes(nodeId) && proxy.uninstalledOnNode().includes(wsNodeId));
  await rejectsWithCode(page.call("eth_getFilterChanges", [id]), kFilterNotFound, /filter not found/, "after the switch");
  await rejectsWithCode(ws.call("eth_getFilterChanges", [wsId]), kFilterNotFound, /filter not found/, "after the switch (ws)");
  // The chain without a node: no filters, not listening, nothing forwarded.
  assert.equal(await page.call("net_listening"), false);
  await rejectsWithCode(page.call("eth_newBlockFilter"), 4901, /no RPC node/, "filter without a node");
  await rejectsWithCode(page.call("eth_getBlockReceipts", ["latest"]), 4901, /no RPC node/, "forwarded without a node");
  await page.call("wallet_switchEthereumChain", [{ chainId: ethers.toQuantity(kChain) }]);
  await ws.close();
});
