// The daemon's added latency over a raw APDU exchange with a Ledger (docs/BENCHMARKS.md, "Ledger"):
// personal_sign through keybridged (--speculos on keybridge_ledger_sim, which approves every prompt
// at once) against the same APDUs sent straight to a second simulator with the same seed (a
// Speculos APDU port serves one host at a time, and keybridged holds the first one's).
//
//   node bench/ledger_latency.mjs BUILD_DIR [REQUESTS]
//
// BUILD_DIR holds daemon/keybridged, cli/keybridge and tests/tools/ledger_sim/keybridge_ledger_sim
// (a Release build for figures worth quoting). ws and ethers come from tests/node/node_modules.
// Requests alternate between the two paths (raw, daemon, raw, ...) so that both see the same
// machine load. The daemon path is one WebSocket connection with the cookie token; a policy file
// approves personal_sign for it (no prompt), and eth_requestAccounts is approved once on the
// control socket with the Ledger account. The raw path sends what LedgerSigner sends for one
// personal_sign: "get address" (the check that the device still holds the account) and the
// message's APDUs. Every daemon answer is checked with ethers (recovers the Ledger account).
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const nodeRequire = createRequire(path.join(root, "tests/node/package.json"));
const WebSocket = nodeRequire("ws");
const { ethers } = nodeRequire("ethers");
const { startLedgerSim, SpeculosApdu, personalSignApdus, getAddressApdu } = await import(
  path.join(root, "tests/node/lib/ledger_sim.mjs")
);

const build = process.argv[2];
const requests = Number(process.argv[3] ?? 2000);
if (!build) {
  console.error("usage: node bench/ledger_latency.mjs BUILD_DIR [REQUESTS]");
  process.exit(2);
}
const bin = (p) => path.join(build, p);
const kPhrase =
  "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle " +
  "enact monster seven myth punch hobby comfort wild raise skin";
const kPath = "m/44'/60'/0'/0/0";
const kAddress = ethers.HDNodeWallet.fromPhrase(kPhrase, undefined, kPath).address;
const kMessage = "keybridge latency probe: sign in to dapp.example, nonce 0123456789abcdef";

const children = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keybridge-ledger-bench-"));
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const datadir = path.join(tmp, "data");

