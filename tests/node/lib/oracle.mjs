// Drives the C++ core through tests/tools/core_oracle: one JSON request per line on stdin, one JSON
// answer per line on stdout, matched by id.
import { spawn } from "node:child_process";
import readline from "node:readline";

export class Oracle {
  constructor(path) {
    this.child = spawn(path, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.pending = new Map();
    this.nextId = 1;
    const lines = readline.createInterface({ input: this.child.stdout });
    lines.on("line", (line) => {
      const answer = JSON.parse(line);
      const waiter = this.pending.get(answer.id);
      if (!waiter) throw new Error(`oracle answered unknown id ${answer.id}`);
      this.pending.delete(answer.id);
      waiter(answer);
    });
    this.child.on("exit", (code) => {
      for (const waiter of this.pending.values()) waiter({ ok: false, error: `oracle exited ${code}` });
      this.pending.clear();
    });
  }

  call(op, fields) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin.write(JSON.stringify({ id, op, ...fields }) + "\n");
    });
  }

  close() {
    this.child.stdin.end();
  }
}
