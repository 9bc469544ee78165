// The browser extension (extension/) in Firefox: Debian's firefox-esr driven over WebDriver BiDi
// by puppeteer-core (npm; no browser download), with the demo dApp of extension_e2e.mjs served on
// localhost and keybridged on a free loopback port. An approver on keybridged's control socket
// decides what the user would decide.
//
//   - the extension is installed as a temporary add-on (BiDi webExtension.install); Firefox runs
//     its background script as an event page (MV3 "background.scripts") and its MAIN-world
//     content script
//   - its WebSocket to keybridged carries the Origin moz-extension://UUID (the per-profile id
//     Firefox gave it); keybridged pairs it once (an approval of kind "pairing") under that UUID
//   - the page finds the provider through EIP-6963; ethers' BrowserProvider requests accounts,
//     signs a message and EIP-712 data (verified with ethers); a rejection is 4001; the page's
//     grant is kept under "ORIGIN via moz-extension://UUID"
//
// Why puppeteer and not Playwright: playwright-core 1.65.2 drives Firefox over BiDi only through
// its "moz-firefox" channel, whose newContext sends emulation.setMediaFeaturesOverride, a command
// firefox-esr 153 does not know ("unknown command"): no page can be opened.
//
// The extension reads keybridged's port from its storage.local. The Chromium test sets it from
// the extension's service worker; Firefox's BiDi neither shows extension contexts nor navigates
// to moz-extension:// URLs, so this test starts Firefox with --remote-allow-system-access and
// writes the port into the extension's storage from Firefox's privileged (chrome) scope.
//
// Usage: node extension_firefox.mjs PATH_TO_keybridged PATH_TO_keybridge OUTPUT_DIR
//   (FIREFOX overrides /usr/bin/firefox-esr).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ethers } from "ethers";
import puppeteer from "puppeteer-core";
import { children, secretFile, track } from "./lib/harness.mjs";

const [keybridged, keybridge, outputArg] = process.argv.slice(2);
if (!keybridged || !keybridge) {
  console.error("usage: node extension_firefox.mjs PATH_TO_keybridged PATH_TO_keybridge [OUTPUT_DIR]");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const extensionDir = path.resolve(here, "../../extension");
const outputDir = path.resolve(outputArg ?? path.join(os.tmpdir(), "keybridge-extension-firefox-out"));
fs.mkdirSync(outputDir, { recursive: true });
const firefoxPath = process.env.FIREFOX ?? "/usr/bin/firefox-esr";

const kMnemonic = "test test test test test test test test test test test junk";
const kPassword = "extension firefox password";
const kStep = 20_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes and files, all gone on exit.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-fx-ext-"));
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});
const datadir = path.join(tmp, "data");
const privateFile = (name, text) => secretFile(tmp, name, text);

function run(program, args) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] }));
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${program} ${args.join(" ")}: ${err}`))));
  });
}

async function rpc(method, params = []) {
  const token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
  const res = await fetch(`http://127.0.0.1:${daemonPort}/`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return (await res.json()).result;
}

