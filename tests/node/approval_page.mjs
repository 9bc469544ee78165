// The approval page in a real browser: Playwright (playwright-core from npm) drives Debian's
// chromium against a real keybridged. The page is opened the way `keybridge ui` opens it (its
// launcher file, which posts the per-start secret); a dApp client (HTTP with a page's Origin) makes
// requests; the test reads what the page shows (explanation, warnings, typed data, hex), decides
// with the page's buttons and checks what the client gets (signatures verified with ethers, 4001
// for a rejection). Without the secret nothing of the page is served; every response carries the
// CSP; no request leaves loopback. Screenshots go to the output folder (argv[4]).
//
// A Trezor (the project's simulator, keybridge_trezor_sim, restarted with a PIN and passphrase
// protection) shows its PIN grid, passphrase entry and "confirm on your device" on the page.
//
// Usage: node approval_page.mjs PATH_TO_keybridged PATH_TO_keybridge OUTPUT_DIR PATH_TO_trezor_sim
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";
import WebSocket from "ws";
import { chromium } from "playwright-core";
import { children, secretFile, track } from "./lib/harness.mjs";

const keybridged = process.argv[2] ?? process.env.KEYBRIDGED;
const keybridge = process.argv[3] ?? process.env.KEYBRIDGE;
const outDir = process.argv[4] ?? process.env.KEYBRIDGE_TEST_OUTPUT ?? os.tmpdir();
if (!keybridged || !keybridge) {
  console.error("usage: node approval_page.mjs PATH_TO_keybridged PATH_TO_keybridge [OUTPUT_DIR]");
  process.exit(2);
}
const trezorSim = process.argv[5] ?? process.env.KEYBRIDGE_TREZOR_SIM;
if (!trezorSim) {
  console.error("usage: node approval_page.mjs PATH_TO_keybridged PATH_TO_keybridge OUTPUT_DIR PATH_TO_trezor_sim");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

const kMnemonic = "test test test test test test test test test test test junk";
const kPassword = "page test password";
const kDapp = "https://dapp.example";
const kStep = 15_000;

// ---------------------------------------------------------------------------------------------
// Processes

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-page-"));
const datadir = path.join(tmp, "data");
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

function runCli(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(keybridge, ["--datadir", datadir, ...args, "--json"], {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: { ...process.env, HOME: tmp, XDG_DATA_HOME: path.join(tmp, "xdg"), ...env },
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

// A private session D-Bus for keybridged's desktop notifications, and a monitor that records every
// call to the notification service on it.
let busAddress;
let busLog = "";
async function startBus() {
  const bus = track(spawn("dbus-daemon", ["--session", "--print-address", "--nofork"], { stdio: ["ignore", "pipe", "inherit"] }));
  busAddress = await new Promise((resolve, reject) => {
    let out = "";
    bus.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.trim());
    });
    bus.on("exit", (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
  });
  const monitor = track(spawn("dbus-monitor", ["--address", busAddress, "interface='org.freedesktop.Notifications'"], { stdio: ["ignore", "pipe", "inherit"] }));
  monitor.stdout.on("data", (d) => (busLog += d));
  await sleep(300); // the monitor is registered
}

// The Trezor simulator on a UDP port (0: a free one), with its control port for the test.
async function startTrezor(port, extra = []) {
  const child = track(spawn(trezorSim, ["--port", String(port), ...extra], { stdio: ["ignore", "pipe", "inherit"] }));
  const ports = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /port (\d+) control (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), control: Number(m[2]) });
    });
    child.on("exit", (code) => reject(new Error(`keybridge_trezor_sim exited with ${code}`)));
  });
  return { child, ...ports };
}

// One command to the simulator's control port (sim_server.h), answered with one datagram.
async function trezorControl(control, command) {
  const socket = dgram.createSocket("udp4");
  try {
    const reply = new Promise((resolve) => socket.once("message", (m) => resolve(m.toString())));
    socket.send(command, control, "127.0.0.1");
    return await Promise.race([reply, sleep(5000).then(() => { throw new Error(`no answer to ${command}`); })]);
  } finally {
    socket.close();
  }
}

