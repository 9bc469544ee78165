// What the end-to-end tests share: the child processes they start (killed at the end), a free
// loopback port, one raw JSON-RPC call over HTTP, and a real anvil node.
//
// Every test file used to carry its own copy of these; a fix to one (the port race of anvil's
// start, below) now reaches them all.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// Child processes still running; killAll() ends them (tests call it when they finish or fail).
export const children = new Set();

export function track(child) {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

export function killAll(signal = "SIGKILL") {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

// A port nobody listened on a moment ago (another process may take it before we bind it: callers
// that start a server on it try again, as startAnvil does).
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// One JSON-RPC call over HTTP; the whole reply object (result or error).
export async function rawCall(url, method, params = [], headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return await res.json();
}

// A file only its owner can read, for a password or a phrase (never on a command line).
export function secretFile(dir, name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

// anvil from npm (@foundry-rs/anvil-linux-amd64), or $ANVIL.
export function anvilBinary() {
  if (process.env.ANVIL) return process.env.ANVIL;
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@foundry-rs/anvil-linux-amd64/package.json");
  return path.join(path.dirname(pkg), "bin", "anvil");
}

// anvil on a free loopback port with `chainId`, once it answers eth_chainId with it:
// { child, url, port, chainId }. The port is probed and then bound by anvil, so another process
// can take it in between: a start that fails is tried again on another port (three times).
export async function startAnvil(chainId) {
  const expected = `0x${chainId.toString(16)}`;
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--silent"];
    const child = track(spawn(anvilBinary(), args, { stdio: ["ignore", "ignore", "pipe"] }));
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) {
        lastError = new Error(`anvil exited with ${child.exitCode}: ${stderr}`);
        break;
      }
      try {
        if ((await rawCall(url, "eth_chainId")).result === expected) return { child, url, port, chainId };
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`anvil on ${url} did not answer: ${stderr}`);
      await sleep(50);
    }
  }
  throw lastError;
}
