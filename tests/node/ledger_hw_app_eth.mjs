// Ledger's own host library, @ledgerhq/hw-app-eth over @ledgerhq/hw-transport-node-speculos,
// drives keybridge's Ledger simulator (tests/tools/ledger_sim): get address, app configuration,
// personal messages, legacy / EIP-2930 / EIP-1559 transactions, EIP-712 hashed and full mode.
// Every signature is verified with ethers (it must recover to the address the device gave, and,
// on the simulator, to the address ethers derives from the seed phrase).
//
// Every APDU exchange hw-app-eth makes for the requests in
// tests/data/ledger/transcripts/requests.json is compared with the committed
// tests/data/ledger/transcripts/NAME.apdus ("=> hex" / "<= hex" lines): the test fails when
// hw-app-eth (or the simulator) changes what goes over the wire. Rewrite them deliberately with
// KEYBRIDGE_RECORD_TRANSCRIPTS=1.
//
// The typed-data messages hw-app-eth ships for its own tests are signed in full mode over
// keybridge core's digest, and the host's APDUs must match the vendor's recordings of them.
// ERC-20 descriptors and EIP-712 filters come Ledger-signed from @ledgerhq/cryptoassets-evm-
// signatures (offline).
//
// Then the simulator's device behaviours, through hw-app-eth where it has an API and raw APDUs
// where it does not: rejection on device, a held prompt answered later, blind signing off,
// descriptors (forged ones refused), the vendor's 25 filtered recordings replayed (CAL test key),
// locked, dashboard, another app, app versions too old for a feature, the legacy
// short-last-chunk quirk, chunking and status-word rules, unplugging mid-request.
//
// Usage: node ledger_hw_app_eth.mjs PATH_TO_keybridge_ledger_sim PATH_TO_core_oracle
// KEYBRIDGE_SPECULOS=host:port targets a real Speculos (the Ethereum app, blind signing enabled,
// prompts approved by a person or Speculos automation) instead: the requests run and verify; the
// transcript check compares the host's APDUs only, and is skipped (with a visible notice) when
// the app version differs from the recorded one; the simulator-only behaviours are skipped.
// The descriptor and filter requests carry Ledger's production signatures: a Speculos running an
// app built with the CAL test key refuses them (0x6A80), a release build accepts them.
// ledger_speculos_mode.mjs runs this mode against the simulator as an outside process.
//
// No network: hw-app-eth gets explicit resolutions (null, or resolved offline) and a load config
// without Ledger's services, and every HTTP(S) request in this process fails and is counted
// (must stay 0).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import readline from "node:readline";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { ethers } from "ethers";
import { Oracle } from "./lib/oracle.mjs";

// The packages' ES module builds use extension-less imports that Node's ESM loader refuses; their
// CommonJS builds are the ones Node runs.
const require = createRequire(import.meta.url);
const EthModule = require("@ledgerhq/hw-app-eth");
const SpeculosModule = require("@ledgerhq/hw-transport-node-speculos");
const Eth = EthModule.default ?? EthModule;
const SpeculosTransport = SpeculosModule.default ?? SpeculosModule;

const here = path.dirname(fileURLToPath(import.meta.url));
const transcriptDir = path.join(here, "..", "data", "ledger", "transcripts");
const spec = JSON.parse(fs.readFileSync(path.join(transcriptDir, "requests.json"), "utf8"));
const record = process.env.KEYBRIDGE_RECORD_TRANSCRIPTS === "1";
const speculos = process.env.KEYBRIDGE_SPECULOS;
const simPath = process.argv[2];
const oraclePath = process.argv[3];
if ((!speculos && !simPath) || !oraclePath) {
  console.error("usage: node ledger_hw_app_eth.mjs PATH_TO_keybridge_ledger_sim PATH_TO_core_oracle");
  process.exit(2);
}

// ---- no network ----
let networkAttempts = 0;
for (const mod of [http, https]) {
  const refuse = () => {
    networkAttempts += 1;
    throw new Error("network access attempted during the Ledger test");
  };
  mod.request = refuse;
  mod.get = refuse;
}
globalThis.fetch = async () => {
  networkAttempts += 1;
  throw new Error("network access attempted during the Ledger test");
};
// ERC-20 descriptors and EIP-712 filters signed by Ledger, from the npm package (no CAL lookup
// at run time).
const erc20Signatures = (chainId) =>
  require(`@ledgerhq/cryptoassets-evm-signatures/data/evm/${chainId}/index`).signatures;
