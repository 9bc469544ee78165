// Debian's trezorlib (python3-trezor) drives the Trezor simulator over UDP
// (tests/tools/trezor_sim/trezorlib_check.py); every result is verified here with ethers v6:
// the address at m/44'/60'/0'/0/0 of "all all ... all", and signatures byte-identical to the
// ones ethers makes with the same phrase (RFC 6979), for a legacy transaction with data sent in
// chunks, a legacy transaction on a chain id above 2^32, an EIP-1559 transaction with an access
// list, a personal message, EIP-712 typed data (struct/value protocol) and the Trezor One
// typed-hash form; and equal to what keybridge's software keystore signs (core, through
// core_oracle) with the same phrase. Also: the hidden wallet of a passphrase behind a PIN, and a
// rejection.
// Usage: node trezor_trezorlib.mjs PATH_TO_keybridge_trezor_sim PATH_TO_core_oracle
// KEYBRIDGE_TREZOR_EMULATOR=host:port runs the main flows against a real emulator instead.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { ethers } from "ethers";
import { Oracle } from "./lib/oracle.mjs";

const MNEMONIC = "all all all all all all all all all all all all";
const PATH = "m/44'/60'/0'/0/0";
const EXPECTED = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8";
const TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

const script = fileURLToPath(new URL("../tools/trezor_sim/trezorlib_check.py", import.meta.url));
const emulator = process.env.KEYBRIDGE_TREZOR_EMULATOR;
const sim = process.argv[2];
const oraclePath = process.argv[3];
if ((!sim && !emulator) || !oraclePath) {
  console.error("usage: node trezor_trezorlib.mjs KEYBRIDGE_TREZOR_SIM CORE_ORACLE");
  process.exit(2);
}
const oracle = new Oracle(oraclePath);
const key = wallet_key();
function wallet_key() {
  return ethers.HDNodeWallet.fromPhrase("all all all all all all all all all all all all", undefined,
                                        "m/44'/60'/0'/0/0").privateKey;
}
// The software keystore's signature (keybridge's core) for the same request.
async function keystore(op, fields) {
  const answer = await oracle.call(op, { key, ...fields });
  assert.ok(answer.ok, `core_oracle ${op}: ${answer.error}`);
  return answer;
}
const quantities = (tx) => Object.fromEntries(Object.entries(tx).map(([k, v]) =>
  [k, typeof v === "bigint" || typeof v === "number" ? (k === "type" ? Number(v) : ethers.toQuantity(v)) : v]));
console.log(emulator ? `target: real emulator at ${emulator}` : "target: keybridge_trezor_sim");

const wallet = ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, PATH);
assert.equal(wallet.address, EXPECTED);

// The Trezor One form signs keccak(0x1901 || domainSeparator || messageHash) of this document.
const typedHashDoc = {
  domain: { name: "Trezor One", chainId: 1 },
  types: { Note: [{ name: "text", type: "string" }] },
  message: { text: "hashed on the host" },
};
const domainHash = ethers.TypedDataEncoder.hashDomain(typedHashDoc.domain);
const messageHash = ethers.TypedDataEncoder.from(typedHashDoc.types).hash(typedHashDoc.message);

const out = execFileSync("/usr/bin/python3",
                         [script, emulator ? "-" : sim, domainHash.slice(2), messageHash.slice(2)],
                         { encoding: "utf8", timeout: 120000, stdio: ["ignore", "pipe", "inherit"] });
const results = JSON.parse(out);
const main = results.main;

assert.equal(main.address, EXPECTED, "address at m/44'/60'/0'/0/0");
assert.equal(main.address_shown, EXPECTED, "address shown on the device");

async function expectSameTx(tx, got, label) {
  const raw = await wallet.signTransaction(tx);
  const signed = ethers.Transaction.from(raw);
  assert.equal(signed.signature.r, "0x" + got.r, `${label}: r`);
  assert.equal(signed.signature.s, "0x" + got.s, `${label}: s`);
  const ours = await keystore("sign_tx", { tx: quantities(tx) });
  assert.equal(ours.raw, raw, `${label}: the software keystore signs the same transaction`);
  return signed;
}

const legacy = await expectSameTx({ type: 0, nonce: 3, gasPrice: 20_000_000_000n, gasLimit: 90_000n,
                                    to: TO, value: 10n ** 15n, data: "0x" + main.legacy.data,
                                    chainId: 1n }, main.legacy, "legacy");
assert.equal(BigInt(main.legacy.v), legacy.signature.networkV, "legacy: EIP-155 v");

const bigChain = BigInt(main.legacy_big_chain.chainId);
const big = await expectSameTx({ type: 0, nonce: 0, gasPrice: 1n, gasLimit: 21_000n, to: TO,
                                 value: 1n, chainId: bigChain }, main.legacy_big_chain,
                               "chain id > 2^32");
assert.equal(BigInt(main.legacy_big_chain.v), big.signature.networkV, "chain id > 2^32: v");

const fee = await expectSameTx({ type: 2, nonce: 7, maxFeePerGas: 30n * 10n ** 9n,
                                 maxPriorityFeePerGas: 10n ** 9n, gasLimit: 50_000n, to: TO,
                                 value: 12345n, data: "0xa9059cbb", chainId: 137n,
                                 accessList: [{ address: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
                                                storageKeys: [ethers.zeroPadValue("0x01", 32)] }] },
                               main.eip1559, "EIP-1559");
assert.equal(main.eip1559.v, fee.signature.yParity, "EIP-1559: y parity");

assert.equal("0x" + main.message.signature, await wallet.signMessage(main.message.text),
             "personal message");
assert.equal((await keystore("personal_sign",
                             { message: ethers.hexlify(ethers.toUtf8Bytes(main.message.text)) })).signature,
             "0x" + main.message.signature, "personal message: the software keystore's");
assert.equal(main.message.address, EXPECTED);
assert.equal(ethers.verifyMessage(main.message.text, "0x" + main.message.signature), EXPECTED);

if (main.typed) {
  const { EIP712Domain, ...types } = main.typed.data.types;
  const expected = await wallet.signTypedData(main.typed.data.domain, types, main.typed.data.message);
  assert.equal("0x" + main.typed.signature, expected, "EIP-712 through the struct/value protocol");
  assert.equal((await keystore("typed_v4", { typedData: main.typed.data })).signature,
               "0x" + main.typed.signature, "EIP-712: the software keystore's");
  assert.equal(main.typed.address, EXPECTED);
} else {
  console.log(`typed data: ${main.typed_data_skipped}`);
}

if (!emulator) {
  assert.ok(main.buttons >= 6, `the simulator asked for buttons (${main.buttons})`);
  const hidden = ethers.HDNodeWallet.fromPhrase(MNEMONIC, results.hidden.passphrase, PATH);
  assert.equal(results.hidden.address, hidden.address, "passphrase wallet behind a PIN");
  assert.notEqual(results.hidden.address, EXPECTED);
  assert.equal(results.rejected, "Cancelled", "rejection on the device");

  const th = results.typed_hash;
  assert.equal(th.model, "1");
  const expected = await wallet.signTypedData(typedHashDoc.domain, typedHashDoc.types,
                                              typedHashDoc.message);
  assert.equal("0x" + th.signature, expected, "Trezor One typed hash");
  assert.equal(th.address, EXPECTED);
}
oracle.close();
console.log("trezorlib against the Trezor " + (emulator ? "emulator" : "simulator") + ": all checks passed");
