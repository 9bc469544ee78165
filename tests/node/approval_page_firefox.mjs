// The approval page in Firefox: Debian's firefox-esr driven over WebDriver BiDi by puppeteer-core
// (npm; no browser download) against a real keybridged, as approval_page.mjs does in chromium.
// The page is opened the way `keybridge ui` opens it (its launcher file, which posts the
// per-start secret); a dApp client (HTTP with a page's Origin) makes requests; the test reads
// what Firefox shows (explanation, warnings), decides with the page's buttons (real mouse and
// keyboard input) and checks what the client gets (signatures verified with ethers, 4001 for a
// rejection). Without the secret Firefox gets nothing of the page; every page response carries
// the CSP; no request leaves loopback. Screenshots go to the output folder (argv[4]).
//
// Why puppeteer and not Playwright: playwright-core 1.65.2 drives Firefox over BiDi only through
// its "moz-firefox" channel, whose newContext sends emulation.setMediaFeaturesOverride, a command
// firefox-esr 153 does not know ("unknown command"): no page can be opened.
//
// Usage: node approval_page_firefox.mjs PATH_TO_keybridged PATH_TO_keybridge OUTPUT_DIR
//   (FIREFOX overrides /usr/bin/firefox-esr).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";
import puppeteer from "puppeteer-core";
import { children, secretFile, track } from "./lib/harness.mjs";

const [keybridged, keybridge, outputArg] = process.argv.slice(2);
if (!keybridged || !keybridge) {
  console.error("usage: node approval_page_firefox.mjs PATH_TO_keybridged PATH_TO_keybridge [OUTPUT_DIR]");
  process.exit(2);
}
const outDir = path.resolve(outputArg ?? path.join(os.tmpdir(), "keybridge-approval-page-firefox-out"));
fs.mkdirSync(outDir, { recursive: true });
const firefoxPath = process.env.FIREFOX ?? "/usr/bin/firefox-esr";

const kMnemonic = "test test test test test test test test test test test junk";
const kPassword = "firefox page password";
const kDapp = "https://dapp.example";
const kStep = 15_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes and files, all gone on exit.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-fx-page-"));
const datadir = path.join(tmp, "data");
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});
// No desktop notifications from this test's keybridged (approval_page.mjs tests them).
const env = { ...process.env, HOME: tmp, XDG_DATA_HOME: path.join(tmp, "xdg") };
delete env.DBUS_SESSION_BUS_ADDRESS;

function runCli(args) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(keybridge, ["--datadir", datadir, ...args, "--json"], { stdio: ["ignore", "pipe", "pipe"], env }));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`keybridge ${args.join(" ")}: exit ${code}: ${stderr.trim()}`));
      resolve(JSON.parse(stdout));
    });
  });
}

