// Keeps trezor_daemon_e2e.mjs's KEYBRIDGE_TREZOR_EMULATOR path working without the vendor's
// emulator: starts keybridge_trezor_sim as an outside emulator would run (its own process, its
// buttons pressed only through DebugLink on the next port up, no control given to the test) and
// runs the test with KEYBRIDGE_TREZOR_EMULATOR=127.0.0.1:PORT. It must pass, run the signing
// steps, and say visibly that the simulator-only steps were skipped.
// Usage: node trezor_daemon_e2e_emulator_mode.mjs PATH_TO_keybridged PATH_TO_keybridge
//        PATH_TO_keybridge_trezor_sim PATH_TO_keybridge_ledger_sim
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startTrezorSim } from "./lib/trezor_sim.mjs";

const [keybridged, keybridge, trezorSim, ledgerSim] = process.argv.slice(2);
if (!keybridged || !keybridge || !trezorSim || !ledgerSim) {
  console.error(
    "usage: node trezor_daemon_e2e_emulator_mode.mjs PATH_TO_keybridged PATH_TO_keybridge PATH_TO_keybridge_trezor_sim PATH_TO_keybridge_ledger_sim",
  );
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const sim = await startTrezorSim(trezorSim, ["--debuglink-buttons"]);
sim.control.close();
if (sim.control.port !== sim.port + 1) {
  console.log(`FAIL the simulator's DebugLink port is ${sim.control.port}, not ${sim.port + 1}: run again`);
  sim.child.kill("SIGKILL");
  process.exit(1);
}
const endpoint = `127.0.0.1:${sim.port}`;
const test = spawn(process.execPath, [path.join(here, "trezor_daemon_e2e.mjs"), keybridged, keybridge, trezorSim, ledgerSim], {
  env: { ...process.env, KEYBRIDGE_TREZOR_EMULATOR: endpoint },
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
test.stdout.on("data", (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
const code = await new Promise((resolve) => test.on("exit", resolve));
sim.child.kill("SIGTERM");
const problems = [];
if (code !== 0) problems.push(`the test exited with ${code}`);
if (!output.includes(`KEYBRIDGE_TREZOR_EMULATOR=${endpoint}: the main Trezor is that emulator`)) problems.push("not in emulator mode");
const skipped = (output.match(/# SKIP KEYBRIDGE_TREZOR_EMULATOR=[^\n]*needs the simulator/g) ?? []).length;
if (skipped !== 7) problems.push(`${skipped} steps skipped with the reason, expected 7 (reject, three PIN, two passphrase, killed)`);
for (const step of ["eth_sendTransaction, EIP-1559", "eth_signTypedData_v4", "a Ledger simulator and a Trezor attached at once"]) {
  if (!new RegExp(`\\nok \\d+ - ${step}`).test(output)) problems.push(`"${step}" did not pass`);
}
if (problems.length) {
  console.log("FAIL emulator mode: " + problems.join("; "));
  process.exit(1);
}
console.log("ok   emulator mode");
