// What the end-to-end tests share: the child processes they start (killed at the end), a free
// loopback port, one raw JSON-RPC call over HTTP, and a real anvil node.
//
// Every test file used to carry its own copy of these; a fix to one (the port race of anvil's
// start, below) now reaches them all.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";

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

// The dApp side: an EIP-1193 provider (what a page gets as window.ethereum) over the daemon's
// WebSocket with the page's Origin, wrapped in ethers' BrowserProvider.

export class Eip1193OverWebSocket {
  constructor(url, origin) {
    this.socket = new WebSocket(url, { headers: { Origin: origin } });
    this.nextId = 1;
    this.calls = new Map();
    this.opened = once(this.socket, "open");
    this.socket.on("message", (data) => {
      const msg = JSON.parse(String(data));
      const call = this.calls.get(msg.id);
      if (!call) return;
      this.calls.delete(msg.id);
      if (msg.error) call.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, data: msg.error.data }));
      else call.resolve(msg.result);
    });
    this.socket.on("close", () => {
      for (const call of this.calls.values()) call.reject(Object.assign(new Error("disconnected"), { code: 4900 }));
      this.calls.clear();
    });
  }
  async request({ method, params = [] }) {
    await this.opened;
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return await new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }));
  }
  on() {}
  removeListener() {}
  close() {
    this.socket.close();
  }
}

// The JSON-RPC error behind an ethers error (BrowserProvider keeps it in info.error).
export function rpcError(e) {
  return e?.info?.error ?? e?.error ?? e;
}

// The error a promise is rejected with; fails the test when it resolves.
export async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected an error, but it succeeded");
}

// A JSON-RPC client on keybridged's control socket (<datadir>/keybridged.sock, one JSON object a
// line): the approver's side. call() answers with the result or throws an Error carrying the
// JSON-RPC error's code and data; anything that is not an answer to a call (approval events,
// keybridge_disconnect) goes to onNotification(msg), which subclasses override.
export class ControlSocketClient {
  constructor(socketPath) {
    this.socketPath = socketPath;
    this.nextId = 1;
    this.calls = new Map();
  }
  async connect() {
    this.socket = net.createConnection(this.socketPath);
    this.socket.on("error", () => {}); // a daemon that went away: the calls stay unanswered
    await once(this.socket, "connect");
    let pending = "";
    this.socket.on("data", (chunk) => {
      pending += chunk.toString("utf8");
      for (let newline; (newline = pending.indexOf("\n")) >= 0; ) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line) this.onMessage(JSON.parse(line));
      }
    });
  }
  call(method, params = []) {
    const id = this.nextId++;
    this.socket.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    return new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }));
  }
  onMessage(msg) {
    const call = msg.id !== undefined ? this.calls.get(msg.id) : undefined;
    if (!call) return this.onNotification(msg);
    this.calls.delete(msg.id);
    if (msg.error) call.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, data: msg.error.data }));
    else call.resolve(msg.result);
  }
  onNotification() {}
  close() {
    this.socket?.end();
  }
}