let daemonLog = "";
async function startDaemon(passwordFile) {
  const args = ["--datadir", datadir, "--listen", "127.0.0.1:0", "--password-file", passwordFile];
  args.push("--trezor-emulator", `127.0.0.1:${trezor.port}`);
  const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: busAddress };
  const child = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"], env }));
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

// A dApp's call over HTTP with its page's Origin: resolves with the whole JSON-RPC answer.
async function dappCall(method, params) {
  const res = await fetch(daemonUrl, {
    method: "POST",
    headers: { "content-type": "application/json", origin: kDapp },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return await res.json();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Setup

let daemon;
let trezor;
let daemonUrl;
let pageUrl;
let launcher;
let browser;
let context;
let page;
let accounts;
const seen = []; // every URL the page's browser asked for (requests and WebSockets)
const pageResponses = []; // every response to the page: its headers are checked

before(async () => {
  const mnemonicFile = secretFile(tmp, "mnemonic.txt", `${kMnemonic}\n`);
  const passwordFile = secretFile(tmp, "password.txt", `${kPassword}\n`);
  const restored = await runCli(["restore", "--mnemonic-file", mnemonicFile, "--password-file", passwordFile, "--light-kdf"]);
  const derived = await runCli(["account", "derive", "--count", "1", "--password-file", passwordFile]);
  accounts = [...restored.accounts, ...derived.accounts].map((a) => ethers.getAddress(a.address));
  await startBus();
  trezor = await startTrezor(0, ["--model", "1"]);
  daemon = await startDaemon(passwordFile);
  daemonUrl = `http://127.0.0.1:${daemon.port}/`;
  // What `keybridge ui` would open: the launcher file, whose path (not the secret) it names.
  const ui = await runCli(["ui", "--no-open"]);
  pageUrl = ui.url;
  launcher = ui.launcher;
  assert.equal(pageUrl, `http://127.0.0.1:${daemon.port}/ui/`);
  assert.equal(fs.statSync(launcher).mode & 0o777, 0o600);

  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  context = await browser.newContext({ viewport: { width: 1000, height: 1000 } });
  page = await context.newPage();
  page.on("request", (r) => seen.push(r.url()));
  page.on("websocket", (ws) => seen.push(ws.url()));
  page.on("response", (r) => pageResponses.push(r));
  await page.goto(`file://${launcher}`);
  await page.waitForURL(pageUrl, { timeout: kStep });
  await page.locator("#link-state", { hasText: "connected" }).waitFor({ timeout: kStep });
});

let failed = false;
afterEach((t) => {
  if (!t.passed) failed = true;
});

after(async () => {
  if (failed) {
    await page?.screenshot({ path: path.join(outDir, "failure.png"), fullPage: true }).catch(() => {});
    console.error(`keybridged's log:\n${daemonLog}`);
  }
  await browser?.close();
  daemon?.child.kill("SIGTERM");
  if (daemon && daemon.child.exitCode === null) await once(daemon.child, "exit");
  // The bus, its monitor and the simulator hold pipes open: end them so that node can exit.
  for (const child of children) child.kill("SIGTERM");
});

// The card of the next request of `method` on the page.
async function card(method) {
  const locator = page.locator(`li.request[data-method="${method}"]`).last();
  await locator.waitFor({ timeout: kStep });
  return locator;
}

// ---------------------------------------------------------------------------------------------
// Tests

test("the launcher logged the page in: HttpOnly, SameSite=Strict cookie, never the secret in a URL", async () => {
  const cookies = await context.cookies(pageUrl);
  const cookie = cookies.find((c) => c.name === `keybridge_page_${daemon.port}`);
  assert.ok(cookie, "the page cookie is set");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(cookie.path, "/ui");
  const secret = /name="secret" value="([0-9a-f]{64})"/.exec(fs.readFileSync(launcher, "utf8"))[1];
  for (const url of seen) assert.ok(!url.includes(secret), `the secret is not in ${url}`);
  assert.ok(!daemonLog.includes(secret), "the secret is not logged");
  assert.ok(!daemonLog.includes(cookie.value), "the cookie is not logged");
  assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read the cookie");
});

test("connect: the page offers the vault's accounts and the site gets the one chosen", { timeout: 60_000 }, async () => {
  const answer = dappCall("eth_requestAccounts", []);
  const c = await card("eth_requestAccounts");
  assert.match(await c.locator(".origin").textContent(), /dapp\.example/);
  const boxes = c.locator("input[data-account]");
  assert.equal(await boxes.count(), accounts.length);
  for (const a of accounts) {
    await c.locator(`input[data-account="${a.toLowerCase()}"], input[data-account="${a}"]`).setChecked(a === accounts[1]);
  }
  await c.locator("button.approve").click();
  const result = await answer;
  assert.deepEqual(result.result.map((a) => ethers.getAddress(a)), [accounts[1]]);
  await c.waitFor({ state: "detached", timeout: kStep });
});

test("a new request raised a desktop notification over the session D-Bus", async () => {
  for (let i = 0; i < 50 && !busLog.includes("member=Notify"); i++) await sleep(100);
  assert.match(busLog, /member=Notify/);
  assert.match(busLog, /string "keybridge: a request waits for you"/);
  assert.match(busLog, /https:\/\/dapp\.example asks/);
  assert.match(busLog, /string "default"/, "clicking it opens the page");
});

test("personal_sign: explanation and warning on screen, approve, the signature verifies", { timeout: 60_000 }, async () => {
  const bytes = ethers.randomBytes(32);
  const answer = dappCall("personal_sign", [ethers.hexlify(bytes), accounts[1]]);
  const c = await card("personal_sign");
  const summary = await c.locator(".summary").textContent();
  assert.ok(summary.length > 10, summary);
  const warning = c.locator('.warning[data-warning="binary-32-byte-message"]');
  assert.match(await warning.textContent(), /Warning:/);
  // The full hex appears only on demand.
  const raw = c.locator(".rawhex");
  assert.equal(await raw.isVisible(), false);
  await c.getByRole("button", { name: "Show full hex" }).click();
  assert.match(await raw.textContent(), new RegExp(ethers.hexlify(bytes).slice(2)));
  assert.match(await raw.textContent(), new RegExp(ethers.hashMessage(bytes).slice(2)));
  await page.screenshot({ path: path.join(outDir, "approval-page-message.png"), fullPage: true });
  await c.locator("button.approve").click();
  const result = await answer;
  assert.equal(ethers.verifyMessage(bytes, result.result), accounts[1]);
});

test("typed data: a tree, a danger warning that needs a second step, then a valid signature", { timeout: 60_000 }, async () => {
  const domain = { name: "Mail", version: "1", chainId: 5, verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC" };
  const types = {
    Person: [{ name: "name", type: "string" }, { name: "wallet", type: "address" }],
    Mail: [{ name: "from", type: "Person" }, { name: "to", type: "Person" }, { name: "contents", type: "string" }],
  };
  const message = {
    from: { name: "Cow", wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
    to: { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
    contents: "Hello, Bob!",
  };
  const typed = { domain, types: { EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }], ...types }, primaryType: "Mail", message };
  const answer = dappCall("eth_signTypedData_v4", [accounts[1], JSON.stringify(typed)]);
  const c = await card("eth_signTypedData_v4");
  await c.locator(".tree").getByText("Hello, Bob!").waitFor({ timeout: kStep });
  const danger = c.locator('.warning.danger[data-warning="typed-data-chain-mismatch"]');
  assert.match(await danger.textContent(), /Danger:/);
  // The deliberate second step: approve stays disabled until the danger is acknowledged.
  const approve = c.locator("button.approve");
  assert.equal(await approve.isDisabled(), true);
  await page.screenshot({ path: path.join(outDir, "approval-page.png"), fullPage: true });
  await c.locator("input.confirm-danger").check();
  assert.equal(await approve.isDisabled(), false);
  await approve.click();
  const result = await answer;
  assert.equal(ethers.verifyTypedData(domain, types, message, result.result), accounts[1]);
});

test("reject with the keyboard: the client gets 4001", { timeout: 60_000 }, async () => {
  const answer = dappCall("personal_sign", [ethers.hexlify(ethers.toUtf8Bytes("please reject me")), accounts[1]]);
  const c = await card("personal_sign");
  assert.equal(await c.locator("pre.message").textContent(), "please reject me");
  await c.locator("button.reject").focus();
  await page.keyboard.press("Enter");
  const result = await answer;
  assert.equal(result.error?.code, 4001, JSON.stringify(result));
});

test("readable at 400 px: nothing wider than the window", { timeout: 60_000 }, async () => {
  const answer = dappCall("personal_sign", [ethers.hexlify(ethers.randomBytes(32)), accounts[1]]);
  const c = await card("personal_sign");
  await page.setViewportSize({ width: 400, height: 900 });
  await sleep(100);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `the page is ${width} px wide at 400`);
  await page.screenshot({ path: path.join(outDir, "approval-page-400px.png"), fullPage: true });
  await page.setViewportSize({ width: 1000, height: 1000 });
  await c.locator("button.reject").click();
  assert.equal((await answer).error?.code, 4001);
});

test("a locked vault: the request asks for the password on the page, then for the decision", { timeout: 60_000 }, async () => {
  const token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
  const locked = await fetch(daemonUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "keybridge_lock", params: [] }),
  });
  assert.equal((await locked.json()).result, true);
  await page.locator("#vault-state", { hasText: /^vault locked$/ }).waitFor({ timeout: kStep });
  assert.equal(await page.locator("#unlock-panel").isVisible(), true);
  const answer = dappCall("personal_sign", [ethers.hexlify(ethers.toUtf8Bytes("after unlock")), accounts[1]]);
  const c = page.locator('li.request.stage-needs-input[data-method="personal_sign"]');
  await c.waitFor({ timeout: kStep });
  await c.locator("input.password-field").fill("not the password");
  await c.getByRole("button", { name: "Continue" }).click();
  await c.locator(".error", { hasText: /wrong password/i }).waitFor({ timeout: kStep });
  await c.locator("input.password-field").fill(kPassword);
  await c.getByRole("button", { name: "Continue" }).click();
  const waiting = page.locator('li.request.stage-waiting[data-method="personal_sign"]');
  await waiting.waitFor({ timeout: 30_000 });
  await waiting.locator("button.approve").click();
  const result = await answer;
  assert.equal(ethers.verifyMessage("after unlock", result.result), accounts[1]);
  await page.locator("#vault-state", { hasText: /^vault unlocked$/ }).waitFor({ timeout: kStep });
});

