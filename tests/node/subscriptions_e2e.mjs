// eth_subscribe "newHeads" and "logs" on keybridged end to end: ethers v6 WebSocketProvider as a
// dApp (provider.on("block"), provider.on({address, topics})), raw WebSocket clients for the wire
// form and the error cases, and a real anvil (npm @foundry-rs/anvil-linux-amd64) behind a small
// counting HTTP proxy, so the test sees how the daemon polls the node and can take the node away.
//
// Usage: node subscriptions_e2e.mjs PATH_TO_keybridged   (or KEYBRIDGED=…; ANVIL overrides anvil)
// Every process it starts is ended on exit, also when a test or the setup fails.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { ethers, JsonRpcProvider, WebSocketProvider } from "ethers";
import WebSocket from "ws";
import { children, startAnvil, track } from "./lib/harness.mjs";

const keybridged = process.argv[2] ?? process.env.KEYBRIDGED;
if (!keybridged) {
  console.error("usage: node subscriptions_e2e.mjs PATH_TO_keybridged");
  process.exit(2);
}

const kDapp = "https://dapp.example";
const kChain = 31337;
const kChainWithoutNode = 1337; // configured without an RPC URL
const kPollMs = 100;
const kMaxSubscriptions = 6;
const kTestTimeout = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-subs-"));
let keepTmp = false;
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => process.exit(128 + os.constants.signals[signal]));
}

async function rawCall(url, method, params = []) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
  return body.result;
}

// anvil on a port it picks itself (--port 0); it prints "Listening on 127.0.0.1:PORT".

