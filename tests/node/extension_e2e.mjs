// The browser extension (extension/) loaded into Debian's chromium by Playwright, with a demo
// dApp (tests/node/extension_dapp) served on localhost by this test, keybridged on a fixed
// loopback port, and a local chain (anvil, npm @foundry-rs/anvil-linux-amd64). An approver on
// keybridged's control socket decides what the user would decide.
//
//   - the extension's id is the one its manifest key gives; keybridged pairs it once (an
//     approval of kind "pairing") and the approval of each page names the page's origin
//   - the page finds the provider through EIP-6963 (and window.ethereum); ethers' BrowserProvider
//     requests accounts, signs a message and EIP-712 data, and sends a transaction anvil mines
//   - switching chain fires chainChanged; the legacy enable/send/sendAsync shims work
//   - the background worker stopped (CDP) while a signature waits for the user: the answer
//     still reaches the page
//   - keybridged stopped: the page gets `disconnect` and requests fail with 4900, the popup says
//     how to start it; keybridged started again: `connect`, and the grant is still there
//   - the popup shows the connection, the site's grant and chain (screenshot saved in the test
//     output folder), and its button opens the approval page logged in
//
// Usage: node extension_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge OUTPUT_DIR
//   (CHROMIUM overrides /usr/bin/chromium, ANVIL the anvil binary).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ethers, JsonRpcProvider } from "ethers";
import { chromium } from "playwright-core";
import { children, ControlSocketClient, freePort, secretFile, startAnvil, track } from "./lib/harness.mjs";

const [keybridged, keybridge, outputArg] = process.argv.slice(2);
if (!keybridged || !keybridge) {
  console.error("usage: node extension_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge [OUTPUT_DIR]");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const extensionDir = path.resolve(here, "../../extension");
const outputDir = path.resolve(outputArg ?? path.join(os.tmpdir(), "keybridge-extension-e2e-out"));
fs.mkdirSync(outputDir, { recursive: true });

const kMnemonic = "test test test test test test test test test test test junk";
const kPassword = "extension e2e password";
const kChainMain = 31337;
const kChainSecond = 1337;
const kStep = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Child processes, all ended on exit.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-ext-"));
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});
const datadir = path.join(tmp, "data");
const privateFile = (name, text) => secretFile(tmp, name, text);

function run(program, args) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], detached: true }));
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${program} ${args.join(" ")}: ${err}`))));
  });
}

async function rpc(url, method, params = [], headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return res.json();
}

let daemon = null;
let daemonLog = "";
let daemonPort = 0;
let anvilMain;
let anvilSecond;
let passwordFile;

async function startDaemon() {
  const args = ["--datadir", datadir, "--listen", `127.0.0.1:${daemonPort}`, "--chain-id", String(kChainMain),
    "--chain", `${kChainMain}=${anvilMain}`, "--chain", `${kChainSecond}=${anvilSecond}`,
    "--password-file", passwordFile];
  const child = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"] }));
  child.stderr.on("data", (d) => (daemonLog += d));
  const url = `http://127.0.0.1:${daemonPort}/`;
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`keybridged exited: ${daemonLog}`);
    try {
      const token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
      const status = await rpc(url, "keybridge_status", [], { Authorization: `Bearer ${token}` });
      if (status.result?.unlocked) {
        daemon = child;
        return;
      }
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  throw new Error(`keybridged did not start: ${daemonLog}`);
}

async function stopDaemon() {
  const child = daemon;
  daemon = null;
  child.kill("SIGTERM");
  if (child.exitCode === null) await once(child, "exit");
  assert.equal(child.exitCode, 0, daemonLog);
}

// ---------------------------------------------------------------------------------------------
// The approver: keybridged's control socket, subscribed to keybridge_approvals. Each request is
// matched with what the test expects next; anything else is rejected and reported.

