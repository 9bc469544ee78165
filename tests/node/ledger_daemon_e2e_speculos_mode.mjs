// Keeps ledger_daemon_e2e.mjs's KEYBRIDGE_SPECULOS path working without a real Speculos: starts
// keybridge_ledger_sim as an outside emulator would run (its own process, every prompt
// approved, no control port given to the test) and runs the test with
// KEYBRIDGE_SPECULOS=127.0.0.1:PORT and KEYBRIDGE_SPECULOS_APPROVES=1. It must pass, run the signing steps, and say visibly that
// the simulator-only steps were skipped.
// Usage: node ledger_daemon_e2e_speculos_mode.mjs PATH_TO_keybridged PATH_TO_keybridge PATH_TO_keybridge_ledger_sim
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const [keybridged, keybridge, simPath] = process.argv.slice(2);
if (!keybridged || !keybridge || !simPath) {
  console.error("usage: node ledger_daemon_e2e_speculos_mode.mjs PATH_TO_keybridged PATH_TO_keybridge PATH_TO_keybridge_ledger_sim");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const sim = spawn(simPath, ["--port", "0"], { stdio: ["pipe", "pipe", "inherit"] });
const ready = await new Promise((resolve) => readline.createInterface({ input: sim.stdout }).once("line", resolve));
const port = /^ready apdu_port=(\d+) /.exec(ready)?.[1];
if (!port) {
  console.error(`simulator said: ${ready}`);
  process.exit(1);
}
const test = spawn(process.execPath, [path.join(here, "ledger_daemon_e2e.mjs"), keybridged, keybridge, "-"], {
  env: { ...process.env, KEYBRIDGE_SPECULOS: `127.0.0.1:${port}`, KEYBRIDGE_SPECULOS_APPROVES: "1" },
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
test.stdout.on("data", (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
const code = await new Promise((resolve) => test.on("exit", resolve));
sim.stdin.end();
const problems = [];
if (code !== 0) problems.push(`the test exited with ${code}`);
if (!output.includes(`KEYBRIDGE_SPECULOS=127.0.0.1:${port}: the device is that Speculos`)) problems.push("not in Speculos mode");
const skipped = (output.match(/# SKIP KEYBRIDGE_SPECULOS=[^\n]*needs the simulator's control port/g) ?? []).length;
if (skipped !== 5) problems.push(`${skipped} steps skipped with the reason, expected 5 (reject, unplug, another seed, plugged back, re-probe)`);
for (const step of ["eth_sendTransaction, EIP-1559", "eth_signTypedData_v4", "two clients race"]) {
  if (!new RegExp(`\\nok \\d+ - ${step}`).test(output)) problems.push(`"${step}" did not pass`);
}
if (problems.length) {
  console.log("FAIL Speculos mode: " + problems.join("; "));
  process.exit(1);
}
console.log("ok   Speculos mode");