let daemon;
let daemonLog = "";
async function startDaemon(passwordFile) {
  const args = ["--datadir", datadir, "--listen", "127.0.0.1:0", "--password-file", passwordFile];
  daemon = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"], env }));
  return await new Promise((resolve, reject) => {
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

// A dApp's call over HTTP with its page's Origin: resolves with the whole JSON-RPC answer.
async function dappCall(method, params) {
  const res = await fetch(daemonUrl, {
    method: "POST",
    headers: { "content-type": "application/json", origin: kDapp },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return await res.json();
}

// ---------------------------------------------------------------------------------------------
// Setup

let port;
let daemonUrl;
let pageUrl;
let launcher;
let browser;
let page;
let accounts;
const seen = []; // every URL Firefox asked for on behalf of the pages
const pageResponses = []; // every response to the page: its headers are checked

before(async () => {
  const mnemonicFile = secretFile(tmp, "mnemonic.txt", `${kMnemonic}\n`);
  const passwordFile = secretFile(tmp, "password.txt", `${kPassword}\n`);
  const restored = await runCli(["restore", "--mnemonic-file", mnemonicFile, "--password-file", passwordFile, "--light-kdf"]);
  const derived = await runCli(["account", "derive", "--count", "1", "--password-file", passwordFile]);
  accounts = [...restored.accounts, ...derived.accounts].map((a) => ethers.getAddress(a.address));
  port = await startDaemon(passwordFile);
  daemonUrl = `http://127.0.0.1:${port}/`;
  // What `keybridge ui` would open: the launcher file, whose path (not the secret) it names.
  const ui = await runCli(["ui", "--no-open"]);
  pageUrl = ui.url;
  launcher = ui.launcher;
  assert.equal(pageUrl, `http://127.0.0.1:${port}/ui/`);

  fs.mkdirSync(path.join(tmp, "firefox-home"));
  browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: firefoxPath,
    headless: true,
    env: { ...process.env, HOME: path.join(tmp, "firefox-home") },
    protocolTimeout: 30_000,
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 1000 });
  page.on("request", (r) => seen.push(r.url()));
  page.on("response", (r) => pageResponses.push(r));
  await page.goto(`file://${launcher}`);
  await page.waitForFunction((url) => location.href === url, { timeout: kStep }, pageUrl);
  await page.waitForFunction(() => document.getElementById("link-state")?.textContent === "connected", {
    timeout: kStep,
  });
});

let failed = false;
after(async () => {
  if (failed) {
    await page?.screenshot({ path: path.join(outDir, "failure.png"), fullPage: true }).catch(() => {});
    console.error(`keybridged's log:\n${daemonLog}`);
  }
  await browser?.close().catch(() => {});
  if (daemon?.exitCode === null) {
    daemon.kill("SIGTERM");
    await once(daemon, "exit");
  }
  for (const child of children) child.kill("SIGKILL");
});

function step(name, fn) {
  test(name, { timeout: 60_000 }, async () => {
    try {
      await fn();
    } catch (e) {
      failed = true;
      throw e;
    }
  });
}

// The selector of the card of a pending request of `method`, once Firefox shows it (each test
// waits until its cards are gone).
async function card(method) {
  const selector = `li.request[data-method="${method}"]`;
  await page.waitForSelector(selector, { timeout: kStep });
  return selector;
}
const text = (selector) => page.$eval(selector, (e) => e.textContent);
const gone = (selector) => page.waitForSelector(selector, { hidden: true, timeout: kStep });

// ---------------------------------------------------------------------------------------------
// Tests

step("the launcher logged Firefox in: HttpOnly, SameSite=Strict cookie, never the secret in a URL", async () => {
  const cookie = (await page.cookies(pageUrl)).find((c) => c.name === `keybridge_page_${port}`);
  assert.ok(cookie, "the page cookie is set");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(cookie.path, "/ui");
  const secret = /name="secret" value="([0-9a-f]{64})"/.exec(fs.readFileSync(launcher, "utf8"))[1];
  for (const url of seen) assert.ok(!url.includes(secret), `the secret is not in ${url}`);
  assert.ok(!daemonLog.includes(secret), "the secret is not logged");
  assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read the cookie");
});

step("connect: Firefox shows the vault's accounts and the site gets the one chosen", async () => {
  const answer = dappCall("eth_requestAccounts", []);
  const c = await card("eth_requestAccounts");
  assert.match(await text(`${c} .origin`), /dapp\.example/);
  const boxes = await page.$$eval(`${c} input[data-account]`, (bs) => bs.map((b) => [b.value, b.checked]));
  assert.equal(boxes.length, accounts.length);
  // Only the second account: clicks toggle the boxes to that.
  for (const [value, checked] of boxes) {
    const want = ethers.getAddress(value) === accounts[1];
    if (checked !== want) await page.click(`${c} input[data-account][value="${value}"]`);
  }
  await page.click(`${c} button.approve`);
  const result = await answer;
  assert.deepEqual(result.result.map((a) => ethers.getAddress(a)), [accounts[1]]);
  await gone('li.request[data-method="eth_requestAccounts"]');
});

step("personal_sign: explanation and warning in Firefox, approve, the signature verifies", async () => {
  const bytes = ethers.randomBytes(32);
  const answer = dappCall("personal_sign", [ethers.hexlify(bytes), accounts[1]]);
  const c = await card("personal_sign");
  const summary = await text(`${c} .summary`);
  assert.ok(summary.length > 10, summary);
  assert.match(await text(`${c} .warning[data-warning="binary-32-byte-message"]`), /Warning:/);
  // The full hex appears only on demand.
  const rawShown = () => page.$eval(`${c} .rawhex`, (e) => e.checkVisibility());
  assert.equal(await rawShown(), false);
  let show;
  for (const b of await page.$$(`${c} button`)) {
    if ((await b.evaluate((e) => e.textContent.trim())) === "Show full hex") show = b;
  }
  assert.ok(show, "a Show full hex button");
  await show.click();
  assert.equal(await rawShown(), true);
  assert.match(await text(`${c} .rawhex`), new RegExp(ethers.hexlify(bytes).slice(2)));
  await page.screenshot({ path: path.join(outDir, "approval-page-firefox.png"), fullPage: true });
  await page.click(`${c} button.approve`);
  const result = await answer;
  assert.equal(ethers.verifyMessage(bytes, result.result), accounts[1]);
  await gone('li.request[data-method="personal_sign"]');
});

step("typed data: a danger warning needs the second step in Firefox too, then a valid signature", async () => {
  const domain = { name: "Mail", version: "1", chainId: 5, verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC" };
  const types = { Mail: [{ name: "to", type: "address" }, { name: "contents", type: "string" }] };
  const message = { to: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB", contents: "Hello from Firefox" };
  const typed = {
    domain,
    types: {
      EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
      ...types,
    },
    primaryType: "Mail",
    message,
  };
  const answer = dappCall("eth_signTypedData_v4", [accounts[1], JSON.stringify(typed)]);
  const c = await card("eth_signTypedData_v4");
  const trees = () => page.$$eval(`${c} .tree`, (ts) => ts.map((t) => t.textContent).join("\n"));
  assert.match(await trees(), /Hello from Firefox/);
  assert.match(await text(`${c} .warning.danger[data-warning="typed-data-chain-mismatch"]`), /Danger:/);
  const disabled = () => page.$eval(`${c} button.approve`, (b) => b.disabled);
  assert.equal(await disabled(), true);
  await page.click(`${c} input.confirm-danger`);
  assert.equal(await disabled(), false);
  await page.click(`${c} button.approve`);
  const result = await answer;
  assert.equal(ethers.verifyTypedData(domain, types, message, result.result), accounts[1]);
  await gone('li.request[data-method="eth_signTypedData_v4"]');
});

step("reject with the keyboard: the client gets 4001", async () => {
  const answer = dappCall("personal_sign", [ethers.hexlify(ethers.toUtf8Bytes("please reject me")), accounts[1]]);
  const c = await card("personal_sign");
  assert.equal(await text(`${c} pre.message`), "please reject me");
  await page.focus(`${c} button.reject`);
  await page.keyboard.press("Enter");
  const result = await answer;
  assert.equal(result.error?.code, 4001, JSON.stringify(result));
  await gone('li.request[data-method="personal_sign"]');
});

step("readable at 400 px in Firefox: nothing wider than the window", async () => {
  const answer = dappCall("personal_sign", [ethers.hexlify(ethers.randomBytes(32)), accounts[1]]);
  const c = await card("personal_sign");
  await page.setViewport({ width: 400, height: 900 });
  await sleep(200);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `the page is ${width} px wide at 400`);
  await page.screenshot({ path: path.join(outDir, "approval-page-firefox-400px.png"), fullPage: true });
  await page.setViewport({ width: 1000, height: 1000 });
  await page.click(`${c} button.reject`);
  assert.equal((await answer).error?.code, 4001);
});

step("without the secret Firefox gets nothing of the page", async () => {
  // Another browser context has no cookie: 403 and none of the page.
  const stranger = await browser.createBrowserContext();
  const p = await stranger.newPage();
  const res = await p.goto(pageUrl);
  assert.equal(res.status(), 403);
  const html = await p.content();
  assert.ok(!html.includes("app.js") && !html.includes("Requests"), html);
  const socket = await p.evaluate(
    (url) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve("open");
        ws.onerror = () => resolve("refused");
      }),
    `ws://127.0.0.1:${port}/ui/ws`,
  );
  assert.equal(socket, "refused");
  await stranger.close();
});

step("CSP and friends on every page response Firefox got", async () => {
  const docs = pageResponses.filter((r) => new URL(r.url()).pathname.startsWith("/ui/") && r.status() === 200);
  const paths = docs.map((r) => new URL(r.url()).pathname);
  for (const file of ["/ui/", "/ui/app.js", "/ui/rpc.js", "/ui/app.css"]) assert.ok(paths.includes(file), `${file} among ${paths}`);
  for (const r of docs) {
    const h = r.headers();
    const csp = h["content-security-policy"] ?? "";
    assert.match(csp, /default-src 'none'/, r.url());
    assert.match(csp, /script-src 'self'(;|$)/, r.url());
    assert.match(csp, /frame-ancestors 'none'/, r.url());
    assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${port}`), r.url());
    assert.equal(h["x-content-type-options"], "nosniff", r.url());
  }
});

step("no request of the page left loopback", () => {
  assert.ok(seen.length > 5, `requests seen: ${seen}`);
  assert.ok(seen.includes(`ws://127.0.0.1:${port}/ui/ws`) || seen.includes(`http://127.0.0.1:${port}/ui/ws`), `the page's socket among ${seen}`);
  for (const url of seen) {
    const u = new URL(url);
    // data: fetches nothing (Firefox loads its own list-marker font, -moz-bullet-font of its
    // built-in html.css, as a data: URL when the page shows <details>).
    const local =
      u.protocol === "file:" || u.protocol === "data:" || (u.hostname === "127.0.0.1" && Number(u.port) === port);
    assert.ok(local, `Firefox asked for ${url}`);
  }
});
