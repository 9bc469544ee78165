// keybridge_trezor_sim as a child process, and a client of its UDP control port (one command per
// datagram, one answer datagram each; see tests/tools/trezor_sim/sim_server.h). Also the
// DebugLink "thumb" that presses a Trezor emulator's buttons (DebugLinkDecision on port + 1).
import { spawn } from "node:child_process";
import dgram from "node:dgram";

// Starts the simulator on a free port with `args` (--pin, --model, ...). Resolves with
// { child, port, control, stderr() } once it printed "port P control C".
export async function startTrezorSim(binary, args = []) {
  const child = spawn(binary, ["--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const ports = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Trezor simulator did not start: ${err}`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /port (\d+) control (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), control: Number(m[2]) });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the Trezor simulator exited with ${code}: ${err}`));
    });
  });
  return { child, port: ports.port, control: new TrezorSimControl(ports.control), stderr: () => err };
}

export class TrezorSimControl {
  constructor(port) {
    this.port = port;
    this.socket = dgram.createSocket("udp4");
    this.socket.on("error", () => {}); // the simulator may be killed by a test
  }

  // Sends one command; resolves with the answer (rejects on "error…" or silence).
  command(text) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off("message", onMessage);
        reject(new Error(`${text}: no answer from the simulator's control port`));
      }, 5000);
      const onMessage = (message) => {
        clearTimeout(timer);
        this.socket.off("message", onMessage);
        const answer = message.toString("utf8");
        if (answer.startsWith("error")) reject(new Error(`${text}: ${answer}`));
        else resolve(answer);
      };
      this.socket.on("message", onMessage);
      this.socket.send(text, this.port, "127.0.0.1");
    });
  }

  close() {
    this.socket.close();
  }
}

// One protocol v1 report: "?##", the message type and the payload length (big-endian), then the
// payload, zero-padded to 64 bytes. DebugLink messages here are far shorter than one report.
function report(type, payload) {
  const out = Buffer.alloc(64);
  out.write("?##", 0, "latin1");
  out.writeUInt16BE(type, 3);
  out.writeUInt32BE(payload.length, 5);
  Buffer.from(payload).copy(out, 9);
  return out;
}

// Presses "yes" on the emulator at host:port through its DebugLink port (port + 1), as the
// vendor's own tests do: DebugLinkDecision (type 100) with field 1 = 1.
export class DebugLinkThumb {
  constructor(endpoint) {
    const [host, port] = endpoint.split(":");
    this.host = host;
    this.port = Number(port) + 1;
    this.socket = dgram.createSocket("udp4");
    this.socket.on("error", () => {});
  }
  press() {
    this.socket.send(report(100, [0x08, 0x01]), this.port, this.host);
  }
  close() {
    this.socket.close();
  }
}
