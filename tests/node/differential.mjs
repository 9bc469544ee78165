// Differential test: random messages, typed data and transactions are signed by ethers v6 and by
// keybridge's core (through the oracle binary); every signature, digest and serialisation must be
// byte-identical. Usage: node differential.mjs PATH_TO_core_oracle [count-per-kind]
// The seed is printed; rerun a failure with KEYBRIDGE_DIFF_SEED=<seed>.
import { ethers } from "ethers";
import { Oracle } from "./lib/oracle.mjs";

const oraclePath = process.argv[2];
const perKind = Number(process.argv[3] ?? 150);
if (!oraclePath) {
  console.error("usage: node differential.mjs CORE_ORACLE [count-per-kind]");
  process.exit(2);
}
const seed = Number(process.env.KEYBRIDGE_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`seed ${seed}`);

// mulberry32: small, deterministic, good enough to pick test inputs.
let state = seed >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (n) => Math.floor(rand() * n);
const pick = (list) => list[randInt(list.length)];
const randBytes = (n) => Uint8Array.from({ length: n }, () => randInt(256));
const randHex = (n) => ethers.hexlify(randBytes(n));
function randBigBits(bits) {
  let v = 0n;
  for (let i = 0; i < bits; i += 8) v = (v << 8n) | BigInt(randInt(256));
  return v & ((1n << BigInt(bits)) - 1n);
}
function randUint(bits) {
  // Mix edge values with random ones: 0, max, small, random width.
  const max = (1n << BigInt(bits)) - 1n;
  switch (randInt(5)) {
    case 0: return 0n;
    case 1: return max;
    case 2: return BigInt(randInt(1000)) % (max + 1n);
    default: return randBigBits(1 + randInt(bits));
  }
}
function randInt2c(bits) {
  const half = 1n << BigInt(bits - 1);
  switch (randInt(5)) {
    case 0: return -half;
    case 1: return half - 1n;
    case 2: return ((BigInt(randInt(2000) - 1000) % (2n * half) + 3n * half) % (2n * half)) - half;
    default: return (randBigBits(bits) % (2n * half)) - half;
  }
}
function randText() {
  const pieces = ["hello", " ", "wörld", "日本語", "🚀", "\n", "0x", "Ethereum", "\u0000", "é"];
  let s = "";
  for (let i = randInt(12); i > 0; --i) s += pick(pieces);
  return s;
}
const randAddress = () => ethers.getAddress(randHex(20));

// ---------------------------------------------------------------- personal_sign
function randMessage() {
  if (rand() < 0.5) return ethers.toUtf8Bytes(randText());
  return randBytes(randInt(300));
}

// ---------------------------------------------------------------- EIP-712 typed data
const atomicTypes = () => {
  const r = randInt(8);
  if (r === 0) return `uint${8 * (1 + randInt(32))}`;
  if (r === 1) return `int${8 * (1 + randInt(32))}`;
  if (r === 2) return `bytes${1 + randInt(32)}`;
  return pick(["address", "bool", "string", "bytes", "uint256", "address"]);
};

function valueFor(type, types) {
  const arr = type.match(/^(.*)\[(\d*)\]$/);
  if (arr) {
    const len = arr[2] === "" ? randInt(4) : Number(arr[2]);
    return Array.from({ length: len }, () => valueFor(arr[1], types));
  }
  if (types[type]) {
    const obj = {};
    for (const f of types[type]) obj[f.name] = valueFor(f.type, types);
    return obj;
  }
  if (type === "address") return randAddress();
  if (type === "bool") return rand() < 0.5;
  if (type === "string") return randText();
  if (type === "bytes") return randHex(randInt(70));
  let m = type.match(/^bytes(\d+)$/);
  if (m) return randHex(Number(m[1]));
  m = type.match(/^(u?)int(\d+)$/);
  if (m) {
    const v = m[1] === "u" ? randUint(Number(m[2])) : randInt2c(Number(m[2]));
    // Send numbers in the forms dApps use: decimal strings, hex strings, small JSON numbers.
    const form = randInt(3);
    if (form === 0 && v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n) return Number(v);
    if (form === 1 && v >= 0n) return ethers.toQuantity(v);
    return v.toString();
  }
  throw new Error(`no generator for ${type}`);
}

function randTypedData() {
  // A small DAG of struct types; "Root" is the only type nobody references (ethers' primary rule).
  const names = ["Root", "Alpha", "Beta", "Gamma"].slice(0, 1 + randInt(4));
  const types = {};
  for (let i = names.length - 1; i >= 0; --i) {
    const fields = [];
    const count = 1 + randInt(5);
    for (let f = 0; f < count; ++f) {
      let type = atomicTypes();
      const later = names.slice(i + 1);
      if (later.length && rand() < 0.4) type = pick(later);
      if (rand() < 0.25) type += rand() < 0.5 ? "[]" : `[${1 + randInt(3)}]`;
      if (rand() < 0.05) type += "[]";
      fields.push({ name: `f${f}_${names[i].toLowerCase()}`, type });
    }
    types[names[i]] = fields;
  }
  // Every non-root type must be referenced, so link each one from Root.
  for (const n of names.slice(1)) {
    if (!Object.values(types).some((fs) => fs.some((f) => f.type.replace(/\[\d*\]/g, "") === n))) {
      types.Root.push({ name: `link_${n.toLowerCase()}`, type: n });
    }
  }
  const domain = {};
  if (rand() < 0.8) domain.name = randText() || "dapp";
  if (rand() < 0.6) domain.version = String(randInt(10));
  if (rand() < 0.8) domain.chainId = pick([1, 5, 137, 31337, 11155111]);
  if (rand() < 0.7) domain.verifyingContract = randAddress();
  if (rand() < 0.2) domain.salt = randHex(32);
  const message = valueFor("Root", types);
  return { domain, types, message };
}

