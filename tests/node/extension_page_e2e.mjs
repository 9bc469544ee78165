// The browser extension (extension/) with keybridged's approval page, in Debian's chromium driven
// by Playwright, as a user without a terminal would use them. An approver on the control socket
// approves only the extension's pairing and then leaves; every later decision is made on the
// approval page.
//
//   - no approver connected: the dApp's connect request waits, keybridged says so
//     (keybridge_requestStatus "no-approver", relayed for the page's origin), the popup says
//     nobody can decide it and how to open the approval page, and the toolbar badge shows "!"
//   - the popup's button opens the approval page in a new tab, logged in by a one-time code
//     (keybridge_pageLogin), showing the waiting request; the code does not work twice
//   - on that page the test approves the connect request and a personal_sign of ethers'
//     BrowserProvider in the dApp; the signature verifies
//   - the worker stopped (CDP) and the site's grant revoked meanwhile: the worker that comes
//     back reads the page's state again and the page gets accountsChanged []
//   - another wallet owns window.ethereum (read-only) before keybridge: it stays, and keybridge
//     is still announced through EIP-6963 and answers
//
// Usage: node extension_page_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge OUTPUT_DIR
//   (CHROMIUM overrides /usr/bin/chromium).
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ethers } from "ethers";
import { chromium } from "playwright-core";
import { children, freePort, secretFile, track } from "./lib/harness.mjs";

