// The approval page's chains view and its login cookie, in a real browser (Playwright driving
// Debian's chromium, as approval_page.mjs). Two keybridged run on two loopback ports with their
// own data folders, both pages open in one browser context: each stays logged in (the page
// cookie is named for its daemon's port; cookies ignore ports). On the first page, with the
// keyboard: a chain is added whose node is a tiny JSON-RPC stub on loopback, a dApp on that chain
// reads through it, the chain's node is changed to a second stub and the dApp reads through that
// one at once; bad input shows the daemon's reason; markup in a name stays text; the chain is
// removed and the dApp is back on the default chain. At 400 px nothing is wider than the window.
// Screenshots go to the output folder (argv[4]).
//
// Usage: node approval_page_chains.mjs PATH_TO_keybridged PATH_TO_keybridge OUTPUT_DIR
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { children, track } from "./lib/harness.mjs";

const keybridged = process.argv[2] ?? process.env.KEYBRIDGED;
const keybridge = process.argv[3] ?? process.env.KEYBRIDGE;
const outDir = process.argv[4] ?? process.env.KEYBRIDGE_TEST_OUTPUT ?? os.tmpdir();
if (!keybridged || !keybridge) {
  console.error("usage: node approval_page_chains.mjs PATH_TO_keybridged PATH_TO_keybridge [OUTPUT_DIR]");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const kDapp = "https://chains.example";
const kStep = 15_000;
const kKey = "KEY0123456789abcdef"; // an API key in a node URL's path: never shown, never logged

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-page-chains-"));
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function runCli(datadir, args) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(keybridge, ["--datadir", datadir, ...args, "--json"], {
        stdio: ["ignore", "pipe", "pipe"],
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

async function startDaemon(name) {
  const datadir = path.join(tmp, name);
  const args = ["--datadir", datadir, "--listen", "127.0.0.1:0", "--usb", "off", "--desktop-notifications", "off"];
  const child = track(spawn(keybridged, args, { stdio: ["ignore", "ignore", "pipe"] }));
  const daemon = { child, datadir, log: "" };
  daemon.port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keybridged did not report its port: ${daemon.log}`)), 15_000);
    child.stderr.on("data", (d) => {
      daemon.log += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(daemon.log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`keybridged exited with ${code}: ${daemon.log}`)));
  });
  return daemon;
}

// A JSON-RPC node on loopback that answers eth_chainId and eth_blockNumber, and counts calls.
async function startStub(chainId, blockNumber) {
  const stub = { calls: [], paths: [] };
  stub.server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      let request;
      try {
        request = JSON.parse(body);
      } catch {
        res.writeHead(400).end();
        return;
      }
      stub.calls.push(request.method);
      stub.paths.push(req.url);
      const answers = { eth_chainId: "0x" + chainId.toString(16), eth_blockNumber: blockNumber };
      const reply = request.method in answers ? { result: answers[request.method] } : { error: { code: -32601, message: "no such method" } };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: request.id, ...reply }));
    });
  });
  stub.server.listen(0, "127.0.0.1");
  await once(stub.server, "listening");
  stub.url = `http://127.0.0.1:${stub.server.address().port}/v3/${kKey}`;
  return stub;
}

// A dApp's call over HTTP with its page's Origin: the whole JSON-RPC answer.
async function dappCall(daemon, method, params = []) {
  const res = await fetch(`http://127.0.0.1:${daemon.port}/`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: kDapp },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return await res.json();
}

// Opens the daemon's page the way `keybridge ui` does: its launcher file.
async function openPage(context, daemon, seen) {
  const ui = await runCli(daemon.datadir, ["ui", "--no-open"]);
  const page = await context.newPage();
  page.on("request", (r) => seen.push(r.url()));
  page.on("websocket", (ws) => seen.push(ws.url()));
  await page.goto(`file://${ui.launcher}`);
  await page.waitForURL(ui.url, { timeout: kStep });
  await page.locator("#link-state", { hasText: "connected" }).waitFor({ timeout: kStep });
  return { page, url: ui.url };
}

let first;
let second;
let browser;
let context;
let pageA;
let pageB;
let stubOne;
let stubTwo;
let stubWrong;
const seen = [];

before(async () => {
  [first, second] = await Promise.all([startDaemon("first"), startDaemon("second")]);
  [stubOne, stubTwo, stubWrong] = await Promise.all([startStub(31338, "0x111"), startStub(31338, "0x222"), startStub(5, "0x5")]);
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  pageA = await openPage(context, first, seen);
  pageB = await openPage(context, second, seen);
});

let failed = false;
afterEach((t) => {
  if (!t.passed) failed = true;
});

after(async () => {
  if (failed) {
    await pageA?.page.screenshot({ path: path.join(outDir, "chains-failure.png"), fullPage: true }).catch(() => {});
    console.error(`first keybridged's log:\n${first?.log}\nsecond:\n${second?.log}`);
  }
  await browser?.close();
  for (const stub of [stubOne, stubTwo, stubWrong]) stub?.server.close();
  for (const d of [first, second]) {
    d?.child.kill("SIGTERM");
    if (d && d.child.exitCode === null) await once(d.child, "exit");
  }
});

test("two keybridged in one browser: each page keeps its own login", { timeout: 60_000 }, async () => {
  const cookies = await context.cookies();
  const names = cookies.map((c) => c.name).sort();
  assert.deepEqual(names, [`keybridge_page_${first.port}`, `keybridge_page_${second.port}`].sort());
  // The second login did not replace the first: both pages load again and reconnect.
  for (const { page, url } of [pageA, pageB]) {
    const res = await page.reload();
    assert.equal(res.status(), 200, url);
    await page.locator("#link-state", { hasText: "connected" }).waitFor({ timeout: kStep });
  }
  // Each daemon answers only to its own cookie: the first's value under the second's name is
  // refused, and the other way round.
  const value = (port) => cookies.find((c) => c.name === `keybridge_page_${port}`).value;
  const fetchPage = (port, cookie) => fetch(`http://127.0.0.1:${port}/ui/`, { headers: { cookie } });
  assert.equal((await fetchPage(first.port, `keybridge_page_${first.port}=${value(first.port)}`)).status, 200);
  assert.equal((await fetchPage(first.port, `keybridge_page_${first.port}=${value(second.port)}`)).status, 403);
  assert.equal((await fetchPage(first.port, `keybridge_page_${second.port}=${value(first.port)}`)).status, 403);
  assert.equal((await fetchPage(second.port, `keybridge_page_${second.port}=${value(second.port)}`)).status, 200);
});

test("chains view: add a chain with the keyboard, a dApp on it reads through its node", { timeout: 60_000 }, async () => {
  const page = pageA.page;
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("4"); // the Chains view
  await page.locator("#chains tr[data-chain]").first().waitFor({ timeout: kStep });
  await page.locator("#chain-add-id").focus();
  await page.keyboard.type("31338");
  await page.keyboard.press("Tab");
  await page.keyboard.type("Devnet <img src=x>");
  await page.keyboard.press("Tab");
  await page.keyboard.type(stubOne.url);
  await page.keyboard.press("Enter");
  const row = page.locator('#chains tr[data-chain="0x7a6a"]');
  await row.waitFor({ timeout: kStep });
  // The name is text, the node shows as scheme://host:port only.
  assert.match(await row.textContent(), /Devnet <img src=x>/);
  assert.equal(await page.locator("#chains img").count(), 0);
  assert.match(await row.locator("td.node").textContent(), new RegExp(`^http://127\\.0\\.0\\.1:${stubOne.server.address().port}$`));
  assert.ok(!(await page.content()).includes(kKey), "the node's key is not on the page");
  assert.match(await page.locator("#chain-status").textContent(), /added/);
  assert.ok(stubOne.calls.includes("eth_chainId"), "the node was asked which chain it serves");
  assert.ok(stubOne.paths.every((p) => p === `/v3/${kKey}`), "the whole URL reached the node");

  assert.equal((await dappCall(first, "wallet_switchEthereumChain", [{ chainId: "0x7a6a" }])).result, null);
  assert.equal((await dappCall(first, "eth_blockNumber")).result, "0x111");
});

test("chains view: a new node for the chain serves the dApp at once", { timeout: 60_000 }, async () => {
  const page = pageA.page;
  const row = page.locator('#chains tr[data-chain="0x7a6a"]');
  await row.getByRole("button", { name: "Change node" }).focus();
  await page.keyboard.press("Enter");
  const field = page.getByRole("textbox", { name: /New RPC node URL for Devnet/ });
  await field.waitFor({ timeout: kStep });
  assert.equal(await field.evaluate((el) => el === document.activeElement), true, "the URL field has the focus");
  await page.keyboard.type(stubTwo.url);
  await page.keyboard.press("Enter");
  await page.locator("#chain-status", { hasText: "now uses the new node" }).waitFor({ timeout: kStep });
  await page.locator('#chains tr[data-chain="0x7a6a"] td.node', { hasText: String(stubTwo.server.address().port) }).waitFor({ timeout: kStep });
  const before = stubOne.calls.length;
  assert.equal((await dappCall(first, "eth_blockNumber")).result, "0x222");
  assert.equal(stubOne.calls.length, before, "the old node is asked nothing more");
  await page.screenshot({ path: path.join(outDir, "approval-page-chains.png"), fullPage: true });
});

test("chains view: bad input shows the daemon's reason and changes nothing", { timeout: 60_000 }, async () => {
  const page = pageA.page;
  const add = async (id, name, url) => {
    await page.locator("#chain-add-id").fill(id);
    await page.locator("#chain-add-name").fill(name);
    await page.locator("#chain-add-url").fill(url);
    await page.locator("#chain-add").getByRole("button", { name: "Add chain" }).click();
  };
  await add("77", "Wrong node", stubWrong.url);
  await page.locator("#chain-error", { hasText: "serves chain 5, not 77" }).waitFor({ timeout: kStep });
  await add("78", "FTP", "ftp://127.0.0.1/");
  await page.locator("#chain-error", { hasText: /http:\/\/ or https:\/\// }).waitFor({ timeout: kStep });
  await add("31338", "Again", stubOne.url);
  await page.locator("#chain-error", { hasText: /known already/ }).waitFor({ timeout: kStep });
  await add("9007199254740992", "Too big", stubOne.url);
  await page.locator("#chain-error", { hasText: /2\^53-1/ }).waitFor({ timeout: kStep });
  const ids = await page.locator("#chains tr[data-chain]").evaluateAll((rows) => rows.map((r) => r.dataset.chain));
  assert.deepEqual(ids.sort(), ["0x1", "0x7a6a"]);
});

test("chains view at 400 px: nothing wider than the window", { timeout: 60_000 }, async () => {
  const page = pageA.page;
  await page.setViewportSize({ width: 400, height: 900 });
  await page.locator('#chains tr[data-chain="0x7a6a"]').getByRole("button", { name: "Change node" }).click();
  await sleep(100);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `the page is ${width} px wide at 400`);
  await page.screenshot({ path: path.join(outDir, "approval-page-chains-400px.png"), fullPage: true });
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.setViewportSize({ width: 1000, height: 900 });
});

test("chains view: removing the chain moves its dApp to the default chain; the key is in no log", { timeout: 60_000 }, async () => {
  const page = pageA.page;
  await page.locator('#chains tr[data-chain="0x7a6a"]').getByRole("button", { name: "Remove" }).click();
  await page.locator('#chains tr[data-chain="0x7a6a"]').waitFor({ state: "detached", timeout: kStep });
  assert.equal((await dappCall(first, "eth_chainId")).result, "0x1");
  // The configured default chain cannot be removed from the page.
  assert.equal(await page.locator('#chains tr[data-chain="0x1"]').getByRole("button", { name: "Remove" }).count(), 0);
  assert.ok(!first.log.includes(kKey), "the node's key is not logged");
  assert.match(first.log, /chain 31338 now uses http:\/\/127\.0\.0\.1:\d+/);
});

test("no request of either page left loopback", () => {
  assert.ok(seen.length > 5, `requests seen: ${seen}`);
  for (const url of seen) {
    const u = new URL(url);
    const local = u.protocol === "file:" || (u.hostname === "127.0.0.1" && [first.port, second.port].includes(Number(u.port)));
    assert.ok(local, `a page asked for ${url}`);
  }
});
