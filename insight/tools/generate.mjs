// Writes insight/generated/*.inc from the npm packages of insight/data (npm ci there first):
//   abi_table.inc  one entry per function selector of the bundled contract ABIs
//   tokens.inc     the Uniswap default token list (chain, address, symbol, decimals)
//   phishing.inc   eth-phishing-detect's allow, block and fuzzy lists with its tolerance
//   errors.inc     one entry per custom error selector of the same ABIs (revert reasons)
//   chains.inc     viem's chain data: id, name, native currency symbol and decimals
// Usage: node insight/tools/generate.mjs [OUTPUT_DIR]   (default: insight/generated)
// The output is deterministic: insight_tables_current reruns this into a temporary folder and
// compares it with the committed files.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, "..", "data");
const outDir = process.argv[2] ?? join(here, "..", "generated");
const require = createRequire(join(dataDir, "package.json"));
const load = (spec) =>
  JSON.parse(readFileSync(spec.startsWith("./") ? join(dataDir, spec) : join(dataDir, "node_modules", spec), "utf8"));
const version = (pkg) => load(`${pkg}/package.json`).version;

// "name:type" items; tuples spelled "(…)" with their components named the same way.
function param(p) {
  let type = p.type;
  if (type.startsWith("tuple")) type = "(" + p.components.map(param).join(",") + ")" + type.slice(5);
  return `${p.name || ""}:${type}`;
}
function canonical(p) {
  let type = p.type;
  if (type.startsWith("tuple")) type = "(" + p.components.map(canonical).join(",") + ")" + type.slice(5);
  return type;
}
function fromSignature(text) {
  // "name(type a,type b)" with tuples "(type x,type y)[] c" — for the hand-written extras.
  const open = text.indexOf("(");
  const name = text.slice(0, open);
  const parse = (s) => {
    const items = [];
    let depth = 0, start = 0;
    for (let i = 0; i <= s.length; i++) {
      const c = s[i];
      if (c === "(") depth++;
      if (c === ")") depth--;
      if ((c === "," && depth === 0) || i === s.length) {
        const item = s.slice(start, i).trim();
        if (item) items.push(item);
        start = i + 1;
      }
    }
    return items.map((item) => {
      let type, pname;
      if (item.startsWith("(")) {
        const close = item.lastIndexOf(")");
        const rest = item.slice(close + 1).trim().split(/\s+/);
        return { type: "tuple" + rest[0], name: rest[1] ?? "", components: parse(item.slice(1, close)) };
      }
      [type, pname] = item.split(/\s+/);
      return { type, name: pname ?? "" };
    });
  };
  return { type: "function", name, inputs: parse(text.slice(open + 1, -1)) };
}

const { keccak256 } = require("js-sha3");
const sources = [
  ["ERC-20", "@openzeppelin/contracts/build/contracts/IERC20Metadata.json"],
  ["ERC-20", "@openzeppelin/contracts/build/contracts/IERC20Permit.json"],
  ["ERC-721", "@openzeppelin/contracts/build/contracts/IERC721.json"],
  ["ERC-1155", "@openzeppelin/contracts/build/contracts/IERC1155.json"],
  ["Multicall", "@openzeppelin/contracts/build/contracts/Multicall.json"],
  ["Permit2", "@uniswap/permit2-sdk/dist/cjs/abis/Permit2.json"],
  ["Safe", "@safe-global/safe-deployments/dist/assets/v1.3.0/gnosis_safe.json"],
  ["Safe", "@safe-global/safe-deployments/dist/assets/v1.3.0/multi_send.json"],
  ["Seaport", "@opensea/seaport-js/lib/abi/Seaport.js"],
  ["Uniswap", "@uniswap/universal-router/artifacts/contracts/UniversalRouter.sol/UniversalRouter.json"],
  ["Uniswap", "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json"],
  ["Uniswap", "@uniswap/v2-periphery/build/IUniswapV2Router02.json"],
];
// Custom errors (revert data): the sources above plus OpenZeppelin's ERC-6093 token errors.
const errorSources = [
  ["ERC-20", "@openzeppelin/contracts/build/contracts/IERC20Errors.json"],
  ["ERC-721", "@openzeppelin/contracts/build/contracts/IERC721Errors.json"],
  ["ERC-1155", "@openzeppelin/contracts/build/contracts/IERC1155Errors.json"],
  ["OpenZeppelin", "@openzeppelin/contracts/build/contracts/Errors.json"],
  ["OpenZeppelin", "@openzeppelin/contracts/build/contracts/SafeERC20.json"],
  ...sources,
];
// A JSON artifact ({abi} or a bare array), or a CommonJS module exporting one ABI array
// (seaport-js ships its Seaport ABI as lib/abi/Seaport.js).
function abiOf(file) {
  if (file.endsWith(".js")) return Object.values(require(join(dataDir, "node_modules", file)))[0];
  const json = load(file);
  return json.abi ?? json;
}
const entries = new Map();  // selector → entry; the first source naming a selector wins
const add = (family, fn) => {
  const sig = `${fn.name}(${fn.inputs.map(canonical).join(",")})`;
  const selector = keccak256(sig).slice(0, 8);
  if (entries.has(selector)) return;
  entries.set(selector, { selector, family, name: fn.name, params: fn.inputs.map(param).join(",") });
};
for (const [family, file] of sources) for (const item of abiOf(file)) if (item.type === "function") add(family, item);
const extra = load("./extra_abi.json");
for (const [family, list] of Object.entries(extra.sources)) for (const s of list) add(family, fromSignature(s));