function domainType(domain) {
  const order = [["name", "string"], ["version", "string"], ["chainId", "uint256"],
                 ["verifyingContract", "address"], ["salt", "bytes32"]];
  return order.filter(([k]) => k in domain).map(([name, type]) => ({ name, type }));
}

// ---------------------------------------------------------------- transactions
function randTx() {
  const type = pick([0, 0, 1, 2, 2]);
  const tx = {
    type,
    nonce: pick([0, 1, randInt(1000), Number.MAX_SAFE_INTEGER]),
    gasLimit: randUint(pick([16, 32, 64])),
    to: rand() < 0.15 ? null : randAddress(),
    value: randUint(pick([8, 64, 256])),
    data: randHex(pick([0, 4, 36, randInt(200)])),
  };
  tx.chainId = type === 0 && rand() < 0.2 ? 0n : BigInt(pick([1, 5, 137, 31337, 11155111, 2 ** 40]));
  if (type === 0 || type === 1) tx.gasPrice = randUint(pick([32, 64, 128]));
  if (type === 2) {
    const fees = [randUint(64), randUint(pick([64, 128]))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    [tx.maxPriorityFeePerGas, tx.maxFeePerGas] = fees;  // ethers refuses a tip above the cap
  }
  if (type !== 0) {
    tx.accessList = Array.from({ length: randInt(3) }, () => ({
      address: randAddress(),
      storageKeys: Array.from({ length: randInt(3) }, () => randHex(32)),
    }));
  }
  return tx;
}

function txForOracle(tx) {
  const q = (v) => (v === undefined ? undefined : ethers.toQuantity(v));
  return {
    type: tx.type,
    chainId: q(tx.chainId),
    nonce: q(tx.nonce),
    gasPrice: q(tx.gasPrice),
    maxPriorityFeePerGas: q(tx.maxPriorityFeePerGas),
    maxFeePerGas: q(tx.maxFeePerGas),
    gasLimit: q(tx.gasLimit),
    to: tx.to,
    value: q(tx.value),
    data: tx.data,
    accessList: tx.accessList,
  };
}

// ---------------------------------------------------------------- run
const oracle = new Oracle(oraclePath);
let passed = 0;
let failed = 0;
function check(kind, index, what, ours, theirs, input) {
  if (ours === theirs) return true;
  failed += 1;
  if (failed <= 10) {
    console.log(`MISMATCH ${kind} #${index} ${what}\n  core:   ${ours}\n  ethers: ${theirs}`);
    console.log(`  input: ${JSON.stringify(input, (_, v) => (typeof v === "bigint" ? v.toString() : v))}`);
  }
  return false;
}

const counts = {};
for (let i = 0; i < perKind; ++i) {
  const wallet = new ethers.Wallet(ethers.hexlify(randBytes(31)).padEnd(66, "1"));
  const key = wallet.privateKey;

  // personal_sign
  const message = randMessage();
  const theirsMsg = await wallet.signMessage(message);
  const oursMsg = await oracle.call("personal_sign", { key, message: ethers.hexlify(message) });
  if (!oursMsg.ok) check("personal_sign", i, "error", oursMsg.error, theirsMsg, ethers.hexlify(message));
  else if (check("personal_sign", i, "signature", oursMsg.signature, theirsMsg, ethers.hexlify(message))) passed += 1;

  // EIP-712 v4
  const td = randTypedData();
  const theirsDigest = ethers.TypedDataEncoder.hash(td.domain, td.types, td.message);
  const theirsSig = await wallet.signTypedData(td.domain, td.types, td.message);
  const full = { types: { EIP712Domain: domainType(td.domain), ...td.types }, primaryType: "Root",
                 domain: td.domain, message: td.message };
  const oursTd = await oracle.call("typed_v4", { key, typedData: full });
  if (!oursTd.ok) check("typed_v4", i, "error", oursTd.error, theirsSig, full);
  else if (check("typed_v4", i, "digest", oursTd.digest, theirsDigest, full) &&
           check("typed_v4", i, "signature", oursTd.signature, theirsSig, full)) passed += 1;

  // Transactions: serialisation, signature and hash; then decode of ethers' bytes by core.
  const tx = randTx();
  const theirsRaw = await wallet.signTransaction(tx);
  const oursTx = await oracle.call("sign_tx", { key, tx: txForOracle(tx) });
  const expectedUnsigned = ethers.Transaction.from(tx).unsignedSerialized;
  if (!oursTx.ok) check("tx", i, "error", oursTx.error, theirsRaw, txForOracle(tx));
  else if (check("tx", i, "unsigned", oursTx.unsigned, expectedUnsigned, txForOracle(tx)) &&
           check("tx", i, "raw", oursTx.raw, theirsRaw, txForOracle(tx)) &&
           check("tx", i, "hash", oursTx.hash, ethers.keccak256(theirsRaw), txForOracle(tx))) {
    const decoded = await oracle.call("decode_tx", { raw: theirsRaw });
    if (!decoded.ok) check("decode_tx", i, "error", decoded.error, wallet.address, theirsRaw);
    else if (check("decode_tx", i, "sender", decoded.sender, wallet.address, theirsRaw)) passed += 1;
  }
  counts.total = (counts.total ?? 0) + 3;
}
oracle.close();

console.log(`differential: ${perKind} messages, ${perKind} typed data, ${perKind} transactions (seed ${seed})`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === counts.total ? 0 : 1);
