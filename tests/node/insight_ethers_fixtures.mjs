// Calldata fixtures for insight's ABI decoder, built with ethers v6's ABI coder: each case is
// encoded by ethers' Interface and decoded back by ethers, and the file records the calldata with
// ethers' decoding (addresses checksummed, integers as decimal strings, bytes as 0x hex, tuples
// as objects by component name). tests/insight/ethers_fixtures_test.cpp decodes every calldata
// with insight and must get exactly ethers' answer; the insight_ethers_fixtures_current test
// reruns this script with --check, so the committed file is what ethers produces.
//
// Usage: node insight_ethers_fixtures.mjs [--check]   (writes or checks
//        tests/data/insight-ethers-calldata.json)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ethers } from "ethers";

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.join(here, "..", "data", "insight-ethers-calldata.json");

// Fixed values: the output must not change from run to run.
const alice = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";
const bob = "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD";
const usdc = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";
const weth = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2";
const max = ethers.MaxUint256;
const max160 = (1n << 160n) - 1n;
const zero32 = ethers.ZeroHash;
const erc20 = new ethers.Interface(["function transfer(address to, uint256 value)", "function approve(address spender, uint256 value)"]);

// [fragment, arguments] — functions of insight's table (ERC-20/721/1155, Permit2, Safe,
// multicall, WETH, Uniswap routers, Seaport), argument names as the table's ABIs name them.
const cases = [
  ["function transfer(address to, uint256 value)", [alice, 12_500000n]],
  ["function approve(address spender, uint256 value)", [bob, max]],
  ["function transferFrom(address from, address to, uint256 value)", [alice, bob, 1n]],
  ["function increaseAllowance(address spender, uint256 addedValue)", [bob, 10n ** 24n]],
  ["function safeTransferFrom(address from, address to, uint256 tokenId, bytes data)", [alice, bob, 1234n, "0xc0ffee"]],
  ["function safeBatchTransferFrom(address from, address to, uint256[] ids, uint256[] values, bytes data)",
    [alice, bob, [1n, 2n, 3n], [10n, 20n, 30n], "0x"]],
  ["function setApprovalForAll(address operator, bool approved)", [bob, true]],
  ["function withdraw(uint256 wad)", [10n ** 18n]],
  ["function approve(address token, address spender, uint160 amount, uint48 expiration)", [usdc, bob, max160, 1767225600n]],
  ["function multicall(bytes[] data)",
    [[erc20.encodeFunctionData("transfer", [alice, 5n]), erc20.encodeFunctionData("approve", [bob, 0n])]]],
  ["function multicall(uint256 deadline, bytes[] data)", [1767225600n, [erc20.encodeFunctionData("transfer", [bob, 7n])]]],
  ["function aggregate((address target, bytes callData)[] calls)",
    [[[usdc, erc20.encodeFunctionData("transfer", [alice, 1n])], [weth, "0xd0e30db0"]]]],
  ["function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures)",
    [usdc, 0n, erc20.encodeFunctionData("transfer", [alice, 3n]), 0, 0n, 0n, 0n, ethers.ZeroAddress, ethers.ZeroAddress, "0x" + "11".repeat(65)]],
  ["function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline)",
    [1000n, 990n, [usdc, weth], alice, 1767225600n]],
  ["function exactInputSingle((address tokenIn, address tokenOut, uint24 fee, address recipient, uint256 deadline, uint256 amountIn, uint256 amountOutMinimum, uint160 sqrtPriceLimitX96) params)",
    [[usdc, weth, 500, alice, 1767225600n, 10n ** 9n, 1n, 0n]]],
  ["function execute(bytes commands, bytes[] inputs, uint256 deadline)", ["0x0b00", ["0x" + "22".repeat(40), "0x"], 1767225600n]],
  ["function incrementCounter()", []],
  ["function cancel((address offerer, address zone, (uint8 itemType, address token, uint256 identifierOrCriteria, uint256 startAmount, uint256 endAmount)[] offer, (uint8 itemType, address token, uint256 identifierOrCriteria, uint256 startAmount, uint256 endAmount, address recipient)[] consideration, uint8 orderType, uint256 startTime, uint256 endTime, bytes32 zoneHash, uint256 salt, bytes32 conduitKey, uint256 counter)[] orders)",
    [[[alice, ethers.ZeroAddress, [[2, bob, 1234n, 1n, 1n]], [[0, ethers.ZeroAddress, 0n, 10n ** 15n, 10n ** 15n, alice]], 0, 1764900000n, 1767500000n, zero32, 1n, zero32, 0n]]]],
];

// ethers' decoded value as plain JSON, in insight's conventions.
function plain(type, value) {
  if (type.baseType === "array") return Array.from(value, (v) => plain(type.arrayChildren, v));
  if (type.baseType === "tuple") {
    const out = {};
    type.components.forEach((c, i) => (out[c.name || String(i)] = plain(c, value[i])));
    return out;
  }
  if (type.baseType === "address") return ethers.getAddress(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value;
  return String(value).toLowerCase();
}

const fixtures = cases.map(([fragment, args]) => {
  const iface = new ethers.Interface([fragment]);
  const fn = iface.fragments[0];
  const calldata = iface.encodeFunctionData(fn, args);
  const decoded = iface.decodeFunctionData(fn, calldata);
  const expected = {};
  fn.inputs.forEach((p, i) => (expected[p.name || String(i)] = plain(p, decoded[i])));
  return { signature: fn.format("sighash"), calldata, arguments: expected };
});

const text = JSON.stringify({ generator: `tests/node/insight_ethers_fixtures.mjs with ethers ${ethers.version}`, fixtures }, null, 1) + "\n";
if (process.argv.includes("--check")) {
  const committed = fs.readFileSync(outFile, "utf8");
  if (committed !== text) {
    console.error(`${outFile} is not what ethers produces: rerun node tests/node/insight_ethers_fixtures.mjs`);
    process.exit(1);
  }
  console.log(`insight ethers fixtures: current (${fixtures.length} cases)`);
} else {
  fs.writeFileSync(outFile, text);
  console.log(`${outFile}: ${fixtures.length} cases`);
}