test("a Trezor: PIN grid, passphrase entry and confirm on the device, all on the page", { timeout: 90_000 }, async () => {
  // The account is added while the simulator has no PIN (account add asks the device)...
  let added;
  for (let i = 0; ; i++) {
    try {
      added = await runCli(["account", "add", "--trezor", "--index", "0", "--name", "trezor"]);
      break;
    } catch (e) {
      if (i > 50) throw e;
      await sleep(200); // the device is still being attached
    }
  }
  const trezorAccount = ethers.getAddress(added.address ?? added.account?.address);
  // ...then the same device comes back locked with a PIN and asks for a passphrase (a Trezor One:
  // the passphrase is typed on the computer).
  trezor.child.kill("SIGKILL");
  await once(trezor.child, "exit");
  trezor = await startTrezor(trezor.port, ["--model", "1", "--pin", "1234", "--passphrase-protection"]);
  await trezorControl(trezor.control, "delay 1500"); // the person takes a while on the device
  // The site asks again (the vault gained an account it was never shown) and gets the Trezor's.
  const connect = dappCall("eth_requestAccounts", []);
  const c = await card("eth_requestAccounts");
  for (const box of await c.locator("input[data-account]").all()) {
    const value = await box.getAttribute("value");
    await box.setChecked([trezorAccount, accounts[1]].includes(ethers.getAddress(value)));
  }
  await c.locator("button.approve").click();
  assert.ok((await connect).result.map((a) => ethers.getAddress(a)).includes(trezorAccount));
  const answer = dappCall("personal_sign", [ethers.hexlify(ethers.toUtf8Bytes("signed on a Trezor")), trezorAccount]);
  const sign = await card("personal_sign");
  await sign.locator("button.approve").click();
  // The PIN: the grid is the device's layout (7 8 9 on top), the digits only on the device.
  const pinCard = page.locator('li.request.stage-needs-input[data-method="personal_sign"]');
  const grid = pinCard.locator(".pin-grid");
  await grid.waitFor({ timeout: 30_000 });
  assert.deepEqual(await grid.locator("button").evaluateAll((bs) => bs.map((b) => b.dataset.position)), ["7", "8", "9", "4", "5", "6", "1", "2", "3"]);
  assert.equal(await grid.textContent(), "•••••••••");
  const positions = (await trezorControl(trezor.control, "positions 1234")).trim();
  for (const p of positions) await grid.locator(`button[data-position="${p}"]`).click();
  await pinCard.getByRole("button", { name: "Continue" }).click();
  // The passphrase: empty is the standard wallet (the account added above).
  const phrase = pinCard.locator("input.passphrase-field");
  await phrase.waitFor({ timeout: 30_000 });
  await pinCard.getByRole("button", { name: "Continue" }).click();
  // On the device: the page says so until the device answers.
  const device = page.locator('li.request.stage-on-device[data-method="personal_sign"] .device');
  await device.waitFor({ timeout: 30_000 });
  assert.match(await device.textContent(), /Confirm on your device/);
  const result = await answer;
  assert.equal(ethers.verifyMessage("signed on a Trezor", result.result), trezorAccount);
  await device.waitFor({ state: "detached", timeout: kStep });
});