const eip712Filters = require("@ledgerhq/cryptoassets-evm-signatures/data/eip712_v2");
const loadConfig = {
  calServiceURL: null,
  cryptoassetsBaseURL: null,
  nftExplorerBaseURL: null,
  pluginBaseURL: null,
  extraPlugins: null,
  staticERC20Signatures: { 1: erc20Signatures(1) },
};
// For the requests that expect filters: the package's EIP-712 filters (v2) too.
const filteringLoadConfig = {
  ...loadConfig,
  staticERC20Signatures: { 1: erc20Signatures(1), 137: erc20Signatures(137) },
  staticEIP712SignaturesV2: eip712Filters.default ?? eip712Filters,
};
const vendorFixtures = path.join(here, "node_modules", "@ledgerhq", "hw-app-eth", "tests", "fixtures");
const erc20Only = { erc20: true, externalPlugins: false, nft: false, uniswapV3: false };

// ---- bookkeeping ----
const failures = [];
let passed = 0;
async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}
function assertEq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: got ${actual}, expected ${expected}`);
}
async function expectStatus(promise, statusCode, what) {
  try {
    await promise;
  } catch (e) {
    if (e?.statusCode === statusCode) return e;
    throw new Error(`${what}: expected status 0x${statusCode.toString(16)}, got ${e?.statusCode ?? e}`);
  }
  throw new Error(`${what}: expected status 0x${statusCode.toString(16)}, but it succeeded`);
}

// ---- the simulator process ----
class Simulator {
  static async start(binary, args) {
    const sim = new Simulator();
    sim.child = spawn(binary, ["--port", "0", ...args], { stdio: ["pipe", "pipe", "inherit"] });
    sim.lines = [];
    sim.waiters = [];
    sim.exited = new Promise((resolve) => sim.child.on("exit", resolve));
    readline.createInterface({ input: sim.child.stdout }).on("line", (line) => {
      const waiter = sim.waiters.shift();
      if (waiter) waiter(line);
      else sim.lines.push(line);
    });
    const ready = await sim.nextLine();
    const match = /^ready apdu_port=(\d+) control_port=\d+$/.exec(ready);
    if (!match) throw new Error(`simulator said: ${ready}`);
    sim.port = Number(match[1]);
    return sim;
  }
  nextLine() {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("simulator did not answer")), 10000);
      this.waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }
  // Sends one control line; the answer must start with "ok" unless allowError.
  async control(line, allowError = false) {
    this.child.stdin.write(line + "\n");
    const answer = await this.nextLine();
    if (!allowError && !answer.startsWith("ok")) throw new Error(`control '${line}': ${answer}`);
    return answer;
  }
  async stop() {
    this.child.stdin.end();
    await this.exited;
  }
}

// ---- requests ----
const toBig = (v) => (v === undefined || v === null ? undefined : BigInt(v));

function buildTransaction(t) {
  let data = t.data ?? "0x";
  if (t.dataRepeat) data = "0x" + t.dataRepeat.byte.repeat(t.dataRepeat.count);
  const fields = {
    type: t.type,
    chainId: toBig(t.chainId),
    nonce: Number(t.nonce),
    gasLimit: toBig(t.gasLimit),
    to: t.to,
    value: toBig(t.value),
    data,
  };
  if (t.type === 2) {
    fields.maxPriorityFeePerGas = toBig(t.maxPriorityFeePerGas);
    fields.maxFeePerGas = toBig(t.maxFeePerGas);
  } else {
    fields.gasPrice = toBig(t.gasPrice);
  }
  if (t.accessList) fields.accessList = t.accessList;
  return ethers.Transaction.from(fields);
}

const withoutDomain = (types) => {
  const { EIP712Domain, ...rest } = types;
  return rest;
};

// Expected address for a path on the simulator (Speculos's default phrase); null on a Speculos.
function expectedAddress(p) {
  if (speculos) return null;
  return ethers.HDNodeWallet.fromPhrase(spec.simulatorPhrase ?? defaultPhrase, undefined, "m/" + p)
    .address;
}
const defaultPhrase =
  "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle " +
  "enact monster seven myth punch hobby comfort wild raise skin";

// Runs one request, verifies its result with ethers; returns a short description.
async function runRequest(eth, req) {
  // The signer's address, asked outside the recorded exchanges (the transcript holds the
  // request's own APDUs only).
  const addressOf = async (p) => {
    const recording = log.on;
    log.on = false;
    const { address } = await eth.getAddress(p, false, false).finally(() => (log.on = recording));
    const expected = expectedAddress(p);
    if (expected) assertEq(address, expected, `address at ${p}`);
    return address;
  };
  switch (req.method) {
    case "getAddress": {
      const result = await eth.getAddress(req.path, !!req.display, !!req.chainCode, req.chainId);
      assertEq(ethers.computeAddress("0x" + result.publicKey), result.address, "address of public key");
      const expected = expectedAddress(req.path);
      if (expected) {
        assertEq(result.address, expected, "address");
        if (req.chainCode) {
          const node = ethers.HDNodeWallet.fromPhrase(defaultPhrase, undefined, "m/" + req.path);
          assertEq("0x" + result.chainCode, node.chainCode, "chain code");
        }
      }
      return null;
    }
    case "getAppConfiguration": {
      const cfg = await eth.getAppConfiguration();
      assert(/^\d+\.\d+\.\d+$/.test(cfg.version), `version ${cfg.version}`);
      return cfg;
    }
    case "signPersonalMessage": {
      const message = ethers.toUtf8Bytes(req.messageText);
      const result = await eth.signPersonalMessage(req.path, Buffer.from(message).toString("hex"));
      const signature = "0x" + result.r + result.s + result.v.toString(16);
      const expected = await addressOf(req.path);
      assertEq(ethers.verifyMessage(message, signature), expected, "personal_sign signer");
      return null;
    }
    case "signTransaction": {
      const tx = buildTransaction(req.tx);
      const raw = tx.unsignedSerialized.slice(2);
      let resolution = null;
      if (req.resolve === "erc20") {
        resolution = await eth.ledgerService.resolveTransaction(raw, loadConfig, erc20Only);
        assertEq(resolution.erc20Tokens.length, 1, "ERC-20 descriptors resolved offline");
      }
      const result = await eth.signTransaction(req.path, raw, resolution);
      const signature =
        tx.type === 0
          ? ethers.Signature.from({ r: "0x" + result.r, s: "0x" + result.s, v: BigInt("0x" + result.v) })
          : ethers.Signature.from({
              r: "0x" + result.r,
              s: "0x" + result.s,
              yParity: Number(BigInt("0x" + result.v)),
            });
      const signed = tx.clone();
      signed.signature = signature;
      const expected = await addressOf(req.path);
      assertEq(signed.from, expected, `signer of the type-${tx.type} transaction`);
      // The signed transaction decodes back (what a node would receive).
      assertEq(ethers.Transaction.from(signed.serialized).from, expected, "decoded signer");
      return null;
    }
    case "signEIP712HashedMessage":
    case "signEIP712Message": {
      // typedDataFixture names one of the messages hw-app-eth ships for its own tests.
      const typed = req.typedDataFixture
        ? JSON.parse(fs.readFileSync(path.join(vendorFixtures, "messages", req.typedDataFixture), "utf8"))
        : spec.typedData[req.typedData];
      const types = withoutDomain(typed.types);
      let result;
      if (req.method === "signEIP712HashedMessage") {
        const domainSeparator = ethers.TypedDataEncoder.hashDomain(typed.domain);
        const hashStruct = ethers.TypedDataEncoder.from(types).hash(typed.message);
        result = await eth.signEIP712HashedMessage(
          req.path,
          domainSeparator.slice(2),
          hashStruct.slice(2),
        );
      } else {
        if (req.expectFilters) eth.setLoadConfig(filteringLoadConfig);
        try {
          result = await eth.signEIP712Message(req.path, typed);
        } finally {
          eth.setLoadConfig(loadConfig);
        }
      }
      const signature = "0x" + result.r + result.s + result.v.toString(16);
      const expected = await addressOf(req.path);
      assertEq(
        ethers.verifyTypedData(typed.domain, types, typed.message, signature),
        expected,
        "typed data signer",
      );
      if (req.expectFilters && sim) {
        // The Ledger-signed filters were accepted: the device showed their labels.
        const shown = await sim.control("last-prompt");
        for (const label of req.expectFilters) assert(shown.includes(label + ";"), `${label} not in ${shown}`);
      }
      return null;
    }
    default:
      throw new Error(`unknown method ${req.method}`);
  }
}

// Opens a transport whose exchanges are recorded into `log` while `log.on` is true.
async function openTransport(host, port, log) {
  const transport = await SpeculosTransport.open({ apduPort: port, host });
  const exchange = transport.exchange.bind(transport);
  transport.exchange = async (apdu) => {
    if (log.on) log.lines.push("=> " + apdu.toString("hex"));
    const answer = await exchange(apdu);
    if (log.on) log.lines.push("<= " + answer.toString("hex"));
    return answer;
  };
  return transport;
}

function compareTranscript(name, lines, hostOnly) {
  const file = path.join(transcriptDir, `${name}.apdus`);
  const text = lines.join("\n") + "\n";
  if (record) {
    fs.writeFileSync(file, text);
    return;
  }
  assert(fs.existsSync(file), `${file} is missing (record with KEYBRIDGE_RECORD_TRANSCRIPTS=1)`);
  let expected = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length);
  let actual = lines;
  if (hostOnly) {
    expected = expected.filter((l) => l.startsWith("=>"));
    actual = actual.filter((l) => l.startsWith("=>"));
  }
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (expected[i] !== actual[i]) {
      throw new Error(
        `${name}.apdus differs at exchange line ${i + 1}:\n  committed: ${expected[i]}\n  now:       ${actual[i]}`,
      );
    }
  }
}

// ---- main ----
let sim = null;
let host = "127.0.0.1";
let port;
if (speculos) {
  const [h, p] = speculos.split(":");
  host = h;
  port = Number(p);
  console.log(`target: Speculos at ${speculos}`);
} else {
  sim = await Simulator.start(simPath, [
    "--app-version",
    spec.recordedWith.appVersion,
    "--blind-signing",
    spec.recordedWith.blindSigning ? "on" : "off",
  ]);
  port = sim.port;
  console.log(`target: keybridge_ledger_sim on port ${port}`);
}

const log = { on: false, lines: [] };
let transport = await openTransport(host, port, log);
let eth = new Eth(transport, "w0w", loadConfig);

const config = await eth.getAppConfiguration();
let hostOnly = false;
let skipTranscripts = false;
if (speculos) {
  hostOnly = true;
  if (config.version !== spec.recordedWith.appVersion) {
    skipTranscripts = true;
    console.log(
      `NOTICE transcript check SKIPPED: Speculos runs Ethereum app ${config.version}, ` +
        `transcripts were recorded with ${spec.recordedWith.appVersion}`,
    );
  }
}

for (const req of spec.requests) {
  await check(`request ${req.name}`, async () => {
    log.lines = [];
    log.on = true;
    try {
      await runRequest(eth, req);
    } finally {
      log.on = false;
    }
    if (!skipTranscripts) compareTranscript(req.name, log.lines, hostOnly);
  });
}

// The typed-data messages and APDU recordings hw-app-eth ships for its own tests: every message
// is signed in full mode and its signature must be over the digest keybridge core computes (and
// ethers too, where ethers accepts the message; it refuses unused types and bad checksums); the
// host's APDUs must be the ones in the vendor's recording (after its app-version exchange).
{
  const fixtures = path.join(
    here,
    "node_modules",
    "@ledgerhq",
    "hw-app-eth",
    "tests",
    "fixtures",
  );
  const oracle = new Oracle(oraclePath);
  const path0 = "44'/60'/0'/0/0";
  const { address } = await eth.getAddress(path0);
  const signer = speculos ? null : ethers.HDNodeWallet.fromPhrase(defaultPhrase, undefined, "m/" + path0);
  const names = fs.readdirSync(path.join(fixtures, "messages")).filter((n) => n.endsWith(".json"));
  let replayed = 0;
  assert(names.length >= 20, `only ${names.length} vendor messages`);
  for (const name of names.sort()) {
    await check(`vendor typed data ${name}`, async () => {
      const typed = JSON.parse(fs.readFileSync(path.join(fixtures, "messages", name), "utf8"));
      log.lines = [];
      log.on = true;
      let result;
      try {
        result = await eth.signEIP712Message(path0, typed);
      } finally {
        log.on = false;
      }
      const signature = "0x" + result.r + result.s + result.v.toString(16);
      // core's digest (its signature too, on the simulator: both sign deterministically)
      const key = signer ? signer.privateKey : "0x" + "11".repeat(32);
      const core = await oracle.call("typed_v4", { key, typedData: typed });
      assert(core.ok !== false, `core refused the message: ${core.error}`);
      assertEq(ethers.recoverAddress(core.digest, signature), address, "signer of core's digest");
      if (signer) assertEq(signature, core.signature, "signature as core makes it");
      let ethersDigest = null;
      try {
        const { EIP712Domain, ...types } = typed.types;
        ethersDigest = ethers.TypedDataEncoder.hash(typed.domain, types, typed.message);
      } catch {
        // ethers refuses this message; core's digest stands alone
      }
      if (ethersDigest) assertEq(ethersDigest, core.digest, "ethers' digest");
      // The vendor's tests pair N.apdus with N.json, 14bis.json and N-<name>.json (the
      // empty-array messages are recorded only with filters, which need Ledger's signatures).
      const paired = /^(\d+)(bis|-permit2?|-uniswapx|-1inch-fusion)?\.json$/.exec(name);
      const recording = paired && path.join(fixtures, "apdus", `${paired[1]}.apdus`);
      if (recording) {
        const vendor = fs
          .readFileSync(recording, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("=> "));
        const ours = log.lines.filter((l) => l.startsWith("=> ") && !l.startsWith("=> b001"));
        assertEq(ours.length, vendor.length, "number of APDUs against the vendor's recording");
        for (let i = 0; i < ours.length; i++) assertEq(ours[i], vendor[i], `APDU ${i + 1}`);
        replayed += 1;
      }
    });
  }
  oracle.close();
  await check("vendor APDU recordings compared", async () => {
    assert(replayed >= 20, `only ${replayed} of hw-app-eth's recordings compared`);
  });
}