// The daemon's view of the node: forwards to anvil, counts the methods called, and can play dead
// (connections reset) while `down` is set.
function startProxy(target) {
  const proxy = { calls: new Map(), down: false, url: "" };
  proxy.count = (method) => proxy.calls.get(method) ?? 0;
  const server = http.createServer(async (req, res) => {
    if (proxy.down) return req.socket.destroy();
    let body = "";
    for await (const chunk of req) body += chunk;
    for (const call of [JSON.parse(body)].flat()) proxy.calls.set(call.method, proxy.count(call.method) + 1);
    try {
      const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(await answer.text());
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
    "--poll-interval", String(kPollMs), "--max-subscriptions", String(kMaxSubscriptions),
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

// A raw WebSocket JSON-RPC client with a page's Origin: calls, and every notification kept.
class RawClient {
  constructor(url, origin = kDapp) {
    this.ws = new WebSocket(url, { headers: { Origin: origin } });
    this.nextId = 1;
    this.calls = new Map();
    this.notifications = [];
    this.messages = [];
    this.waiters = [];
    this.ws.on("message", (data) => {
      const text = String(data);
      const msg = JSON.parse(text);
      if (msg.id !== undefined && this.calls.has(msg.id)) {
        const { resolve, reject } = this.calls.get(msg.id);
        this.calls.delete(msg.id);
        if (msg.error) reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
        else resolve(msg.result);
        return;
      }
      this.messages.push(text);
      this.notifications.push(msg);
      for (const w of this.waiters.splice(0)) w();
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
  results(id) {
    return this.notifications.filter((n) => n.params?.subscription === id).map((n) => n.params.result);
  }
  // Resolves with the results of subscription `id` once there are at least `count` of them.
  async waitFor(id, count, ms = 10_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = this.results(id);
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`subscription ${id}: ${got.length} of ${count} events after ${ms} ms`);
      await new Promise((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  close() {
    this.ws.close();
  }
}

const providers = [];
const clients = [];
async function raw() {
  const client = await new RawClient(wsUrl).open();
  clients.push(client);
  return client;
}

// ethers' WebSocketProvider over a `ws` socket that sends the page's Origin header.
async function wsProvider(origin = kDapp) {
  const socket = new WebSocket(wsUrl, { headers: { Origin: origin } });
  const provider = new WebSocketProvider(socket, undefined, { cacheTimeout: -1 });
  providers.push(provider);
  // The answers to the eth_unsubscribe calls ethers makes when listeners go (it sends them
  // after off() returns): awaited before the provider is destroyed.
  provider.unsubscribed = [];
  const send = provider.send.bind(provider);
  provider.send = (method, params) => {
    const answer = send(method, params);
    if (method === "eth_unsubscribe") provider.unsubscribed.push(answer);
    return answer;
  };
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

// ---------------------------------------------------------------------------------------------
// The contract: assembled by hand. Its runtime emits, for any call, LOG1 with the topic kTopic
// and the call data as the log's data:
//   36 6000 6000 37      CALLDATACOPY(dest 0, offset 0, size CALLDATASIZE)
//   7f <kTopic>          PUSH32 topic
//   36 6000 a1 00        LOG1(offset 0, size CALLDATASIZE, topic); STOP
// The init code copies those 44 (0x2c) bytes, found after its own 12 (0x0c), and returns them:
//   602c 600c 6000 39    CODECOPY(dest 0, offset 0x0c, size 0x2c)
//   602c 6000 f3         RETURN(0, 0x2c)
const kTopic = ethers.id("KeybridgePing(bytes)");
const kRuntime = `0x366000600037` + `7f${kTopic.slice(2)}` + `366000a100`;
const kInitCode = `0x602c600c60003960` + `2c6000f3` + kRuntime.slice(2);

// ---------------------------------------------------------------------------------------------

let anvilUrl;
let proxy;
let daemon;
let wsUrl;
let chain; // JsonRpcProvider straight to anvil
let miner; // anvil's unlocked account 0
let failures = 0;

before(async () => {
  anvilUrl = (await startAnvil(kChain)).url;
  proxy = await startProxy(anvilUrl);
  daemon = await startDaemon(proxy.url);
  wsUrl = `ws://127.0.0.1:${daemon.port}/`;
  chain = new JsonRpcProvider(anvilUrl, kChain, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
  providers.push(chain);
  miner = await chain.getSigner(0);
  assert.equal(ethers.dataLength(kRuntime), 0x2c);
  assert.equal(ethers.dataLength(kInitCode), 0x0c + 0x2c);
});

after(async () => {
  for (const p of providers) {
    try {
      p.destroy();
    } catch {
      // already destroyed
    }
  }
  for (const c of clients) c.close();
  if (daemon) {
    daemon.child.kill("SIGTERM");
    const timer = setTimeout(() => daemon.child.kill("SIGKILL"), 5000);
    if (daemon.child.exitCode === null) await once(daemon.child, "exit");
    clearTimeout(timer);
  }
  for (const child of children) child.kill("SIGKILL"); // anvil: its pipes would keep node alive
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

// How often the daemon said it stopped polling because nobody listens (debug log).
const pollingStops = () => (daemonLog.match(/no subscribers left, polling stopped/g) ?? []).length;

const mine = (count = 1) => rawCall(anvilUrl, "anvil_mine", [ethers.toQuantity(count)]);

// ---------------------------------------------------------------------------------------------
// Tests (in order; they share the daemon and anvil).

e2e("nothing polls the node while nobody is subscribed", async () => {
  const before = proxy.count("eth_blockNumber") + proxy.count("eth_getBlockByNumber");
  await sleep(kPollMs * 5);
  assert.equal(proxy.count("eth_blockNumber") + proxy.count("eth_getBlockByNumber"), before);
});

e2e("provider.on('block') gets every block mined on anvil, in order, also several per poll", async () => {
  const provider = await wsProvider();
  const blocks = [];
  await provider.on("block", (n) => blocks.push(n));
  // The subscription is in place once a block arrives (ethers does not say when it is).
  await waitUntil("a first block event", async () => {
    if (blocks.length > 0) return true;
    await mine();
    await sleep(kPollMs);
    return blocks.length > 0;
  });
  await waitUntil("the block events to settle", async () => blocks.at(-1) === (await chain.getBlockNumber()));
  const start = blocks.at(-1);
  for (let i = 0; i < 3; i++) {
    await mine();
    await sleep(kPollMs * 2); // one per poll
  }
  await mine(5); // five at once: all five arrive, in order
  await waitUntil("eight more blocks", () => blocks.length > 0 && blocks.at(-1) >= start + 8);
  const after = blocks.slice(blocks.indexOf(start) + 1);
  assert.deepEqual(after, Array.from({ length: 8 }, (_, i) => start + 1 + i));
  // ethers sends eth_unsubscribe: the daemon stops polling once it arrives (nobody else listens).
  const stops = pollingStops();
  await provider.off("block");
  await waitUntil("ethers' eth_unsubscribe", () => provider.unsubscribed.length === 1);
  assert.deepEqual(await Promise.all(provider.unsubscribed), [true]);
  await waitUntil("the daemon to stop polling", () => pollingStops() > stops);
  provider.destroy();
});

e2e("newHeads on the wire: geth's notification form, the node's header fields", async () => {
  const client = await raw();
  const id = await client.call("eth_subscribe", ["newHeads"]);
  assert.match(id, /^0x[0-9a-f]{16}$/);
  await mine();
  const [header] = await client.waitFor(id, 1);
  const fromNode = await rawCall(anvilUrl, "eth_getBlockByNumber", [header.number, false]);
  assert.deepEqual(header, fromNode);
  const message = JSON.parse(client.messages[0]);
  assert.deepEqual(Object.keys(message).sort(), ["jsonrpc", "method", "params"]);
  assert.equal(message.jsonrpc, "2.0");
  assert.equal(message.method, "eth_subscription");
  assert.deepEqual(Object.keys(message.params).sort(), ["result", "subscription"]);
  assert.equal(message.params.subscription, id);
  assert.equal(await client.call("eth_unsubscribe", [id]), true);
});

e2e("contract events: provider.on({address, topics}) gets the log with address, topic, block", async () => {
  const deployA = await (await miner.sendTransaction({ data: kInitCode })).wait();
  const deployB = await (await miner.sendTransaction({ data: kInitCode })).wait();
  const a = deployA.contractAddress;
  const b = deployB.contractAddress;
  assert.equal(await chain.getCode(a), kRuntime);

  const provider = await wsProvider();
  const logs = [];
  await provider.on({ address: a, topics: [kTopic] }, (log) => logs.push(log));
  const otherTopic = [];
  await provider.on({ address: a, topics: [ethers.id("Other()")] }, (log) => otherTopic.push(log));
  const call = async (to, data) => (await miner.sendTransaction({ to, data })).wait();
  let warmUp = null;
  await waitUntil("a first log event", async () => {
    if (logs.length > 0) return true;
    warmUp = await call(a, "0x00");
    await sleep(kPollMs * 2);
    return logs.length > 0;
  });
  // The last warm-up call's log is the last one before the real test.
  await waitUntil("the warm-up logs", () => logs.at(-1).blockNumber === warmUp.blockNumber);
  const seen = logs.length;
  const toB = await call(b, "0xbbbb"); // another address: not for this filter
  const toA = await call(a, "0x1234abcd");
  await waitUntil("the log of the second call", () => logs.length > seen);
  // Logs follow block order, so B's log (an earlier block) would have come first.
  assert.equal(logs.length, seen + 1);
  const log = logs.at(-1);
  assert.equal(log.address, a);
  assert.deepEqual(log.topics, [kTopic]);
  assert.equal(log.data, "0x1234abcd");
  assert.equal(log.blockNumber, toA.blockNumber);
  assert.equal(log.blockHash, toA.blockHash);
  assert.equal(log.transactionHash, toA.hash);
  assert.ok(toB.blockNumber < toA.blockNumber);
  assert.deepEqual(otherTopic, []);
  const stops = pollingStops();
  await provider.removeAllListeners();
  await waitUntil("ethers' eth_unsubscribe calls", () => provider.unsubscribed.length === 2);
  assert.deepEqual(await Promise.all(provider.unsubscribed), [true, true]);
  await waitUntil("the daemon to stop polling", () => pollingStops() > stops);
  provider.destroy();
});

e2e("logs on the wire: the node's log objects; address lists and topic alternatives", async () => {
  const deploy = await (await miner.sendTransaction({ data: kInitCode })).wait();
  const c = deploy.contractAddress;
  const client = await raw();
  const exact = await client.call("eth_subscribe", ["logs", { address: c.toUpperCase().replace("0X", "0x"), topics: [kTopic] }]);
  const anyOf = await client.call("eth_subscribe", [
    "logs",
    { address: [ethers.ZeroAddress, c], topics: [[ethers.id("Nope()"), kTopic]] },
  ]);
  const twoTopics = await client.call("eth_subscribe", ["logs", { address: c, topics: [kTopic, null] }]);
  const receipt = await (await miner.sendTransaction({ to: c, data: "0xfeed" })).wait();
  const [one] = await client.waitFor(exact, 1);
  const [two] = await client.waitFor(anyOf, 1);
  const fromNode = await rawCall(anvilUrl, "eth_getLogs", [{ blockHash: receipt.blockHash }]);
  assert.equal(fromNode.length, 1);
  assert.deepEqual(one, fromNode[0]);
  assert.deepEqual(two, fromNode[0]);
  // A filter with two topic positions needs logs with two topics (as geth): LOG1 never matches.
  const heads = await client.call("eth_subscribe", ["newHeads"]);
  await mine();
  await client.waitFor(heads, 1);
  assert.deepEqual(client.results(twoTopics), []);
  for (const id of [exact, anyOf, twoTopics, heads]) assert.equal(await client.call("eth_unsubscribe", [id]), true);
});

e2e("eth_unsubscribe stops delivery at once; the other subscription carries on", async () => {
  const client = await raw();
  const stopped = await client.call("eth_subscribe", ["newHeads"]);
  const kept = await client.call("eth_subscribe", ["newHeads"]);
  await mine();
  await client.waitFor(stopped, 1);
  await client.waitFor(kept, 1);
  assert.equal(await client.call("eth_unsubscribe", [stopped]), true);
  assert.equal(await client.call("eth_unsubscribe", [stopped]), false); // already gone
  await mine(2);
  await client.waitFor(kept, 3);
  assert.equal(client.results(stopped).length, 1);
  // Another connection cannot cancel it.
  const stranger = await raw();
  assert.equal(await stranger.call("eth_unsubscribe", [kept]), false);
  await mine();
  await client.waitFor(kept, 4);
  assert.equal(await client.call("eth_unsubscribe", [kept]), true);
});

e2e("the poller stops when the last subscriber leaves (unsubscribe or closed socket)", async () => {
  const polls = () => proxy.count("eth_blockNumber");
  const client = await raw();
  const id = await client.call("eth_subscribe", ["newHeads"]);
  const first = polls();
  await waitUntil("polling", () => polls() >= first + 3);
  assert.equal(await client.call("eth_unsubscribe", [id]), true);
  await sleep(kPollMs * 2); // a poll under way may finish
  const afterUnsubscribe = polls();
  await sleep(kPollMs * 5);
  assert.equal(polls(), afterUnsubscribe, "polling after the last eth_unsubscribe");

  const again = await raw();
  await again.call("eth_subscribe", ["logs", {}]);
  const resumed = polls();
  await waitUntil("polling again", () => polls() >= resumed + 3);
  again.ws.terminate(); // no close handshake: the daemon notices the dead connection
  await sleep(kPollMs * 3);
  const afterClose = polls();
  await sleep(kPollMs * 5);
  assert.equal(polls(), afterClose, "polling after the subscriber's connection closed");
});

e2e("the node goes away: retries with backoff, the subscriber stays and gets every block after", async () => {
  const client = await raw();
  const id = await client.call("eth_subscribe", ["newHeads"]);
  await mine();
  const [firstHeader] = await client.waitFor(id, 1);
  proxy.down = true;
  const failedBefore = (daemonLog.match(/poll failed/g) ?? []).length;
  await mine(3);
  await sleep(kPollMs * 8);
  // The daemon keeps answering while the node is unreachable.
  assert.equal(await client.call("eth_chainId", []), "0x7a69");
  const failed = (daemonLog.match(/poll failed/g) ?? []).length - failedBefore;
  assert.ok(failed >= 2, `expected retries while the node is down, saw ${failed}`);
  assert.ok(failed <= 6, `the retries should back off, saw ${failed} in ${kPollMs * 8} ms`);
  proxy.down = false;
  const headers = await client.waitFor(id, 4, 15_000);
  const start = Number(firstHeader.number);
  assert.deepEqual(headers.map((h) => Number(h.number)), [start, start + 1, start + 2, start + 3]);
  assert.equal(await client.call("eth_unsubscribe", [id]), true);
});

e2e("a reorg: the new canonical blocks are emitted again from the fork point", async () => {
  const client = await raw();
  const id = await client.call("eth_subscribe", ["newHeads"]);
  const snapshot = await rawCall(anvilUrl, "evm_snapshot");
  const base = await chain.getBlockNumber();
  await mine(2);
  const old = await client.waitFor(id, 2);
  assert.deepEqual(old.map((h) => Number(h.number)), [base + 1, base + 2]);
  // Back to `base`, then three other blocks (another timestamp makes other hashes).
  assert.equal(await rawCall(anvilUrl, "evm_revert", [snapshot]), true);
  const latest = await chain.getBlock("latest");
  await rawCall(anvilUrl, "evm_setNextBlockTimestamp", [latest.timestamp + 1000]);
  await mine(3);
  const all = await client.waitFor(id, 5);
  const fresh = all.slice(2);
  assert.deepEqual(fresh.map((h) => Number(h.number)), [base + 1, base + 2, base + 3]);
  for (const header of fresh) {
    const canonical = await rawCall(anvilUrl, "eth_getBlockByNumber", [header.number, false]);
    assert.equal(header.hash, canonical.hash);
  }
  assert.notEqual(fresh[0].hash, old[0].hash);
  assert.equal(fresh[0].parentHash, (await chain.getBlock(base)).hash);
  await client.call("eth_unsubscribe", [id]);
});

e2e("a chain without an RPC node: eth_subscribe fails with 4901 naming the chain", async () => {
  const provider = await wsProvider("https://other-chain.example");
  await provider.send("wallet_switchEthereumChain", [{ chainId: ethers.toQuantity(kChainWithoutNode) }]);
  const noNode = /no RPC node is configured for chain 1337/;
  await rejectsWithCode(provider.send("eth_subscribe", ["newHeads"]), 4901, noNode, "newHeads");
  await rejectsWithCode(provider.send("eth_subscribe", ["logs", {}]), 4901, noNode, "logs");
  provider.destroy();
});

e2e("bad logs filters: -32602 naming the field; other misuse", async () => {
  const client = await raw();
  const cases = [
    [{ address: "0x1234" }, /params\[1\]\.address: must be 20-byte hex/],
    [{ address: [ethers.ZeroAddress, "nope"] }, /params\[1\]\.address\[1\]: must be 20-byte hex/],
    [{ topics: [null, "0x12"] }, /params\[1\]\.topics\[1\]: must be null or 32-byte hex/],
    [{ topics: [[kTopic, 5]] }, /params\[1\]\.topics\[0\]\[1\]: must be null or 32-byte hex/],
    [{ topics: [null, null, null, null, null] }, /params\[1\]\.topics: has 5 positions/],
    [{ fromBlock: "0x1" }, /params\[1\]\.fromBlock: is not a logs subscription field/],
    ["0x00", /params\[1\]: the logs filter must be an object/],
  ];
  for (const [filter, message] of cases) {
    await rejectsWithCode(client.call("eth_subscribe", ["logs", filter]), -32602, message, JSON.stringify(filter));
  }
  await rejectsWithCode(client.call("eth_subscribe", ["newHeads", {}]), -32602, /takes no further/, "newHeads with a filter");
  await rejectsWithCode(client.call("eth_subscribe", ["syncing"]), 4200, /unknown subscription/, "syncing");
  // newPendingTransactions has its own tests (filters_e2e.mjs); geth's full-transaction form is not offered.
  await rejectsWithCode(client.call("eth_subscribe", ["newPendingTransactions", true]), -32602, /takes no further/, "pending, full");
  // Over HTTP there is nowhere to send events.
  const res = await fetch(`http://127.0.0.1:${daemon.port}/`, {
    method: "POST",
    headers: { "content-type": "application/json", Origin: kDapp },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }),
  });
  assert.equal((await res.json()).error.code, 4200);
  assert.deepEqual(client.notifications, []);
});

e2e("subscriptions per connection are limited (max-subscriptions), all kinds counted", async () => {
  const client = await raw();
  const ids = [await client.call("eth_subscribe", ["accountsChanged"])];
  for (let i = 1; i < kMaxSubscriptions; i++) {
    ids.push(await client.call("eth_subscribe", [i % 2 ? "newHeads" : "logs"]));
  }
  await rejectsWithCode(client.call("eth_subscribe", ["newHeads"]), -32005, /max-subscriptions/, "one too many");
  await rejectsWithCode(client.call("eth_subscribe", ["chainChanged"]), -32005, /max-subscriptions/, "one too many");
  // Another connection has its own allowance; freeing one makes room again.
  const other = await raw();
  const elsewhere = await other.call("eth_subscribe", ["newHeads"]);
  assert.equal(await client.call("eth_unsubscribe", [ids.pop()]), true);
  ids.push(await client.call("eth_subscribe", ["newHeads"]));
  for (const id of ids) assert.equal(await client.call("eth_unsubscribe", [id]), true);
  assert.equal(await other.call("eth_unsubscribe", [elsewhere]), true);
});