function run(binary, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: tmp } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${binary} ${args.join(" ")}: ${out}`))));
  });
}

function secret(name, text) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

// JSON-RPC over one connection (a WebSocket, or the control socket's newline-delimited JSON).
function rpcOver(send, onLine) {
  let next = 1;
  const calls = new Map();
  const handlers = [];
  onLine((line) => {
    const msg = JSON.parse(line);
    const call = calls.get(msg.id);
    if (call) {
      calls.delete(msg.id);
      if (msg.error) call.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else call.resolve(msg.result);
    } else for (const h of handlers) h(msg);
  });
  return {
    call(method, params = []) {
      const id = next++;
      send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
      return new Promise((resolve, reject) => calls.set(id, { resolve, reject }));
    },
    onNotification: (h) => handlers.push(h),
  };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (x) => x.toFixed(3);

// --- the two simulators, the vault and the daemon
const daemonSim = await startLedgerSim(bin("tests/tools/ledger_sim/keybridge_ledger_sim"));
const rawSim = await startLedgerSim(bin("tests/tools/ledger_sim/keybridge_ledger_sim"));
children.push(daemonSim.child, rawSim.child);
const password = secret("password", "ledger bench password\n");
await run(bin("cli/keybridge"), [
  "--datadir", datadir, "restore", "--mnemonic-file", secret("phrase", "test test test test test test test test test test test junk\n"),
  "--password-file", password, "--light-kdf",
]);
fs.writeFileSync(path.join(tmp, "policy"), "approve origin=local method=personal_sign\n");
const daemon = spawn(
  bin("daemon/keybridged"),
  ["--datadir", datadir, "--listen", "127.0.0.1:0", "--password-file", password, "--policy", path.join(tmp, "policy"),
    "--speculos", `127.0.0.1:${daemonSim.apduPort}`, "--usb", "off", "--rate-limit", "1000000", "--rate-burst", "1000000"],
  { stdio: ["ignore", "ignore", "pipe"] },
);
children.push(daemon);
let log = "";
const port = await new Promise((resolve, reject) => {
  daemon.stderr.on("data", (d) => {
    log += d;
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
    if (m) resolve(Number(m[1]));
  });
  daemon.on("exit", (code) => reject(new Error(`keybridged exited ${code}: ${log}`)));
});
const token = fs.readFileSync(path.join(datadir, ".cookie"), "utf8").trim();
const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { Authorization: `Bearer ${token}` } });
await once(ws, "open");
const daemonRpc = rpcOver((t) => ws.send(t), (h) => ws.on("message", (d) => h(String(d))));
for (let i = 0; ; i++) {
  const status = await daemonRpc.call("keybridge_status");
  const devices = await daemonRpc.call("keybridge_devices");
  if (status.unlocked && devices.some((d) => d.attached)) break;
  if (i > 400) throw new Error(`the daemon did not unlock or see the device: ${log}`);
  await sleep(50);
}
await run(bin("cli/keybridge"), ["--datadir", datadir, "account", "add", "--ledger", "--index", "0"]);
for (let i = 0; (await daemonRpc.call("keybridge_status")).accounts !== 2; i++) {
  if (i > 400) throw new Error("the daemon did not see the Ledger account");
  await sleep(50);
}
// The connect request, approved on the control socket with the Ledger account.
const control = net.createConnection(path.join(datadir, "keybridged.sock"));
await once(control, "connect");
let pending = "";
const approver = rpcOver(
  (t) => control.write(t + "\n"),
  (h) =>
    control.on("data", (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line) h(line);
      }
    }),
);
approver.onNotification((msg) => {
  const r = msg.params?.result;
  // The policy's approvals are announced too; only the connect request waits for a decision.
  if (msg.method === "eth_subscription" && r?.type === "added" && r.request.method === "eth_requestAccounts")
    approver
      .call("keybridge_decide", [r.request.id, "approve", { digest: r.request.digest, accounts: [kAddress] }])
      .catch((e) => console.error(`keybridge_decide ${r.request.id} (${r.request.method}): ${e.message}`));
});
await approver.call("eth_subscribe", ["keybridge_approvals"]);
const granted = await daemonRpc.call("eth_requestAccounts");
if (ethers.getAddress(granted[0]) !== kAddress) throw new Error(`granted ${granted}`);

// --- the raw path
const raw = new SpeculosApdu("127.0.0.1", rawSim.apduPort);
await raw.connect();
const rawApdus = [getAddressApdu(kPath), ...personalSignApdus(kPath, Buffer.from(kMessage))];
async function rawRequest() {
  let last;
  for (const apdu of rawApdus) {
    last = await raw.exchange(apdu);
    if (last.sw !== 0x9000) throw new Error(`raw APDU answered ${last.sw.toString(16)}`);
  }
  return last.data;
}
const messageHex = ethers.hexlify(ethers.toUtf8Bytes(kMessage));
async function daemonRequest() {
  return await daemonRpc.call("personal_sign", [messageHex, kAddress.toLowerCase()]);
}

// Warm-up, checks, then alternate.
const rawReply = await rawRequest();
const expected = ethers.Signature.from({
  v: rawReply[0],
  r: ethers.hexlify(rawReply.subarray(1, 33)),
  s: ethers.hexlify(rawReply.subarray(33, 65)),
}).serialized;
if (ethers.verifyMessage(kMessage, expected) !== kAddress) throw new Error("the raw signature does not verify");
for (let i = 0; i < 50; i++) {
  await rawRequest();
  if ((await daemonRequest()) !== expected) throw new Error("the daemon's signature differs from the raw one");
}
const apdusBefore = (await daemonSim.control.status()).apdus;
const rawTimes = [];
const daemonTimes = [];
const started = process.hrtime.bigint();
for (let i = 0; i < requests; i++) {
  let t0 = process.hrtime.bigint();
  await rawRequest();
  rawTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  t0 = process.hrtime.bigint();
  const signature = await daemonRequest();
  daemonTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (signature !== expected) throw new Error("the daemon's signature differs from the raw one");
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
// Each daemon request minus the raw request just before it: the added time, request by request.
const added = daemonTimes.map((t, i) => t - rawTimes[i]).sort((a, b) => a - b);
const apdusPerRequest = ((await daemonSim.control.status()).apdus - apdusBefore) / requests;
rawTimes.sort((a, b) => a - b);
daemonTimes.sort((a, b) => a - b);
const row = (name, t) => `| ${name} | ${ms(quantile(t, 0.5))} ms | ${ms(quantile(t, 0.9))} ms | ${ms(quantile(t, 0.99))} ms |`;
console.log(`personal_sign of ${kMessage.length} bytes, ${requests} requests per path, ${seconds.toFixed(1)} s`);
console.log(`APDUs per request: raw ${rawApdus.length}, the daemon's device ${apdusPerRequest.toFixed(2)} (with its ~1 s polls)`);
console.log("| Path | median | p90 | p99 |\n|---|---|---|---|");
console.log(row("raw APDUs to the simulator", rawTimes));
console.log(row("personal_sign through keybridged", daemonTimes));
console.log(row("paired difference (daemon - raw before it)", added));
console.log(
  `added by the daemon: medians ${ms(quantile(daemonTimes, 0.5) - quantile(rawTimes, 0.5))} ms apart, ` +
    `p99s ${ms(quantile(daemonTimes, 0.99) - quantile(rawTimes, 0.99))} ms apart; load average ${os.loadavg()[0].toFixed(2)}`,
);
ws.close();
raw.close();
control.end();
daemonSim.control.close();
rawSim.control.close();
daemon.kill("SIGTERM");
process.exit(0);