// hw-app-eth's chunking is what the transcripts pin; these make the properties explicit.
await check("legacy transaction chunks never end 3 bytes or fewer past a 255 boundary", async () => {
  const lines = fs
    .readFileSync(path.join(transcriptDir, "tx_legacy_short_last_chunk.apdus"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("=> e004"));
  assert(lines.length >= 2, "the request needs several chunks");
  const sizes = lines.map((l) => (l.length - 3) / 2 - 5);
  assert(sizes[0] < 255, `first chunk ${sizes[0]} bytes: hw-app-eth shrinks the chunks here`);
  assert(sizes.at(-1) > 3, `last chunk of ${sizes.at(-1)} bytes`);
});

if (!sim) {
  console.log(
    "NOTICE simulator-only behaviours SKIPPED (they script the user and the device state, " +
      "which a Speculos target cannot do through this test)",
  );
} else {
  const path0 = "44'/60'/0'/0/0";
  const address0 = expectedAddress(path0);
  const send = (cla, ins, p1, p2, data) =>
    transport.send(cla, ins, p1, p2, data ?? Buffer.alloc(0), [0x9000]);
  const pathBytes = (p) => {
    const parts = p.split("/");
    const buffer = Buffer.alloc(1 + parts.length * 4);
    buffer[0] = parts.length;
    parts.forEach((part, i) => {
      const hardened = part.endsWith("'");
      buffer.writeUInt32BE((parseInt(part, 10) + (hardened ? 0x80000000 : 0)) >>> 0, 1 + 4 * i);
    });
    return buffer;
  };
  const hello = Buffer.from("hello").toString("hex");
  const transfer = buildTransaction(spec.requests.find((r) => r.name === "tx_legacy_transfer").tx);
  const contractCall = buildTransaction(
    spec.requests.find((r) => r.name === "tx_legacy_contract_call").tx,
  );

  await check("user rejects on device: 0x6985", async () => {
    await sim.control("reject");
    try {
      await expectStatus(eth.signPersonalMessage(path0, hello), 0x6985, "personal message");
      await expectStatus(eth.getAddress(path0, true), 0x6985, "address shown on device");
      await expectStatus(
        eth.signTransaction(path0, transfer.unsignedSerialized.slice(2), null),
        0x6985,
        "transaction",
      );
      // Silent address requests need no confirmation.
      assertEq((await eth.getAddress(path0)).address, address0, "silent address");
    } finally {
      await sim.control("approve");
    }
  });

  await check("held prompt: the request waits until the user presses", async () => {
    await sim.control("hold");
    try {
      let settled = false;
      const pending = eth.signPersonalMessage(path0, hello).finally(() => (settled = true));
      const prompt = await sim.control("wait-prompt 5000");
      assert(prompt.includes("Sign message (5 bytes)"), prompt);
      await new Promise((r) => setTimeout(r, 100));
      assert(!settled, "answered before the user pressed");
      await sim.control("press approve");
      const result = await pending;
      const signature = "0x" + result.r + result.s + result.v.toString(16);
      assertEq(ethers.verifyMessage("hello", signature), address0, "signer");
      // A queued answer is used once, then the mode applies again.
      // (the outcome is caught at once: the rejection may arrive before the control answer)
      const second = eth.signPersonalMessage(path0, hello).then(() => null, (e) => e);
      await sim.control("wait-prompt 5000");
      await sim.control("press reject");
      assertEq((await second)?.statusCode, 0x6985, "rejected after hold");
    } finally {
      await sim.control("approve");
    }
  });

  await check("blind signing off: contract data refused with 0x6A80, plain transfers sign", async () => {
    await sim.control("blind off");
    try {
      const cfg = await eth.getAppConfiguration();
      assertEq(cfg.arbitraryDataEnabled, 0, "blind signing flag");
      let error = null;
      try {
        await eth.signTransaction(path0, contractCall.unsignedSerialized.slice(2), null);
      } catch (e) {
        error = e;
      }
      assert(error, "contract call signed with blind signing off");
      assertEq(error.name, "EthAppPleaseEnableContractData", "hw-app-eth's error");
      await eth.signTransaction(path0, transfer.unsignedSerialized.slice(2), null);
    } finally {
      await sim.control("blind on");
    }
    assertEq((await eth.getAppConfiguration()).arbitraryDataEnabled, 1, "blind signing flag");
  });

  // hw-app-eth's recordings of filtered typed-data flows (filters and token descriptors signed
  // with Ledger's CAL test key), replayed APDU by APDU: every status word as recorded, every
  // signature verified by the simulator, and the final signature over core's digest.
  await check("vendor filtered EIP-712 recordings replay (CAL test key trusted)", async () => {
    const fixtures = path.join(here, "node_modules", "@ledgerhq", "hw-app-eth", "tests", "fixtures");
    const messages = fs.readdirSync(path.join(fixtures, "messages"));
    const recordings = fs.readdirSync(path.join(fixtures, "apdus")).filter((n) => n.includes("-filtered-"));
    assert(recordings.length >= 25, `only ${recordings.length} filtered recordings`);
    const oracle = new Oracle(oraclePath);
    const signer = ethers.HDNodeWallet.fromPhrase(defaultPhrase, undefined, "m/" + path0);
    await sim.control("cal-test-key on");
    try {
      for (const name of recordings.sort()) {
        // "N-filtered-vK" pairs with message N ("N-<name>.json" for the later ones),
        // "1-filtered-empty-array-L-level(s)-v2" with "1-empty-array-L-level(s).json".
        const base = name.replace(/-filtered/, "").replace(/-v\d\.apdus$/, "");
        const message =
          messages.find((m) => m === `${base}.json`) ??
          messages.find((m) => m.startsWith(`${base}-`));
        assert(message, `no message for ${name}`);
        const typed = JSON.parse(fs.readFileSync(path.join(fixtures, "messages", message), "utf8"));
        const lines = fs.readFileSync(path.join(fixtures, "apdus", name), "utf8").split("\n");
        let last = null;
        for (let i = 0; i < lines.length; i++) {
          if (!lines[i].startsWith("=> ")) continue;
          const apdu = Buffer.from(lines[i].slice(3), "hex");
          const recorded = lines[i + 1].slice(3);
          const answer = await transport.exchange(apdu);
          const sw = answer.subarray(-2).toString("hex");
          assertEq(sw, recorded.slice(-4), `${name}: status of APDU ${lines[i].slice(3, 40)}…`);
          if (apdu[1] === 0x0a) assertEq(answer.length, 3, `${name}: descriptor slot answered`);
          last = answer;
        }
        assertEq(last.length, 67, `${name}: final signature`);
        const core = await oracle.call("typed_v4", { key: signer.privateKey, typedData: typed });
        assert(core.ok !== false, `${name}: core refused ${message}: ${core.error}`);
        const v = last[0];
        const signature = "0x" + last.subarray(1, 65).toString("hex") + v.toString(16);
        assertEq(signature, core.signature, `${name}: signature over core's digest of ${message}`);
        const prompt = await sim.control("last-prompt");
        assert(prompt.includes("["), `${name}: the filters are not shown: ${prompt}`);
      }
    } finally {
      oracle.close();
      await sim.control("cal-test-key off");
    }
    // Without the test key the same filters are refused (release apps trust production only).
    const first = fs
      .readFileSync(path.join(fixtures, "apdus", "0-filtered-v1.apdus"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("=> "))
      .map((l) => Buffer.from(l.slice(3), "hex"));
    let refused = null;
    for (const apdu of first) {
      const answer = await transport.exchange(apdu);
      const sw = answer.subarray(-2).readUInt16BE(0);
      if (sw !== 0x9000) {
        refused = { ins: apdu[1], p2: apdu[3], sw };
        break;
      }
    }
    assert(refused, "test-key filters accepted without the test key");
    assertEq(refused.ins, 0x1e, "the first refused APDU is a filter");
    assertEq(refused.sw, 0x6a80, "status of a filter signed with an untrusted key");
  });

  await check("a Permit's amount filter needs the verifying contract's descriptor: 0x6A80 without", async () => {
    // hw-app-eth looks the token up for coin_ref 255 without its static signatures, so offline it
    // sends no INS 0x0A for the verifying contract and the app cannot join the amount to a token.
    // (A host must send that descriptor itself before the filters.)
    const typed = JSON.parse(
      fs.readFileSync(path.join(vendorFixtures, "messages", "15-permit.json"), "utf8"),
    );
    const sent = [];
    const exchange = transport.exchange;
    transport.exchange = async (apdu) => {
      sent.push(apdu.subarray(0, 4).toString("hex"));
      return exchange(apdu);
    };
    eth.setLoadConfig(filteringLoadConfig);
    try {
      await expectStatus(eth.signEIP712Message(path0, typed), 0x6a80, "Permit with filters");
    } finally {
      eth.setLoadConfig(loadConfig);
      transport.exchange = exchange;
    }
    assertEq(sent.at(-1), "e01e00fe", "refused at the amount-join value filter");
    assert(!sent.includes("e00a0000"), "a descriptor was sent after all");
  });

  await check("ERC-20 descriptors signed by Ledger: clear signing without blind signing", async () => {
    const req = spec.requests.find((r) => r.name === "tx_erc20_transfer_described");
    const raw = buildTransaction(req.tx).unsignedSerialized.slice(2);
    const resolution = await eth.ledgerService.resolveTransaction(raw, loadConfig, erc20Only);
    const descriptor = Buffer.from(resolution.erc20Tokens[0], "hex");
    await sim.control("blind off");
    try {
      await eth.signTransaction(path0, raw, resolution);
      const shown = await sim.control("last-prompt");
      assert(shown.includes("Send 1.5 USDC to 0x7777777777777777777777777777777777777777"), shown);
      // Without the descriptor the app cannot show the call.
      const error = await eth.signTransaction(path0, raw, null).then(() => null, (e) => e);
      assertEq(error?.name, "EthAppPleaseEnableContractData", "undescribed token call");
      // A descriptor whose signature does not verify against Ledger's key is refused.
      const forged = Buffer.from(descriptor);
      forged[forged.length - 1] ^= 0x01;
      await expectStatus(send(0xe0, 0x0a, 0x00, 0x00, forged), 0x6a80, "forged descriptor");
      const renamed = Buffer.from(descriptor);
      renamed[1] ^= 0x20; // "USDC" -> "uSDC"
      await expectStatus(send(0xe0, 0x0a, 0x00, 0x00, renamed), 0x6a80, "altered ticker");
      // A descriptor serves one transaction.
      const answer = await send(0xe0, 0x0a, 0x00, 0x00, descriptor);
      assertEq(answer.length, 3, "slot index answered");
      await eth.signTransaction(path0, raw, null);
      const again = await eth.signTransaction(path0, raw, null).then(() => null, (e) => e);
      assertEq(again?.name, "EthAppPleaseEnableContractData", "descriptor used twice");
    } finally {
      await sim.control("blind on");
    }
  });

  await check("locked device: 0x5515 for everything", async () => {
    await sim.control("lock");
    try {
      await expectStatus(eth.getAddress(path0), 0x5515, "get address");
      await expectStatus(eth.getAppConfiguration(), 0x5515, "app configuration");
      await expectStatus(send(0xb0, 0x01, 0, 0), 0x5515, "get app and version");
    } finally {
      await sim.control("unlock");
    }
    await eth.getAddress(path0);
  });

  await check("dashboard: E0 commands 0x6D00, B0 01 names BOLOS", async () => {
    await sim.control("dashboard");
    try {
      await expectStatus(eth.getAddress(path0), 0x6d00, "get address");
      const answer = await send(0xb0, 0x01, 0, 0);
      assertEq(answer.subarray(2, 2 + answer[1]).toString("ascii"), "BOLOS", "app name");
    } finally {
      await sim.control("open ethereum");
    }
    const answer = await send(0xb0, 0x01, 0, 0);
    assertEq(answer.subarray(2, 2 + answer[1]).toString("ascii"), "Ethereum", "app name");
  });

  await check("another app open: E0 commands 0x6E00", async () => {
    await sim.control("open Bitcoin");
    try {
      await expectStatus(eth.getAddress(path0), 0x6e00, "get address");
      const answer = await send(0xb0, 0x01, 0, 0);
      assertEq(answer.subarray(2, 2 + answer[1]).toString("ascii"), "Bitcoin", "app name");
    } finally {
      await sim.control("open ethereum");
    }
  });

  await check("app versions gate EIP-712 full mode, hashed mode and typed transactions", async () => {
    const typed = spec.typedData.mail;
    const types = withoutDomain(typed.types);
    try {
      await sim.control("version 1.9.18");
      assertEq((await eth.getAppConfiguration()).version, "1.9.18", "reported version");
      await expectStatus(eth.signEIP712Message(path0, typed), 0x6d00, "full mode on 1.9.18");
      const result = await eth.signEIP712HashedMessage(
        path0,
        ethers.TypedDataEncoder.hashDomain(typed.domain).slice(2),
        ethers.TypedDataEncoder.from(types).hash(typed.message).slice(2),
      );
      const signature = "0x" + result.r + result.s + result.v.toString(16);
      assertEq(ethers.verifyTypedData(typed.domain, types, typed.message, signature), address0, "hashed signer");
      await sim.control("version 1.4.0");
      await expectStatus(
        eth.signEIP712HashedMessage(path0, "11".repeat(32), "22".repeat(32)),
        0x6d00,
        "hashed mode on 1.4.0",
      );
      await sim.control("version 1.8.0");
      const tx1559 = buildTransaction(spec.requests.find((r) => r.name === "tx_eip1559").tx);
      await expectStatus(
        eth.signTransaction(path0, tx1559.unsignedSerialized.slice(2), null),
        0x6501,
        "EIP-1559 on 1.8.0 (transaction type not supported)",
      );
    } finally {
      await sim.control(`version ${spec.recordedWith.appVersion}`);
    }
  });

  await check("legacy quirk: a chunk ending right before v signs without chain id", async () => {
    const raw = Buffer.from(transfer.unsignedSerialized.slice(2), "hex");
    // The last 3 bytes are v (chain id 1), r and s: 01 80 80.
    assertEq(raw.subarray(-3).toString("hex"), "018080", "tail of the transaction");
    const head = raw.subarray(0, raw.length - 3);
    const answer = await send(0xe0, 0x04, 0x00, 0x00, Buffer.concat([pathBytes(path0), head]));
    assertEq(answer.length, 65 + 2, "the app signed after the first chunk");
    const v = answer[0];
    assert(v === 27 || v === 28, `v ${v}: no chain id`);
    const signature = ethers.Signature.from({
      r: "0x" + answer.subarray(1, 33).toString("hex"),
      s: "0x" + answer.subarray(33, 65).toString("hex"),
      v,
    });
    const recovered = ethers.recoverAddress(ethers.keccak256(head), signature);
    assertEq(recovered, address0, "signature over the bytes received");
    // The rest of the transaction no longer belongs to a signature in progress.
    await expectStatus(send(0xe0, 0x04, 0x80, 0x00, raw.subarray(-3)), 0x6985, "late chunk");
  });

  await check("APDU rules: sequencing, P1/P2, paths, unknown INS and CLA", async () => {
    const raw = Buffer.from(transfer.unsignedSerialized.slice(2), "hex");
    await expectStatus(send(0xe0, 0x04, 0x80, 0x00, raw), 0x6985, "continuation without start");
    await expectStatus(send(0xe0, 0x04, 0x01, 0x00, raw), 0x6b00, "bad P1");
    await expectStatus(send(0xe0, 0x02, 0x02, 0x00, pathBytes(path0)), 0x6b00, "bad display P1");
    const deep = pathBytes("1/2/3/4/5/6/7/8/9/10/11");
    await expectStatus(send(0xe0, 0x02, 0x00, 0x00, deep), 0x6a80, "11-level path");
    await expectStatus(send(0xe0, 0x08, 0x00, 0x00, Buffer.concat([pathBytes(path0), Buffer.from([0, 0, 0, 2]), Buffer.from("abc")])), 0x6a80, "message longer than declared");
    await expectStatus(send(0xe0, 0xff, 0x00, 0x00), 0x6d00, "unknown INS");
    await expectStatus(send(0xe1, 0x02, 0x00, 0x00, pathBytes(path0)), 0x6e00, "unknown CLA");
    await expectStatus(
      send(0xe0, 0x1e, 0x00, 0x0f, Buffer.from([0])),
      0x6985,
      "EIP-712 message info without filtering activated",
    );
    // An EIP-4844 (type 3) transaction is not signed.
    await expectStatus(
      send(0xe0, 0x04, 0x00, 0x00, Buffer.concat([pathBytes(path0), Buffer.from("03c180", "hex")])),
      0x6501,
      "blob transaction",
    );
    await expectStatus(send(0xe0, 0x0c, 0x00, 0x01, pathBytes(path0)), 0x6a80, "full EIP-712 sign without data");
    // A legacy transaction whose RLP runs past its list is refused.
    const bad = Buffer.concat([pathBytes(path0), raw, Buffer.from([0x80])]);
    await expectStatus(send(0xe0, 0x04, 0x00, 0x00, bad), 0x6a80, "trailing bytes");
  });

  await check("unplug mid-request: the host sees the device go away, then reconnects", async () => {
    await sim.control("hold");
    let error = null;
    try {
      const pending = eth.signPersonalMessage(path0, hello).catch((e) => (error = e));
      await sim.control("wait-prompt 5000");
      await sim.control("unplug");
      await pending;
      assert(error, "the request did not fail");
      assert(/Disconnected/i.test(error.name), `error ${error.name}: ${error.message}`);
    } finally {
      await sim.control("approve");
    }
    await transport.close();
    transport = await openTransport(host, port, log);
    eth = new Eth(transport, "w0w", loadConfig);
    assertEq((await eth.getAddress(path0)).address, address0, "address after reconnecting");
  });

  await check("control protocol: status and errors", async () => {
    const status = await sim.control("status");
    assert(/state=ready app=Ethereum version=1\.13\.0 blind=on user=approve waiting=no prompts=\d+ apdus=\d+ interrupted=\d+$/.test(status), status);
    assert((await sim.control("version 1.x", true)).startsWith("error"), "bad version accepted");
    assert((await sim.control("fly away", true)).startsWith("error"), "unknown command accepted");
  });
}

await check("no network access", async () => {
  assertEq(networkAttempts, 0, "HTTP(S) requests attempted");
});

await transport.close();
if (sim) await sim.stop();
if (record) console.log(`transcripts written to ${transcriptDir}`);
console.log(`${passed} passed, ${failures.length} failed`);
if (failures.length) {
  console.log("failed: " + failures.join(", "));
  process.exit(1);
}
process.exit(0);
