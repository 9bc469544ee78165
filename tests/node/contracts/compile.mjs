// Compiles KbToken.sol into KbToken.json (creation bytecode and ABI). Run once by hand with the
// npm package solc@0.8.28 installed somewhere on NODE_PATH; the test never runs it:
//   NODE_PATH=/path/to/node_modules node tests/node/contracts/compile.mjs
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const solc = require("solc");
const source = readFileSync(join(here, "KbToken.sol"), "utf8");
const input = {
  language: "Solidity",
  sources: { "KbToken.sol": { content: source } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of output.errors ?? []) if (e.severity === "error") throw new Error(e.formattedMessage);
const c = output.contracts["KbToken.sol"].KbToken;
writeFileSync(
  join(here, "KbToken.json"),
  JSON.stringify({ compiler: `solc ${solc.version()}`, source: "KbToken.sol", abi: c.abi, bytecode: "0x" + c.evm.bytecode.object }, null, 1) + "\n",
);
console.log("KbToken.json written:", c.evm.bytecode.object.length / 2, "bytes");