const [keybridged, keybridge, outputArg] = process.argv.slice(2);
if (!keybridged || !keybridge) {
  console.error("usage: node extension_page_e2e.mjs PATH_TO_keybridged PATH_TO_keybridge [OUTPUT_DIR]");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const extensionDir = path.resolve(here, "../../extension");
const outputDir = path.resolve(outputArg ?? path.join(os.tmpdir(), "keybridge-extension-page-e2e-out"));
fs.mkdirSync(outputDir, { recursive: true });

const kMnemonic = "test test test test test test test test test test test junk";
const kPassword = "extension page e2e password";
const kStep = 20_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// keybridged and the keybridge tool

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-extpage-"));
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

let daemon;
let daemonLog = "";
let daemonPort;
let token;

async function rpc(method, params = []) {
  const res = await fetch(`http://127.0.0.1:${daemonPort}/`, {
    method: "POST",
    headers: { "content-type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const answer = await res.json();
  if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
  return answer.result;
}

async function startDaemon(passwordFile) {
  daemonPort = await freePort();
  const child = track(spawn(keybridged, ["--datadir", datadir, "--listen", `127.0.0.1:${daemonPort}`,
    "--password-file", passwordFile], { stdio: ["ignore", "ignore", "pipe"] }));
  child.stderr.on("data", (d) => (daemonLog += d));
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`keybridged exited: ${daemonLog}`);
    try {
      token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
      if ((await rpc("keybridge_status")).unlocked) {
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

// The control socket, for the pairing only: it approves the next approval request it sees
// (which must be the pairing) and is closed, so that nobody is connected to approve afterwards.
async function approvePairingOnControlSocket() {
  const socket = net.createConnection(path.join(datadir, "keybridged.sock"));
  await once(socket, "connect");
  let buffered = "";
  let nextId = 1;
  const calls = new Map();
  let onAdded;
  const added = new Promise((resolve) => (onAdded = resolve));
  socket.on("data", (chunk) => {
    buffered += chunk;
    for (let nl; (nl = buffered.indexOf("\n")) >= 0; ) {
      const m = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (m.id !== undefined && calls.has(m.id)) {
        calls.get(m.id)(m);
        calls.delete(m.id);
      } else if (m.method === "eth_subscription" && m.params?.result?.type === "added") {
        onAdded(m.params.result.request);
      }
    }
  });
  const call = (method, params) =>
    new Promise((resolve) => {
      const id = nextId++;
      calls.set(id, resolve);
      socket.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    });
  await call("eth_subscribe", ["keybridge_approvals"]);
  return {
    async approve() {
      const request = await added;
      const decided = await call("keybridge_decide", [request.id, "approve", { digest: request.digest }]);
      assert.equal(decided.result, true, JSON.stringify(decided));
      socket.destroy();
      return request;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The demo dApp (tests/node/extension_dapp), served on localhost

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
    if (!file) return res.writeHead(404).end();
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
// The browser

let context;
let extensionId;
let dapp; // the dApp's tab
let approvalTab; // the approval page's tab, opened by the popup
let accounts;

// Chromium's id for an unpacked extension with a manifest key (first 32 hex digits of the
// key's SHA-256, written with the letters a-p).
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

async function inWorker(fn, arg) {
  for (let i = 0; ; i++) {
    try {
      return await (await currentWorker()).evaluate(fn, arg);
    } catch (e) {
      if (i >= 20) throw e; // a worker being replaced: ask the new one
      await sleep(100);
    }
  }
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

async function events(from = 0) {
  return (await dapp.evaluate(() => window.dapp.events.map((e) => ({ name: e.name, data: e.data })))).slice(from);
}

// The popup as a page of its own, describing the dApp's tab (the approval page's tab has a
// port too: content scripts run on every http page).
async function openPopup() {
  const tabId = await inWorker((origin) => [...ports.values()].find((p) => p.origin === origin).tabId, dappOrigin);
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 360, height: 600 });
  await popup.goto(`chrome-extension://${extensionId}/popup.html?tab=${tabId}`);
  await popup.waitForSelector("#status.ready");
  return popup;
}

// The card of the newest request of `method` on the approval page.
async function card(method) {
  const locator = approvalTab.locator(`li.request[data-method="${method}"]`).last();
  await locator.waitFor({ timeout: kStep });
  return locator;
}

before(async () => {
  const mnemonicFile = privateFile("mnemonic", `${kMnemonic}\n`);
  const passwordFile = privateFile("password", `${kPassword}\n`);
  const restored = await run(keybridge, ["--datadir", datadir, "restore", "--mnemonic-file", mnemonicFile,
    "--password-file", passwordFile, "--light-kdf", "--json"]);
  accounts = JSON.parse(restored).accounts.map((a) => ethers.getAddress(a.address));
  await startDaemon(passwordFile);
  await serveDapp();

  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, "manifest.json"), "utf8"));
  extensionId = idFromKey(manifest.key);
  const args = ["--headless=new", `--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`,
    "--no-first-run", "--no-default-browser-check"];
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    ignoreDefaultArgs: ["--disable-extensions"],
    args,
    viewport: { width: 1000, height: 900 },
  });
  await inWorker((port) => chrome.storage.local.set({ daemonPort: port }), daemonPort);
  const approver = await approvePairingOnControlSocket();
  dapp = await context.newPage();
  await dapp.goto(`${dappOrigin}/`);
  const pairing = await approver.approve();
  assert.equal(pairing.details.kind, "pairing");
  await waitFor("the worker to pair", async () => (await inWorker(() => status)) === "ready");
  await dapp.waitForFunction(() => window.dapp && window.dapp.wallets.length > 0);
});

let failed = false;
afterEach((t) => {
  if (!t.passed) failed = true;
});

after(async () => {
  if (failed) {
    await dapp?.screenshot({ path: path.join(outputDir, "failure-dapp.png") }).catch(() => {});
    await approvalTab?.screenshot({ path: path.join(outputDir, "failure-page.png") }).catch(() => {});
    console.error(`keybridged's log:\n${daemonLog}`);
  }
  await context?.close().catch(() => {});
  dappServer?.closeAllConnections();
  dappServer?.close();
  if (daemon) {
    daemon.kill("SIGTERM");
    if (daemon.exitCode === null) await once(daemon, "exit");
  }
  for (const child of children) child.kill("SIGKILL");
});

// ---------------------------------------------------------------------------------------------
// Tests

test("no approver connected: the popup says so and how to open the page, the badge marks it", { timeout: 30_000 }, async () => {
  assert.equal(await inWorker(() => chrome.action.getBadgeText({})), "");
  // ethers' BrowserProvider asks for accounts; nobody is there to decide.
  await dapp.evaluate(() => {
    window.connecting = window.dapp.browserProvider().getSigner().then((s) => s.address);
  });
  await waitFor("the badge", async () => (await inWorker(() => chrome.action.getBadgeText({}))) === "!");
  const popup = await openPopup();
  await popup.waitForSelector("#no-approver", { state: "visible", timeout: kStep });
  const said = await popup.textContent("#no-approver");
  assert.match(said, /No approver is connected/);
  assert.match(said, new RegExp(`eth_requestAccounts from ${dappOrigin.replace(/[.]/g, "\\.")}`));
  assert.match(said, /approval page/);
  assert.equal(await popup.isVisible("#open-page"), true);
  await popup.screenshot({ path: path.join(outputDir, "popup-no-approver.png") });
  await popup.close();
});

test("the popup's button opens the approval page logged in, showing the queue; the code works once", { timeout: 30_000 }, async () => {
  const popup = await openPopup();
  // The address the worker opens (its tab's first request happens before Playwright sees it).
  await inWorker(() => {
    if (globalThis.openedUrls) return;
    globalThis.openedUrls = [];
    const create = chrome.tabs.create.bind(chrome.tabs);
    chrome.tabs.create = (options) => {
      globalThis.openedUrls.push(options.url);
      return create(options);
    };
  });
  const opened = context.waitForEvent("page", { timeout: kStep });
  await popup.click("#open-page");
  approvalTab = await opened;
  await approvalTab.waitForURL(`http://127.0.0.1:${daemonPort}/ui/`, { timeout: kStep });
  const codeUrls = await inWorker(() => globalThis.openedUrls);
  assert.equal(await popup.textContent("#message"), "");
  await popup.close();
  // The page, connected to its socket, with the waiting request.
  await approvalTab.locator("#link-state", { hasText: "connected" }).waitFor({ timeout: kStep });
  const c = await card("eth_requestAccounts");
  assert.match(await c.locator(".origin").textContent(), new RegExp(dappOrigin.replace(/[.]/g, "\\.")));
  // The cookie is the page's (HttpOnly, SameSite=Strict); the code bought it once.
  const cookie = (await context.cookies(`http://127.0.0.1:${daemonPort}/ui/`)).find((k) => k.name === `keybridge_page_${daemonPort}`);
  assert.ok(cookie, "the page cookie is set");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(codeUrls.length, 1, codeUrls.join(" "));
  assert.match(codeUrls[0], new RegExp(`^http://127\\.0\\.0\\.1:${daemonPort}/ui/login-code\\?code=[0-9a-f]{64}$`));
  const again = await fetch(codeUrls[0], { redirect: "manual" });
  assert.equal(again.status, 403);
  assert.equal(again.headers.get("set-cookie"), null);
  assert.ok(!(await again.text()).includes("<script"));
  assert.equal((await fetch(`http://127.0.0.1:${daemonPort}/ui/`)).status, 403);
  assert.ok(!daemonLog.includes(codeUrls[0].split("=")[1]), "the code is not logged");
});

test("ethers in the dApp: accounts and a signed message, approved on the approval page", { timeout: 30_000 }, async () => {
  const c = await card("eth_requestAccounts");
  for (const a of accounts) {
    await c.locator(`input[data-account="${a.toLowerCase()}"], input[data-account="${a}"]`).setChecked(a === accounts[0]);
  }
  await c.locator("button.approve").click();
  assert.equal(await dapp.evaluate(() => window.connecting), accounts[0]);
  // Answered: the badge and the popup's warning are gone.
  await waitFor("the badge to clear", async () => (await inWorker(() => chrome.action.getBadgeText({}))) === "");
  const popup = await openPopup();
  await popup.waitForSelector("#no-approver", { state: "hidden", timeout: kStep });
  await popup.close();

  // The page is open now: no "no approver" for this one.
  await dapp.evaluate(() => {
    window.signing = window.dapp.browserProvider().getSigner().then((s) => s.signMessage("approved in another tab"));
  });
  const sign = await card("personal_sign");
  assert.match(await sign.locator(".origin").textContent(), new RegExp(dappOrigin.replace(/[.]/g, "\\.")));
  await approvalTab.screenshot({ path: path.join(outputDir, "approval-page-from-extension.png") });
  await sign.locator("button.approve").click();
  const signature = await dapp.evaluate(() => window.signing);
  assert.equal(ethers.verifyMessage("approved in another tab", signature), accounts[0]);
  assert.equal(await inWorker(() => chrome.action.getBadgeText({})), "");
});

test("the worker stopped while the site's grant is revoked: the page still gets accountsChanged []", { timeout: 30_000 }, async () => {
  const principal = `${dappOrigin} via chrome-extension://${extensionId}`;
  assert.deepEqual(await dapp.evaluate(() => window.dapp.keybridge().request({ method: "eth_accounts" })), [
    accounts[0].toLowerCase(),
  ]);
  const from = (await events()).length;
  // Stopped the way the browser stops an idle worker; its WebSocket closes with it.
  const extensionPage = await context.newPage();
  await extensionPage.goto(`chrome-extension://${extensionId}/popup.css`);
  const cdp = await context.newCDPSession(extensionPage);
  await cdp.send("ServiceWorker.enable");
  const connected = async () => (await rpc("keybridge_pairings"))[0].connected;
  // On a loaded machine the browser may start the worker again before the revocation (a page
  // port wakes it): stop it again until keybridged sees it gone just before revoking.
  for (let attempt = 1; ; ++attempt) {
    await cdp.send("ServiceWorker.stopAllWorkers");
    await waitFor("keybridged to see the extension go", async () => !(await connected()), 5000);
    if (!(await connected()) || attempt === 5) break;
  }
  // Revoked while no connection of the extension is open: the event has nobody to go to.
  assert.equal(await rpc("keybridge_revokeOrigin", [principal]), true);
  assert.equal(await connected(), false, "the revocation happened while the worker was away");
  await extensionPage.close();
  // The page uses its provider again (its port wakes a new worker in any case).
  assert.equal(await dapp.evaluate(() => window.dapp.keybridge().request({ method: "eth_chainId" })), "0x1");
  await waitFor("accountsChanged []", async () =>
    (await events(from)).some((e) => e.name === "accountsChanged" && Array.isArray(e.data) && e.data.length === 0),
  );
  assert.deepEqual(await dapp.evaluate(() => window.dapp.keybridge().request({ method: "eth_accounts" })), []);
  assert.equal(await dapp.evaluate(() => window.dapp.keybridge().selectedAddress), null);
});

test("another wallet owns window.ethereum: it stays, and keybridge is announced through EIP-6963", { timeout: 30_000 }, async () => {
  const other = await context.newPage();
  const errors = [];
  other.on("pageerror", (e) => errors.push(String(e)));
  // Another wallet's provider, put in place before the page's scripts and made read-only, and
  // announced through EIP-6963 as well.
  await other.addInitScript(() => {
    const provider = {
      isOtherWallet: true,
      request: async ({ method }) => {
        if (method === "eth_chainId") return "0x5";
        throw Object.assign(new Error("not supported"), { code: 4200 });
      },
      on() {},
      removeListener() {},
    };
    window.keybridgeCameFirst = window.__keybridgeProvider !== undefined;
    Object.defineProperty(window, "ethereum", { value: provider, writable: false, configurable: false });
    const info = Object.freeze({
      uuid: "5a3c2f9e-8d1b-4c6a-9f0e-7b2d4a6c8e10",
      name: "Other wallet",
      icon: "data:image/svg+xml;base64,PHN2Zy8+",
      rdns: "com.example.other",
    });
    const announce = () =>
      window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  });
  await other.goto(`${dappOrigin}/`);
  await other.waitForFunction(() => window.dapp && window.dapp.wallets.length >= 2);
  const seen = await other.evaluate(async () => ({
    names: window.dapp.wallets.map((w) => w.info.rdns).sort(),
    ethereumIsOther: window.ethereum.isOtherWallet === true,
    ethereumIsKeybridge: window.ethereum.isKeybridge === true,
    keybridgeIsKeybridge: window.dapp.keybridge().isKeybridge === true,
    keybridgeChain: await window.dapp.keybridge().request({ method: "eth_chainId" }),
    otherChain: await window.ethereum.request({ method: "eth_chainId" }),
  }));
  assert.deepEqual(seen.names, ["com.example.other", "org.keybridge"]);
  assert.equal(seen.ethereumIsOther, true);
  assert.equal(seen.ethereumIsKeybridge, false);
  assert.equal(seen.keybridgeIsKeybridge, true);
  assert.equal(seen.keybridgeChain, "0x1");
  assert.equal(seen.otherChain, "0x5");
  assert.deepEqual(errors, []);
  // Which content script ran first is the browser's business; both orders end as above.
  console.log(`# keybridge's content script ran ${(await other.evaluate(() => window.keybridgeCameFirst)) ? "before" : "after"} the other wallet's`);
  await other.close();
});