test("management views: accounts, chains, recent decisions, and a site's grant revoked", { timeout: 60_000 }, async () => {
  await page.getByRole("button", { name: "Accounts & devices" }).click();
  for (const a of accounts) await page.locator(`#accounts tr[data-address="${a}"]`).waitFor({ timeout: kStep });
  assert.match(await page.locator("#devices").textContent(), /Trezor/);
  await page.getByRole("button", { name: "Chains" }).click();
  await page.locator("#chains tr[data-chain]").first().waitFor({ timeout: kStep });
  assert.match(await page.locator("#chains").textContent(), /default/);
  await page.getByRole("button", { name: "Activity" }).click();
  const rows = page.locator("#activity tbody tr");
  await rows.first().waitFor({ timeout: kStep });
  const activity = await page.locator("#activity").textContent();
  assert.match(activity, /approve/);
  assert.match(activity, /reject/);
  assert.match(activity, /dapp\.example/);
  await page.getByRole("button", { name: "Sites" }).click();
  const site = page.locator(`#sites tr[data-origin="${kDapp}"]`);
  await site.waitFor({ timeout: kStep });
  assert.match((await site.textContent()).toLowerCase(), new RegExp(accounts[1].slice(2).toLowerCase()));
  assert.ok((await dappCall("eth_accounts", [])).result.map((a) => ethers.getAddress(a)).includes(accounts[1]));
  // Every view with its tables filled is readable at 400 px too (long addresses, device
  // details and decisions wrap instead of widening the page).
  await page.setViewportSize({ width: 400, height: 900 });
  const filled = { 2: "#sites tr[data-origin]", 3: "#accounts tr[data-address]", 4: "#chains tr[data-chain]", 5: "#activity tbody tr" };
  for (const [key, selector] of Object.entries(filled)) {
    await page.keyboard.press(key);
    await page.locator(selector).first().waitFor({ timeout: kStep });
    await sleep(100);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 400, `view ${key} is ${width} px wide at 400`);
  }
  await page.screenshot({ path: path.join(outDir, "approval-page-activity-400px.png"), fullPage: true });
  await page.setViewportSize({ width: 1000, height: 1000 });
  await page.keyboard.press("2");
  await site.waitFor({ timeout: kStep });
  await site.getByRole("button", { name: "Revoke" }).click();
  await site.waitFor({ state: "detached", timeout: kStep });
  assert.deepEqual((await dappCall("eth_accounts", [])).result, []);
  await page.keyboard.press("1"); // back to the queue, by keyboard
  assert.equal(await page.locator("#view-requests").isVisible(), true);
});