let daemon;
let daemonPort;
let daemonLog = "";
async function startDaemon(passwordFile) {
  const args = ["--datadir", datadir, "--listen", "127.0.0.1:0", "--password-file", passwordFile];
  daemon = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"] }));
  daemonPort = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keybridged did not report its port: ${daemonLog}`)), 15_000);
    daemon.stderr.on("data", (d) => {
      daemonLog += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(daemonLog);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    daemon.on("exit", (code) => reject(new Error(`keybridged exited with ${code}: ${daemonLog}`)));
  });
}

// ---------------------------------------------------------------------------------------------
// The approver: keybridged's control socket, subscribed to keybridge_approvals. Requests are
// matched in order with what the test expects; anything else is rejected and reported.

class Approver {
  nextId = 1;
  calls = new Map();
  expected = [];
  unexpected = [];
  async connect() {
    this.socket = net.createConnection(path.join(datadir, "keybridged.sock"));
    await once(this.socket, "connect");
    let buffered = "";
    this.socket.on("data", (chunk) => {
      buffered += chunk;
      for (let nl; (nl = buffered.indexOf("\n")) >= 0; ) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line) this.onMessage(JSON.parse(line));
      }
    });
    this.socket.on("error", () => {});
    await this.call("eth_subscribe", ["keybridge_approvals"]);
  }
  call(method, params = []) {
    const id = this.nextId++;
    this.socket.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    return new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }));
  }
  onMessage(m) {
    if (m.id !== undefined && this.calls.has(m.id)) {
      const c = this.calls.get(m.id);
      this.calls.delete(m.id);
      return m.error ? c.reject(Object.assign(new Error(m.error.message), m.error)) : c.resolve(m.result);
    }
    if (m.method === "eth_subscription" && m.params?.result?.type === "added") this.onRequest(m.params.result.request);
  }
  // Resolves with the request once it came and was decided ("approve" or "reject").
  expect(method, decision, choice = {}) {
    return new Promise((resolve) => this.expected.push({ method, decision, choice, resolve }));
  }
  async onRequest(request) {
    const next = this.expected[0];
    const decide = (decision, choice = {}) =>
      this.call("keybridge_decide", [request.id, decision, { digest: request.digest, ...choice }]);
    if (!next || next.method !== request.method) {
      this.unexpected.push(`${request.method} from ${request.origin}`);
      await decide("reject");
      return;
    }
    this.expected.shift();
    await decide(next.decision, next.choice);
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
// The demo dApp (extension_e2e.mjs's), on localhost.

let dappServer;
let dappOrigin;
async function serveDapp() {
  const files = {
    "/": ["extension_dapp/index.html", "text/html"],
    "/app.js": ["extension_dapp/app.js", "text/javascript"],
    "/ethers.js": ["node_modules/ethers/dist/ethers.min.js", "text/javascript"],
  };
  dappServer = http.createServer((req, res) => {
    const file = files[new URL(req.url, "http://localhost").pathname];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": file[1] });
    res.end(fs.readFileSync(path.join(here, file[0])));
  });
  await new Promise((resolve) => dappServer.listen(0, "127.0.0.1", resolve));
  dappOrigin = `http://localhost:${dappServer.address().port}`;
}

// ---------------------------------------------------------------------------------------------
// Firefox

let browser;
let page;
let approver;
let accounts;
let geckoId;
let uuid;

// Runs `expression` (a privileged script) in Firefox's chrome scope over BiDi; its string result.
async function chromeEval(expression) {
  const tree = await browser.connection.send("browsingContext.getTree", { "moz:scope": "chrome" });
  const context = tree.result.contexts[0].context;
  const answer = await browser.connection.send("script.evaluate", {
    expression,
    target: { context },
    awaitPromise: true,
  });
  if (answer.result.type !== "success") throw new Error(`chrome scope: ${JSON.stringify(answer.result)}`);
  return answer.result.result.value;
}

before(async () => {
  const mnemonicFile = privateFile("mnemonic", `${kMnemonic}\n`);
  const passwordFile = privateFile("password", `${kPassword}\n`);
  const restored = await run(keybridge, ["--datadir", datadir, "restore", "--mnemonic-file", mnemonicFile,
    "--password-file", passwordFile, "--light-kdf", "--json"]);
  accounts = JSON.parse(restored).accounts.map((a) => ethers.getAddress(a.address));
  await startDaemon(passwordFile);
  approver = new Approver();
  await approver.connect();
  await serveDapp();

  fs.mkdirSync(path.join(tmp, "home"));
  browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: firefoxPath,
    headless: true,
    args: ["--remote-allow-system-access"],
    env: { ...process.env, HOME: path.join(tmp, "home") },
    protocolTimeout: 30_000,
  });
  geckoId = await browser.installExtension(extensionDir);
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, "manifest.json"), "utf8"));
  assert.equal(geckoId, manifest.browser_specific_settings.gecko.id);
  // The extension's UUID, and keybridged's port in its storage.local (what its popup reads and a
  // user would change there).
  uuid = await chromeEval(`(async () => {
    const { ExtensionStorageIDB } = ChromeUtils.importESModule("resource://gre/modules/ExtensionStorageIDB.sys.mjs");
    const policy = WebExtensionPolicy.getByID(${JSON.stringify(geckoId)});
    await ExtensionStorageIDB.selectBackend({ extension: policy.extension });
    const db = await ExtensionStorageIDB.open(ExtensionStorageIDB.getStoragePrincipal(policy.extension));
    await db.set({ daemonPort: ${daemonPort} });
    return policy.mozExtensionHostname;
  })()`);
  assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

  const pairing = approver.expect("keybridge_pair", "approve");
  page = await browser.newPage();
  await page.setViewport({ width: 900, height: 600 });
  await page.goto(`${dappOrigin}/`);
  const request = await pairing;
  assert.equal(request.origin, `moz-extension://${uuid}`);
  assert.equal(request.details.kind, "pairing");
  assert.equal(request.details.extensionId, uuid);
  await page.waitForFunction(() => window.dapp && window.dapp.wallets.length > 0, { timeout: kStep });
});