const header = (what) =>
  `// Generated by insight/tools/generate.mjs from ${what}. Do not edit: rerun the generator.\n`;
const str = (s) => JSON.stringify(s);
mkdirSync(outDir, { recursive: true });

const abiPackages = ["@openzeppelin/contracts", "@uniswap/permit2-sdk", "@safe-global/safe-deployments",
  "@opensea/seaport-js", "@uniswap/universal-router", "@uniswap/v3-periphery", "@uniswap/v2-periphery"];
const abiSources = abiPackages
  .map((p) => `${p} ${version(p)}`).join(", ");
let abi = header(abiSources + " and insight/data/extra_abi.json");
abi += "// {selector, family, name, \"name:type,...\"}\n";
for (const e of [...entries.values()].sort((a, b) => a.selector.localeCompare(b.selector)))
  abi += `{0x${e.selector}u, ${str(e.family)}, ${str(e.name)}, ${str(e.params)}},\n`;
writeFileSync(join(outDir, "abi_table.inc"), abi);

const errors = new Map();  // selector → entry; the first source naming a selector wins
for (const [family, file] of errorSources) {
  for (const item of abiOf(file)) {
    if (item.type !== "error") continue;
    const sig = `${item.name}(${item.inputs.map(canonical).join(",")})`;
    const selector = keccak256(sig).slice(0, 8);
    if (!errors.has(selector))
      errors.set(selector, { selector, family, name: item.name, params: item.inputs.map(param).join(",") });
  }
}
let errorTable = header(abiPackages.map((p) => `${p} ${version(p)}`).join(", "));
errorTable += "// custom errors: {selector, family, name, \"name:type,...\"}\n";
for (const e of [...errors.values()].sort((a, b) => a.selector.localeCompare(b.selector)))
  errorTable += `{0x${e.selector}u, ${str(e.family)}, ${str(e.name)}, ${str(e.params)}},\n`;
writeFileSync(join(outDir, "errors.inc"), errorTable);

// Chains: viem's definitions, by export name; a chain id several exports share keeps the first
// (anvil, foundry and hardhat are all 31337). Names and symbols outside printable ASCII are left
// out (none today).
const viemChains = require("viem/chains");
const chainRows = new Map();
for (const key of Object.keys(viemChains).sort()) {
  const c = viemChains[key];
  if (!c || typeof c.id !== "number" || !Number.isSafeInteger(c.id) || c.id <= 0 || chainRows.has(c.id)) continue;
  const symbol = c.nativeCurrency?.symbol ?? "ETH";
  const decimals = c.nativeCurrency?.decimals ?? 18;
  if (!/^[\x20-\x7e]{1,64}$/.test(c.name) || !/^[\x20-\x7e]{1,16}$/.test(symbol)) continue;
  chainRows.set(c.id, { id: c.id, name: c.name, symbol, decimals });
}
let chains = header(`viem ${version("viem")} (viem/chains)`);
chains += "// {chain id, name, native currency symbol, decimals}\n";
for (const c of [...chainRows.values()].sort((a, b) => a.id - b.id))
  chains += `{${c.id}u, ${str(c.name)}, ${str(c.symbol)}, ${c.decimals}},\n`;
writeFileSync(join(outDir, "chains.inc"), chains);

const list = load("@uniswap/default-token-list/build/uniswap-default.tokenlist.json");
let tokens = header(`@uniswap/default-token-list ${version("@uniswap/default-token-list")}`);
tokens += "// {chain id, lower-case address, symbol, decimals}\n";
const seen = new Set();
const rows = list.tokens
  .map((t) => ({ chain: t.chainId, address: t.address.toLowerCase(), symbol: t.symbol, decimals: t.decimals }))
  .filter((t) => /^[\x20-\x7e]{1,32}$/.test(t.symbol))
  .sort((a, b) => a.chain - b.chain || a.address.localeCompare(b.address));
for (const t of rows) {
  const key = `${t.chain}:${t.address}`;
  if (seen.has(key)) continue;
  seen.add(key);
  tokens += `{${t.chain}u, ${str(t.address)}, ${str(t.symbol)}, ${t.decimals}},\n`;
}
writeFileSync(join(outDir, "tokens.inc"), tokens);

const config = load("eth-phishing-detect/src/config.json");
const clean = (l) => [...new Set(l.map((d) => d.trim().toLowerCase()).filter((d) => /^[\x21-\x7e]+$/.test(d)))].sort();
const block = (name, l) => {
  // Adjacent string literals, one line each: g++ joins them into one newline-separated list.
  let out = `inline constexpr std::string_view ${name} =\n`;
  const items = clean(l);
  for (let i = 0; i < items.length; i += 8) out += `    ${str(items.slice(i, i + 8).join("\n") + "\n")}\n`;
  return out + "    \"\";\n";
};
let phishing = header(`eth-phishing-detect ${version("eth-phishing-detect")} (src/config.json)`);
phishing += `inline constexpr int kPhishingTolerance = ${config.tolerance};\n`;
phishing += block("kPhishingAllowlist", config.whitelist ?? config.allowlist ?? []);
phishing += block("kPhishingBlocklist", config.blacklist ?? config.blocklist ?? []);
phishing += block("kPhishingFuzzylist", config.fuzzylist ?? []);
writeFileSync(join(outDir, "phishing.inc"), phishing);
console.log(`insight tables: ${entries.size} selectors, ${errors.size} errors, ${chainRows.size} chains, ${seen.size} tokens, ${clean(config.blacklist ?? []).length} blocked hosts`);