test("without the secret: nothing of the page, no login, no socket", { timeout: 60_000 }, async () => {
  // A fresh browser profile has no cookie: 403 and none of the page.
  const stranger = await browser.newContext();
  const p = await stranger.newPage();
  const res = await p.goto(pageUrl);
  assert.equal(res.status(), 403);
  const text = await p.content();
  assert.ok(!text.includes("app.js") && !text.includes("Requests"), text);
  for (const file of ["app.js", "rpc.js", "app.css"]) {
    const r = await fetch(new URL(file, pageUrl));
    assert.equal(r.status, 403, file);
    const body = await r.text();
    assert.ok(!body.includes("import") && !body.includes("{"), `${file} leaks nothing: ${body}`);
  }
  // A wrong secret buys no cookie.
  const wrong = await fetch(new URL("login", pageUrl), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `secret=${"0".repeat(64)}`,
  });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.headers.get("set-cookie"), null);
  await stranger.close();
  // The page's socket: refused without the cookie, and with it from another origin (another
  // program's page on another loopback port is same-site and would send the cookie too).
  const name = `keybridge_page_${daemon.port}`;
  const cookie = (await context.cookies(pageUrl)).find((c) => c.name === name);
  const wsUrl = `ws://127.0.0.1:${daemon.port}/ui/ws`;
  const own = `http://127.0.0.1:${daemon.port}`;
  const status = (headers) =>
    new Promise((resolve) => {
      const ws = new WebSocket(wsUrl, { headers });
      ws.on("open", () => {
        ws.close();
        resolve(101);
      });
      ws.on("unexpected-response", (_req, r) => resolve(r.statusCode));
      ws.on("error", () => {});
    });
  assert.equal(await status({ origin: own }), 403);
  assert.equal(await status({ origin: `http://127.0.0.1:${daemon.port + 1}`, cookie: `${name}=${cookie.value}` }), 403);
  assert.equal(await status({ origin: own, cookie: `${name}=${"1".repeat(64)}` }), 403);
  // The cookie under another port's name is not this keybridged's (cookies ignore ports).
  assert.equal(await status({ origin: own, cookie: `keybridge_page_${daemon.port + 1}=${cookie.value}` }), 403);
  assert.equal(await status({ origin: own, cookie: `keybridge_page=${cookie.value}` }), 403);
  assert.equal(await status({ origin: own, cookie: `${name}=${cookie.value}` }), 101);
});

