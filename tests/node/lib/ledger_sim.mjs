// keybridge_ledger_sim as a child process, and a client of its control port (one command per
// line, one answer line each; see tests/tools/ledger_sim/README.md).
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";

// Starts the simulator; `port` 0 picks a free APDU port. Resolves with
// { child, apduPort, control } once it printed its "ready" line.
export async function startLedgerSim(binary, { port = 0, args = [] } = {}) {
  const child = spawn(binary, ["--port", String(port), "--control-port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator did not get ready: ${err}`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /ready apdu_port=(\d+) control_port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ apduPort: Number(m[1]), controlPort: Number(m[2]) });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code}: ${err}`));
    });
  });
  const control = new SimControl(ready.controlPort);
  await control.connect();
  return { child, apduPort: ready.apduPort, control, stderr: () => err };
}

export class SimControl {
  constructor(port) {
    this.port = port;
    this.waiting = [];
    this.lines = [];
  }

  async connect() {
    this.socket = net.createConnection({ host: "127.0.0.1", port: this.port });
    this.socket.on("error", () => {}); // the simulator may be killed by a test
    await once(this.socket, "connect");
    let pending = "";
    this.socket.on("data", (chunk) => {
      pending += chunk.toString("utf8");
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const waiter = this.waiting.shift();
        if (waiter) waiter(line);
      }
    });
  }

  // Sends one command; resolves with its answer line (rejects on "error ...").
  command(text) {
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => (line.startsWith("ok") ? resolve(line) : reject(new Error(`${text}: ${line}`))));
      this.socket.write(text + "\n");
    });
  }

  // `status` as an object: { state, app, version, blind, user, waiting, prompts, apdus, interrupted }.
  async status() {
    const line = await this.command("status");
    const fields = {};
    for (const m of line.matchAll(/(\w+)=(\S+)/g)) fields[m[1]] = /^\d+$/.test(m[2]) ? Number(m[2]) : m[2];
    return fields;
  }

  close() {
    this.socket?.destroy();
  }
}

// One APDU over the Speculos APDU protocol (4-byte big-endian length + APDU out; 4-byte length of
// the data, the data, then the 2-byte status word back) on an open socket.
export class SpeculosApdu {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.buffer = Buffer.alloc(0);
    this.waiter = null;
  }

  async connect() {
    this.socket = net.createConnection({ host: this.host, port: this.port });
    this.socket.setNoDelay(true);
    await once(this.socket, "connect");
    this.socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.take();
    });
  }

  take() {
    if (!this.waiter || this.buffer.length < 4) return;
    const length = this.buffer.readUInt32BE(0);
    if (this.buffer.length < 4 + length + 2) return;
    const data = this.buffer.subarray(4, 4 + length);
    const sw = this.buffer.readUInt16BE(4 + length);
    this.buffer = this.buffer.subarray(4 + length + 2);
    const w = this.waiter;
    this.waiter = null;
    w({ data, sw });
  }

  exchange(apdu) {
    return new Promise((resolve) => {
      this.waiter = resolve;
      const header = Buffer.alloc(4);
      header.writeUInt32BE(apdu.length);
      this.socket.write(Buffer.concat([header, apdu]));
    });
  }

  close() {
    this.socket?.destroy();
  }
}

// The Ethereum app's BIP32 path encoding: count, then 4 big-endian bytes per index.
export function encodePath(path) {
  const parts = path.replace(/^m\//, "").split("/");
  const out = Buffer.alloc(1 + 4 * parts.length);
  out[0] = parts.length;
  parts.forEach((p, i) => {
    const hardened = p.endsWith("'");
    const n = Number.parseInt(hardened ? p.slice(0, -1) : p, 10);
    out.writeUInt32BE((hardened ? 0x80000000 + n : n) >>> 0, 1 + 4 * i);
  });
  return out;
}

// The APDUs of "sign personal message" (INS 0x08): path and the 4-byte length first, then the
// message in chunks of at most 255 bytes of APDU data.
export function personalSignApdus(path, message) {
  const head = Buffer.concat([encodePath(path), Buffer.alloc(4)]);
  head.writeUInt32BE(message.length, head.length - 4);
  const payload = Buffer.concat([head, Buffer.from(message)]);
  const apdus = [];
  for (let offset = 0; offset < payload.length || offset === 0; offset += 255) {
    const chunk = payload.subarray(offset, offset + 255);
    apdus.push(Buffer.concat([Buffer.from([0xe0, 0x08, offset === 0 ? 0x00 : 0x80, 0x00, chunk.length]), chunk]));
  }
  return apdus;
}

// "Get address" (INS 0x02) without display and without chain code.
export function getAddressApdu(path) {
  const p = encodePath(path);
  return Buffer.concat([Buffer.from([0xe0, 0x02, 0x00, 0x00, p.length]), p]);
}