let failed = false;
after(async () => {
  if (failed) {
    await page?.screenshot({ path: path.join(outputDir, "failure.png") }).catch(() => {});
    console.error(`keybridged's log:\n${daemonLog}`);
  }
  approver?.close();
  await browser?.close().catch(() => {});
  dappServer?.closeAllConnections();
  dappServer?.close();
  if (daemon?.exitCode === null) {
    daemon.kill("SIGTERM");
    await once(daemon, "exit");
  }
  for (const child of children) child.kill("SIGKILL");
});

function step(name, fn) {
  test(name, { timeout: 60_000 }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      throw e;
    }
  });
}

step("Firefox pairs the extension under its moz-extension UUID", async () => {
  const pairings = await rpc("keybridge_pairings");
  assert.deepEqual(pairings.map((p) => p.extensionId), [uuid]);
  assert.equal(pairings[0].connected, true);
  assert.ok(!fs.readFileSync(path.join(datadir, "pairings.json"), "utf8").includes(geckoId));
});

step("the page finds keybridge through EIP-6963, gets an account and a signature that verifies", async () => {
  const announced = await page.evaluate(() =>
    window.dapp.wallets.map((w) => ({ ...w.info, isWindowEthereum: w.provider === window.ethereum })),
  );
  assert.equal(announced.length, 1);
  assert.equal(announced[0].name, "keybridge");
  assert.equal(announced[0].rdns, "org.keybridge");
  assert.match(announced[0].icon, /^data:image\/svg\+xml;base64,/);
  assert.equal(announced[0].isWindowEthereum, true);

  const connect = approver.expect("eth_requestAccounts", "approve", { accounts: [accounts[0]] });
  const address = await page.evaluate(async () => (await window.dapp.browserProvider().getSigner()).address);
  assert.equal((await connect).origin, dappOrigin, "the approver sees the page's origin, as Firefox reported it");
  assert.equal(address, accounts[0]);

  const signing = approver.expect("personal_sign", "approve");
  const signature = await page.evaluate(async () =>
    (await window.dapp.browserProvider().getSigner()).signMessage("hello from Firefox"),
  );
  assert.equal((await signing).origin, dappOrigin);
  assert.equal(ethers.verifyMessage("hello from Firefox", signature), accounts[0]);
  await page.screenshot({ path: path.join(outputDir, "extension-firefox-dapp.png") });
  approver.settled();
});

step("EIP-712 typed data signed through the extension verifies", async () => {
  const domain = { name: "keybridge test", version: "1", chainId: 1, verifyingContract: "0x000000000000000000000000000000000000dEaD" };
  const types = { Note: [{ name: "text", type: "string" }, { name: "amount", type: "uint256" }] };
  const message = { text: "typed in Firefox", amount: 42n };
  const typed = approver.expect("eth_signTypedData_v4", "approve");
  const signature = await page.evaluate(
    async (d, t, m) => (await window.dapp.browserProvider().getSigner()).signTypedData(d, t, { ...m, amount: BigInt(m.amount) }),
    domain,
    types,
    { ...message, amount: String(message.amount) },
  );
  await typed;
  assert.equal(ethers.verifyTypedData(domain, types, message, signature), accounts[0]);
  approver.settled();
});

step("a rejection reaches the page as 4001; the grant is the page's via moz-extension://UUID", async () => {
  const rejected = approver.expect("personal_sign", "reject");
  const outcome = await page.evaluate(async (account) => {
    try {
      await window.dapp.keybridge().request({ method: "personal_sign", params: ["0x6e6f", account] });
      return null;
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, accounts[0]);
  await rejected;
  assert.equal(outcome?.code, 4001, JSON.stringify(outcome));
  const grants = await rpc("keybridge_permissions");
  assert.ok(Object.keys(grants).includes(`${dappOrigin} via moz-extension://${uuid}`), JSON.stringify(grants));
  approver.settled();
});
