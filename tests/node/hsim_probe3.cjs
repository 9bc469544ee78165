const crypto = require("crypto");
const fs = require("fs");
const { getSchemaHashForMessage, sortObjectAlphabetically } = require("@ledgerhq/evm-tools/message/EIP712/index");
const name = process.argv[2], rec = process.argv[3];
const msg = JSON.parse(fs.readFileSync(`node_modules/@ledgerhq/hw-app-eth/tests/fixtures/messages/${name}.json`));
const test = "044cca8fad496aa5040a00a7eb2f5cc3b85376d88ba147a7d7054a99c640561887fe17a096e36c3b523b244f3e2ff7f840ae26c4e77ad3bc739af5de6f2d77a7b6";
const p = Buffer.from(test, "hex");
const key = crypto.createPublicKey({ key: { kty: "EC", crv: "secp256k1", x: p.subarray(1, 33).toString("base64url"), y: p.subarray(33).toString("base64url") }, format: "jwk" });
// canonical schema: sorted type names, fields as {"name":..,"type":..}
const sorted = sortObjectAlphabetically(msg.types);
let canon = "{" + Object.entries(sorted).map(([t, fs]) => JSON.stringify(t) + ":[" + fs.map(f => `{"name":${JSON.stringify(f.name)},"type":${JSON.stringify(f.type)}}`).join(",") + "]").join(",") + "}";
const myHash = crypto.createHash("sha224").update(canon).digest("hex");
console.log("schema", getSchemaHashForMessage(msg) === myHash, myHash);
const schema = Buffer.from(myHash, "hex");
const chain = Buffer.alloc(8); chain.writeBigUInt64BE(BigInt(msg.domain.chainId));
const contract = Buffer.from(msg.domain.verifyingContract.slice(2), "hex");
const head = (magic) => Buffer.concat([Buffer.from([magic]), chain, contract, schema]);
const v = (pre, sig) => crypto.verify("sha256", pre, { key, dsaEncoding: "der" }, sig);
const lines = fs.readFileSync(`node_modules/@ledgerhq/hw-app-eth/tests/fixtures/apdus/${rec}.apdus`, "utf8").split("\n").filter(l => l.startsWith("=> e01e") || l.startsWith("=> e00a"));
const paths = JSON.parse(process.argv[4]);
let fi = 0;
for (const l of lines) {
  const a = Buffer.from(l.slice(3), "hex"); const p1 = a[2], p2 = a[3]; const d = a.subarray(5);
  if (a[1] === 0x0a) { const n = d[0]; const body = d.subarray(1, 1 + n + 28); const sig = d.subarray(1 + n + 28); console.log("token", d.subarray(1,1+n).toString(), v(body, sig)); continue; }
  if (p2 === 0x00) { console.log("activate"); continue; }
  if (p2 === 0x0f) { const n = d[0]; const nm = d.subarray(1, 1 + n); const cnt = d[1 + n]; const sig = d.subarray(3 + n); console.log("info", nm.toString(), v(Buffer.concat([head(183), Buffer.from([cnt]), nm]), sig)); continue; }
  const path = Buffer.from(paths[fi++] ?? "?");
  if (p2 === 0xff || p2 === 0xfc) { const n = d[0]; const nm = d.subarray(1, 1 + n); const sig = d.subarray(2 + n); console.log(p2.toString(16), nm.toString(), path.toString(), v(Buffer.concat([head(p2 === 0xff ? 72 : 33), path, nm]), sig)); continue; }
  if (p2 === 0xfe) { const n = d[0]; const nm = d.subarray(1, 1 + n); const idx = d[1 + n]; const sig = d.subarray(3 + n); console.log("fe", nm.toString(), idx, path.toString(), v(Buffer.concat([head(22), path, nm, Buffer.from([idx])]), sig)); continue; }
  if (p2 === 0xfd) { const idx = d[0]; const sig = d.subarray(2); console.log("fd", idx, path.toString(), v(Buffer.concat([head(11), path, Buffer.from([idx])]), sig)); continue; }
  console.log("other", l.slice(0, 20));
}
