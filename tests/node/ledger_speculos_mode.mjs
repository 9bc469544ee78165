// Keeps ledger_hw_app_eth.mjs's KEYBRIDGE_SPECULOS path working without a real Speculos: starts
// keybridge_ledger_sim as an outside emulator would run (its own process, blind signing on,
// every prompt approved) and runs the test against it with KEYBRIDGE_SPECULOS=127.0.0.1:PORT.
// The test must pass, compare the host's APDUs with the transcripts (same app version), and say
// visibly that the simulator-only checks were skipped.
// Usage: node ledger_speculos_mode.mjs PATH_TO_keybridge_ledger_sim PATH_TO_core_oracle
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const [simPath, oraclePath] = process.argv.slice(2);
if (!simPath || !oraclePath) {
  console.error("usage: node ledger_speculos_mode.mjs PATH_TO_keybridge_ledger_sim PATH_TO_core_oracle");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const sim = spawn(simPath, ["--port", "0", "--blind-signing", "on"], {
  stdio: ["pipe", "pipe", "inherit"],
});
const ready = await new Promise((resolve) =>
  readline.createInterface({ input: sim.stdout }).once("line", resolve),
);
const port = /^ready apdu_port=(\d+) /.exec(ready)?.[1];
if (!port) {
  console.error(`simulator said: ${ready}`);
  process.exit(1);
}
const test = spawn(process.execPath, [path.join(here, "ledger_hw_app_eth.mjs"), "-", oraclePath], {
  env: { ...process.env, KEYBRIDGE_SPECULOS: `127.0.0.1:${port}` },
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
if (!output.includes(`target: Speculos at 127.0.0.1:${port}`)) problems.push("not in Speculos mode");
if (!output.includes("NOTICE simulator-only behaviours SKIPPED")) problems.push("no skip notice");
if (output.includes("transcript check SKIPPED")) problems.push("transcripts not compared");
if (!/ok {3}request tx_eip1559\n/.test(output)) problems.push("requests did not run");
if (problems.length) {
  console.log("FAIL Speculos mode: " + problems.join("; "));
  process.exit(1);
}
console.log("ok   Speculos mode");