test("CSP and friends on every page response; no inline script", async () => {
  const docs = pageResponses.filter((r) => new URL(r.url()).pathname.startsWith("/ui/") && r.status() === 200);
  assert.ok(docs.length >= 4, `responses seen: ${docs.map((r) => r.url())}`);
  for (const r of docs) {
    const h = await r.allHeaders();
    const csp = h["content-security-policy"] ?? "";
    assert.match(csp, /default-src 'none'/, r.url());
    assert.match(csp, /script-src 'self'(;|$)/, r.url());
    assert.match(csp, /frame-ancestors 'none'/, r.url());
    assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${daemon.port}`), r.url());
    assert.equal(h["x-content-type-options"], "nosniff", r.url());
  }
  const html = await (await page.request.get(pageUrl)).text();
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "every script of the page is a file");
});

test("no approver connected: the caller hears so at once", { timeout: 60_000 }, async () => {
  // The page (the only approver) goes away.
  await page.close();
  await sleep(500);
  const ws = new WebSocket(`ws://127.0.0.1:${daemon.port}/`, { headers: { origin: kDapp } });
  await once(ws, "open");
  const heard = new Promise((resolve) => {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.method === "keybridge_requestStatus") resolve(m.params);
    });
  });
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_requestAccounts", params: [] }));
  const status = await Promise.race([heard, sleep(10_000).then(() => null)]);
  assert.ok(status, "a keybridge_requestStatus notification came");
  assert.equal(status.status, "no-approver");
  assert.equal(status.method, "eth_requestAccounts");
  assert.match(status.message, /keybridge ui/);
  ws.close();
});

test("no request of the page left loopback", () => {
  assert.ok(seen.length > 5, `requests seen: ${seen}`);
  for (const url of seen) {
    const u = new URL(url);
    const local = u.protocol === "file:" || (u.hostname === "127.0.0.1" && Number(u.port) === daemon.port);
    assert.ok(local, `the page asked for ${url}`);
  }
});