class Approver extends ControlSocketClient {
  constructor() {
    super(path.join(datadir, "keybridged.sock"));
    this.expected = [];
    this.unexpected = [];
  }
  async connect() {
    await super.connect();
    await this.call("eth_subscribe", ["keybridge_approvals"]);
  }
  onNotification(m) {
    if (m.method === "eth_subscription" && m.params?.result?.type === "added") this.onRequest(m.params.result.request);
  }
  // The next request must be `method`; "approve", "reject" or "hold" (decide() later).
  expect(method, decision, choice = {}) {
    return new Promise((resolve) => this.expected.push({ method, decision, choice, resolve }));
  }
  decide(request, decision, choice = {}) {
    return this.call("keybridge_decide", [request.id, decision, { digest: request.digest, ...choice }]);
  }
  async onRequest(request) {
    const next = this.expected[0];
    if (!next || next.method !== request.method) {
      this.unexpected.push(`${request.method} from ${request.origin}`);
      await this.decide(request, "reject");
      return;
    }
    this.expected.shift();
    if (next.decision !== "hold") await this.decide(request, next.decision, next.choice);
    next.resolve(request);
  }
  settled() {
    assert.deepEqual(this.unexpected, [], "unexpected approval requests");
    assert.deepEqual(this.expected.map((e) => e.method), [], "approval requests that never came");
  }
  close() {
    this.socket?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The demo dApp, served on localhost (a secure context, like https).

let dappServer;
let dappOrigin;
function serveDapp() {
  const files = {
    "/": ["extension_dapp/index.html", "text/html"],
    "/app.js": ["extension_dapp/app.js", "text/javascript"],
    "/ethers.js": ["node_modules/ethers/dist/ethers.min.js", "text/javascript"],
  };
  dappServer = http.createServer((req, res) => {
    const file = files[new URL(req.url, "http://localhost").pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file[1] });
    res.end(fs.readFileSync(path.join(here, file[0])));
  });
  return new Promise((resolve) =>
    dappServer.listen(0, "127.0.0.1", () => {
      dappOrigin = `http://localhost:${dappServer.address().port}`;
      resolve();
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The browser.

let context;
let worker;
let extensionId;
let page;
let approver;
let accounts;

// Chromium's id for an unpacked extension with a manifest key: the SHA-256 of the key, first 32
// hex digits written with the letters a-p.
function idFromKey(key) {
  const hex = crypto.createHash("sha256").update(Buffer.from(key, "base64")).digest("hex").slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join("");
}

async function currentWorker() {
  for (let i = 0; i < 200; i++) {
    const found = context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${extensionId}/`));
    if (found) return found;
    await sleep(50);
  }
  throw new Error("the extension's service worker did not start");
}

async function waitFor(what, predicate, ms = kStep) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function workerStatus() {
  try {
    return await (await currentWorker()).evaluate(() => status);
  } catch {
    return "gone";
  }
}

// The events the demo dApp recorded from keybridge's provider, from index `from` on.
async function events(from = 0) {
  return (await page.evaluate(() => window.dapp.events.map((e) => ({ name: e.name, data: e.data })))).slice(from);
}

before(async () => {
  const mnemonicFile = privateFile("mnemonic", `${kMnemonic}\n`);
  passwordFile = privateFile("password", `${kPassword}\n`);
  const restored = await run(keybridge, ["--datadir", datadir, "restore", "--mnemonic-file", mnemonicFile,
    "--password-file", passwordFile, "--light-kdf", "--json"]);
  accounts = JSON.parse(restored).accounts.map((a) => ethers.getAddress(a.address));
  [anvilMain, anvilSecond] = (await Promise.all([startAnvil(kChainMain), startAnvil(kChainSecond)])).map((a) => a.url);
  daemonPort = await freePort();
  await startDaemon();
  approver = new Approver();
  await approver.connect();
  await serveDapp();

  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, "manifest.json"), "utf8"));
  extensionId = idFromKey(manifest.key);
  const pairing = approver.expect("keybridge_pair", "approve");
  const args = ["--headless=new", `--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`,
    "--no-first-run", "--no-default-browser-check"];
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    ignoreDefaultArgs: ["--disable-extensions"],
    args,
    viewport: { width: 900, height: 700 },
  });
  worker = await currentWorker();
  // Installed, the extension asks nothing of anybody until a page needs it.
  await sleep(500);
  assert.equal(await workerStatus(), "idle");
  // keybridged listens on a port of the test's choosing; the extension keeps it in its storage.
  await worker.evaluate((port) => chrome.storage.local.set({ daemonPort: port }), daemonPort);
  page = await context.newPage();
  await page.goto(`${dappOrigin}/`);
  const request = await pairing;
  assert.equal(request.origin, `chrome-extension://${extensionId}`);
  assert.equal(request.details.kind, "pairing");
  assert.equal(request.details.extensionId, extensionId);
  await waitFor("the worker to pair", async () => (await workerStatus()) === "ready");
  await page.waitForFunction(() => window.dapp && window.dapp.wallets.length > 0);
});

after(async () => {
  approver?.close();
  await context?.close().catch(() => {});
  dappServer?.closeAllConnections();
  dappServer?.close();
  if (daemon) await stopDaemon().catch(() => {});
  // The chain nodes (and anything else still running) would keep node's event loop alive.
  for (const child of children) child.kill("SIGKILL");
});

test("the extension's id comes from its manifest key and keybridged keeps the pairing", async () => {
  assert.equal(new URL(worker.url()).host, extensionId);
  const token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
  const list = await rpc(`http://127.0.0.1:${daemonPort}/`, "keybridge_pairings", [], { Authorization: `Bearer ${token}` });
  assert.deepEqual(list.result.map((p) => p.extensionId), [extensionId]);
  assert.equal(list.result[0].connected, true);
  // The secret is in the extension's storage, never in keybridged's file.
  const secret = await worker.evaluate(async () => (await chrome.storage.local.get("secret")).secret);
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.ok(!fs.readFileSync(path.join(datadir, "pairings.json"), "utf8").includes(secret));
});

test("the page finds keybridge through EIP-6963; accounts and a signed message", { timeout: kStep }, async () => {
  const announced = await page.evaluate(() =>
    window.dapp.wallets.map((w) => ({ ...w.info, isWindowEthereum: w.provider === window.ethereum })),
  );
  assert.equal(announced.length, 1);
  assert.equal(announced[0].name, "keybridge");
  assert.equal(announced[0].rdns, "org.keybridge");
  assert.match(announced[0].uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(announced[0].icon, /^data:image\/svg\+xml;base64,/);
  assert.equal(announced[0].isWindowEthereum, true);

  const connect = approver.expect("eth_requestAccounts", "approve", { accounts: [accounts[0]] });
  const got = await page.evaluate(async () => {
    const signer = await window.dapp.browserProvider().getSigner();
    return signer.address;
  });
  const request = await connect;
  // The approver sees the page's own origin, as the browser reported it.
  assert.equal(request.origin, dappOrigin);
  assert.equal(got, accounts[0]);

  const signing = approver.expect("personal_sign", "approve");
  const signature = await page.evaluate(async () => {
    const signer = await window.dapp.browserProvider().getSigner();
    return signer.signMessage("hello from the demo dApp");
  });
  assert.equal((await signing).origin, dappOrigin);
  assert.equal(ethers.verifyMessage("hello from the demo dApp", signature), accounts[0]);
  approver.settled();
});

test("EIP-712 typed data, a transaction mined on anvil, and the legacy shims", { timeout: kStep }, async () => {
  const domain = { name: "Demo", version: "1", chainId: kChainMain, verifyingContract: "0x" + "11".repeat(20) };
  const types = { Mail: [{ name: "to", type: "address" }, { name: "contents", type: "string" }] };
  const message = { to: accounts[0], contents: "typed hello" };
  const typed = approver.expect("eth_signTypedData_v4", "approve");
  const typedSignature = await page.evaluate(
    async ([d, t, m]) => (await window.dapp.browserProvider().getSigner()).signTypedData(d, t, m),
    [domain, types, message],
  );
  await typed;
  assert.equal(ethers.verifyTypedData(domain, types, message, typedSignature), accounts[0]);

  const sending = approver.expect("eth_sendTransaction", "approve");
  const hash = await page.evaluate(async (to) => {
    const signer = await window.dapp.browserProvider().getSigner();
    const tx = await signer.sendTransaction({ to, value: 12345n });
    return tx.hash;
  }, accounts[1] ?? "0x" + "22".repeat(20));
  await sending;
  const chain = new JsonRpcProvider(anvilMain, kChainMain, { staticNetwork: true });
  const receipt = await chain.waitForTransaction(hash, 1, 10_000);
  assert.equal(receipt.status, 1);
  assert.equal(receipt.from, accounts[0]);
  chain.destroy();

  // enable / send / sendAsync, as older dApps call them.
  const legacy = await page.evaluate(async () => {
    const p = window.dapp.keybridge();
    const enabled = await p.enable();
    const sent = await p.send("eth_chainId");
    const sync = p.send({ id: 5, jsonrpc: "2.0", method: "eth_accounts" });
    const viaAsync = await new Promise((resolve, reject) =>
      p.sendAsync({ id: 9, jsonrpc: "2.0", method: "eth_chainId", params: [] }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    return { enabled, sent, sync, viaAsync, selected: p.selectedAddress, connected: p.isConnected() };
  });
  assert.deepEqual(legacy.enabled, [accounts[0].toLowerCase()]);
  assert.equal(legacy.sent, "0x7a69");
  assert.deepEqual(legacy.sync, { id: 5, jsonrpc: "2.0", result: [accounts[0].toLowerCase()] });
  assert.deepEqual(legacy.viaAsync, { id: 9, jsonrpc: "2.0", result: "0x7a69" });
  assert.equal(legacy.selected, accounts[0].toLowerCase());
  assert.equal(legacy.connected, true);
  approver.settled();
});

test("switching chain fires chainChanged in the page", { timeout: kStep }, async () => {
  const from = (await events()).length;
  await page.evaluate(() =>
    window.dapp.keybridge().request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x539" }] }),
  );
  await waitFor("chainChanged 0x539", async () =>
    (await events(from)).some((e) => e.name === "chainChanged" && e.data === "0x539"),
  );
  assert.equal(await page.evaluate(() => window.dapp.keybridge().request({ method: "eth_chainId" })), "0x539");
  await page.evaluate(() =>
    window.dapp.keybridge().request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x7a69" }] }),
  );
  await waitFor("chainChanged 0x7a69", async () =>
    (await events(from)).some((e) => e.name === "chainChanged" && e.data === "0x7a69"),
  );
});

test("the worker stopped while a signature waits: the answer still reaches the page", { timeout: 60_000 }, async () => {
  const held = approver.expect("personal_sign", "hold");
  const signing = page.evaluate(async () => {
    const signer = await window.dapp.browserProvider().getSigner();
    return signer.signMessage("across a worker restart");
  });
  const request = await held;
  // A mark in the running worker's global scope: a restarted worker does not have it.
  await (await currentWorker()).evaluate(() => {
    globalThis.beforeStop = true;
  });
  // Stopped the way the browser stops an idle worker (its WebSocket closes with it).
  const extensionPage = await context.newPage();
  await extensionPage.goto(`chrome-extension://${extensionId}/popup.html`);
  const cdp = await context.newCDPSession(extensionPage);
  await cdp.send("ServiceWorker.enable");
  await cdp.send("ServiceWorker.stopAllWorkers");
  await extensionPage.close();
  // The page's content script wakes a new worker, which pairs with its secret and relays the
  // call again under its key. Only then does the user approve.
  await waitFor("a restarted worker", async () => {
    try {
      return await (await currentWorker()).evaluate(() => globalThis.beforeStop === undefined);
    } catch {
      return false;
    }
  });
  await approver.decide(request, "approve");
  const signature = await signing;
  assert.equal(ethers.verifyMessage("across a worker restart", signature), accounts[0]);
  approver.settled();
});

test("keybridged stopped: disconnect and 4900, the popup says how to start it; started: connect", { timeout: 90_000 }, async () => {
  const from = (await events()).length;
  await stopDaemon();
  await waitFor("disconnect", async () => (await events(from)).some((e) => e.name === "disconnect"));
  const disconnect = (await events(from)).find((e) => e.name === "disconnect");
  assert.equal(disconnect.data.code, 4900);
  const failed = await page.evaluate(() =>
    window.dapp.keybridge().request({ method: "eth_accounts" }).then(
      () => null,
      (e) => ({ code: e.code, message: e.message }),
    ),
  );
  assert.equal(failed?.code, 4900);
  assert.match(failed.message, /keybridged/);

  const popup = await context.newPage();
  await popup.setViewportSize({ width: 360, height: 560 });
  await popup.goto(`chrome-extension://${extensionId}/popup.html`);
  await popup.waitForSelector("#status.down");
  assert.equal(await popup.isVisible("#start-help"), true);
  assert.match(await popup.textContent("#start-help"), /keybridged/);
  await popup.screenshot({ path: path.join(outputDir, "popup-daemon-down.png") });
  await popup.close();

  await startDaemon();
  await waitFor("connect", async () => (await events(from)).some((e) => e.name === "connect"), 60_000);
  // The grant made through the extension survived the restart.
  assert.deepEqual(await page.evaluate(() => window.dapp.keybridge().request({ method: "eth_accounts" })), [
    accounts[0].toLowerCase(),
  ]);
});

test("the popup shows the connection, the site's grant and chain, and the approval page button", { timeout: kStep }, async () => {
  // Opened from the toolbar the popup describes the active tab; opened as a page of its own it
  // is told which tab (the dApp's, as the worker knows it from the tab's port).
  const dappTab = await (await currentWorker()).evaluate(() => [...ports.values()][0].tabId);
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 360, height: 480 });
  await popup.goto(`chrome-extension://${extensionId}/popup.html?tab=${dappTab}`);
  await popup.waitForSelector("#status.ready");
  assert.equal(await popup.textContent("#status"), "connected");
  await popup.waitForFunction((origin) => document.getElementById("sites").textContent.includes(origin), dappOrigin);
  await popup.waitForFunction(() => document.getElementById("site-chain").textContent !== "–");
  assert.equal(await popup.textContent("#site-origin"), dappOrigin);
  assert.equal(await popup.textContent("#site-accounts"), accounts[0].toLowerCase());
  assert.equal(await popup.textContent("#site-chain"), "31337 (0x7a69)");
  await popup.screenshot({ path: path.join(outputDir, "popup.png") });

  // The approval page button: opens the page, logged in (extension_page_e2e decides on it).
  const opened = context.waitForEvent("page", { timeout: kStep });
  await popup.click("#open-page");
  const tab = await opened;
  await tab.waitForURL(`http://127.0.0.1:${daemonPort}/ui/`, { timeout: kStep });
  await tab.locator("#link-state", { hasText: "connected" }).waitFor({ timeout: kStep });
  await tab.close();
  await popup.close();
});
